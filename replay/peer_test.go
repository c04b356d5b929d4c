package replay

import (
	"context"
	"slices"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// TestPeerCalleesNamed: replay names uninstrumented callees by the one
// naming rule, as the model does: a database and a cache known by their
// attributes are two operations, a client span reported by a tracer named
// after its component calls that component, and a client span whose
// server span is below calls the server, never its address.
func TestPeerCalleesNamed(t *testing.T) {
	sp := func(id, parent trace.SpanID, svc, name string, k trace.Kind, attrs trace.Attrs) trace.Span {
		return trace.Span{TraceID: trace.TraceID{Low: 1}, ID: id, ParentID: parent, Service: svc, Name: name, Kind: k,
			Start: 1_000_000 * int64(id), Duration: 1_000_000, Attrs: attrs}
	}
	root := sp(1, 0, "frontend", "GET /", trace.KindServer, trace.Attrs{})
	root.Duration = 100_000_000
	spans := []trace.Span{root,
		sp(2, 1, "frontend", "SELECT", trace.KindClient, trace.MakeAttrs("db.system.name", "mysql", "server.address", "127.0.0.1")),
		sp(3, 1, "frontend", "GET", trace.KindClient, trace.MakeAttrs("db.system.name", "redis", "server.address", "127.0.0.1")),
		sp(4, 1, "mysql", "SELECT users", trace.KindClient, trace.Attrs{}),
		sp(5, 1, "frontend", "GET /x", trace.KindClient, trace.MakeAttrs("server.address", "127.0.0.1")),
		sp(6, 5, "backend", "GET /x", trace.KindServer, trace.Attrs{}),
	}
	spans[5].Start, spans[5].Duration = spans[4].Start+100_000, 800_000
	res, err := trace.Assemble(context.Background(), &trace.Collector{Spans: spans}, trace.Options{NoSkewAdjust: true})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _, err := FromTraces(res, Options{})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("%d requests, %v", len(reqs), err)
	}
	var callees []string
	for _, st := range reqs[0].Root.Steps {
		for _, c := range st.Calls {
			callees = append(callees, c.Callee.Op)
		}
	}
	slices.Sort(callees)
	want := []string{"backend/GET /x", "mysql/SELECT", "mysql/SELECT users", "redis/GET"}
	if !slices.Equal(callees, want) {
		t.Errorf("callees %q, want %q", callees, want)
	}
}
