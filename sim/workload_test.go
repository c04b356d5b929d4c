package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

func twoEntries(t *testing.T) *topology.Model {
	return &topology.Model{
		Services: map[string]*topology.Service{"s": {Instances: 1}},
		Operations: map[string]*topology.Operation{
			"s/a": {Entry: &topology.Entry{Rate: 1}, Shapes: one(work(constant(t, 1)))},
			"s/b": {Entry: &topology.Entry{Rate: 3}, Shapes: one(work(constant(t, 1)))},
		},
	}
}

// Workload.Rate is split over entries in proportion to their model rates;
// warm-up arrivals are not measured.
func TestRateSplitWarmup(t *testing.T) {
	r := run(t, Config{Model: twoEntries(t), Workload: Workload{Rate: 400}, Duration: 100 * time.Second,
		Warmup: 50 * time.Second, Seed: 1})
	for i, want := range []float64{10000, 30000} {
		got := float64(r.Endpoints[i].Requests)
		if math.Abs(got-want) > 4*math.Sqrt(want) {
			t.Errorf("%s: %v requests, want %v ± 4σ", r.Endpoints[i].Name, got, want)
		}
	}
	if r.Endpoints[0].Name != "s/a" || r.Endpoints[1].Name != "s/b" {
		t.Errorf("endpoints not sorted by name: %s, %s", r.Endpoints[0].Name, r.Endpoints[1].Name)
	}
}

// Constant arrivals: exactly rate × duration requests.
func TestConstantArrivals(t *testing.T) {
	r := run(t, Config{Model: queueModel(1, 1, 50, constant(t, 10)), Workload: Workload{Constant: true},
		Duration: 10 * time.Second, Seed: 1})
	ep := r.Endpoints[0]
	if ep.Requests < 499 || ep.Requests > 500 {
		t.Errorf("%d requests, want 500", ep.Requests)
	}
	// D/D/1 at ρ=0.5 never queues.
	if ep.Latency.Max() != int64(10*time.Millisecond) {
		t.Errorf("max latency %d, want 10 ms", ep.Latency.Max())
	}
	// The first arrival is at 20 ms, so 499 or 500 fit in 10 s.
	if u := r.Utilization["s"]; math.Abs(u-0.5) > 0.002 {
		t.Errorf("utilization %v, want 0.5", u)
	}
}

// Requests stops after that many measured completions.
func TestRequestsStop(t *testing.T) {
	r := run(t, Config{Model: queueModel(1, 1, 80, expo(t, 10)), Requests: 1234, Warmup: time.Second, Seed: 1})
	if n := r.Endpoints[0].Requests; n != 1234 {
		t.Errorf("%d measured requests, want 1234", n)
	}
	if u := r.Utilization["s"]; u < 0.7 || u > 0.9 {
		t.Errorf("utilization %.3f, want ≈ 0.8", u)
	}
}

// Least-loaded balancing beats round robin on two single-worker
// instances (join the shortest queue vs. blind alternation).
func TestLeastLoaded(t *testing.T) {
	cfg := Config{Model: queueModel(2, 1, 160, expo(t, 10)), Duration: 500 * time.Second, Seed: 4}
	rr := run(t, cfg).Endpoints[0].Latency.Mean() / ms
	cfg.Balance = "least-loaded"
	ll := run(t, cfg).Endpoints[0].Latency.Mean() / ms
	t.Logf("mean sojourn: round robin %.2f ms, least loaded %.2f ms (M/M/2 bound %.2f ms)", rr, ll, 10/(1-0.8*0.8))
	if ll >= rr {
		t.Errorf("least-loaded %.2f ms not better than round robin %.2f ms", ll, rr)
	}
}

// A failing required call stops the caller at that step: the steps after
// it do not run.
func TestFailureStopsCaller(t *testing.T) {
	m := chain([]*topology.Step{
		{Parallel: []*topology.Call{{Target: "b/fail"}, {Target: "b/slow"}}},
		{Call: &topology.Call{Target: "b/after"}},
	}, map[string]*topology.Operation{
		"b/fail":  {ErrorRate: 1, Shapes: one(work(constant(t, 1)))},
		"b/slow":  {Shapes: one(work(constant(t, 50)))},
		"b/after": {Shapes: one(work(constant(t, 1)))},
	})
	r := run(t, Config{Model: m, Duration: 10 * time.Second, Seed: 1})
	ep := r.Endpoints[0]
	if ep.Errors != ep.Requests || ep.Latency.Max() != int64(time.Millisecond) {
		t.Errorf("errors %d/%d, max latency %d: want all failing after 1 ms", ep.Errors, ep.Requests, ep.Latency.Max())
	}
	for _, op := range r.Operations {
		if op.Name == "b/after" && op.Requests != 0 {
			t.Errorf("step after the failure ran %d times", op.Requests)
		}
		if op.Name == "b/slow" && op.Requests != ep.Requests {
			t.Errorf("sibling call ran %d times, want %d (it keeps running)", op.Requests, ep.Requests)
		}
	}
}

func TestReplicateErrors(t *testing.T) {
	if _, err := Replicate(context.Background(), Config{}, 2); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("error %v, want the config error", err)
	}
	if _, err := Replicate(context.Background(), Config{}, 0); err == nil {
		t.Error("0 replications accepted")
	}
}

// The load estimate follows calls (visits × repeat) and counts the time
// a worker is held waiting on calls.
func TestLoadEstimate(t *testing.T) {
	m := chain([]*topology.Step{{Call: &topology.Call{Target: "b/x", Repeat: 3}}},
		map[string]*topology.Operation{"b/x": {Shapes: one(work(constant(t, 4)))}})
	m.Services["b"].Workers = 1 // 100/s × 3 visits × 4 ms = 1.2
	r := run(t, Config{Model: m, Duration: 5 * time.Second, Seed: 1})
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"b"`) || !strings.Contains(r.Warnings[0], "1.20") {
		t.Errorf("warnings %q, want service b at ρ=1.20", r.Warnings)
	}
	m.Services["b"].Workers = 0
	m.Services["a"].Workers = 1 // a holds its worker for 12 ms per request: 1.2
	r = run(t, Config{Model: m, Duration: 5 * time.Second, Seed: 1})
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"a"`) {
		t.Errorf("warnings %q, want service a", r.Warnings)
	}
	if r := run(t, Config{Model: model40(t), Duration: time.Second, Seed: 1}); len(r.Warnings) != 0 {
		t.Errorf("40-span model: unexpected warnings %q", r.Warnings)
	}
}

// Operations without shapes (or with empty ones) answer at once, even
// behind a long queue.
func TestEmptyShapes(t *testing.T) {
	m := queueModel(1, 1, 1000, nil)
	m.Operations["s/op"].Shapes = nil
	r := run(t, Config{Model: m, Duration: time.Second, Seed: 1})
	if ep := r.Endpoints[0]; ep.Requests == 0 || ep.Latency.Max() != 0 {
		t.Errorf("requests %d, max latency %d: want instant answers", ep.Requests, ep.Latency.Max())
	}
	m.Operations["s/op"].Shapes = []*topology.Shape{{Weight: 1}}
	if r := run(t, Config{Model: m, Requests: 100, Seed: 1}); r.Endpoints[0].Requests != 100 {
		t.Errorf("empty shape: %d requests", r.Endpoints[0].Requests)
	}
}

// TestClosedLoopMix: users are spread so that the request mix matches the
// model's entry rates. Entries at 70/s and 30/s taking 10 ms and 50 ms,
// with 40 ms of think time, keep 70·50 : 30·90 users busy (Little's law),
// so 100 users split 56/44 and send requests 70:30 (±2 points), where a
// split by rates (70/30 users) would send them 80:20.
func TestClosedLoopMix(t *testing.T) {
	m := &topology.Model{Services: map[string]*topology.Service{"a": {Instances: 1}}, Operations: map[string]*topology.Operation{
		"a/fast": {Entry: &topology.Entry{Rate: 70}, Shapes: one(work(constant(t, 10)))},
		"a/slow": {Entry: &topology.Entry{Rate: 30}, Shapes: one(work(constant(t, 50)))},
	}}
	uw, err := UserWeights(m, 40*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3500.0 / 6200; math.Abs(uw["a/fast"]-want) > 1e-9 {
		t.Errorf("fast share %v, want %v", uw["a/fast"], want)
	}
	r := run(t, Config{Model: m, Workload: Workload{Users: 100, Think: 40 * time.Millisecond}, Duration: 60 * time.Second, Seed: 1})
	var fast, all float64
	for _, e := range r.Endpoints {
		all += float64(e.Requests)
		if e.Name == "a/fast" {
			fast = float64(e.Requests)
		}
	}
	if share := fast / all; math.Abs(share-0.7) > 0.02 {
		t.Errorf("fast share of requests %.3f, want 0.70 ± 0.02", share)
	}
}
