package queue

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// truth is a synthetic queue with known servers, service times and waits.
type truth struct {
	jobs    []Job
	service []float64 // true service time of each job, in jobs' order
}

// draw returns a service time in ns with mean 1 ms.
type draw func(r *rand.Rand) float64

func expService(r *rand.Rand) float64 { return r.ExpFloat64() * 1e6 }

// logNormal has mean 1 ms and σ = 1: a heavy tail (M/G/c).
func logNormal(r *rand.Rand) float64 {
	const sigma = 1.0
	mu := math.Log(1e6) - sigma*sigma/2
	return math.Exp(mu + sigma*r.NormFloat64())
}

func constService(*rand.Rand) float64 { return 1e6 }

// depHeap is a min-heap of (departure time, job).
type depHeap []struct {
	t int64
	j int
}

func (h depHeap) Len() int           { return len(h) }
func (h depHeap) Less(i, k int) bool { return h[i].t < h[k].t }
func (h depHeap) Swap(i, k int)      { h[i], h[k] = h[k], h[i] }
func (h *depHeap) Push(x any) {
	*h = append(*h, x.(struct {
		t int64
		j int
	}))
}
func (h *depHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// simulate runs n jobs through c servers (c = 0: unlimited) under
// Poisson arrivals of rate rho·c per mean service time (rho·1 for
// unlimited: the mean number busy), service times from d. A freed server
// takes the oldest waiting job, except with probability barge a random
// waiting one (not quite FIFO, as a Go mutex or a pool handing
// connections to any waiter).
func simulate(seed uint64, n, c int, rho float64, d draw, barge float64) truth {
	r := rand.New(rand.NewPCG(seed, 7))
	const mean = 1e6
	rate := rho * float64(max(c, 1)) / mean
	t := truth{jobs: make([]Job, n), service: make([]float64, n)}
	arr := 0.0
	for i := range t.jobs {
		arr += r.ExpFloat64() / rate
		t.jobs[i].Arrive = int64(arr)
		t.service[i] = math.Max(1, math.Round(d(r)))
	}
	var deps depHeap
	var wait []int
	busy := 0
	startJob := func(j int, at int64) {
		busy++
		t.jobs[j].Depart = at + int64(t.service[j])
		heap.Push(&deps, struct {
			t int64
			j int
		}{t.jobs[j].Depart, j})
	}
	next := 0
	for next < n || deps.Len() > 0 {
		if next < n && (deps.Len() == 0 || t.jobs[next].Arrive < deps[0].t) {
			j := next
			next++
			if c == 0 || busy < c {
				startJob(j, t.jobs[j].Arrive)
			} else {
				wait = append(wait, j)
			}
			continue
		}
		d := heap.Pop(&deps).(struct {
			t int64
			j int
		})
		busy--
		if len(wait) > 0 {
			k := 0
			if barge > 0 && r.Float64() < barge {
				k = r.IntN(len(wait))
			}
			j := wait[k]
			wait = append(wait[:k], wait[k+1:]...)
			startJob(j, d.t)
		}
	}
	return t
}

func meanOf(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TestInferKnownServers: on synthetic c-server queues (c ∈ {1, 2, 4, 8})
// at loads 0.3–0.9, with exponential, heavy-tailed (lognormal σ = 1) and
// constant service, FIFO and not quite FIFO (10% of the servers freed go
// to a random waiter), Infer finds a limit, exactly c servers, and the
// mean service time within 3%. Low loads on many servers queue rarely
// (at ρ = 0.3 an M/M/8 makes 0.3% of its jobs wait), so those cases get
// more jobs: the test states the evidence it needs.
func TestInferKnownServers(t *testing.T) {
	services := []struct {
		name string
		d    draw
	}{{"M", expService}, {"LN", logNormal}, {"D", constService}}
	for _, c := range []int{1, 2, 4, 8} {
		for _, rho := range []float64{0.3, 0.5, 0.7, 0.9} {
			for _, sv := range services {
				for _, barge := range []float64{0, 0.1} {
					name := fmt.Sprintf("%s/%s/%d/rho%.1f/barge%.1f", sv.name, "G", c, rho, barge)
					t.Run(name, func(t *testing.T) {
						n := 40_000
						if rho < 0.5 && c >= 4 {
							n = 200_000
						}
						if testing.Short() && n > 40_000 {
							t.Skip("needs 200k jobs; skipped with -short")
						}
						tr := simulate(uint64(c*100+int(rho*10)), n, c, rho, sv.d, barge)
						svc := make([]float64, n)
						res := Infer(tr.jobs, Options{}, svc)
						want := meanOf(tr.service)
						if !res.Limited || res.C != c {
							t.Fatalf("inferred %+v, want %d servers", res, c)
						}
						if e := math.Abs(res.MeanService/want - 1); e > 0.03 {
							t.Errorf("mean service %.4f ms, true %.4f ms (%.1f%% off, want ≤ 3%%)", res.MeanService/1e6, want/1e6, 100*e)
						}
						if e := math.Abs(meanOf(svc)/want - 1); e > 0.03 {
							t.Errorf("mean of service times written %.4f ms, true %.4f ms", meanOf(svc)/1e6, want/1e6)
						}
					})
				}
			}
		}
	}
}

// TestInferNoLimit: without a limit (an infinite-server queue: a pure
// delay) no limit is inferred, at a mean of 0.5, 3 and 20 busy, for
// exponential, heavy-tailed and constant service times.
func TestInferNoLimit(t *testing.T) {
	for _, busy := range []float64{0.5, 3, 20} {
		for _, sv := range []struct {
			name string
			d    draw
		}{{"M", expService}, {"LN", logNormal}, {"D", constService}} {
			t.Run(fmt.Sprintf("%s/busy%.1f", sv.name, busy), func(t *testing.T) {
				tr := simulate(uint64(busy*10)+3, 50_000, 0, busy, sv.d, 0)
				svc := make([]float64, len(tr.jobs))
				res := Infer(tr.jobs, Options{}, svc)
				if res.Limited {
					t.Fatalf("inferred a limit where there is none: %+v", res)
				}
				if res.WaitShare != 0 || math.Abs(meanOf(svc)/meanOf(tr.service)-1) > 1e-9 {
					t.Errorf("wait share %v, service mean %v vs %v: want the durations as they are", res.WaitShare, meanOf(svc), meanOf(tr.service))
				}
			})
		}
	}
}

// TestInferCausalPatterns: back-to-back uses that their own request
// explains are not a queue. A closed loop of 5 clients with no think
// time (each client's next call starts the instant its last one ended),
// an N+1 loop (a request's 10 calls one after another) and retries (a
// failed call sent again at once) all keep the resource as busy as it
// can be without ever making anyone wait: no limit.
func TestInferCausalPatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var closed []Job
	for client := range 5 {
		at := int64(client) * 100_000
		for range 10_000 {
			d := int64(expService(r)) + 1
			closed = append(closed, Job{Arrive: at, Depart: at + d})
			at += d
		}
	}
	var loops []Job
	at := 0.0
	for range 3000 { // requests arrive at 0.5 per ms, each makes 10 calls in a row
		at += r.ExpFloat64() * 2e6
		t0 := int64(at)
		for range 10 {
			d := int64(logNormal(r)) + 1
			loops = append(loops, Job{Arrive: t0, Depart: t0 + d})
			t0 += d + 20_000 // the caller's loop overhead
		}
	}
	var retries []Job
	at = 0
	for range 20_000 {
		at += r.ExpFloat64() * 0.5e6
		t0 := int64(at)
		for attempt := 0; attempt < 3; attempt++ {
			d := int64(expService(r)) + 1
			retries = append(retries, Job{Arrive: t0, Depart: t0 + d})
			t0 += d
			if r.Float64() < 0.7 {
				break // succeeded
			}
		}
	}
	for _, c := range []struct {
		name string
		jobs []Job
	}{{"closed loop, 5 clients, no think time", closed}, {"N+1 loops", loops}, {"retries", retries}} {
		if res := Infer(c.jobs, Options{}, nil); res.Limited {
			t.Errorf("%s: inferred %+v, want no limit", c.name, res)
		}
	}
}

// TestInferThinEvidence: a resource never seen with two uses at once, or
// seen so only a few times, gets no limit, whatever its durations.
func TestInferThinEvidence(t *testing.T) {
	var jobs []Job
	for i := range 1000 {
		jobs = append(jobs, Job{Arrive: int64(i) * 10e6, Depart: int64(i)*10e6 + 5e6})
	}
	if res := Infer(jobs, Options{}, nil); res.Limited || res.MaxPresent != 1 || res.Overlapping != 0 {
		t.Errorf("never concurrent: %+v, want no limit, 1 present at most", res)
	}
	// 20 overlaps, each of which waited: too few to tell.
	for i := range 20 {
		jobs = append(jobs, Job{Arrive: int64(i)*10e6 + 1e6, Depart: int64(i)*10e6 + 9e6})
	}
	if res := Infer(jobs, Options{}, nil); res.Limited {
		t.Errorf("20 overlaps: %+v, want no limit (fewer than %d)", res, DefaultMinWaiting)
	}
}

// TestInferJitter: timestamps rounded to whole microseconds and departures
// shifted by up to ±20 µs (clock and scheduling noise on a 1 ms service)
// do not change the inferred servers.
func TestInferJitter(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []int{1, 4} {
		tr := simulate(uint64(c), 40_000, c, 0.7, expService, 0)
		for i := range tr.jobs {
			j := &tr.jobs[i]
			j.Arrive = j.Arrive / 1000 * 1000
			j.Depart = max(j.Arrive, (j.Depart+int64((r.Float64()-0.5)*40_000))/1000*1000)
		}
		if res := Infer(tr.jobs, Options{}, nil); !res.Limited || res.C != c {
			t.Errorf("c=%d with jitter: %+v", c, res)
		}
	}
}

// TestReconstructByHand: one server, three jobs: (0, 10), (2, 15),
// (3, 17) start at 0, 10 and 15; two servers start all three jobs... the
// third at 10, when the first frees a server. A job departing while the
// FIFO order has it waiting (a barging (5, 8) behind (2, 15) on one
// server) takes the latest start in service and that job starts again.
func TestReconstructByHand(t *testing.T) {
	jobs := []Job{{0, 10}, {2, 15}, {3, 17}}
	for _, c := range []struct {
		c    int
		want []int64
	}{{1, []int64{0, 10, 15}}, {2, []int64{0, 2, 10}}, {3, []int64{0, 2, 3}}} {
		start := make([]int64, len(jobs))
		if rep := Reconstruct(jobs, c.c, start); rep != 0 || fmt.Sprint(start) != fmt.Sprint(c.want) {
			t.Errorf("c=%d: starts %v (%d repairs), want %v", c.c, start, rep, c.want)
		}
	}
	// One server: (0, 10) serving, (2, 15) and (5, 8) wait; (5, 8)
	// departs at 8 while waiting: it overtook. It takes the start of the
	// job in service, 0 — which starts again at 8, when (5, 8) leaves.
	// Then (2, 15) starts at 10 on (0,10)'s departure.
	jobs = []Job{{0, 10}, {2, 15}, {5, 8}}
	start := make([]int64, 3)
	rep := Reconstruct(jobs, 1, start)
	if rep != 1 || fmt.Sprint(start) != "[8 10 5]" {
		t.Errorf("barging: starts %v (%d repairs), want [8 10 5] and 1 repair", start, rep)
	}
	for i, j := range jobs {
		if start[i] < j.Arrive || start[i] > j.Depart {
			t.Errorf("job %d starts at %d, outside [%d, %d]", i, start[i], j.Arrive, j.Depart)
		}
	}
}

// BenchmarkInfer: one resource with a million uses (an M/M/4 at ρ = 0.7).
func BenchmarkInfer(b *testing.B) {
	tr := simulate(1, 1_000_000, 4, 0.7, expService, 0)
	jobs := make([]Job, len(tr.jobs))
	b.ReportAllocs()
	for b.Loop() {
		copy(jobs, tr.jobs)
		Infer(jobs, Options{}, nil)
	}
}

// closedLoop runs clients that each send a request, wait for it, think
// (exponential, mean think ns) and send the next, through c FIFO
// servers with exponential 1 ms service: n jobs in all.
func closedLoop(seed uint64, clients, c, n int, think float64) truth {
	r := rand.New(rand.NewPCG(seed, 11))
	t := truth{}
	next := make([]float64, clients) // each client's next arrival
	for i := range next {
		next[i] = r.ExpFloat64() * think
	}
	free := make([]float64, c) // when each server frees
	for len(t.jobs) < n {
		k := 0
		for i := range next {
			if next[i] < next[k] {
				k = i
			}
		}
		a := next[k]
		s := 0
		for i := range free {
			if free[i] < free[s] {
				s = i
			}
		}
		start := math.Max(a, free[s])
		svc := math.Max(1, math.Round(expService(r)))
		d := start + svc
		free[s] = d
		t.jobs = append(t.jobs, Job{Arrive: int64(a), Depart: int64(d)})
		t.service = append(t.service, svc)
		next[k] = d + r.ExpFloat64()*think
	}
	return t
}

// TestInferSaturatedClosedLoop: five clients that send their next
// request as soon as the last one answered keep 2 servers always busy:
// hardly a use finds fewer than 2 others, yet the limit is found (the
// contrast is between deeper and shallower queues), 2 servers exactly.
// With 5 servers the same clients never wait: no limit.
func TestInferSaturatedClosedLoop(t *testing.T) {
	tr := closedLoop(1, 5, 2, 20_000, 50_000)
	res := Infer(tr.jobs, Options{}, nil)
	if !res.Limited || res.C != 2 {
		t.Errorf("5 clients, 2 servers: %+v, want 2 servers", res)
	}
	if e := math.Abs(res.MeanService/meanOf(tr.service) - 1); e > 0.03 {
		t.Errorf("mean service %.3f ms, true %.3f ms", res.MeanService/1e6, meanOf(tr.service)/1e6)
	}
	tr = closedLoop(2, 5, 5, 20_000, 50_000)
	if res := Infer(tr.jobs, Options{}, nil); res.Limited {
		t.Errorf("5 clients, 5 servers: %+v, want no limit", res)
	}
}
