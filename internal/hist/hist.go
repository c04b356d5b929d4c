// Package hist records latency samples in bounded memory: exactly while
// there are few, in an HdrHistogram (3 significant digits, ≤0.1% relative
// error) once there are many. Every report in tracesim reads its
// percentiles from here, so inspect, simulate and analyze agree on what
// "p99" means.
package hist

import (
	"math"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// ExactLimit is how many samples are kept exactly before switching to the
// streaming histogram.
const ExactLimit = 10000

const (
	lowest  = 1                   // ns
	highest = 7 * 24 * 3600 * 1e9 // one week in ns; larger values are clamped
	sigfigs = 3
)

// Hist is a latency histogram over nanosecond values. The zero value is
// ready to use.
type Hist struct {
	n        int64
	sum      float64 // ns; a float: an overloaded run can sum past int64
	min, max int64
	exact    []int64
	sorted   bool
	hdr      *hdrhistogram.Histogram
	clamped  int64
}

// Record adds one value in nanoseconds. Negative values count as 0.
//
// The simulator calls this once per request, so it is kept lean: the
// streaming path is a direct HdrHistogram update, clamping only values
// outside its range.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if v < h.min || h.n == 0 {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	if h.hdr != nil {
		if v < lowest || v > highest {
			h.recordHDR(v)
			return
		}
		_ = h.hdr.RecordValue(v) // cannot fail: v is within the range
		return
	}
	h.exact = append(h.exact, v)
	h.sorted = false
	if len(h.exact) > ExactLimit {
		h.spill()
	}
}

func (h *Hist) spill() {
	h.hdr = hdrhistogram.New(lowest, highest, sigfigs)
	for _, v := range h.exact {
		h.recordHDR(v)
	}
	h.exact = nil
}

func (h *Hist) recordHDR(v int64) {
	if v < lowest {
		v = lowest
	}
	if v > highest {
		v = highest
		h.clamped++
	}
	_ = h.hdr.RecordValue(v) // cannot fail: v is within the range
}

// Merge adds all of o's values to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
	h.clamped += o.clamped
	if o.hdr == nil && h.hdr == nil && len(h.exact)+len(o.exact) <= ExactLimit {
		h.exact = append(h.exact, o.exact...)
		h.sorted = false
		return
	}
	if h.hdr == nil {
		h.spill()
	}
	if o.hdr != nil {
		h.hdr.Merge(o.hdr)
		return
	}
	for _, v := range o.exact {
		h.recordHDR(v)
	}
}

// Count returns the number of values recorded.
func (h *Hist) Count() int64 { return h.n }

// Exact reports whether quantiles are computed from every value.
func (h *Hist) Exact() bool { return h.hdr == nil }

// Mean returns the exact mean in nanoseconds (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Min and Max return the exact extremes.
func (h *Hist) Min() int64 { return h.min }

// Max returns the largest value recorded.
func (h *Hist) Max() int64 { return h.max }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) in nanoseconds. In exact
// mode it interpolates linearly between order statistics (R's type 7,
// numpy's default); in streaming mode it is HdrHistogram's value at the
// percentile, within 0.1% relative error. NaN when empty.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	q = math.Max(0, math.Min(1, q))
	if h.hdr != nil {
		if q == 0 {
			return float64(h.min)
		}
		if q == 1 {
			return float64(h.max)
		}
		return float64(h.hdr.ValueAtQuantile(q * 100))
	}
	if !h.sorted {
		slices.Sort(h.exact)
		h.sorted = true
	}
	pos := q * float64(len(h.exact)-1)
	lo := int(math.Floor(pos))
	if lo >= len(h.exact)-1 {
		return float64(h.exact[len(h.exact)-1])
	}
	frac := pos - float64(lo)
	return float64(h.exact[lo]) + frac*float64(h.exact[lo+1]-h.exact[lo])
}
