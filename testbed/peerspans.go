package testbed

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracesim/tracesim/topology"
)

// How the client spans of calls to a peer service are attributed
// (Options.PeerSpans). A peer reports no spans: its callers' client spans
// are all the traces show of it, and real instrumentations name the callee
// on them in different ways.
const (
	// PeerSpanPeerService: otelhttp's client span with peer.service = the
	// peer's name (the older semantic convention; the default).
	PeerSpanPeerService = "peer.service"
	// PeerSpanServicePeerName: otelhttp's client span with
	// service.peer.name = the peer's name (the current convention, which
	// replaces peer.service).
	PeerSpanServicePeerName = "service.peer.name"
	// PeerSpanDB: a database client instrumentation's span instead of an
	// HTTP one: named after the callee operation ("SELECT"), kind CLIENT,
	// with db.system.name (the peer's name when it is a known database
	// product such as "postgresql", "mysql" or "redis", else "other_sql";
	// "db:SYSTEM" names the product), db.namespace (the peer's name),
	// db.operation.name (the span's name), server.address and server.port
	// (the peer's listener); no peer.service and no http.* attributes.
	PeerSpanDB = "db"
	// PeerSpanComponent: the same database client span, made by a tracer
	// provider of its own whose resource service.name is the peer's name
	// (a tracer named after the component, as HotROD's "mysql" and
	// "redis" tracers or instrumentations configured with a service name
	// of their own do), while its parent is the caller's server span. It
	// carries server.address and server.port, and db.system.name and
	// db.namespace only when the peer's name is a known database product;
	// nothing names the peer but the span's own service.
	PeerSpanComponent = "component"
)

// dbSystems are db.system.name values of the semantic conventions that a
// peer named after one takes as its own.
var dbSystems = map[string]bool{
	"postgresql": true, "mysql": true, "mariadb": true, "redis": true, "mongodb": true,
	"cassandra": true, "elasticsearch": true, "opensearch": true, "memcached": true,
	"couchbase": true, "couchdb": true, "sqlite": true, "clickhouse": true, "cockroachdb": true,
	"oracle.db": true, "microsoft.sql_server": true, "db2": true, "hbase": true,
	"dynamodb": true, "trino": true, "h2database": true, "hsqldb": true, "derby": true,
}

// peerStyle is a parsed PeerSpans value.
type peerStyle struct {
	kind   string // one of the PeerSpan constants
	system string // db.system.name, "" for none (component style only)
}

func parsePeerStyle(peer, s string) (peerStyle, error) {
	kind, system, hasSystem := strings.Cut(s, ":")
	switch kind {
	case PeerSpanPeerService, PeerSpanServicePeerName, PeerSpanComponent:
		if hasSystem {
			break
		}
		st := peerStyle{kind: kind}
		if kind == PeerSpanComponent && dbSystems[peer] {
			st.system = peer
		}
		return st, nil
	case PeerSpanDB:
		switch {
		case hasSystem && system == "":
			return peerStyle{}, fmt.Errorf("peer spans of %s: %q names no database system after the colon", peer, s)
		case !hasSystem && dbSystems[peer]:
			system = peer
		case !hasSystem:
			system = "other_sql"
		}
		return peerStyle{kind: kind, system: system}, nil
	}
	return peerStyle{}, fmt.Errorf("peer spans of %s: unknown style %q; want %s, %s, %s (or %s:SYSTEM) or %s",
		peer, s, PeerSpanPeerService, PeerSpanServicePeerName, PeerSpanDB, PeerSpanDB, PeerSpanComponent)
}

// parsePeerStyles checks Options.PeerSpans against the model: every key
// must be a peer service.
func parsePeerStyles(m *topology.Model, spec map[string]string) (map[string]peerStyle, error) {
	out := map[string]peerStyle{}
	var errs []error
	for _, peer := range slices.Sorted(maps.Keys(spec)) {
		svc := m.Services[peer]
		if svc == nil || !svc.Peer {
			errs = append(errs, fmt.Errorf("peer spans of %s: not a peer service of the model (peer: true)", peer))
			continue
		}
		st, err := parsePeerStyle(peer, spec[peer])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[peer] = st
	}
	return out, errors.Join(errs...)
}

// ParsePeerSpans reads "peer=style" pairs, as `testbed run --peer-spans`
// takes them, into Options.PeerSpans (styles are checked by Start).
func ParsePeerSpans(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		for _, kv := range strings.Split(p, ",") {
			peer, style, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || peer == "" || style == "" {
				return nil, fmt.Errorf("peer spans %q: want PEER=STYLE, e.g. mysql=component", kv)
			}
			out[peer] = style
		}
	}
	return out, nil
}

// dbTransport is a database client library's instrumentation: it makes
// the CLIENT span of each query itself, with database attributes instead
// of HTTP ones, injects the trace context (so that whatever the peer calls
// stays in the trace) and ends the span when the response has been read.
// It sits where otelhttp's transport sits for the other calls, above
// networkTransport, so the span covers the same time: the shared pool wait
// (in-span), the network overhead and the round trip.
type dbTransport struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	attrs  []attribute.KeyValue // per peer: db.system.name, db.namespace
	next   http.RoundTripper
}

func (t *dbTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	name := "query"
	if info, ok := r.Context().Value(callKey{}).(*callInfo); ok {
		name = info.name
	}
	attrs := slices.Clip(t.attrs)
	if len(t.attrs) > 0 {
		attrs = append(attrs, attribute.String("db.operation.name", name))
	}
	if host, port, err := net.SplitHostPort(r.URL.Host); err == nil {
		attrs = append(attrs, attribute.String("server.address", host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	}
	ctx, span := t.tracer.Start(r.Context(), name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	r = r.Clone(ctx)
	t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, resp.Status)
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// spanBody ends a client span when its response has been read to the end
// or closed, as otelhttp's transport does.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.end(nil)
	case err != nil:
		b.end(err)
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end(nil)
	return err
}

func (b *spanBody) end(err error) {
	b.once.Do(func() {
		if err != nil {
			b.span.RecordError(err)
			b.span.SetStatus(codes.Error, err.Error())
		}
		b.span.End()
	})
}
