// Calling context tree: every trace's span tree merged by call path, so
// that "db/Query called from backend/Get called from frontend/GET /x" is
// one node however many traces and calls it was seen in. It is what a
// profiler shows, with spans for stack frames, and it converts directly
// into the collapsed-stack input of flame graph tools.

package analysis

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/trace"
)

// CCTNode is one calling context: an operation reached by one call path.
type CCTNode struct {
	Operation string `json:"operation"` // "service/name"
	// Parent indexes CCT.Nodes; -1 for a top-level context (a root
	// operation).
	Parent int `json:"parent"`
	Depth  int `json:"depth"`
	Count  int `json:"count"` // spans merged into this context
	// InclusiveMs sums the spans' durations. ExclusiveMs sums each span's
	// duration minus the time covered by its synchronous children (the
	// union of their intervals within the span, so parallel children are
	// not subtracted twice); it is never negative.
	InclusiveMs float64 `json:"inclusive_ms"`
	ExclusiveMs float64 `json:"exclusive_ms"`

	exclusive int64 // ns, for the collapsed stacks' microseconds
}

// CCT is the calling context tree of a set of traces.
type CCT struct {
	Traces int `json:"traces"`
	// Nodes are in depth-first order, each node's children sorted by
	// inclusive time, largest first, then by name.
	Nodes []CCTNode `json:"nodes"`
}

// cctBuildNode is a context while the tree is built. It is kept small and
// children are a linked list rather than a slice each: a million-span
// trace can have a million contexts.
type cctBuildNode struct {
	op                   int32 // index in the interned operation names
	parent               int32
	firstChild, nextSib  int32
	count                int32
	inclusive, exclusive int64
}

// cctKey identifies a context by its parent context and operation.
type cctKey struct{ parent, op int32 }

type cctItem struct{ span, node int32 }

// BuildCCT merges the span trees of traces, all roots included (an orphan
// subtree is a calling context of its own), by call path. Untimed spans
// are counted but add no time.
func BuildCCT(traces []trace.Trace) *CCT {
	var nodes []cctBuildNode
	index := make(map[cctKey]int32)
	opIndex := make(map[opName]int32)
	var ops []string
	var stack []cctItem
	for ti := range traces {
		t := &traces[ti]
		for _, r := range t.Roots {
			stack = append(stack[:0], cctItem{r, -1})
			for len(stack) > 0 {
				it := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				s := &t.Spans[it.span]
				op, ok := opIndex[opName{s.Service, s.Name}]
				if !ok {
					op = int32(len(ops))
					opIndex[opName{s.Service, s.Name}] = op
					ops = append(ops, s.Endpoint())
				}
				k := cctKey{it.node, op}
				n, ok := index[k]
				if !ok {
					n = int32(len(nodes))
					index[k] = n
					nd := cctBuildNode{op: op, parent: it.node, firstChild: -1, nextSib: -1}
					if it.node >= 0 {
						nd.nextSib = nodes[it.node].firstChild
						nodes[it.node].firstChild = n
					}
					nodes = append(nodes, nd)
				}
				nd := &nodes[n]
				nd.count++
				if !untimed(s) {
					nd.inclusive += s.Duration
					nd.exclusive += selfTime(t, it.span)
				}
				for _, c := range t.Children(it.span) {
					stack = append(stack, cctItem{c, n})
				}
			}
		}
	}
	return &CCT{Traces: len(traces), Nodes: cctPreorder(nodes, ops)}
}

// selfTime is span i's duration minus the union of its synchronous timed
// children's intervals clipped to it. Children come sorted by start, so
// the union is one pass.
func selfTime(t *trace.Trace, i int32) int64 {
	s := &t.Spans[i]
	lo, hi := s.Start, s.End()
	covered := int64(0)
	curLo, curHi := int64(0), int64(0)
	open := false
	for _, c := range t.Children(i) {
		cs := &t.Spans[c]
		if cs.Has(trace.FlagAsync) || untimed(cs) {
			continue
		}
		a, b := max(cs.Start, lo), min(cs.End(), hi)
		if b <= a {
			continue
		}
		switch {
		case !open:
			curLo, curHi, open = a, b, true
		case a > curHi:
			covered += curHi - curLo
			curLo, curHi = a, b
		default:
			curHi = max(curHi, b)
		}
	}
	if open {
		covered += curHi - curLo
	}
	return max(s.Duration-covered, 0)
}

// cctPreorder returns the nodes in depth-first order with sorted
// children, parents and depths renumbered, iteratively.
func cctPreorder(nodes []cctBuildNode, ops []string) []CCTNode {
	byWeight := func(x, y int32) int {
		a, b := &nodes[x], &nodes[y]
		if c := cmp.Compare(b.inclusive, a.inclusive); c != 0 {
			return c
		}
		if c := cmp.Compare(ops[a.op], ops[b.op]); c != 0 {
			return c
		}
		return cmp.Compare(b.count, a.count)
	}
	var roots []int32
	for i := range nodes {
		if nodes[i].parent < 0 {
			roots = append(roots, int32(i))
		}
	}
	slices.SortFunc(roots, byWeight)
	out := make([]CCTNode, 0, len(nodes))
	type item struct {
		node, parent int32
		depth        int
	}
	stack := make([]item, 0, len(roots))
	for i := len(roots) - 1; i >= 0; i-- {
		stack = append(stack, item{roots[i], -1, 0})
	}
	var kids []int32
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := &nodes[it.node]
		at := int32(len(out))
		out = append(out, CCTNode{
			Operation: ops[n.op], Parent: int(it.parent), Depth: it.depth, Count: int(n.count),
			InclusiveMs: round(float64(n.inclusive)/1e6, 6), ExclusiveMs: round(float64(n.exclusive)/1e6, 6),
			exclusive: n.exclusive,
		})
		kids = kids[:0]
		for c := n.firstChild; c >= 0; c = nodes[c].nextSib {
			kids = append(kids, c)
		}
		slices.SortFunc(kids, byWeight)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, item{kids[i], at, it.depth + 1})
		}
	}
	return out
}

// maxIndent bounds the indentation of tree renderings: a 100,000-deep
// chain would otherwise print lines of 200,000 spaces. Deeper levels show
// their depth instead.
const maxIndent = 40

func indentFor(depth int) string {
	if depth <= maxIndent {
		return strings.Repeat("  ", depth)
	}
	return strings.Repeat("  ", maxIndent) + "[" + strconv.Itoa(depth) + "] "
}

// WriteText renders the tree as an indented table: one line per calling
// context with its count and inclusive and exclusive milliseconds.
func (c *CCT) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "calling context tree: %d traces, %d contexts\n", c.Traces, len(c.Nodes))
	// Columns are aligned by hand rather than with tabwriter, which
	// buffers the whole table: a million-node tree must stream.
	width := len("OPERATION")
	for i := range c.Nodes {
		if l := len(indentFor(c.Nodes[i].Depth)) + len(c.Nodes[i].Operation); l > width {
			width = min(l, 100)
		}
	}
	fmt.Fprintf(bw, "%-*s  %10s  %14s  %14s\n", width, "OPERATION", "COUNT", "INCL ms", "EXCL ms")
	for i := range c.Nodes {
		n := &c.Nodes[i]
		fmt.Fprintf(bw, "%-*s  %10d  %14.3f  %14.3f\n", width, indentFor(n.Depth)+n.Operation, n.Count, n.InclusiveMs, n.ExclusiveMs)
	}
	return bw.Flush()
}

// MaxCollapsedDepth bounds the stacks WriteCollapsed prints: a line
// repeats its whole call path, so a 100,000-deep chain would print tens of
// gigabytes. Deeper contexts are folded into one "…" frame below their
// ancestor at this depth.
const MaxCollapsedDepth = 128

// WriteCollapsed writes the tree as collapsed stacks, the input of Brendan
// Gregg's flamegraph.pl and of speedscope: one line per calling context,
// its frames joined by ";" and its exclusive time in microseconds
// ("frontend/GET /x;backend/Get;db/Query 1234"). Contexts with less than
// half a microsecond of exclusive time are left out: they would draw
// nothing. A ";" inside a name becomes ":" so that it cannot split a
// frame. Stacks are cut at MaxCollapsedDepth frames.
func (c *CCT) WriteCollapsed(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var path []byte
	ends := make([]int, 0, 16) // ends[d] = len(path) after the frame at depth d
	frame := strings.NewReplacer(";", ":", "\n", " ", "\r", " ")
	line := func(ns int64) {
		if us := (ns + 500) / 1000; us > 0 {
			bw.Write(path)
			bw.WriteByte(' ')
			bw.WriteString(strconv.FormatInt(us, 10))
			bw.WriteByte('\n')
		}
	}
	for i := 0; i < len(c.Nodes); i++ {
		n := &c.Nodes[i]
		ends = ends[:n.Depth]
		if n.Depth > 0 {
			path = append(path[:ends[n.Depth-1]], ';')
		} else {
			path = path[:0]
		}
		path = append(path, frame.Replace(n.Operation)...)
		ends = append(ends, len(path))
		line(n.exclusive)
		if n.Depth == MaxCollapsedDepth-1 {
			// Preorder: the subtree below is the run of deeper nodes
			// that follows.
			var deeper int64
			for i+1 < len(c.Nodes) && c.Nodes[i+1].Depth > n.Depth {
				i++
				deeper += c.Nodes[i].exclusive
			}
			path = append(path, ";…"...)
			line(deeper)
		}
	}
	return bw.Flush()
}
