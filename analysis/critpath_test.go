package analysis

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// hs is a hand-written span for tests: times in milliseconds, op as
// "service/name", parent 0 for a root.
type hs struct {
	id, parent int
	op         string
	start, end float64
	kind       trace.Kind
	flags      trace.Flags
	peer       string
}

const msNS = 1e6

// hsSpans turns hand-written spans of one trace (id tid) into trace.Spans.
func hsSpans(tid uint64, spans ...hs) []trace.Span {
	out := make([]trace.Span, len(spans))
	for i, h := range spans {
		svc, name, _ := strings.Cut(h.op, "/")
		out[i] = trace.Span{
			TraceID: trace.TraceID{Low: tid}, ID: trace.SpanID(h.id), ParentID: trace.SpanID(h.parent),
			Service: svc, Name: name, Kind: h.kind, Flags: h.flags, Peer: h.peer,
			Start: int64(math.Round(h.start * msNS)), Duration: int64(math.Round((h.end - h.start) * msNS)),
		}
	}
	return out
}

// hsAssemble assembles spans of any number of traces. Skew adjustment is
// off so that tests can put a child outside its parent on purpose.
func hsAssemble(tb testing.TB, spans []trace.Span) *trace.Result {
	tb.Helper()
	r, err := trace.Assemble(context.Background(), &trace.Collector{Spans: spans}, trace.Options{NoSkewAdjust: true})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func hsTrace(tb testing.TB, spans ...hs) *trace.Trace {
	tb.Helper()
	r := hsAssemble(tb, hsSpans(1, spans...))
	if len(r.Traces) != 1 {
		tb.Fatalf("%d traces, want 1", len(r.Traces))
	}
	return &r.Traces[0]
}

// pathString renders a path as "op=ms op=ms" in path order.
func pathString(steps []PathStep) string {
	var b strings.Builder
	for i, s := range steps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Operation)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(float64(s.Self)/msNS, 'f', -1, 64))
	}
	return b.String()
}

func TestCriticalPathHandComputed(t *testing.T) {
	cases := []struct {
		name  string
		spans []hs
		want  string
	}{
		{
			// A [0,100] calls B [10,40] then C [50,90]: everything is on
			// the path; A's self time is the three gaps of 10 ms.
			name: "sequential",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 40},
				{id: 3, parent: 1, op: "c/C", start: 50, end: 90},
			},
			want: "a/A=30 b/B=30 c/C=40",
		},
		{
			// B, C and D run in parallel; C ends last and started first
			// (with B), so the parent waited for C alone: B and D are
			// hidden behind it.
			name: "parallel",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 60},
				{id: 3, parent: 1, op: "c/C", start: 10, end: 90},
				{id: 4, parent: 1, op: "d/D", start: 20, end: 50},
			},
			want: "a/A=20 c/C=80",
		},
		{
			// D ends last but starts while B still runs: the parent started
			// D after C returned, so C is on the path and B, which
			// overlaps D, is not.
			name: "parallel-staircase",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 60},
				{id: 3, parent: 1, op: "c/C", start: 15, end: 50},
				{id: 4, parent: 1, op: "d/D", start: 55, end: 95},
			},
			want: "a/A=25 c/C=35 d/D=40",
		},
		{
			// E outlives its parent: Assemble marks it async and it is not
			// on the path even though it ends last.
			name: "async",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 40},
				{id: 3, parent: 1, op: "e/E", start: 50, end: 150},
			},
			want: "a/A=70 b/B=30",
		},
		{
			// A FOLLOWS_FROM child inside the parent is async too.
			name: "follows-from",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 90, flags: trace.FlagFollowsFrom},
			},
			want: "a/A=100",
		},
		{
			// A → B → {C, D}, A → E: the walk goes down into B and back
			// up to A.
			name: "nested",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/B", start: 10, end: 80},
				{id: 3, parent: 2, op: "c/C", start: 20, end: 50},
				{id: 4, parent: 2, op: "d/D", start: 55, end: 75},
				{id: 5, parent: 1, op: "e/E", start: 85, end: 95},
			},
			want: "a/A=20 b/B=20 c/C=30 d/D=20 e/E=10",
		},
		{
			// B starts before its parent (skew that was not corrected): it
			// is clamped to [10,50], and the path still sums to A's 90 ms.
			name: "clamped",
			spans: []hs{
				{id: 1, op: "a/A", start: 10, end: 100},
				{id: 2, parent: 1, op: "a/B", start: 0, end: 50},
			},
			want: "a/A=50 a/B=40",
		},
		{
			// Two children with the same end: the longer one covers the
			// shorter. Zero-length children do not loop the walk.
			name: "ties-and-zero-length",
			spans: []hs{
				{id: 1, op: "a/A", start: 0, end: 100},
				{id: 2, parent: 1, op: "b/Short", start: 50, end: 90},
				{id: 3, parent: 1, op: "b/Long", start: 20, end: 90},
				{id: 4, parent: 1, op: "z/Zero", start: 10, end: 10},
				{id: 5, parent: 1, op: "z/Zero2", start: 10, end: 10},
			},
			want: "a/A=30 z/Zero=0 z/Zero2=0 b/Long=70",
		},
		{
			// A client span fully covered by its server span is on the
			// path with zero self time.
			name: "client-server",
			spans: []hs{
				{id: 1, op: "front/GET", start: 0, end: 10, kind: trace.KindServer},
				{id: 2, parent: 1, op: "front/Get", start: 2, end: 8, kind: trace.KindClient},
				{id: 3, parent: 2, op: "back/Get", start: 2, end: 8, kind: trace.KindServer},
			},
			want: "front/GET=4 front/Get=0 back/Get=6",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := hsTrace(t, c.spans...)
			root := MainRoot(tr)
			steps := CriticalPath(tr, root)
			if got := pathString(steps); got != c.want {
				t.Errorf("path\n got %s\nwant %s", got, c.want)
			}
			var sum int64
			for _, s := range steps {
				sum += s.Self
			}
			if d := tr.Spans[root].Duration; sum != d {
				t.Errorf("path sums to %d ns, root lasts %d ns", sum, d)
			}
		})
	}
}

// TestCriticalPathDeepChain: a 100,000-deep chain is walked without
// recursion, and every span is on the path with 1 µs at each end.
func TestCriticalPathDeepChain(t *testing.T) {
	const n = 100_000
	spans := make([]trace.Span, n)
	for i := range spans {
		spans[i] = trace.Span{TraceID: trace.TraceID{Low: 7}, ID: trace.SpanID(i + 1), ParentID: trace.SpanID(i),
			Service: "svc", Name: "op", Start: int64(i) * 1000, Duration: int64(2*(n-i)) * 1000}
	}
	r := hsAssemble(t, spans)
	tr := &r.Traces[0]
	steps := CriticalPath(tr, MainRoot(tr))
	if len(steps) != n {
		t.Fatalf("%d steps, want %d", len(steps), n)
	}
	for i, s := range steps {
		if s.Span != int32(i) || s.Self != 2000 {
			t.Fatalf("step %d: span %d self %d, want span %d self 2000", i, s.Span, s.Self, i)
		}
	}
}

func TestMainRoot(t *testing.T) {
	// Span 9's parent is missing: it is an orphan root that starts first
	// and lasts longest, but the real root wins.
	tr := hsTrace(t,
		hs{id: 9, parent: 99, op: "x/Orphan", start: 0, end: 500},
		hs{id: 1, op: "a/A", start: 10, end: 100},
		hs{id: 2, parent: 1, op: "b/B", start: 20, end: 30},
	)
	if got := tr.Spans[MainRoot(tr)].Endpoint(); got != "a/A" {
		t.Errorf("main root %s, want a/A", got)
	}
	if got := EndpointOf(tr); got != "a/A" {
		t.Errorf("EndpointOf %s", got)
	}
}

func TestAnalyzeCriticalPaths(t *testing.T) {
	var spans []trace.Span
	// Two traces of a/A: 100 ms (B 30, C 40 on the path) and 50 ms (B
	// 20, twice 10 ms, no C); one trace of x/X; one untimed trace.
	spans = append(spans, hsSpans(1,
		hs{id: 1, op: "a/A", start: 0, end: 100},
		hs{id: 2, parent: 1, op: "b/B", start: 10, end: 40},
		hs{id: 3, parent: 1, op: "c/C", start: 50, end: 90})...)
	spans = append(spans, hsSpans(2,
		hs{id: 1, op: "a/A", start: 1000, end: 1050},
		hs{id: 2, parent: 1, op: "b/B", start: 1010, end: 1020},
		hs{id: 3, parent: 1, op: "b/B", start: 1030, end: 1040})...)
	spans = append(spans, hsSpans(3, hs{id: 1, op: "x/X", start: 2000, end: 2004})...)
	untimedSpan := hsSpans(4, hs{id: 1, op: "u/U", start: 3000, end: 3000})
	untimedSpan[0].Flags |= trace.FlagNoDuration
	spans = append(spans, untimedSpan...)
	r := hsAssemble(t, spans)
	cp := AnalyzeCriticalPaths(r.Traces)
	if cp.Traces != 4 || cp.UntimedTraces != 1 || len(cp.Endpoints) != 2 {
		t.Fatalf("traces %d untimed %d endpoints %d", cp.Traces, cp.UntimedTraces, len(cp.Endpoints))
	}
	a := cp.Endpoints[0]
	if a.Endpoint != "a/A" || a.Traces != 2 || a.Latency.Mean != 75 {
		t.Fatalf("endpoint %+v", a)
	}
	// A: 30 + 30 = 60 ms over 2 traces = 30 ms/trace, share 60/150.
	// B: 30 + 20 = 50 → 25 ms/trace, 1.5 spans/trace; C: 40 → 20, 0.5.
	want := []PathEntry{
		{"a/A", 30, 1, 0.4, 0},
		{"b/B", 25, 1.5, 0.333333, 0},
		{"c/C", 20, 0.5, 0.266667, 0},
	}
	if len(a.CriticalPath) != len(want) {
		t.Fatalf("entries %+v", a.CriticalPath)
	}
	var share float64
	for i, w := range want {
		if a.CriticalPath[i] != w {
			t.Errorf("entry %d: %+v, want %+v", i, a.CriticalPath[i], w)
		}
		share += a.CriticalPath[i].Share
	}
	if math.Abs(share-1) > 1e-5 {
		t.Errorf("shares sum to %v", share)
	}
	if x := cp.Endpoints[1]; x.Endpoint != "x/X" || len(x.CriticalPath) != 1 || x.CriticalPath[0].Share != 1 {
		t.Errorf("x/X: %+v", x)
	}
	if got := Endpoints(r.Traces); strings.Join(got, ",") != "a/A,u/U,x/X" {
		t.Errorf("Endpoints %v", got)
	}
	if got := TracesOf(r.Traces, "a/A"); len(got) != 2 {
		t.Errorf("TracesOf a/A: %d traces", len(got))
	}
}
