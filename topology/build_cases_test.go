package topology

import (
	"context"
	"math"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// tb builds one trace by hand: every call is a client span in the caller
// and a server span in the callee, times in microseconds.
type tb struct {
	spans []trace.Span
	tid   uint64
	next  trace.SpanID
}

func (b *tb) span(parent trace.SpanID, svc, name string, kind trace.Kind, startUS, durUS int64, flags trace.Flags) trace.SpanID {
	b.next++
	b.spans = append(b.spans, trace.Span{TraceID: trace.TraceID{Low: b.tid}, ID: b.next, ParentID: parent, Service: svc, Name: name,
		Kind: kind, Start: 1_700_000_000_000_000_000 + startUS*1000, Duration: durUS * 1000, Flags: flags, Instance: svc + "-host"})
	return b.next
}

// call adds a client span of caller and the callee's server span inside
// it (50 µs of network each way).
func (b *tb) call(parent trace.SpanID, caller, callee, name string, startUS, durUS int64, failed bool) {
	var f trace.Flags
	if failed {
		f = trace.FlagError
	}
	c := b.span(parent, caller, name, trace.KindClient, startUS, durUS, f)
	b.span(c, callee, name, trace.KindServer, startUS+50, durUS-100, f)
}

func build(t *testing.T, spans []trace.Span) *Model {
	t.Helper()
	c := &trace.Collector{Spans: spans}
	c.AddSource("test")
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := Build(context.Background(), res, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(m); err != nil {
		t.Fatalf("built model is not valid: %v", err)
	}
	return m
}

// TestBuildPool: 10 calls through a worker pool of 3 are a pool of size 3
// running 10 calls, not 10 concurrent calls.
func TestBuildPool(t *testing.T) {
	var b tb
	for k := range 20 {
		b.tid = uint64(k + 1)
		root := b.span(0, "api", "GET /route", trace.KindServer, int64(k)*100_000, 6000, 0)
		// Three workers each take the next call as soon as they are free.
		var free [3]int64
		for j := range free {
			free[j] = int64(k)*100_000 + 100 + int64(j)*10
		}
		for i := range 10 {
			j := i % 3
			d := int64(900 + 37*i)
			b.call(root, "api", "route", "Find", free[j], d, false)
			free[j] += d
		}
	}
	m := build(t, b.spans)
	sh := m.Operations["api/GET /route"].Shapes
	if len(sh) != 1 {
		t.Fatalf("%d shapes, want 1", len(sh))
	}
	var pool *Pool
	for _, st := range sh[0].Steps {
		if st.Pool != nil {
			pool = st.Pool
		}
		if st.Parallel != nil {
			t.Errorf("calls modelled as a parallel group of %d", len(st.Parallel))
		}
	}
	if pool == nil || pool.Size != 3 || len(pool.Calls) != 1 || pool.Calls[0].Repeat != 10 || pool.Calls[0].Target != "route/Find" {
		t.Fatalf("pool = %+v, want size 3 with route/Find ×10", pool)
	}
}

// TestBuildRetriesErrorsAsync covers retry policies, own vs propagated
// errors, optional calls, fire-and-forget calls and sampling correction.
func TestBuildRetriesErrorsAsync(t *testing.T) {
	var b tb
	const n = 100
	for k := range n {
		b.tid = uint64(k + 1)
		t0 := int64(k) * 20_000 // 50/s
		root := b.span(0, "web", "GET /", trace.KindServer, t0, 10_000, 0)
		b.spans[len(b.spans)-1].SampleRate = 0.5
		// db fails on the first attempt in every fourth trace and is
		// retried 2 ms later.
		at := t0 + 100
		if k%4 == 0 {
			b.call(root, "web", "db", "Get", at, 500, true)
			at += 500 + 2000
		}
		b.call(root, "web", "db", "Get", at, 500, false)
		at += 600
		// ads fails in a tenth of the traces without failing web: optional.
		b.call(root, "web", "ads", "Pick", at, 300, k%10 == 0)
		at += 400
		// A fire-and-forget audit call that ends after web does.
		c := b.span(root, "web", "Log", trace.KindProducer, at, 100, 0)
		b.span(c, "audit", "Log", trace.KindConsumer, t0+12_000, 3000, 0)
		// audit fails by itself in half of its executions.
		if k%2 == 0 {
			b.spans[len(b.spans)-1].Flags |= trace.FlagError
		}
	}
	m := build(t, b.spans)
	web := m.Operations["web/GET /"]
	if web.Entry == nil || math.Abs(web.Entry.Rate-100) > 1 {
		t.Errorf("entry %+v, want 100/s (50/s sampled at 0.5)", web.Entry)
	}
	if web.ErrorRate != 0 {
		t.Errorf("web error rate %v, want 0", web.ErrorRate)
	}
	if a := m.Operations["audit/Log"]; a == nil || math.Abs(a.ErrorRate-0.5) > 1e-9 {
		t.Errorf("audit error rate %+v, want 0.5 (its own)", a)
	}
	if len(web.Shapes) != 1 {
		t.Fatalf("web has %d shapes, want 1 (a retry does not make a new shape)", len(web.Shapes))
	}
	var db, ads, audit *Call
	for _, st := range web.Shapes[0].Steps {
		if st.Call == nil {
			continue
		}
		switch st.Call.Target {
		case "db/Get":
			db = st.Call
		case "ads/Pick":
			ads = st.Call
		case "audit/Log":
			audit = st.Call
		}
	}
	if db == nil || db.Retries == nil || db.Retries.Max != 1 || db.Repeat > 1 {
		t.Fatalf("db call %+v, want a retry policy of 1", db)
	}
	if got := db.Retries.Backoff.Microseconds(); got != 2000 {
		t.Errorf("backoff %dµs, want 2000", got)
	}
	if ads == nil || !ads.Optional {
		t.Errorf("ads call %+v, want optional", ads)
	}
	if audit == nil || !audit.Async {
		t.Errorf("audit call %+v, want async", audit)
	}
	if db.Network == nil || math.Abs(db.Network.Quantile(0.5)-100e3) > 1e3 {
		t.Errorf("db network %v, want 100µs", db.Network)
	}
	if m.Services["web"].Instances != 1 {
		t.Errorf("web instances %d", m.Services["web"].Instances)
	}
}

// TestBuildPeer: a client span with no server below it becomes a call to
// the peer it names, whose work is the client span's duration.
func TestBuildPeer(t *testing.T) {
	var b tb
	for k := range 10 {
		b.tid = uint64(k + 1)
		root := b.span(0, "app", "GET /", trace.KindServer, int64(k)*10_000, 5000, 0)
		b.span(root, "app", "SELECT", trace.KindClient, int64(k)*10_000+1000, 2000, 0)
		b.spans[len(b.spans)-1].Peer = "postgres"
	}
	m := build(t, b.spans)
	if s := m.Services["postgres"]; s == nil || !s.Peer {
		t.Fatalf("postgres service %+v, want a peer", s)
	}
	op := m.Operations["postgres/SELECT"]
	if op == nil || op.Shapes[0].Steps[0].Work == nil || math.Abs(op.Shapes[0].Steps[0].Work.Quantile(0.5)-2e6) > 1e3 {
		t.Fatalf("peer operation %+v, want 2 ms of work", op)
	}
}

func TestWeightsOf(t *testing.T) {
	cases := []struct {
		counts []int
		want   []float64
	}{
		{[]int{8, 2}, []float64{0.8, 0.2}},
		{[]int{1, 1, 1}, []float64{0.3334, 0.3333, 0.3333}},
		{[]int{2, 1}, []float64{0.6667, 0.3333}},
	}
	for _, c := range cases {
		got := weightsOf(c.counts)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("weightsOf(%v) = %v, want %v", c.counts, got, c.want)
				break
			}
		}
	}
	// Many small shapes: the sum stays exactly 1, nothing is negative.
	counts := make([]int, 5000)
	for i := range counts {
		counts[i] = 1 + i%3
	}
	sum := 0.0
	for _, w := range weightsOf(counts) {
		if w < 0 {
			t.Fatal("negative weight")
		}
		sum += w
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("sum %v", sum)
	}
}
