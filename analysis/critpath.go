// Critical path analysis, CRISP-style (Uber's CRISP; the same walk Jaeger
// UI draws): the chain of spans and gaps that, if any of it were shorter,
// would make the request shorter. Time on the path is attributed to the
// span that was running alone at that moment, so a trace's path adds up to
// exactly its root's duration.

package analysis

import (
	"cmp"
	"slices"
	"strings"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/trace"
)

// PathStep is one span on a trace's critical path.
type PathStep struct {
	Span      int32  // index in Trace.Spans
	Operation string // "service/name"
	// Self is the time, in nanoseconds, that the path spends in this span
	// itself rather than in one of its children: the gaps between the
	// children it waited on. It can be zero (a client span that is
	// entirely covered by its server span is still on the path).
	Self int64
}

// MainRoot returns the root that stands for the whole request, or -1 for
// an empty trace. A trace has several roots when spans are orphaned; the
// real root is preferred over an orphan, a timed root over an untimed one,
// then the longest, then the earliest (Roots order).
func MainRoot(t *trace.Trace) int32 {
	best := int32(-1)
	rank := func(i int32) (int, int64) {
		s := &t.Spans[i]
		r := 0
		if !untimed(s) {
			r += 2
		}
		if !s.Has(trace.FlagOrphan) {
			r++
		}
		return r, s.Duration
	}
	var bestRank int
	var bestDur int64
	for _, i := range t.Roots {
		r, d := rank(i)
		if best < 0 || r > bestRank || r == bestRank && d > bestDur {
			best, bestRank, bestDur = i, r, d
		}
	}
	return best
}

func untimed(s *trace.Span) bool {
	return s.Has(trace.FlagNoStart) || s.Has(trace.FlagNoDuration)
}

// CriticalPath returns the critical path below span root of t, ordered by
// the time each span joins the path (its clamped start; a parent before a
// child that starts with it). The Self times add up to the root's
// duration. An untimed root (or -1) gives an empty path.
func CriticalPath(t *trace.Trace, root int32) []PathStep {
	var w pathWalker
	raw := w.walk(t, root)
	out := make([]PathStep, len(raw))
	for k, r := range raw {
		out[k] = PathStep{Span: r.span, Operation: t.Spans[r.span].Endpoint(), Self: r.self}
	}
	return out
}

// rawStep is a PathStep without the operation name, so that aggregating
// many traces does not build a string per step.
type rawStep struct {
	span  int32
	self  int64
	start int64 // clamped start, for ordering
}

// pathWalker holds the scratch space of the walk so that it is allocated
// once per batch of traces rather than once per trace.
type pathWalker struct {
	lo, hi []int64 // clamped interval of each span reached
	kids   []int32 // stack of children lists, each sorted by end descending
	frames []pathFrame
	steps  []rawStep
}

type pathFrame struct {
	span      int32
	step      int32 // index of span's step in steps
	kidsStart int32 // this frame's children are kids[kidsStart:kidsEnd]
	kidsEnd   int32
	next      int32 // the first child not yet considered
}

// walk computes the critical path iteratively: a 100,000-deep chain must
// not recurse. The current time T only ever moves backwards, from the
// root's end to its start. A frame's children are sorted by end time
// descending and considered once each: a child that ends after T
// overlapped a child already on the path (it ran in parallel, and was not
// the one waited for), so it can never be on the path, and the cursor
// passes it for good. That makes the walk O(n log n) in the spans below
// the root.
func (w *pathWalker) walk(t *trace.Trace, root int32) []rawStep {
	w.steps = w.steps[:0]
	if root < 0 || untimed(&t.Spans[root]) {
		return nil
	}
	n := len(t.Spans)
	w.lo = growI64(w.lo, n)
	w.hi = growI64(w.hi, n)
	w.kids = w.kids[:0]
	w.frames = w.frames[:0]

	rs := &t.Spans[root]
	w.lo[root], w.hi[root] = rs.Start, rs.End()
	now := rs.End()
	w.push(t, root)
	for len(w.frames) > 0 {
		f := &w.frames[len(w.frames)-1]
		kids := w.kids[f.kidsStart:f.kidsEnd]
		for f.next < int32(len(kids)) && w.hi[kids[f.next]] > now {
			f.next++
		}
		if f.next < int32(len(kids)) {
			c := kids[f.next]
			f.next++
			w.addSelf(f.step, now-w.hi[c])
			now = w.hi[c]
			w.push(t, c)
			continue
		}
		w.addSelf(f.step, now-w.lo[f.span])
		now = w.lo[f.span]
		w.kids = w.kids[:f.kidsStart]
		w.frames = w.frames[:len(w.frames)-1]
	}
	slices.SortStableFunc(w.steps, func(x, y rawStep) int { return cmp.Compare(x.start, y.start) })
	return w.steps
}

// push puts span i on the path and its synchronous, timed children on the
// stack, clamped to i's interval: Assemble corrects clock skew, but a child
// that still pokes out of its parent must not move time outside it.
// Children entirely outside the parent are dropped, as Jaeger does.
func (w *pathWalker) push(t *trace.Trace, i int32) {
	step := int32(len(w.steps))
	w.steps = append(w.steps, rawStep{span: i, start: w.lo[i]})
	start := int32(len(w.kids))
	plo, phi := w.lo[i], w.hi[i]
	for _, c := range t.Children(i) {
		s := &t.Spans[c]
		if s.Has(trace.FlagAsync) || untimed(s) {
			continue
		}
		lo, hi := max(s.Start, plo), min(s.End(), phi)
		if hi < lo {
			continue
		}
		w.lo[c], w.hi[c] = lo, hi
		w.kids = append(w.kids, c)
	}
	kids := w.kids[start:]
	if len(kids) > 1 {
		// Latest end first; among equal ends the longer child first, as
		// it covers the other; then span order, for determinism.
		slices.SortFunc(kids, func(x, y int32) int {
			if c := cmp.Compare(w.hi[y], w.hi[x]); c != 0 {
				return c
			}
			if c := cmp.Compare(w.lo[x], w.lo[y]); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
	}
	w.frames = append(w.frames, pathFrame{span: i, step: step, kidsStart: start, kidsEnd: int32(len(w.kids))})
}

func (w *pathWalker) addSelf(step int32, d int64) {
	if d > 0 {
		w.steps[step].self += d
	}
}

func growI64(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	return b[:n]
}

// PathEntry is one operation's share of an endpoint's critical path.
type PathEntry struct {
	Operation string `json:"operation"`
	// MsPerTrace is the exclusive time the operation spends on the path,
	// averaged over the endpoint's traces (traces where it is not on the
	// path count as zero).
	MsPerTrace float64 `json:"ms_per_trace"`
	// CountPerTrace is how many of its spans are on the path, averaged the
	// same way.
	CountPerTrace float64 `json:"count_per_trace"`
	// Share is MsPerTrace over the endpoint's mean latency; the shares of
	// an endpoint sum to 1 (up to rounding).
	Share float64 `json:"share"`
	// WaitMsPerTrace is the part of MsPerTrace that was waiting (for a
	// lock, a pooled connection or worker, the callee's worker) rather
	// than work, when the waits are known (see AnalyzeCriticalPathsWaits).
	WaitMsPerTrace float64 `json:"waiting_ms_per_trace,omitempty"`
}

// EndpointPath is the critical path of one endpoint (root operation),
// aggregated over its traces.
type EndpointPath struct {
	Endpoint     string      `json:"endpoint"`
	Traces       int         `json:"traces"`
	Latency      Latency     `json:"latency_ms"`
	CriticalPath []PathEntry `json:"critical_path"`
}

// CriticalPaths is the critical-path part of `analyze --json`.
type CriticalPaths struct {
	Traces int `json:"traces"`
	// UntimedTraces counts traces left out because their root has no start
	// or duration, so nothing can be said about their path.
	UntimedTraces int            `json:"untimed_traces"`
	Endpoints     []EndpointPath `json:"endpoints"`
}

type opName struct{ service, name string }

func (o opName) String() string { return o.service + "/" + o.name }

type pathOpAcc struct {
	self  int64
	count int64
	wait  int64
}

type endpointPathAcc struct {
	traces  int
	rootSum int64
	h       hist.Hist
	ops     map[opName]*pathOpAcc
}

// AnalyzeCriticalPaths computes the critical path of every trace and
// aggregates it per endpoint, the operation of the trace's main root.
// Endpoints are sorted by name, their entries by share, largest first.
func AnalyzeCriticalPaths(traces []trace.Trace) *CriticalPaths {
	return AnalyzeCriticalPathsWaits(traces, nil)
}

// AnalyzeCriticalPathsWaits is AnalyzeCriticalPaths with the waiting each
// span holds (ns; topology.Waits finds it): the part of a span's time on
// the path that was waiting, up to its wait, is reported apart from work.
func AnalyzeCriticalPathsWaits(traces []trace.Trace, waits map[trace.SpanRef]int64) *CriticalPaths {
	out := &CriticalPaths{Traces: len(traces), Endpoints: []EndpointPath{}}
	acc := make(map[string]*endpointPathAcc) // by printed name, as --endpoint selects
	names := make(map[opName]string)         // one name string per endpoint, not per trace
	var w pathWalker
	for ti := range traces {
		t := &traces[ti]
		root := MainRoot(t)
		if root < 0 || untimed(&t.Spans[root]) {
			out.UntimedTraces++
			continue
		}
		rs := &t.Spans[root]
		ep, ok := names[opName{rs.Service, rs.Name}]
		if !ok {
			ep = rs.Endpoint()
			names[opName{rs.Service, rs.Name}] = ep
		}
		a := acc[ep]
		if a == nil {
			a = &endpointPathAcc{ops: make(map[opName]*pathOpAcc)}
			acc[ep] = a
		}
		a.traces++
		a.rootSum += rs.Duration
		a.h.Record(rs.Duration)
		for _, st := range w.walk(t, root) {
			s := &t.Spans[st.span]
			k := opName{s.Service, s.Name}
			o := a.ops[k]
			if o == nil {
				o = &pathOpAcc{}
				a.ops[k] = o
			}
			o.self += st.self
			o.count++
			if w, ok := waits[t.Ref(st.span)]; ok {
				o.wait += min(w, st.self)
			}
		}
	}
	for ep, a := range acc {
		e := EndpointPath{Endpoint: ep, Traces: a.traces, Latency: LatencyOf(&a.h),
			CriticalPath: make([]PathEntry, 0, len(a.ops))}
		type sortable struct {
			PathEntry
			self    int64
			service string
		}
		entries := make([]sortable, 0, len(a.ops))
		for k, o := range a.ops {
			pe := PathEntry{
				Operation:      k.String(),
				MsPerTrace:     round(float64(o.self)/1e6/float64(a.traces), 6),
				CountPerTrace:  round(float64(o.count)/float64(a.traces), 6),
				WaitMsPerTrace: round(float64(o.wait)/1e6/float64(a.traces), 6),
			}
			if a.rootSum > 0 {
				pe.Share = round(float64(o.self)/float64(a.rootSum), 6)
			}
			entries = append(entries, sortable{pe, o.self, k.service})
		}
		// Sort on the exact sums, not the rounded shares, so that ties
		// are real ties and then broken by name ("a/b" + "c" and "a" +
		// "b/c" print alike: the service decides).
		slices.SortFunc(entries, func(x, y sortable) int {
			if c := cmp.Compare(y.self, x.self); c != 0 {
				return c
			}
			if c := strings.Compare(x.Operation, y.Operation); c != 0 {
				return c
			}
			return strings.Compare(x.service, y.service)
		})
		for _, s := range entries {
			e.CriticalPath = append(e.CriticalPath, s.PathEntry)
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	slices.SortFunc(out.Endpoints, func(x, y EndpointPath) int { return strings.Compare(x.Endpoint, y.Endpoint) })
	return out
}

// EndpointOf returns the operation of t's main root ("" for an empty
// trace): the endpoint the trace is filed under in every view.
func EndpointOf(t *trace.Trace) string {
	r := MainRoot(t)
	if r < 0 {
		return ""
	}
	return t.Spans[r].Endpoint()
}

// TracesOf returns the traces whose endpoint is endpoint. The Trace values
// are copied but share their spans with the input.
func TracesOf(traces []trace.Trace, endpoint string) []trace.Trace {
	var out []trace.Trace
	for i := range traces {
		if EndpointOf(&traces[i]) == endpoint {
			out = append(out, traces[i])
		}
	}
	return out
}

// Endpoints returns the distinct endpoints of traces, sorted.
func Endpoints(traces []trace.Trace) []string {
	seen := make(map[string]bool)
	for i := range traces {
		if e := EndpointOf(&traces[i]); e != "" {
			seen[e] = true
		}
	}
	return sortedKeys(seen)
}
