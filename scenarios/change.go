package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/topology"
)

// Change is one transformation of a scenario. The concrete types are
// Disable, Cache, Batch, Parallelize, Scale, Speedup, Latency, Error and
// LoadChange; Apply runs them in order.
type Change interface {
	// Kind is the change's key in a scenario file ("cache", "scale", …).
	Kind() string
	// Where is the scenario file line the change was read from (0 when
	// built in code), for errors.
	Where() int
	apply(s *state) error
}

// Pos is where a change was written; embedded in every change.
type Pos struct{ Line int }

// Where returns the line, 0 if unknown.
func (p Pos) Where() int { return p.Line }

// Disable modes.
const (
	ModeFail     = "fail"     // calls to the service fail after their network cost
	ModeSkip     = "skip"     // calls to the service are removed
	ModeFailover = "failover" // calls go to the same operation on service To
)

// Disable takes a service out: see the Mode constants.
type Disable struct {
	Pos
	Service string
	Mode    string
	To      string // failover target service
}

// Cache puts a cache in front of an operation: a hit costs HitLatency
// instead of the call and everything below it; a miss makes the call and
// then pays Fill.
type Cache struct {
	Pos
	Target     string // "service/operation"
	In         string // only calls made by this operation; "" = all callers
	HitRatio   float64
	HitLatency float64 // ns
	Fill       float64 // ns, paid on a miss after the call
}

// Batch turns, in operation In, a sequential call to Calls repeated N
// times into ⌈N/MaxBatch⌉ calls that each cost Fixed + PerItem × items.
type Batch struct {
	Pos
	In       string
	Calls    string
	MaxBatch int
	Fixed    float64 // ns
	PerItem  float64 // ns
}

// Parallelize either makes In's sequential calls to Calls one parallel
// group (at the first one's place) or, with PoolSize > 0, sets the size
// of In's pools (those calling PoolTarget, if given).
type Parallelize struct {
	Pos
	In         string
	Calls      []string
	PoolTarget string
	PoolSize   int
}

// Scale changes a service's capacity; nil fields stay as they are.
// Workers 0 means unlimited. With Pool, Size resizes that shared pool of
// the service (a lock, a connection or worker pool its requests share);
// Size 0 removes the limit (the pool, and every call's via naming it).
type Scale struct {
	Pos
	Service   string
	Instances *int
	Workers   *int
	Pool      string
	Size      *int
}

// Speedup multiplies the local work of a service's operations (or of
// one operation) by Factor: 0.5 is twice as fast.
type Speedup struct {
	Pos
	Service   string
	Operation string
	Factor    float64
}

// Latency adds Add ns to the network overhead of every call from
// service From to service To.
type Latency struct {
	Pos
	From, To string
	Add      float64 // ns
}

// Error sets an operation's own error rate.
type Error struct {
	Pos
	Operation string
	Rate      float64
}

// LoadChange changes the workload, not the model: Factor multiplies the
// rate (or users), Rate sets the total arrival rate (requests/s).
type LoadChange struct {
	Pos
	Factor float64
	Rate   float64
}

func (*Disable) Kind() string     { return "disable" }
func (*Cache) Kind() string       { return "cache" }
func (*Batch) Kind() string       { return "batch" }
func (*Parallelize) Kind() string { return "parallelize" }
func (*Scale) Kind() string       { return "scale" }
func (*Speedup) Kind() string     { return "speedup" }
func (*Latency) Kind() string     { return "latency" }
func (*Error) Kind() string       { return "error" }
func (*LoadChange) Kind() string  { return "load" }

// Effect is the composed effect of the load changes on the workload.
type Effect struct {
	// Rate, when > 0, replaces the total arrival rate (requests/s).
	Rate float64
	// Factor multiplies the arrival rate (after Rate) or the number of
	// closed-loop users; 1 when unchanged.
	Factor float64
}

// Of returns the total arrival rate under l, given the rate without it
// (for a closed loop, pass the number of users).
func (l Effect) Of(base float64) float64 {
	if l.Rate > 0 {
		base = l.Rate
	}
	return base * l.Factor
}

// Apply returns a copy of m with changes applied in order (m itself is
// never modified) and their composed effect on the workload. Names that
// do not resolve are errors with the nearest valid name; so is a change
// that matches nothing, since a no-op scenario would silently report
// "no difference". The result is checked with topology.Validate.
func Apply(m *topology.Model, changes []Change) (*topology.Model, Effect, error) {
	load := Effect{Factor: 1}
	if m == nil {
		return nil, load, errors.New("apply scenario: no model")
	}
	s := &state{m: clone(m), load: &load}
	for i, c := range changes {
		if c == nil {
			return nil, load, fmt.Errorf("change %d: missing", i+1)
		}
		if err := c.apply(s); err != nil {
			return nil, load, fmt.Errorf("%s: %w", describeChange(i, c), err)
		}
	}
	if err := topology.Validate(unwrapped(s.m)); err != nil {
		return nil, load, fmt.Errorf("model after the scenario's changes is invalid: %w", err)
	}
	return s.m, load, nil
}

func describeChange(i int, c Change) string {
	d := fmt.Sprintf("change %d (%s", i+1, c.Kind())
	if l := c.Where(); l > 0 {
		d += ", line " + strconv.Itoa(l)
	}
	return d + ")"
}

// state is the model being transformed and the workload effect so far.
type state struct {
	m    *topology.Model
	load *Effect
}

func (s *state) service(name string) error {
	if _, ok := s.m.Services[name]; !ok {
		return fmt.Errorf("unknown service %q%s", name, topology.Suggest(name, sortedKeys(s.m.Services)))
	}
	return nil
}

func (s *state) operation(name string) (*topology.Operation, error) {
	op, ok := s.m.Operations[name]
	if !ok || op == nil {
		return nil, fmt.Errorf("unknown operation %q%s", name, topology.Suggest(name, sortedKeys(s.m.Operations)))
	}
	return op, nil
}

// uniqueOp returns base, or base with a numeric suffix, not yet used as
// an operation name: synthetic operations must not replace real ones.
func (s *state) uniqueOp(base string) string {
	name := base
	for i := 2; ; i++ {
		if _, taken := s.m.Operations[name]; !taken {
			return name
		}
		name = base + "-" + strconv.Itoa(i)
	}
}

// addSyntheticService declares a service for synthetic operations
// (unlimited workers: it only stands for time spent elsewhere).
func (s *state) addSyntheticService(name string) {
	if _, ok := s.m.Services[name]; !ok {
		s.m.Services[name] = &topology.Service{Instances: 1}
	}
}

// callSite is a call with the operation making it.
type callSite struct {
	caller string
	call   *topology.Call
}

// calls lists every call in the model in a fixed order (callers sorted
// by name), so synthetic names come out the same on every run.
func (s *state) calls(keep func(caller string, c *topology.Call) bool) []callSite {
	var out []callSite
	for _, name := range sortedKeys(s.m.Operations) {
		op := s.m.Operations[name]
		if op == nil {
			continue
		}
		for _, sh := range op.Shapes {
			if sh == nil {
				continue
			}
			for _, st := range sh.Steps {
				if st == nil {
					continue
				}
				forCalls(st, func(c *topology.Call) {
					if keep(name, c) {
						out = append(out, callSite{name, c})
					}
				})
			}
		}
	}
	return out
}

func serviceOf(op string) string {
	svc, _, _ := strings.Cut(op, "/")
	return svc
}

func opPart(op string) string {
	_, o, _ := strings.Cut(op, "/")
	return o
}

// checkDur rejects a duration that is negative, NaN, or too long for a
// time.Duration (over 31 years: a typo, never a latency).
func checkDur(what string, ns float64) error {
	if !(ns >= 0) || ns > 1e18 {
		return fmt.Errorf("%s must be a duration ≥ 0, got %v ns", what, ns)
	}
	return nil
}

func (c *Disable) apply(s *state) error {
	if err := s.service(c.Service); err != nil {
		return err
	}
	to := func(caller string, call *topology.Call) bool { return serviceOf(call.Target) == c.Service }
	switch c.Mode {
	case ModeFail:
		sites := s.calls(to)
		if len(sites) == 0 {
			return fmt.Errorf("no operation calls service %q", c.Service)
		}
		// A failing stand-in: no work, always an error. The call keeps
		// its network cost, timeout and retries, so callers pay for
		// reaching a dead service and retry it as they would.
		svc := "disabled:" + c.Service
		s.addSyntheticService(svc)
		for _, site := range sites {
			name := svc + "/" + opPart(site.call.Target)
			if _, ok := s.m.Operations[name]; !ok {
				s.m.Operations[name] = &topology.Operation{ErrorRate: 1}
			}
			site.call.Target = name
		}
	case ModeSkip:
		n := 0
		for _, op := range s.m.Operations {
			if op == nil {
				continue
			}
			for _, sh := range op.Shapes {
				if sh != nil {
					n += removeCalls(sh, func(t string) bool { return serviceOf(t) == c.Service })
				}
			}
		}
		if n == 0 {
			return fmt.Errorf("no operation calls service %q", c.Service)
		}
	case ModeFailover:
		if c.To == "" {
			return errors.New("failover needs to: the service that takes over")
		}
		if c.To == c.Service {
			return fmt.Errorf("failover to %q: the same service", c.To)
		}
		if err := s.service(c.To); err != nil {
			return fmt.Errorf("failover: %w", err)
		}
		sites := s.calls(to)
		if len(sites) == 0 {
			return fmt.Errorf("no operation calls service %q", c.Service)
		}
		for _, site := range sites {
			name := c.To + "/" + opPart(site.call.Target)
			if _, err := s.operation(name); err != nil {
				return fmt.Errorf("failover of %s from %s: %w", site.call.Target, site.caller, err)
			}
			site.call.Target = name
		}
	default:
		modes := []string{ModeFail, ModeSkip, ModeFailover}
		return fmt.Errorf("unknown mode %q%s; expected %s", c.Mode, topology.Suggest(c.Mode, modes), strings.Join(modes, ", "))
	}
	return nil
}

// removeCalls deletes the calls whose target matches from a shape,
// dropping steps left empty, and returns how many it removed.
func removeCalls(sh *topology.Shape, match func(target string) bool) int {
	n := 0
	drop := func(cs []*topology.Call) []*topology.Call {
		return slices.DeleteFunc(cs, func(c *topology.Call) bool {
			if c != nil && match(c.Target) {
				n++
				return true
			}
			return false
		})
	}
	sh.Steps = slices.DeleteFunc(sh.Steps, func(st *topology.Step) bool {
		switch {
		case st == nil:
			return false
		case st.Call != nil:
			if match(st.Call.Target) {
				n++
				return true
			}
		case st.Parallel != nil:
			st.Parallel = drop(st.Parallel)
			return len(st.Parallel) == 0
		case st.Pool != nil:
			st.Pool.Calls = drop(st.Pool.Calls)
			return len(st.Pool.Calls) == 0
		}
		return false
	})
	return n
}

func (c *Cache) apply(s *state) error {
	if _, err := s.operation(c.Target); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if c.In != "" {
		if _, err := s.operation(c.In); err != nil {
			return fmt.Errorf("in: %w", err)
		}
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	sites := s.calls(func(caller string, call *topology.Call) bool {
		return call.Target == c.Target && (c.In == "" || caller == c.In)
	})
	if len(sites) == 0 {
		if c.In != "" {
			return fmt.Errorf("%s never calls %s", c.In, c.Target)
		}
		return fmt.Errorf("no operation calls %s", c.Target)
	}
	// Rather than splitting every caller's shapes into hit and miss
	// variants (which multiplies shapes per cached call), each call is
	// redirected to a synthetic cache operation whose own shapes are
	// the hit and the miss. The miss makes the original call with its
	// network cost, so one cache operation is made per distinct network
	// distribution among the callers.
	svc := "cache:" + serviceOf(c.Target)
	s.addSyntheticService(svc)
	byNet := map[any]string{}
	for _, site := range sites {
		// Distributions are compared by identity; one that cannot be a
		// map key (a value type holding a slice) gets its own operation.
		var key any = site
		if n := site.call.Network; n == nil || reflect.TypeOf(n).Comparable() {
			key = n
		}
		name, ok := byNet[key]
		if !ok {
			name = s.uniqueOp(svc + "/" + c.Target + "#cache")
			byNet[key] = name
			var shapes []*topology.Shape
			if c.HitRatio > 0 {
				shapes = append(shapes, &topology.Shape{Weight: c.HitRatio,
					Steps: []*topology.Step{{Work: constant(c.HitLatency)}}})
			}
			if c.HitRatio < 1 {
				miss := []*topology.Step{{Call: &topology.Call{Target: c.Target, Network: site.call.Network}}}
				if c.Fill > 0 {
					miss = append(miss, &topology.Step{Work: constant(c.Fill)})
				}
				shapes = append(shapes, &topology.Shape{Weight: 1 - c.HitRatio, Steps: miss})
			}
			s.m.Operations[name] = &topology.Operation{Shapes: shapes}
		}
		site.call.Target = name
		site.call.Network = nil
		site.call.NetworkFit = nil
	}
	return nil
}

func (c *Batch) apply(s *state) error {
	in, err := s.operation(c.In)
	if err != nil {
		return fmt.Errorf("in: %w", err)
	}
	callee, err := s.operation(c.Calls)
	if err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	// One synthetic operation per batch size, on the callee's service so
	// batches queue for the callee's workers like the calls did.
	bySize := map[int]string{}
	batchOp := func(items int) string {
		if name, ok := bySize[items]; ok {
			return name
		}
		name := s.uniqueOp(c.Calls + "#batch" + strconv.Itoa(items))
		bySize[items] = name
		s.m.Operations[name] = &topology.Operation{
			ErrorRate: callee.ErrorRate, // a batch fails as one call would
			Shapes: []*topology.Shape{{Weight: 1, Steps: []*topology.Step{
				{Work: constant(c.Fixed + c.PerItem*float64(items))}}}},
		}
		return name
	}
	n := 0
	for _, sh := range in.Shapes {
		if sh == nil {
			continue
		}
		var steps []*topology.Step
		for _, st := range sh.Steps {
			// Only sequential loops are batched: a repeated call inside a
			// parallel group or pool has no single place for the batches.
			if st == nil || st.Call == nil || st.Call.Target != c.Calls {
				steps = append(steps, st)
				continue
			}
			n++
			items := max(st.Call.Repeat, 1)
			full, rest := items/c.MaxBatch, items%c.MaxBatch
			if full > 0 {
				call := cloneCall(st.Call)
				call.Target, call.Repeat = batchOp(c.MaxBatch), full
				steps = append(steps, &topology.Step{Call: call})
			}
			if rest > 0 {
				call := cloneCall(st.Call)
				call.Target, call.Repeat = batchOp(rest), 1
				steps = append(steps, &topology.Step{Call: call})
			}
		}
		sh.Steps = steps
	}
	if n == 0 {
		return fmt.Errorf("%s makes no sequential call to %s", c.In, c.Calls)
	}
	return nil
}

func (c *Parallelize) apply(s *state) error {
	in, err := s.operation(c.In)
	if err != nil {
		return fmt.Errorf("in: %w", err)
	}
	if c.PoolSize != 0 || c.PoolTarget != "" {
		if len(c.Calls) > 0 {
			return errors.New("give either calls or pool, not both")
		}
		return c.pool(s, in)
	}
	if len(c.Calls) < 2 {
		return fmt.Errorf("calls needs at least two operations to run in parallel, got %d", len(c.Calls))
	}
	for _, t := range c.Calls {
		if _, err := s.operation(t); err != nil {
			return fmt.Errorf("calls: %w", err)
		}
	}
	groups := 0
	grouped := map[string]bool{}
	for _, sh := range in.Shapes {
		if sh == nil {
			continue
		}
		first := -1
		var group []*topology.Call
		var steps []*topology.Step
		for _, st := range sh.Steps {
			if st == nil || st.Call == nil || !slices.Contains(c.Calls, st.Call.Target) {
				steps = append(steps, st)
				continue
			}
			if first < 0 {
				first = len(steps)
				steps = append(steps, nil) // the group's place
			}
			group = append(group, st.Call)
		}
		if len(group) < 2 {
			continue // nothing to run in parallel in this shape
		}
		groups++
		for _, c := range group {
			grouped[c.Target] = true
		}
		steps[first] = &topology.Step{Parallel: group}
		sh.Steps = steps
	}
	if groups == 0 {
		return fmt.Errorf("%s never makes two or more sequential calls to %s in one shape", c.In, strings.Join(c.Calls, ", "))
	}
	// A listed target left out is most likely a mistake in the scenario
	// (say, a call the operation makes inside a pool, not sequentially).
	for _, t := range c.Calls {
		if !grouped[t] {
			return fmt.Errorf("%s makes no sequential call to %s alongside the others", c.In, t)
		}
	}
	return nil
}

func (c *Parallelize) pool(s *state, in *topology.Operation) error {
	if c.PoolSize < 1 {
		return fmt.Errorf("pool.size must be ≥ 1, got %d", c.PoolSize)
	}
	if c.PoolTarget != "" {
		if _, err := s.operation(c.PoolTarget); err != nil {
			return fmt.Errorf("pool.target: %w", err)
		}
	}
	n := 0
	for _, sh := range in.Shapes {
		if sh == nil {
			continue
		}
		for _, st := range sh.Steps {
			if st == nil || st.Pool == nil {
				continue
			}
			if c.PoolTarget != "" && !slices.ContainsFunc(st.Pool.Calls, func(call *topology.Call) bool {
				return call != nil && call.Target == c.PoolTarget
			}) {
				continue
			}
			st.Pool.Size = c.PoolSize
			n++
		}
	}
	if n == 0 {
		if c.PoolTarget != "" {
			return fmt.Errorf("%s has no pool calling %s", c.In, c.PoolTarget)
		}
		return fmt.Errorf("%s has no pool", c.In)
	}
	return nil
}

func (c *Scale) apply(s *state) error {
	if err := s.service(c.Service); err != nil {
		return err
	}
	if c.Instances == nil && c.Workers == nil && c.Pool == "" {
		return errors.New("give instances, workers, or a pool and its size")
	}
	svc := s.m.Services[c.Service]
	if c.Pool != "" {
		if err := c.resizePool(s, svc); err != nil {
			return err
		}
	} else if c.Size != nil {
		return errors.New("size resizes a pool: name it (pool: ...)")
	}
	if c.Instances != nil {
		if *c.Instances < 1 {
			return fmt.Errorf("instances must be ≥ 1, got %d", *c.Instances)
		}
		svc.Instances = *c.Instances
	}
	if c.Workers != nil {
		if *c.Workers < 0 {
			return fmt.Errorf("workers must be ≥ 1, or 0 for unlimited, got %d", *c.Workers)
		}
		svc.Workers = *c.Workers
	}
	return nil
}

// resizePool applies Pool and Size.
func (c *Scale) resizePool(s *state, svc *topology.Service) error {
	if _, ok := svc.Pools[c.Pool]; !ok {
		names := slices.Sorted(maps.Keys(svc.Pools))
		have := "it has no shared pools"
		if len(names) > 0 {
			have = "it has " + strings.Join(names, ", ")
		}
		return fmt.Errorf("service %s has no pool %q%s: %s", c.Service, c.Pool, topology.Suggest(c.Pool, names), have)
	}
	switch {
	case c.Size == nil:
		return fmt.Errorf("pool %s: give its new size (size: N, or 0 to remove the limit)", c.Pool)
	case *c.Size < 0:
		return fmt.Errorf("pool %s: size must be ≥ 1, or 0 to remove the limit, got %d", c.Pool, *c.Size)
	case *c.Size > 0:
		svc.Pools[c.Pool].Size = *c.Size
		return nil
	}
	delete(svc.Pools, c.Pool)
	prefix := c.Service + "/"
	for name, op := range s.m.Operations {
		if !strings.HasPrefix(name, prefix) || op == nil {
			continue
		}
		for _, sh := range op.Shapes {
			for _, st := range sh.Steps {
				for _, cl := range stepCalls(st) {
					if cl.Via == c.Pool {
						cl.Via = ""
					}
				}
			}
		}
	}
	return nil
}

// stepCalls lists the calls of a step.
func stepCalls(st *topology.Step) []*topology.Call {
	switch {
	case st == nil:
		return nil
	case st.Call != nil:
		return []*topology.Call{st.Call}
	case st.Parallel != nil:
		return st.Parallel
	case st.Pool != nil:
		return st.Pool.Calls
	}
	return nil
}

func (c *Speedup) apply(s *state) error {
	if err := c.checkParams(); err != nil {
		return err
	}
	var ops []*topology.Operation
	what := c.Operation
	if c.Operation != "" {
		op, err := s.operation(c.Operation)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	} else {
		if err := s.service(c.Service); err != nil {
			return err
		}
		what = "service " + c.Service
		for _, name := range sortedKeys(s.m.Operations) {
			if serviceOf(name) == c.Service && s.m.Operations[name] != nil {
				ops = append(ops, s.m.Operations[name])
			}
		}
	}
	n := 0
	for _, op := range ops {
		for _, sh := range op.Shapes {
			if sh == nil {
				continue
			}
			for _, st := range sh.Steps {
				if st != nil && st.Work != nil {
					st.Work = scaleDist(st.Work, c.Factor)
					st.WorkFit = nil // the fit described the old data
					n++
				}
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("%s has no local work to speed up", what)
	}
	return nil
}

func (c *Latency) apply(s *state) error {
	if err := s.service(c.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := s.service(c.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	sites := s.calls(func(caller string, call *topology.Call) bool {
		return serviceOf(caller) == c.From && serviceOf(call.Target) == c.To
	})
	if len(sites) == 0 {
		return fmt.Errorf("service %s never calls service %s", c.From, c.To)
	}
	for _, site := range sites {
		site.call.Network = shiftDist(site.call.Network, c.Add)
		site.call.NetworkFit = nil
	}
	return nil
}

func (c *Error) apply(s *state) error {
	op, err := s.operation(c.Operation)
	if err != nil {
		return err
	}
	if err := c.checkParams(); err != nil {
		return err
	}
	op.ErrorRate = c.Rate
	return nil
}

func (c *LoadChange) apply(s *state) error {
	switch {
	case (c.Factor != 0) == (c.Rate != 0):
		return errors.New("give exactly one of factor or rate")
	case c.Factor != 0:
		if !(c.Factor > 0) || math.IsInf(c.Factor, 0) {
			return fmt.Errorf("factor must be a finite number > 0, got %v", c.Factor)
		}
		s.load.Factor *= c.Factor
	default:
		if !(c.Rate > 0) || math.IsInf(c.Rate, 0) {
			return fmt.Errorf("rate must be > 0, got %v", c.Rate)
		}
		// A rate replaces what came before it, including earlier factors.
		s.load.Rate, s.load.Factor = c.Rate, 1
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The checks of a change's own parameters, shared by Apply (on a model)
// and ApplyReplay (on recorded requests); names are checked by each
// against what it applies to.

func (c *Cache) checkParams() error {
	if !(c.HitRatio >= 0 && c.HitRatio <= 1) {
		return fmt.Errorf("hit_ratio must be between 0 and 1, got %v", c.HitRatio)
	}
	if err := checkDur("hit_latency", c.HitLatency); err != nil {
		return err
	}
	return checkDur("fill", c.Fill)
}

func (c *Batch) checkParams() error {
	if c.MaxBatch < 1 {
		return fmt.Errorf("max_batch must be ≥ 1, got %d", c.MaxBatch)
	}
	if err := checkDur("cost.fixed", c.Fixed); err != nil {
		return err
	}
	return checkDur("cost.per_item", c.PerItem)
}

// maxFactor bounds a speedup factor: beyond it, scaled work overflows a
// time.Duration.
const maxFactor = 1e9

func (c *Speedup) checkParams() error {
	if (c.Service == "") == (c.Operation == "") {
		return errors.New("give exactly one of service or operation")
	}
	if !(c.Factor >= 0) || c.Factor > maxFactor {
		return fmt.Errorf("factor must be a finite number ≥ 0, got %v", c.Factor)
	}
	return nil
}

func (c *Latency) checkParams() error {
	// A negative add could make a network time negative.
	if err := checkDur("add", c.Add); err != nil {
		return fmt.Errorf("add must be a duration ≥ 0, got %v ns", c.Add)
	}
	return nil
}

func (c *Error) checkParams() error {
	if !(c.Rate >= 0 && c.Rate <= 1) {
		return fmt.Errorf("rate must be between 0 and 1, got %v", c.Rate)
	}
	return nil
}
