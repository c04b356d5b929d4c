// Package queue infers hidden queues from span timing: given when each
// use of a resource began asking for it and when it let go, it decides
// whether the uses waited for a limited number of servers (a lock, a
// connection or worker pool, a service's workers), how many servers
// there were, and how much of each recorded duration was waiting rather
// than work.
//
// The method is departure-based reconstruction, the idea of Larson's
// queue inference engine (R. C. Larson, "The queue inference engine:
// deducing queue statistics from transactional data", Management Science
// 36(5), 1990) for c servers: with c first-come-first-served servers, a
// use starts service at the later of its arrival and the moment a server
// frees up, so its service time is its departure minus that start (the
// Kiefer–Wolfowitz recursion run on observed departures). Sutton and
// Jordan ("Bayesian inference for queueing networks and modeling of
// internet services", Annals of Applied Statistics 5(1), 2011) infer
// such queues from incomplete traces with a full posterior; this package
// takes the cheaper, deterministic route and chooses c by a test:
//
//   - A limit exists only if uses that arrived to a busy resource (n or
//     more others present) took significantly longer, as recorded, than
//     uses that found it with fewer than n present, for some n: without a
//     limit, a use's duration does not depend on how many others are
//     running (a one-sided Mann–Whitney test, Bonferroni-corrected over
//     the levels tried).
//   - The capacity is the smallest c for which the reconstructed service
//     times of the uses that found c or more present are not
//     significantly shorter than those of the others. With too few
//     servers the reconstruction invents waits, and the service times of
//     the uses that "waited" shrink; with the right c, service times no
//     longer depend on the occupancy at arrival.
//
// Real locks and pools are not strictly FIFO (a Go mutex lets a new
// arrival barge in; some pools hand a freed connection to a random
// waiter). When a use departs while the FIFO reconstruction still has it
// waiting, it must have overtaken someone: the reconstruction swaps its
// start with that of the most recently started use in service (a
// repair). The multiset of start times is then that of any work-
// conserving order, so the mean service time is exact whatever the
// order; only the split between individual uses is approximate.
//
// Everything here is a pure function over slices of times, so that it
// can be tested on synthetic queues with known truth.
package queue

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Job is one use of a resource.
type Job struct {
	// Arrive is when the use asked for the resource, ns.
	Arrive int64
	// Depart is when it let go of it, ns (≥ Arrive).
	Depart int64
}

// Options tune Infer. The zero value uses the defaults.
type Options struct {
	// MinWaiting is the least number of uses that must have arrived to
	// a full resource (with at least c others present) before a limit
	// of c is inferred; fewer are not evidence (default 30).
	MinWaiting int
	// Alpha is the significance of the tests (default 0.001): the
	// chance of inferring a limit where there is none.
	Alpha float64
	// MaxC bounds the capacities tried (default: the most uses ever
	// present at once).
	MaxC int
}

// DefaultMinWaiting is Options.MinWaiting's default.
const DefaultMinWaiting = 30

// DefaultAlpha is Options.Alpha's default.
const DefaultAlpha = 0.001

func (o Options) withDefaults() Options {
	if o.MinWaiting <= 0 {
		o.MinWaiting = DefaultMinWaiting
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		o.Alpha = DefaultAlpha
	}
	return o
}

// Result is what Infer found.
type Result struct {
	Jobs int
	// MaxPresent is the most uses present at once (arrived, not yet
	// departed), waiting or served.
	MaxPresent int
	// Overlapping counts the uses that arrived while another was
	// present.
	Overlapping int
	// Limited reports that the uses waited for C servers.
	Limited bool
	C       int
	// Waiting counts the uses that arrived with C or more others
	// present (with Limited: the ones that waited).
	Waiting int
	// Repairs counts the uses that departed while the FIFO
	// reconstruction still had them waiting (see the package comment).
	Repairs int
	// Z is the one-sided Mann–Whitney statistic of the recorded
	// durations of the uses that arrived to C or more others against
	// the rest (positive: they took longer), ZCrit the threshold it had
	// to pass.
	Z, ZCrit float64
	// WaitShare is the share of all recorded time (Σ durations,
	// Recorded ns) that was waiting (Waited ns); MeanService the mean
	// service time, ns.
	WaitShare        float64
	Recorded, Waited float64
	MeanService      float64
	// Reason says in words why there is or is not a limit.
	Reason string
}

// String summarises r in one line.
func (r Result) String() string {
	if !r.Limited {
		return r.Reason
	}
	return fmt.Sprintf("%d server(s); %.0f%% of recorded time was waiting (%s)", r.C, 100*r.WaitShare, r.Reason)
}

// Infer decides whether jobs waited for a limited number of servers
// (see the package comment). jobs need not be sorted; Infer sorts them
// by arrival (then departure) in place. service, if not nil, must have
// len(jobs) entries and receives each job's service time in ns: its
// duration minus the inferred wait (the whole duration when there is no
// limit).
func Infer(jobs []Job, opt Options, service []float64) Result {
	opt = opt.withDefaults()
	slices.SortFunc(jobs, func(a, b Job) int {
		if c := cmp.Compare(a.Arrive, b.Arrive); c != 0 {
			return c
		}
		return cmp.Compare(a.Depart, b.Depart)
	})
	r := Result{Jobs: len(jobs)}
	n := Occupancy(jobs)
	maxN := 0
	for _, x := range n {
		maxN = max(maxN, int(x))
		if x > 0 {
			r.Overlapping++
		}
	}
	r.MaxPresent = maxN + 1
	if len(jobs) == 0 {
		r.MaxPresent = 0
	}
	total := 0.0
	dur := make([]float64, len(jobs))
	for i, j := range jobs {
		dur[i] = float64(j.Depart - j.Arrive)
		total += dur[i]
	}
	r.Recorded = total
	noLimit := func(reason string) Result {
		r.Reason = reason
		r.MeanService = total / float64(max(len(jobs), 1))
		if service != nil {
			copy(service, dur)
		}
		return r
	}
	if r.Overlapping < opt.MinWaiting {
		return noLimit(fmt.Sprintf("no limit: %d of %d uses overlapped another, fewer than the %d needed to tell", r.Overlapping, len(jobs), opt.MinWaiting))
	}
	maxC := maxN
	if opt.MaxC > 0 {
		maxC = min(maxC, opt.MaxC)
	}
	// Levels c = 1..maxC, each a Mann–Whitney test of the recorded
	// durations: Bonferroni over them.
	zc := zCrit(opt.Alpha / float64(max(maxC, 1)))
	r.ZCrit = zc
	rawZ := levelZ(dur, n, maxC)
	best := math.Inf(-1)
	for c := 1; c <= maxC; c++ {
		if waiting(n, c) >= opt.MinWaiting && len(jobs)-waiting(n, c) >= opt.MinWaiting {
			best = max(best, rawZ[c])
		}
	}
	if !(best > zc) {
		return noLimit(fmt.Sprintf("no limit: uses that found others running took no longer than the rest (best z %.1f < %.1f over %d uses)", max(best, 0), zc, len(jobs)))
	}
	// The smallest c whose reconstruction is not significantly
	// shorter for the uses that found c others: binary search, the
	// statistic rising with c (fewer servers invent more waiting).
	start := make([]int64, len(jobs))
	svc := make([]float64, len(jobs))
	rc := newReconstructor(jobs)
	// split is the level that tests c: the smallest from c up at which
	// both the uses that found that many others and the rest are enough
	// to compare (a saturated resource has hardly a use that found fewer
	// than c); 0 when there is none.
	split := func(c int) int {
		for l := c; l <= maxC; l++ {
			if w := waiting(n, l); w >= opt.MinWaiting && len(jobs)-w >= opt.MinWaiting {
				return l
			}
		}
		return 0
	}
	// tooFew reports whether c servers are fewer than the resource has:
	// the reconstruction's service times of the uses that found the
	// resource full are significantly shorter than the rest's (it
	// invents waits), or more than a quarter of the uses it makes wait
	// would have had to overtake (a FIFO resource has none; one that
	// hands off out of order, a few).
	tooFew := func(c int) bool {
		repairs := rc.run(c, start)
		if w := waiting(n, c); repairs >= opt.MinWaiting && float64(repairs) > 0.25*float64(w) {
			return true
		}
		l := split(c)
		if l == 0 {
			return false
		}
		for i, j := range jobs {
			svc[i] = float64(j.Depart - start[i])
		}
		return !(mannWhitneyZ(svc, n, l) > -zc)
	}
	lo, hi := 1, maxC // the answer is in [lo, hi]; hi always passes
	for lo < hi {
		mid := (lo + hi) / 2
		if tooFew(mid) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	c := lo
	r.C = c
	r.Waiting = waiting(n, c)
	// The uses that found c or more others must have taken longer, at
	// some level from c up: a resource always busy (a closed loop that
	// keeps it saturated) has almost no use that found fewer than c, and
	// its contrast shows between deeper and shallower queues.
	r.Z = math.Inf(-1)
	for l := c; l <= maxC; l++ {
		if waiting(n, l) >= opt.MinWaiting && len(jobs)-waiting(n, l) >= opt.MinWaiting {
			r.Z = max(r.Z, rawZ[l])
		}
	}
	if r.Waiting < opt.MinWaiting || !(r.Z > zc) {
		return noLimit(fmt.Sprintf("no limit: the uses that found %d or more others running (%d) took no significantly longer (z %.1f < %.1f)", c, r.Waiting, max(r.Z, 0), zc))
	}
	r.Limited = true
	r.Repairs = rc.run(c, start)
	waited, served := 0.0, 0.0
	for i, j := range jobs {
		waited += float64(start[i] - j.Arrive)
		s := float64(j.Depart - start[i])
		served += s
		if service != nil {
			service[i] = s
		}
	}
	r.Waited = waited
	if total > 0 {
		r.WaitShare = waited / total
	}
	r.MeanService = served / float64(len(jobs))
	r.Reason = fmt.Sprintf("the %d uses that found %d or more others running took longer (z %.1f > %.1f) and, with %d servers, their service times match the rest's", r.Waiting, c, r.Z, zc, c)
	return r
}

// Occupancy returns, for jobs sorted by arrival, how many other jobs
// were present (arrived before, not yet departed) at each arrival. A job
// departing at the very moment another arrives is gone.
func Occupancy(jobs []Job) []int32 {
	departs := make([]int64, len(jobs))
	for i, j := range jobs {
		departs[i] = j.Depart
	}
	slices.Sort(departs)
	n := make([]int32, len(jobs))
	gone := 0
	for i, j := range jobs {
		for gone < len(departs) && departs[gone] <= j.Arrive {
			gone++
		}
		// Jobs before i in arrival order, less those already gone. A
		// job arriving at the same instant after i in the order cannot
		// have departed by then, so gone counts only earlier ones...
		// except zero-length jobs arriving and departing at this very
		// instant, which gone may count although they come after i.
		n[i] = int32(max(i-gone, 0))
	}
	return n
}

// waiting counts the jobs that found c or more others present.
func waiting(n []int32, c int) int {
	k := 0
	for _, x := range n {
		if int(x) >= c {
			k++
		}
	}
	return k
}

// Reconstruct computes each job's start of service with c
// first-come-first-served servers from the jobs' arrivals and observed
// departures (jobs sorted by arrival), writing it to start. A job that
// departs while the reconstruction has it still waiting overtook
// someone: it takes the start of the most recently started job in
// service, which starts again at this departure (a repair; see the
// package comment). It returns the number of repairs. Every start lies
// between the job's arrival and its departure.
func Reconstruct(jobs []Job, c int, start []int64) int {
	return newReconstructor(jobs).run(c, start)
}

// reconstructor runs Reconstruct for several c on the same jobs, sorting
// the departures and allocating its scratch space once.
type reconstructor struct {
	jobs  []Job
	order []int32 // by departure
	state []uint8
	fifo  []int32
	h     *serving
}

func newReconstructor(jobs []Job) *reconstructor {
	r := &reconstructor{jobs: jobs, order: make([]int32, len(jobs)), state: make([]uint8, len(jobs))}
	for i := range r.order {
		r.order[i] = int32(i)
	}
	slices.SortFunc(r.order, func(a, b int32) int {
		if c := cmp.Compare(jobs[a].Depart, jobs[b].Depart); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return r
}

const (
	notYet = iota
	queued
	serving_
	gone
)

func (r *reconstructor) run(c int, start []int64) int {
	c = max(c, 1)
	jobs, order, state := r.jobs, r.order, r.state
	clear(state)
	fifo := r.fifo[:0]
	head := 0
	if r.h == nil {
		r.h = newServing(c, len(jobs), start)
	}
	h := r.h
	h.reset(start)
	repairs := 0
	ia, id := 0, 0
	for id < len(order) {
		// Departures first on ties: a server freed at t serves an
		// arrival at t.
		if ia < len(jobs) && jobs[ia].Arrive < jobs[order[id]].Depart {
			i := int32(ia)
			ia++
			if state[i] == gone {
				continue // a zero-length job, departed at this instant
			}
			if h.len() < c {
				start[i] = jobs[i].Arrive
				state[i] = serving_
				h.push(i)
			} else {
				state[i] = queued
				fifo = append(fifo, i)
			}
			continue
		}
		j := order[id]
		id++
		now := jobs[j].Depart
		switch state[j] {
		case serving_:
			h.remove(j)
		case queued:
			// j overtook: it takes the latest start in service, whose
			// job starts over now, in the server j frees. With fewer
			// servers than the resource has, every job in service may
			// have started before j arrived: then j found a server
			// free, and starts on arrival.
			repairs++
			k := h.top()
			start[j] = max(start[k], jobs[j].Arrive)
			start[k] = now
			h.fix(k)
			state[j] = gone
			continue
		case notYet:
			// Departs before it arrived in the order: a job of zero
			// length at a tie. It never held a server.
			start[j] = jobs[j].Arrive
			state[j] = gone
			continue
		}
		state[j] = gone
		// Serve the oldest job still waiting.
		for head < len(fifo) && state[fifo[head]] != queued {
			head++
		}
		if head < len(fifo) {
			k := fifo[head]
			head++
			start[k] = now
			state[k] = serving_
			h.push(k)
		}
		if head > 1024 && 2*head > len(fifo) {
			n := copy(fifo, fifo[head:])
			fifo, head = fifo[:n], 0
		}
	}
	r.fifo = fifo
	return repairs
}

// serving is the set of jobs in service, a max-heap by start time (ties:
// the later job) with each job's position, so that the most recently
// started job is found and any job removed in O(log c).
type serving struct {
	heap  []int32
	pos   []int32 // job → heap index, -1 when absent
	start []int64
}

func newServing(c, n int, start []int64) *serving {
	s := &serving{heap: make([]int32, 0, c), pos: make([]int32, n), start: start}
	for i := range s.pos {
		s.pos[i] = -1
	}
	return s
}

// reset empties the set for a run writing its starts to start.
func (s *serving) reset(start []int64) {
	for _, j := range s.heap {
		s.pos[j] = -1
	}
	s.heap = s.heap[:0]
	s.start = start
}

func (s *serving) len() int   { return len(s.heap) }
func (s *serving) top() int32 { return s.heap[0] }
func (s *serving) less(a, b int32) bool {
	if s.start[a] != s.start[b] {
		return s.start[a] > s.start[b]
	}
	return a > b
}

func (s *serving) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.pos[s.heap[i]] = int32(i)
	s.pos[s.heap[j]] = int32(j)
}

func (s *serving) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(s.heap[i], s.heap[p]) {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *serving) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(s.heap) {
			return
		}
		m := l
		if r := l + 1; r < len(s.heap) && s.less(s.heap[r], s.heap[l]) {
			m = r
		}
		if !s.less(s.heap[m], s.heap[i]) {
			return
		}
		s.swap(i, m)
		i = m
	}
}

func (s *serving) push(j int32) {
	s.heap = append(s.heap, j)
	s.pos[j] = int32(len(s.heap) - 1)
	s.up(len(s.heap) - 1)
}

func (s *serving) remove(j int32) {
	i := int(s.pos[j])
	last := len(s.heap) - 1
	if i != last {
		s.swap(i, last)
	}
	s.heap = s.heap[:last]
	s.pos[j] = -1
	if i < last {
		s.down(i)
		s.up(i)
	}
}

// fix restores the heap after job j's start changed.
func (s *serving) fix(j int32) {
	i := int(s.pos[j])
	s.down(i)
	s.up(i)
}
