package analysis

import (
	"testing"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/sim"
)

func results(shiftMS int64, reps int) []*sim.Result {
	var out []*sim.Result
	for r := range reps {
		var a, b hist.Hist
		for i := int64(1); i <= 100; i++ {
			a.Record((i + int64(r)) * 1e6)
			b.Record((i*2 + int64(r) + shiftMS) * 1e6)
		}
		out = append(out, &sim.Result{Endpoints: []sim.Stats{
			{Name: "a/x", Requests: 100, Latency: &a},
			{Name: "b/y", Requests: 100, Latency: &b},
		}})
	}
	return out
}

// TestCompare: an endpoint whose draws did not change has exactly zero
// deltas and is not significant; one that moved by 10 ms in every
// replication is significant with a delta of exactly 10 ms.
func TestCompare(t *testing.T) {
	c := Compare("s", 1, results(0, 5), results(10, 5))
	if len(c.Endpoints) != 2 || c.Replications != 5 {
		t.Fatalf("%+v", c)
	}
	a, b := c.Endpoints[0], c.Endpoints[1]
	if a.DeltaMS != (Delta{}) || a.DeltaPct != (Delta{}) || a.Significant != (Significance{}) {
		t.Errorf("untouched endpoint: %+v", a)
	}
	if a.DeltaCI95["p50"] != [2]float64{0, 0} {
		t.Errorf("untouched endpoint interval %v, want [0 0]", a.DeltaCI95["p50"])
	}
	if b.DeltaMS.Mean != 10 || b.DeltaMS.P50 != 10 || !b.Significant.P50 || !b.Significant.P99 || !b.Significant.Mean {
		t.Errorf("moved endpoint: %+v", b)
	}
	if b.Significant.ErrorRate {
		t.Error("error rate marked significant without errors")
	}
}
