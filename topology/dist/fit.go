package dist

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// KSDigits is how many significant digits a KS distance keeps in a Fit:
// enough to compare it with the acceptance threshold.
const KSDigits = 2

// minFitN is the smallest sample FitBest fits a family to; below it the
// KS test cannot tell families apart, so the data is kept as quantiles.
const minFitN = 8

// checkSample rejects an empty sample and values that are not durations;
// positive says whether zero is also rejected (for families on logs).
func checkSample(x []float64, positive bool) error {
	if len(x) == 0 {
		return errors.New("no values to fit")
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("value %d is %v: durations must be finite and ≥ 0", i, v)
		}
		if positive && v == 0 {
			return fmt.Errorf("value %d is 0: this family needs values > 0", i)
		}
	}
	return nil
}

// FitExponential is the maximum-likelihood exponential: its mean is the
// sample mean.
func FitExponential(x []float64) (*Exponential, error) {
	if err := checkSample(x, false); err != nil {
		return nil, fmt.Errorf("fit exponential: %w", err)
	}
	return NewExponential(mean(x))
}

// FitLogNormal is the maximum-likelihood lognormal: the mean and the
// (population, 1/n) standard deviation of the logs. Values must be > 0.
func FitLogNormal(x []float64) (*LogNormal, error) {
	if err := checkSample(x, true); err != nil {
		return nil, fmt.Errorf("fit lognormal: %w", err)
	}
	var s float64
	for _, v := range x {
		s += math.Log(v)
	}
	mu := s / float64(len(x))
	var ss float64
	for _, v := range x {
		d := math.Log(v) - mu
		ss += d * d
	}
	return NewLogNormal(math.Exp(mu), math.Sqrt(ss/float64(len(x))))
}

// FitGamma is the maximum-likelihood gamma. Its mean is the sample mean;
// its shape k solves log k − ψ(k) = log(mean) − mean(log x), found by
// Newton's method from Minka's closed-form start ("Estimating a Gamma
// distribution", 2002), which is already within about 1.5%. Values must
// be > 0 and not all equal.
func FitGamma(x []float64) (*Gamma, error) {
	if err := checkSample(x, true); err != nil {
		return nil, fmt.Errorf("fit gamma: %w", err)
	}
	m := mean(x)
	var sl float64
	for _, v := range x {
		sl += math.Log(v)
	}
	s := math.Log(m) - sl/float64(len(x))
	if !(s > 0) {
		return nil, errors.New("fit gamma: all values are equal, the shape is unbounded")
	}
	k, err := gammaShape(s)
	if err != nil {
		return nil, fmt.Errorf("fit gamma: %w", err)
	}
	return NewGamma(m, k)
}

// gammaShape solves log k − ψ(k) = s for k > 0 (s > 0). The left side is
// decreasing and convex in k, so Newton from the left converges
// monotonically; a step that would leave k > 0 is halved instead.
func gammaShape(s float64) (float64, error) {
	k := (3 - s + math.Sqrt((s-3)*(s-3)+24*s)) / (12 * s)
	for range 100 {
		f := math.Log(k) - mathext.Digamma(k) - s
		df := 1/k - trigamma(k)
		next := k - f/df
		if next <= 0 || math.IsNaN(next) {
			next = k / 2
		}
		if math.Abs(next-k) <= 1e-12*k {
			return next, nil
		}
		k = next
	}
	return 0, fmt.Errorf("shape did not converge for log(mean)−mean(log) = %g", s)
}

// trigamma is ψ'(x) for x > 0: the recurrence ψ'(x) = ψ'(x+1) + 1/x² up
// to x ≥ 10, then the asymptotic series 1/x + 1/2x² + Σ B₂ₖ/x²ᵏ⁺¹
// (relative error below 1e-15 there).
func trigamma(x float64) float64 {
	var r float64
	for ; x < 10; x++ {
		r += 1 / (x * x)
	}
	x2 := 1 / (x * x)
	return r + 1/x + x2/2 + x2/x*(1.0/6-x2*(1.0/30-x2*(1.0/42-x2*(1.0/30-x2*(5.0/66-x2*691.0/2730)))))
}

// KS is the one-sample Kolmogorov–Smirnov distance sup|F_n(x) − F(x)|
// between the empirical CDF of sortedX (ascending) and a continuous cdf.
// The supremum is reached at a data point, just before or at its jump,
// so it is the largest of F(x_i) − i/n and (i+1)/n − F(x_i) (0-based).
func KS(sortedX []float64, cdf func(float64) float64) float64 {
	n := float64(len(sortedX))
	var d float64
	for i, x := range sortedX {
		f := cdf(x)
		d = max(d, f-float64(i)/n, float64(i+1)/n-f)
	}
	return d
}

// Fit criteria, see FitBest.
const (
	ksCritical = 1.63 // √(−ln(0.01/2)/2): the 1% critical value times √n
	ksFloor    = 0.03
	constRel   = 1e-3
)

// KSAccept is the largest KS distance FitBest accepts for n samples:
// max(1.63/√n, 0.03).
func KSAccept(n int) float64 {
	return max(ksCritical/math.Sqrt(float64(n)), ksFloor)
}

// FitBest picks a distribution for measured durations (ns):
//
//   - If the values are all (nearly) equal — max − min below 1e-3 of
//     the mean — it is a Constant at the mean (Fit.KS 0, nothing tried).
//   - With fewer than 8 values it is an Empirical of the values.
//   - Otherwise it fits the exponential, lognormal and gamma families
//     (the last two only when every value is > 0) and takes the one
//     with the smallest KS distance, if that distance is at most
//     max(1.63/√n, 0.03). 1.63/√n is the 1% critical value of the
//     one-sample KS test, so a family is rejected only when the data
//     clearly is not from it; the 0.03 floor keeps a family that fits
//     to within 3 percentiles everywhere, because with many thousands
//     of real samples (rounded to µs, with rare outliers) the test
//     would otherwise reject every family.
//   - When none is accepted it is an Empirical with 21 quantiles
//     (p = 0, 0.05, ..., 1), which keeps any shape: data with several
//     modes (cache hits and misses) must not be forced into one
//     lognormal.
//
// Parameters are rounded to what a model file shows (Digits significant
// digits), and the KS distances, measured for the rounded distribution,
// to KSDigits. The Fit records N, the chosen distribution's KS distance
// and every family tried in order. Invalid values (negative, NaN) are
// dropped; with none left the result is a Constant 0 with Fit.N = 0.
func FitBest(x []float64) (Dist, Fit) {
	xs := make([]float64, 0, len(x))
	for _, v := range x {
		if v >= 0 && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	slices.Sort(xs)
	n := len(xs)
	if n == 0 {
		return &Constant{}, Fit{}
	}
	fit := Fit{N: n}
	m := mean(xs)
	if xs[n-1]-xs[0] <= constRel*m {
		return &Constant{Value: RoundDuration(m)}, fit
	}
	if n >= minFitN {
		type candidate struct {
			d   Dist
			cdf func(float64) float64
		}
		var cands []candidate
		if e, err := FitExponential(xs); err == nil {
			e = &Exponential{MeanNS: RoundDuration(e.MeanNS)}
			cands = append(cands, candidate{e, e.CDF})
		}
		if xs[0] > 0 {
			if l, err := FitLogNormal(xs); err == nil {
				l = &LogNormal{Median: RoundDuration(l.Median), Sigma: RoundSig(l.Sigma, Digits)}
				cands = append(cands, candidate{l, l.CDF})
			}
			if g, err := FitGamma(xs); err == nil {
				if g, err = NewGamma(RoundDuration(g.MeanNS), RoundSig(g.Shape, Digits)); err == nil {
					cands = append(cands, candidate{g, g.CDF})
				}
			}
		}
		best, bestKS := -1, math.Inf(1)
		for i, c := range cands {
			ks := RoundSig(KS(xs, c.cdf), KSDigits)
			fit.Tried = append(fit.Tried, Tried{Family: c.d.Family(), KS: ks})
			if ks < bestKS {
				best, bestKS = i, ks
			}
		}
		if best >= 0 && bestKS <= KSAccept(n) {
			fit.KS = bestKS
			return cands[best].d, fit
		}
	}
	e := empiricalOf(xs, EmpiricalProbs())
	fit.KS = RoundSig(KS(xs, e.CDF), KSDigits)
	return e, fit
}

// EmpiricalProbs returns the probabilities at which FitBest keeps
// quantiles when no family fits: every 5%, then finer in the tail (98%,
// 99%, 99.5%, 99.9%), so that the model's p99 comes from the data's p99
// rather than from a straight line between its p95 and its maximum.
func EmpiricalProbs() []float64 {
	return []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
		0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1}
}

// empiricalOf keeps the quantiles of sorted xs at probs, each the linear
// interpolation between the two nearest order statistics (the usual
// "type 7" sample quantile), rounded like a model file. Tail points the
// sample is too small to resolve (fewer than 2 samples beyond them) are
// dropped.
func empiricalOf(xs []float64, probs []float64) *Empirical {
	n := len(xs)
	var ps, q []float64
	for _, p := range probs {
		if p > 0 && p < 1 && (1-p)*float64(n) < 2 {
			continue
		}
		h := p * float64(n-1)
		i := int(h)
		v := xs[min(i, n-1)]
		if i+1 < n {
			v += (h - float64(i)) * (xs[i+1] - xs[i])
		}
		ps = append(ps, p)
		q = append(q, RoundDuration(v))
	}
	// The top bin spreads its share of the mass evenly up to the last
	// point. At the sample maximum, one outlier (a stalled process, a GC
	// pause) would stretch that whole share to itself and inflate the mean;
	// instead the last point is placed so that the bin's mean is the mean
	// of the samples in it (never below the point before nor above the
	// maximum).
	if k := len(q); k >= 3 {
		lo := q[k-2]
		from := int(ps[k-2] * float64(n-1))
		var sum float64
		for _, x := range xs[from:] {
			sum += x
		}
		mean := sum / float64(n-from)
		q[k-1] = RoundDuration(math.Max(lo, math.Min(xs[n-1], 2*mean-lo)))
	}
	e := &Empirical{Quantiles: q, Probs: ps}
	if evenlySpaced(ps) {
		e.Probs = nil
	}
	return e
}

func evenlySpaced(ps []float64) bool {
	for i, p := range ps {
		if math.Abs(p-float64(i)/float64(len(ps)-1)) > 1e-12 {
			return false
		}
	}
	return true
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
