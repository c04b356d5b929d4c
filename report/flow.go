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

// flowEdge is a call between two drawn nodes: a caller → client span →
// callee chain of the flow graph drawn as one edge.
type flowEdge struct {
	from, to      int
	callsPerTrace float64
	async         bool
	p50, p99      float64
}

// FlowDOT writes flows as one Graphviz digraph (one cluster per flow when
// there are several) with the parts marks names drawn in vermillion and
// labelled with their changes. Unlike analysis.FlowDOT, a client span
// between a caller and its callee is drawn as the edge between them, not
// as a node of its own, so a call is one arrow. Output depends only on
// the inputs.
func FlowDOT(flows []*analysis.Flow, marks *Marks) []byte {
	if marks == nil {
		marks = MarksOf(nil)
	}
	var b bytes.Buffer
	b.WriteString("digraph flow {\n  rankdir=LR;\n  fontname=\"Helvetica\";\n  fontsize=11;\n")
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

func writeFlow(b *bytes.Buffer, indent string, fi int, f *analysis.Flow, marks *Marks) {
	out := make([][]analysis.FlowEdge, len(f.Nodes))
	in := make([][]analysis.FlowEdge, len(f.Nodes))
	for _, e := range f.Edges {
		if e.From < 0 || e.To < 0 || e.From >= len(f.Nodes) || e.To >= len(f.Nodes) {
			continue
		}
		out[e.From] = append(out[e.From], e)
		in[e.To] = append(in[e.To], e)
	}
	// A client span node with callees is drawn as the edges through it.
	through := func(i int) bool { return f.Nodes[i].Kind == "client" && len(out[i]) > 0 }
	var edges []flowEdge
	for _, e := range f.Edges {
		if e.From == e.To || through(e.To) {
			continue
		}
		if !through(e.From) {
			edges = append(edges, flowEdge{from: e.From, to: e.To, callsPerTrace: e.CallsPerTrace,
				async: e.AsyncCalls == e.Calls && e.Calls > 0, p50: e.Latency.P50, p99: e.Latency.P99})
			continue
		}
		// e leaves a client node: one edge from each of its callers,
		// sharing the callers' calls in proportion to e's.
		total := 0
		for _, o := range out[e.From] {
			total += o.Calls
		}
		for _, c := range in[e.From] {
			share := 1.0
			if total > 0 {
				share = float64(e.Calls) / float64(total)
			}
			edges = append(edges, flowEdge{from: c.From, to: e.To, callsPerTrace: c.CallsPerTrace * share,
				async: c.AsyncCalls == c.Calls && c.Calls > 0, p50: e.Latency.P50, p99: e.Latency.P99})
		}
	}
	slices.SortStableFunc(edges, func(x, y flowEdge) int {
		if x.from != y.from {
			return x.from - y.from
		}
		return x.to - y.to
	})
	id := func(i int) string { return fmt.Sprintf("f%d_n%d", fi, i) }
	for i, n := range f.Nodes {
		if through(i) {
			continue
		}
		svc, _, _ := strings.Cut(n.Operation, "/")
		var changed []string
		changed = append(changed, marks.Ops[n.Operation]...)
		changed = append(changed, marks.Services[svc]...)
		if n.Operation == f.Endpoint {
			changed = append(changed, marks.Workload...)
		}
		label := fmt.Sprintf("%s\n%s · %s/trace · mean %s ms", n.Operation, n.Kind, trim(n.CountPerTrace), trim(n.Latency.Mean))
		attrs := []string{"label=" + quote(label+changeLines(changed))}
		switch {
		case len(changed) > 0:
			attrs = append(attrs, `color="`+markColor+`"`, `fillcolor="`+markFill+`"`, `penwidth=2.5`, `style="rounded,filled,bold"`)
			if n.Kind == analysis.PeerKind {
				attrs = append(attrs, `shape=cylinder`)
			}
		case n.Kind == analysis.PeerKind:
			attrs = append(attrs, `shape=cylinder`, `style=dashed`)
		}
		fmt.Fprintf(b, "%s%s [%s];\n", indent, id(i), strings.Join(attrs, ", "))
	}
	for _, e := range edges {
		from, to := f.Nodes[e.from], f.Nodes[e.to]
		fsvc, _, _ := strings.Cut(from.Operation, "/")
		tsvc, _, _ := strings.Cut(to.Operation, "/")
		var changed []string
		changed = append(changed, marks.Calls[[2]string{from.Operation, to.Operation}]...)
		changed = append(changed, marks.SvcCalls[[2]string{fsvc, tsvc}]...)
		changed = append(changed, marks.InCallers[to.Operation]...)
		label := fmt.Sprintf("%s/trace\np50 %s · p99 %s ms", trim(e.callsPerTrace), trim(e.p50), trim(e.p99))
		attrs := []string{"label=" + quote(label+changeLines(changed))}
		if len(changed) > 0 {
			attrs = append(attrs, `color="`+markColor+`"`, `fontcolor="`+markColor+`"`, `penwidth=2.5`)
		}
		if e.async {
			attrs = append(attrs, `style=dashed`)
		}
		fmt.Fprintf(b, "%s%s -> %s [%s];\n", indent, id(e.from), id(e.to), strings.Join(attrs, ", "))
	}
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
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")
	return `"` + r.Replace(s) + `"`
}

// trim formats x with at most 3 decimals and no trailing zeros.
func trim(x float64) string {
	s := strconv.FormatFloat(x, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
