package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/topology/dist"
)

// DefaultMaxEvents bounds a run when Config.MaxEvents is 0, so a model
// with a call cycle or a huge overload cannot run forever.
const DefaultMaxEvents = 1_000_000_000

// exec is one execution of an operation at a service instance: from its
// arrival (it may queue for a worker) to its response.
type exec struct {
	arrive   int64
	op, inst int32
	step     int32
	sh       *shapeC // the shape being run; nil for an operation without shapes
	parent   int32   // branch waiting for it; -1 for a root request
	pgen     uint32
	gen      uint32 // bumped when the slot is freed
	user     int32  // closed-loop user of a root request, else -1
	// Progress of the current call step.
	next, inflight, done int32
	selfErr, failed      bool
	measured             bool
	started              int64   // when it got a worker
	req                  int64   // traced request (Config.OnSpan), 0 = none
	span, pspan          uint64  // its span id and its parent's (the client span)
	async                bool    // traced: called asynchronously
	rsh                  *shapeC // replay: the recorded shape to run, else nil
}

// setShape sets e.sh, storing only a change: exec slots are reused, and
// every pointer store is a write barrier while the garbage collector
// runs. (arrive treats e.rsh alike.)
func (e *exec) setShape(sh *shapeC) {
	if e.sh != sh {
		e.sh = sh
	}
}

// branch is one call of a call step, through its repetitions, retries
// and timeouts. gen is bumped at the end of every attempt, so events of
// an attempt that was given up (timed out) are recognised as stale.
type branch struct {
	exec     int32
	egen     uint32
	op       int32 // calling operation (its network stream)
	call     *callC
	gen      uint32
	repeats  int32 // repetitions left, counting the current one
	attempt  int32 // retries made for the current repetition
	netAfter int64
	err      bool // the response of the current attempt is an error
	detached bool // async: the caller does not wait
	measured bool
	// Span bookkeeping of the current attempt (Config.OnSpan).
	req   int64
	span  uint64
	pspan uint64 // the caller's (server) span
	t0    int64  // attempt start
	cinst int32  // caller's instance
	// last is the callee instance the latest attempt went to, so that a
	// retry goes to another one where there are several.
	last int32
	// holding: the current attempt holds a slot of its call's shared
	// pool (callC.via).
	holding bool
}

type instance struct {
	busy  int32
	down  bool // Config.Down: refuses every execution
	queue []int32
	head  int
	// pools are the instance's shared pools (svcC.pools), slots held by
	// the calls its executions make.
	pools []poolState
}

// poolState is one shared pool of one instance: slots in use and the
// attempts waiting for one, first come first served. An entry whose
// branch moved on (its gen changed: it timed out waiting) is skipped.
type poolState struct {
	busy int32
	wait []poolWait
	head int
}

type poolWait struct {
	b   int32
	gen uint32
}

func (in *instance) queued() int { return len(in.queue) - in.head }

func (in *instance) pop() int32 {
	id := in.queue[in.head]
	in.head++
	if in.head == len(in.queue) {
		in.queue, in.head = in.queue[:0], 0
	} else if in.head >= 1024 && 2*in.head >= len(in.queue) {
		n := copy(in.queue, in.queue[in.head:])
		in.queue, in.head = in.queue[:n], 0
	}
	return id
}

type svcState struct {
	insts []instance
	rr    int32
	busy  int64 // busy workers over all instances
	// area is the busy worker-ns inside the measured window [warm, end):
	// each execution adds clip(release) − clip(start), so the window's
	// integral needs one addition per change and no multiplication.
	// int64 holds up to ~9.2e18 worker-ns (1000 workers for 100 days).
	area int64
}

// clip bounds t to the measured window.
func (g *engine) clip(t int64) int64 { return min(max(t, g.warm), g.end) }

type counter struct {
	req, errs int64
	h         hist.Hist
}

type engine struct {
	c     *compiled
	h     eventHeap
	now   int64
	execs []exec
	freeE []int32
	brs   []branch
	freeB []int32
	svcs  []svcState
	opSt  []counter
	epSt  []counter // per entry

	entryOp  []int32   // entry index → operation
	rates    []float64 // per entry, requests/s
	arrMean  []float64 // per entry, mean inter-arrival time in ns
	arrRng   []*rand.Rand
	thinkRng []*rand.Rand
	users    []int32 // closed loop: user → entry
	think    dist.Dist
	constant bool

	warm, end    int64 // measured window [warm, end)
	stopArrivals int64 // no request starts at or after this time
	target       int64 // measured completions to stop at; 0 = none
	completed    int64
	stopped      bool
	leastLoaded  bool
	events       int64
	maxEvents    int64

	opEntry []int32 // operation → entry index, -1 if none
	replay  []replayReq

	onSpan   func(SpanRecord)
	reqSeq   int64
	spanSeq  uint64
	opShort  []string // operation names without "service/"
	opSvcNam []string // operation → its service's name
}

// ns rounds a duration in float nanoseconds to int64, clamping it to
// [0, MaxInt64/4]; NaN gives 0. The common case is tested first, with
// comparisons that are false for NaN.
func ns(x float64) int64 {
	if x > 0 && x < math.MaxInt64/4 {
		return int64(x + 0.5)
	}
	if x >= math.MaxInt64/4 {
		return math.MaxInt64 / 4
	}
	return 0
}

func (g *engine) newExec() int32 {
	if n := len(g.freeE); n > 0 {
		id := g.freeE[n-1]
		g.freeE = g.freeE[:n-1]
		return id
	}
	g.execs = append(g.execs, exec{})
	return int32(len(g.execs) - 1)
}

func (g *engine) newBranch() int32 {
	if n := len(g.freeB); n > 0 {
		id := g.freeB[n-1]
		g.freeB = g.freeB[:n-1]
		return id
	}
	g.brs = append(g.brs, branch{})
	return int32(len(g.brs) - 1)
}

// run processes events until none are left or the stop condition holds.
func (g *engine) run(ctx context.Context) error {
	// Checking the context and the event bound every checkEvery events
	// keeps both out of the per-event path.
	const checkEvery = 1 << 16
	left := min(checkEvery, g.maxEvents)
	for len(g.h.ev) > 0 && !g.stopped {
		if left--; left < 0 {
			left = min(checkEvery, g.maxEvents-g.events) - 1
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sim: interrupted at simulated %v: %w", fmtNS(g.now), err)
			}
			if g.events >= g.maxEvents {
				return fmt.Errorf("sim: stopped after %d events at simulated %v: the model does not settle (call cycle or extreme overload?); raise Config.MaxEvents to go on", g.events, fmtNS(g.now))
			}
		}
		ev := g.h.pop()
		g.now = ev.t
		g.events++
		switch ev.kind() {
		case evArrival:
			g.arrival(ev.id)
		case evUser:
			g.userSend(ev.id)
		case evWorkDone:
			if g.execs[ev.id].gen == ev.gen {
				g.advance(ev.id)
			}
		case evCallSend:
			if b := &g.brs[ev.id]; b.gen == ev.gen {
				g.arrive(b.call.target, ev.id, ev.gen, b.measured, -1, b.call.rsh)
			}
		case evCallDone:
			if b := &g.brs[ev.id]; b.gen == ev.gen {
				g.attemptEnd(ev.id, b.err)
			}
		case evTimeout:
			if g.brs[ev.id].gen == ev.gen {
				g.attemptEnd(ev.id, true)
			}
		case evRetry:
			if g.brs[ev.id].gen == ev.gen {
				g.startAttempt(ev.id)
			}
		case evReplay:
			g.replayArrival(ev.id)
		}
	}
	return nil
}

func (g *engine) interArrival(e int32) int64 {
	mean := g.arrMean[e]
	if g.constant {
		return ns(mean)
	}
	return ns(g.arrRng[e].ExpFloat64() * mean)
}

func (g *engine) arrival(e int32) {
	if g.now >= g.stopArrivals {
		return
	}
	g.arrive(g.entryOp[e], -1, 0, g.now >= g.warm, -1, nil)
	g.h.push(g.now+g.interArrival(e), evArrival, e, 0)
}

func (g *engine) userSend(u int32) {
	if g.now >= g.stopArrivals {
		return
	}
	g.arrive(g.entryOp[g.users[u]], -1, 0, g.now >= g.warm, u, nil)
}

func (g *engine) thinkTime(u int32) int64 {
	if g.think == nil {
		return 0
	}
	return ns(g.think.Sample(g.thinkRng[g.users[u]]))
}

// arrive starts an execution of op: it takes a worker of the chosen
// instance or joins the instance's FIFO queue. rsh is the recorded shape
// of a replayed execution, nil to draw one from the model.
func (g *engine) arrive(op, parent int32, pgen uint32, measured bool, user int32, rsh *shapeC) {
	id := g.newExec()
	e := &g.execs[id]
	o := &g.c.ops[op]
	s := &g.svcs[o.svc]
	var inst int32
	if g.leastLoaded && len(s.insts) > 1 {
		best := math.MaxInt
		for i := range s.insts {
			if l := int(s.insts[i].busy) + s.insts[i].queued(); l < best {
				best, inst = l, int32(i)
			}
		}
	} else {
		inst = s.rr
		if s.rr++; int(s.rr) == len(s.insts) {
			s.rr = 0
		}
	}
	if parent >= 0 && len(s.insts) > 1 {
		// A retry goes to another instance than the attempt that failed,
		// as client-side load balancers do.
		br := &g.brs[parent]
		if br.attempt > 0 && inst == br.last {
			inst = (inst + 1) % int32(len(s.insts))
		}
		br.last = inst
	}
	// Only the fields read before being set again are reset (the call
	// step counters are reset by each call step, shape and step by start).
	e.arrive, e.op, e.inst, e.parent, e.pgen, e.user = g.now, op, inst, parent, pgen, user
	e.measured, e.selfErr, e.failed = measured, false, false
	e.req = 0
	if e.rsh != rsh {
		e.rsh = rsh
	}
	if g.onSpan != nil && measured {
		if parent >= 0 {
			br := &g.brs[parent]
			e.req, e.pspan, e.async = br.req, br.span, br.detached
		} else {
			g.reqSeq++
			e.req, e.pspan, e.async = g.reqSeq, 0, false
		}
		g.spanSeq++
		e.span = g.spanSeq
	}
	in := &s.insts[inst]
	if in.down {
		g.refuse(id)
		return
	}
	if w := g.c.svcs[o.svc].workers; w > 0 && in.busy >= w {
		in.queue = append(in.queue, id)
		return
	}
	g.start(id)
}

// refuse answers exec id, sent to a down instance, at once with an
// error. It takes a worker only for the instant finish needs to release
// one (no queueing, no busy time), runs no shape and draws nothing.
func (g *engine) refuse(id int32) {
	e := &g.execs[id]
	s := &g.svcs[g.c.ops[e.op].svc]
	s.insts[e.inst].busy++
	s.busy++
	s.area -= g.clip(g.now)
	e.started, e.failed = g.now, true
	e.setShape(nil)
	g.finish(id)
}

// start gives exec id a worker and begins its shape.
func (g *engine) start(id int32) {
	e := &g.execs[id]
	o := &g.c.ops[e.op]
	s := &g.svcs[o.svc]
	s.insts[e.inst].busy++
	e.started = g.now
	s.area -= g.clip(g.now)
	s.busy++
	e.step = -1
	if e.rsh != nil {
		// Replay: the recorded shape and outcome, no draws.
		e.selfErr = e.rsh.err
		e.setShape(e.rsh)
		if len(e.rsh.steps) == 0 {
			g.h.push(g.now, evWorkDone, id, e.gen)
			return
		}
		g.advance(id)
		return
	}
	// The self-error draw is made for every execution, whether or not it
	// ends up failing through a call, so the error stream stays aligned
	// between two models (common random numbers).
	if o.errRate > 0 {
		e.selfErr = o.errRng.Float64() < o.errRate
	}
	switch len(o.shapes) {
	case 0:
		e.setShape(nil)
	case 1:
		e.setShape(&o.shapes[0])
	default:
		u := o.shapeRng.Float64()
		k := 0
		for k < len(o.cum)-1 && u >= o.cum[k] {
			k++
		}
		e.setShape(&o.shapes[k])
	}
	if e.sh == nil || len(e.sh.steps) == 0 {
		// Finish through an event, not recursively: a queue of empty
		// executions would otherwise nest finish → start → finish.
		g.h.push(g.now, evWorkDone, id, e.gen)
		return
	}
	g.advance(id)
}

// advance moves exec id to its next step and runs it; it returns when
// the step waits for an event or the execution finished.
func (g *engine) advance(id int32) {
	for {
		e := &g.execs[id]
		if e.sh == nil {
			g.finish(id)
			return
		}
		steps := e.sh.steps
		e.step++
		if int(e.step) >= len(steps) {
			g.finish(id)
			return
		}
		st := &steps[e.step]
		if st.kind == stepWork {
			d := st.workNS
			if st.work != nil {
				d = ns(st.work.Sample(g.c.ops[e.op].workRng))
			}
			g.h.push(g.now+d, evWorkDone, id, e.gen)
			return
		}
		e.next, e.inflight, e.done = 0, 0, 0
		g.startCalls(id, st)
		if e = &g.execs[id]; int(e.done) < len(st.calls) {
			return
		}
	}
}

// startCalls starts the calls of the current step that the step's
// concurrency limit allows. Async calls count as done at once.
func (g *engine) startCalls(id int32, st *stepC) {
	for {
		e := &g.execs[id]
		if int(e.next) >= len(st.calls) || e.inflight >= st.limit {
			return
		}
		cl := &st.calls[e.next]
		e.next++
		if cl.async {
			e.done++
		} else {
			e.inflight++
		}
		b := g.newBranch()
		br := &g.brs[b]
		*br = branch{exec: id, egen: e.gen, op: e.op, call: cl, gen: br.gen, repeats: cl.repeat,
			detached: cl.async, measured: e.measured, req: e.req, pspan: e.span, cinst: e.inst}
		if cl.delayNS > 0 {
			// A replayed call sent later than its step started.
			g.h.push(g.now+cl.delayNS, evRetry, b, br.gen)
			continue
		}
		g.startAttempt(b)
	}
}

// startAttempt starts one attempt of branch b: it takes a slot of the
// call's shared pool, or waits for one, and sends. A timeout counts from
// here, the wait for a slot included.
func (g *engine) startAttempt(b int32) {
	br := &g.brs[b]
	if br.req != 0 {
		g.spanSeq++
		br.span, br.t0 = g.spanSeq, g.now
	}
	if br.call.timeout > 0 {
		g.h.push(g.now+br.call.timeout, evTimeout, b, br.gen)
	}
	if v := br.call.via; v >= 0 {
		ps := g.pool(br, v)
		if ps.busy >= g.c.svcs[g.c.ops[br.op].svc].pools[v].size {
			ps.wait = append(ps.wait, poolWait{b, br.gen})
			return
		}
		ps.busy++
		br.holding = true
	}
	g.send(b)
}

// pool is the shared pool v of the instance that runs branch br's caller.
func (g *engine) pool(br *branch, v int32) *poolState {
	return &g.svcs[g.c.ops[br.op].svc].insts[br.cinst].pools[v]
}

// send sends the current attempt of branch b. The network overhead is
// sampled once per attempt; half is spent before the callee starts and
// half after it responds, so it adds to the caller's latency once.
func (g *engine) send(b int32) {
	br := &g.brs[b]
	net := br.call.netNS
	if br.call.net != nil {
		net = ns(br.call.net.Sample(g.c.ops[br.op].netRng))
	}
	half := net / 2
	br.netAfter = net - half
	if br.req != 0 && br.call.via >= 0 && g.c.svcs[g.c.ops[br.op].svc].pools[br.call.via].beforeSpan {
		br.t0 = g.now // the wait for a worker pool is before the client span
	}
	g.h.push(g.now+half, evCallSend, b, br.gen)
}

// release gives back the pool slot branch b holds, to the first attempt
// still waiting for one.
func (g *engine) release(b int32) {
	br := &g.brs[b]
	br.holding = false
	ps := g.pool(br, br.call.via)
	ps.busy--
	for ps.head < len(ps.wait) {
		w := ps.wait[ps.head]
		ps.head++
		if ps.head == len(ps.wait) {
			ps.wait, ps.head = ps.wait[:0], 0
		} else if ps.head >= 1024 && 2*ps.head >= len(ps.wait) {
			n := copy(ps.wait, ps.wait[ps.head:])
			ps.wait, ps.head = ps.wait[:n], 0
		}
		if nb := &g.brs[w.b]; nb.gen == w.gen {
			ps.busy++
			nb.holding = true
			g.send(w.b)
			return
		}
	}
}

// attemptEnd handles the response (or the timeout) of an attempt.
func (g *engine) attemptEnd(b int32, failed bool) {
	br := &g.brs[b]
	br.gen++ // the attempt is over: ignore its late response or timeout
	if br.holding {
		g.release(b)
		br = &g.brs[b]
	}
	cl := br.call
	if br.req != 0 {
		g.onSpan(SpanRecord{
			Request: br.req, ID: br.span, Parent: br.pspan,
			Service: g.opSvcNam[br.op], Operation: g.opShort[cl.target], PeerService: g.opSvcNam[cl.target],
			Kind: SpanClient, Instance: int(br.cinst), Arrive: br.t0, Start: br.t0, End: g.now,
			Error: failed, Async: br.detached,
		})
	}
	if failed && br.attempt < cl.retries {
		br.attempt++
		g.h.push(g.now+cl.backoff, evRetry, b, br.gen)
		return
	}
	if failed && !cl.optional {
		g.branchDone(b, true)
		return
	}
	if br.repeats--; br.repeats > 0 {
		br.attempt = 0
		g.startAttempt(b)
		return
	}
	g.branchDone(b, false)
}

func (g *engine) branchDone(b int32, failed bool) {
	br := &g.brs[b]
	id, egen, detached := br.exec, br.egen, br.detached
	br.gen++
	g.freeB = append(g.freeB, b)
	if detached || g.execs[id].gen != egen {
		return // async, or the caller already gave up on this step
	}
	e := &g.execs[id]
	e.inflight--
	e.done++
	if failed {
		// A failed required call fails the caller at once: it stops at
		// this step, leaving its other calls running unobserved.
		e.failed = true
		g.finish(id)
		return
	}
	st := &e.sh.steps[e.step]
	g.startCalls(id, st)
	if e = &g.execs[id]; int(e.done) == len(st.calls) {
		g.advance(id)
	}
}

// finish ends exec id: records it, frees its worker (starting the next
// queued execution), and answers its caller.
func (g *engine) finish(id int32) {
	e := &g.execs[id]
	o := &g.c.ops[e.op]
	failed := e.selfErr || e.failed
	if e.req != 0 {
		g.onSpan(SpanRecord{
			Request: e.req, ID: e.span, Parent: e.pspan,
			Service: g.opSvcNam[e.op], Operation: g.opShort[e.op],
			Kind: SpanServer, Instance: int(e.inst), Arrive: e.arrive, Start: e.started, End: g.now,
			Error: failed, Async: e.async,
		})
	}
	if e.measured {
		c := &g.opSt[e.op]
		c.req++
		if failed {
			c.errs++
		}
		// A root execution's latency is its request's: it is recorded
		// once, in the endpoint histogram, which result merges into the
		// operation's.
		if e.parent >= 0 {
			c.h.Record(g.now - e.arrive)
		}
	}
	s := &g.svcs[o.svc]
	in := &s.insts[e.inst]
	in.busy--
	s.area += g.clip(g.now)
	s.busy--
	parent, pgen, user, measured, arrive, op := e.parent, e.pgen, e.user, e.measured, e.arrive, e.op
	e.gen++
	g.freeE = append(g.freeE, id)
	if in.queued() > 0 {
		g.start(in.pop())
	}
	if parent >= 0 {
		if br := &g.brs[parent]; br.gen == pgen {
			br.err = failed
			g.h.push(g.now+br.netAfter, evCallDone, parent, pgen)
		}
		return
	}
	if measured {
		c := &g.epSt[g.opEntry[op]]
		c.req++
		if failed {
			c.errs++
		}
		c.h.Record(g.now - arrive)
		g.completed++
		if g.target > 0 && g.completed >= g.target {
			g.stopped = true
			g.end = min(g.end, g.now)
			return
		}
	}
	if user >= 0 && g.now < g.stopArrivals {
		g.h.push(g.now+g.thinkTime(user), evUser, user, 0)
	}
}

func fmtNS(t int64) string { return fmt.Sprintf("%.3fs", float64(t)/1e9) }
