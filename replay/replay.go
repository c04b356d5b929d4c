// Package replay turns recorded traces into a trace-driven workload for
// the simulator: every recorded request keeps its arrival time, its own
// execution tree and its own measured times, so the correlations a model
// averages away (this request's cache miss, that one's slow query)
// survive. The simulator then adds what a model says about capacity:
// requests compete for the workers of each service instance.
package replay

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
)

// Options select and scale what is replayed.
type Options struct {
	// From and To cut a window of the recording, measured from the first
	// request's arrival; To 0 means to the end.
	From, To time.Duration
}

// Report says what FromTraces did.
type Report struct {
	Requests int // replayed requests
	// Skipped counts roots that could not be replayed: orphans (their
	// caller is not in the recording) and roots without timing.
	Skipped int
	// Outside counts requests left out by the window.
	Outside int
	// Span is the time from the first to the last replayed arrival.
	Span time.Duration
}

// FromTraces converts assembled traces into replay requests, one per
// non-orphan timed root, in arrival order. Each execution's time line is
// cut as topology.Build cuts it — local work between groups of calls that
// overlap in time — but every call keeps its own measured times and its
// delay from the start of its group, so a replay with unlimited capacity
// reproduces each recorded latency. Client minus server duration is the
// call's network overhead; a client span without a server below it is a
// call to the uninstrumented peer it names, taking the client span's time.
//
// Recorded times already contain whatever queueing the traced system had;
// replaying them with finite workers adds the simulated queueing on top.
func FromTraces(res *trace.Result, opt Options) ([]sim.ReplayRequest, *Report, error) {
	rep := &Report{}
	type root struct {
		t *trace.Trace
		i int32
	}
	var roots []root
	for ti := range res.Traces {
		t := &res.Traces[ti]
		for _, r := range t.Roots {
			s := &t.Spans[r]
			if s.Has(trace.FlagOrphan) || s.Has(trace.FlagNoStart) || s.Has(trace.FlagNoDuration) {
				rep.Skipped++
				continue
			}
			roots = append(roots, root{t, r})
		}
	}
	if len(roots) == 0 {
		return nil, rep, errors.New("no timed root spans to replay (every root is an orphan or untimed)")
	}
	slices.SortStableFunc(roots, func(a, b root) int {
		return cmp.Compare(a.t.Spans[a.i].Start, b.t.Spans[b.i].Start)
	})
	t0 := roots[0].t.Spans[roots[0].i].Start
	var out []sim.ReplayRequest
	var last int64
	c := &converter{}
	for _, r := range roots {
		at := r.t.Spans[r.i].Start - t0
		if at < int64(opt.From) || (opt.To > 0 && at > int64(opt.To)) {
			rep.Outside++
			continue
		}
		out = append(out, sim.ReplayRequest{Arrive: time.Duration(at - int64(opt.From)), Root: c.exec(r.t, r.i)})
		last = at
	}
	if len(out) == 0 {
		return nil, rep, errors.New("no request arrives within the replay window")
	}
	rep.Requests = len(out)
	rep.Span = time.Duration(last - int64(opt.From) - int64(out[0].Arrive))
	return out, rep, nil
}

type event struct {
	start, end int64
	async      bool
	call       sim.ReplayCall
}

// converter turns executions into replay executions; exec recurses into
// callees, so the walker's results are copied out before recursing.
type converter struct {
	walker topology.CallWalker
}

// exec converts the execution of span i.
func (c *converter) exec(t *trace.Trace, i int32) *sim.ReplayExec {
	s := &t.Spans[i]
	x := &sim.ReplayExec{Op: topology.OperationName(s), Error: s.Has(trace.FlagError)}
	start, end := s.Start, s.End()
	evs := c.calls(t, i)
	for k := range evs {
		e := &evs[k]
		e.start = min(max(e.start, start), end)
		e.end = min(max(e.end, e.start), end)
	}
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.start, b.start) })
	cursor := start
	for k := 0; k < len(evs); {
		// A group: calls that overlap the first one's group in time, plus
		// fire-and-forget calls sent meanwhile.
		g0 := evs[k].start
		groupEnd := g0
		step := sim.ReplayStep{}
		for k < len(evs) && (len(step.Calls) == 0 || evs[k].start < groupEnd) {
			e := evs[k]
			e.call.Delay = time.Duration(e.start - g0)
			step.Calls = append(step.Calls, e.call)
			if !e.async {
				groupEnd = max(groupEnd, e.end)
			}
			k++
		}
		if g0 > cursor {
			x.Steps = append(x.Steps, sim.ReplayStep{Work: time.Duration(g0 - cursor)})
		}
		x.Steps = append(x.Steps, step)
		cursor = max(cursor, groupEnd)
	}
	if end > cursor {
		x.Steps = append(x.Steps, sim.ReplayStep{Work: time.Duration(end - cursor)})
	}
	return x
}

// calls lists the calls execution i makes, found as topology.Build finds
// them, so replay runs the calls a model of the same traces has.
func (c *converter) calls(t *trace.Trace, i int32) []event {
	var found []topology.CallSpans
	c.walker.Calls(t, i, func(cs topology.CallSpans) { found = append(found, cs) })
	evs := make([]event, 0, len(found))
	for _, cs := range found {
		switch {
		case cs.Client < 0:
			s := &t.Spans[cs.Server]
			evs = append(evs, event{start: s.Start, end: s.End(), async: cs.Async,
				call: sim.ReplayCall{Async: cs.Async, Callee: c.exec(t, cs.Server)}})
		case cs.Server < 0:
			s := &t.Spans[cs.Client]
			peer := &sim.ReplayExec{Op: topology.PeerOperationNameIn(t, cs.Client), Error: s.Has(trace.FlagError),
				Steps: []sim.ReplayStep{{Work: time.Duration(s.Duration)}}}
			evs = append(evs, event{start: s.Start, end: s.End(), async: cs.Async,
				call: sim.ReplayCall{Async: cs.Async, Callee: peer}})
		default:
			s, sv := &t.Spans[cs.Client], &t.Spans[cs.Server]
			call := sim.ReplayCall{Async: cs.Async, Callee: c.exec(t, cs.Server),
				Network: time.Duration(max(0, s.Duration-sv.Duration))}
			evs = append(evs, event{start: s.Start, end: s.End(), async: cs.Async, call: call})
		}
	}
	return evs
}
