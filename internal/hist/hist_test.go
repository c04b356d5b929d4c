package hist

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExactQuantiles(t *testing.T) {
	var h Hist
	for _, v := range []int64{40, 10, 30, 20} {
		h.Record(v)
	}
	cases := []struct{ q, want float64 }{{0, 10}, {0.5, 25}, {1, 40}, {0.25, 17.5}}
	for _, c := range cases {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if h.Mean() != 25 || !h.Exact() || h.Count() != 4 {
		t.Errorf("mean %v exact %v count %d", h.Mean(), h.Exact(), h.Count())
	}
	var empty Hist
	if !math.IsNaN(empty.Quantile(0.5)) {
		t.Error("empty histogram quantile is not NaN")
	}
}

// TestStreamingError checks the stated 0.1% relative error against exact
// quantiles of an exponential sample (mean 10 ms) large enough to spill.
func TestStreamingError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, exact Hist
	vals := make([]int64, 200000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 10e6)
		h.Record(vals[i])
	}
	if h.Exact() {
		t.Fatal("did not switch to streaming mode")
	}
	exact.exact = vals
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		got, want := h.Quantile(q), exact.Quantile(q)
		if rel := math.Abs(got-want) / want; rel > 0.002 {
			t.Errorf("q%v: streaming %v exact %v rel err %.4f > 0.002", q, got, want, rel)
		}
	}
	// Theory: exponential median = mean·ln 2.
	if got := h.Quantile(0.5); math.Abs(got-10e6*math.Ln2)/(10e6*math.Ln2) > 0.01 {
		t.Errorf("median %v far from %v", got, 10e6*math.Ln2)
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Hist
	for i := int64(1); i <= 15000; i++ {
		if i%2 == 0 {
			a.Record(i * 1000)
		} else {
			b.Record(i * 1000)
		}
		all.Record(i * 1000)
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Mean() != all.Mean() || a.Max() != 15000000 || a.Min() != 1000 {
		t.Fatalf("merged count %d mean %v", a.Count(), a.Mean())
	}
	if got, want := a.Quantile(0.99), all.Quantile(0.99); math.Abs(got-want)/want > 0.001 {
		t.Errorf("merged p99 %v vs %v", got, want)
	}
}
