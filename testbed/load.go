package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
)

// Workload is the traffic Load offers the system.
type Workload struct {
	// Rate is the total open-loop Poisson arrival rate (requests/s), split
	// over the entry operations in proportion to their model entry rates
	// (equally if the model gives none). With Rate and Users 0, the
	// model's entry rates are used as they are.
	Rate float64
	// Users > 0 makes the workload closed-loop: each user thinks
	// (exponential with mean Think; none when Think is 0), sends a request,
	// waits for the answer, and repeats. Users are spread over the entry
	// operations like the rate. (sim's users also think first.)
	Users int
	Think time.Duration
	// Duration is the measured period after Warmup: no request starts
	// after Warmup+Duration; those in flight are waited for.
	Duration time.Duration
	// Requests, if > 0, caps the measured requests: no request starts
	// once that many measured requests were sent.
	Requests int
	// Warmup: requests starting during the warm-up are sent but not
	// recorded.
	Warmup time.Duration
}

// FromScenario converts a scenario file's workload (nil: the model's entry
// rates) to a testbed workload; duration, used when the scenario gives
// neither a duration nor a request count, bounds the run. Load changes
// are not part of it: they come with Options.Changes.
func FromScenario(w *scenarios.Workload, duration time.Duration) Workload {
	if w == nil {
		return Workload{Duration: duration}
	}
	out := Workload{Rate: w.Rate, Users: w.Users, Think: w.Think, Duration: w.Duration, Requests: w.Requests, Warmup: w.Warmup}
	if out.Duration == 0 && out.Requests == 0 {
		out.Duration = duration
	}
	return out
}

// Result is what the clients measured, per entry operation.
type Result struct {
	Endpoints []EndpointResult // sorted by Op
	// Wall is the time from the first request sent to the last answer.
	Wall time.Duration
	// Slack is how late a probe goroutine's sleeps woke up during the
	// run (see SlackProbe): how busy this machine's cores were. Every
	// hop and work step of the run was late by about as much.
	Slack Slack
}

// EndpointResult is one entry operation's measured requests.
type EndpointResult struct {
	Op        string          // "service/operation" of the entry operation
	Requests  int             // measured requests
	Errors    int             // non-2xx answer or transport error
	Latencies []time.Duration // client-measured, sorted ascending, every measured request (errors included)
}

// Mean returns the mean latency, 0 without requests.
func (e *EndpointResult) Mean() time.Duration {
	if len(e.Latencies) == 0 {
		return 0
	}
	var sum float64
	for _, l := range e.Latencies {
		sum += float64(l)
	}
	return time.Duration(sum / float64(len(e.Latencies)))
}

// Quantile returns the p-quantile of the latencies (nearest rank), 0
// without requests.
func (e *EndpointResult) Quantile(p float64) time.Duration {
	n := len(e.Latencies)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(n))) - 1
	return e.Latencies[min(max(i, 0), n-1)]
}

// Endpoint returns the result of entry operation op, nil if none.
func (r *Result) Endpoint(op string) *EndpointResult {
	for i := range r.Endpoints {
		if r.Endpoints[i].Op == op {
			return &r.Endpoints[i]
		}
	}
	return nil
}

// load is the state of one Load run.
type load struct {
	s        *System
	client   *http.Client // the open loop's: arrivals share a pool of connections
	warmEnd  time.Time
	end      time.Time // zero: no end but the request cap
	cap      int64
	measured atomic.Int64 // measured requests sent
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	rec      map[string]*EndpointResult
}

// Load offers workload w to the system and measures every request's
// latency at the client, from sending the request to reading the whole
// answer. Load changes of Options.Changes apply as `tracesim whatif`
// applies them: a factor multiplies the rate (or the users, rounded), a
// rate replaces the total rate (for a closed loop, scenarios.Effect.Of
// makes it the number of users, as whatif does). Arrival times, entry
// choices and think times come from the system's seed.
//
// On 2 cores the testbed stays accurate up to a few hundred requests/s of
// a two-hop system (about 1000 spans/s); at 1000 requests/s its own CPU
// use shows in the tail (p99 20 → 59 ms for 20 ms of sleeps).
//
// Load returns when the measured period ended and every request sent has
// been answered, or when ctx ends (then with what was measured so far and
// the context's error).
func (s *System) Load(ctx context.Context, w Workload) (*Result, error) {
	switch {
	case s.closed.Load():
		return nil, errors.New("testbed: load: the system is closed")
	case w.Duration < 0 || w.Warmup < 0 || w.Requests < 0 || w.Users < 0 || w.Think < 0:
		return nil, errors.New("testbed: load: negative duration, warm-up, requests, users or think time")
	case w.Duration == 0 && w.Requests == 0:
		return nil, errors.New("testbed: load: set Duration or Requests: the load would never stop")
	case !(w.Rate >= 0) || math.IsInf(w.Rate, 0):
		return nil, fmt.Errorf("testbed: load: invalid rate %v", w.Rate)
	case w.Rate > 0 && w.Users > 0:
		return nil, errors.New("testbed: load: Rate (open loop) and Users (closed loop) exclude each other")
	case len(s.entries) == 0:
		return nil, errors.New("testbed: load: the model has no entry operation (`entry: {rate: ...}`): nothing receives traffic")
	}
	weights := make([]float64, len(s.entries))
	sum := 0.0
	for _, o := range s.entries {
		sum += o.op.Entry.Rate
	}
	for i, o := range s.entries {
		if sum > 0 {
			weights[i] = o.op.Entry.Rate / sum
		} else {
			weights[i] = 1 / float64(len(weights))
		}
	}
	users := w.Users
	total := w.Rate
	eff := s.effect
	changed := eff.Rate > 0 || eff.Factor != 1
	if users > 0 {
		if changed {
			users = int(math.Round(eff.Of(float64(users))))
		}
		if users < 1 {
			return nil, fmt.Errorf("testbed: load: %d users after the load change", users)
		}
	} else {
		if total == 0 {
			total = sum
		}
		if changed {
			total = eff.Of(total)
		}
		if !(total > 0) {
			return nil, errors.New("testbed: load: no traffic: the model's entry rates are all 0 and the workload sets neither Rate nor Users")
		}
	}

	probe := StartSlackProbe(2 * time.Millisecond)
	defer probe.Stop()
	start := time.Now()
	l := &load{
		s:       s,
		client:  &http.Client{Transport: s.base},
		warmEnd: start.Add(w.Warmup),
		cap:     int64(w.Requests),
		stop:    make(chan struct{}),
		rec:     map[string]*EndpointResult{},
	}
	if w.Duration > 0 {
		l.end = l.warmEnd.Add(w.Duration)
	}
	for _, o := range s.entries {
		l.rec[o.name] = &EndpointResult{Op: o.name}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if users > 0 {
		// Users are spread as sim spreads them (sim.UserWeights), on the
		// baseline topology: the same workload in both.
		uw, err := sim.UserWeights(s.topology, w.Think)
		if err != nil {
			return nil, fmt.Errorf("testbed: load: %w", err)
		}
		split := make([]float64, len(s.entries))
		for i, o := range s.entries {
			split[i] = uw[o.name]
		}
		l.closedLoop(ctx, users, split, w.Think)
	} else {
		l.openLoop(ctx, total, weights, start)
	}
	l.wg.Wait()
	res := &Result{Wall: time.Since(start), Slack: probe.Since(0)}
	for _, o := range s.entries {
		e := l.rec[o.name]
		slices.Sort(e.Latencies)
		res.Endpoints = append(res.Endpoints, *e)
	}
	slices.SortFunc(res.Endpoints, func(a, b EndpointResult) int {
		switch {
		case a.Op < b.Op:
			return -1
		case a.Op > b.Op:
			return 1
		}
		return 0
	})
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("testbed: load interrupted: %w", err)
	}
	return res, nil
}

// admit decides whether a request starting at now may be sent and whether
// it is measured; false, false ends the run.
func (l *load) admit(now time.Time) (send, measured bool) {
	select {
	case <-l.stop:
		return false, false
	default:
	}
	if !l.end.IsZero() && !now.Before(l.end) {
		l.halt()
		return false, false
	}
	if now.Before(l.warmEnd) {
		return true, false
	}
	if l.cap > 0 {
		n := l.measured.Add(1)
		if n > l.cap {
			l.halt()
			return false, false
		}
		if n == l.cap {
			l.halt() // this one is the last
		}
	}
	return true, true
}

func (l *load) halt() { l.stopOnce.Do(func() { close(l.stop) }) }

// openLoop sends Poisson arrivals at total requests/s until the end, on
// one goroutine per request; arrival times follow a fixed schedule from
// start, so a late wake-up sends at once rather than shifting the rest.
func (l *load) openLoop(ctx context.Context, total float64, weights []float64, start time.Time) {
	arr := newRand(l.s.seed, "arrival", "open")
	pick := newRand(l.s.seed, "entry", "open")
	mean := float64(time.Second) / total
	next := start
	for {
		next = next.Add(time.Duration(arr.ExpFloat64() * mean))
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			case <-l.stop:
				t.Stop()
				return
			}
		}
		send, measured := l.admit(next)
		if !send {
			return
		}
		o := l.s.entries[choose(pick.Float64(), weights)]
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.request(ctx, l.client, o, measured)
		}()
	}
}

// closedLoop runs users: each thinks, sends, waits for the answer, and
// repeats until the end. Each user has a client of its own that keeps its
// connection alive, as a worker of wrk or hey does: a user's requests
// arrive on one connection (per entry instance), a new user's on a new
// one, whatever the other users do.
func (l *load) closedLoop(ctx context.Context, users int, weights []float64, think time.Duration) {
	for u, e := range sim.SplitUsers(users, weights) {
		o := l.s.entries[e]
		rng := newRand(l.s.seed, "think", fmt.Sprintf("%s\x00%d", o.name, u))
		tr := l.s.base.Clone() // the same settings, no shared connections
		client := &http.Client{Transport: tr}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer tr.CloseIdleConnections()
			for {
				if think > 0 {
					if err := l.s.sleep(ctx, time.Duration(rng.ExpFloat64()*float64(think))); err != nil {
						return
					}
				}
				send, measured := l.admit(time.Now())
				if !send {
					return
				}
				l.request(ctx, client, o, measured)
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
}

// request sends one request to entry operation o at an instance chosen
// round robin, with client, and records it if measured.
func (l *load) request(ctx context.Context, client *http.Client, o *operation, measured bool) {
	insts := o.svc.instances
	in := insts[int((o.svc.rr.Add(1)-1)%uint64(len(insts)))]
	t0 := time.Now()
	failed := false
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callURL(in.addr, o.short), http.NoBody)
	if err == nil {
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			failed = resp.StatusCode < 200 || resp.StatusCode > 299
		}
	}
	lat := time.Since(t0)
	if err != nil {
		failed = true
		if ctx.Err() != nil {
			return // cancelled: not a measurement
		}
	}
	if !measured {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.rec[o.name]
	e.Requests++
	if failed {
		e.Errors++
	}
	e.Latencies = append(e.Latencies, lat)
}

// choose returns the index whose cumulative weight first exceeds u.
func choose(u float64, weights []float64) int {
	acc := 0.0
	for i, w := range weights {
		acc += w
		if u < acc {
			return i
		}
	}
	return len(weights) - 1
}
