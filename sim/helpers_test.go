package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

const ms = float64(time.Millisecond)

func expo(t testing.TB, meanMS float64) dist.Dist {
	t.Helper()
	d, err := dist.NewExponential(meanMS * ms)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func constant(t testing.TB, valMS float64) dist.Dist {
	t.Helper()
	d, err := dist.NewConstant(valMS * ms)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func work(d dist.Dist) *topology.Step { return &topology.Step{Work: d} }

func one(steps ...*topology.Step) []*topology.Shape {
	return []*topology.Shape{{Weight: 1, Steps: steps}}
}

// queueModel is one service s with one entry operation s/op doing work d.
func queueModel(instances, workers int, rate float64, d dist.Dist) *topology.Model {
	return &topology.Model{
		Version:  topology.Version,
		Services: map[string]*topology.Service{"s": {Instances: instances, Workers: workers}},
		Operations: map[string]*topology.Operation{
			"s/op": {Entry: &topology.Entry{Rate: rate}, Shapes: one(work(d))},
		},
	}
}

// tCrit975 is the 97.5% quantile of Student's t for df degrees of freedom
// (df 19 and 9 are the ones the tests use; others fall back to normal).
func tCrit975(df int) float64 {
	switch df {
	case 9:
		return 2.262
	case 19:
		return 2.093
	}
	return 1.96
}

// meanCI is the mean of xs and the half-width of its 95% t-interval.
func meanCI(xs []float64) (mean, half float64) {
	n := float64(len(xs))
	for _, x := range xs {
		mean += x
	}
	mean /= n
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / (n - 1))
	return mean, tCrit975(len(xs)-1) * sd / math.Sqrt(n)
}

func replicate(t testing.TB, cfg Config, k int) []*Result {
	t.Helper()
	rs, err := Replicate(context.Background(), cfg, k)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func run(t testing.TB, cfg Config) *Result {
	t.Helper()
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// endpointStat collects f(endpoint 0) over replications, in ms.
func endpointStat(rs []*Result, f func(s Stats) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r.Endpoints[0]) / ms
	}
	return out
}

// checkTheory asserts that theory lies in the 95% CI of xs and that the CI
// half-width is below relTol of the mean.
func checkTheory(t *testing.T, what string, xs []float64, theory, relTol float64) {
	t.Helper()
	m, h := meanCI(xs)
	t.Logf("%s: simulated %.3f ± %.3f ms (95%% CI, %d reps), theory %.3f ms", what, m, h, len(xs), theory)
	if math.Abs(m-theory) > h {
		t.Errorf("%s: theory %.3f outside CI %.3f ± %.3f", what, theory, m, h)
	}
	if h > relTol*m {
		t.Errorf("%s: CI half-width %.3f > %.0f%% of mean %.3f", what, h, relTol*100, m)
	}
}
