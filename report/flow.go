package report

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/analysis"
)

// Colours of the parts of a flow graph a scenario changes.
const (
	markColor = "#D55E00" // vermillion, as the critical path in package plot
	markFill  = "#FFF1E6"
)

// FlowDOT writes flows as one Graphviz digraph (one cluster per flow when
// there are several), as analysis.FlowDOT does, with the parts marks names
// drawn in vermillion and labelled with their changes. A client span node
// (a call as its caller saw it) with a single caller is drawn as the
// edges from that caller to its callees, so such a call is one arrow;
// other client span nodes are drawn dashed and labelled with the caller's
// service and the callee's name. Output depends only on the inputs.
func FlowDOT(flows []*analysis.Flow, marks *Marks) []byte {
	if marks == nil {
		marks = MarksOf(nil)
	}
	var b bytes.Buffer
	b.WriteString("digraph flow {\n  rankdir=TB;\n  fontname=\"Helvetica\";\n  fontsize=11;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n")
	for fi, f := range flows {
		indent := "  "
		if len(flows) > 1 {
			fmt.Fprintf(&b, "  subgraph cluster_%d {\n    color=\"#BBBBBB\";\n", fi)
			indent = "    "
		}
		fmt.Fprintf(&b, "%slabel=%s;\n%slabelloc=t;\n", indent, quote(fmt.Sprintf("%s (%s)", f.Endpoint, plural(f.Traces, "trace"))), indent)
		writeFlow(&b, indent, fi, f, marks)
		if len(flows) > 1 {
			b.WriteString("  }\n")
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// flowEdge is an edge as drawn: an edge of the flow, or a caller →
// client span → callee chain drawn as one.
type flowEdge struct {
	from, to      int
	calls, async  int
	callsPerTrace float64
	lat           analysis.Latency
}

func writeFlow(b *bytes.Buffer, indent string, fi int, f *analysis.Flow, marks *Marks) {
	id := func(i int) string { return fmt.Sprintf("f%d_n%d", fi, i) }
	in := make([][]analysis.FlowEdge, len(f.Nodes))
	out := make([][]analysis.FlowEdge, len(f.Nodes))
	for _, e := range f.Edges {
		if e.From >= 0 && e.To >= 0 && e.From < len(f.Nodes) && e.To < len(f.Nodes) {
			out[e.From] = append(out[e.From], e)
			in[e.To] = append(in[e.To], e)
		}
	}
	through := func(i int) bool {
		return f.Nodes[i].Kind == "client" && len(in[i]) == 1 && len(out[i]) > 0 && in[i][0].From != i
	}
	var edges []flowEdge
	index := map[[2]int]int{}
	addEdge := func(e flowEdge) {
		if k, ok := index[[2]int{e.from, e.to}]; ok {
			edges[k].calls += e.calls
			edges[k].async += e.async
			edges[k].callsPerTrace += e.callsPerTrace
			return
		}
		index[[2]int{e.from, e.to}] = len(edges)
		edges = append(edges, e)
	}
	for _, e := range f.Edges {
		switch {
		case e.From < 0 || e.To < 0 || e.From >= len(f.Nodes) || e.To >= len(f.Nodes) || through(e.To):
		case through(e.From):
			// The client span's one caller calls e.To.
			addEdge(flowEdge{from: in[e.From][0].From, to: e.To, calls: e.Calls, async: e.AsyncCalls, callsPerTrace: e.CallsPerTrace, lat: e.Latency})
		default:
			addEdge(flowEdge{from: e.From, to: e.To, calls: e.Calls, async: e.AsyncCalls, callsPerTrace: e.CallsPerTrace, lat: e.Latency})
		}
	}
	for i, n := range f.Nodes {
		if through(i) {
			continue
		}
		svc, name, _ := strings.Cut(n.Operation, "/")
		var changed []string
		if n.Kind != "client" {
			changed = append(changed, marks.Ops[n.Operation]...)
			changed = append(changed, marks.Services[svc]...)
		}
		if n.Operation == f.Endpoint && n.Kind != "client" {
			changed = append(changed, marks.Workload...)
		}
		head := n.Operation
		if n.Kind == "client" {
			head = fmt.Sprintf("call %s\nfrom %s", name, svc)
		}
		label := fmt.Sprintf("%s\n%s · %s/trace · mean %s ms", head, n.Kind, trim(n.CountPerTrace), trim(n.Latency.Mean))
		attrs := []string{"label=" + quote(label+changeLines(changed))}
		switch {
		case len(changed) > 0:
			attrs = append(attrs, `color="`+markColor+`"`, `fillcolor="`+markFill+`"`, `penwidth=2.5`, `style="rounded,filled,bold"`)
			if n.Kind == analysis.PeerKind {
				attrs = append(attrs, `shape=cylinder`)
			}
		case n.Kind == analysis.PeerKind:
			attrs = append(attrs, `shape=cylinder`, `style=dashed`)
		case n.Kind == "client":
			attrs = append(attrs, `style="rounded,dashed"`, `color="#888888"`, `fontsize=9`)
		}
		fmt.Fprintf(b, "%s%s [%s];\n", indent, id(i), strings.Join(attrs, ", "))
	}
	for _, e := range edges {
		from, to := f.Nodes[e.from], f.Nodes[e.to]
		changed := marks.edge(from, to)
		label := fmt.Sprintf("%s/trace\np50 %s · p99 %s ms", trim(e.callsPerTrace), trim(e.lat.P50), trim(e.lat.P99))
		if e.async > 0 && e.async < e.calls {
			label += fmt.Sprintf("\n%d of %d async", e.async, e.calls)
		}
		attrs := []string{"label=" + quote(label+changeLines(changed))}
		if len(changed) > 0 {
			attrs = append(attrs, `color="`+markColor+`"`, `fontcolor="`+markColor+`"`, `penwidth=2.5`)
		}
		if e.async == e.calls && e.calls > 0 {
			attrs = append(attrs, `style=dashed`)
		}
		if e.from == e.to {
			continue // a recursive call: DOT would draw a loop on the node
		}
		fmt.Fprintf(b, "%s%s -> %s [%s];\n", indent, id(e.from), id(e.to), strings.Join(attrs, ", "))
	}
}

// edge returns the changes to the calls from node from to node to. A
// call from operation A to B appears as A → client span → B, the client
// span named after A's service and B's name.
func (m *Marks) edge(from, to analysis.FlowNode) []string {
	fsvc, _, _ := strings.Cut(from.Operation, "/")
	tsvc, _, _ := strings.Cut(to.Operation, "/")
	var out []string
	if to.Kind != "client" {
		out = append(out, m.InCallers[to.Operation]...)
		if to.Kind == analysis.PeerKind {
			tsvc = to.Operation
		}
		out = append(out, m.InServices[tsvc]...)
		out = append(out, m.SvcCalls[[2]string{fsvc, tsvc}]...)
	}
	for _, k := range sortedCallKeys(m.Calls) {
		caller, callee := k[0], k[1]
		csvc, _, _ := strings.Cut(caller, "/")
		_, cname, _ := strings.Cut(callee, "/")
		switch {
		case from.Kind != "client" && from.Operation == caller && to.Kind == "client" && to.Operation == csvc+"/"+cname:
			out = append(out, m.Calls[k]...) // caller → its client span
		case from.Kind == "client" && from.Operation == csvc+"/"+cname && to.Kind != "client" && to.Operation == callee:
			out = append(out, m.Calls[k]...) // client span → callee
		case from.Kind != "client" && from.Operation == caller && to.Operation == callee:
			out = append(out, m.Calls[k]...) // no client span in between
		}
	}
	return out
}

func sortedCallKeys(m map[[2]string][]string) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y [2]string) int {
		if c := strings.Compare(x[0], y[0]); c != 0 {
			return c
		}
		return strings.Compare(x[1], y[1])
	})
	return keys
}

// escape makes s safe inside a DOT double-quoted string.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "").Replace(s)
}

func changeLines(changed []string) string {
	var s string
	for _, c := range changed {
		s += "\nchanged: " + c
	}
	return s
}

// quote writes s as a DOT string.
func quote(s string) string {
	return `"` + escape(s) + `"`
}

// trim formats x with at most 3 decimals and no trailing zeros.
func trim(x float64) string {
	s := strconv.FormatFloat(x, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
