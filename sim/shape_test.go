package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// chain builds a model with root "a/root" (entry, unlimited workers) doing
// rootSteps, and leaf operations on service b.
func chain(rootSteps []*topology.Step, leaves map[string]*topology.Operation) *topology.Model {
	m := &topology.Model{
		Services:   map[string]*topology.Service{"a": {Instances: 1}, "b": {Instances: 1}},
		Operations: map[string]*topology.Operation{"a/root": {Entry: &topology.Entry{Rate: 100}, Shapes: one(rootSteps...)}},
	}
	for k, v := range leaves {
		m.Operations[k] = v
	}
	return m
}

func exactLatency(t *testing.T, m *topology.Model, wantMS float64) *Result {
	t.Helper()
	r := run(t, Config{Model: m, Requests: 200, Seed: 1})
	h := r.Endpoints[0].Latency
	if got := float64(h.Min()) / ms; math.Abs(got-wantMS) > 1e-6 {
		t.Errorf("min latency %v ms, want %v", got, wantMS)
	}
	if got := float64(h.Max()) / ms; math.Abs(got-wantMS) > 1e-6 {
		t.Errorf("max latency %v ms, want %v", got, wantMS)
	}
	return r
}

// Sequential steps with constant times add exactly: 1 + (1 net + 2) + 3×1.
func TestSequentialRepeat(t *testing.T) {
	m := chain([]*topology.Step{
		work(constant(t, 1)),
		{Call: &topology.Call{Target: "b/x", Network: constant(t, 1)}},
		{Call: &topology.Call{Target: "b/y", Repeat: 3}},
	}, map[string]*topology.Operation{
		"b/x": {Shapes: one(work(constant(t, 2)))},
		"b/y": {Shapes: one(work(constant(t, 1)))},
	})
	r := exactLatency(t, m, 7)
	for _, op := range r.Operations {
		if op.Name == "b/y" && op.Requests != 3*r.Endpoints[0].Requests {
			t.Errorf("b/y executions %d, want 3 per request (%d)", op.Requests, 3*r.Endpoints[0].Requests)
		}
	}
}

// A pool of size k over n constant calls takes ceil(n/k)·t.
func TestPool(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{7, 3}, {6, 3}, {5, 1}, {4, 10}} {
		calls := make([]*topology.Call, tc.n)
		for i := range calls {
			calls[i] = &topology.Call{Target: "b/x"}
		}
		m := chain([]*topology.Step{{Pool: &topology.Pool{Size: tc.k, Calls: calls}}},
			map[string]*topology.Operation{"b/x": {Shapes: one(work(constant(t, 10)))}})
		exactLatency(t, m, float64((tc.n+tc.k-1)/tc.k)*10)
	}
}

// A pool member with repeat N is N calls through the pool, not N calls
// in one slot: 7 calls of 10 ms, 3 at a time, take 30 ms.
func TestPoolRepeat(t *testing.T) {
	m := chain([]*topology.Step{{Pool: &topology.Pool{Size: 3, Calls: []*topology.Call{
		{Target: "b/x", Repeat: 5}, {Target: "b/y", Repeat: 2}}}}},
		map[string]*topology.Operation{"b/x": {Shapes: one(work(constant(t, 10)))}, "b/y": {Shapes: one(work(constant(t, 10)))}})
	exactLatency(t, m, 30)
}

// Parallel constant calls take the longest; async calls are not waited for.
func TestParallelAsync(t *testing.T) {
	m := chain([]*topology.Step{
		{Parallel: []*topology.Call{{Target: "b/x"}, {Target: "b/y"}}},
		{Call: &topology.Call{Target: "b/z", Async: true}},
		work(constant(t, 1)),
	}, map[string]*topology.Operation{
		"b/x": {Shapes: one(work(constant(t, 2)))},
		"b/y": {Shapes: one(work(constant(t, 5)))},
		"b/z": {Shapes: one(work(constant(t, 100)))},
	})
	exactLatency(t, m, 6)
	// With Duration, requests in flight at the end (and their async
	// calls) are finished, so every request's async call is counted.
	r := run(t, Config{Model: m, Duration: 10 * time.Second, Seed: 1})
	for _, op := range r.Operations {
		if op.Name == "b/z" && op.Requests != r.Endpoints[0].Requests {
			t.Errorf("async b/z ran %d times, want %d", op.Requests, r.Endpoints[0].Requests)
		}
	}
}

// Shapes are chosen by weight.
func TestShapeWeights(t *testing.T) {
	m := chain(nil, nil)
	m.Operations["a/root"].Shapes = []*topology.Shape{
		{Weight: 0.25, Steps: []*topology.Step{work(constant(t, 1))}},
		{Weight: 0.75, Steps: []*topology.Step{work(constant(t, 3))}},
	}
	r := run(t, Config{Model: m, Requests: 20000, Seed: 2})
	// mean = 0.25·1 + 0.75·3 = 2.5 ms; sd of the mean ≈ 0.87/√20000 ms.
	if got := r.Endpoints[0].Latency.Mean() / ms; math.Abs(got-2.5) > 0.03 {
		t.Errorf("mean %.4f ms, want 2.5 ± 0.03", got)
	}
}

func errorRate(t *testing.T, call *topology.Call, calleeErr float64, leaf float64) (rate float64, r *Result) {
	t.Helper()
	m := chain([]*topology.Step{{Call: call}},
		map[string]*topology.Operation{"b/x": {ErrorRate: calleeErr, Shapes: one(work(constant(t, leaf)))}})
	r = run(t, Config{Model: m, Requests: 40000, Seed: 9})
	ep := r.Endpoints[0]
	return float64(ep.Errors) / float64(ep.Requests), r
}

// 4 standard deviations of a binomial proportion over 40000 trials.
func binomTol(p float64) float64 { return 4*math.Sqrt(p*(1-p)/40000) + 1e-9 }

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		call *topology.Call
		want float64
	}{
		{"required", &topology.Call{Target: "b/x"}, 0.2},
		{"optional", &topology.Call{Target: "b/x", Optional: true}, 0},
		{"one retry", &topology.Call{Target: "b/x", Retries: &topology.Retry{Max: 1}}, 0.04},
		{"two retries", &topology.Call{Target: "b/x", Retries: &topology.Retry{Max: 2, Backoff: time.Millisecond}}, 0.008},
		{"repeat 3", &topology.Call{Target: "b/x", Repeat: 3}, 1 - 0.8*0.8*0.8},
	}
	for _, tc := range cases {
		got, _ := errorRate(t, tc.call, 0.2, 1)
		t.Logf("%s: caller error rate %.4f, want %.4f", tc.name, got, tc.want)
		if math.Abs(got-tc.want) > binomTol(tc.want) {
			t.Errorf("%s: caller error rate %.4f, want %.4f ± %.4f", tc.name, got, tc.want, binomTol(tc.want))
		}
	}
}

// A call slower than its timeout fails after exactly the timeout; with a
// retry the caller waits timeout + backoff + timeout.
func TestTimeout(t *testing.T) {
	rate, r := errorRate(t, &topology.Call{Target: "b/x", Timeout: 20 * time.Millisecond}, 0, 50)
	if rate != 1 {
		t.Errorf("error rate %v, want 1", rate)
	}
	if h := r.Endpoints[0].Latency; h.Min() != int64(20*time.Millisecond) || h.Max() != int64(20*time.Millisecond) {
		t.Errorf("latency [%d, %d], want exactly 20 ms", h.Min(), h.Max())
	}
	// The callee keeps running: its executions take the full 50 ms.
	for _, op := range r.Operations {
		if op.Name == "b/x" && op.Latency.Min() != int64(50*time.Millisecond) {
			t.Errorf("callee latency %d, want 50 ms", op.Latency.Min())
		}
	}
	_, r = errorRate(t, &topology.Call{Target: "b/x", Timeout: 20 * time.Millisecond,
		Retries: &topology.Retry{Max: 1, Backoff: 5 * time.Millisecond}}, 0, 50)
	if h := r.Endpoints[0].Latency; h.Max() != int64(45*time.Millisecond) {
		t.Errorf("latency with retry %d, want 45 ms", h.Max())
	}
	// A fast call under its timeout succeeds.
	if rate, _ := errorRate(t, &topology.Call{Target: "b/x", Timeout: 20 * time.Millisecond}, 0, 5); rate != 0 {
		t.Errorf("fast call error rate %v, want 0", rate)
	}
}

func TestDeterminism(t *testing.T) {
	m := chain([]*topology.Step{
		work(expo(t, 1)),
		{Parallel: []*topology.Call{{Target: "b/x", Network: expo(t, 0.5)}, {Target: "b/y", Retries: &topology.Retry{Max: 1}}}},
	}, map[string]*topology.Operation{
		"b/x": {ErrorRate: 0.1, Shapes: one(work(expo(t, 3)))},
		"b/y": {ErrorRate: 0.1, Shapes: one(work(expo(t, 2)))},
	})
	m.Services["b"].Workers = 1
	m.Services["b"].Instances = 3
	cfg := Config{Model: m, Duration: 100 * time.Second, Warmup: time.Second, Seed: 42, Balance: "least-loaded"}
	sig := func(r *Result) []float64 {
		var s []float64
		for _, st := range append(r.Endpoints, r.Operations...) {
			s = append(s, float64(st.Requests), float64(st.Errors), st.Latency.Mean(),
				st.Latency.Quantile(0.5), st.Latency.Quantile(0.99))
		}
		return append(s, float64(r.Events), r.Utilization["b"])
	}
	a, b := sig(run(t, cfg)), sig(run(t, cfg))
	if !slicesEqual(a, b) {
		t.Errorf("same seed, different results:\n%v\n%v", a, b)
	}
	cfg.Seed++
	if c := sig(run(t, cfg)); slicesEqual(a, c) {
		t.Error("different seeds gave identical results")
	}
	// Replicate is deterministic despite its goroutines.
	cfg.Seed = 42
	rs := replicate(t, cfg, 3)
	if !slicesEqual(sig(rs[0]), a) {
		t.Error("replication 0 differs from Run with the same seed")
	}
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Common random numbers: changing one operation's work leaves the
// arrivals, and so the entry count, unchanged.
func TestCommonRandomNumbers(t *testing.T) {
	base := queueModel(1, 1, 50, expo(t, 10))
	alt := queueModel(1, 1, 50, expo(t, 12))
	cfg := Config{Model: base, Duration: 100 * time.Second, Seed: 3}
	r1 := run(t, cfg)
	cfg.Model = alt
	r2 := run(t, cfg)
	if r1.Endpoints[0].Requests != r2.Endpoints[0].Requests {
		t.Errorf("arrivals differ between models: %d vs %d", r1.Endpoints[0].Requests, r2.Endpoints[0].Requests)
	}
	if r2.Endpoints[0].Latency.Mean() <= r1.Endpoints[0].Latency.Mean() {
		t.Error("slower work did not raise latency")
	}
}

func TestValidation(t *testing.T) {
	good := func() Config { return Config{Model: queueModel(1, 1, 10, expo(t, 1)), Duration: time.Second} }
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"nil model", func(c *Config) { c.Model = nil }, "no model"},
		{"no stop", func(c *Config) { c.Duration = 0 }, "Duration or Requests"},
		{"negative rate", func(c *Config) { c.Workload.Rate = -1 }, "rate"},
		{"zero rates", func(c *Config) { c.Model.Operations["s/op"].Entry.Rate = 0 }, "no traffic"},
		{"no entries", func(c *Config) { c.Model.Operations["s/op"].Entry = nil }, "no entry"},
		{"bad balance", func(c *Config) { c.Balance = "random" }, "balance"},
		{"unknown target", func(c *Config) {
			c.Model.Operations["s/op"].Shapes[0].Steps = append(c.Model.Operations["s/op"].Shapes[0].Steps,
				&topology.Step{Call: &topology.Call{Target: "s/nope"}})
		}, "unknown operation"},
		{"no instances", func(c *Config) { c.Model.Services["s"].Instances = 0 }, "instances"},
	}
	for _, tc := range cases {
		c := good()
		tc.mod(&c)
		_, err := Run(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := Run(context.Background(), good()); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// A call cycle never settles: the event guard stops it with an error.
func TestEventGuard(t *testing.T) {
	m := chain([]*topology.Step{{Call: &topology.Call{Target: "a/root"}}}, nil)
	_, err := Run(context.Background(), Config{Model: m, Requests: 1, MaxEvents: 100000})
	if err == nil || !strings.Contains(err.Error(), "100000 events") {
		t.Fatalf("error %v, want the event guard", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Config{Model: m, Requests: 1}); err == nil {
		t.Fatal("cancelled context did not stop the run")
	}
}
