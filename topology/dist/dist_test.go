package dist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// families returns one of each family with a CDF, for the checks every
// family must pass.
func families(t testing.TB) map[string]interface {
	Dist
	CDF(float64) float64
} {
	c, err := NewConstant(3e5)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExponential(1e6)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLogNormal(2e6, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGamma(2e6, 3)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := NewGamma(2e6, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	u, err := NewUniform(1e6, 2e6)
	if err != nil {
		t.Fatal(err)
	}
	em, err := NewEmpirical([]float64{4e5, 6e5, 9e5, 2e6, 7e6})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]interface {
		Dist
		CDF(float64) float64
	}{"constant": c, "exponential": e, "lognormal": l, "gamma": g, "gamma-small-shape": gs, "uniform": u, "empirical": em}
}

func TestConstructorsRejectInvalid(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		err  error
	}{
		{"constant negative", second(NewConstant(-1))},
		{"constant NaN", second(NewConstant(nan))},
		{"constant +Inf", second(NewConstant(math.Inf(1)))},
		{"exponential negative", second(NewExponential(-1))},
		{"exponential NaN", second(NewExponential(nan))},
		{"lognormal negative median", second(NewLogNormal(-1, 1))},
		{"lognormal negative sigma", second(NewLogNormal(1, -0.1))},
		{"lognormal NaN sigma", second(NewLogNormal(1, nan))},
		{"lognormal Inf sigma", second(NewLogNormal(1, math.Inf(1)))},
		{"gamma negative mean", second(NewGamma(-1, 1))},
		{"gamma zero shape", second(NewGamma(1, 0))},
		{"gamma negative shape", second(NewGamma(1, -2))},
		{"gamma NaN shape", second(NewGamma(1, nan))},
		{"uniform min > max", second(NewUniform(2, 1))},
		{"uniform negative min", second(NewUniform(-1, 1))},
		{"uniform NaN max", second(NewUniform(0, nan))},
		{"empirical empty", second(NewEmpirical(nil))},
		{"empirical unsorted", second(NewEmpirical([]float64{1, 3, 2}))},
		{"empirical negative", second(NewEmpirical([]float64{-1, 3}))},
		{"empirical NaN", second(NewEmpirical([]float64{1, nan}))},
		{"beyond MaxNS", second(NewConstant(2 * MaxNS))},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	// The boundaries are valid.
	for name, err := range map[string]error{
		"constant 0":      second(NewConstant(0)),
		"lognormal σ=0":   second(NewLogNormal(1, 0)),
		"uniform min=max": second(NewUniform(1, 1)),
		"empirical one":   second(NewEmpirical([]float64{5})),
		"empirical ties":  second(NewEmpirical([]float64{1, 1, 2})),
		"gamma mean 0":    second(NewGamma(0, 2)),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestFamiliesAgreeWithThemselves(t *testing.T) {
	// For every family: the sample mean is Mean(), the fraction of samples
	// below Quantile(p) is p, and CDF(Quantile(p)) is p.
	const n = 400_000
	for name, d := range families(t) {
		t.Run(name, func(t *testing.T) {
			r := newRand()
			xs := make([]float64, n)
			var sum float64
			for i := range xs {
				xs[i] = d.Sample(r)
				if xs[i] < 0 || math.IsNaN(xs[i]) {
					t.Fatalf("sample %v", xs[i])
				}
				sum += xs[i]
			}
			if got, want := sum/n, d.Mean(); math.Abs(got-want) > 0.01*want {
				t.Errorf("sample mean %.6g, Mean() %.6g", got, want)
			}
			slices.Sort(xs)
			for _, p := range []float64{0.05, 0.25, 0.5, 0.9, 0.99} {
				q := d.Quantile(p)
				if name == "constant" {
					if q != 3e5 {
						t.Errorf("Quantile(%v) = %v", p, q)
					}
					continue
				}
				below := float64(countBelow(xs, q)) / n
				if math.Abs(below-p) > 0.005 {
					t.Errorf("P(X ≤ Quantile(%v)) = %.4f", p, below)
				}
				if c := d.CDF(q); math.Abs(c-p) > 1e-6 {
					t.Errorf("CDF(Quantile(%v)) = %.8f", p, c)
				}
			}
			if ks := KS(xs, d.CDF); name != "constant" && ks > 0.005 {
				t.Errorf("KS of its own samples = %.4f", ks)
			}
		})
	}
}

func countBelow(sorted []float64, q float64) int {
	i, _ := slices.BinarySearch(sorted, math.Nextafter(q, math.Inf(1)))
	return i
}

func TestLiteralGammaSamplesLikeConstructed(t *testing.T) {
	// A Gamma literal (no precomputed constants) must draw the same
	// values as one from NewGamma.
	for _, k := range []float64{0.3, 1, 4} {
		g, err := NewGamma(5e6, k)
		if err != nil {
			t.Fatal(err)
		}
		lit := &Gamma{MeanNS: 5e6, Shape: k}
		r1, r2 := newRand(), newRand()
		for range 1000 {
			if a, b := g.Sample(r1), lit.Sample(r2); a != b {
				t.Fatalf("shape %v: %v != %v", k, a, b)
			}
		}
	}
}

func TestEmpiricalInterpolates(t *testing.T) {
	e, err := NewEmpirical([]float64{0, 10, 10, 40})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ p, q float64 }{
		{0, 0}, {1.0 / 6, 5}, {1.0 / 3, 10}, {0.5, 10}, {5.0 / 6, 25}, {1, 40}, {-1, 0}, {2, 40},
	} {
		if got := e.Quantile(c.p); math.Abs(got-c.q) > 1e-9 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.q)
		}
	}
	for _, c := range []struct{ x, p float64 }{
		{-1, 0}, {0, 0}, {5, 1.0 / 6}, {10, 2.0 / 3}, {25, 5.0 / 6}, {40, 1}, {50, 1},
	} {
		if got := e.CDF(c.x); math.Abs(got-c.p) > 1e-12 {
			t.Errorf("CDF(%v) = %v, want %v", c.x, got, c.p)
		}
	}
	// Mean of the piecewise-uniform: segments (0,10), (10,10), (10,40).
	if got, want := e.Mean(), (5.0+10+25)/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("Mean = %v, want %v", got, want)
	}
	// The constructor copies: changing the input does not change it.
	in := []float64{1, 2}
	e2, _ := NewEmpirical(in)
	in[0] = 99
	if e2.Quantiles[0] != 1 {
		t.Error("NewEmpirical kept the caller's slice")
	}
}

func TestCheck(t *testing.T) {
	if err := Check(&LogNormal{Median: 1, Sigma: -1}); err == nil {
		t.Error("negative sigma passed Check")
	}
	if err := Check(nil); err == nil {
		t.Error("nil passed Check")
	}
	if err := Check(&Gamma{MeanNS: 1, Shape: 2}); err != nil {
		t.Error(err)
	}
}

// BenchmarkSample measures one draw of each family: the simulator draws
// tens of millions.
func BenchmarkSample(b *testing.B) {
	fams := families(b)
	for _, name := range []string{"constant", "exponential", "lognormal", "gamma", "gamma-small-shape", "uniform", "empirical"} {
		d := fams[name]
		b.Run(name, func(b *testing.B) {
			r := newRand()
			var s float64
			for b.Loop() {
				s += d.Sample(r)
			}
			if s < 0 {
				b.Fatal(s)
			}
		})
	}
	e21 := empiricalOf(func() []float64 {
		x := make([]float64, 1000)
		for i := range x {
			x[i] = float64(i * i)
		}
		return x
	}(), EmpiricalProbs())
	b.Run("empirical21", func(b *testing.B) {
		r := newRand()
		var s float64
		for b.Loop() {
			s += e21.Sample(r)
		}
		if s < 0 {
			b.Fatal(s)
		}
	})
}

// TestEmpiricalWithProbs checks the unevenly spaced form against hand
// computation: p = 0, 0.5, 0.99, 1 at 1, 2, 10, 11 ms.
func TestEmpiricalWithProbs(t *testing.T) {
	e, err := NewEmpiricalAt([]float64{0, 0.5, 0.99, 1}, []float64{1e6, 2e6, 10e6, 11e6})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ p, want float64 }{
		{0, 1e6}, {0.25, 1.5e6}, {0.5, 2e6}, {0.745, 6e6}, {0.99, 10e6}, {0.995, 10.5e6}, {1, 11e6},
	} {
		if got := e.Quantile(c.p); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("Quantile(%v) = %v, want %v", c.p, got, c.want)
		}
		if c.p > 0 && c.p < 1 {
			if got := e.CDF(c.want); math.Abs(got-c.p) > 1e-12 {
				t.Errorf("CDF(%v) = %v, want %v", c.want, got, c.p)
			}
		}
	}
	// 0.5 × 1.5 + 0.49 × 6 + 0.01 × 10.5 ms.
	if got, want := e.Mean(), 3.795e6; math.Abs(got-want) > 1 {
		t.Errorf("Mean = %v, want %v", got, want)
	}
	for _, bad := range [][]float64{{0, 0.5, 1}, {0.1, 0.5, 0.9, 1}, {0, 0.6, 0.5, 1}, {0, 0.5, 0.9, 0.95}} {
		if _, err := NewEmpiricalAt(bad, []float64{1, 2, 3, 4}); err == nil {
			t.Errorf("probs %v accepted", bad)
		}
	}
}
