package trace

import (
	"context"
	"testing"
)

const us = int64(1000)

func sp(trace uint64, id, parent SpanID, svc string, kind Kind, start, dur int64) Span {
	return Span{TraceID: TraceID{Low: trace}, ID: id, ParentID: parent, Service: svc, Name: "op-" + svc,
		Kind: kind, Start: start * us, Duration: dur * us}
}

func assemble(t *testing.T, spans ...Span) *Result {
	t.Helper()
	c := &Collector{Spans: spans}
	c.AddSource("test")
	r, err := Assemble(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// find returns the index of the span with the given service and kind.
func find(t *testing.T, tr *Trace, svc string, kind Kind) int32 {
	t.Helper()
	for i := range tr.Spans {
		if tr.Spans[i].Service == svc && tr.Spans[i].Kind == kind {
			return int32(i)
		}
	}
	t.Fatalf("no %s span of %s", kind, svc)
	return -1
}

func TestAssembleTree(t *testing.T) {
	r := assemble(t,
		sp(1, 3, 1, "c", KindServer, 40, 10),
		sp(1, 1, 0, "a", KindServer, 0, 100),
		sp(1, 2, 1, "b", KindServer, 10, 20),
		sp(2, 9, 0, "z", KindServer, -5, 1),
	)
	if len(r.Traces) != 2 {
		t.Fatalf("traces = %d, want 2", len(r.Traces))
	}
	// Traces are ordered by start: trace 2 starts at -5 µs.
	if r.Traces[0].ID.Low != 2 {
		t.Errorf("first trace = %v, want 2", r.Traces[0].ID)
	}
	tr := &r.Traces[1]
	a, b, c := find(t, tr, "a", KindServer), find(t, tr, "b", KindServer), find(t, tr, "c", KindServer)
	if len(tr.Roots) != 1 || tr.Roots[0] != a {
		t.Errorf("roots = %v, want [%d]", tr.Roots, a)
	}
	if ch := tr.Children(a); len(ch) != 2 || ch[0] != b || ch[1] != c {
		t.Errorf("children of a = %v, want [%d %d] (by start)", ch, b, c)
	}
	if tr.Parent[b] != a || tr.Parent[c] != a {
		t.Errorf("parents = %v", tr.Parent)
	}
	if r.Quality.OrphanSpans+r.Quality.SkewAdjustedSpans+r.Quality.AsyncSpans != 0 {
		t.Errorf("clean input gave findings: %+v", r.Quality)
	}
}

func TestAssembleSharedZipkinPair(t *testing.T) {
	client := sp(1, 5, 1, "front", KindClient, 10, 50)
	client.Instance = "10.0.0.1"
	server := sp(1, 5, 1, "back", KindServer, 15, 40)
	server.Flags |= FlagShared
	server.Instance = "10.0.0.2"
	grandchild := sp(1, 6, 5, "back", KindClient, 20, 10)
	grandchild.Instance = "10.0.0.2"
	root := sp(1, 1, 0, "front", KindServer, 0, 100)
	root.Instance = "10.0.0.1"
	r := assemble(t, root, client, server, grandchild)
	tr := &r.Traces[0]
	if r.Quality.MergedSharedSpans != 1 {
		t.Errorf("merged = %d, want 1", r.Quality.MergedSharedSpans)
	}
	ci, si, gi := find(t, tr, "front", KindClient), find(t, tr, "back", KindServer), find(t, tr, "back", KindClient)
	if tr.Parent[si] != ci {
		t.Errorf("server half's parent = %d, want client half %d", tr.Parent[si], ci)
	}
	if tr.Parent[gi] != si {
		t.Errorf("server-side child's parent = %d, want server half %d", tr.Parent[gi], si)
	}
	if tr.Spans[si].ID == 5 || tr.Spans[si].ParentID != 5 {
		t.Errorf("server half id/parent = %s/%s, want new id and parent 5", tr.Spans[si].ID, tr.Spans[si].ParentID)
	}
	if len(r.Spans) != 4 {
		t.Errorf("spans = %d, want 4 (both halves kept)", len(r.Spans))
	}
}

func TestAssembleDuplicates(t *testing.T) {
	root := sp(1, 1, 0, "a", KindServer, 0, 100)
	child := sp(1, 2, 1, "b", KindServer, 10, 20)
	other := sp(1, 2, 1, "c", KindServer, 40, 20) // same id, other content
	r := assemble(t, root, child, child, other)
	q := r.Quality
	if q.DuplicateSpans != 1 || q.DuplicateIDs != 1 {
		t.Errorf("duplicates = %d exact, %d ids; want 1, 1", q.DuplicateSpans, q.DuplicateIDs)
	}
	if len(r.Spans) != 3 {
		t.Errorf("spans = %d, want 3", len(r.Spans))
	}
	if q.Reasons["duplicate span"] != 1 || q.Reasons["duplicate span id"] != 1 {
		t.Errorf("reasons = %v", q.Reasons)
	}
	tr := &r.Traces[0]
	if len(tr.Roots) != 1 || len(tr.Children(tr.Roots[0])) != 2 {
		t.Errorf("want one root with two children, got roots %v", tr.Roots)
	}
}

func TestAssembleBrokenParents(t *testing.T) {
	r := assemble(t,
		sp(1, 1, 0, "root", KindServer, 0, 100),
		sp(1, 2, 7, "orphan", KindServer, 10, 5),
		sp(1, 3, 3, "self", KindServer, 20, 5),
		sp(1, 4, 5, "cyc1", KindServer, 30, 5), // 4 -> 5 -> 4
		sp(1, 5, 4, "cyc2", KindServer, 31, 5),
	)
	q := r.Quality
	if q.OrphanSpans != 1 || q.SelfParentSpans != 1 || q.CycleBreaks != 1 {
		t.Fatalf("orphans %d self %d cycles %d; want 1 1 1", q.OrphanSpans, q.SelfParentSpans, q.CycleBreaks)
	}
	tr := &r.Traces[0]
	if len(tr.Roots) != 4 {
		t.Errorf("roots = %d, want 4 (root, orphan, self, cycle cut)", len(tr.Roots))
	}
	// The cycle is cut at its earliest span, cyc1.
	if c1 := find(t, tr, "cyc1", KindServer); tr.Parent[c1] != -1 {
		t.Errorf("cycle cut at the wrong span")
	}
	seen := 0
	tr.Walk(func(int32) { seen++ })
	if seen != 5 {
		t.Errorf("walk reached %d spans, want 5", seen)
	}
}

func TestAssembleDeepChain(t *testing.T) {
	const depth = 100000
	spans := make([]Span, depth)
	for i := range spans {
		spans[i] = sp(1, SpanID(i+1), SpanID(i), "s", KindServer, int64(i), int64(2*depth-2*i))
	}
	r := assemble(t, spans...)
	tr := &r.Traces[0]
	if len(tr.Roots) != 1 {
		t.Fatalf("roots = %d", len(tr.Roots))
	}
	d, i := 0, tr.Roots[0]
	for {
		d++
		ch := tr.Children(i)
		if len(ch) == 0 {
			break
		}
		i = ch[0]
	}
	if d != depth {
		t.Errorf("depth = %d, want %d", d, depth)
	}
}

func TestAssembleClockSkew(t *testing.T) {
	parent := sp(1, 1, 0, "front", KindClient, 0, 100)
	parent.Instance = "10.0.0.1:80"
	child := sp(1, 2, 1, "back", KindServer, -50, 60) // starts 50 µs before its caller
	child.Instance = "10.0.0.2:81"
	grand := sp(1, 3, 2, "back", KindInternal, -40, 10) // same host as child: moves with it
	grand.Instance = "10.0.0.2:82"
	fits := sp(1, 4, 1, "db", KindServer, 10, 5) // fits: not moved
	fits.Instance = "10.0.0.3"
	r := assemble(t, parent, child, grand, fits)
	tr := &r.Traces[0]
	// latency = (100-60)/2 = 20 µs: the child must start at 20 µs.
	ci := find(t, tr, "back", KindServer)
	if got := tr.Spans[ci].Start; got != 20*us {
		t.Errorf("child start = %d, want %d", got, 20*us)
	}
	if got := tr.Spans[find(t, tr, "back", KindInternal)].Start; got != 30*us {
		t.Errorf("grandchild start = %d, want %d (shifted with its host)", got, 30*us)
	}
	if got := tr.Spans[find(t, tr, "db", KindServer)].Start; got != 10*us {
		t.Errorf("fitting child moved to %d", got)
	}
	if r.Quality.SkewAdjustedSpans != 2 {
		t.Errorf("skew adjusted = %d, want 2", r.Quality.SkewAdjustedSpans)
	}
	if !tr.Spans[ci].Has(FlagSkewAdjusted) {
		t.Error("adjusted span not flagged")
	}
}

func TestAssembleJoins64BitTraceIDs(t *testing.T) {
	root := sp(1, 1, 0, "a", KindServer, 0, 100)
	root.TraceID = TraceID{High: 0xabc, Low: 77}
	child := sp(77, 2, 1, "b", KindServer, 10, 10)
	r := assemble(t, root, child)
	if len(r.Traces) != 1 || r.Quality.MergedTraceIDs != 1 {
		t.Fatalf("traces %d merged %d; want 1 1", len(r.Traces), r.Quality.MergedTraceIDs)
	}
	if r.Quality.OrphanSpans != 0 {
		t.Errorf("child orphaned after join")
	}
}

func TestAssembleAsync(t *testing.T) {
	root := sp(1, 1, 0, "a", KindServer, 0, 100)
	outlives := sp(1, 2, 1, "a", KindInternal, 50, 200) // ends 150 µs after the parent
	jitter := sp(1, 7, 1, "a", KindClient, 90, 26)      // ends 16 µs after: instrumentation jitter, not async
	follows := sp(1, 3, 1, "a", KindInternal, 10, 10)
	follows.Flags |= FlagFollowsFrom
	producer := sp(1, 4, 1, "a", KindProducer, 20, 5)
	consumer := sp(1, 5, 4, "q", KindConsumer, 500, 5)
	inside := sp(1, 6, 1, "a", KindInternal, 60, 40) // ends exactly with the parent
	r := assemble(t, root, outlives, follows, producer, consumer, inside, jitter)
	if r.Quality.AsyncSpans != 3 {
		t.Errorf("async = %d, want 3", r.Quality.AsyncSpans)
	}
	tr := &r.Traces[0]
	for i := range tr.Spans {
		s := &tr.Spans[i]
		want := s.ID == 2 || s.ID == 3 || s.ID == 5
		if s.Has(FlagAsync) != want {
			t.Errorf("span %d async = %v, want %v", s.ID, s.Has(FlagAsync), want)
		}
	}
	// The consumer runs on another service long after: not skew-adjusted.
	if r.Quality.SkewAdjustedSpans != 0 {
		t.Errorf("skew adjusted %d spans, want 0", r.Quality.SkewAdjustedSpans)
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1:8080": "10.0.0.1", "10.0.0.1": "10.0.0.1", "[::1]:80": "::1",
		"fe80::1": "fe80::1", "host-a": "host-a", "pod:abc": "pod:abc",
	} {
		s := Span{Instance: in}
		if got := hostKey(&s); got != want {
			t.Errorf("hostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAssembleFragmentsAndBroadcast(t *testing.T) {
	root := sp(1, 1, 0, "bouncer", KindServer, 0, 1000)
	// A server span reported twice: once untimed without kind, once whole.
	frag := sp(1, 7, 1, "api", KindInternal, 0, 0)
	frag.Flags |= FlagNoStart | FlagNoDuration
	client := sp(1, 7, 1, "strongman", KindClient, 10, 500)
	server := sp(1, 7, 1, "api", KindServer, 20, 400)
	server.Flags |= FlagShared
	child := sp(1, 8, 7, "api", KindClient, 30, 10)
	// One client broadcasting to three servers that share its id.
	send := sp(1, 9, 1, "bouncer", KindClient, 600, 50)
	var recv []Span
	for k := range 3 {
		r := sp(1, 9, 1, "pusher", KindServer, 610+int64(k), 20)
		r.Flags |= FlagShared
		r.Instance = string(rune('a' + k))
		recv = append(recv, r)
	}
	r := assemble(t, append([]Span{root, frag, client, server, child, send}, recv...)...)
	q := r.Quality
	if q.MergedFragments != 1 || q.MergedSharedSpans != 4 || q.DuplicateIDs != 0 {
		t.Fatalf("fragments %d shared %d dupIDs %d; want 1 4 0", q.MergedFragments, q.MergedSharedSpans, q.DuplicateIDs)
	}
	tr := &r.Traces[0]
	if len(tr.Spans) != 8 {
		t.Errorf("spans = %d, want 8 (the fragment merged)", len(tr.Spans))
	}
	si := find(t, tr, "api", KindServer)
	if tr.Parent[si] != find(t, tr, "strongman", KindClient) || tr.Parent[find(t, tr, "api", KindClient)] != si {
		t.Errorf("shared pair with fragment not split into client -> server -> child")
	}
	for i := range tr.Spans {
		if tr.Spans[i].Service == "pusher" && tr.Spans[tr.Parent[i]].Service != "bouncer" {
			t.Errorf("broadcast receiver not under the sender")
		}
	}
}
