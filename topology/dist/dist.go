// Package dist holds the latency distributions a model is made of: the
// families a model file can name, sampling from them, and fitting them to
// measured durations. All values are nanoseconds as float64.
package dist

import "math/rand/v2"

// Dist is a distribution of durations in nanoseconds.
//
// Implementations are immutable after construction and safe for
// concurrent use; Sample draws from the given generator only.
type Dist interface {
	// Sample draws one value (ns, ≥ 0).
	Sample(r *rand.Rand) float64
	// Mean returns the expected value (ns).
	Mean() float64
	// Quantile returns the p-quantile (ns), 0 ≤ p ≤ 1.
	Quantile(p float64) float64
	// Family names the distribution as the model file does: "constant",
	// "exponential", "lognormal", "gamma", "uniform" or "empirical".
	Family() string
}

// Fit describes how well a fitted distribution matches the data it was
// fitted to. It is written into the model file next to the distribution
// (as a comment) so a user can judge it.
type Fit struct {
	N  int     // samples
	KS float64 // Kolmogorov-Smirnov distance between data and the fitted CDF
	// Tried lists the families tried, each with its KS distance, for
	// the record.
	Tried []Tried
}

// Tried is one candidate family of a fit.
type Tried struct {
	Family string
	KS     float64
}
