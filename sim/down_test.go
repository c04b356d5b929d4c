package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// downModel is front/get (1 instance, entry at rate) calling back/get
// (backInsts instances, 2 ms constant work) through call, with a 1 ms
// constant network cost.
func downModel(t *testing.T, backInsts int, call topology.Call) *topology.Model {
	call.Target = "back/get"
	call.Network = constant(t, 1)
	return &topology.Model{Version: 1,
		Services: map[string]*topology.Service{"front": {Instances: 1}, "back": {Instances: backInsts, Workers: 1}},
		Operations: map[string]*topology.Operation{
			"front/get": {Entry: &topology.Entry{Rate: 100}, Shapes: one(&topology.Step{Call: &call})},
			"back/get":  {Shapes: one(work(constant(t, 2)))},
		}}
}

func opStats(t *testing.T, r *Result, name string) Stats {
	t.Helper()
	for _, s := range r.Operations {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no operation %q", name)
	return Stats{}
}

// A required call to a down instance fails after its network cost (1 ms
// both ways together), and the callee's execution is a failure of
// latency 0 that held no worker.
func TestDownRequiredCallFails(t *testing.T) {
	cfg := Config{Model: downModel(t, 1, topology.Call{}), Requests: 500, Seed: 1, Down: map[string][]int{"back": {0}}}
	r := run(t, cfg)
	ep := r.Endpoints[0]
	if ep.Requests != 500 || ep.Errors != 500 {
		t.Fatalf("front/get: %d requests, %d errors; want 500, 500", ep.Requests, ep.Errors)
	}
	if p50, max := ep.Latency.Quantile(0.5)/ms, float64(ep.Latency.Max())/ms; math.Abs(p50-1) > 0.01 || math.Abs(max-1) > 0.01 {
		t.Errorf("front/get latency p50 %.4f ms, max %.4f ms; want 1 ms (the network cost only)", p50, max)
	}
	back := opStats(t, r, "back/get")
	if back.Requests != 500 || back.Errors != 500 || back.Latency.Max() != 0 {
		t.Errorf("back/get: %d requests, %d errors, max latency %v; want 500, 500, 0", back.Requests, back.Errors, back.Latency.Max())
	}
	if u := r.Utilization["back"]; u != 0 {
		t.Errorf("back utilization %v, want 0: a down instance holds no worker", u)
	}
}

// An optional call tolerates the down instance.
func TestDownOptionalCallTolerated(t *testing.T) {
	cfg := Config{Model: downModel(t, 1, topology.Call{Optional: true}), Requests: 500, Seed: 1, Down: map[string][]int{"back": {0}}}
	if ep := run(t, cfg).Endpoints[0]; ep.Errors != 0 || ep.Requests != 500 {
		t.Errorf("front/get: %d requests, %d errors; want 500, 0", ep.Requests, ep.Errors)
	}
}

// With two instances, one down, and one retry, every request succeeds:
// an attempt refused by the down instance is retried on the other one.
// Without the retry, round robin sends half the calls to the down one.
func TestDownRetryOnOtherInstance(t *testing.T) {
	down := map[string][]int{"back": {1}}
	retry := Config{Model: downModel(t, 2, topology.Call{Retries: &topology.Retry{Max: 1}}), Requests: 1000, Seed: 1, Down: down}
	if ep := run(t, retry).Endpoints[0]; ep.Errors != 0 {
		t.Errorf("with a retry: %d of %d requests failed, want 0", ep.Errors, ep.Requests)
	}
	noRetry := Config{Model: downModel(t, 2, topology.Call{}), Requests: 1000, Seed: 1, Down: down}
	ep := run(t, noRetry).Endpoints[0]
	// Round robin alternates strictly (one caller), so exactly half fail.
	if ep.Errors != 500 || ep.Requests != 1000 {
		t.Errorf("without a retry: %d of %d requests failed, want 500 of 1000", ep.Errors, ep.Requests)
	}
	// Both instances down: the retry fails too.
	both := retry
	both.Down = map[string][]int{"back": {0, 1}}
	if ep := run(t, both).Endpoints[0]; ep.Errors != ep.Requests {
		t.Errorf("both down: %d of %d requests failed, want all", ep.Errors, ep.Requests)
	}
}

// An entry request that reaches a down instance fails at once.
func TestDownEntryInstance(t *testing.T) {
	m := queueModel(2, 1, 100, constant(t, 2))
	r := run(t, Config{Model: m, Requests: 1000, Seed: 1, Down: map[string][]int{"s": {0}}})
	ep := r.Endpoints[0]
	// Round robin alternates, and a refused request completes at once
	// while a served one is still in flight when the run stops: 500 ± 1.
	if ep.Requests != 1000 || ep.Errors < 499 || ep.Errors > 501 {
		t.Errorf("%d of %d requests failed, want 500 ± 1 of 1000 (round robin over one down instance of two)", ep.Errors, ep.Requests)
	}
	if q := ep.Latency.Quantile(0.25); q != 0 {
		t.Errorf("p25 latency %v ns, want 0 (the refused half)", q)
	}
}

// Down with no instance down (nil, empty map, empty list) changes
// nothing, and Down is checked.
func TestDownNoneAndErrors(t *testing.T) {
	m := downModel(t, 2, topology.Call{Retries: &topology.Retry{Max: 1}})
	base := run(t, Config{Model: m, Duration: 10 * time.Second, Seed: 4})
	for _, d := range []map[string][]int{{}, {"back": nil}} {
		r := run(t, Config{Model: m, Duration: 10 * time.Second, Seed: 4, Down: d})
		if r.Events != base.Events || r.Endpoints[0].Latency.Mean() != base.Endpoints[0].Latency.Mean() {
			t.Errorf("Down %v changed the run: %d events vs %d", d, r.Events, base.Events)
		}
	}
	for _, tc := range []struct {
		down map[string][]int
		want string
	}{
		{map[string][]int{"nope": {0}}, `unknown service "nope"`},
		{map[string][]int{"back": {2}}, `service "back" has no instance 2`},
		{map[string][]int{"back": {-1}}, `service "back" has no instance -1`},
	} {
		_, err := Run(context.Background(), Config{Model: m, Duration: time.Second, Down: tc.down})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Down %v: error %v, want %q", tc.down, err, tc.want)
		}
	}
}
