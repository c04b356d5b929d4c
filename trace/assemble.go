package trace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// Trace is one request's spans arranged as a forest: usually one root, plus
// one extra root per orphan (a span whose parent is not in the input).
type Trace struct {
	ID    TraceID
	Spans []Span // in input order after repairs; shares storage with Result.Spans
	// Parent[i] is the index in Spans of span i's parent, or -1 for a root.
	Parent []int32
	// Roots lists root indexes ordered by start time.
	Roots []int32

	start      int64
	childStart []int32 // CSR: children of i are childIdx[childStart[i]:childStart[i+1]]
	childIdx   []int32
}

// Children returns the indexes of span i's children, ordered by start time
// then span id.
func (t *Trace) Children(i int32) []int32 {
	return t.childIdx[t.childStart[i]:t.childStart[i+1]]
}

// Start returns the earliest span start in the trace.
func (t *Trace) Start() int64 { return t.start }

func (t *Trace) computeStart() {
	var m int64
	for i := range t.Spans {
		if i == 0 || t.Spans[i].Start < m {
			m = t.Spans[i].Start
		}
	}
	t.start = m
}

// Quality counts what Assemble (and the decoders before it) repaired or
// skipped. Nothing is dropped without being counted here.
type Quality struct {
	Records           int // spans handed to Assemble
	SkippedRecords    int // records decoders could not use
	DuplicateSpans    int // exact copies dropped
	MergedFragments   int // partial reports of one span merged into it
	DuplicateIDs      int // spans that reused another span's id with other content; given a new id
	MergedSharedSpans int // Zipkin client/server pairs sharing one id, split into parent and child
	OrphanSpans       int // spans whose parent is missing; kept as roots
	SelfParentSpans   int // spans naming themselves as parent; made roots
	CycleBreaks       int // parent cycles broken by making one span of the cycle a root
	SkewAdjustedSpans int // spans shifted to fit their parent (clock skew between hosts)
	AsyncSpans        int // spans marked asynchronous (follows-from, consumer, outliving the parent)
	MergedTraceIDs    int // spans whose 64-bit trace id was joined to the 128-bit id it is the low half of
	// Reasons counts every finding by reason, decoders' and Assemble's.
	Reasons map[string]int
	// Findings holds the first MaxFindings findings in detail.
	Findings []Finding
}

// Result is the output of Assemble.
type Result struct {
	Traces  []Trace
	Spans   []Span // all kept spans, grouped by trace
	Sources []string
	Quality Quality
}

// Options tune Assemble. The zero value is what tracesim uses.
type Options struct {
	// NoSkewAdjust disables clock-skew correction.
	NoSkewAdjust bool
}

// Assemble groups the collected spans into traces and repairs them, in
// this order, each step counted in the quality report:
//
//  1. 64-bit trace ids that equal the low half of a 128-bit id in the same
//     input join that trace (as Zipkin does for mixed-width propagation);
//  2. exact duplicate spans are dropped; a Zipkin client/server pair that
//     shares one span id is split so that the server half becomes a child
//     of the client half (as Jaeger's span-id deduper does); other reuses
//     of an id get a fresh id;
//  3. the parent tree is built; orphans, self-parents and parent cycles
//     become extra roots;
//  4. clock skew between hosts is corrected the way Jaeger's adjuster does
//     it: a child from another host that does not fit inside its parent is
//     centred in it, and its host's other spans below it move with it;
//  5. children that do not block their parent (FOLLOWS_FROM, consumers of a
//     producer, children ending after the parent ends) are marked
//     FlagAsync.
//
// Assemble takes ownership of c.Spans: it reorders them in place and
// returns them in Result.Spans.
func Assemble(ctx context.Context, c *Collector, opt Options) (*Result, error) {
	q := Quality{Records: len(c.Spans), SkippedRecords: c.Skipped}
	a := &assembler{c: c, q: &q, opt: opt}
	a.joinTraceIDs()
	ranges := a.group()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	drop := make([]bool, len(c.Spans))
	anyDrop := false
	for _, r := range ranges {
		if a.dedupe(c.Spans[r.lo:r.hi], drop[r.lo:r.hi]) {
			anyDrop = true
		}
	}
	if anyDrop {
		ranges = compact(c, drop, ranges)
	}
	drop = nil
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	n := len(c.Spans)
	res := &Result{Spans: c.Spans, Sources: c.Sources, Traces: make([]Trace, len(ranges))}
	// One allocation per array for all traces: a million small traces must
	// not mean four million small slices.
	parent := make([]int32, n)
	childStart := make([]int32, n+len(ranges))
	childIdx := make([]int32, n)
	for ti, r := range ranges {
		if ti%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t := &res.Traces[ti]
		t.Spans = c.Spans[r.lo:r.hi]
		t.ID = t.Spans[0].TraceID
		t.Parent = parent[r.lo:r.hi:r.hi]
		t.childStart = childStart[r.lo+ti : r.hi+ti+1 : r.hi+ti+1]
		t.childIdx = childIdx[r.lo:r.hi:r.hi]
		a.build(t)
		if !opt.NoSkewAdjust {
			a.adjustSkew(t)
		}
		a.markAsync(t)
		t.computeStart()
	}
	slices.SortStableFunc(res.Traces, func(x, y Trace) int {
		if c := cmp.Compare(x.start, y.start); c != 0 {
			return c
		}
		if c := cmp.Compare(x.ID.High, y.ID.High); c != 0 {
			return c
		}
		return cmp.Compare(x.ID.Low, y.ID.Low)
	})
	q.Reasons = make(map[string]int, len(c.Reasons))
	for k, v := range c.Reasons {
		q.Reasons[k] += v
	}
	for k, v := range a.reasons {
		q.Reasons[k] += v
	}
	q.Findings = append(slices.Clip(c.Findings), a.findings...)
	if len(q.Findings) > MaxFindings {
		q.Findings = q.Findings[:MaxFindings]
	}
	res.Quality = q
	return res, nil
}

type span struct{ lo, hi int }

type assembler struct {
	c        *Collector
	q        *Quality
	opt      Options
	findings []Finding
	reasons  map[string]int
	ids      map[SpanID]int32 // reused per trace
	idsBig   bool
	i32      []int32 // scratch, reused per trace
	u8       []uint8
	i64      []int64
	stack    []int32
}

// idMap returns the reusable id map, emptied. A map that held a huge trace
// is replaced rather than cleared: clearing costs its capacity, not its
// length, and would make every later small trace pay for it.
func (a *assembler) idMap(n int) map[SpanID]int32 {
	if a.ids == nil || a.idsBig {
		a.ids = make(map[SpanID]int32, n)
		a.idsBig = n > 4096
		return a.ids
	}
	clear(a.ids)
	a.idsBig = n > 4096
	return a.ids
}

func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

func (a *assembler) note(s *Span, reason, detail string) {
	if a.reasons == nil {
		a.reasons = make(map[string]int)
	}
	a.reasons[reason]++
	if len(a.findings)+len(a.c.Findings) >= MaxFindings {
		return
	}
	src := ""
	if int(s.Source) < len(a.c.Sources) {
		src = a.c.Sources[s.Source]
	}
	a.findings = append(a.findings, Finding{Source: src, Record: int(s.Record), Reason: reason,
		Detail: fmt.Sprintf("trace %s span %s %s: %s", s.TraceID, s.ID, s.Endpoint(), detail)})
}

// joinTraceIDs rewrites 64-bit trace ids to the 128-bit id whose low half
// they equal, when exactly one such id is in the input.
func (a *assembler) joinTraceIDs() {
	var has64, has128 bool
	for i := range a.c.Spans {
		if a.c.Spans[i].TraceID.High == 0 {
			has64 = true
		} else {
			has128 = true
		}
		if has64 && has128 {
			break
		}
	}
	if !has64 || !has128 {
		return
	}
	wide := make(map[uint64]TraceID)
	for i := range a.c.Spans {
		id := a.c.Spans[i].TraceID
		if id.High == 0 {
			continue
		}
		if old, ok := wide[id.Low]; ok && old != id {
			wide[id.Low] = TraceID{} // ambiguous: two 128-bit ids share the low half
			continue
		}
		wide[id.Low] = id
	}
	for i := range a.c.Spans {
		s := &a.c.Spans[i]
		if s.TraceID.High != 0 {
			continue
		}
		if w, ok := wide[s.TraceID.Low]; ok && !w.IsZero() {
			s.TraceID = w
			a.q.MergedTraceIDs++
		}
	}
}

// group reorders spans so that each trace is contiguous, keeping input order
// within a trace, and returns the trace ranges in first-appearance order.
// It permutes in place (cycle-following) so that peak memory stays at one
// copy of the spans plus 8 bytes per span.
func (a *assembler) group() []span {
	spans := a.c.Spans
	traceOf := make(map[TraceID]int32)
	tix := make([]int32, len(spans))
	var counts []int
	for i := range spans {
		t, ok := traceOf[spans[i].TraceID]
		if !ok {
			t = int32(len(counts))
			traceOf[spans[i].TraceID] = t
			counts = append(counts, 0)
		}
		tix[i] = t
		counts[t]++
	}
	traceOf = nil
	ranges := make([]span, len(counts))
	next := make([]int, len(counts))
	off := 0
	for t, n := range counts {
		ranges[t] = span{off, off + n}
		next[t] = off
		off += n
	}
	// dest[i] = final position of span i; reuse tix's storage.
	dest := tix
	for i := range dest {
		t := dest[i]
		dest[i] = int32(next[t])
		next[t]++
	}
	for i := range spans {
		for int(dest[i]) != i {
			j := dest[i]
			spans[i], spans[j] = spans[j], spans[i]
			dest[i], dest[j] = dest[j], dest[i]
		}
	}
	return ranges
}

// compact removes dropped spans and recomputes the trace ranges.
func compact(c *Collector, drop []bool, ranges []span) []span {
	w := 0
	out := ranges[:0]
	for _, r := range ranges {
		lo := w
		for i := r.lo; i < r.hi; i++ {
			if !drop[i] {
				c.Spans[w] = c.Spans[i]
				w++
			}
		}
		if w > lo {
			out = append(out, span{lo, w})
		}
	}
	clear(c.Spans[w:])
	c.Spans = c.Spans[:w]
	return out
}

func sameContent(x, y *Span) bool {
	return x.ParentID == y.ParentID && x.Service == y.Service && x.Name == y.Name &&
		x.Kind == y.Kind && x.Start == y.Start && x.Duration == y.Duration &&
		x.Peer == y.Peer && x.Instance == y.Instance && x.Flags == y.Flags && x.Attrs == y.Attrs
}

func isClientSide(k Kind) bool { return k == KindClient || k == KindProducer }
func isServerSide(k Kind) bool { return k == KindServer || k == KindConsumer }

// dedupe handles reused span ids within one trace. It reports whether any
// span was marked for dropping. Most traces have no reused id and cost one
// map insert per span.
func (a *assembler) dedupe(spans []Span, drop []bool) bool {
	ids := a.idMap(len(spans))
	var dupIDs []SpanID
	for i := range spans {
		id := spans[i].ID
		if first, seen := ids[id]; seen {
			if first >= 0 {
				dupIDs = append(dupIDs, id)
				ids[id] = -1 - first // mark: group has several spans
			}
			continue
		}
		ids[id] = int32(i)
	}
	if len(dupIDs) == 0 {
		return false
	}
	groups := make(map[SpanID][]int32, len(dupIDs))
	for i := range spans {
		if v := ids[spans[i].ID]; v < 0 {
			groups[spans[i].ID] = append(groups[spans[i].ID], int32(i))
		}
	}
	for _, id := range dupIDs {
		ids[id] = -1 - ids[id] // restore the first index
	}
	dropped := false
	moved := make(map[SpanID][]int32) // shared id -> server halves that now carry a new id
	for _, id := range dupIDs {
		g := groups[id]
		g, d := a.dropCopies(spans, g, drop)
		dropped = dropped || d
		a.splitGroup(spans, id, g, ids, moved)
	}
	if len(moved) == 0 {
		return dropped
	}
	// The spans below a shared id were reported by the server side: hang
	// each under the server half on its own host, or the first one.
	isHalf := make(map[int32]bool)
	for _, hs := range moved {
		for _, h := range hs {
			isHalf[h] = true
		}
	}
	for i := range spans {
		hs, ok := moved[spans[i].ParentID]
		if !ok || isHalf[int32(i)] || drop[i] {
			continue
		}
		to := hs[0]
		for _, h := range hs {
			if hostKey(&spans[h]) == hostKey(&spans[i]) {
				to = h
				break
			}
		}
		spans[i].ParentID = spans[to].ID
	}
	return dropped
}

// dropCopies drops exact copies and merges fragments within one id group:
// a span reported in pieces by one service (Zipkin stores each report; a
// piece may lack the kind or the timing) becomes one span, as Zipkin's
// own merge does. It returns the group's remaining members.
func (a *assembler) dropCopies(spans []Span, g []int32, drop []bool) ([]int32, bool) {
	dropped := false
	for x := 0; x < len(g); x++ {
		for y := x + 1; y < len(g); y++ {
			sx, sy := &spans[g[x]], &spans[g[y]]
			switch {
			case sameContent(sx, sy):
				a.q.DuplicateSpans++
				a.note(sy, "duplicate span", "exact copy of an earlier span; dropped")
			case isFragment(sx, sy):
				mergeFragment(sx, sy)
				a.q.MergedFragments++
				a.note(sy, "span fragment", "a partial report of an earlier span (same id and service); merged into it")
			case isFragment(sy, sx):
				mergeFragment(sy, sx)
				*sx = *sy
				a.q.MergedFragments++
				a.note(sy, "span fragment", "a partial report of an earlier span (same id and service); merged into it")
			default:
				continue
			}
			drop[g[y]] = true
			dropped = true
			g = append(g[:y], g[y+1:]...)
			y--
		}
	}
	return g, dropped
}

// isFragment reports whether y is a partial report of x: same service,
// parent and instance, no conflicting kind, and y either has no start or
// starts with x and lacks the duration or the kind x has.
func isFragment(x, y *Span) bool {
	if x.Service != y.Service || x.ParentID != y.ParentID {
		return false
	}
	if x.Instance != "" && y.Instance != "" && x.Instance != y.Instance {
		return false
	}
	kindless := func(k Kind) bool { return k == KindUnspecified || k == KindInternal }
	if x.Kind != y.Kind && !kindless(y.Kind) {
		return false
	}
	// Two timed reports that start at different times are two events (a
	// message received twice), not pieces of one.
	if y.Has(FlagNoStart) {
		return true
	}
	sameStart := !x.Has(FlagNoStart) && x.Start == y.Start
	return sameStart && (y.Has(FlagNoDuration) || x.Kind != y.Kind && x.Duration == y.Duration)
}

// mergeFragment folds fragment y into x.
func mergeFragment(x, y *Span) {
	if x.Has(FlagNoStart) && !y.Has(FlagNoStart) {
		x.Start = y.Start
		x.Flags &^= FlagNoStart
	}
	if x.Has(FlagNoDuration) && !y.Has(FlagNoDuration) {
		x.Duration = y.Duration
		x.Flags &^= FlagNoDuration
	}
	x.Flags |= y.Flags & (FlagError | FlagShared | FlagFollowsFrom)
	if x.Peer == "" {
		x.Peer = y.Peer
	}
	if x.Instance == "" {
		x.Instance = y.Instance
	}
	if x.Name == "" {
		x.Name = y.Name
	}
	x.Attrs = x.Attrs.With(y.Attrs)
}

// splitGroup resolves the spans left sharing one id: a client (or
// producer) with one or more server (or consumer, or shared) halves is a
// Zipkin shared RPC: each server half gets a fresh id and becomes the
// client half's child (one client can reach several servers: a broadcast).
// Anything else reusing the id gets a fresh id and a finding.
func (a *assembler) splitGroup(spans []Span, id SpanID, g []int32, ids map[SpanID]int32, moved map[SpanID][]int32) {
	if len(g) < 2 {
		return
	}
	client := int32(-1)
	for _, i := range g {
		if isClientSide(spans[i].Kind) {
			client = i
			break
		}
	}
	for _, i := range g {
		if i == client {
			continue
		}
		s := &spans[i]
		if client >= 0 && (isServerSide(s.Kind) || s.Has(FlagShared)) && s.ParentID == spans[client].ParentID {
			s.ID = freshID(ids, id, 0x2545f491)
			ids[s.ID] = i
			s.ParentID = id
			moved[id] = append(moved[id], i)
			a.q.MergedSharedSpans++
			continue
		}
		if client < 0 && i == g[0] {
			continue // the first span keeps the id
		}
		s.ID = freshID(ids, id, 0x5bd1e995)
		ids[s.ID] = i
		a.q.DuplicateIDs++
		a.note(s, "duplicate span id", fmt.Sprintf("id %s is used by another span with other content; given id %s", id, s.ID))
	}
}

// freshID derives a new id from old that is not in use.
func freshID(ids map[SpanID]int32, old SpanID, salt uint64) SpanID {
	h := uint64(old)
	for {
		h ^= salt
		h *= 0x9e3779b97f4a7c15
		h ^= h >> 29
		if _, used := ids[SpanID(h)]; !used && h != 0 {
			return SpanID(h)
		}
	}
}

// build fills the parent links and children of t.
func (a *assembler) build(t *Trace) {
	spans := t.Spans
	ids := a.idMap(len(spans))
	for i := range spans {
		ids[spans[i].ID] = int32(i)
	}
	for i := range spans {
		s := &spans[i]
		t.Parent[i] = -1
		switch {
		case s.ParentID == 0:
		case s.ParentID == s.ID:
			a.q.SelfParentSpans++
			a.note(s, "self parent", "span names itself as its parent; treated as a root")
		default:
			p, ok := ids[s.ParentID]
			if !ok {
				s.Flags |= FlagOrphan
				a.q.OrphanSpans++
				a.note(s, "orphan span", fmt.Sprintf("parent %s is not in the input; kept as a root", s.ParentID))
				continue
			}
			t.Parent[i] = p
		}
	}
	a.breakCycles(t)
	a.fillChildren(t)
}

// breakCycles makes one span of every parent cycle a root, so that every
// span is reachable from a root. It walks parent links iteratively: a
// 100,000-deep chain must not exhaust the stack.
func (a *assembler) breakCycles(t *Trace) {
	n := len(t.Spans)
	// state: 0 unknown, 1 on the current walk, 2 reaches a root.
	a.u8 = grow(a.u8, n)
	state := a.u8
	path := a.i32[:0]
	defer func() { a.i32 = path[:0] }()
	for i := 0; i < n; i++ {
		if state[i] != 0 {
			continue
		}
		path = path[:0]
		j := int32(i)
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			path = append(path, j)
			j = t.Parent[j]
		}
		if j >= 0 && state[j] == 1 {
			// j is on this walk: a cycle. Cut it at the earliest-starting
			// member so the choice does not depend on input order.
			cut := j
			for k := t.Parent[j]; k != j; k = t.Parent[k] {
				if less(&t.Spans[k], &t.Spans[cut]) {
					cut = k
				}
			}
			t.Parent[cut] = -1
			a.q.CycleBreaks++
			a.note(&t.Spans[cut], "parent cycle", "parent links form a cycle; this span made a root")
		}
		for _, k := range path {
			state[k] = 2
		}
	}
}

func less(x, y *Span) bool {
	if x.Start != y.Start {
		return x.Start < y.Start
	}
	return x.ID < y.ID
}

func (a *assembler) fillChildren(t *Trace) {
	n := len(t.Spans)
	cs := t.childStart
	clear(cs)
	t.Roots = t.Roots[:0]
	for i := 0; i < n; i++ {
		if p := t.Parent[i]; p >= 0 {
			cs[p+1]++
		} else {
			t.Roots = append(t.Roots, int32(i))
		}
	}
	for i := 1; i <= n; i++ {
		cs[i] += cs[i-1]
	}
	a.i32 = grow(a.i32, n)
	fill := a.i32
	copy(fill, cs[:n])
	for i := 0; i < n; i++ {
		if p := t.Parent[i]; p >= 0 {
			t.childIdx[fill[p]] = int32(i)
			fill[p]++
		}
	}
	byStart := func(x, y int32) int {
		sx, sy := &t.Spans[x], &t.Spans[y]
		if c := cmp.Compare(sx.Start, sy.Start); c != 0 {
			return c
		}
		return cmp.Compare(sx.ID, sy.ID)
	}
	for i := 0; i < n; i++ {
		if ch := t.childIdx[cs[i]:cs[i+1]]; len(ch) > 1 {
			slices.SortFunc(ch, byStart)
		}
	}
	slices.SortFunc(t.Roots, byStart)
}

// walk calls f for every span, parents before children, using stack as
// scratch space; it returns the stack for reuse.
func (t *Trace) walk(stack []int32, f func(i int32)) []int32 {
	stack = append(stack[:0], t.Roots...)
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f(i)
		stack = append(stack, t.Children(i)...)
	}
	return stack
}

// Walk calls f for every span index in depth-first order, each parent
// before its children.
func (t *Trace) Walk(f func(i int32)) { t.walk(nil, f) }

// hostKey names the clock a span was timed with: its instance's host, or
// its service when the instance is unknown.
func hostKey(s *Span) string {
	if s.Instance == "" {
		return s.Service
	}
	h := s.Instance
	// Strip a ":port": two processes on one host share its clock.
	for i := len(h) - 1; i > 0; i-- {
		c := h[i]
		if c == ':' {
			if h[0] == '[' && h[i-1] == ']' {
				return h[1 : i-1]
			}
			if countByte(h, ':') == 1 {
				return h[:i]
			}
			break
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return h
}

func countByte(s string, b byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			n++
		}
	}
	return n
}

func isAsyncLink(child, parent *Span) bool {
	return child.Has(FlagFollowsFrom) || (child.Kind == KindConsumer && parent.Kind == KindProducer)
}

// adjustSkew shifts spans from hosts whose clocks disagree with their
// caller's, following Jaeger's clock-skew adjuster: a child from another
// host that does not fit in its parent is moved so that the parent's spare
// time is split equally before and after it (network latency assumed
// symmetric); spans on the same host as their parent move by the same
// amount. A child longer than its parent, or an asynchronous one, is left
// where it is: nothing says where it belongs.
func (a *assembler) adjustSkew(t *Trace) {
	n := len(t.Spans)
	a.i64 = grow(a.i64, n)
	offset := a.i64
	a.stack = t.walk(a.stack, func(i int32) {
		s := &t.Spans[i]
		p := t.Parent[i]
		if p < 0 {
			return
		}
		ps := &t.Spans[p]
		var off int64
		if hostKey(s) == hostKey(ps) {
			off = offset[p]
		} else if !isAsyncLink(s, ps) && !s.Has(FlagNoStart) && !s.Has(FlagNoDuration) &&
			!ps.Has(FlagNoStart) && !ps.Has(FlagNoDuration) && s.Duration <= ps.Duration {
			if s.Start < ps.Start || s.End() > ps.End() {
				latency := (ps.Duration - s.Duration) / 2
				off = ps.Start + latency - s.Start
			}
		}
		if off != 0 {
			offset[i] = off
			s.Start += off
			s.Flags |= FlagSkewAdjusted
			a.q.SkewAdjustedSpans++
		}
	})
}

// asyncSlack is how far a child may end after its parent before it counts
// as asynchronous. Zipkin and Jaeger truncate to whole microseconds, so a
// synchronous child can appear to end 1 µs late; and instrumentation ends
// spans from different goroutines (OpenTelemetry's otelhttp ends a client
// span when the response body is drained, which can land a few µs after
// the handler that made the call ended its own span: seen at +16 µs in
// the testbed). A call that really runs on after its caller outlives it
// by far more than 100 µs.
const asyncSlack = 100_000 // ns

func (a *assembler) markAsync(t *Trace) {
	for i := range t.Spans {
		p := t.Parent[i]
		if p < 0 {
			continue
		}
		s, ps := &t.Spans[i], &t.Spans[p]
		async := isAsyncLink(s, ps)
		if !async && !s.Has(FlagNoDuration) && !ps.Has(FlagNoDuration) && !s.Has(FlagNoStart) &&
			s.End() > ps.End()+asyncSlack {
			async = true
		}
		if async {
			s.Flags |= FlagAsync
			a.q.AsyncSpans++
		}
	}
}
