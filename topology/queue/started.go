package queue

import (
	"cmp"
	"fmt"
	"slices"
)

// StartedJob is a use whose start of service is observed, not inferred:
// a server span that starts when the request got a worker (the wait for
// it, in an accept queue, is outside the span), or a call whose server
// span shows when the caller's connection pool let it through.
type StartedJob struct {
	// Arrive is when the use asked for the resource (its client span's
	// start); Known is false when nothing traced it (an entry request),
	// and Arrive is then ignored.
	Arrive int64
	Known  bool
	// Start is when it got a server, Depart when it let go (ns).
	Start, Depart int64
	// Offset is what the gap Start − Arrive holds besides waiting (the
	// network time to get there), as well as it is known; 0 if not.
	Offset int64
}

// InferStarted decides whether jobs waited for a limited number of
// servers when each job's start of service is observed. The servers are
// then the most jobs ever in service at once, c; the jobs waited if the
// ones that arrived while c were in service took significantly longer to
// start than the others (the same one-sided Mann–Whitney test as Infer,
// on the gap between arrival and start). Jobs of unknown arrival count
// for occupancy but not for the test. Explained, in the result, is the
// share of the excess gap (gap − Offset) that fell on jobs that found the
// resource full: near 1 when the grouping of jobs is the resource's.
//
// jobs are sorted in place by start; waits, if not nil, receives each
// job's wait (gap − Offset, ≥ 0, for the jobs that found it full; 0 for
// the others) in that order.
func InferStarted(jobs []StartedJob, opt Options, waits []int64) (Result, float64) {
	opt = opt.withDefaults()
	slices.SortFunc(jobs, func(a, b StartedJob) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Depart, b.Depart)
	})
	r := Result{Jobs: len(jobs)}
	if waits != nil {
		clear(waits)
	}
	// In service at each job's arrival: started at or before it, not
	// yet departed. Starts are sorted; departures sorted separately.
	departs := make([]int64, len(jobs))
	for i, j := range jobs {
		departs[i] = j.Depart
	}
	slices.Sort(departs)
	c, open := 0, 0
	{
		// The most in service at once.
		di := 0
		for _, j := range jobs {
			for di < len(departs) && departs[di] <= j.Start {
				di++
				open--
			}
			open++
			c = max(c, open)
		}
	}
	r.MaxPresent = c
	full := make([]bool, len(jobs))
	var gaps []float64
	var gapFull []bool
	total := 0.0
	for i, j := range jobs {
		if !j.Known {
			total += float64(j.Depart - j.Start)
			continue
		}
		total += float64(j.Depart - j.Arrive - j.Offset)
		t := j.Arrive + j.Offset // when it reached the resource
		started, _ := slices.BinarySearchFunc(jobs, t, func(x StartedJob, t int64) int {
			if x.Start <= t {
				return -1
			}
			return 1
		})
		gone, _ := slices.BinarySearch(departs, t+1) // departed at or before t
		in := started - gone
		if i < started && j.Start <= t {
			in-- // itself, when it started at its arrival
		}
		full[i] = in >= c
		if full[i] {
			r.Overlapping++
		}
		gaps = append(gaps, float64(j.Start-j.Arrive-j.Offset))
		gapFull = append(gapFull, full[i])
	}
	r.Waiting = r.Overlapping
	r.C = c
	zc := zCrit(opt.Alpha)
	r.ZCrit = zc
	r.Z = MannWhitneyZ(gaps, gapFull)
	excessFull, excess := 0.0, 0.0
	waited := 0.0
	for i, j := range jobs {
		if !j.Known {
			continue
		}
		x := float64(max(j.Start-j.Arrive-j.Offset, 0))
		excess += x
		if full[i] {
			excessFull += x
			waited += x
			if waits != nil {
				waits[i] = int64(x)
			}
		}
	}
	explained := 0.0
	if excess > 0 {
		explained = excessFull / excess
	}
	r.Recorded = total
	for _, j := range jobs {
		r.MeanService += float64(j.Depart - j.Start)
	}
	r.MeanService /= float64(max(len(jobs), 1))
	switch {
	case r.Waiting < opt.MinWaiting:
		r.Reason = fmt.Sprintf("no limit: %d of %d traced arrivals found %d in service, fewer than the %d needed to tell", r.Waiting, len(gaps), c, opt.MinWaiting)
		if waits != nil {
			clear(waits)
		}
		return r, explained
	case !(r.Z > zc):
		r.Reason = fmt.Sprintf("no limit: the %d arrivals that found %d in service started no later than the rest (z %.1f < %.1f)", r.Waiting, c, r.Z, zc)
		if waits != nil {
			clear(waits)
		}
		return r, explained
	}
	r.Limited = true
	r.Waited = waited
	if total > 0 {
		r.WaitShare = waited / total
	}
	r.Reason = fmt.Sprintf("never more than %d in service at once, and the %d arrivals that found %d in service waited longer to start (z %.1f > %.1f)", c, r.Waiting, c, r.Z, zc)
	return r, explained
}
