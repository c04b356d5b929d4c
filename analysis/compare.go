package analysis

import (
	"math"
	"slices"

	"github.com/tracesim/tracesim/sim"
)

// Side is one run's view of an endpoint in a comparison.
type Side struct {
	Requests  int64   `json:"requests"`
	ErrorRate float64 `json:"error_rate"`
	Latency   Latency `json:"latency_ms"`
	CI95      *SimCI  `json:"ci95_ms"`
}

// Delta is a change with its 95% interval.
type Delta struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
}

// Significance says which changes are real: their paired interval
// excludes zero.
type Significance struct {
	Mean      bool `json:"mean"`
	P50       bool `json:"p50"`
	P99       bool `json:"p99"`
	ErrorRate bool `json:"error_rate"`
}

// EndpointDelta compares one endpoint between a baseline and a scenario.
type EndpointDelta struct {
	Endpoint  string `json:"endpoint"`
	Baseline  Side   `json:"baseline"`
	Predicted Side   `json:"predicted"`
	// DeltaPct is the relative change of each statistic, in percent.
	DeltaPct Delta `json:"delta_pct"`
	// DeltaMS is the absolute change in ms and DeltaCI95 its paired 95%
	// interval over replications.
	DeltaMS        Delta                 `json:"delta_ms"`
	DeltaCI95      map[string][2]float64 `json:"delta_ci95_ms"`
	ErrorRateDelta float64               `json:"error_rate_delta"`
	Significant    Significance          `json:"significant"`
}

// Comparison is what `tracesim whatif` reports for one scenario.
type Comparison struct {
	Scenario     string          `json:"scenario"`
	Replications int             `json:"replications"`
	Seed         uint64          `json:"seed"`
	Endpoints    []EndpointDelta `json:"endpoints"`
}

// Compare pairs replication i of the baseline with replication i of the
// scenario. Both ran with the same seed and the same random stream per
// purpose (common random numbers), so their difference has far less noise
// than two independent runs: the interval of a change is the Student-t
// interval of the paired differences, and a change whose interval
// contains 0 is not significant. An endpoint the change does not touch
// sees identical draws, so its differences are exactly 0.
func Compare(name string, seed uint64, base, scen []*sim.Result) *Comparison {
	c := &Comparison{Scenario: name, Replications: min(len(base), len(scen)), Seed: seed}
	b := SummarizeSim(base, seed)
	s := SummarizeSim(scen, seed)
	pred := map[string]SimEndpoint{}
	for _, e := range s.Endpoints {
		pred[e.Endpoint] = e
	}
	perRep := func(rs []*sim.Result, name string) (mean, p50, p90, p99, errs []float64) {
		for _, r := range rs {
			for _, st := range r.Endpoints {
				if st.Name != name {
					continue
				}
				l := LatencyOf(st.Latency)
				mean, p50, p90, p99 = append(mean, l.Mean), append(p50, l.P50), append(p90, l.P90), append(p99, l.P99)
				er := 0.0
				if st.Requests > 0 {
					er = float64(st.Errors) / float64(st.Requests)
				}
				errs = append(errs, er)
			}
		}
		return
	}
	for _, be := range b.Endpoints {
		pe, ok := pred[be.Endpoint]
		if !ok {
			continue
		}
		d := EndpointDelta{Endpoint: be.Endpoint,
			Baseline:  Side{be.Requests, be.ErrorRate, be.Latency, be.CI95},
			Predicted: Side{pe.Requests, pe.ErrorRate, pe.Latency, pe.CI95},
			DeltaCI95: map[string][2]float64{},
		}
		bm, b50, b90, b99, berr := perRep(base, be.Endpoint)
		sm, s50, s90, s99, serr := perRep(scen, be.Endpoint)
		diff := func(x, y []float64) []float64 {
			n := min(len(x), len(y))
			out := make([]float64, n)
			for i := range n {
				out[i] = y[i] - x[i]
			}
			return out
		}
		sig := func(key string, x, y []float64) bool {
			dd := diff(x, y)
			iv := TInterval(dd)
			d.DeltaCI95[key] = [2]float64{iv[0], iv[1]}
			allZero := !slices.ContainsFunc(dd, func(v float64) bool { return v != 0 })
			return !allZero && len(dd) >= 2 && (iv[0] > 0 || iv[1] < 0)
		}
		d.Significant.Mean = sig("mean", bm, sm)
		d.Significant.P50 = sig("p50", b50, s50)
		sig("p90", b90, s90)
		d.Significant.P99 = sig("p99", b99, s99)
		d.Significant.ErrorRate = sig("error_rate", berr, serr)
		delete(d.DeltaCI95, "error_rate")
		bl, pl := be.Latency, pe.Latency
		d.DeltaMS = Delta{round(pl.Mean-bl.Mean, 6), round(pl.P50-bl.P50, 6), round(pl.P90-bl.P90, 6), round(pl.P99-bl.P99, 6)}
		pct := func(p, b float64) float64 {
			if b == 0 {
				return 0
			}
			return round(100*(p-b)/b, 4)
		}
		d.DeltaPct = Delta{pct(pl.Mean, bl.Mean), pct(pl.P50, bl.P50), pct(pl.P90, bl.P90), pct(pl.P99, bl.P99)}
		d.ErrorRateDelta = round(pe.ErrorRate-be.ErrorRate, 6)
		if math.IsNaN(d.DeltaPct.Mean) {
			d.DeltaPct.Mean = 0
		}
		c.Endpoints = append(c.Endpoints, d)
	}
	return c
}
