package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// startedJobs turns a synthetic queue into observed-start jobs: each
// request leaves its caller 100–300 µs before it reaches the queue (the
// network), and unknown of every 10 arrivals are not traced.
func startedJobs(tr truth, seed uint64, unknown int) []StartedJob {
	r := rand.New(rand.NewPCG(seed, 9))
	out := make([]StartedJob, len(tr.jobs))
	for i, j := range tr.jobs {
		net := int64(100_000 + r.IntN(200_000))
		start := j.Depart - int64(tr.service[i])
		out[i] = StartedJob{Arrive: j.Arrive - net, Known: r.IntN(10) >= unknown, Start: start, Depart: j.Depart, Offset: net}
	}
	return out
}

// TestInferStartedKnownServers: servers whose wait sits before the
// observed start (an accept queue in front of a server span) are found
// exactly, at loads 0.5–0.9, with a fifth of the arrivals untraced.
func TestInferStartedKnownServers(t *testing.T) {
	for _, c := range []int{1, 2, 4, 8} {
		for _, rho := range []float64{0.5, 0.7, 0.9} {
			t.Run(fmt.Sprintf("c%d/rho%.1f", c, rho), func(t *testing.T) {
				tr := simulate(uint64(c*10+int(rho*10)), 40_000, c, rho, logNormal, 0)
				jobs := startedJobs(tr, 1, 2)
				waits := make([]int64, len(jobs))
				res, explained := InferStarted(jobs, Options{}, waits)
				if !res.Limited || res.C != c {
					t.Fatalf("inferred %+v, want %d servers", res, c)
				}
				if explained < 0.99 {
					t.Errorf("%.3f of the excess start delay fell on arrivals to a full resource, want ≥ 0.99", explained)
				}
				for i, j := range jobs {
					if want := j.Start - j.Arrive - j.Offset; j.Known && waits[i] != want && waits[i] != 0 {
						t.Fatalf("job %d: wait %d, want %d", i, waits[i], want)
					}
				}
			})
		}
	}
}

// TestInferStartedNoLimit: without a limit no wait is inferred — also
// when service times grow with the number in service (a caller whose
// downstream queues when it is busy): the start, not the duration, shows
// waiting.
func TestInferStartedNoLimit(t *testing.T) {
	tr := simulate(4, 40_000, 0, 5, expService, 0)
	if res, _ := InferStarted(startedJobs(tr, 2, 0), Options{}, nil); res.Limited {
		t.Errorf("unlimited: %+v", res)
	}
	// Each job's duration grows with how many were running when it
	// started; nobody waits to start.
	jobs := startedJobs(tr, 3, 0)
	n := Occupancy(tr.jobs)
	for i := range jobs {
		jobs[i].Start = jobs[i].Arrive + jobs[i].Offset
		jobs[i].Depart = jobs[i].Start + int64(tr.service[i])*(1+int64(n[i]))
	}
	if res, _ := InferStarted(jobs, Options{}, nil); res.Limited {
		t.Errorf("durations growing with load, no wait to start: %+v", res)
	}
}
