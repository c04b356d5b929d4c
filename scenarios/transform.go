package scenarios

import (
	"github.com/tracesim/tracesim/topology/dist"
)

// scaleDist multiplies d by f, staying in d's family when the family is
// closed under scaling (all of them are), so the result can be written
// to a model file; anything else is wrapped.
func scaleDist(d dist.Dist, f float64) dist.Dist {
	var out dist.Dist
	var err error
	switch d := d.(type) {
	case nil:
		return nil
	case *dist.Constant:
		out, err = ok(dist.NewConstant(d.Value * f))
	case *dist.Exponential:
		if f > 0 {
			out, err = ok(dist.NewExponential(d.MeanNS * f))
		}
	case *dist.LogNormal:
		if f > 0 {
			out, err = ok(dist.NewLogNormal(d.Median*f, d.Sigma))
		}
	case *dist.Gamma:
		if f > 0 {
			out, err = ok(dist.NewGamma(d.MeanNS*f, d.Shape))
		}
	case *dist.Uniform:
		out, err = ok(dist.NewUniform(d.Min*f, d.Max*f))
	case *dist.Empirical:
		q := make([]float64, len(d.Quantiles))
		for i, x := range d.Quantiles {
			q[i] = x * f
		}
		out, err = ok(dist.NewEmpiricalAt(d.Probs, q))
	}
	if out == nil || err != nil {
		return dist.Scale(d, f)
	}
	return out
}

// shiftDist adds addNS to d: exactly in d's family for the families
// closed under a shift (constant, uniform, empirical), wrapped otherwise.
func shiftDist(d dist.Dist, addNS float64) dist.Dist {
	var out dist.Dist
	var err error
	switch d := d.(type) {
	case nil:
		out, err = ok(dist.NewConstant(addNS))
	case *dist.Constant:
		out, err = ok(dist.NewConstant(d.Value + addNS))
	case *dist.Uniform:
		out, err = ok(dist.NewUniform(d.Min+addNS, d.Max+addNS))
	case *dist.Empirical:
		q := make([]float64, len(d.Quantiles))
		for i, x := range d.Quantiles {
			q[i] = x + addNS
		}
		out, err = ok(dist.NewEmpiricalAt(d.Probs, q))
	}
	if out == nil || err != nil {
		return dist.Shift(d, addNS)
	}
	return out
}

func ok[T dist.Dist](d T, err error) (dist.Dist, error) {
	if err != nil {
		return nil, err
	}
	return d, nil
}

func constant(ns float64) dist.Dist {
	d, err := dist.NewConstant(ns)
	if err != nil {
		// Callers check durations when reading a change; a bad one here
		// is a bug, and the wrapper keeps the value visible to Validate.
		return dist.Shift(&dist.Constant{}, ns)
	}
	return d
}
