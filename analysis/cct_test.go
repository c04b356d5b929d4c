package analysis

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// cctFixture: trace 1 calls back/Get twice in sequence (each calling
// db/Query) and fires audit/Log asynchronously; trace 2 calls back/Get
// twice in parallel.
func cctFixture(t *testing.T) *trace.Result {
	t.Helper()
	spans := hsSpans(1,
		hs{id: 1, op: "front/GET /x", start: 0, end: 100},
		hs{id: 2, parent: 1, op: "back/Get", start: 10, end: 40},
		hs{id: 3, parent: 2, op: "db/Query", start: 15, end: 35},
		hs{id: 4, parent: 1, op: "back/Get", start: 50, end: 90},
		hs{id: 5, parent: 4, op: "db/Query", start: 60, end: 70},
		hs{id: 6, parent: 1, op: "audit/Log", start: 95, end: 150},
	)
	spans = append(spans, hsSpans(2,
		hs{id: 1, op: "front/GET /x", start: 1000, end: 1050},
		hs{id: 2, parent: 1, op: "back/Get", start: 1010, end: 1030},
		hs{id: 3, parent: 1, op: "back/Get", start: 1020, end: 1040},
	)...)
	return hsAssemble(t, spans)
}

func TestCCT(t *testing.T) {
	c := BuildCCT(cctFixture(t).Traces)
	// front: 100 − (30 + 40) = 30 and 50 − |[10,30] ∪ [20,40]| = 20.
	// back/Get: 30 − 20, 40 − 10, 20, 20. audit/Log is async: it does
	// not reduce front's exclusive time.
	want := []CCTNode{
		{Operation: "front/GET /x", Parent: -1, Depth: 0, Count: 2, InclusiveMs: 150, ExclusiveMs: 50},
		{Operation: "back/Get", Parent: 0, Depth: 1, Count: 4, InclusiveMs: 110, ExclusiveMs: 80},
		{Operation: "db/Query", Parent: 1, Depth: 2, Count: 2, InclusiveMs: 30, ExclusiveMs: 30},
		{Operation: "audit/Log", Parent: 0, Depth: 1, Count: 1, InclusiveMs: 55, ExclusiveMs: 55},
	}
	if c.Traces != 2 || len(c.Nodes) != len(want) {
		t.Fatalf("traces %d nodes %+v", c.Traces, c.Nodes)
	}
	for i, w := range want {
		g := c.Nodes[i]
		if g.Operation != w.Operation || g.Parent != w.Parent || g.Depth != w.Depth || g.Count != w.Count ||
			g.InclusiveMs != w.InclusiveMs || g.ExclusiveMs != w.ExclusiveMs {
			t.Errorf("node %d: %+v\nwant %+v", i, g, w)
		}
	}

	var col bytes.Buffer
	if err := c.WriteCollapsed(&col); err != nil {
		t.Fatal(err)
	}
	wantCol := "front/GET /x 50000\nfront/GET /x;back/Get 80000\nfront/GET /x;back/Get;db/Query 30000\nfront/GET /x;audit/Log 55000\n"
	if col.String() != wantCol {
		t.Errorf("collapsed:\n%s\nwant:\n%s", col.String(), wantCol)
	}

	var txt bytes.Buffer
	if err := c.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"2 traces, 4 contexts", "front/GET /x", "\n    db/Query", "110.000", "80.000"} {
		if !strings.Contains(txt.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, txt.String())
		}
	}
}

func TestCCTCollapsedEscapesSemicolons(t *testing.T) {
	r := hsAssemble(t, hsSpans(1,
		hs{id: 1, op: "a/x;y", start: 0, end: 1},
		hs{id: 2, parent: 1, op: "b/z", start: 0.2, end: 0.4}))
	var col bytes.Buffer
	if err := BuildCCT(r.Traces).WriteCollapsed(&col); err != nil {
		t.Fatal(err)
	}
	if want := "a/x:y 800\na/x:y;b/z 200\n"; col.String() != want {
		t.Errorf("got %q want %q", col.String(), want)
	}
}

// TestCCTDeepChain: a 100,000-deep chain builds and renders without
// recursion; indentation stops growing at maxIndent.
func TestCCTDeepChain(t *testing.T) {
	const n = 100_000
	spans := make([]trace.Span, n)
	for i := range spans {
		spans[i] = trace.Span{TraceID: trace.TraceID{Low: 7}, ID: trace.SpanID(i + 1), ParentID: trace.SpanID(i),
			Service: "svc", Name: "op", Start: int64(i) * 1000, Duration: int64(2*(n-i)) * 1000}
	}
	c := BuildCCT(hsAssemble(t, spans).Traces)
	if len(c.Nodes) != n || c.Nodes[n-1].Depth != n-1 || c.Nodes[n-1].Parent != n-2 {
		t.Fatalf("%d nodes, last %+v", len(c.Nodes), c.Nodes[len(c.Nodes)-1])
	}
	var txt bytes.Buffer
	if err := c.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "[99999] svc/op") {
		t.Errorf("deepest line missing its depth marker")
	}
}

// TestCCTCollapsedDepthLimit: stacks stop at MaxCollapsedDepth frames, the
// deeper contexts' time folded into a "…" frame.
func TestCCTCollapsedDepthLimit(t *testing.T) {
	const n = 1000
	spans := make([]trace.Span, n)
	for i := range spans {
		// Each level has 1 µs of its own at each end, except the leaf.
		spans[i] = trace.Span{TraceID: trace.TraceID{Low: 7}, ID: trace.SpanID(i + 1), ParentID: trace.SpanID(i),
			Service: "s", Name: "o", Start: int64(i) * 1000, Duration: int64(2*(n-i)) * 1000}
	}
	var col bytes.Buffer
	if err := BuildCCT(hsAssemble(t, spans).Traces).WriteCollapsed(&col); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(col.String(), "\n"), "\n")
	if len(lines) != MaxCollapsedDepth+1 {
		t.Fatalf("%d lines, want %d", len(lines), MaxCollapsedDepth+1)
	}
	last := lines[len(lines)-1]
	frames := strings.Split(last[:strings.LastIndexByte(last, ' ')], ";")
	// n − MaxCollapsedDepth deeper levels of 2 µs each.
	if len(frames) != MaxCollapsedDepth+1 || frames[len(frames)-1] != "…" || !strings.HasSuffix(last, " "+strconv.Itoa(2*(n-MaxCollapsedDepth))) {
		t.Errorf("last line has %d frames: %.80s … %s", len(frames), last, last[len(last)-20:])
	}
}
