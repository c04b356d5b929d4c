package trace

import (
	"context"
	"testing"
)

// peerTrace assembles spans into one trace and returns it with the index
// of the span with id 3, the span under test.
func peerTrace(t *testing.T, spans ...Span) (*Trace, int32) {
	t.Helper()
	for i := range spans {
		spans[i].TraceID = TraceID{Low: 7}
		if spans[i].Duration == 0 && !spans[i].Has(FlagNoDuration) {
			spans[i].Start, spans[i].Duration = 1000*int64(spans[i].ID), 100_000
		}
	}
	c := &Collector{Spans: spans}
	r, err := Assemble(context.Background(), c, Options{NoSkewAdjust: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Traces) != 1 {
		t.Fatalf("%d traces", len(r.Traces))
	}
	tr := &r.Traces[0]
	for i := range tr.Spans {
		if tr.Spans[i].ID == 3 {
			return tr, int32(i)
		}
	}
	t.Fatal("no span 3")
	return nil, 0
}

func TestPeerName(t *testing.T) {
	root := Span{ID: 1, Service: "frontend", Name: "GET /", Kind: KindServer}
	// client is the span under test: a client span of frontend below its
	// server span.
	client := func(kv ...string) Span {
		return Span{ID: 3, ParentID: 1, Service: "frontend", Name: "call", Kind: KindClient, Attrs: MakeAttrs(kv...)}
	}
	withPeer := func(s Span, peer string) Span { s.Peer = peer; return s }
	withKind := func(s Span, k Kind) Span { s.Kind = k; return s }
	withService := func(s Span, svc string) Span { s.Service = svc; return s }
	tests := []struct {
		name  string
		spans []Span
		want  string
	}{
		// Each attribute alone.
		{"service.peer.name", []Span{root, client("service.peer.name", "billing")}, "billing"},
		{"peer.service", []Span{root, client("peer.service", "billing")}, "billing"},
		{"zipkin remoteEndpoint.serviceName", []Span{root, withPeer(client(), "app_db")}, "app_db"},
		{"db.system.name", []Span{root, client("db.system.name", "postgresql")}, "postgresql"},
		{"db.system", []Span{root, client("db.system", "redis")}, "redis"},
		{"messaging.system", []Span{root, withKind(client("messaging.system", "kafka"), KindProducer)}, "kafka"},
		{"server.address", []Span{root, client("server.address", "api.stripe.com")}, "api.stripe.com"},
		{"net.peer.name", []Span{root, client("net.peer.name", "legacy-host")}, "legacy-host"},

		// Attributes that do not name a component.
		{"db.name alone", []Span{root, client("db.name", "customers", "db.namespace", "orders")}, ""},
		{"rpc.service alone", []Span{root, client("rpc.service", "shop.Checkout", "rpc.system", "grpc")}, ""},
		{"socket address alone", []Span{root, client("network.peer.address", "10.0.0.5", "network.peer.port", "5432", "server.port", "5432")}, ""},
		{"nothing names it", []Span{root, client("http.request.method", "GET", "host.name", "h")}, ""},

		// Priority: each key against the next one.
		{"service.peer.name over peer.service", []Span{root, client("peer.service", "old", "service.peer.name", "new")}, "new"},
		{"peer.service over remoteEndpoint", []Span{root, withPeer(client("peer.service", "tagged"), "endpoint")}, "tagged"},
		{"remoteEndpoint over db.system.name", []Span{root, withPeer(client("db.system.name", "mysql"), "app_db")}, "app_db"},
		{"db.system.name over db.system", []Span{root, client("db.system", "postgresql", "db.system.name", "postgres")}, "postgres"},
		{"db.system over messaging.system", []Span{root, client("messaging.system", "kafka", "db.system", "redis")}, "redis"},
		{"messaging.system over server.address", []Span{root, withKind(client("server.address", "10.0.0.9", "messaging.system", "rabbitmq"), KindProducer)}, "rabbitmq"},
		{"server.address over net.peer.name", []Span{root, client("net.peer.name", "old-name", "server.address", "new-name")}, "new-name"},
		{"all of them", []Span{root, withPeer(client("service.peer.name", "a", "peer.service", "b", "db.system.name", "c", "db.system", "d",
			"messaging.system", "e", "server.address", "f", "net.peer.name", "g"), "p")}, "a"},

		// The tracer-per-component pattern: a client span reported under
		// its own component's service, below a span of another service.
		{"tracer per component", []Span{root, withService(client(), "mysql")}, "mysql"},
		{"tracer per component beats product and address", []Span{root, withService(client("db.system", "mysql", "server.address", "10.0.0.5",
			"messaging.system", "x", "net.peer.name", "db-host", "db.system.name", "mariadb"), "mysql-primary")}, "mysql-primary"},
		{"the caller's own name beats the component pattern", []Span{root, withService(client("peer.service", "external-payments", "server.address", "10.0.0.5"), "requester")}, "external-payments"},
		{"service.peer.name beats the component pattern", []Span{root, withService(client("service.peer.name", "payments"), "requester")}, "payments"},
		{"remoteEndpoint beats the component pattern", []Span{root, withPeer(withService(client(), "yelp-main"), "memcache")}, "memcache"},
		{"tracer per component below an internal span", []Span{root,
			{ID: 2, ParentID: 1, Service: "frontend", Name: "load", Kind: KindInternal},
			{ID: 3, ParentID: 2, Service: "redis", Name: "GET", Kind: KindClient}}, "redis"},
		{"a span without a service is no component", []Span{root,
			{ID: 3, ParentID: 1, Service: UnknownService, Flags: FlagNoService, Kind: KindClient, Attrs: MakeAttrs("db.system", "mysql")}}, "mysql"},
		{"same service as the parent: attributes decide", []Span{root, client("db.system", "mysql")}, "mysql"},
		{"orphan client: no parent to compare, attributes decide", []Span{
			{ID: 3, ParentID: 99, Service: "worker", Kind: KindClient, Attrs: MakeAttrs("peer.service", "s3")}}, "s3"},

		// A callee that reported spans has no peer name.
		{"server span below", []Span{root, client("peer.service", "backend", "server.address", "127.0.0.1"),
			{ID: 4, ParentID: 3, Service: "backend", Name: "GET /x", Kind: KindServer}}, ""},
		{"untimed server span below", []Span{root, client("server.address", "127.0.0.1"),
			{ID: 4, ParentID: 3, Service: "backend", Kind: KindServer, Flags: FlagNoDuration}}, ""},
		{"consumer below a producer", []Span{root, withKind(client("messaging.system", "kafka"), KindProducer),
			{ID: 4, ParentID: 3, Service: "worker", Kind: KindConsumer}}, ""},
		{"server below a component's span", []Span{root, withService(client(), "mysql"),
			{ID: 4, ParentID: 3, Service: "mysql", Kind: KindServer}}, ""},
		{"internal child does not hide the peer", []Span{root, client("db.system", "mysql"),
			{ID: 4, ParentID: 3, Service: "frontend", Kind: KindInternal}}, "mysql"},

		// Only client-side spans call peers.
		{"server span", []Span{withKind(client("peer.service", "x"), KindServer)}, ""},
		{"internal span", []Span{root, withKind(client("peer.service", "x"), KindInternal)}, ""},
		{"consumer span", []Span{root, withKind(withService(client("messaging.system", "kafka"), "worker"), KindConsumer)}, ""},
		{"unspecified kind", []Span{root, withKind(client("peer.service", "x"), KindUnspecified)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, i := peerTrace(t, tc.spans...)
			if got := tr.PeerName(i); got != tc.want {
				t.Errorf("PeerName = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSpanPeerName: the span-only part of the rule ignores kind and
// children.
func TestSpanPeerName(t *testing.T) {
	s := Span{Kind: KindServer, Peer: "endpoint", Attrs: MakeAttrs("db.system", "mysql")}
	if got := SpanPeerName(&s); got != "endpoint" {
		t.Errorf("SpanPeerName = %q", got)
	}
	s.Attrs = MakeAttrs("peer.service", "svc", "db.system", "mysql")
	if got := SpanPeerName(&s); got != "svc" {
		t.Errorf("SpanPeerName = %q", got)
	}
	if got := SpanPeerName(&Span{}); got != "" {
		t.Errorf("SpanPeerName of nothing = %q", got)
	}
}
