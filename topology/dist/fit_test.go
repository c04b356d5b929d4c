package dist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func near(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.12g, want %.12g (±%g relative)", what, got, want, relTol)
	}
}

func TestTrigamma(t *testing.T) {
	// ψ'(1) = π²/6 and ψ'(1/2) = π²/2 in closed form; the others are
	// from mpmath 1.3.0 (psi(1, x) at 30 digits).
	for _, c := range []struct{ x, want float64 }{
		{1, math.Pi * math.Pi / 6},
		{0.5, math.Pi * math.Pi / 2},
		{0.1, 101.433299150792758817215450106},
		{3.7, 0.31003785767003831910385929812},
		{10, 0.105166335681685746122201006908},
	} {
		near(t, "trigamma", trigamma(c.x), c.want, 1e-12)
	}
}

// sample8 is a small skewed sample with reference fits computed
// independently with mpmath 1.3.0 at 30 digits:
//
//	mean = 4.625; s = log(mean) − mean(log x) = 0.186075379349152414552574484738
//	gamma shape k: findroot(log k − digamma(k) − s) = 2.84277489456909387136365971158
//	lognormal: median = exp(mean log) = 3.83972592984089936789620383186,
//	           sigma = population sd of logs = 0.619170255902913025872339492955
var sample8 = []float64{1.5, 2.0, 2.5, 3.5, 4.0, 6.0, 7.5, 10.0}

func TestFitGamma(t *testing.T) {
	g, err := FitGamma(sample8)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "shape", g.Shape, 2.84277489456909387136365971158, 1e-10)
	near(t, "mean", g.MeanNS, 4.625, 1e-15)

	// Shape 1 data is exponential: the fit should find k ≈ 1; extreme
	// skew (k ≪ 1) and near-constant (k ≫ 1) data must converge too.
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []float64{0.05, 1, 50, 5000} {
		src, _ := NewGamma(1e6, k)
		x := make([]float64, 20000)
		for i := range x {
			x[i] = src.Sample(r)
		}
		g, err := FitGamma(x)
		if err != nil {
			t.Fatalf("k=%v: %v", k, err)
		}
		near(t, "recovered shape", g.Shape, k, 0.05)
	}
	if _, err := FitGamma([]float64{2, 2, 2}); err == nil {
		t.Error("equal values: no error")
	}
	if _, err := FitGamma([]float64{0, 1, 2}); err == nil {
		t.Error("a zero value: no error")
	}
	if _, err := FitGamma(nil); err == nil {
		t.Error("no values: no error")
	}
}

func TestFitLogNormal(t *testing.T) {
	l, err := FitLogNormal(sample8)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "median", l.Median, 3.83972592984089936789620383186, 1e-13)
	near(t, "sigma", l.Sigma, 0.619170255902913025872339492955, 1e-13)
	// Closed form: two values a, b give median √(ab), sigma |ln(b/a)|/2.
	l, _ = FitLogNormal([]float64{1e6, 4e6})
	near(t, "median of 2", l.Median, 2e6, 1e-14)
	near(t, "sigma of 2", l.Sigma, math.Log(4)/2, 1e-14)
	if _, err := FitLogNormal([]float64{0, 1}); err == nil {
		t.Error("a zero value: no error")
	}
}

func TestFitExponential(t *testing.T) {
	e, err := FitExponential(sample8)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean", e.MeanNS, 4.625, 1e-15)
	if _, err := FitExponential([]float64{1, -1}); err == nil {
		t.Error("a negative value: no error")
	}
	if _, err := FitExponential([]float64{1, math.NaN()}); err == nil {
		t.Error("NaN: no error")
	}
}

func TestKS(t *testing.T) {
	uniform01 := func(x float64) float64 { return math.Min(1, math.Max(0, x)) }
	cases := []struct {
		name string
		x    []float64
		cdf  func(float64) float64
		want float64
	}{
		// By hand: D+ = max(1/3−0.1, 2/3−0.4, 1−0.7) = 0.3,
		// D− = max(0.1, 0.4−1/3, 0.7−2/3) = 0.1.
		{"uniform 3", []float64{0.1, 0.4, 0.7}, uniform01, 0.3},
		// The deciles' midpoints fit U(0,1) to within half a step.
		{"uniform midpoints", []float64{0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95}, uniform01, 0.05},
		// Ties: two points at 0.5 make the empirical CDF jump 0 → 1 there.
		{"ties", []float64{0.5, 0.5}, uniform01, 0.5},
		// Exponential(1) at x = ln 2: F = 0.5; one point → max(0.5, 0.5).
		{"exponential one point", []float64{math.Ln2}, func(x float64) float64 { return 1 - math.Exp(-x) }, 0.5},
	}
	for _, c := range cases {
		if got := KS(c.x, c.cdf); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: KS = %v, want %v", c.name, got, c.want)
		}
	}
}

func draw(n int, seed uint64, f func(r *rand.Rand) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 99))
	x := make([]float64, n)
	for i := range x {
		x[i] = f(r)
	}
	return x
}

func TestFitBest(t *testing.T) {
	logn, _ := NewLogNormal(2e6, 0.4)
	gam, _ := NewGamma(2e6, 3)
	exp, _ := NewExponential(1e6)
	cases := []struct {
		name   string
		x      []float64
		family string
	}{
		{"equal", []float64{5e5, 5e5, 5e5}, FamilyConstant},
		{"nearly equal", []float64{1e6, 1.0002e6, 0.9999e6, 1e6}, FamilyConstant},
		{"zeros", []float64{0, 0}, FamilyConstant},
		{"few values", []float64{1e6, 2e6, 3e6, 5e6, 8e6}, FamilyEmpirical},
		{"lognormal data", draw(3000, 1, logn.Sample), FamilyLogNormal},
		{"gamma data", draw(3000, 2, gam.Sample), FamilyGamma},
		{"exponential data with a zero", append(draw(3000, 3, exp.Sample), 0), FamilyExponential},
		{"uniform data", draw(3000, 4, func(r *rand.Rand) float64 { return 1e6 + 1e6*r.Float64() }), FamilyEmpirical},
	}
	for _, c := range cases {
		d, fit := FitBest(c.x)
		if d.Family() != c.family {
			t.Errorf("%s: chose %s, want %s (fit %+v)", c.name, d.Family(), c.family, fit)
			continue
		}
		if fit.N != len(c.x) {
			t.Errorf("%s: N = %d", c.name, fit.N)
		}
		if c.family != FamilyConstant && c.family != FamilyEmpirical && fit.KS > KSAccept(fit.N) {
			t.Errorf("%s: accepted KS %v", c.name, fit.KS)
		}
	}
	// A lognormal fit is rounded as the file shows it and records every
	// family it tried.
	d, fit := FitBest(draw(3000, 1, logn.Sample))
	l := d.(*LogNormal)
	if l.Median != RoundDuration(l.Median) || l.Sigma != RoundSig(l.Sigma, Digits) {
		t.Errorf("parameters not rounded: %+v", l)
	}
	near(t, "fitted median", l.Median, 2e6, 0.03)
	near(t, "fitted sigma", l.Sigma, 0.4, 0.05)
	var fams []string
	for _, tr := range fit.Tried {
		fams = append(fams, tr.Family)
	}
	if !slices.Equal(fams, []string{FamilyExponential, FamilyLogNormal, FamilyGamma}) {
		t.Errorf("tried %v", fams)
	}
	if fit.Tried[1].KS != fit.KS {
		t.Errorf("chosen KS %v is not the lognormal's %v", fit.KS, fit.Tried[1].KS)
	}
}

// TestFitBestBimodal is the case the fallback exists for: 80% cache hits
// around 1 ms and 20% misses around 50 ms must not become one lognormal
// (whose median would sit between the modes and whose p90 would be far
// off); the empirical quantiles keep both modes.
func TestFitBestBimodal(t *testing.T) {
	hit, _ := NewLogNormal(1e6, 0.1)
	miss, _ := NewLogNormal(50e6, 0.1)
	x := draw(5000, 7, func(r *rand.Rand) float64 {
		if r.Float64() < 0.8 {
			return hit.Sample(r)
		}
		return miss.Sample(r)
	})
	d, fit := FitBest(x)
	if d.Family() != FamilyEmpirical {
		t.Fatalf("chose %s (fit %+v)", d.Family(), fit)
	}
	if len(fit.Tried) != 3 {
		t.Errorf("tried %v", fit.Tried)
	}
	for _, tr := range fit.Tried {
		if tr.KS <= KSAccept(len(x)) {
			t.Errorf("%s would have been accepted: KS %v", tr.Family, tr.KS)
		}
	}
	if q := d.(*Empirical).Quantiles; len(q) < 21 || len(q) > len(EmpiricalProbs()) {
		t.Errorf("%d quantiles, want 21 to %d", len(q), len(EmpiricalProbs()))
	}
	// The true median is the hits' 0.5/0.8 = 62.5th percentile: the
	// lognormal(1ms, 0.1) quantile at z = 0.3186, 1ms·e^0.03186 ≈ 1.032ms.
	// The true p90 is the misses' median: 50 ms.
	near(t, "median", d.Quantile(0.5), 1.032e6, 0.02)
	near(t, "p90", d.Quantile(0.9), 50e6, 0.03)
	// 21 quantiles resolve 5% steps: the interpolation across the gap
	// between the modes is off by at most that.
	if fit.KS > 0.05 {
		t.Errorf("empirical KS %v", fit.KS)
	}
}

func TestFitBestIgnoresInvalid(t *testing.T) {
	d, fit := FitBest([]float64{math.NaN(), -1})
	if d.Family() != FamilyConstant || d.Mean() != 0 || fit.N != 0 {
		t.Errorf("got %v %+v", d, fit)
	}
}

func BenchmarkFitBest(b *testing.B) {
	logn, _ := NewLogNormal(2e6, 0.4)
	x := draw(10000, 1, logn.Sample)
	for b.Loop() {
		FitBest(x)
	}
}

// TestEmpiricalTopBinKeepsTheMean: one outlier 100× the rest must not
// stretch the top 5% of an empirical fit to itself. The fitted mean stays
// within 2% of the sample mean (at the sample maximum it would be 2.4×
// too high), and the fit's p99 stays near the data's.
func TestEmpiricalTopBinKeepsTheMean(t *testing.T) {
	xs := make([]float64, 2000)
	for i := range xs {
		// Two clusters, so no single family fits and the fit is empirical.
		xs[i] = 1e6 + float64(i%10)*1e3
		if i%2 == 0 {
			xs[i] += 5e5
		}
	}
	xs[7] = 100e6
	d, f := FitBest(xs)
	if d.Family() != "empirical" {
		t.Fatalf("fit %s (%+v), want empirical", d.Family(), f)
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	if got := d.Mean(); math.Abs(got-mean) > 0.02*mean {
		t.Errorf("fitted mean %.0f ns, sample mean %.0f ns: want within 2%%", got, mean)
	}
	if p99 := d.Quantile(0.99); p99 > 1.6e6 {
		t.Errorf("fitted p99 %.0f ns, want the data's 1.509 ms (+6%%)", p99)
	}
}
