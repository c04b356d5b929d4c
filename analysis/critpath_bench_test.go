package analysis

import (
	"math/rand/v2"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// BenchmarkCriticalPath40: critical path and per-endpoint aggregation of
// 1000 traces of exactly 40 spans (see timedTrace). The target is ≤ 1 ms
// per trace.
func BenchmarkCriticalPath40(b *testing.B) {
	const traces, per = 1000, 40
	var spans []trace.Span
	for i := range traces {
		spans = append(spans, timedTrace(per, uint64(i+1))...)
	}
	r := hsAssemble(b, spans)
	if len(r.Traces) != traces || len(r.Spans) != traces*per {
		b.Fatalf("%d traces, %d spans", len(r.Traces), len(r.Spans))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		cp := AnalyzeCriticalPaths(r.Traces)
		if len(cp.Endpoints) == 0 {
			b.Fatal("no endpoints")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*traces), "ns/trace")
}

// BenchmarkCriticalPath1M: one 1,000,000-span trace, deep and wide. The
// target is < 5 s and < 1 GB.
func BenchmarkCriticalPath1M(b *testing.B) {
	r := hsAssemble(b, timedTrace(1_000_000, 1))
	if len(r.Traces) != 1 || len(r.Spans) != 1_000_000 {
		b.Fatalf("%d traces, %d spans", len(r.Traces), len(r.Spans))
	}
	tr := &r.Traces[0]
	root := MainRoot(tr)
	b.ReportAllocs()
	b.ResetTimer()
	var steps []PathStep
	for range b.N {
		steps = CriticalPath(tr, root)
	}
	b.StopTimer()
	var sum int64
	for _, s := range steps {
		sum += s.Self
	}
	if sum != tr.Spans[root].Duration {
		b.Fatalf("path of %d steps sums to %d ns, root lasts %d", len(steps), sum, tr.Spans[root].Duration)
	}
	b.ReportMetric(float64(len(steps)), "steps")
}

// timedTrace returns one trace (id seed) of n spans with consistent
// timing: half the spans hang under a recent span (long chains: a large
// trace is thousands of levels deep), half under any earlier span (wide
// fan-outs); a third of the spans call their children in parallel; 5% of
// the children are FOLLOWS_FROM. Spans are spread over 8 services with 4
// operations each. Durations are computed bottom-up and starts top-down,
// both without recursion.
func timedTrace(n int, seed uint64) []trace.Span {
	rnd := rand.New(rand.NewPCG(seed, 3))
	parent := make([]int32, n)
	parent[0] = -1
	for i := 1; i < n; i++ {
		if rnd.IntN(2) == 0 {
			parent[i] = int32(i - 1 - rnd.IntN(min(i, 64)))
		} else {
			parent[i] = int32(rnd.IntN(i))
		}
	}
	work := make([]int64, n)
	parallel := make([]bool, n)
	dur := make([]int64, n)
	for i := range work {
		work[i] = int64(1+rnd.IntN(1000)) * 1000
		parallel[i] = rnd.IntN(3) == 0
		dur[i] = work[i]
	}
	// Children have larger indexes than their parents: one backwards pass
	// finishes every child before its parent.
	callTime := make([]int64, n) // time spent in calls: sum or max of children
	for i := n - 1; i >= 1; i-- {
		dur[i] += callTime[i]
		p := parent[i]
		if parallel[p] {
			callTime[p] = max(callTime[p], dur[i])
		} else {
			callTime[p] += dur[i]
		}
	}
	dur[0] += callTime[0]
	start := make([]int64, n)
	next := make([]int64, n) // where the next sequential child of i starts
	start[0] = 1_700_000_000_000_000_000
	next[0] = start[0] + work[0]/2
	spans := make([]trace.Span, n)
	for i := range spans {
		if i > 0 {
			p := parent[i]
			start[i] = next[p]
			if !parallel[p] {
				next[p] += dur[i]
			}
			next[i] = start[i] + work[i]/2
		}
		s := &spans[i]
		s.TraceID = trace.TraceID{High: 1, Low: seed}
		s.ID = trace.SpanID(i + 1)
		s.Service, s.Name, s.Kind = benchServices[i%len(benchServices)], benchOps[i/len(benchServices)%len(benchOps)], trace.KindServer
		s.Start, s.Duration = start[i], dur[i]
		if i > 0 {
			s.ParentID = trace.SpanID(parent[i] + 1)
			if rnd.IntN(20) == 0 {
				s.Flags |= trace.FlagFollowsFrom
			}
		}
	}
	return spans
}

var (
	benchServices = []string{"frontend", "users", "orders", "items", "search", "ads", "cart", "db"}
	benchOps      = []string{"GET /", "Get", "List", "Query"}
)
