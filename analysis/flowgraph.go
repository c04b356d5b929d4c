// Request flow graph: per endpoint, the operations its requests pass
// through and the calls between them, merged across traces, with how often
// each call happens and how long it takes. It is written as Graphviz DOT
// through gonum's encoder and rendered to SVG by Graphviz when installed.

package analysis

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/simple"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/trace"
)

// PeerKind is the kind of a flow node that stands for an uninstrumented
// peer, known only by the name a client span gives its callee.
const PeerKind = "peer"

// FlowNode is one operation of a flow graph.
type FlowNode struct {
	Operation     string  `json:"operation"` // "service/name", or the peer name
	Kind          string  `json:"kind"`      // span kind, or "peer"
	Count         int     `json:"count"`     // spans (for a peer: calls to it)
	CountPerTrace float64 `json:"count_per_trace"`
	Latency       Latency `json:"latency_ms"` // span durations (for a peer: its callers' client spans)
}

// FlowEdge is the calls from one operation to another.
type FlowEdge struct {
	From          int     `json:"from"` // index in Flow.Nodes
	To            int     `json:"to"`
	Calls         int     `json:"calls"`
	CallsPerTrace float64 `json:"calls_per_trace"`
	// AsyncCalls counts calls that did not block the caller (FlagAsync).
	AsyncCalls int `json:"async_calls"`
	// Latency is the callee span's duration over these calls.
	Latency Latency `json:"latency_ms"`
}

// Flow is the request flow graph of one endpoint.
type Flow struct {
	Endpoint string     `json:"endpoint"`
	Traces   int        `json:"traces"`
	Nodes    []FlowNode `json:"nodes"` // sorted by operation, then kind
	Edges    []FlowEdge `json:"edges"` // sorted by From, then To
}

type flowNodeKey struct {
	service, name string
	kind          string
}

func (k flowNodeKey) operation() string {
	if k.kind == PeerKind {
		return k.service
	}
	return k.service + "/" + k.name
}

type flowEdgeKey struct{ from, to flowNodeKey }

type flowAcc struct {
	traces int
	nodes  map[flowNodeKey]*flowStat
	edges  map[flowEdgeKey]*flowStat
}

type flowStat struct {
	n, async int
	h        hist.Hist
}

func (a *flowAcc) stat(m map[flowNodeKey]*flowStat, k flowNodeKey) *flowStat {
	s := m[k]
	if s == nil {
		s = &flowStat{}
		m[k] = s
	}
	return s
}

func (a *flowAcc) edge(k flowEdgeKey) *flowStat {
	s := a.edges[k]
	if s == nil {
		s = &flowStat{}
		a.edges[k] = s
	}
	return s
}

func flowKeyOf(s *trace.Span) flowNodeKey {
	return flowNodeKey{s.Service, s.Name, s.Kind.String()}
}

// BuildFlows returns the flow graph of every endpoint in traces, sorted by
// endpoint. A trace contributes the tree below its main root (see
// MainRoot); orphaned fragments are left out, as their caller is unknown.
// A client-side span with no server-side span below gets an edge to a
// peer node named by trace.PeerName, so uninstrumented callees appear
// (unless the span is reported under the peer's own name: then it is
// that node already).
func BuildFlows(traces []trace.Trace) []*Flow {
	accs := make(map[string]*flowAcc)
	var stack []int32
	for ti := range traces {
		t := &traces[ti]
		root := MainRoot(t)
		if root < 0 {
			continue
		}
		ep := t.Spans[root].Endpoint()
		a := accs[ep]
		if a == nil {
			a = &flowAcc{nodes: make(map[flowNodeKey]*flowStat), edges: make(map[flowEdgeKey]*flowStat)}
			accs[ep] = a
		}
		a.traces++
		stack = append(stack[:0], root)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			s := &t.Spans[i]
			k := flowKeyOf(s)
			ns := a.stat(a.nodes, k)
			ns.n++
			if !untimed(s) {
				ns.h.Record(s.Duration)
			}
			kids := t.Children(i)
			for _, c := range kids {
				cs := &t.Spans[c]
				e := a.edge(flowEdgeKey{k, flowKeyOf(cs)})
				e.n++
				if cs.Has(trace.FlagAsync) {
					e.async++
				}
				if !untimed(cs) {
					e.h.Record(cs.Duration)
				}
			}
			stack = append(stack, kids...)
			if peer := t.PeerName(i); peer != "" && peer != s.Service {
				pk := flowNodeKey{service: peer, kind: PeerKind}
				ps := a.stat(a.nodes, pk)
				e := a.edge(flowEdgeKey{k, pk})
				ps.n++
				e.n++
				if !untimed(s) {
					ps.h.Record(s.Duration)
					e.h.Record(s.Duration)
				}
			}
		}
	}
	eps := make([]string, 0, len(accs))
	for ep := range accs {
		eps = append(eps, ep)
	}
	slices.Sort(eps)
	flows := make([]*Flow, 0, len(eps))
	for _, ep := range eps {
		flows = append(flows, accs[ep].flow(ep))
	}
	return flows
}

func (a *flowAcc) flow(ep string) *Flow {
	f := &Flow{Endpoint: ep, Traces: a.traces}
	keys := make([]flowNodeKey, 0, len(a.nodes))
	for k := range a.nodes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y flowNodeKey) int {
		if c := cmp.Compare(x.operation(), y.operation()); c != 0 {
			return c
		}
		if c := cmp.Compare(x.kind, y.kind); c != 0 {
			return c
		}
		return cmp.Compare(x.service, y.service)
	})
	index := make(map[flowNodeKey]int, len(keys))
	perTrace := func(n int) float64 { return round(float64(n)/float64(a.traces), 6) }
	for i, k := range keys {
		index[k] = i
		s := a.nodes[k]
		f.Nodes = append(f.Nodes, FlowNode{Operation: k.operation(), Kind: k.kind, Count: s.n,
			CountPerTrace: perTrace(s.n), Latency: LatencyOf(&s.h)})
	}
	for k, s := range a.edges {
		f.Edges = append(f.Edges, FlowEdge{From: index[k.from], To: index[k.to], Calls: s.n,
			CallsPerTrace: perTrace(s.n), AsyncCalls: s.async, Latency: LatencyOf(&s.h)})
	}
	slices.SortFunc(f.Edges, func(x, y FlowEdge) int {
		if c := cmp.Compare(x.From, y.From); c != 0 {
			return c
		}
		return cmp.Compare(x.To, y.To)
	})
	return f
}

// dotNode, dotEdge and dotGraph adapt flows to gonum's graph interfaces
// and its DOT encoder's attribute interfaces.
type dotNode struct {
	id    int64
	name  string
	attrs encoding.Attributes
}

func (n *dotNode) ID() int64                        { return n.id }
func (n *dotNode) DOTID() string                    { return n.name }
func (n *dotNode) Attributes() []encoding.Attribute { return n.attrs }

type dotEdge struct {
	from, to *dotNode
	attrs    encoding.Attributes
}

func (e *dotEdge) From() graph.Node                 { return e.from }
func (e *dotEdge) To() graph.Node                   { return e.to }
func (e *dotEdge) ReversedEdge() graph.Edge         { return &dotEdge{from: e.to, to: e.from, attrs: e.attrs} }
func (e *dotEdge) Attributes() []encoding.Attribute { return e.attrs }

type dotGraph struct {
	*simple.DirectedGraph
	name                          string
	graphAttr, nodeAttr, edgeAttr encoding.Attributes
}

func (g *dotGraph) DOTID() string { return g.name }
func (g *dotGraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return &g.graphAttr, &g.nodeAttr, &g.edgeAttr
}

// dotClusters is the top graph when there are several flows: each flow is
// a cluster subgraph of it, so that one DOT file (and one SVG) holds them
// all.
type dotClusters struct {
	dotGraph
	subs []dot.Graph
}

func (g *dotClusters) Structure() []dot.Graph { return g.subs }

// FlowDOT encodes flows as one Graphviz digraph: a single flow is the
// graph itself, several flows are one cluster each. Nodes are labelled
// with their operation, kind, calls per trace and mean latency; edges with
// calls per trace and the callee's p50/p99; asynchronous calls are dashed,
// peers are drawn as cylinders. Output depends only on the flows.
func FlowDOT(flows []*Flow) ([]byte, error) {
	if len(flows) == 0 {
		return nil, errors.New("flow graph: no traces with a timed root to draw")
	}
	top := dotGraph{DirectedGraph: simple.NewDirectedGraph(), name: "flow"}
	top.graphAttr = encoding.Attributes{{Key: "rankdir", Value: "LR"}, {Key: "fontname", Value: "Helvetica"}}
	top.nodeAttr = encoding.Attributes{{Key: "shape", Value: "box"}, {Key: "style", Value: "rounded"}, {Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "10"}}
	top.edgeAttr = encoding.Attributes{{Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "9"}}
	if len(flows) == 1 {
		top.graphAttr = append(top.graphAttr, flowGraphLabel(flows[0])...)
		addFlow(top.DirectedGraph, flows[0], 0)
		return marshalDOT(&top)
	}
	g := &dotClusters{dotGraph: top}
	for fi, f := range flows {
		sub := &dotGraph{DirectedGraph: simple.NewDirectedGraph(), name: fmt.Sprintf("cluster_%d", fi)}
		sub.graphAttr = flowGraphLabel(f)
		addFlow(sub.DirectedGraph, f, fi)
		g.subs = append(g.subs, sub)
	}
	return marshalDOT(g)
}

func marshalDOT(g graph.Graph) ([]byte, error) {
	b, err := dot.Marshal(g, "", "", "  ")
	if err != nil {
		return nil, fmt.Errorf("flow graph: encoding DOT: %w", err)
	}
	return append(b, '\n'), nil
}

func flowGraphLabel(f *Flow) encoding.Attributes {
	return encoding.Attributes{
		{Key: "label", Value: fmt.Sprintf("%s (%s)", f.Endpoint, plural(f.Traces, "trace"))},
		{Key: "labelloc", Value: "t"},
	}
}

// addFlow adds f's nodes and edges to g. Node DOT ids carry the flow's
// index: DOT node names are global to the file, clusters included.
func addFlow(g *simple.DirectedGraph, f *Flow, fi int) {
	nodes := make([]*dotNode, len(f.Nodes))
	for i, n := range f.Nodes {
		label := fmt.Sprintf("%s\n%s · %s/trace · mean %s ms", n.Operation, n.Kind, trimNum(n.CountPerTrace), trimNum(round(n.Latency.Mean, 3)))
		dn := &dotNode{id: int64(i), name: fmt.Sprintf("f%d_n%d", fi, i), attrs: encoding.Attributes{{Key: "label", Value: label}}}
		if n.Kind == PeerKind {
			dn.attrs = append(dn.attrs, encoding.Attribute{Key: "shape", Value: "cylinder"}, encoding.Attribute{Key: "style", Value: "dashed"})
		}
		nodes[i] = dn
		g.AddNode(dn)
	}
	for _, e := range f.Edges {
		label := fmt.Sprintf("%s/trace\np50 %s · p99 %s ms", trimNum(e.CallsPerTrace), trimNum(round(e.Latency.P50, 3)), trimNum(round(e.Latency.P99, 3)))
		de := &dotEdge{from: nodes[e.From], to: nodes[e.To], attrs: encoding.Attributes{{Key: "label", Value: label}}}
		switch {
		case e.AsyncCalls == e.Calls:
			de.attrs = append(de.attrs, encoding.Attribute{Key: "style", Value: "dashed"})
		case e.AsyncCalls > 0:
			de.attrs[0].Value += fmt.Sprintf("\n%d of %d async", e.AsyncCalls, e.Calls)
		}
		if e.From == e.To {
			// simple.DirectedGraph refuses self-loops (recursive calls):
			// put the count on the node instead.
			nodes[e.From].attrs[0].Value += fmt.Sprintf("\ncalls itself %s/trace", trimNum(e.CallsPerTrace))
			continue
		}
		g.SetEdge(de)
	}
}

// plural formats "1 trace", "2 traces".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// trimNum formats a number without trailing zeros ("2", "0.5", "1.25").
func trimNum(x float64) string {
	s := fmt.Sprintf("%.3f", x)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ErrNoGraphviz is returned by RenderSVG when Graphviz's dot is not
// installed.
var ErrNoGraphviz = errors.New("graphviz `dot` not found on PATH; install Graphviz (apt-get install graphviz, brew install graphviz) to render SVG, or render the DOT file elsewhere")

// RenderSVG runs Graphviz (`dot -Tsvg`) on a DOT document.
func RenderSVG(ctx context.Context, dotSrc []byte) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, ErrNoGraphviz
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dotSrc)
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("rendering SVG with %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
