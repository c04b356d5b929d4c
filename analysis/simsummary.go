package analysis

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tracesim/tracesim/sim"
)

// Interval is a two-sided confidence interval [lo, hi].
type Interval [2]float64

// SimCI holds 95% confidence intervals of latency statistics, in ms.
type SimCI struct {
	Mean Interval `json:"mean"`
	P50  Interval `json:"p50"`
	P90  Interval `json:"p90"`
	P99  Interval `json:"p99"`
}

// SimEndpoint is one endpoint's simulated behaviour over replications.
type SimEndpoint struct {
	Endpoint  string  `json:"endpoint"`
	Requests  int64   `json:"requests"` // measured requests, all replications together
	ErrorRate float64 `json:"error_rate"`
	// Latency holds the mean over replications of each replication's
	// statistic (the point estimate the interval is centred on).
	Latency Latency `json:"latency_ms"`
	// CI95 is the Student-t 95% interval over replications; nil with
	// fewer than two replications.
	CI95 *SimCI `json:"ci95_ms"`
	// ErrorRateCI95 is the interval of the error rate.
	ErrorRateCI95 *Interval `json:"error_rate_ci95,omitempty"`
}

// SimSummary is what `tracesim simulate` reports.
type SimSummary struct {
	Endpoints    []SimEndpoint      `json:"endpoints"`
	Operations   []SimEndpoint      `json:"operations,omitempty"`
	Events       int64              `json:"events"`
	Seed         uint64             `json:"seed"`
	Replications int                `json:"replications"`
	Utilization  map[string]float64 `json:"utilization"`
	Warnings     []string           `json:"warnings,omitempty"`
}

// SummarizeSim combines independent replications: each statistic is
// computed per replication, and its mean and Student-t 95% interval over
// the replications are reported. Replications are independent runs, so
// this interval is honest even though requests within one run are
// correlated (queues carry over from one request to the next).
func SummarizeSim(results []*sim.Result, seed uint64) *SimSummary {
	s := &SimSummary{Seed: seed, Replications: len(results), Utilization: map[string]float64{}}
	for _, r := range results {
		s.Events += r.Events
		for svc, u := range r.Utilization {
			s.Utilization[svc] += u / float64(len(results))
		}
	}
	for svc, u := range s.Utilization {
		s.Utilization[svc] = round(u, 6)
	}
	// Every replication estimates load the same way: keep each warning once.
	for _, r := range results {
		for _, w := range r.Warnings {
			if !slices.Contains(s.Warnings, w) {
				s.Warnings = append(s.Warnings, w)
			}
		}
	}
	s.Endpoints = combine(results, func(r *sim.Result) []sim.Stats { return r.Endpoints })
	s.Operations = combine(results, func(r *sim.Result) []sim.Stats { return r.Operations })
	return s
}

func combine(results []*sim.Result, pick func(*sim.Result) []sim.Stats) []SimEndpoint {
	byName := map[string][]sim.Stats{}
	var names []string
	for _, r := range results {
		for _, st := range pick(r) {
			if _, ok := byName[st.Name]; !ok {
				names = append(names, st.Name)
			}
			byName[st.Name] = append(byName[st.Name], st)
		}
	}
	slices.Sort(names)
	out := make([]SimEndpoint, 0, len(names))
	for _, n := range names {
		reps := byName[n]
		e := SimEndpoint{Endpoint: n}
		var means, p50, p90, p99, p999, errs []float64
		var errors int64
		for _, st := range reps {
			e.Requests += st.Requests
			errors += st.Errors
			if st.Requests > 0 {
				errs = append(errs, float64(st.Errors)/float64(st.Requests))
			}
			if st.Latency == nil || st.Latency.Count() == 0 {
				continue
			}
			l := LatencyOf(st.Latency)
			means = append(means, l.Mean)
			p50 = append(p50, l.P50)
			p90 = append(p90, l.P90)
			p99 = append(p99, l.P99)
			p999 = append(p999, l.P999)
		}
		if e.Requests > 0 {
			e.ErrorRate = round(float64(errors)/float64(e.Requests), 6)
		}
		e.Latency = Latency{Mean: avg(means), P50: avg(p50), P90: avg(p90), P99: avg(p99), P999: avg(p999)}
		if len(means) >= 2 {
			e.CI95 = &SimCI{Mean: TInterval(means), P50: TInterval(p50), P90: TInterval(p90), P99: TInterval(p99)}
		}
		if len(errs) >= 2 {
			ci := TInterval(errs)
			ci[0], ci[1] = math.Max(0, ci[0]), math.Min(1, ci[1])
			e.ErrorRateCI95 = &ci
		}
		out = append(out, e)
	}
	return out
}

func avg(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return round(stat.Mean(x, nil), 6)
}

// TInterval is the Student-t 95% confidence interval of the mean of x
// (at least two values; with fewer it is the single value or zero).
func TInterval(x []float64) Interval {
	switch len(x) {
	case 0:
		return Interval{}
	case 1:
		return Interval{x[0], x[0]}
	}
	m, sd := stat.MeanStdDev(x, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(x) - 1)}.Quantile(0.975)
	h := t * sd / math.Sqrt(float64(len(x)))
	return Interval{round(m-h, 6), round(m+h, 6)}
}
