package scenarios

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

const rms = time.Millisecond

// leaf is an execution that only works for d.
func rleaf(op string, d time.Duration) *sim.ReplayExec {
	return &sim.ReplayExec{Op: op, Steps: []sim.ReplayStep{{Work: d}}}
}

// seq is an execution making its calls one after another.
func seq(op string, callees ...*sim.ReplayExec) *sim.ReplayExec {
	x := &sim.ReplayExec{Op: op}
	for _, c := range callees {
		x.Steps = append(x.Steps, sim.ReplayStep{Calls: []sim.ReplayCall{{Callee: c}}})
	}
	return x
}

// requests makes n requests 1 s apart (so they never queue) with the
// root execution mk(i) builds.
func requests(n int, mk func(i int) *sim.ReplayExec) []sim.ReplayRequest {
	out := make([]sim.ReplayRequest, n)
	for i := range out {
		out[i] = sim.ReplayRequest{Arrive: time.Duration(i) * time.Second, Root: mk(i)}
	}
	return out
}

// replayRun replays reqs with unlimited capacity and returns the only
// endpoint's stats.
func replayRun(t *testing.T, m *topology.Model, reqs []sim.ReplayRequest) sim.Stats {
	t.Helper()
	r, err := sim.Run(context.Background(), sim.Config{Model: m, Seed: 1, Workload: sim.Workload{Replay: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Endpoints) != 1 {
		t.Fatalf("want 1 endpoint, got %d", len(r.Endpoints))
	}
	return r.Endpoints[0]
}

func applyReplay(t *testing.T, m *topology.Model, reqs []sim.ReplayRequest, changes ...Change) []sim.ReplayRequest {
	t.Helper()
	out, _, _, err := ApplyReplay(reqs, m, changes, 7)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplayParallelize(t *testing.T) {
	reqs := requests(10, func(int) *sim.ReplayExec {
		return seq("fe/GET", rleaf("b/B", 10*rms), rleaf("c/C", 20*rms))
	})
	if got := replayRun(t, nil, reqs).Latency.Mean(); math.Abs(got-30e6) > 1 {
		t.Fatalf("baseline mean %v ns, want 30 ms", got)
	}
	out := applyReplay(t, nil, reqs, &Parallelize{In: "fe/GET", Calls: []string{"b/B", "c/C"}})
	if got := replayRun(t, nil, out).Latency.Mean(); math.Abs(got-20e6) > 0.01*20e6 {
		t.Fatalf("parallel mean %v ns, want 20 ms ±1%%", got)
	}
	// The input is not modified.
	if got := replayRun(t, nil, reqs).Latency.Mean(); math.Abs(got-30e6) > 1 {
		t.Fatalf("baseline changed by ApplyReplay: %v ns", got)
	}
}

func TestReplayCache(t *testing.T) {
	const n = 20000
	reqs := requests(n, func(int) *sim.ReplayExec { return seq("fe/GET", rleaf("db/Q", 50*rms)) })
	out := applyReplay(t, nil, reqs, &Cache{Target: "db/Q", HitRatio: 0.8, HitLatency: float64(rms)})
	st := replayRun(t, nil, out)
	drop := 50e6 - st.Latency.Mean()
	// Binomial hits over n requests: sd of the hit fraction is
	// sqrt(0.16/n) = 0.0028, well inside the issue's ±2%.
	if want := 0.8 * 49e6; math.Abs(drop-want) > 0.02*want {
		t.Fatalf("mean drop %.3g ns, want %.3g ±2%%", drop, want)
	}
	// The mixture: p50 is a hit (1 ms), p99 a miss (50 ms).
	if p50 := st.Latency.Quantile(0.5); math.Abs(p50-1e6) > 0.01e6 {
		t.Fatalf("p50 %v, want 1 ms", p50)
	}
	if p99 := st.Latency.Quantile(0.99); math.Abs(p99-50e6) > 0.5e6 {
		t.Fatalf("p99 %v, want 50 ms", p99)
	}
	again := applyReplay(t, nil, reqs, &Cache{Target: "db/Q", HitRatio: 0.8, HitLatency: float64(rms)})
	if a, b := replayRun(t, nil, again).Latency.Mean(), st.Latency.Mean(); a != b {
		t.Fatalf("same seed, different result: %v vs %v", a, b)
	}
}

func TestReplayBatch(t *testing.T) {
	reqs := requests(5, func(int) *sim.ReplayExec {
		callees := make([]*sim.ReplayExec, 10)
		for i := range callees {
			callees[i] = rleaf("db/Q", 5*rms)
		}
		return seq("fe/GET", callees...)
	})
	if got := replayRun(t, nil, reqs).Latency.Mean(); math.Abs(got-50e6) > 1 {
		t.Fatalf("baseline %v, want 50 ms", got)
	}
	out := applyReplay(t, nil, reqs, &Batch{In: "fe/GET", Calls: "db/Q", MaxBatch: 5, Fixed: 2e6, PerItem: 0.5e6})
	if got := replayRun(t, nil, out).Latency.Mean(); math.Abs(got-9e6) > 1 {
		t.Fatalf("batched %v, want 2 × 4.5 ms", got)
	}
}

func TestReplayDisable(t *testing.T) {
	reqs := requests(10, func(int) *sim.ReplayExec {
		return seq("fe/GET", rleaf("auth/Check", 5*rms), rleaf("recs/List", 20*rms))
	})
	// Without a model every call is required: failing auth fails fe, and
	// fe stops there (recs is never called).
	out := applyReplay(t, nil, reqs, &Disable{Service: "auth", Mode: ModeFail})
	st := replayRun(t, nil, out)
	if st.Errors != 10 || st.Latency.Mean() != 0 {
		t.Fatalf("auth down: %d errors, mean %v; want 10 errors at once", st.Errors, st.Latency.Mean())
	}
	// A model marking recs optional: fe absorbs it and gets faster.
	m := &topology.Model{Operations: map[string]*topology.Operation{"fe/GET": {Shapes: []*topology.Shape{{Weight: 1,
		Steps: []*topology.Step{{Call: &topology.Call{Target: "auth/Check"}}, {Call: &topology.Call{Target: "recs/List", Optional: true}}}}}}}}
	m.Operations["auth/Check"], m.Operations["recs/List"] = &topology.Operation{}, &topology.Operation{}
	m.Services = map[string]*topology.Service{"fe": {Instances: 1}, "auth": {Instances: 1}, "recs": {Instances: 1}}
	out = applyReplay(t, m, reqs, &Disable{Service: "recs", Mode: ModeFail})
	st = replayRun(t, m, out)
	if st.Errors != 0 || math.Abs(st.Latency.Mean()-5e6) > 1 {
		t.Fatalf("optional recs down: %d errors, mean %v; want 0 errors, 5 ms", st.Errors, st.Latency.Mean())
	}
	out = applyReplay(t, nil, reqs, &Disable{Service: "recs", Mode: ModeSkip})
	if st := replayRun(t, nil, out); st.Errors != 0 || math.Abs(st.Latency.Mean()-5e6) > 1 {
		t.Fatalf("recs skipped: %d errors, mean %v; want 0, 5 ms", st.Errors, st.Latency.Mean())
	}
}

func TestReplaySpeedupLatencyError(t *testing.T) {
	reqs := requests(1000, func(int) *sim.ReplayExec { return seq("fe/GET", rleaf("db/Q", 10*rms)) })
	out := applyReplay(t, nil, reqs, &Speedup{Service: "db", Factor: 0.5}, &Latency{From: "fe", To: "db", Add: 2e6})
	if got := replayRun(t, nil, out).Latency.Mean(); math.Abs(got-7e6) > 1 {
		t.Fatalf("mean %v, want 5 ms work + 2 ms network", got)
	}
	out = applyReplay(t, nil, reqs, &Error{Operation: "db/Q", Rate: 0.25})
	st := replayRun(t, nil, out)
	// 1000 Bernoulli(0.25) draws: sd 13.7, so ±55 is 4 sd.
	if st.Errors < 195 || st.Errors > 305 {
		t.Fatalf("%d errors of 1000, want about 250", st.Errors)
	}
}

func TestReplayErrors(t *testing.T) {
	reqs := requests(3, func(int) *sim.ReplayExec { return seq("frontend/GET", rleaf("db/Q", rms)) })
	cases := []struct {
		change Change
		want   string
	}{
		{&Disable{Service: "dbb", Mode: ModeFail}, `unknown service "dbb" (did you mean "db"?)`},
		{&Cache{Target: "frontend/GET", HitRatio: 0.5}, "no recorded request calls frontend/GET"},
		{&Parallelize{In: "frontend/GET", PoolSize: 4}, "pool's size cannot be replayed"},
		{&Scale{Service: "db", Instances: new(2)}, "name a model"},
		{&Batch{In: "frontend/GET", Calls: "db/Q", MaxBatch: 0}, "max_batch must be ≥ 1"},
		{&Speedup{Operation: "frontend/GET", Factor: 0.5}, "no recorded local work"},
	}
	for _, c := range cases {
		_, _, _, err := ApplyReplay(reqs, nil, []Change{c.change}, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.change.Kind(), err, c.want)
		}
	}
}
