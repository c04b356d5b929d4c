package topology

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tracesim/tracesim/topology/queue"
	"github.com/tracesim/tracesim/trace"
)

// This file finds where requests wait (DESIGN.md: "Recorded time is work
// plus waiting"). Build records every use of a resource that could be
// limited — each call, with its client and server span times, and each
// execution reached without a client span — and, before fitting, decides
// per resource whether its uses waited, for how many servers, and how
// much of each recorded duration was waiting (package topology/queue).
// The waits are taken out of the samples the model is fitted on, so the
// model keeps only service time and the simulator adds the waiting back
// at whatever load a scenario asks for.
//
// Where a limit can sit, and how each shows in traces:
//
//   - A service's workers, waited for before the server span starts (a
//     server's accept queue): a call's arrival is its client span's
//     start, its departure the server span's end; grouped per callee
//     instance. The wait sits in the gap between client and server span,
//     which Build reads as the edge's network overhead: a call that
//     waited gets twice its return-trip time (client end − server end)
//     as its network sample instead.
//   - A limit inside the client span: a connection pool or a lock taken by
//     the client library, or an uninstrumented peer's own workers. Grouped
//     per caller instance (a pool shared by the caller's requests) or,
//     for a peer, over all callers (the peer's workers); when both show a
//     limit, the grouping whose reconstruction leaves the other's
//     occupancy without effect wins. A peer's work sample becomes the
//     reconstructed service time; an instrumented callee's network
//     sample is corrected as above.
//   - A worker pool in the caller that calls are handed to: the wait is
//     before the client span, in the caller's own time. Client spans from
//     one caller instance to one callee never exceed the pool's size, and
//     one starts the instant another (of another request) ends while the
//     pool is full. The caller's work sample before such a call holds the
//     wait and is left out of the fit.
//
// Causality comes first: arrivals are client span starts, so a caller's
// next call, a loop's next iteration, a retry or a closed-loop client's
// next request arrive when their own trace says and are not taken for a
// queue; a hand-off between two calls of one execution is not counted.
// Executions whose arrival is not traced (entry requests with no client
// span above them) cannot show a wait before their span: a limit on an
// entry service has to be stated (--workers).

// noTime marks a missing span time in a use.
const noTime = math.MinInt64

// sampleRef points at one fitted sample: the idx-th value of the list
// b.lists[list−1] (list 0: none). Indices, not pointers, keep the uses
// free of pointers: a million of them cost the garbage collector nothing.
type sampleRef struct {
	list, idx int32
}

func (r sampleRef) ok() bool { return r.list != 0 }

// ref registers list (once) and returns a reference to its idx-th value.
func (b *builder) ref(list *[]float64, idx int) sampleRef {
	id, ok := b.listIDs[list]
	if !ok {
		b.lists = append(b.lists, list)
		id = int32(len(b.lists))
		b.listIDs[list] = id
	}
	return sampleRef{id, int32(idx)}
}

// sample is the value r points at.
func (b *builder) sample(r sampleRef) *float64 { return &(*b.lists[r.list-1])[r.idx] }

// use is one use of a resource that may be limited.
type use struct {
	caller, callee int32 // endpoints (service, instance); caller −1 for a root
	svc            int32 // the callee's service
	exec           int32 // the caller's execution, −1 for a root
	cStart, cEnd   int64 // client span; cStart noTime when there is none
	sStart, sEnd   int64 // server span; sStart noTime for a peer
	gapStart       int64 // when the caller's own time before the call began
	own            sampleRef
	gap            sampleRef
	async          bool
	// Where the use is in the traces: the trace's index, its client
	// span's (−1: none) and the caller's execution span's (the use's
	// own server span for a root).
	tr, client, execSpan int32
}

type endpoint struct{ svc, inst string }

// endpointID interns a (service, instance) pair.
func (b *builder) endpointID(svc, inst string) int32 {
	k := endpoint{svc, inst}
	if id, ok := b.endpointIDs[k]; ok {
		return id
	}
	id := int32(len(b.endpoints))
	b.endpoints = append(b.endpoints, k)
	b.endpointIDs[k] = id
	if _, ok := b.serviceIDs[svc]; !ok {
		b.serviceIDs[svc] = int32(len(b.serviceNames))
		b.serviceNames = append(b.serviceNames, svc)
	}
	return id
}

func (b *builder) serviceID(svc string) int32 {
	if id, ok := b.serviceIDs[svc]; ok {
		return id
	}
	id := int32(len(b.serviceNames))
	b.serviceNames = append(b.serviceNames, svc)
	b.serviceIDs[svc] = id
	return id
}

// capacityPlan is what inference decided, for finish to write.
type capacityPlan struct {
	workers  map[string]int
	evidence map[string]*CapacityEvidence // per service (its workers)
	pools    map[string]map[string]*SharedPool
	// via names the pool of the caller service that its calls to a
	// callee service go through.
	via     map[[2]string]string
	summary []string
}

// inferCapacity runs queue inference on every resource and corrects the
// samples of the uses that waited (see the file comment).
func (b *builder) inferCapacity(opt BuildOptions) *capacityPlan {
	plan := &capacityPlan{workers: map[string]int{}, evidence: map[string]*CapacityEvidence{},
		pools: map[string]map[string]*SharedPool{}, via: map[[2]string]string{}}
	if opt.Capacity == CapacityNone {
		return plan
	}
	// Uses by callee service.
	bySvc := map[int32][]int32{}
	for i := range b.uses {
		u := &b.uses[i]
		bySvc[u.svc] = append(bySvc[u.svc], int32(i))
	}
	svcs := make([]int32, 0, len(bySvc))
	for s := range bySvc {
		svcs = append(svcs, s)
	}
	slices.SortFunc(svcs, func(a, c int32) int { return cmp.Compare(b.serviceNames[a], b.serviceNames[c]) })
	for _, s := range svcs {
		b.inferService(s, bySvc[s], plan)
	}
	slices.Sort(plan.summary)
	return plan
}

// group is the uses of one resource under one hypothesis.
type group struct {
	uses []int32
	res  queue.Result
	// waits is each use's inferred wait in ns (parallel to uses), when
	// the group is limited.
	waits []int64
	// explained is, for observed starts, the share of the start delays
	// that fell on uses that found the resource full (InferStarted).
	explained float64
}

// inferService decides where the uses of one callee service waited.
func (b *builder) inferService(svc int32, ids []int32, plan *capacityPlan) {
	name := b.serviceNames[svc]
	peer := true
	for _, id := range ids {
		if b.uses[id].sStart != noTime {
			peer = false
			break
		}
	}
	callerKey := func(u *use) int32 {
		if u.cStart == noTime || u.async || u.caller < 0 {
			return -1
		}
		return u.caller
	}
	var callee, callers []*group
	if peer {
		// A peer shows only client spans: the waits are inside them,
		// reconstructed from arrivals and departures. Its own capacity
		// (all callers as one) or a pool per caller instance.
		whole := func(u *use) int32 { return 0 }
		callee = b.reconstructGroups(ids, whole)
		callers = b.reconstructGroups(ids, callerKey)
	} else {
		// An instrumented callee shows when each call got in: its
		// server span's start. Its workers (per instance, the wait before
		// the server span) or a pool per caller instance (the wait for a
		// connection inside the client span, before the request left).
		callee = b.startedGroups(ids, func(u *use) int32 { return u.callee }, b.atCallee)
		callers = b.startedGroups(ids, callerKey, b.atCaller)
	}
	calleeLimited, callerLimited := anyLimited(callee), anyLimited(callers)
	if calleeLimited && callerLimited {
		// Both groupings see a limit (they coincide when one caller
		// instance calls one callee instance).
		switch {
		case sameGrouping(callee, callers):
			// Indistinguishable: a peer's limit seen from one caller
			// instance is most often the caller's (a connection pool or
			// a lock in the client); an instrumented service's, its own
			// workers (its accept queue).
			callerLimited, calleeLimited = peer, !peer
		case peer:
			// The grouping whose reconstruction leaves the other's
			// occupancy without effect explains the waits.
			if b.residual(callee, callers) <= b.residual(callers, callee) {
				callerLimited = false
			} else {
				calleeLimited = false
			}
		default:
			// The grouping under which the waits fall on the uses that
			// found the resource full explains them.
			if explainedOf(callee) >= explainedOf(callers) {
				callerLimited = false
			} else {
				calleeLimited = false
			}
		}
	}
	switch {
	case calleeLimited:
		b.applyCallee(name, peer, callee, plan)
	case callerLimited:
		b.applyCallerPool(name, callers, WaitInSpan, plan)
	default:
		// A worker pool in the caller: waits before the client span.
		if pools := b.beforeSpanPools(ids); len(pools) > 0 {
			b.applyBeforeSpan(name, pools, plan)
			return
		}
		b.noLimitEvidence(name, peer, callee, plan)
	}
}

// explainedOf is the least share of start delays explained over the
// limited groups.
func explainedOf(gs []*group) float64 {
	e := 1.0
	for _, g := range gs {
		if g.res.Limited {
			e = min(e, g.explained)
		}
	}
	return e
}

// atCallee is a call's observed-start job at the callee's workers: it
// arrives when its client span starts (plus the trip there, taken as
// long as the trip back), starts with its server span.
func (b *builder) atCallee(u *use) queue.StartedJob {
	j := queue.StartedJob{Start: u.sStart, Depart: u.sEnd}
	if u.cStart != noTime && !u.async {
		j.Arrive, j.Known, j.Offset = u.cStart, true, max(u.cEnd-u.sEnd, 0)
	}
	return j
}

// atCaller is a call's observed-start job at a pool in its caller: it
// asks for a connection when its client span starts, has one when the
// request leaves (its server span's start less the trip), and gives it
// back with the response.
func (b *builder) atCaller(u *use) queue.StartedJob {
	back := max(u.cEnd-u.sEnd, 0)
	return queue.StartedJob{Arrive: u.cStart, Known: true, Start: max(u.sStart-back, u.cStart), Depart: u.cEnd}
}

// splitGroups splits ids by key (−1: left out), in key order.
func splitGroups(b *builder, ids []int32, key func(*use) int32) []*group {
	byKey := map[int32]*group{}
	var keys []int32
	for _, id := range ids {
		k := key(&b.uses[id])
		if k < 0 {
			continue
		}
		g := byKey[k]
		if g == nil {
			g = &group{}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.uses = append(g.uses, id)
	}
	slices.Sort(keys)
	out := make([]*group, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// reconstructGroups splits ids by key and infers each group's servers
// from arrivals and departures alone (queue.Infer): the waits are inside
// the spans.
func (b *builder) reconstructGroups(ids []int32, key func(*use) int32) []*group {
	gs := splitGroups(b, ids, key)
	type pair struct {
		j  queue.Job
		id int32
	}
	var ps []pair
	for _, g := range gs {
		// Infer sorts the jobs by arrival: sort the uses alike first.
		ps = ps[:0]
		for _, id := range g.uses {
			ps = append(ps, pair{b.clientJob(id), id})
		}
		slices.SortFunc(ps, func(x, y pair) int {
			if c := cmp.Compare(x.j.Arrive, y.j.Arrive); c != 0 {
				return c
			}
			if c := cmp.Compare(x.j.Depart, y.j.Depart); c != 0 {
				return c
			}
			return cmp.Compare(x.id, y.id)
		})
		jobs := make([]queue.Job, len(ps))
		for i, p := range ps {
			jobs[i], g.uses[i] = p.j, p.id
		}
		g.res = queue.Infer(jobs, queue.Options{}, nil)
		if g.res.Limited {
			start := make([]int64, len(jobs))
			queue.Reconstruct(jobs, g.res.C, start)
			g.waits = make([]int64, len(jobs))
			for i, j := range jobs {
				g.waits[i] = max(start[i]-j.Arrive, 0)
			}
		}
	}
	return gs
}

// clientJob is a use as its client span shows it.
func (b *builder) clientJob(id int32) queue.Job {
	u := &b.uses[id]
	return queue.Job{Arrive: u.cStart, Depart: u.cEnd}
}

// startedGroups splits ids by key and infers each group's servers from
// observed starts (queue.InferStarted).
func (b *builder) startedGroups(ids []int32, key func(*use) int32, job func(*use) queue.StartedJob) []*group {
	gs := splitGroups(b, ids, key)
	type pair struct {
		j  queue.StartedJob
		id int32
	}
	var ps []pair
	for _, g := range gs {
		// InferStarted sorts the jobs by start: sort the uses alike.
		ps = ps[:0]
		for _, id := range g.uses {
			ps = append(ps, pair{job(&b.uses[id]), id})
		}
		slices.SortFunc(ps, func(x, y pair) int {
			if c := cmp.Compare(x.j.Start, y.j.Start); c != 0 {
				return c
			}
			if c := cmp.Compare(x.j.Depart, y.j.Depart); c != 0 {
				return c
			}
			return cmp.Compare(x.id, y.id)
		})
		jobs := make([]queue.StartedJob, len(ps))
		for i, p := range ps {
			jobs[i], g.uses[i] = p.j, p.id
		}
		g.waits = make([]int64, len(jobs))
		g.res, g.explained = queue.InferStarted(jobs, queue.Options{}, g.waits)
		if !g.res.Limited {
			g.waits = nil
		}
	}
	return gs
}

func anyLimited(gs []*group) bool {
	for _, g := range gs {
		if g.res.Limited {
			return true
		}
	}
	return false
}

// sameGrouping reports whether two groupings split the uses they share
// alike: one group each, holding the same uses.
func sameGrouping(a, c []*group) bool {
	if len(a) != 1 || len(c) != 1 {
		return false
	}
	x, y := slices.Clone(a[0].uses), slices.Clone(c[0].uses)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// residual measures how much of the waiting that grouping other sees
// hypothesis h leaves unexplained: the Mann–Whitney statistic of h's
// service times (client span less h's inferred wait) of the uses that
// found other's resource full (at other's capacity) against the rest.
// Near 0: h explains the waits; large: those uses still took longer.
func (b *builder) residual(h, other []*group) float64 {
	svc := map[int32]float64{}
	for _, g := range h {
		for i, id := range g.uses {
			j := b.clientJob(id)
			s := j.Depart - j.Arrive
			if g.waits != nil {
				s -= g.waits[i]
			}
			svc[id] = float64(s)
		}
	}
	var xs []float64
	var full []bool
	for _, g := range other {
		if !g.res.Limited {
			continue
		}
		jobs := make([]queue.Job, len(g.uses))
		for i, id := range g.uses {
			jobs[i] = b.clientJob(id)
		}
		n := queue.Occupancy(jobs)
		for i, id := range g.uses {
			if s, ok := svc[id]; ok {
				xs = append(xs, s)
				full = append(full, int(n[i]) >= g.res.C)
			}
		}
	}
	return queue.MannWhitneyZ(xs, full)
}

// correctWait takes the wait of use id (w ns) out of its own sample: a
// peer's work becomes its service time; an instrumented call's network
// overhead becomes twice its return trip.
func (b *builder) correctWait(id int32, w int64) {
	if w <= 0 {
		return
	}
	u := &b.uses[id]
	if !u.own.ok() {
		return
	}
	v := b.sample(u.own)
	if u.sStart == noTime {
		*v = math.Max(0, *v-float64(w))
		return
	}
	*v = math.Max(0, 2*float64(u.cEnd-u.sEnd))
}

// applyWaits corrects the samples of every use of the limited groups,
// and notes each wait on the client span that holds it.
func (b *builder) applyWaits(gs []*group) {
	for _, g := range gs {
		if g.waits == nil {
			continue
		}
		for i, id := range g.uses {
			b.correctWait(id, g.waits[i])
			if u := &b.uses[id]; u.client >= 0 {
				b.noteWait(u.tr, u.client, g.waits[i])
			}
		}
	}
}

// noteWait records that span s of trace tr (indexes) holds w ns of
// waiting.
func (b *builder) noteWait(tr, s int32, w int64) {
	if w <= 0 || b.res == nil {
		return
	}
	if b.spanWaits == nil {
		b.spanWaits = map[trace.SpanRef]int64{}
	}
	b.spanWaits[b.res.Traces[tr].Ref(s)] += w
}

// Waits finds where the requests of res waited, as Build does (opt's
// Capacity and Workers alike), and returns the waiting each span holds in
// ns: a client span the time it waited for a connection, a lock or the
// callee's worker; an execution's span the time it waited for a worker
// pool of its own before a call. Spans that did not wait are absent.
// The critical path uses it to tell waiting from work.
func Waits(ctx context.Context, res *trace.Result, opt BuildOptions) (map[trace.SpanRef]int64, error) {
	b := newBuilder()
	if _, err := b.collect(ctx, res); err != nil {
		return nil, err
	}
	b.inferCapacity(opt)
	return b.spanWaits, nil
}

// evidenceOf merges the results of a resource's groups.
func evidenceOf(gs []*group, wait string) *CapacityEvidence {
	e := &CapacityEvidence{}
	waited, total := 0.0, 0.0
	var tests []string
	for _, g := range gs {
		r := g.res
		e.Executions += r.Jobs
		e.MaxConcurrent = max(e.MaxConcurrent, r.MaxPresent)
		if r.Limited {
			e.Servers = max(e.Servers, r.C)
			e.Queued += r.Waiting
			tests = append(tests, r.Reason)
		}
		total += r.Recorded
		if r.Limited {
			waited += r.Waited
		}
	}
	if total > 0 {
		e.WaitShare = dist3(waited / total)
	}
	if len(tests) > 0 {
		e.Test = tests[0]
		if len(tests) > 1 {
			e.Test = fmt.Sprintf("%s (and %d more instances)", tests[0], len(tests)-1)
		}
	}
	if wait != "" {
		e.Note = "waits " + wait
	}
	return e
}

// dist3 rounds a share to 3 significant digits.
func dist3(x float64) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, 3-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// applyCallee makes the limit the callee's workers.
func (b *builder) applyCallee(name string, peer bool, gs []*group, plan *capacityPlan) {
	b.applyWaits(gs)
	e := evidenceOf(gs, "")
	plan.workers[name] = e.Servers
	plan.evidence[name] = e
	if peer {
		plan.summary = append(plan.summary, fmt.Sprintf("%s: %d server(s); %.0f%% of its recorded time was waiting for one (inside its callers' client spans; a peer reports no spans)", name, e.Servers, 100*e.WaitShare))
		return
	}
	plan.summary = append(plan.summary, fmt.Sprintf("%s: %d worker(s) per instance; %.0f%% of the recorded time of calls to it was waiting for one (before its spans start)", name, e.Servers, 100*e.WaitShare))
}

// applyCallerPool makes the limit a pool in each calling service, shared
// by the requests of each of its instances.
func (b *builder) applyCallerPool(name string, gs []*group, wait string, plan *capacityPlan) {
	bySvc := map[string][]*group{}
	for _, g := range gs {
		if len(g.uses) == 0 {
			continue
		}
		caller := b.endpoints[b.uses[g.uses[0]].caller].svc
		bySvc[caller] = append(bySvc[caller], g)
	}
	if wait == WaitInSpan {
		// The waits are inside the client spans: out of the samples.
		// (Before the span they are in the caller's own time, which
		// applyBeforeSpan has dealt with.)
		b.applyWaits(gs)
	}
	for _, caller := range slices.Sorted(maps.Keys(bySvc)) {
		e := evidenceOf(bySvc[caller], wait)
		if e.Servers == 0 {
			continue
		}
		if plan.pools[caller] == nil {
			plan.pools[caller] = map[string]*SharedPool{}
		}
		plan.pools[caller][name] = &SharedPool{Size: e.Servers, Wait: wait, Evidence: e}
		plan.via[[2]string{caller, name}] = name
		where := "of the calls' recorded time was waiting (inside the client spans)"
		if wait == WaitBeforeSpan {
			where = "of the time from the calls' preceding work to their end was waiting (before the client spans)"
		}
		plan.summary = append(plan.summary, fmt.Sprintf("%s: a pool of %d per instance, shared by its requests, in front of %s; %.0f%% %s", caller, e.Servers, name, 100*e.WaitShare, where))
	}
}

// noLimitEvidence records what the traces showed of an unlimited service.
func (b *builder) noLimitEvidence(name string, peer bool, gs []*group, plan *capacityPlan) {
	if peer {
		return
	}
	e := evidenceOf(gs, "")
	if len(gs) > 0 {
		e.Test = gs[0].res.Reason
		for _, g := range gs[1:] {
			// The instance with the most overlap says most.
			if g.res.Overlapping > gs[0].res.Overlapping {
				e.Test = g.res.Reason
			}
		}
	}
	plan.evidence[name] = e
}

// handOffWindow is how soon after a pool slot frees a waiting call is
// taken to start: in-process hand-offs take microseconds; a millisecond
// leaves room for a loaded machine's scheduling.
const handOffWindow = int64(time.Millisecond)

// beforeSpanPools finds, per caller instance, calls to this service that
// waited for a worker pool before their client span: the client spans of
// one caller instance never exceed k at once, and when one of k ends,
// another request's call starts within handOffWindow significantly more
// often than when fewer were running (without a pool, a start is as
// likely after any end), at least queue.DefaultMinWaiting times. It
// returns the groups with their pool size in res.C.
func (b *builder) beforeSpanPools(ids []int32) []*group {
	byCaller := map[int32][]int32{}
	var callers []int32
	for _, id := range ids {
		u := &b.uses[id]
		if u.cStart == noTime || u.async || u.caller < 0 {
			continue
		}
		if _, ok := byCaller[u.caller]; !ok {
			callers = append(callers, u.caller)
		}
		byCaller[u.caller] = append(byCaller[u.caller], id)
	}
	slices.Sort(callers)
	zc := queue.ZCrit(queue.DefaultAlpha)
	var out []*group
	for _, c := range callers {
		g := &group{uses: byCaller[c]}
		h := b.handoffs(g.uses)
		n := len(h.waited)
		g.res = queue.Result{Jobs: len(g.uses), MaxPresent: h.k, ZCrit: zc}
		g.res.Z = twoProportionZ(n, h.fullEnds, h.lowHandoffs, h.lowEnds)
		if n >= queue.DefaultMinWaiting && h.k > 0 && g.res.Z > zc {
			g.res.Limited, g.res.C, g.res.Waiting = true, h.k, n
			g.res.Reason = fmt.Sprintf("never more than %d calls at once from one instance; when one of %d ended, another request's call started at once %d times in %d (%d in %d with fewer running; z %.1f > %.1f)",
				h.k, h.k, n, h.fullEnds, h.lowHandoffs, h.lowEnds, g.res.Z, zc)
			g.waits = b.beforeSpanWaits(g.uses, h.waited)
			var recorded, waited float64
			for i, id := range g.uses {
				u := &b.uses[id]
				if u.gapStart != noTime {
					recorded += float64(u.cEnd - u.gapStart)
				}
				waited += float64(g.waits[i])
			}
			g.res.Recorded, g.res.Waited = recorded, waited
			if recorded > 0 {
				g.res.WaitShare = waited / recorded
			}
		}
		out = append(out, g)
	}
	if !anyLimited(out) {
		return nil
	}
	return out
}

// twoProportionZ tests whether a/n exceeds b/m (a one-sided z, pooled).
func twoProportionZ(a, n, b, m int) float64 {
	if n == 0 {
		return 0
	}
	if m == 0 {
		if a > 0 {
			return math.Inf(1) // no other level to compare with
		}
		return 0
	}
	p1, p2 := float64(a)/float64(n), float64(b)/float64(m)
	p := float64(a+b) / float64(n+m)
	se := math.Sqrt(p * (1 - p) * (1/float64(n) + 1/float64(m)))
	if se == 0 {
		return 0
	}
	return (p1 - p2) / se
}

// beforeSpanWaits estimates, for the calls that started at a hand-off,
// the wait in the caller's time before them: their gap less the median
// gap of the calls that did not wait. The others get 0.
func (b *builder) beforeSpanWaits(ids, waited []int32) []int64 {
	w := map[int32]bool{}
	for _, id := range waited {
		w[id] = true
	}
	var free []int64
	for _, id := range ids {
		if u := &b.uses[id]; !w[id] && u.gapStart != noTime {
			free = append(free, u.cStart-u.gapStart)
		}
	}
	slices.Sort(free)
	typical := int64(0)
	if len(free) > 0 {
		typical = free[len(free)/2]
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		if u := &b.uses[id]; w[id] && u.gapStart != noTime {
			out[i] = max(u.cStart-u.gapStart-typical, 0)
		}
	}
	return out
}

// handoffStats is what handoffs saw of one caller instance's calls.
type handoffStats struct {
	k        int     // the most client spans open at once
	waited   []int32 // uses that started at a hand-off from a full pool
	fullEnds int     // ends while k were open
	// lowEnds counts ends while fewer were open, lowHandoffs those
	// followed at once by another request's call all the same.
	lowEnds, lowHandoffs int
}

// handoffs counts, over one caller instance's calls, the starts that
// come within handOffWindow after another execution's call ended: while
// k (the most ever open) were open, such a start is a call that waited
// for a slot of a pool of size k. A call of the same execution ending
// just before (the previous iteration of a loop, a retry) explains the
// timing itself and does not count.
func (b *builder) handoffs(ids []int32) handoffStats {
	type ev struct {
		t    int64
		d    int // +1 start, −1 end
		id   int32
		exec int32
	}
	evs := make([]ev, 0, 2*len(ids))
	for _, id := range ids {
		u := &b.uses[id]
		evs = append(evs, ev{u.cStart, 1, id, u.exec}, ev{u.cEnd, -1, id, u.exec})
	}
	slices.SortFunc(evs, func(x, y ev) int {
		if c := cmp.Compare(x.t, y.t); c != 0 {
			return c
		}
		if c := cmp.Compare(x.d, y.d); c != 0 {
			return c // ends first
		}
		return cmp.Compare(x.id, y.id)
	})
	var h handoffStats
	cur := 0
	for _, e := range evs {
		cur += e.d
		h.k = max(h.k, cur)
	}
	cur = 0
	// The latest end not yet followed by a start: its time, execution,
	// and how many were open before it.
	lastEnd, lastExec, lastLevel := int64(noTime), int32(-2), 0
	for _, e := range evs {
		if e.d < 0 {
			if cur == h.k {
				h.fullEnds++
			} else {
				h.lowEnds++
			}
			lastEnd, lastExec, lastLevel = e.t, e.exec, cur
			cur--
			continue
		}
		if lastEnd != noTime && e.t-lastEnd <= handOffWindow && e.exec != lastExec {
			if lastLevel == h.k && cur == h.k-1 {
				h.waited = append(h.waited, e.id)
			} else {
				h.lowHandoffs++
			}
		}
		lastEnd = noTime
		cur++
	}
	return h
}

// applyBeforeSpan makes pools of calls that waited before their client
// span. The caller's work sample before each call that started at a
// hand-off is work plus an unknown wait: it is left out of the fit (NaN).
func (b *builder) applyBeforeSpan(name string, gs []*group, plan *capacityPlan) {
	for _, g := range gs {
		if !g.res.Limited {
			continue
		}
		for _, id := range b.handoffs(g.uses).waited {
			if u := &b.uses[id]; u.gap.ok() {
				*b.sample(u.gap) = math.NaN()
			}
		}
		for i, id := range g.uses {
			b.noteWait(b.uses[id].tr, b.uses[id].execSpan, g.waits[i])
		}
	}
	b.applyCallerPool(name, gs, WaitBeforeSpan, plan)
}

// withoutNaN returns x without its NaN values (samples left out of a fit).
func withoutNaN(x []float64) []float64 {
	if !slices.ContainsFunc(x, math.IsNaN) {
		return x
	}
	return slices.DeleteFunc(slices.Clone(x), math.IsNaN)
}
