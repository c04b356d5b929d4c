package topology

import (
	"context"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// namingTrace is a frontend request whose calls cover every way a callee
// is named: by attributes, by a tracer named after the component, by
// nothing, and through a server span below (timed or not).
func namingTrace(t *testing.T) *trace.Trace {
	t.Helper()
	sp := func(id, parent trace.SpanID, svc, name string, k trace.Kind, attrs trace.Attrs) trace.Span {
		return trace.Span{TraceID: trace.TraceID{Low: 9}, ID: id, ParentID: parent, Service: svc, Name: name, Kind: k,
			Start: int64(id) * 1000, Duration: 100_000, Attrs: attrs}
	}
	spans := []trace.Span{
		sp(1, 0, "frontend", "GET /", trace.KindServer, trace.Attrs{}),
		sp(2, 1, "frontend", "SELECT", trace.KindClient, trace.MakeAttrs("db.system.name", "mysql", "server.address", "127.0.0.1")),
		sp(3, 1, "frontend", "GET", trace.KindClient, trace.MakeAttrs("db.system.name", "redis", "server.address", "127.0.0.1")),
		sp(4, 1, "mysql", "SELECT users", trace.KindClient, trace.Attrs{}), // tracer named after the component
		sp(5, 1, "frontend", "call", trace.KindClient, trace.Attrs{}),      // nothing names it
		sp(6, 1, "frontend", "GET /a/b", trace.KindClient, trace.MakeAttrs("service.peer.name", "team/api")),
		sp(7, 1, "frontend", "GET /x", trace.KindClient, trace.MakeAttrs("server.address", "127.0.0.1")),
		sp(8, 7, "backend", "GET /x", trace.KindServer, trace.Attrs{}),
		sp(9, 1, "frontend", "GET /y", trace.KindClient, trace.MakeAttrs("server.address", "127.0.0.1")),
	}
	untimed := sp(10, 9, "backend", "GET /y", trace.KindServer, trace.Attrs{})
	untimed.Duration, untimed.Flags = 0, trace.FlagNoDuration
	spans = append(spans, untimed)
	r, err := trace.Assemble(context.Background(), &trace.Collector{Spans: spans}, trace.Options{NoSkewAdjust: true})
	if err != nil {
		t.Fatal(err)
	}
	return &r.Traces[0]
}

func TestPeerOperationNameIn(t *testing.T) {
	tr := namingTrace(t)
	want := map[trace.SpanID]string{
		2: "mysql/SELECT",
		3: "redis/GET", // a database and a cache: two peers, two queues
		4: "mysql/SELECT users",
		5: "unknown-peer/call",
		6: "team.api/GET /a/b", // "/" would split the operation name
		9: "backend/GET /y",    // an untimed server span still names its service
	}
	var w CallWalker
	got := map[trace.SpanID]string{}
	for _, root := range tr.Roots {
		w.Calls(tr, root, func(cs CallSpans) {
			if cs.Server >= 0 {
				if cs.Client >= 0 && tr.Spans[cs.Server].ID != 8 {
					t.Errorf("unexpected call to %s", tr.Spans[cs.Server].Endpoint())
				}
				return
			}
			// The component's span is reported like any client span
			// without a server below: as a call to a peer.
			got[tr.Spans[cs.Client].ID] = PeerOperationNameIn(tr, cs.Client)
		})
	}
	if len(got) != len(want) {
		t.Errorf("peer calls %v, want %v", got, want)
	}
	for id, name := range want {
		if got[id] != name {
			t.Errorf("span %d: %q, want %q", id, got[id], name)
		}
	}
}

// TestPeerOperationName: the span-only variant applies the attribute part
// of the rule.
func TestPeerOperationName(t *testing.T) {
	for _, tc := range []struct {
		s    trace.Span
		want string
	}{
		{trace.Span{Name: "q", Attrs: trace.MakeAttrs("db.system", "postgresql")}, "postgresql/q"},
		{trace.Span{Name: "q", Peer: "a/b", Attrs: trace.MakeAttrs("db.system", "postgresql")}, "a.b/q"},
		{trace.Span{Peer: "x"}, "x/(unnamed)"},
		{trace.Span{Name: "q"}, "unknown-peer/q"},
	} {
		if got := PeerOperationName(&tc.s); got != tc.want {
			t.Errorf("PeerOperationName(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
