package dist

import "math/rand/v2"

// Scaled is a distribution multiplied by a constant factor: what a
// "speedup" scenario does to local work. Every statistic scales exactly
// because multiplication by a positive constant is monotone.
type Scaled struct {
	Inner  Dist
	Factor float64 // ≥ 0
}

// Scale returns d with every value multiplied by factor (≥ 0).
func Scale(d Dist, factor float64) Dist { return &Scaled{Inner: d, Factor: factor} }

func (s *Scaled) Sample(r *rand.Rand) float64 { return s.Inner.Sample(r) * s.Factor }
func (s *Scaled) Mean() float64               { return s.Inner.Mean() * s.Factor }
func (s *Scaled) Quantile(p float64) float64  { return s.Inner.Quantile(p) * s.Factor }

// Family is the inner family: a scaled distribution stays in its family
// for every family this package has.
func (s *Scaled) Family() string { return s.Inner.Family() }

// Shifted is a distribution plus a constant: what an added network
// latency does to an edge.
type Shifted struct {
	Inner Dist
	AddNS float64
}

// Shift returns d with addNS nanoseconds added to every value.
func Shift(d Dist, addNS float64) Dist { return &Shifted{Inner: d, AddNS: addNS} }

func (s *Shifted) Sample(r *rand.Rand) float64 { return s.Inner.Sample(r) + s.AddNS }
func (s *Shifted) Mean() float64               { return s.Inner.Mean() + s.AddNS }
func (s *Shifted) Quantile(p float64) float64  { return s.Inner.Quantile(p) + s.AddNS }

// Family is the inner family, though a shifted distribution is no
// longer of it (its minimum moved); callers that need the exact family
// can unwrap Inner.
func (s *Shifted) Family() string { return s.Inner.Family() }
