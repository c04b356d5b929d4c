package scenarios

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// ApplyReplay applies changes to recorded requests, the way Apply applies
// them to a model, and returns changed copies (reqs is never modified),
// the model that supplies capacity (a changed copy of m when a scale
// change asks for it; m itself otherwise, possibly nil) and the composed
// effect on the workload.
//
// Each request keeps its own recorded times; a change rewrites the parts
// it touches:
//
//   - disable fail: each call to the service reaches a failing stand-in
//     after its recorded network cost; the caller fails at that step
//     (its later steps are cut) unless m marks the call optional, and
//     the failure climbs to the root the same way. skip removes the
//     calls; failover renames the callee to the same operation on `to`,
//     keeping the recorded times.
//   - cache: each call to the target is a hit with probability hit_ratio
//     (drawn per call from seed and the request's index, so the draw is
//     the same in every run): a hit costs hit_latency instead of the call
//     and its subtree; a miss makes the recorded call, then pays fill.
//   - batch: a run of sequential calls to the callee in one execution of
//     `in` becomes ⌈N/max_batch⌉ calls costing fixed + per_item × items,
//     queued on the callee's service; local work between the calls is
//     kept, before the batches.
//   - parallelize calls: the listed sequential calls start together at
//     the first one's place. Pool sizes cannot be replayed: a recording
//     shows when each pooled call ran, not the pool's limit.
//   - speedup scales recorded local work; latency adds to recorded
//     network time; error redraws the operation's own failures at the
//     new rate; scale changes the capacity model (so it needs m).
//
// Names are checked against what the recording contains (and m), with
// the nearest suggested, and a change that matches nothing is an error.
func ApplyReplay(reqs []sim.ReplayRequest, m *topology.Model, changes []Change, seed uint64) ([]sim.ReplayRequest, *topology.Model, Effect, error) {
	load := Effect{Factor: 1}
	r := &replayState{m: m, seed: seed, load: &load, ops: map[string]bool{}, services: map[string]bool{}}
	r.reqs = make([]sim.ReplayRequest, len(reqs))
	for i, q := range reqs {
		if q.Root == nil {
			return nil, nil, load, fmt.Errorf("replay request %d: no root execution", i)
		}
		r.reqs[i] = sim.ReplayRequest{Arrive: q.Arrive, Root: copyExec(q.Root)}
	}
	r.each(func(_ int, x *sim.ReplayExec) {
		r.ops[x.Op] = true
		r.services[serviceOf(x.Op)] = true
	})
	if m != nil {
		for name := range m.Operations {
			r.ops[name] = true
		}
		for name := range m.Services {
			r.services[name] = true
		}
	}
	for i, c := range changes {
		if c == nil {
			return nil, nil, load, fmt.Errorf("change %d: missing", i+1)
		}
		r.change = i
		if err := r.apply(c); err != nil {
			return nil, nil, load, fmt.Errorf("%s: %w", describeChange(i, c), err)
		}
	}
	return r.reqs, r.m, load, nil
}

// replayState is the recording being transformed.
type replayState struct {
	reqs     []sim.ReplayRequest
	m        *topology.Model
	cloned   bool // m is already a copy of the caller's
	seed     uint64
	change   int
	load     *Effect
	ops      map[string]bool
	services map[string]bool
}

func copyExec(x *sim.ReplayExec) *sim.ReplayExec {
	c := *x
	c.Steps = make([]sim.ReplayStep, len(x.Steps))
	for i, st := range x.Steps {
		c.Steps[i] = sim.ReplayStep{Work: st.Work}
		if st.Calls != nil {
			c.Steps[i].Calls = make([]sim.ReplayCall, len(st.Calls))
			for j, cl := range st.Calls {
				cl.Callee = copyExec(cl.Callee)
				c.Steps[i].Calls[j] = cl
			}
		}
	}
	return &c
}

// each visits every execution, callers before callees, with the index of
// its request.
func (r *replayState) each(f func(req int, x *sim.ReplayExec)) {
	var walk func(i int, x *sim.ReplayExec)
	walk = func(i int, x *sim.ReplayExec) {
		f(i, x)
		for _, st := range x.Steps {
			for _, cl := range st.Calls {
				walk(i, cl.Callee)
			}
		}
	}
	for i := range r.reqs {
		walk(i, r.reqs[i].Root)
	}
}

// rng is the random source of one request for the current change: the
// same on every run with the same seed, and independent of the order in
// which other requests draw.
func (r *replayState) rng(req int) *rand.Rand {
	return rand.New(rand.NewPCG(r.seed^0x9e3779b97f4a7c15, uint64(req)<<16|uint64(r.change)))
}

func (r *replayState) service(name string) error {
	if !r.services[name] {
		return fmt.Errorf("unknown service %q%s", name, topology.Suggest(name, sortedKeys(r.services)))
	}
	return nil
}

func (r *replayState) operation(name string) error {
	if !r.ops[name] {
		return fmt.Errorf("unknown operation %q%s", name, topology.Suggest(name, sortedKeys(r.ops)))
	}
	return nil
}

// optional says whether the model marks caller's calls to target as
// tolerated; without a model every call is required.
func (r *replayState) optional(caller, target string) bool {
	target = strings.TrimPrefix(target, "disabled:") // a stand-in answers for the call it replaced
	if r.m == nil || r.m.Operations[caller] == nil {
		return false
	}
	for _, sh := range r.m.Operations[caller].Shapes {
		for _, st := range sh.Steps {
			found := false
			forCalls(st, func(c *topology.Call) {
				if c.Target == target && c.Optional {
					found = true
				}
			})
			if found {
				return true
			}
		}
	}
	return false
}

// propagate makes a new failure of a callee (in failed) fail its caller
// at that step unless the call is optional, up to the root: a failed
// required call stops its caller, as in a model-based run.
func (r *replayState) propagate(failed map[*sim.ReplayExec]bool) {
	var walk func(x *sim.ReplayExec) bool
	walk = func(x *sim.ReplayExec) bool {
		for i, st := range x.Steps {
			stop := false
			for _, cl := range st.Calls {
				if walk(cl.Callee) && !cl.Async && !r.optional(x.Op, cl.Callee.Op) {
					stop = true
				}
			}
			if stop {
				x.Error = true
				x.Steps = x.Steps[:i+1]
				failed[x] = true
				break
			}
		}
		return failed[x]
	}
	for i := range r.reqs {
		walk(r.reqs[i].Root)
	}
}

func (r *replayState) apply(c Change) error {
	switch c := c.(type) {
	case *Disable:
		return r.disable(c)
	case *Cache:
		return r.cache(c)
	case *Batch:
		return r.batch(c)
	case *Parallelize:
		return r.parallelize(c)
	case *Scale:
		if c.Pool != "" {
			return errors.New("a shared pool cannot be resized in a replay: recorded calls hold no slots of it (give the model, not traces, to predict a pool change)")
		}
		if r.m == nil {
			return errors.New("scale changes capacity, which a recording does not show: name a model in the scenario (model: beside traces:)")
		}
		if !r.cloned {
			r.m, r.cloned = clone(r.m), true
		}
		return c.apply(&state{m: r.m, load: r.load})
	case *Speedup:
		return r.speedup(c)
	case *Latency:
		return r.latency(c)
	case *Error:
		return r.errorRate(c)
	case *LoadChange:
		return c.apply(&state{load: r.load})
	}
	return fmt.Errorf("change kind %q cannot be replayed", c.Kind())
}

// calls visits every call of the recording with its caller. The calls
// are listed before f sees any, so what f puts in place of a call (a
// cache in front of it, say) is not visited again.
func (r *replayState) calls(f func(req int, caller *sim.ReplayExec, cl *sim.ReplayCall)) {
	type site struct {
		req    int
		caller *sim.ReplayExec
		cl     *sim.ReplayCall
	}
	var sites []site
	r.each(func(i int, x *sim.ReplayExec) {
		for si := range x.Steps {
			for ci := range x.Steps[si].Calls {
				sites = append(sites, site{i, x, &x.Steps[si].Calls[ci]})
			}
		}
	})
	for _, s := range sites {
		f(s.req, s.caller, s.cl)
	}
}

func (r *replayState) disable(c *Disable) error {
	if err := r.service(c.Service); err != nil {
		return err
	}
	if c.Mode == ModeFailover {
		if c.To == "" {
			return errors.New("failover needs to: the service that takes over")
		}
		if c.To == c.Service {
			return fmt.Errorf("failover to %q: the same service", c.To)
		}
		if err := r.service(c.To); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
	}
	n := 0
	var bad error
	failed := map[*sim.ReplayExec]bool{}
	switch c.Mode {
	case ModeFail, ModeFailover:
		r.calls(func(_ int, _ *sim.ReplayExec, cl *sim.ReplayCall) {
			if serviceOf(cl.Callee.Op) != c.Service {
				return
			}
			n++
			if c.Mode == ModeFail {
				x := &sim.ReplayExec{Op: "disabled:" + cl.Callee.Op, Error: true}
				cl.Callee = x
				failed[x] = true
				return
			}
			name := c.To + "/" + opPart(cl.Callee.Op)
			if err := r.operation(name); err != nil && bad == nil {
				bad = fmt.Errorf("failover of %s: %w", cl.Callee.Op, err)
			}
			cl.Callee.Op = name
		})
	case ModeSkip:
		r.each(func(_ int, x *sim.ReplayExec) {
			steps := x.Steps[:0]
			for _, st := range x.Steps {
				if len(st.Calls) > 0 {
					kept := st.Calls[:0]
					for _, cl := range st.Calls {
						if serviceOf(cl.Callee.Op) == c.Service {
							n++
							continue
						}
						kept = append(kept, cl)
					}
					if len(kept) == 0 {
						continue // the group is gone, and its time with it
					}
					st.Calls = kept
				}
				steps = append(steps, st)
			}
			x.Steps = steps
		})
	default:
		modes := []string{ModeFail, ModeSkip, ModeFailover}
		return fmt.Errorf("unknown mode %q%s", c.Mode, topology.Suggest(c.Mode, modes))
	}
	if bad != nil {
		return bad
	}
	if n == 0 {
		return fmt.Errorf("no recorded request calls service %q", c.Service)
	}
	r.propagate(failed)
	return nil
}

func (r *replayState) cache(c *Cache) error {
	if err := r.operation(c.Target); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if c.In != "" {
		if err := r.operation(c.In); err != nil {
			return fmt.Errorf("in: %w", err)
		}
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	// The cache is an operation of its own (unlimited capacity, like the
	// model's synthetic cache), so its time shows in per-operation stats.
	op := "cache:" + serviceOf(c.Target) + "/" + c.Target + "#cache"
	n := 0
	var rng *rand.Rand
	last := -1
	r.calls(func(req int, caller *sim.ReplayExec, cl *sim.ReplayCall) {
		if cl.Callee.Op != c.Target || (c.In != "" && caller.Op != c.In) {
			return
		}
		if req != last {
			rng, last = r.rng(req), req
		}
		n++
		if rng.Float64() < c.HitRatio {
			cl.Callee = &sim.ReplayExec{Op: op, Steps: []sim.ReplayStep{{Work: time.Duration(c.HitLatency)}}}
		} else {
			inner := *cl
			inner.Delay, inner.Async = 0, false
			steps := []sim.ReplayStep{{Calls: []sim.ReplayCall{inner}}}
			if c.Fill > 0 {
				steps = append(steps, sim.ReplayStep{Work: time.Duration(c.Fill)})
			}
			cl.Callee = &sim.ReplayExec{Op: op, Steps: steps}
		}
		cl.Network = 0
	})
	if n == 0 {
		if c.In != "" {
			return fmt.Errorf("%s never calls %s in the recording", c.In, c.Target)
		}
		return fmt.Errorf("no recorded request calls %s", c.Target)
	}
	return nil
}

// single reports whether st is one call (not part of a group) to target.
func single(st sim.ReplayStep, match func(op string) bool) bool {
	return len(st.Calls) == 1 && !st.Calls[0].Async && match(st.Calls[0].Callee.Op)
}

func (r *replayState) batch(c *Batch) error {
	if err := r.operation(c.In); err != nil {
		return fmt.Errorf("in: %w", err)
	}
	if err := r.operation(c.Calls); err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	is := func(op string) bool { return op == c.Calls }
	n := 0
	r.each(func(_ int, x *sim.ReplayExec) {
		if x.Op != c.In {
			return
		}
		var out []sim.ReplayStep
		for i := 0; i < len(x.Steps); {
			if !single(x.Steps[i], is) {
				out = append(out, x.Steps[i])
				i++
				continue
			}
			// A run: calls to the callee, with only local work between.
			var work time.Duration
			var first sim.ReplayCall
			items := 0
			j := i
			for ; j < len(x.Steps); j++ {
				st := x.Steps[j]
				if single(st, is) {
					if items == 0 {
						first = st.Calls[0]
					}
					items++
					continue
				}
				if len(st.Calls) > 0 {
					break
				}
				work += st.Work
			}
			// Trailing work after the last call stays after the batches.
			var tail time.Duration
			for k := j - 1; k > i && len(x.Steps[k].Calls) == 0; k-- {
				tail += x.Steps[k].Work
			}
			work -= tail
			n++
			if work > 0 {
				out = append(out, sim.ReplayStep{Work: work})
			}
			for left := items; left > 0; left -= c.MaxBatch {
				k := min(left, c.MaxBatch)
				cost := time.Duration(c.Fixed + c.PerItem*float64(k))
				out = append(out, sim.ReplayStep{Calls: []sim.ReplayCall{{Network: first.Network,
					Callee: &sim.ReplayExec{Op: c.Calls + "#batch" + strconv.Itoa(k),
						Steps: []sim.ReplayStep{{Work: cost}}}}}})
			}
			if tail > 0 {
				out = append(out, sim.ReplayStep{Work: tail})
			}
			i = j
		}
		x.Steps = out
	})
	if n == 0 {
		return fmt.Errorf("%s makes no sequential call to %s in the recording", c.In, c.Calls)
	}
	return nil
}

func (r *replayState) parallelize(c *Parallelize) error {
	if err := r.operation(c.In); err != nil {
		return fmt.Errorf("in: %w", err)
	}
	if c.PoolSize != 0 || c.PoolTarget != "" {
		return errors.New("a pool's size cannot be replayed: a recording shows when each pooled call ran, not the pool's limit; use a model-based scenario (model:)")
	}
	if len(c.Calls) < 2 {
		return fmt.Errorf("calls needs at least two operations to run in parallel, got %d", len(c.Calls))
	}
	for _, t := range c.Calls {
		if err := r.operation(t); err != nil {
			return fmt.Errorf("calls: %w", err)
		}
	}
	listed := func(op string) bool { return slices.Contains(c.Calls, op) }
	groups := 0
	grouped := map[string]bool{}
	r.each(func(_ int, x *sim.ReplayExec) {
		if x.Op != c.In {
			return
		}
		first := -1
		var group []sim.ReplayCall
		var steps []sim.ReplayStep
		for _, st := range x.Steps {
			if !single(st, listed) {
				steps = append(steps, st)
				continue
			}
			if first < 0 {
				first = len(steps)
				steps = append(steps, sim.ReplayStep{})
			}
			cl := st.Calls[0]
			cl.Delay = 0
			group = append(group, cl)
		}
		if len(group) < 2 {
			return
		}
		groups++
		for _, cl := range group {
			grouped[cl.Callee.Op] = true
		}
		steps[first] = sim.ReplayStep{Calls: group}
		x.Steps = steps
	})
	if groups == 0 {
		return fmt.Errorf("%s never makes two or more sequential calls to the listed operations in the recording", c.In)
	}
	for _, t := range c.Calls {
		if !grouped[t] {
			return fmt.Errorf("%s makes no sequential call to %s alongside the others in the recording", c.In, t)
		}
	}
	return nil
}

func (r *replayState) speedup(c *Speedup) error {
	if err := c.checkParams(); err != nil {
		return err
	}
	match := func(op string) bool { return op == c.Operation }
	what := c.Operation
	if c.Operation != "" {
		if err := r.operation(c.Operation); err != nil {
			return err
		}
	} else {
		if err := r.service(c.Service); err != nil {
			return err
		}
		match = func(op string) bool { return serviceOf(op) == c.Service }
		what = "service " + c.Service
	}
	n := 0
	r.each(func(_ int, x *sim.ReplayExec) {
		if !match(x.Op) {
			return
		}
		for i := range x.Steps {
			if len(x.Steps[i].Calls) == 0 && x.Steps[i].Work > 0 {
				x.Steps[i].Work = time.Duration(float64(x.Steps[i].Work) * c.Factor)
				n++
			}
		}
	})
	if n == 0 {
		return fmt.Errorf("%s has no recorded local work to speed up", what)
	}
	return nil
}

func (r *replayState) latency(c *Latency) error {
	if err := r.service(c.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := r.service(c.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	n := 0
	r.calls(func(_ int, caller *sim.ReplayExec, cl *sim.ReplayCall) {
		if serviceOf(caller.Op) == c.From && serviceOf(cl.Callee.Op) == c.To {
			cl.Network += time.Duration(c.Add)
			n++
		}
	})
	if n == 0 {
		return fmt.Errorf("service %s never calls service %s in the recording", c.From, c.To)
	}
	return nil
}

func (r *replayState) errorRate(c *Error) error {
	if err := r.operation(c.Operation); err != nil {
		return err
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	failed := map[*sim.ReplayExec]bool{}
	n := 0
	var rng *rand.Rand
	last := -1
	r.each(func(req int, x *sim.ReplayExec) {
		if x.Op != c.Operation {
			return
		}
		if req != last {
			rng, last = r.rng(req), req
		}
		n++
		was := x.Error
		x.Error = rng.Float64() < c.Rate
		if x.Error && !was {
			failed[x] = true
		}
	})
	if n == 0 {
		return fmt.Errorf("operation %s never runs in the recording", c.Operation)
	}
	r.propagate(failed)
	return nil
}
