package analysis

import (
	"math"
	"testing"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/sim"
)

func TestTInterval(t *testing.T) {
	// x = 1..5: mean 3, sd √2.5, t(0.975, 4) = 2.776445: half-width 1.963243.
	ci := TInterval([]float64{1, 2, 3, 4, 5})
	if math.Abs(ci[0]-(3-1.963243)) > 1e-5 || math.Abs(ci[1]-(3+1.963243)) > 1e-5 {
		t.Errorf("TInterval = %v, want 3 ± 1.963243", ci)
	}
	if ci := TInterval([]float64{7}); ci != (Interval{7, 7}) {
		t.Errorf("one value: %v", ci)
	}
}

func TestSummarizeSim(t *testing.T) {
	mk := func(ms ...int64) *hist.Hist {
		var h hist.Hist
		for _, v := range ms {
			h.Record(v * 1e6)
		}
		return &h
	}
	results := []*sim.Result{
		{Events: 10, Endpoints: []sim.Stats{{Name: "a/x", Requests: 3, Errors: 1, Latency: mk(1, 2, 3)}}, Utilization: map[string]float64{"a": 0.5}},
		{Events: 20, Endpoints: []sim.Stats{{Name: "a/x", Requests: 3, Errors: 0, Latency: mk(3, 4, 5)}}, Utilization: map[string]float64{"a": 0.7}},
	}
	s := SummarizeSim(results, 9)
	if s.Events != 30 || s.Seed != 9 || s.Replications != 2 || math.Abs(s.Utilization["a"]-0.6) > 1e-9 {
		t.Errorf("summary header %+v", s)
	}
	e := s.Endpoints[0]
	if e.Requests != 6 || math.Abs(e.ErrorRate-1.0/6) > 1e-6 || e.Latency.Mean != 3 || e.Latency.P50 != 3 {
		t.Errorf("endpoint %+v", e)
	}
	// Means 2 and 4: t(0.975, 1) = 12.7062, sd √2: half-width 12.7062.
	if e.CI95 == nil || math.Abs(e.CI95.Mean[1]-(3+12.706205)) > 1e-4 {
		t.Errorf("CI %+v", e.CI95)
	}
}
