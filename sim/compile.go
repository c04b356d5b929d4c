package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

// Step kinds of a compiled step.
const (
	stepWork = iota
	stepCalls
)

// callC is a compiled call.
type callC struct {
	target   int32 // operation index
	net      dist.Dist
	timeout  int64 // ns, 0 = none
	retries  int32
	backoff  int64
	repeat   int32 // ≥ 1
	optional bool
	async    bool
	netNS    int64   // replay: fixed network overhead (when net is nil)
	rsh      *shapeC // replay: the callee's recorded shape
	delayNS  int64   // replay: time from the step's start to sending the call
	// via is the caller service's shared pool each attempt holds a slot
	// of (index into svcC.pools), −1 for none.
	via int32
}

// stepC is a compiled step: local work, or a group of calls of which at
// most limit run at once (1 for a sequential call, len(calls) for a
// parallel group, Size for a pool).
type stepC struct {
	kind  int
	work  dist.Dist
	calls []callC
	limit int32
	// workNS is a replayed step's recorded work (when work is nil).
	workNS int64
}

type shapeC struct {
	steps []stepC
	err   bool // replay: the execution failed by itself
}

// opC is a compiled operation with its own random streams, so that a
// change elsewhere in the model does not shift its draws (common random
// numbers).
type opC struct {
	name     string
	svc      int32
	errRate  float64
	shapes   []shapeC
	cum      []float64 // cumulative shape weights, normalised to end at 1
	entry    int32     // entry index, -1 if not an entry
	rate     float64   // model entry rate
	shapeRng *rand.Rand
	workRng  *rand.Rand
	netRng   *rand.Rand // network overhead of this operation's outgoing calls
	errRng   *rand.Rand
}

type svcC struct {
	name      string
	instances int32
	workers   int32 // 0 = unlimited
	pools     []poolC
}

// poolC is a shared pool of a service (topology.SharedPool): size slots
// per instance.
type poolC struct {
	name string
	size int32
	// beforeSpan: the wait is before the client span (traced spans start
	// when the slot is held), else inside it.
	beforeSpan bool
}

type compiled struct {
	svcs []svcC
	ops  []opC
}

// streamID derives a random stream number from a purpose and a name, so a
// stream does not depend on how many other operations the model has.
func streamID(purpose, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return h.Sum64()
}

// splitmix64 scrambles a seed: PCG states built from nearby raw seeds
// (replications use Seed, Seed+1, …) would start out correlated.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRng returns the random stream for one purpose ("arrival", "work", …)
// of one named element, derived from the run's seed.
func newRng(seed uint64, purpose, name string) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix64(seed), streamID(purpose, name)))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func toNS(d time.Duration) int64 { return int64(d) }

// compile checks the model and turns it into index-based tables.
func compile(m *topology.Model, seed uint64) (*compiled, error) {
	if m == nil {
		return nil, fmt.Errorf("sim: config has no model")
	}
	if len(m.Operations) == 0 {
		return nil, fmt.Errorf("sim: model has no operations")
	}
	c := &compiled{}
	svcIdx := map[string]int32{}
	for _, name := range sortedKeys(m.Services) {
		s := m.Services[name]
		if s == nil {
			return nil, fmt.Errorf("sim: service %q is nil", name)
		}
		if s.Instances < 1 {
			return nil, fmt.Errorf("sim: service %q: instances %d, need ≥ 1", name, s.Instances)
		}
		if s.Workers < 0 {
			return nil, fmt.Errorf("sim: service %q: negative workers %d", name, s.Workers)
		}
		svcIdx[name] = int32(len(c.svcs))
		sc := svcC{name: name, instances: int32(s.Instances), workers: int32(s.Workers)}
		for _, pn := range sortedKeys(s.Pools) {
			sp := s.Pools[pn]
			if sp == nil || sp.Size < 1 {
				return nil, fmt.Errorf("sim: service %q: pool %q needs a size ≥ 1", name, pn)
			}
			sc.pools = append(sc.pools, poolC{name: pn, size: int32(sp.Size), beforeSpan: sp.Wait == topology.WaitBeforeSpan})
		}
		c.svcs = append(c.svcs, sc)
	}
	opNames := sortedKeys(m.Operations)
	opIdx := map[string]int32{}
	for i, n := range opNames {
		opIdx[n] = int32(i)
	}
	c.ops = make([]opC, len(opNames))
	entries := int32(0)
	for i, name := range opNames {
		op := m.Operations[name]
		if op == nil {
			return nil, fmt.Errorf("sim: operation %q is nil", name)
		}
		svcName, _, ok := strings.Cut(name, "/")
		if !ok {
			return nil, fmt.Errorf("sim: operation %q: name is not \"service/operation\"", name)
		}
		si, ok := svcIdx[svcName]
		if !ok {
			return nil, fmt.Errorf("sim: operation %q: unknown service %q", name, svcName)
		}
		if op.ErrorRate < 0 || op.ErrorRate > 1 || math.IsNaN(op.ErrorRate) {
			return nil, fmt.Errorf("sim: operation %q: error rate %v outside [0, 1]", name, op.ErrorRate)
		}
		oc := opC{
			name: name, svc: si, errRate: op.ErrorRate, entry: -1,
			shapeRng: newRng(seed, "shape", name),
			workRng:  newRng(seed, "work", name),
			netRng:   newRng(seed, "network", name),
			errRng:   newRng(seed, "error", name),
		}
		if op.Entry != nil {
			if op.Entry.Rate < 0 || math.IsNaN(op.Entry.Rate) || math.IsInf(op.Entry.Rate, 0) {
				return nil, fmt.Errorf("sim: operation %q: invalid entry rate %v", name, op.Entry.Rate)
			}
			oc.entry = entries
			oc.rate = op.Entry.Rate
			entries++
		}
		total := 0.0
		for j, sh := range op.Shapes {
			if sh == nil || sh.Weight < 0 || math.IsNaN(sh.Weight) {
				return nil, fmt.Errorf("sim: operation %q shape %d: missing or negative weight", name, j)
			}
			total += sh.Weight
		}
		if len(op.Shapes) > 0 && total <= 0 {
			return nil, fmt.Errorf("sim: operation %q: shape weights sum to %v", name, total)
		}
		acc := 0.0
		for j, sh := range op.Shapes {
			acc += sh.Weight / total
			oc.cum = append(oc.cum, acc)
			var shc shapeC
			for k, st := range sh.Steps {
				sc, err := compileStep(st, opIdx, &c.svcs[si])
				if err != nil {
					return nil, fmt.Errorf("sim: operation %q shape %d step %d: %w", name, j, k, err)
				}
				shc.steps = append(shc.steps, sc)
			}
			oc.shapes = append(oc.shapes, shc)
		}
		if n := len(oc.cum); n > 0 {
			oc.cum[n-1] = 1 // guard against rounding
		}
		c.ops[i] = oc
	}
	return c, nil
}

func compileStep(st *topology.Step, opIdx map[string]int32, caller *svcC) (stepC, error) {
	if st == nil {
		return stepC{}, fmt.Errorf("nil step")
	}
	switch {
	case st.Work != nil:
		return stepC{kind: stepWork, work: st.Work}, nil
	case st.Call != nil:
		cc, err := compileCall(st.Call, opIdx, caller)
		return stepC{kind: stepCalls, calls: []callC{cc}, limit: 1}, err
	case len(st.Parallel) > 0:
		calls := make([]callC, len(st.Parallel))
		for i, c := range st.Parallel {
			cc, err := compileCall(c, opIdx, caller)
			if err != nil {
				return stepC{}, fmt.Errorf("parallel call %d: %w", i, err)
			}
			calls[i] = cc
		}
		return stepC{kind: stepCalls, calls: calls, limit: int32(len(calls))}, nil
	case st.Pool != nil:
		if st.Pool.Size < 1 {
			return stepC{}, fmt.Errorf("pool size %d, need ≥ 1", st.Pool.Size)
		}
		// A pool member with repeat N is N calls through the pool ("fetch
		// 20 items, 5 at a time"), each taking its own slot.
		calls := make([]callC, 0, len(st.Pool.Calls))
		for i, c := range st.Pool.Calls {
			cc, err := compileCall(c, opIdx, caller)
			if err != nil {
				return stepC{}, fmt.Errorf("pool call %d: %w", i, err)
			}
			n := cc.repeat
			cc.repeat = 1
			for range n {
				calls = append(calls, cc)
			}
		}
		return stepC{kind: stepCalls, calls: calls, limit: int32(st.Pool.Size)}, nil
	}
	return stepC{}, fmt.Errorf("step has no work, call, parallel group or pool")
}

func compileCall(c *topology.Call, opIdx map[string]int32, caller *svcC) (callC, error) {
	if c == nil {
		return callC{}, fmt.Errorf("nil call")
	}
	t, ok := opIdx[c.Target]
	if !ok {
		return callC{}, fmt.Errorf("call to unknown operation %q", c.Target)
	}
	if c.Timeout < 0 || c.Repeat < 0 {
		return callC{}, fmt.Errorf("call to %q: negative timeout or repeat", c.Target)
	}
	cc := callC{target: t, net: c.Network, timeout: toNS(c.Timeout), repeat: int32(max(c.Repeat, 1)),
		optional: c.Optional, async: c.Async, via: -1}
	if c.Via != "" {
		cc.via = int32(slices.IndexFunc(caller.pools, func(p poolC) bool { return p.name == c.Via }))
		if cc.via < 0 {
			return callC{}, fmt.Errorf("call to %q via unknown pool %q of service %q", c.Target, c.Via, caller.name)
		}
	}
	if c.Retries != nil {
		if c.Retries.Max < 0 || c.Retries.Backoff < 0 {
			return callC{}, fmt.Errorf("call to %q: negative retries or backoff", c.Target)
		}
		cc.retries = int32(c.Retries.Max)
		cc.backoff = toNS(c.Retries.Backoff)
	}
	return cc, nil
}

// shapeWeight is the probability of shape i of o.
func (o *opC) shapeWeight(i int) float64 {
	if i == 0 {
		return o.cum[0]
	}
	return o.cum[i] - o.cum[i-1]
}

// order returns the operations in topological order of the call graph,
// callers first, and marks the calls that close a cycle (back edges of a
// depth-first search) so the estimates below can ignore them instead of
// recursing forever. The simulation itself guards cycles with MaxEvents.
func (c *compiled) order() (topo []int32, back map[*callC]bool) {
	back = map[*callC]bool{}
	state := make([]uint8, len(c.ops)) // 0 new, 1 on stack, 2 done
	var post []int32
	var visit func(op int32)
	visit = func(op int32) {
		state[op] = 1
		for _, sh := range c.ops[op].shapes {
			for si := range sh.steps {
				for ci := range sh.steps[si].calls {
					cl := &sh.steps[si].calls[ci]
					switch state[cl.target] {
					case 0:
						visit(cl.target)
					case 1:
						back[cl] = true
					}
				}
			}
		}
		state[op] = 2
		post = append(post, op)
	}
	for i := range c.ops {
		if state[i] == 0 {
			visit(int32(i))
		}
	}
	for i := len(post) - 1; i >= 0; i-- {
		topo = append(topo, post[i])
	}
	return topo, back
}

// meanDurations estimates each operation's mean execution time without
// queueing: its work plus the time it waits on calls (sequential calls
// add, a parallel group takes its slowest mean, a pool at least its total
// over its size). Workers are held for the whole execution, so this is
// what occupies a worker. Retries and calls closing a cycle are ignored.
func (c *compiled) meanDurations() []float64 {
	topo, back := c.order()
	d := make([]float64, len(c.ops))
	for i := len(topo) - 1; i >= 0; i-- { // callees first
		op := topo[i]
		o := &c.ops[op]
		total := 0.0
		for si, sh := range o.shapes {
			sd := 0.0
			for _, st := range sh.steps {
				if st.kind == stepWork {
					sd += st.work.Mean()
					continue
				}
				sum, mx := 0.0, 0.0
				for ci := range st.calls {
					cl := &st.calls[ci]
					if cl.async || back[cl] {
						continue
					}
					one := d[cl.target]
					if cl.net != nil {
						one += cl.net.Mean()
					}
					one *= float64(cl.repeat)
					sum += one
					mx = max(mx, one)
				}
				sd += max(mx, sum/float64(st.limit))
			}
			total += o.shapeWeight(si) * sd
		}
		d[op] = total
	}
	return d
}

// visitRates returns the expected executions per second of every
// operation when entry e receives rates[e] requests per second.
func (c *compiled) visitRates(rates []float64) []float64 {
	topo, back := c.order()
	v := make([]float64, len(c.ops))
	for i := range c.ops {
		if e := c.ops[i].entry; e >= 0 {
			v[i] = rates[e]
		}
	}
	for _, op := range topo { // callers first
		o := &c.ops[op]
		for si, sh := range o.shapes {
			for _, st := range sh.steps {
				for ci := range st.calls {
					if cl := &st.calls[ci]; !back[cl] {
						v[cl.target] += v[op] * o.shapeWeight(si) * float64(cl.repeat)
					}
				}
			}
		}
	}
	return v
}

// loadWarnings estimates each service's offered load ρ before the run and
// names the services at or above capacity.
func (c *compiled) loadWarnings(rates []float64) []string {
	v := c.visitRates(rates)
	d := c.meanDurations()
	busy := make([]float64, len(c.svcs))
	for i := range c.ops {
		busy[c.ops[i].svc] += v[i] * d[i] / 1e9
	}
	var warns []string
	// A shared pool's slots are held for each attempt: the callee's
	// execution and the network.
	poolBusy := make([][]float64, len(c.svcs))
	for i := range c.ops {
		o := &c.ops[i]
		for si, sh := range o.shapes {
			for _, st := range sh.steps {
				for ci := range st.calls {
					cl := &st.calls[ci]
					if cl.via < 0 {
						continue
					}
					if poolBusy[o.svc] == nil {
						poolBusy[o.svc] = make([]float64, len(c.svcs[o.svc].pools))
					}
					one := d[cl.target]
					if cl.net != nil {
						one += cl.net.Mean()
					}
					poolBusy[o.svc][cl.via] += v[i] * o.shapeWeight(si) * float64(cl.repeat) * one / 1e9
				}
			}
		}
	}
	for i, s := range c.svcs {
		for k, p := range s.pools {
			if poolBusy[i] == nil {
				continue
			}
			if rho := poolBusy[i][k] / float64(s.instances*p.size); rho >= 1 {
				warns = append(warns, fmt.Sprintf("pool %q of service %q is overloaded: estimated utilization ρ=%.2f ≥ 1 (%d instances × %d slots); calls queue for it for the whole run", p.name, s.name, rho, s.instances, p.size))
			}
		}
	}
	for i, s := range c.svcs {
		if s.workers == 0 {
			continue
		}
		rho := busy[i] / float64(s.instances*s.workers)
		if rho >= 1 {
			warns = append(warns, fmt.Sprintf("service %q is overloaded: estimated utilization ρ=%.2f ≥ 1 (%d instances × %d workers); queues grow for the whole run", s.name, rho, s.instances, s.workers))
		}
	}
	return warns
}
