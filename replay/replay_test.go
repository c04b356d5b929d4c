package replay

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

func loadTraces(t *testing.T, paths ...string) *trace.Result {
	t.Helper()
	c, err := load.Load(context.Background(), paths, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestUnlimitedCapacityReproducesEachTrace is issue #5's replay check:
// with no capacity limits, every replayed request takes exactly the time
// its trace recorded (tolerance 1%, found: exact to the nanosecond).
func TestUnlimitedCapacityReproducesEachTrace(t *testing.T) {
	res := loadTraces(t, "../examples/traces")
	reqs, rep, err := FromTraces(res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 300 || rep.Skipped != 0 {
		t.Fatalf("report %+v, want 300 requests", rep)
	}
	// Recorded root durations in arrival order.
	var recorded []int64
	type root struct{ start, dur int64 }
	var roots []root
	for i := range res.Traces {
		s := &res.Traces[i].Spans[res.Traces[i].Roots[0]]
		roots = append(roots, root{s.Start, s.Duration})
	}
	for i := 1; i < len(roots); i++ {
		if roots[i].start < roots[i-1].start {
			t.Fatal("traces not in arrival order")
		}
	}
	for _, r := range roots {
		recorded = append(recorded, r.dur)
	}
	replayed := make([]int64, len(reqs))
	cfg := sim.Config{Workload: sim.Workload{Replay: reqs}, OnSpan: func(s sim.SpanRecord) {
		if s.Parent == 0 {
			replayed[s.Request-1] = s.End - s.Arrive
		}
	}}
	r, err := sim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Endpoints[0].Requests+r.Endpoints[1].Requests != 300 {
		t.Fatalf("replayed %d+%d requests", r.Endpoints[0].Requests, r.Endpoints[1].Requests)
	}
	worst := 0.0
	for i := range recorded {
		rel := math.Abs(float64(replayed[i]-recorded[i])) / float64(recorded[i])
		worst = max(worst, rel)
		if rel > 0.01 {
			t.Errorf("request %d: replayed %d ns, recorded %d ns", i+1, replayed[i], recorded[i])
		}
	}
	t.Logf("worst relative difference over %d traces: %.2g", len(recorded), worst)
}

// TestQueueingGrowsWithRate replays the recording against a model whose
// services have as many workers as executions were seen at once (the
// capacity evidence Build records) at 1×, 2× and 4× the recorded rate:
// latency must grow with the rate, and never fall below the recording.
func TestQueueingGrowsWithRate(t *testing.T) {
	res := loadTraces(t, "../examples/traces")
	reqs, _, err := FromTraces(res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := topology.Build(context.Background(), res, topology.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Services {
		if s.Evidence != nil {
			s.Workers = s.Evidence.MaxConcurrent
		}
	}
	var recorded float64
	for i := range res.Traces {
		recorded += float64(res.Traces[i].Spans[res.Traces[i].Roots[0]].Duration)
	}
	recorded /= float64(len(res.Traces))
	prev := recorded
	for _, speed := range []float64{1, 2, 4} {
		r, err := sim.Run(context.Background(), sim.Config{Model: m, Workload: sim.Workload{Replay: reqs, ReplaySpeed: speed}})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		var n int64
		for _, e := range r.Endpoints {
			sum += e.Latency.Mean() * float64(e.Latency.Count())
			n += e.Latency.Count()
		}
		mean := sum / float64(n)
		t.Logf("speed %v×: mean %.3f ms (recorded %.3f ms)", speed, mean/1e6, recorded/1e6)
		// At the recorded rate the recorded concurrency fits the workers:
		// no queueing is added. Faster, queues must grow.
		if mean < prev || (speed > 1 && mean <= prev) {
			t.Errorf("speed %v×: mean %.3f ms did not grow past %.3f ms", speed, mean/1e6, prev/1e6)
		}
		prev = mean
	}
}

func TestWindowAndErrors(t *testing.T) {
	res := loadTraces(t, "../examples/traces")
	reqs, rep, err := FromTraces(res, Options{From: 1e9, To: 2e9}) // the second second: 100 traces at 100/s
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) < 95 || len(reqs) > 105 || rep.Outside != 300-len(reqs) || reqs[0].Arrive < 0 {
		t.Errorf("window kept %d requests (%+v)", len(reqs), rep)
	}
	if _, _, err := FromTraces(res, Options{From: 1e12}); err == nil {
		t.Error("empty window: no error")
	}
}

// TestSharedFixtures: every real recording converts and replays.
func TestSharedFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../shared/traces/*/*.json*")
	if len(files) == 0 {
		t.Skip("shared/traces fixtures not found beside the repository")
	}
	for _, f := range files {
		res := loadTraces(t, f)
		reqs, _, err := FromTraces(res, Options{})
		if err != nil {
			t.Logf("%s: %v", filepath.Base(f), err) // recordings of orphans only
			continue
		}
		if _, err := sim.Run(context.Background(), sim.Config{Workload: sim.Workload{Replay: reqs}}); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}
