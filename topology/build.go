package topology

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracesim/tracesim/topology/dist"
	"github.com/tracesim/tracesim/trace"
)

// BuildOptions tune Build.
type BuildOptions struct {
	// Workers sets the workers per instance of named services, overriding
	// what the traces show.
	Workers map[string]int
	// Pools states shared pools the traces cannot show (too little
	// concurrency in them): "caller:callee" → size gives service caller
	// a pool named callee, per instance, that all its calls to service
	// callee go through (a connection pool, or a lock when 1), waited for
	// inside the client span. It overrides what inference found there.
	Pools map[string]int
	// Capacity is CapacityInfer (the default, ""): every resource whose
	// traces show uses waiting for a limited number of servers gets
	// that limit, and the waits are taken out of the fitted samples (see
	// capacity.go); or CapacityNone: no limits but those in Workers, and
	// the samples are fitted as recorded, waits included (the model then
	// describes the system at the load it was traced at).
	Capacity string
}

// ParseCapacity maps a --capacity flag ("infer", "none", or the older
// "observed") to BuildOptions.Capacity.
func ParseCapacity(flag string) (string, error) {
	switch flag {
	case "", "infer", CapacityObserved:
		return CapacityInfer, nil
	case CapacityNone:
		return CapacityNone, nil
	}
	return "", fmt.Errorf("--capacity %q: want infer or none", flag)
}

// Capacity modes of BuildOptions.
const (
	CapacityInfer = ""
	CapacityNone  = "none"
	// CapacityObserved is the name earlier versions gave to inference;
	// it means CapacityInfer.
	CapacityObserved = "observed"
)

// BuildReport says what Build found, for the user.
type BuildReport struct {
	Executions int // spans modelled as executions of an operation
	Operations int
	Shapes     int
	Entries    int // entry operations
	Orphans    int // executions whose caller is missing: modelled, not counted as entry traffic
	// Capacity says, per limited resource found, its servers and the
	// share of its recorded time that was waiting.
	Capacity       []string
	RecursiveCalls int      // calls that closed a cycle, turned into local work
	WorkFits       []string // family chosen per fitted work distribution, counted: "lognormal 12"
	Notes          []string
}

// Build turns assembled traces into a model, following DESIGN.md's
// modelling rules:
//
//   - An execution is a server or consumer span, or a root span of any
//     kind. Its operation is "service/name".
//   - Its calls are its client/producer children (target: the server
//     span below each, or the uninstrumented peer the client names) and
//     server spans directly below it; internal spans are flattened into
//     the execution that contains them.
//   - The execution's time line is cut into stages: calls whose
//     intervals overlap form one stage (a parallel group, or a pool with
//     the largest concurrency seen when fewer ran at once than the group
//     holds); the gaps are local work. Consecutive single calls to the
//     same target become one call with repeat N, or a retry policy when
//     the earlier attempts failed.
//   - Executions with the same structure share a shape; each shape keeps
//     its frequency and a fitted distribution per work step.
//   - Client minus server duration is the edge's network overhead, fitted
//     per (caller, callee) edge.
//   - An operation's own error rate counts failures not explained by a
//     failed call; a call that failed without failing its caller is
//     optional.
//   - Entry operations are those at non-orphan roots; their rate is the
//     number of roots over the time the roots span, divided by the
//     sampling rate when traces report one.
//   - A call that would make an operation reach itself (recursion) cannot
//     be simulated as a call graph; its time becomes local work of the
//     caller, and the report counts it.
//
// Recorded durations contain whatever waiting the system did when it was
// traced. Build finds the resources whose uses waited (a service's
// workers, a pool shared by a caller's requests, a peer's capacity: see
// capacity.go), records each limit with its evidence, and fits the
// samples without the waits, so that the simulator adds them back at
// whatever load it runs. opt.Workers overrides an inferred limit.
func Build(ctx context.Context, res *trace.Result, opt BuildOptions) (*Model, *BuildReport, error) {
	b := newBuilder()
	window, err := b.collect(ctx, res)
	if err != nil {
		return nil, nil, err
	}
	if len(b.ops) == 0 {
		return nil, nil, fmt.Errorf("no timed server or root spans to build a model from")
	}
	m, err := b.finish(window, opt)
	if err != nil {
		return nil, nil, err
	}
	return m, b.report, nil
}

func newBuilder() *builder {
	return &builder{
		ops:         map[string]*opAcc{},
		edges:       map[string]*[]float64{},
		services:    map[string]*svcAcc{},
		report:      &BuildReport{},
		endpointIDs: map[endpoint]int32{},
		serviceIDs:  map[string]int32{},
		listIDs:     map[*[]float64]int32{},
	}
}

// collect reads every execution of res into b and returns the time the
// entry requests span, in seconds (0 with fewer than two).
func (b *builder) collect(ctx context.Context, res *trace.Result) (float64, error) {
	b.res = res
	// A use per span at most (a call's client span, or an execution
	// reached without one).
	n := 0
	for i := range res.Traces {
		n += len(res.Traces[i].Spans)
	}
	b.uses = make([]use, 0, n)
	var firstRoot, lastRoot int64
	roots := 0
	for ti := range res.Traces {
		if ti%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		b.traceIdx = int32(ti)
		t := &res.Traces[ti]
		for i := range t.Spans {
			s := &t.Spans[i]
			isRoot := t.Parent[i] < 0
			if !isRoot && s.Kind != trace.KindServer && s.Kind != trace.KindConsumer {
				continue
			}
			if s.Has(trace.FlagNoDuration) || s.Has(trace.FlagNoStart) {
				continue // untimed: nothing to learn from it
			}
			entry := isRoot && !s.Has(trace.FlagOrphan)
			if isRoot && s.Has(trace.FlagOrphan) {
				b.report.Orphans++
			}
			if entry {
				if roots == 0 || s.Start < firstRoot {
					firstRoot = s.Start
				}
				if roots == 0 || s.Start > lastRoot {
					lastRoot = s.Start
				}
				roots++
			}
			b.execution(t, int32(i), entry)
		}
	}
	if len(b.ops) == 0 {
		return 0, fmt.Errorf("no timed server or root spans to build a model from")
	}
	if roots < 2 {
		return 0, nil
	}
	// Extend the first-to-last span by one mean gap: n arrivals cover n
	// gaps, not n-1.
	return float64(lastRoot-firstRoot) / 1e9 * float64(roots) / float64(roots-1), nil
}

type svcAcc struct {
	instances map[string]bool
	peer      bool
	spans     int // executions reported by the service itself
}

type opAcc struct {
	execs, ownErrors int
	roots            int
	rateSum          float64 // sum of 1/SampleRate over roots (1 when unknown)
	shapes           map[string]*shapeAcc
	peerWork         []float64 // for peer operations: client-side durations
}

type stepKind uint8

const (
	stepWork stepKind = iota
	stepCall
	stepParallel
	stepPool
)

type callTmpl struct {
	target  string
	repeat  int
	retries int
	async   bool
}

type stepTmpl struct {
	kind  stepKind
	calls []callTmpl
	size  int // pool size
}

// callAcc gathers what is seen of one call position across executions.
type callAcc struct {
	tolerated  bool      // it failed and the caller did not
	backoff    []float64 // gaps before retries
	maxRetries int
	duration   []float64 // client-side durations, for when the call must become work
}

type shapeAcc struct {
	sig   string
	count int
	steps []stepTmpl
	work  [][]float64  // per step index (work steps only)
	calls [][]*callAcc // per step index, per member
}

type builder struct {
	ops      map[string]*opAcc
	edges    map[string]*[]float64 // "caller\x00callee" -> network samples (< 0: none)
	services map[string]*svcAcc
	report   *BuildReport
	// Queue inference (capacity.go): every use of a resource, and the
	// services and instances they name.
	uses         []use
	endpoints    []endpoint
	endpointIDs  map[endpoint]int32
	serviceNames []string
	serviceIDs   map[string]int32
	execs        int32
	traceIdx     int32 // the trace being read
	res          *trace.Result
	// lists are the sample lists uses point into (sampleRef).
	lists   []*[]float64
	listIDs map[*[]float64]int32
	// spanWaits is the waiting found in each span (Waits).
	spanWaits map[trace.SpanRef]int64
	// scratch
	events  []event
	walker  CallWalker
	scratch shapeScratch
	accOf   map[*Shape]*shapeAcc
}

type event struct {
	start, end int64
	target     string
	async      bool
	failed     bool
	net        float64 // client minus server, ns; <0 when no server half
	dur        float64
	use        int32 // the use it records (b.uses)
}

func (b *builder) op(name string) *opAcc {
	o := b.ops[name]
	if o == nil {
		o = &opAcc{shapes: map[string]*shapeAcc{}}
		b.ops[name] = o
	}
	return o
}

func (b *builder) service(name string) *svcAcc {
	s := b.services[name]
	if s == nil {
		s = &svcAcc{instances: map[string]bool{}}
		b.services[name] = s
	}
	return s
}

// edge returns the network samples of calls from caller to callee.
func (b *builder) edge(caller, callee string) *[]float64 {
	k := caller + "\x00" + callee
	e := b.edges[k]
	if e == nil {
		e = new([]float64)
		b.edges[k] = e
	}
	return e
}

// execution models span i of t as one execution of its operation.
func (b *builder) execution(t *trace.Trace, i int32, entry bool) {
	s := &t.Spans[i]
	name := OperationName(s)
	o := b.op(name)
	o.execs++
	b.report.Executions++
	if entry {
		o.roots++
		if s.SampleRate > 0 && s.SampleRate <= 1 {
			o.rateSum += 1 / float64(s.SampleRate)
		} else {
			o.rateSum++
		}
	}
	svcName := ServiceName(s)
	svc := b.service(svcName)
	svc.instances[s.Instance] = true
	svc.spans++
	exec := b.execs
	b.execs++
	if entry || t.Parent[i] < 0 {
		// Nothing traced its arrival: its use starts with its span.
		callee := b.endpointID(svcName, s.Instance)
		b.uses = append(b.uses, use{caller: -1, callee: callee, svc: b.serviceID(svcName), exec: -1,
			cStart: noTime, sStart: s.Start, sEnd: s.End(), gapStart: noTime,
			tr: b.traceIdx, client: -1, execSpan: i})
	}

	b.collectCalls(t, i, name, s, exec)
	anyFailed := false
	for _, e := range b.events {
		if e.failed && !e.async {
			anyFailed = true
		}
	}
	if s.Has(trace.FlagError) && !anyFailed {
		o.ownErrors++
	}
	b.shape(o, s, s.Has(trace.FlagError))
}

// collectCalls fills b.events with the calls execution i (span s, the
// exec-th execution) makes, and records each as a use (capacity.go).
func (b *builder) collectCalls(t *trace.Trace, i int32, caller string, s *trace.Span, exec int32) {
	b.events = b.events[:0]
	callerID := b.endpointID(ServiceName(s), s.Instance)
	b.walker.Calls(t, i, func(cs CallSpans) {
		u := use{caller: callerID, exec: exec, cStart: noTime, sStart: noTime, gapStart: noTime, async: cs.Async,
			tr: b.traceIdx, client: cs.Client, execSpan: i}
		var ev event
		switch {
		case cs.Client < 0:
			// Called without a client span: a call with no measured
			// network overhead.
			c := &t.Spans[cs.Server]
			ev = event{start: c.Start, end: c.End(), target: OperationName(c),
				async: cs.Async, failed: c.Has(trace.FlagError), net: -1, dur: float64(c.Duration)}
			svc := ServiceName(c)
			u.callee, u.svc = b.endpointID(svc, c.Instance), b.serviceID(svc)
			u.sStart, u.sEnd = c.Start, c.End()
		case cs.Server < 0:
			// An uninstrumented peer: the client span is all we know of
			// it, so it becomes the peer operation's work.
			c := &t.Spans[cs.Client]
			target := PeerOperationNameIn(t, cs.Client)
			po := b.op(target)
			po.peerWork = append(po.peerWork, float64(c.Duration))
			peer := target[:strings.IndexByte(target, '/')]
			b.service(peer).peer = true
			ev = event{start: c.Start, end: c.End(), target: target, async: cs.Async,
				failed: c.Has(trace.FlagError), net: -1, dur: float64(c.Duration)}
			u.callee, u.svc = b.endpointID(peer, ""), b.serviceID(peer)
			u.cStart, u.cEnd = c.Start, c.End()
			u.own = b.ref(&po.peerWork, len(po.peerWork)-1)
		default:
			c, sv := &t.Spans[cs.Client], &t.Spans[cs.Server]
			ev = event{start: c.Start, end: c.End(), target: OperationName(sv), async: cs.Async,
				failed: c.Has(trace.FlagError) || sv.Has(trace.FlagError), dur: float64(c.Duration)}
			ev.net = math.Max(0, float64(c.Duration-sv.Duration))
			if ev.async {
				ev.net = -1 // the callee's time is not a round trip of the caller
			}
			e := b.edge(caller, ev.target)
			*e = append(*e, ev.net)
			svc := ServiceName(sv)
			u.callee, u.svc = b.endpointID(svc, sv.Instance), b.serviceID(svc)
			u.cStart, u.cEnd, u.sStart, u.sEnd = c.Start, c.End(), sv.Start, sv.End()
			if !ev.async {
				u.own = b.ref(e, len(*e)-1)
			}
		}
		ev.use = int32(len(b.uses))
		b.uses = append(b.uses, u)
		b.events = append(b.events, ev)
	})
}

// shapeScratch is shape's working space, reused from one execution to
// the next: a million executions must not allocate their time lines a
// million times.
type shapeScratch struct {
	sync, async []event
	stages      []stage
	steps       []stepTmpl
	calls       []callTmpl // backing of steps[i].calls
	work        []float64  // per step, -1 for non-work
	members     [][]member // per step, slices of memberBuf
	memberBuf   []member
	backoffs    []float64 // backing of members' backoff
	gaps        []gapOf
	loop        []gapOf
	byTarget    []event
	sig         []byte
}

// stage is a maximal run of calls whose intervals overlap: ev indexes
// sync[lo:hi].
type stage struct {
	lo, hi     int
	start, end int64
}

// member is what one execution shows of one call of a step.
type member struct {
	tolerated bool
	backoff   []float64
	retries   int
	dur       float64
}

// gapOf remembers, per call, the work step before it and when that step
// began, for queue inference (use.gap, use.gapStart).
type gapOf struct {
	use   int32
	step  int
	start int64
}

// shape cuts the execution's time line into steps and records it under
// its shape's signature.
func (b *builder) shape(o *opAcc, s *trace.Span, failed bool) {
	x := &b.scratch
	start, end := s.Start, s.End()
	x.sync, x.async = x.sync[:0], x.async[:0]
	for _, e := range b.events {
		e.start = min(max(e.start, start), end)
		e.end = min(max(e.end, e.start), end)
		if e.async {
			x.async = append(x.async, e)
		} else {
			x.sync = append(x.sync, e)
		}
	}
	byTime := func(x, y event) int {
		if c := cmp.Compare(x.start, y.start); c != 0 {
			return c
		}
		if c := cmp.Compare(x.end, y.end); c != 0 {
			return c
		}
		return cmp.Compare(x.target, y.target)
	}
	slices.SortFunc(x.sync, byTime)
	slices.SortFunc(x.async, byTime)
	sync, async := x.sync, x.async

	x.stages = x.stages[:0]
	for i, e := range sync {
		if n := len(x.stages); n > 0 && e.start < x.stages[n-1].end {
			st := &x.stages[n-1]
			st.hi = i + 1
			st.end = max(st.end, e.end)
			continue
		}
		x.stages = append(x.stages, stage{lo: i, hi: i + 1, start: e.start, end: e.end})
	}
	stages := x.stages

	x.steps, x.calls, x.work, x.members, x.memberBuf, x.backoffs, x.gaps = x.steps[:0], x.calls[:0], x.work[:0], x.members[:0], x.memberBuf[:0], x.backoffs[:0], x.gaps[:0]
	addWork := func(d int64) {
		x.steps = append(x.steps, stepTmpl{kind: stepWork})
		x.work = append(x.work, float64(max(d, 0)))
		x.members = append(x.members, nil)
	}
	// addCalls appends a call step whose calls and members are the last
	// n entries of x.calls and x.memberBuf.
	addCalls := func(t stepTmpl, n int) {
		t.calls = x.calls[len(x.calls)-n:]
		x.steps = append(x.steps, t)
		x.work = append(x.work, -1)
		x.members = append(x.members, x.memberBuf[len(x.memberBuf)-n:])
	}
	addAsync := func(e event) {
		x.calls = append(x.calls, callTmpl{target: e.target, repeat: 1, async: true})
		x.memberBuf = append(x.memberBuf, member{dur: e.dur})
		addCalls(stepTmpl{kind: stepCall}, 1)
	}
	cursor := start
	ai := 0
	for si := 0; si < len(stages); si++ {
		st := stages[si]
		ev := sync[st.lo:st.hi]
		addWork(st.start - cursor)
		for _, e := range ev {
			x.gaps = append(x.gaps, gapOf{e.use, len(x.steps) - 1, cursor})
		}
		// Fire-and-forget calls issued before this stage.
		for ai < len(async) && async[ai].start <= st.start {
			addAsync(async[ai])
			ai++
		}
		if len(ev) == 1 {
			// Merge the following single-call stages to the same target:
			// a loop (repeat) or retries after failures.
			e := ev[0]
			m := member{dur: e.dur, tolerated: e.failed && !failed}
			repeat, retries := 1, 0
			extraWork := int64(0)
			endAt := st.end
			backoffs := len(x.backoffs)
			x.loop = x.loop[:0] // the iterations after the first: their gaps sum into one work step
			for si+1 < len(stages) && stages[si+1].hi-stages[si+1].lo == 1 && sync[stages[si+1].lo].target == e.target &&
				(ai >= len(async) || async[ai].start > stages[si+1].start) {
				next := stages[si+1]
				nx := sync[next.lo]
				gap := next.start - endAt
				x.loop = append(x.loop, gapOf{nx.use, -1, endAt})
				if sync[stages[si].lo].failed && retries == repeat-1 {
					retries++
					x.backoffs = append(x.backoffs, float64(max(gap, 0)))
					m.tolerated = nx.failed && !failed
				} else {
					repeat++
					extraWork += max(gap, 0)
				}
				m.dur += nx.dur
				endAt = next.end
				si++
			}
			if retries > 0 && repeat > 1 {
				// Both retries and a loop: keep it as a loop; the failed
				// attempts count as iterations.
				repeat += retries
				retries = 0
				x.backoffs = x.backoffs[:backoffs]
			}
			m.backoff = x.backoffs[backoffs:len(x.backoffs):len(x.backoffs)]
			m.retries = retries
			x.calls = append(x.calls, callTmpl{target: e.target, repeat: repeat, retries: retries})
			x.memberBuf = append(x.memberBuf, m)
			addCalls(stepTmpl{kind: stepCall}, 1)
			cursor = endAt
			if extraWork > 0 {
				// Time between loop iterations is the caller's work.
				addWork(extraWork)
				for _, g := range x.loop {
					g.step = len(x.steps) - 1
					x.gaps = append(x.gaps, g)
				}
			}
			continue
		}
		// Several overlapping calls: parallel, or a pool when fewer ran
		// at once than the group holds.
		k := maxConcurrent(ev)
		x.byTarget = append(x.byTarget[:0], ev...)
		slices.SortFunc(x.byTarget, func(x, y event) int { return cmp.Compare(x.target, y.target) })
		var tmpl stepTmpl
		n := 0
		if k >= len(ev) {
			tmpl.kind = stepParallel
			for _, e := range x.byTarget {
				x.calls = append(x.calls, callTmpl{target: e.target, repeat: 1})
				x.memberBuf = append(x.memberBuf, member{dur: e.dur, tolerated: e.failed && !failed})
				n++
			}
		} else {
			tmpl.kind, tmpl.size = stepPool, k
			for _, e := range x.byTarget {
				if last := len(x.calls) - 1; n > 0 && x.calls[last].target == e.target {
					x.calls[last].repeat++
					mb := &x.memberBuf[len(x.memberBuf)-1]
					mb.dur += e.dur
					mb.tolerated = mb.tolerated || (e.failed && !failed)
					continue
				}
				x.calls = append(x.calls, callTmpl{target: e.target, repeat: 1})
				x.memberBuf = append(x.memberBuf, member{dur: e.dur, tolerated: e.failed && !failed})
				n++
			}
		}
		addCalls(tmpl, n)
		cursor = st.end
	}
	addWork(end - cursor)
	for ; ai < len(async); ai++ {
		addAsync(async[ai])
	}
	steps := x.steps
	// x.calls and x.memberBuf may have moved while growing: the slices
	// taken before point into older arrays, which hold the same values.

	x.sig = b.signature(x.sig[:0], steps)
	sh := o.shapes[string(x.sig)] // no allocation: the compiler looks up the bytes
	if sh == nil {
		sig := string(x.sig)
		kept := make([]stepTmpl, len(steps))
		for i, st := range steps {
			kept[i] = stepTmpl{kind: st.kind, size: st.size, calls: slices.Clone(st.calls)}
		}
		sh = &shapeAcc{sig: sig, steps: kept, work: make([][]float64, len(steps)), calls: make([][]*callAcc, len(steps))}
		for i := range steps {
			for range steps[i].calls {
				sh.calls[i] = append(sh.calls[i], &callAcc{})
			}
		}
		o.shapes[sig] = sh
	}
	sh.count++
	for _, g := range x.gaps {
		u := &b.uses[g.use]
		u.gapStart = g.start
		// The sample is appended below, at this index.
		u.gap = b.ref(&sh.work[g.step], len(sh.work[g.step]))
	}
	for i := range steps {
		if steps[i].kind == stepWork {
			sh.work[i] = append(sh.work[i], x.work[i])
			continue
		}
		for j, m := range x.members[i] {
			ca := sh.calls[i][j]
			ca.tolerated = ca.tolerated || m.tolerated
			ca.backoff = append(ca.backoff, m.backoff...)
			ca.maxRetries = max(ca.maxRetries, m.retries)
			ca.duration = append(ca.duration, m.dur)
		}
	}
}

// signature appends the name of a shape's structure to buf. Retry counts
// are not part of it: an execution that needed one retry has the same
// shape as one that needed none, with the policy recording the most seen.
func (b *builder) signature(buf []byte, steps []stepTmpl) []byte {
	for _, st := range steps {
		switch st.kind {
		case stepWork:
			buf = append(buf, "W|"...)
			continue
		case stepCall:
			buf = append(buf, "C:"...)
		case stepParallel:
			buf = append(buf, "P:"...)
		case stepPool:
			buf = append(buf, 'L')
			buf = strconv.AppendInt(buf, int64(st.size), 10)
			buf = append(buf, ':')
		}
		for _, c := range st.calls {
			if c.async {
				buf = append(buf, '~')
			}
			buf = append(buf, c.target...)
			buf = append(buf, '*')
			buf = strconv.AppendInt(buf, int64(c.repeat), 10)
			buf = append(buf, ',')
		}
		buf = append(buf, '|')
	}
	return buf
}

// maxConcurrent returns the most intervals of ev open at one time; an
// interval ending when another starts does not overlap it.
func maxConcurrent(ev []event) int {
	type point struct {
		t int64
		d int
	}
	pts := make([]point, 0, 2*len(ev))
	for _, e := range ev {
		pts = append(pts, point{e.start, 1}, point{e.end, -1})
	}
	slices.SortFunc(pts, func(x, y point) int {
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		return cmp.Compare(x.d, y.d) // ends before starts
	})
	cur, best := 0, 0
	for _, p := range pts {
		cur += p.d
		best = max(best, cur)
	}
	return best
}

// negligible is the mean below which a work step or a network overhead is
// left out of the model: below the microsecond resolution of Zipkin and
// Jaeger timestamps it is noise.
const negligible = 1000.0 // ns

func meanOf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func (b *builder) finish(window float64, opt BuildOptions) (*Model, error) {
	m := &Model{Version: Version, Services: map[string]*Service{}, Operations: map[string]*Operation{}}
	b.accOf = map[*Shape]*shapeAcc{}
	fits := map[string]int{}
	fit := func(x []float64) (dist.Dist, *dist.Fit) {
		d, f := dist.FitBest(x)
		fits[d.Family()]++
		return d, &f
	}
	// Queue inference first: it takes the waits out of the samples.
	plan := b.inferCapacity(opt)
	b.report.Capacity = plan.summary

	netFits := map[string]dist.Dist{}
	netFitInfo := map[string]*dist.Fit{}
	edgeKeys := make([]string, 0, len(b.edges))
	for k := range b.edges {
		edgeKeys = append(edgeKeys, k)
	}
	slices.Sort(edgeKeys)
	for _, k := range edgeKeys {
		var x []float64
		for _, v := range *b.edges[k] {
			if v >= 0 { // < 0: no round trip (async); NaN: left out
				x = append(x, v)
			}
		}
		if len(x) == 0 || meanOf(x) < negligible {
			continue
		}
		d, f := dist.FitBest(x)
		netFits[k], netFitInfo[k] = d, &f
	}

	names := make([]string, 0, len(b.services))
	for n := range b.services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sa := b.services[n]
		// A service that reports spans of its own is not a peer, even if
		// some callers reached it without the server side being traced.
		svc := &Service{Instances: max(1, len(sa.instances)), Peer: sa.peer && sa.spans == 0,
			Workers: plan.workers[n], Evidence: plan.evidence[n], Pools: plan.pools[n]}
		if w, ok := opt.Workers[n]; ok {
			svc.Workers = w
		}
		m.Services[n] = svc
	}
	for n := range opt.Workers {
		if _, ok := m.Services[n]; !ok {
			return nil, fmt.Errorf("workers given for service %q, which is not in the traces%s", n, Suggest(n, names))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(opt.Pools)) {
		caller, callee, ok := strings.Cut(key, ":")
		size := opt.Pools[key]
		switch {
		case !ok || caller == "" || callee == "":
			return nil, fmt.Errorf("pool %q: expected caller:callee, two services", key)
		case size < 1:
			return nil, fmt.Errorf("pool %s: size %d, need ≥ 1", key, size)
		case m.Services[caller] == nil:
			return nil, fmt.Errorf("pool %s: service %q is not in the traces%s", key, caller, Suggest(caller, names))
		case m.Services[callee] == nil:
			return nil, fmt.Errorf("pool %s: service %q is not in the traces%s", key, callee, Suggest(callee, names))
		}
		svc := m.Services[caller]
		if svc.Pools == nil {
			svc.Pools = map[string]*SharedPool{}
		}
		svc.Pools[callee] = &SharedPool{Size: size, Evidence: &CapacityEvidence{Note: "stated (--pool)"}}
		plan.via[[2]string{caller, callee}] = callee
	}

	opNames := make([]string, 0, len(b.ops))
	for n := range b.ops {
		opNames = append(opNames, n)
	}
	slices.Sort(opNames)
	peerFloor := b.peerFloors(opNames)
	for _, n := range opNames {
		o := b.ops[n]
		op := &Operation{}
		if o.execs > 0 {
			op.ErrorRate = roundDigits(float64(o.ownErrors)/float64(o.execs), 6)
		}
		if o.roots > 0 {
			op.Entry = &Entry{}
			if window > 0 {
				op.Entry.Rate = dist.RoundSig(o.rateSum/window, 4)
			}
			b.report.Entries++
		}
		if len(o.shapes) == 0 && len(o.peerWork) > 0 {
			d, f := fit(o.peerWork)
			op.Shapes = []*Shape{{Weight: 1, Count: len(o.peerWork), Steps: []*Step{{Work: d, WorkFit: f}}}}
			m.Operations[n] = op
			continue
		}
		shapes := make([]*shapeAcc, 0, len(o.shapes))
		for _, sh := range o.shapes {
			shapes = append(shapes, sh)
		}
		slices.SortFunc(shapes, func(x, y *shapeAcc) int {
			if c := cmp.Compare(y.count, x.count); c != 0 {
				return c
			}
			return cmp.Compare(x.sig, y.sig)
		})
		if len(shapes) > MaxShapes {
			left, execs := 0, 0
			for _, sh := range shapes[MaxShapes:] {
				left++
				execs += sh.count
			}
			b.report.Notes = append(b.report.Notes, fmt.Sprintf("%s: %d rare shapes (%d executions, %.2f%%) left out; the %d most frequent are kept",
				n, left, execs, 100*float64(execs)/float64(o.execs), MaxShapes))
			shapes = shapes[:MaxShapes]
		}
		counts := make([]int, len(shapes))
		for i, sh := range shapes {
			counts[i] = sh.count
		}
		weights := weightsOf(counts)
		for si, sh := range shapes {
			shape := &Shape{Weight: weights[si], Count: sh.count}
			b.accOf[shape] = sh
			for i, st := range sh.steps {
				if st.kind == stepWork {
					x := withoutNaN(sh.work[i])
					if len(x) == 0 {
						// No sample is free of a wait: the work
						// before the call is unknown; take none.
						x = []float64{0}
					}
					if meanOf(x) < negligible {
						continue
					}
					d, f := fit(x)
					shape.Steps = append(shape.Steps, &Step{Work: d, WorkFit: f})
					continue
				}
				var calls []*Call
				for j, ct := range st.calls {
					ca := sh.calls[i][j]
					c := &Call{Target: ct.target, Async: ct.async, Optional: ca.tolerated}
					if ct.repeat > 1 {
						c.Repeat = ct.repeat
					}
					if ca.maxRetries > 0 {
						c.Retries = &Retry{Max: ca.maxRetries, Backoff: time.Duration(dist.RoundSig(meanOf(ca.backoff), 3))}
					}
					key := n + "\x00" + ct.target
					if d, ok := netFits[key]; ok && !ct.async {
						c.Network, c.NetworkFit = d, netFitInfo[key]
					}
					if f, ok := peerFloor[ct.target]; ok && !ct.async && c.Network == nil {
						c.Network, _ = dist.NewConstant(dist.RoundDuration(f))
					}
					caller, _, _ := strings.Cut(n, "/")
					callee, _, _ := strings.Cut(ct.target, "/")
					c.Via = plan.via[[2]string{caller, callee}]
					calls = append(calls, c)
				}
				switch st.kind {
				case stepCall:
					shape.Steps = append(shape.Steps, &Step{Call: calls[0]})
				case stepParallel:
					shape.Steps = append(shape.Steps, &Step{Parallel: calls})
				case stepPool:
					shape.Steps = append(shape.Steps, &Step{Pool: &Pool{Size: st.size, Calls: calls}})
				}
			}
			op.Shapes = append(op.Shapes, shape)
		}
		m.Operations[n] = op
	}
	b.breakRecursion(m, fit)
	// An operation can be left without a step (all its work negligible and
	// no calls): give it an explicit zero so the model stays valid.
	for _, op := range m.Operations {
		for _, sh := range op.Shapes {
			if len(sh.Steps) == 0 {
				z, _ := dist.NewConstant(0)
				sh.Steps = []*Step{{Work: z}}
			}
		}
	}
	slices.Sort(b.report.Notes)
	b.report.Notes = slices.Compact(b.report.Notes)
	b.report.Operations = len(m.Operations)
	for _, op := range m.Operations {
		b.report.Shapes += len(op.Shapes)
	}
	fams := make([]string, 0, len(fits))
	for f := range fits {
		fams = append(fams, f)
	}
	slices.Sort(fams)
	for _, f := range fams {
		b.report.WorkFits = append(b.report.WorkFits, fmt.Sprintf("%s %d", f, fits[f]))
	}
	return m, nil
}

// minFloorSamples is the least number of calls to a peer operation from
// which Build reads the floor of its client spans, and minRoundTrips the
// least number of an edge's round trips that cap it (see peerFloors).
const (
	minFloorSamples = 100
	minRoundTrips   = 20
)

// peerFloors takes the fixed part of every peer operation's calls out of
// its work: a peer shows only client spans, each the round trip to it
// plus its work, and every call pays at least the round trip. That floor
// (the 0.1% quantile of the service times, the least of them below 1,000
// calls) becomes the calls' network overhead, so that a faster peer (an
// index, a better query plan) is not also given a faster network, and a
// batch of calls still pays one round trip. Where the traces measure
// round trips — calls to instrumented services, whose client and server
// spans differ by it — the floor is capped at the shortest typical one
// (the least median over those edges): a peer whose work never goes
// below some time keeps that time as work. Without such edges the floor
// stands, with the trade-off that a peer of constant work would have its
// work read as network.
func (b *builder) peerFloors(opNames []string) map[string]float64 {
	floors := map[string]float64{}
	roundTrip := math.Inf(1)
	for _, e := range b.edges {
		var x []float64
		for _, v := range *e {
			if v >= 0 {
				x = append(x, v)
			}
		}
		if len(x) >= minRoundTrips {
			slices.Sort(x)
			roundTrip = min(roundTrip, x[len(x)/2])
		}
	}
	for _, n := range opNames {
		o := b.ops[n]
		if len(o.shapes) != 0 || len(o.peerWork) < minFloorSamples {
			continue
		}
		x := slices.Clone(o.peerWork)
		slices.Sort(x)
		f := min(x[int(0.001*float64(len(x)))], roundTrip)
		if !(f >= negligible) {
			continue
		}
		floors[n] = f
		for i, v := range o.peerWork {
			o.peerWork[i] = math.Max(0, v-f)
		}
	}
	return floors
}

// MaxShapes is the most shapes Build keeps per operation. Real operations
// have a handful; thousands mean the structure is noise (random fan-out),
// and a model of thousands of one-off shapes predicts nothing better than
// its most frequent ones.
const MaxShapes = 32

// weightsOf turns counts into weights with 4 decimals that sum to exactly
// 1, by the largest-remainder method: rounding each on its own can sum to
// more or less than 1 when there are many shapes.
func weightsOf(counts []int) []float64 {
	const units = 10000
	total := 0
	for _, c := range counts {
		total += c
	}
	w := make([]float64, len(counts))
	if total == 0 {
		return w
	}
	type rem struct {
		i    int
		frac float64
	}
	rems := make([]rem, len(counts))
	given := 0
	floor := make([]int, len(counts))
	for i, c := range counts {
		exact := float64(c) * units / float64(total)
		floor[i] = int(exact)
		given += floor[i]
		rems[i] = rem{i, exact - float64(floor[i])}
	}
	slices.SortStableFunc(rems, func(x, y rem) int { return cmp.Compare(y.frac, x.frac) })
	for k := 0; given < units; k++ {
		floor[rems[k%len(rems)].i]++
		given++
	}
	for i := range w {
		w[i] = float64(floor[i]) / units
	}
	return w
}

// breakRecursion finds calls that close a cycle in the operation graph and
// turns each into local work of the caller with the call's recorded
// duration: the simulator runs call graphs, which cannot recurse without
// bound.
func (b *builder) breakRecursion(m *Model, fit func([]float64) (dist.Dist, *dist.Fit)) {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	slices.Sort(names)
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	back := map[edge]bool{}
	for _, root := range names {
		if color[root] != white {
			continue
		}
		type item struct {
			op   string
			next []string
		}
		stack := []item{{root, callees(m.Operations[root])}}
		color[root] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if len(top.next) == 0 {
				color[top.op] = black
				stack = stack[:len(stack)-1]
				continue
			}
			nx := top.next[0]
			top.next = top.next[1:]
			switch color[nx] {
			case grey:
				back[edge{top.op, nx}] = true
			case white:
				color[nx] = grey
				stack = append(stack, item{nx, callees(m.Operations[nx])})
			}
		}
	}
	if len(back) == 0 {
		return
	}
	for _, n := range names {
		op := m.Operations[n]
		for _, sh := range op.Shapes {
			shAcc := b.accOf[sh]
			for _, st := range sh.Steps {
				if st.Call != nil && back[edge{n, st.Call.Target}] {
					samples := []float64{float64(1000)}
					if shAcc != nil {
						if ca := findCall(shAcc, st.Call.Target); ca != nil && len(ca.duration) > 0 {
							samples = ca.duration
						}
					}
					d, f := fit(samples)
					b.report.RecursiveCalls++
					b.report.Notes = append(b.report.Notes, fmt.Sprintf("%s calls %s, which leads back to it: the call is modelled as local work", n, st.Call.Target))
					*st = Step{Work: d, WorkFit: f}
					continue
				}
				if st.Parallel != nil {
					st.Parallel = dropBack(st.Parallel, n, back, b.report)
				}
				if st.Pool != nil {
					st.Pool.Calls = dropBack(st.Pool.Calls, n, back, b.report)
				}
			}
			sh.Steps = slices.DeleteFunc(sh.Steps, func(st *Step) bool {
				return (st.Parallel != nil && len(st.Parallel) == 0) || (st.Pool != nil && len(st.Pool.Calls) == 0)
			})
		}
	}
}

// edge is a call from one operation to another.
type edge struct{ from, to string }

func dropBack(calls []*Call, from string, back map[edge]bool, r *BuildReport) []*Call {
	return slices.DeleteFunc(calls, func(c *Call) bool {
		if back[edge{from, c.Target}] {
			r.RecursiveCalls++
			r.Notes = append(r.Notes, fmt.Sprintf("%s calls %s concurrently, which leads back to it: the call is left out", from, c.Target))
			return true
		}
		return false
	})
}

func findCall(s *shapeAcc, target string) *callAcc {
	for i, st := range s.steps {
		for j, c := range st.calls {
			if c.target == target {
				return s.calls[i][j]
			}
		}
	}
	return nil
}

// callees lists the operations op calls, sorted, without duplicates.
func callees(op *Operation) []string {
	var out []string
	for _, sh := range op.Shapes {
		for _, st := range sh.Steps {
			if st.Call != nil {
				out = append(out, st.Call.Target)
			}
			for _, c := range st.Parallel {
				out = append(out, c.Target)
			}
			if st.Pool != nil {
				for _, c := range st.Pool.Calls {
					out = append(out, c.Target)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func roundDigits(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
