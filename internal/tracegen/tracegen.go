// Package tracegen makes synthetic but realistically shaped traces for
// tests, benchmarks and the cross-format check: a frontend fanning out
// through a tree of services, each call a client span in the caller and a
// server span in the callee, with lognormal local work, sequential and
// parallel calls, database calls to an uninstrumented peer, cache hits
// that skip an operation's calls, and a small error rate. Every operation
// follows a fixed call plan, and calls only go to services further down,
// so the call graph is acyclic as in a real system. Output depends only on
// the options (seeded).
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
	SpansPerTrace int // at most this many spans per trace; at least 2
	// Exact tops every trace up to SpansPerTrace spans with extra calls
	// (benchmarks want exact sizes); without it a trace has what its
	// operations' fixed call plans give, up to SpansPerTrace.
	Exact    bool
	Services int
	Seed     uint64
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
	g := &gen{r: rand.New(rand.NewPCG(opt.Seed, 0x7ace)), opt: opt, plans: map[string]*plan{}}
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
	plans    map[string]*plan
}

// A plan is what one operation calls, fixed for the whole data set as in
// a real system: one to three calls, to services further down (so the call
// graph is acyclic) or to the database, sequential or parallel.
type plan struct {
	calls    []planCall
	parallel bool
}

type planCall struct {
	db  bool
	svc int
	op  string
}

func (g *gen) plan(svc int, op string) *plan {
	key := g.services[svc] + "/" + op
	if p, ok := g.plans[key]; ok {
		return p
	}
	h := g.opt.Seed
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	r := rand.New(rand.NewPCG(h, 0x91a7))
	p := &plan{parallel: r.IntN(3) == 0}
	fan := 1 + r.IntN(3)
	for range fan {
		if svc == len(g.services)-1 || r.IntN(5) == 0 {
			p.calls = append(p.calls, planCall{db: true})
			continue
		}
		callee := svc + 1 + r.IntN(len(g.services)-1-svc)
		p.calls = append(p.calls, planCall{svc: callee, op: g.ops[callee][r.IntN(len(g.ops[callee]))]})
	}
	g.plans[key] = p
	return p
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
	addCall := func(cur int, pc planCall) {
		if pc.db || spans+2 > g.opt.SpansPerTrace {
			c := g.add(node{svc: g.nodes[cur].svc, op: "SELECT items", kind: trace.KindClient, peer: "mysql",
				work: g.lognormal(1.5e6, 0.8)})
			g.nodes[cur].children = append(g.nodes[cur].children, c)
			spans++
			return
		}
		c := g.add(node{svc: g.nodes[cur].svc, op: pc.op, kind: trace.KindClient, work: g.lognormal(3e5, 0.3)})
		s := g.add(node{svc: pc.svc, op: pc.op, kind: trace.KindServer, work: g.lognormal(1e6, 0.6),
			err: g.r.IntN(200) == 0})
		g.nodes[c].children = []int{s}
		g.nodes[cur].children = append(g.nodes[cur].children, c)
		queue = append(queue, s)
		servers = append(servers, s)
		spans += 2
	}
	for len(queue) > 0 && spans < g.opt.SpansPerTrace {
		cur := queue[0]
		queue = queue[1:]
		p := g.plan(g.nodes[cur].svc, g.nodes[cur].op)
		g.nodes[cur].parallel = p.parallel
		if cur != root && g.r.IntN(5) == 0 {
			continue // a cache hit: this execution makes no calls
		}
		for _, pc := range p.calls {
			if spans >= g.opt.SpansPerTrace {
				break
			}
			addCall(cur, pc)
		}
	}
	for g.opt.Exact && spans < g.opt.SpansPerTrace {
		// Every server made its calls and there is room left: give one of
		// them more (downhill, so the call graph stays acyclic), so that
		// traces have exactly the size asked for.
		cur := servers[g.r.IntN(len(servers))]
		svc := g.nodes[cur].svc
		pc := planCall{db: true}
		if svc < len(g.services)-1 && g.r.IntN(5) != 0 {
			callee := svc + 1 + g.r.IntN(len(g.services)-1-svc)
			pc = planCall{svc: callee, op: g.ops[callee][g.r.IntN(len(g.ops[callee]))]}
		}
		addCall(cur, pc)
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
