package queue

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// ZCrit is the one-sided critical value of a standard normal statistic
// at significance p.
func ZCrit(p float64) float64 { return zCrit(p) }

// zCrit is the one-sided critical value of a standard normal statistic at
// significance p.
func zCrit(p float64) float64 {
	return distuv.UnitNormal.Quantile(1 - p)
}

// ranks returns the 1-based ranks of x (ties get their average rank) and
// the tie correction Σ(t³ − t) over groups of t equal values. Values are
// durations (≥ 0; a negative one ranks as 0).
func ranks(x []float64) ([]float64, float64) {
	keys := make([]uint64, len(x))
	idx := make([]int32, len(x))
	for i, v := range x {
		// The bits of a non-negative float64 sort as the number does.
		keys[i] = math.Float64bits(max(v, 0))
		idx[i] = int32(i)
	}
	radixSort(keys, idx)
	r := make([]float64, len(x))
	ties := 0.0
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	return r, ties
}

// radixSort sorts keys ascending, carrying idx along: a least-significant-
// digit radix sort in 16-bit digits, skipping the digits all keys share.
// Ranking a million service times is the hot path of Infer, and this is
// several times faster there than a comparison sort.
func radixSort(keys []uint64, idx []int32) {
	if len(keys) < 256 {
		type kv struct {
			k uint64
			i int32
		}
		s := make([]kv, len(keys))
		for i := range keys {
			s[i] = kv{keys[i], idx[i]}
		}
		slices.SortStableFunc(s, func(a, b kv) int { return cmp.Compare(a.k, b.k) })
		for i := range s {
			keys[i], idx[i] = s[i].k, s[i].i
		}
		return
	}
	bk := make([]uint64, len(keys))
	bi := make([]int32, len(keys))
	var count [1 << 16]int
	src, srcI, dst, dstI := keys, idx, bk, bi
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&0xffff]++
		}
		if count[(src[0]>>shift)&0xffff] == len(src) {
			continue // every key has this digit
		}
		sum := 0
		for d := range count {
			sum, count[d] = sum+count[d], sum
		}
		for i, k := range src {
			d := (k >> shift) & 0xffff
			dst[count[d]] = k
			dstI[count[d]] = srcI[i]
			count[d]++
		}
		src, srcI, dst, dstI = dst, dstI, src, srcI
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
		copy(idx, srcI)
	}
}

// mwZ is the normal approximation of the Mann–Whitney U statistic of a
// group of n1 with rank sum r1 against the other n2 of n = n1 + n2
// values: positive when the group ranks higher. 0 when a group is empty.
func mwZ(r1 float64, n1, n2 int, ties float64) float64 {
	if n1 == 0 || n2 == 0 {
		return 0
	}
	a, b := float64(n1), float64(n2)
	n := a + b
	u := r1 - a*(a+1)/2
	v := a * b / 12 * ((n + 1) - ties/(n*(n-1)))
	if !(v > 0) {
		return 0
	}
	return (u - a*b/2) / math.Sqrt(v)
}

// mannWhitneyZ compares x of the jobs that found c or more others
// present (n ≥ c) with the rest.
func mannWhitneyZ(x []float64, n []int32, c int) float64 {
	r, ties := ranks(x)
	r1, n1 := 0.0, 0
	for i, v := range n {
		if int(v) >= c {
			r1 += r[i]
			n1++
		}
	}
	return mwZ(r1, n1, len(x)-n1, ties)
}

// MannWhitneyZ is the one-sided Mann–Whitney statistic of the values x
// whose group is true against the others (normal approximation with the
// tie correction): positive when the group's values are larger. It is 0
// when either group is empty.
func MannWhitneyZ(x []float64, group []bool) float64 {
	r, ties := ranks(x)
	r1, n1 := 0.0, 0
	for i, g := range group {
		if g {
			r1 += r[i]
			n1++
		}
	}
	return mwZ(r1, n1, len(x)-n1, ties)
}

// levelZ returns mannWhitneyZ(x, n, c) for every c in 0..maxC at the cost
// of one ranking.
func levelZ(x []float64, n []int32, maxC int) []float64 {
	r, ties := ranks(x)
	sum := make([]float64, maxC+2)
	cnt := make([]int, maxC+2)
	for i, v := range n {
		l := min(int(v), maxC+1)
		sum[l] += r[i]
		cnt[l]++
	}
	z := make([]float64, maxC+1)
	r1, n1 := 0.0, 0
	for c := maxC + 1; c >= 0; c-- {
		r1 += sum[c]
		n1 += cnt[c]
		if c <= maxC {
			z[c] = mwZ(r1, n1, len(x)-n1, ties)
		}
	}
	return z
}
