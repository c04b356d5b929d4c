package sim

import (
	"context"
	"errors"
	"fmt"
	"github.com/tracesim/tracesim/topology"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tracesim/tracesim/topology/dist"
)

// Run simulates one replication of cfg.
//
// Semantics worth knowing:
//   - A worker is held for the whole execution, including the time spent
//     waiting on calls (a thread per request).
//   - Network overhead is sampled once per call attempt; half is spent
//     before the callee starts and half after it responds.
//   - An execution's own failure (ErrorRate) is drawn when it starts; it
//     still runs its whole shape and answers with an error.
//   - A failed non-optional call (after its retries) fails the caller at
//     once: the caller stops at that step and answers with an error; its
//     other calls of that step keep running, unobserved. A failed
//     optional call is ignored.
//   - A timeout counts from the start of the attempt (network included);
//     the caller stops waiting and counts an error (retried if allowed);
//     the callee keeps running and holding its worker.
//   - Async calls are started and count as done at once.
//   - Latency of an execution is queue wait + execution; of an endpoint,
//     arrival → response. Failed requests are included in the latency
//     histograms and counted in Errors.
//   - Requests arriving before Warmup, and all executions they cause, are
//     not measured. With Duration, no request starts after
//     Warmup+Duration but those in flight finish; with Requests, the run
//     stops at once when that many measured requests completed.
//   - With Workload.Replay set, recorded requests replace the synthetic
//     workload; see replaySetup in replay.go for the rules (calls never
//     fail their caller, missing services are pure delays, nothing is
//     random). Config.Model may then be nil, and with neither Duration
//     nor Requests the run ends when every replayed request is done.
//   - With Config.OnSpan set, every execution and call attempt of the
//     measured requests is reported as a SpanRecord when it ends.
//   - Instances listed in Config.Down refuse what is sent to them: the
//     execution fails at once, without a worker (see Config.Down).
//   - Closed loop: each user first thinks, then sends; think times are
//     exponential with mean Think (constant if Workload.Constant).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	g, warns, err := newEngine(cfg)
	if err != nil {
		return nil, err
	}
	if err := g.run(ctx); err != nil {
		return nil, err
	}
	return g.result(cfg.Seed, warns), nil
}

func newEngine(cfg Config) (*engine, []string, error) {
	w := cfg.Workload
	replay := len(w.Replay) > 0
	switch {
	case cfg.Model == nil && !replay:
		return nil, nil, fmt.Errorf("sim: config has no model")
	case cfg.Duration < 0 || cfg.Warmup < 0 || cfg.Requests < 0:
		return nil, nil, fmt.Errorf("sim: negative duration, warm-up or request count")
	case cfg.Duration == 0 && cfg.Requests == 0 && !replay:
		return nil, nil, fmt.Errorf("sim: set Duration or Requests: the run would never stop")
	case w.Rate < 0 || math.IsNaN(w.Rate) || math.IsInf(w.Rate, 0):
		return nil, nil, fmt.Errorf("sim: invalid workload rate %v", w.Rate)
	case w.Users < 0 || w.Think < 0:
		return nil, nil, fmt.Errorf("sim: negative users or think time")
	case cfg.MaxEvents < 0:
		return nil, nil, fmt.Errorf("sim: negative MaxEvents")
	}
	if cfg.Balance != "" && cfg.Balance != "round-robin" && cfg.Balance != "least-loaded" {
		return nil, nil, fmt.Errorf("sim: unknown balance %q (want \"round-robin\" or \"least-loaded\")", cfg.Balance)
	}
	var c *compiled
	var reqs []replayReq
	var err error
	if replay {
		c, reqs, err = replaySetup(cfg)
	} else {
		c, err = compile(cfg.Model, cfg.Seed)
	}
	if err != nil {
		return nil, nil, err
	}
	g := &engine{
		c: c, leastLoaded: cfg.Balance == "least-loaded", constant: w.Constant,
		warm: toNS(cfg.Warmup), end: math.MaxInt64, stopArrivals: math.MaxInt64,
		target: int64(cfg.Requests), maxEvents: cfg.MaxEvents, onSpan: cfg.OnSpan,
	}
	if g.onSpan != nil {
		g.opShort = make([]string, len(c.ops))
		g.opSvcNam = make([]string, len(c.ops))
		for i := range c.ops {
			g.opSvcNam[i] = c.svcs[c.ops[i].svc].name
			_, g.opShort[i], _ = strings.Cut(c.ops[i].name, "/")
		}
	}
	if g.maxEvents == 0 {
		g.maxEvents = DefaultMaxEvents
	}
	if cfg.Duration > 0 {
		g.end = g.warm + toNS(cfg.Duration)
		g.stopArrivals = g.end
	}
	g.opEntry = make([]int32, len(c.ops))
	g.svcs = make([]svcState, len(c.svcs))
	for i := range g.svcs {
		g.svcs[i].insts = make([]instance, c.svcs[i].instances)
		if n := len(c.svcs[i].pools); n > 0 {
			for k := range g.svcs[i].insts {
				g.svcs[i].insts[k].pools = make([]poolState, n)
			}
		}
	}
	if err := g.setDown(cfg.Down); err != nil {
		return nil, nil, err
	}
	g.opSt = make([]counter, len(c.ops))
	if replay {
		isRoot := make([]bool, len(c.ops))
		for _, r := range reqs {
			isRoot[r.op] = true
		}
		for i := range c.ops {
			g.opEntry[i] = -1
			if isRoot[i] {
				g.opEntry[i] = int32(len(g.entryOp))
				g.entryOp = append(g.entryOp, int32(i))
			}
		}
		g.epSt = make([]counter, len(g.entryOp))
		g.replay = reqs
		g.h.push(reqs[0].t, evReplay, 0, 0)
		return g, nil, nil
	}
	for i := range c.ops {
		g.opEntry[i] = c.ops[i].entry
	}
	var modelRates []float64
	sum := 0.0
	for i := range c.ops {
		if c.ops[i].entry >= 0 {
			g.entryOp = append(g.entryOp, int32(i))
			modelRates = append(modelRates, c.ops[i].rate)
			sum += c.ops[i].rate
		}
	}
	if len(g.entryOp) == 0 {
		return nil, nil, fmt.Errorf("sim: model has no entry operations: nothing receives traffic")
	}
	// weights split a total (rate or users) over entries in proportion to
	// their model rates, equally if the model has none.
	weights := make([]float64, len(modelRates))
	for i, r := range modelRates {
		if sum > 0 {
			weights[i] = r / sum
		} else {
			weights[i] = 1 / float64(len(modelRates))
		}
	}
	g.rates = make([]float64, len(g.entryOp))
	switch {
	case w.Users > 0:
		uw := w.UserWeights
		if uw == nil {
			uw = userWeights(c, float64(w.Think))
		}
		split := make([]float64, len(g.entryOp))
		total := 0.0
		for i, op := range g.entryOp {
			split[i] = uw[c.ops[op].name]
			total += split[i]
		}
		if !(total > 0) {
			split = weights
		}
		g.users = SplitUsers(w.Users, split)
		if w.Think > 0 {
			if w.Constant {
				g.think, err = dist.NewConstant(float64(w.Think))
			} else {
				g.think, err = dist.NewExponential(float64(w.Think))
			}
			if err != nil {
				return nil, nil, fmt.Errorf("sim: think time: %w", err)
			}
		}
	case w.Rate > 0:
		for i := range g.rates {
			g.rates[i] = w.Rate * weights[i]
		}
	case sum > 0:
		copy(g.rates, modelRates)
	default:
		return nil, nil, fmt.Errorf("sim: no traffic: the model's entry rates are all 0 and the workload sets neither Rate nor Users")
	}
	g.epSt = make([]counter, len(g.entryOp))
	for i, op := range g.entryOp {
		name := c.ops[op].name
		g.arrRng = append(g.arrRng, newRng(cfg.Seed, "arrival", name))
		g.thinkRng = append(g.thinkRng, newRng(cfg.Seed, "think", name))
		g.arrMean = append(g.arrMean, 1e9/g.rates[i])
		if g.rates[i] > 0 {
			g.h.push(g.interArrival(int32(i)), evArrival, int32(i), 0)
		}
	}
	for u := range g.users {
		g.h.push(g.thinkTime(int32(u)), evUser, int32(u), 0)
	}
	// Estimate the offered load; for a closed loop the rate of an entry
	// is at most its users over (think + the entry's mean duration).
	est := g.rates
	if w.Users > 0 {
		est = make([]float64, len(g.entryOp))
		d := c.meanDurations()
		for _, e := range g.users {
			cycle := d[g.entryOp[e]] + float64(w.Think)
			if cycle > 0 {
				est[e] += 1e9 / cycle
			}
		}
	}
	return g, c.loadWarnings(est), nil
}

// setDown marks the instances of down (Config.Down) as down.
func (g *engine) setDown(down map[string][]int) error {
	if len(down) == 0 {
		return nil
	}
	idx := make(map[string]int, len(g.c.svcs))
	for i, s := range g.c.svcs {
		idx[s.name] = i
	}
	for _, name := range sortedKeys(down) {
		i, ok := idx[name]
		if !ok {
			return fmt.Errorf("sim: Down: unknown service %q", name)
		}
		insts := g.svcs[i].insts
		for _, k := range down[name] {
			if k < 0 || k >= len(insts) {
				return fmt.Errorf("sim: Down: service %q has no instance %d (it has %d, numbered from 0)", name, k, len(insts))
			}
			insts[k].down = true
		}
	}
	return nil
}

// UserWeights returns the share of closed-loop users each entry operation
// of m gets (by name): the shares that make the mix of requests match the
// model's entry rates. By Little's law an entry with request rate X and a
// cycle of mean latency R plus think time Z keeps X·(R+Z) users busy, so
// users are spread in proportion to rate × (R + think), with R the mean
// latency of the entry without queueing. Spreading them in proportion to
// the rates alone would give a slow endpoint too few users: in a closed
// loop, fast requests come around more often.
func UserWeights(m *topology.Model, think time.Duration) (map[string]float64, error) {
	c, err := compile(m, 0)
	if err != nil {
		return nil, err
	}
	return userWeights(c, float64(think)), nil
}

func userWeights(c *compiled, think float64) map[string]float64 {
	d := c.meanDurations()
	out := map[string]float64{}
	sum := 0.0
	for i := range c.ops {
		if c.ops[i].entry >= 0 {
			out[c.ops[i].name] = c.ops[i].rate * (d[i] + think)
			sum += out[c.ops[i].name]
		}
	}
	for k, v := range out {
		if sum > 0 {
			out[k] = v / sum
		}
	}
	return out
}

// SplitUsers assigns n users to entries in proportion to weights (largest
// remainder), returning each user's entry index. The testbed spreads its
// users with it too, so both run the same workload.
func SplitUsers(n int, weights []float64) []int32 {
	counts := make([]int, len(weights))
	left := n
	for i, w := range weights {
		counts[i] = int(math.Floor(w * float64(n)))
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best, bestRem := 0, -1.0
		for i, w := range weights {
			if rem := w*float64(n) - float64(counts[i]); rem > bestRem {
				best, bestRem = i, rem
			}
		}
		counts[best]++
	}
	users := make([]int32, 0, n)
	for e, k := range counts {
		for range k {
			users = append(users, int32(e))
		}
	}
	return users
}

func (g *engine) result(seed uint64, warns []string) *Result {
	r := &Result{Seed: seed, Events: g.events, SimTime: time.Duration(g.now),
		Utilization: make(map[string]float64, len(g.svcs)), Warnings: warns}
	for i, op := range g.entryOp {
		c := &g.epSt[i]
		g.opSt[op].h.Merge(&c.h)
		r.Endpoints = append(r.Endpoints, Stats{Name: g.c.ops[op].name, Requests: c.req, Errors: c.errs, Latency: &c.h})
	}
	for i := range g.opSt {
		c := &g.opSt[i]
		r.Operations = append(r.Operations, Stats{Name: g.c.ops[i].name, Requests: c.req, Errors: c.errs, Latency: &c.h})
	}
	end := min(g.end, g.now)
	for i := range g.svcs {
		s := &g.svcs[i]
		sc := g.c.svcs[i]
		// Executions still running (a Requests stop) are busy up to now.
		area := s.area + s.busy*g.clip(g.now)
		u := 0.0
		if sc.workers > 0 && end > g.warm {
			u = float64(area) / (float64(sc.workers) * float64(sc.instances) * float64(end-g.warm))
		}
		r.Utilization[sc.name] = u
	}
	return r
}

// Replicate runs k independent replications of cfg with seeds cfg.Seed,
// cfg.Seed+1, …, on two goroutines; result i always has seed cfg.Seed+i,
// so the output does not depend on scheduling. cfg.OnSpan, if set, is
// called by replication 0 only.
func Replicate(ctx context.Context, cfg Config, k int) ([]*Result, error) {
	if k < 1 {
		return nil, fmt.Errorf("sim: replications %d, need ≥ 1", k)
	}
	out := make([]*Result, k)
	errs := make([]error, k)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	const workers = 2
	for w := range workers {
		wg.Go(func() {
			for i := w; i < k; i += workers {
				c := cfg
				c.Seed = cfg.Seed + uint64(i)
				if i > 0 {
					c.OnSpan = nil // spans describe replication 0 only
				}
				out[i], errs[i] = Run(ctx, c)
				if errs[i] != nil {
					cancel()
					return
				}
				if cfg.OnReplication != nil {
					cfg.OnReplication()
				}
			}
		})
	}
	wg.Wait()
	// Report the error that stopped the others, not a cancellation it
	// caused; when every error is a cancellation, the caller's context
	// was cancelled and the first one says so.
	first := -1
	for i, err := range errs {
		if err == nil {
			continue
		}
		if first < 0 || (errors.Is(errs[first], context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = i
		}
	}
	if first >= 0 {
		return nil, fmt.Errorf("sim: replication %d (seed %d): %w", first, cfg.Seed+uint64(first), errs[first])
	}
	return out, nil
}
