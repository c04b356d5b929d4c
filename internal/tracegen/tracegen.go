// Package tracegen makes synthetic but realistically shaped traces for
// tests, benchmarks and the cross-format check: a frontend fanning out
// through a tree of services, each call a client span in the caller and a
// server span in the callee, with lognormal local work, sequential and
// parallel calls, database calls to an uninstrumented peer and a small
// error rate. Output depends only on the options (seeded).
package tracegen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tracesim/tracesim/trace"
)

// Options size the generated data.
type Options struct {
	Traces        int
	SpansPerTrace int // approximate; at least 2
	Services      int
	Seed          uint64
	// Start is the first trace's start (Unix ns); traces follow at
	// Interval.
	Start    int64
	Interval int64
}

// Generate returns the spans of opt.Traces traces.
func Generate(opt Options) []trace.Span {
	if opt.SpansPerTrace < 2 {
		opt.SpansPerTrace = 2
	}
	if opt.Services < 2 {
		opt.Services = 2
	}
	if opt.Start == 0 {
		opt.Start = 1_700_000_000_000_000_000
	}
	if opt.Interval == 0 {
		opt.Interval = 10_000_000 // 100 traces/s
	}
	g := &gen{r: rand.New(rand.NewPCG(opt.Seed, 0x7ace)), opt: opt}
	g.services = make([]string, opt.Services)
	g.ops = make([][]string, opt.Services)
	for i := range g.services {
		g.services[i] = fmt.Sprintf("svc-%02d", i)
		if i == 0 {
			g.services[i] = "frontend"
		}
		g.ops[i] = []string{"GET /api/items", "POST /api/orders", "GetUser", "ListItems"}
	}
	out := make([]trace.Span, 0, opt.Traces*opt.SpansPerTrace)
	for t := 0; t < opt.Traces; t++ {
		out = g.trace(out, t)
	}
	return out
}

type node struct {
	svc      int
	op       string
	kind     trace.Kind
	peer     string
	children []int // indexes of nodes
	parallel bool
	work     int64 // local work before/after calls, ns
	start    int64
	dur      int64
	err      bool
}

type gen struct {
	r        *rand.Rand
	opt      Options
	services []string
	ops      [][]string
	nodes    []node
	nextID   uint64
}

func (g *gen) lognormal(median float64, sigma float64) int64 {
	return int64(median * math.Exp(sigma*g.r.NormFloat64()))
}

func (g *gen) add(n node) int {
	g.nodes = append(g.nodes, n)
	return len(g.nodes) - 1
}

// trace builds one trace's tree breadth-first until it has about
// SpansPerTrace spans, then times it bottom-up.
func (g *gen) trace(out []trace.Span, t int) []trace.Span {
	g.nodes = g.nodes[:0]
	root := g.add(node{svc: 0, op: g.ops[0][t%2], kind: trace.KindServer, work: g.lognormal(2e6, 0.5)})
	queue := []int{root}
	servers := []int{root}
	spans := 1
	for spans+1 <= g.opt.SpansPerTrace {
		var cur int
		if len(queue) > 0 {
			cur = queue[0]
			queue = queue[1:]
		} else {
			// Every server made its calls and there is room left: give
			// one of them more, so traces reach the size asked for.
			cur = servers[g.r.IntN(len(servers))]
		}
		fan := 1 + g.r.IntN(3)
		g.nodes[cur].parallel = g.r.IntN(3) == 0
		for k := 0; k < fan && spans+1 <= g.opt.SpansPerTrace; k++ {
			if g.r.IntN(5) == 0 || spans+2 > g.opt.SpansPerTrace {
				c := g.add(node{svc: g.nodes[cur].svc, op: "SELECT items", kind: trace.KindClient, peer: "mysql",
					work: g.lognormal(1.5e6, 0.8)})
				g.nodes[cur].children = append(g.nodes[cur].children, c)
				spans++
				continue
			}
			callee := 1 + g.r.IntN(len(g.services)-1)
			op := g.ops[callee][g.r.IntN(len(g.ops[callee]))]
			c := g.add(node{svc: g.nodes[cur].svc, op: op, kind: trace.KindClient, work: g.lognormal(3e5, 0.3)})
			s := g.add(node{svc: callee, op: op, kind: trace.KindServer, work: g.lognormal(1e6, 0.6),
				err: g.r.IntN(200) == 0})
			g.nodes[c].children = []int{s}
			g.nodes[cur].children = append(g.nodes[cur].children, c)
			queue = append(queue, s)
			servers = append(servers, s)
			spans += 2
		}
	}
	g.time(root, g.opt.Start+int64(t)*g.opt.Interval)
	tid := trace.TraceID{High: g.r.Uint64(), Low: g.r.Uint64()}
	ids := make([]trace.SpanID, len(g.nodes))
	for i := range g.nodes {
		g.nextID++
		ids[i] = trace.SpanID(g.nextID*0x9e3779b97f4a7c15 | 1)
	}
	parent := make([]int, len(g.nodes))
	for i := range parent {
		parent[i] = -1
	}
	for i := range g.nodes {
		for _, c := range g.nodes[i].children {
			parent[c] = i
		}
	}
	for i := range g.nodes {
		n := &g.nodes[i]
		s := trace.Span{TraceID: tid, ID: ids[i], Service: g.services[n.svc], Name: n.op, Kind: n.kind,
			Peer: n.peer, Start: n.start, Duration: n.dur, Instance: fmt.Sprintf("10.0.%d.%d", n.svc/250, n.svc%250+1)}
		if parent[i] >= 0 {
			s.ParentID = ids[parent[i]]
		}
		if n.err {
			s.Flags |= trace.FlagError
		}
		out = append(out, s)
	}
	return out
}

// time lays out node i starting at start: half its work, then its calls
// (one after another, or all at once), then the other half. Durations are
// whole microseconds so that every format represents them exactly.
func (g *gen) time(i int, start int64) int64 {
	n := &g.nodes[i]
	n.start = start / 1000 * 1000
	half := n.work / 2 / 1000 * 1000
	at := n.start + half
	end := at
	for _, c := range n.children {
		if n.parallel {
			if e := g.time(c, at); e > end {
				end = e
			}
		} else {
			end = g.time(c, end)
		}
	}
	g.nodes[i].dur = end + half - n.start
	if len(n.children) == 0 {
		g.nodes[i].dur = max(n.work/1000*1000, 1000)
	}
	return g.nodes[i].start + g.nodes[i].dur
}
