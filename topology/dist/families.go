package dist

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// MaxNS is the largest duration a distribution parameter may have, just
// inside the range of a time.Duration (9e18 ns, about 285 years). Larger
// values are surely a mistake, and keeping every parameter inside it
// means every model that validates can be written and read back.
const MaxNS = 9e18

// The families a model file can name, in the order FitBest tries them
// (the parametric ones) and the file documents them.
const (
	FamilyConstant    = "constant"
	FamilyExponential = "exponential"
	FamilyLogNormal   = "lognormal"
	FamilyGamma       = "gamma"
	FamilyUniform     = "uniform"
	FamilyEmpirical   = "empirical"
)

// Families lists every family name a model file accepts.
func Families() []string {
	return []string{FamilyConstant, FamilyExponential, FamilyLogNormal, FamilyGamma, FamilyUniform, FamilyEmpirical}
}

// checkNS rejects a duration parameter that is NaN, negative, infinite
// or beyond MaxNS.
func checkNS(name string, v float64) error {
	switch {
	case math.IsNaN(v):
		return fmt.Errorf("%s is NaN", name)
	case v < 0:
		return fmt.Errorf("%s must be ≥ 0, got %s", name, FormatDuration(v))
	case v > MaxNS:
		return fmt.Errorf("%s %s is out of range (at most %s)", name, FormatDuration(v), FormatDuration(MaxNS))
	}
	return nil
}

// Constant is a fixed duration.
type Constant struct {
	Value float64 // ns
}

// NewConstant returns the distribution that is always ns.
func NewConstant(ns float64) (*Constant, error) {
	if err := checkNS("constant", ns); err != nil {
		return nil, err
	}
	return &Constant{Value: ns}, nil
}

func (c *Constant) Sample(*rand.Rand) float64 { return c.Value }
func (c *Constant) Mean() float64             { return c.Value }
func (c *Constant) Quantile(float64) float64  { return c.Value }
func (c *Constant) Family() string            { return FamilyConstant }

// CDF is the step function at Value.
func (c *Constant) CDF(x float64) float64 {
	if x < c.Value {
		return 0
	}
	return 1
}

// Exponential is the memoryless distribution with the given mean.
type Exponential struct {
	// MeanNS is the mean (ns). It is not called Mean because that is
	// the Dist method.
	MeanNS float64
}

// NewExponential returns the exponential distribution with mean meanNS.
func NewExponential(meanNS float64) (*Exponential, error) {
	if err := checkNS("exponential mean", meanNS); err != nil {
		return nil, err
	}
	return &Exponential{MeanNS: meanNS}, nil
}

func (e *Exponential) Sample(r *rand.Rand) float64 { return r.ExpFloat64() * e.MeanNS }
func (e *Exponential) Mean() float64               { return e.MeanNS }
func (e *Exponential) Family() string              { return FamilyExponential }

func (e *Exponential) Quantile(p float64) float64 {
	if p >= 1 {
		return math.Inf(1)
	}
	return -e.MeanNS * math.Log1p(-clamp01(p))
}

// CDF is 1 - exp(-x/mean).
func (e *Exponential) CDF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	if e.MeanNS == 0 {
		return 1
	}
	return -math.Expm1(-x / e.MeanNS)
}

// LogNormal is the distribution whose logarithm is normal with mean
// log(Median) and standard deviation Sigma.
type LogNormal struct {
	Median float64 // ns
	Sigma  float64 // of the log; 0 makes it a constant
}

// NewLogNormal returns the lognormal distribution with the given median
// (ns) and log standard deviation.
func NewLogNormal(medianNS, sigma float64) (*LogNormal, error) {
	if err := checkNS("lognormal median", medianNS); err != nil {
		return nil, err
	}
	if err := checkParam("lognormal sigma", sigma, true); err != nil {
		return nil, err
	}
	return &LogNormal{Median: medianNS, Sigma: sigma}, nil
}

func (l *LogNormal) Sample(r *rand.Rand) float64 {
	return l.Median * math.Exp(l.Sigma*r.NormFloat64())
}
func (l *LogNormal) Mean() float64  { return l.Median * math.Exp(l.Sigma*l.Sigma/2) }
func (l *LogNormal) Family() string { return FamilyLogNormal }

func (l *LogNormal) Quantile(p float64) float64 {
	switch {
	case l.Sigma == 0:
		return l.Median
	case p <= 0:
		return 0
	case p >= 1:
		return math.Inf(1)
	}
	return l.Median * math.Exp(l.Sigma*mathext.NormalQuantile(p))
}

// CDF is Φ((ln x − ln median)/σ).
func (l *LogNormal) CDF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	if l.Sigma == 0 || l.Median == 0 {
		if x < l.Median {
			return 0
		}
		return 1
	}
	z := math.Log(x/l.Median) / l.Sigma
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// Gamma is the gamma distribution with the given mean and shape k (the
// scale is MeanNS/Shape). Shape 1 is the exponential; a large shape is
// nearly normal.
type Gamma struct {
	MeanNS float64 // ns; not called Mean because that is the Dist method
	Shape  float64 // k > 0

	// Precomputed by NewGamma for Marsaglia–Tsang; a literal Gamma
	// without them still samples correctly, only a little slower.
	d, c, scale, invShape float64
}

// NewGamma returns the gamma distribution with mean meanNS and shape k.
func NewGamma(meanNS, shape float64) (*Gamma, error) {
	if err := checkNS("gamma mean", meanNS); err != nil {
		return nil, err
	}
	if err := checkParam("gamma shape", shape, false); err != nil {
		return nil, err
	}
	g := &Gamma{MeanNS: meanNS, Shape: shape}
	g.d, g.c, g.scale, g.invShape = gammaConsts(meanNS, shape)
	return g, nil
}

// gammaConsts returns Marsaglia–Tsang's d and c for the shape (boosted
// by one when shape < 1, corrected by U^(1/shape) when sampling), the
// scale, and 1/shape.
func gammaConsts(mean, shape float64) (d, c, scale, invShape float64) {
	a := shape
	if a < 1 {
		a++
	}
	d = a - 1.0/3
	c = 1 / math.Sqrt(9*d)
	return d, c, mean / shape, 1 / shape
}

// Sample uses Marsaglia and Tsang, "A simple method for generating gamma
// variables" (ACM TOMS 26(3), 2000): one normal and one uniform per try,
// with an acceptance rate above 95% for every shape.
func (g *Gamma) Sample(r *rand.Rand) float64 {
	d, c, scale, invShape := g.d, g.c, g.scale, g.invShape
	if c == 0 {
		d, c, scale, invShape = gammaConsts(g.MeanNS, g.Shape)
	}
	var v float64
	for {
		x := r.NormFloat64()
		v = 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		x2 := x * x
		if u < 1-0.0331*x2*x2 || math.Log(u) < 0.5*x2+d*(1-v+math.Log(v)) {
			break
		}
	}
	s := d * v * scale
	if g.Shape < 1 {
		// Gamma(k) = Gamma(k+1)·U^(1/k), and U^(1/k) = exp(−E/k) with E
		// exponential, which is cheaper to draw than a Pow.
		s *= math.Exp(-r.ExpFloat64() * invShape)
	}
	return s
}

func (g *Gamma) Mean() float64  { return g.MeanNS }
func (g *Gamma) Family() string { return FamilyGamma }

func (g *Gamma) Quantile(p float64) float64 {
	switch {
	case p <= 0:
		return 0
	case p >= 1:
		return math.Inf(1)
	}
	return mathext.GammaIncRegInv(g.Shape, p) * g.MeanNS / g.Shape
}

// CDF is the regularized lower incomplete gamma function P(k, x/θ).
func (g *Gamma) CDF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	if g.MeanNS == 0 {
		return 1
	}
	return mathext.GammaIncReg(g.Shape, x*g.Shape/g.MeanNS)
}

// Uniform is the uniform distribution on [Min, Max].
type Uniform struct {
	Min, Max float64 // ns
}

// NewUniform returns the uniform distribution on [minNS, maxNS].
func NewUniform(minNS, maxNS float64) (*Uniform, error) {
	if err := checkNS("uniform min", minNS); err != nil {
		return nil, err
	}
	if err := checkNS("uniform max", maxNS); err != nil {
		return nil, err
	}
	if minNS > maxNS {
		return nil, fmt.Errorf("uniform min %s is greater than max %s", FormatDuration(minNS), FormatDuration(maxNS))
	}
	return &Uniform{Min: minNS, Max: maxNS}, nil
}

func (u *Uniform) Sample(r *rand.Rand) float64 { return u.Min + (u.Max-u.Min)*r.Float64() }
func (u *Uniform) Mean() float64               { return (u.Min + u.Max) / 2 }
func (u *Uniform) Quantile(p float64) float64  { return u.Min + (u.Max-u.Min)*clamp01(p) }
func (u *Uniform) Family() string              { return FamilyUniform }

// CDF is linear from Min to Max.
func (u *Uniform) CDF(x float64) float64 {
	switch {
	case x < u.Min:
		return 0
	case x >= u.Max:
		return 1
	}
	return (x - u.Min) / (u.Max - u.Min)
}

// Empirical is a distribution given by quantiles: Quantiles[i] is the
// Probs[i]-quantile, and values in between are interpolated linearly (so
// the CDF is piecewise linear). Without Probs the quantiles are equally
// spaced: with n of them, Quantiles[i] is the i/(n-1)-quantile. It keeps
// any shape, including several modes, at the cost of a fixed resolution;
// Probs lets the resolution be finer in the tail, where p99 lives.
type Empirical struct {
	Quantiles []float64 // ns, non-decreasing, from p=0 to p=1
	Probs     []float64 // nil, or increasing from 0 to 1, one per quantile
}

// NewEmpirical returns the distribution with the given equally spaced
// quantiles (p = 0, 1/(n-1), ..., 1). The slice is copied.
func NewEmpirical(quantilesNS []float64) (*Empirical, error) {
	return NewEmpiricalAt(nil, quantilesNS)
}

// NewEmpiricalAt returns the distribution whose probs[i]-quantile is
// quantilesNS[i]; probs nil means equally spaced. The slices are copied.
func NewEmpiricalAt(probs, quantilesNS []float64) (*Empirical, error) {
	if len(quantilesNS) == 0 {
		return nil, errors.New("empirical needs at least one quantile")
	}
	for i, q := range quantilesNS {
		if err := checkNS(fmt.Sprintf("empirical quantile %d", i), q); err != nil {
			return nil, err
		}
		if i > 0 && q < quantilesNS[i-1] {
			return nil, fmt.Errorf("empirical quantiles must not decrease: quantile %d (%s) is below quantile %d (%s)",
				i, FormatDuration(q), i-1, FormatDuration(quantilesNS[i-1]))
		}
	}
	if probs != nil {
		if len(probs) != len(quantilesNS) || len(probs) < 2 {
			return nil, fmt.Errorf("empirical p has %d probabilities for %d quantiles: want one per quantile, at least 2", len(probs), len(quantilesNS))
		}
		if probs[0] != 0 || probs[len(probs)-1] != 1 {
			return nil, fmt.Errorf("empirical p must run from 0 to 1, got %v to %v", probs[0], probs[len(probs)-1])
		}
		for i := 1; i < len(probs); i++ {
			if !(probs[i] > probs[i-1]) {
				return nil, fmt.Errorf("empirical p must increase: p %d (%v) is not above p %d (%v)", i, probs[i], i-1, probs[i-1])
			}
		}
		probs = slices.Clone(probs)
	}
	return &Empirical{Quantiles: slices.Clone(quantilesNS), Probs: probs}, nil
}

func (e *Empirical) Sample(r *rand.Rand) float64 { return e.at(r.Float64()) }
func (e *Empirical) Quantile(p float64) float64  { return e.at(clamp01(p)) }
func (e *Empirical) Family() string              { return FamilyEmpirical }

// prob is the probability of quantile i.
func (e *Empirical) prob(i int) float64 {
	if e.Probs != nil {
		return e.Probs[i]
	}
	return float64(i) / float64(len(e.Quantiles)-1)
}

// at interpolates the quantile at p in [0, 1].
func (e *Empirical) at(p float64) float64 {
	q := e.Quantiles
	if len(q) == 1 {
		return q[0]
	}
	if e.Probs == nil {
		u := p * float64(len(q)-1)
		i := int(u)
		if i >= len(q)-1 {
			return q[len(q)-1]
		}
		return q[i] + (u-float64(i))*(q[i+1]-q[i])
	}
	// The last i with Probs[i] <= p.
	i, _ := slices.BinarySearch(e.Probs, p)
	if i < len(e.Probs) && e.Probs[i] == p {
		return q[i]
	}
	i--
	if i >= len(q)-1 {
		return q[len(q)-1]
	}
	lo, hi := e.Probs[i], e.Probs[i+1]
	return q[i] + (p-lo)/(hi-lo)*(q[i+1]-q[i])
}

// Mean is the mean of the piecewise-uniform distribution: the segment
// midpoints weighted by their probability.
func (e *Empirical) Mean() float64 {
	q := e.Quantiles
	if len(q) == 1 {
		return q[0]
	}
	var s float64
	for i := 1; i < len(q); i++ {
		s += (e.prob(i) - e.prob(i-1)) * (q[i-1] + q[i]) / 2
	}
	return s
}

// CDF inverts the interpolation: piecewise linear between quantiles,
// jumping where quantiles repeat.
func (e *Empirical) CDF(x float64) float64 {
	q := e.Quantiles
	n := len(q)
	if x < q[0] {
		return 0
	}
	if x >= q[n-1] {
		return 1
	}
	// The last i with q[i] <= x; then q[i] <= x < q[i+1].
	i, _ := slices.BinarySearchFunc(q, x, func(v, t float64) int {
		if v <= t {
			return -1
		}
		return 1
	})
	i--
	lo, hi := e.prob(i), e.prob(i+1)
	return lo + (x-q[i])/(q[i+1]-q[i])*(hi-lo)
}

// checkParam rejects a dimensionless parameter that is NaN, infinite,
// negative, or zero when zero is not allowed.
func checkParam(name string, v float64, zeroOK bool) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%s must be a finite number, got %v", name, v)
	case v < 0 || (v == 0 && !zeroOK):
		if zeroOK {
			return fmt.Errorf("%s must be ≥ 0, got %v", name, v)
		}
		return fmt.Errorf("%s must be > 0, got %v", name, v)
	}
	return nil
}

func clamp01(p float64) float64 {
	return math.Min(1, math.Max(0, p))
}

// Check reports whether d's parameters are valid, as its constructor
// would: a model built in code can hold a literal the constructors never
// saw.
func Check(d Dist) error {
	var err error
	switch d := d.(type) {
	case *Constant:
		_, err = NewConstant(d.Value)
	case *Exponential:
		_, err = NewExponential(d.MeanNS)
	case *LogNormal:
		_, err = NewLogNormal(d.Median, d.Sigma)
	case *Gamma:
		_, err = NewGamma(d.MeanNS, d.Shape)
	case *Uniform:
		_, err = NewUniform(d.Min, d.Max)
	case *Empirical:
		_, err = NewEmpiricalAt(d.Probs, d.Quantiles)
	case nil:
		err = errors.New("no distribution")
	default:
		err = fmt.Errorf("unsupported distribution type %T", d)
	}
	return err
}
