package analysis

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

// availModel is front/get (one instance, 100 req/s) calling back/get
// (backInsts instances, 1 ms of work) through call.
func availModel(t *testing.T, backInsts int, call topology.Call) sim.Config {
	t.Helper()
	w, err := dist.NewConstant(float64(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	call.Target = "back/get"
	m := &topology.Model{Version: 1,
		Services: map[string]*topology.Service{"front": {Instances: 1}, "back": {Instances: backInsts}},
		Operations: map[string]*topology.Operation{
			"front/get": {Entry: &topology.Entry{Rate: 100}, Shapes: []*topology.Shape{{Weight: 1, Steps: []*topology.Step{{Call: &call}}}}},
			"back/get":  {Shapes: []*topology.Shape{{Weight: 1, Steps: []*topology.Step{{Work: w}}}}},
		}}
	return sim.Config{Model: m, Requests: 400, Seed: 1}
}

func availability(t *testing.T, cfg sim.Config, probs FailureProbs, samples int) *AvailabilityReport {
	t.Helper()
	rep, err := Availability(context.Background(), cfg, probs, samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Endpoints) != 1 || rep.Endpoints[0].Endpoint != "front/get" {
		t.Fatalf("endpoints %+v", rep.Endpoints)
	}
	return rep
}

// The acceptance case: two instances, each down with probability 0.1,
// behind a caller that retries once (on the other instance). A request
// fails only when both are down: availability 1 − 0.1² = 0.99. Each
// sample's availability is 1 or 0 (Bernoulli(0.99), sd ≈ 0.0995), so
// 20,000 samples give a 95% half-width of about 1.96 × 0.0995 / √20000
// ≈ 0.0014; the test asks for < 0.003 and the estimate within ±0.005.
func TestAvailabilityRetryTwoInstances(t *testing.T) {
	cfg := availModel(t, 2, topology.Call{Retries: &topology.Retry{Max: 1}})
	rep := availability(t, cfg, FailureProbs{Services: map[string]float64{"back": 0.1}}, 20000)
	e := rep.Endpoints[0]
	half := (e.CI95[1] - e.CI95[0]) / 2
	t.Logf("availability %.5f, 95%% CI [%.5f, %.5f] (half-width %.5f), %d samples, %d states simulated",
		e.Availability, e.CI95[0], e.CI95[1], half, rep.Samples, rep.States)
	if math.Abs(e.Availability-0.99) > 0.005 {
		t.Errorf("availability %.5f, want 0.99 ± 0.005", e.Availability)
	}
	if half >= 0.003 {
		t.Errorf("CI half-width %.5f, want < 0.003", half)
	}
	if e.CI95[0] > 0.99 || e.CI95[1] < 0.99 {
		t.Errorf("CI [%.5f, %.5f] misses 0.99", e.CI95[0], e.CI95[1])
	}
	if e.AllUp != 1 {
		t.Errorf("all-up availability %v, want 1", e.AllUp)
	}
	// Two instances: four states at most (front is never down).
	if rep.States != 4 {
		t.Errorf("%d states simulated, want 4", rep.States)
	}
}

// Probability 0: every sample is the all-up state; availability exactly 1.
func TestAvailabilityZeroProbability(t *testing.T) {
	rep := availability(t, availModel(t, 2, topology.Call{}), FailureProbs{}, 1000)
	if e := rep.Endpoints[0]; e.Availability != 1 || e.CI95 != (Interval{1, 1}) || e.AllUp != 1 {
		t.Errorf("p=0: %+v, want availability 1, CI [1, 1]", e)
	}
	if rep.States != 1 {
		t.Errorf("%d states simulated, want 1", rep.States)
	}
}

// A required call to a one-instance service down with probability p:
// availability 1 − p. Each sample is 1 or 0 (sd 0.4 at p = 0.2), so
// 20,000 samples give a half-width of ≈ 0.0055; the test allows 0.012.
// The default probability also applies to front (one instance), so the
// probability that front and back are both up is 0.8 × 0.9 = 0.72.
func TestAvailabilityRequiredCallee(t *testing.T) {
	cfg := availModel(t, 1, topology.Call{})
	e := availability(t, cfg, FailureProbs{Services: map[string]float64{"back": 0.2}}, 20000).Endpoints[0]
	t.Logf("back p=0.2: availability %.5f CI %v", e.Availability, e.CI95)
	if math.Abs(e.Availability-0.8) > 0.012 || e.CI95[0] > 0.8 || e.CI95[1] < 0.8 {
		t.Errorf("availability %.5f CI %v, want 0.8 ± 0.012 inside the CI", e.Availability, e.CI95)
	}
	e = availability(t, cfg, FailureProbs{Default: 0.1, Services: map[string]float64{"back": 0.2}}, 20000).Endpoints[0]
	t.Logf("front p=0.1, back p=0.2: availability %.5f CI %v", e.Availability, e.CI95)
	if math.Abs(e.Availability-0.72) > 0.013 {
		t.Errorf("availability %.5f, want 0.72 ± 0.013", e.Availability)
	}
}

// An optional call tolerates its callee's loss: availability stays 1.
func TestAvailabilityOptionalCallee(t *testing.T) {
	rep := availability(t, availModel(t, 1, topology.Call{Optional: true}), FailureProbs{Services: map[string]float64{"back": 0.5}}, 2000)
	if e := rep.Endpoints[0]; e.Availability != 1 || e.CI95 != (Interval{1, 1}) {
		t.Errorf("optional callee: %+v, want availability 1, CI [1, 1]", e)
	}
	if rep.States != 2 {
		t.Errorf("%d states simulated, want 2 (back up, back down)", rep.States)
	}
}

// The same inputs and seed give the same report, byte for byte; another
// seed draws other states.
func TestAvailabilityDeterministic(t *testing.T) {
	cfg := availModel(t, 3, topology.Call{Retries: &topology.Retry{Max: 1}})
	probs := FailureProbs{Default: 0.05, Services: map[string]float64{"back": 0.3}}
	js := func(seed uint64) string {
		c := cfg
		c.Seed = seed
		b, err := json.Marshal(availability(t, c, probs, 3000))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a, b := js(7), js(7)
	if a != b {
		t.Errorf("same seed, different reports:\n%s\n%s", a, b)
	}
	if c := js(8); c == a {
		t.Errorf("seeds 7 and 8 gave the same report: %s", a)
	}
}

func TestAvailabilityErrors(t *testing.T) {
	cfg := availModel(t, 2, topology.Call{})
	for _, tc := range []struct {
		probs   FailureProbs
		samples int
		want    string
	}{
		{FailureProbs{Default: 1.5}, 10, "outside [0, 1]"},
		{FailureProbs{Default: math.NaN()}, 10, "outside [0, 1]"},
		{FailureProbs{Services: map[string]float64{"bak": 0.1}}, 10, `unknown service "bak"`},
		{FailureProbs{Services: map[string]float64{"back": -0.1}}, 10, `of service "back" outside [0, 1]`},
		{FailureProbs{}, 0, "need at least 1"},
	} {
		_, err := Availability(context.Background(), cfg, tc.probs, tc.samples)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v, %d samples: error %v, want %q", tc.probs, tc.samples, err, tc.want)
		}
	}
}
