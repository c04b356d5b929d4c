package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/plot"
	"github.com/tracesim/tracesim/scenarios"
)

func testComparison(ep string) *analysis.Comparison {
	ci := &analysis.SimCI{Mean: analysis.Interval{9, 11}, P50: analysis.Interval{8, 10}, P90: analysis.Interval{18, 22}, P99: analysis.Interval{40, 60}}
	return &analysis.Comparison{Scenario: "s", Replications: 5, Seed: 7, Endpoints: []analysis.EndpointDelta{
		{
			Endpoint:    ep,
			Baseline:    analysis.Side{Requests: 1000, ErrorRate: 0.01, Latency: analysis.Latency{Mean: 10, P50: 9, P90: 20, P99: 50, P999: 80}, CI95: ci},
			Predicted:   analysis.Side{Requests: 1000, ErrorRate: 0.01, Latency: analysis.Latency{Mean: 5, P50: 4.5, P90: 10, P99: 25, P999: 40}, CI95: ci},
			DeltaPct:    analysis.Delta{Mean: -50, P50: -50, P90: -50, P99: -50},
			DeltaMS:     analysis.Delta{Mean: -5, P50: -4.5, P90: -10, P99: -25},
			DeltaCI95:   map[string][2]float64{"mean": {-5.5, -4.5}, "p50": {-5, -4}, "p90": {-11, -9}, "p99": {-30, 1}},
			Significant: analysis.Significance{Mean: true, P50: true, P99: false},
		},
	}}
}

func testFlow(ep string) *analysis.Flow {
	lat := analysis.Latency{Mean: 3, P50: 2, P90: 5, P99: 9, P999: 12}
	return &analysis.Flow{Endpoint: ep, Traces: 10, Nodes: []analysis.FlowNode{
		{Operation: "db/Get", Kind: "server", Count: 10, CountPerTrace: 1, Latency: lat},
		{Operation: "web/GET /", Kind: "server", Count: 10, CountPerTrace: 1, Latency: lat},
		{Operation: "web/Get", Kind: "client", Count: 10, CountPerTrace: 1, Latency: lat},
	}, Edges: []analysis.FlowEdge{
		{From: 1, To: 2, Calls: 10, CallsPerTrace: 1, Latency: lat},
		{From: 2, To: 0, Calls: 10, CallsPerTrace: 1, Latency: lat},
	}}
}

func testScenario(ep string) Scenario {
	cdf := []plot.XY{{X: 1, Y: 0}, {X: 5, Y: 0.5}, {X: 20, Y: 0.999}}
	load := []plot.LoadPoint{{Rate: 10, Value: 5, Lo: 4, Hi: 6}, {Rate: 20, Value: 7, Lo: 6, Hi: 8}}
	return Scenario{
		Name: "cache-db", File: "s.yaml", Model: "m.yaml", Workload: "open loop",
		Changes: []scenarios.Change{
			&scenarios.Cache{Target: "db/Get", HitRatio: 0.8, HitLatency: 200e3},
			&scenarios.Latency{From: "web", To: "db", Add: 20e6},
		},
		Comparison: testComparison(ep),
		CDFs:       []CDF{{Title: ep + " latency CDF", Series: []plot.Series{{Name: "baseline", Points: cdf}, {Name: "predicted", Points: cdf}}}},
		Load:       &Load{Title: "load chart", Curves: []plot.Curve{{Name: "baseline p50", Points: load}}, Note: "5 factors"},
		Flows:      []*analysis.Flow{testFlow(ep)},
		FlowNote:   "from 10 traces",
	}
}

// fakeDot stands in for Graphviz: an SVG holding the DOT source as text.
func fakeDot(_ context.Context, src []byte) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg"><text>`)
	_ = xml.EscapeText(&b, src)
	b.WriteString(`</text></svg>`)
	return b.Bytes(), nil
}

func write(t *testing.T, r *WhatIf, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteWhatIf(context.Background(), &b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// selfContained checks that page loads nothing: no script, and no
// reference to anything outside the document.
func selfContained(t *testing.T, page string) {
	t.Helper()
	for _, re := range []string{`(?i)<script`, `(?i)(src|href)\s*=\s*["']?\s*(https?:|//)`, `(?i)url\(`, `(?i)@import`, `(?i)<link`, `(?i)<img`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page holds %q (pattern %s)", m, re)
		}
	}
}

func TestWhatIf(t *testing.T) {
	r := &WhatIf{Title: "What-if report: two", Scenarios: []Scenario{testScenario("web/GET /"), testScenario("web/GET /b")}}
	r.Scenarios[1].Name = "second"
	page := write(t, r, Options{RenderDOT: fakeDot})
	selfContained(t, page)
	for _, want := range []string{
		"<!DOCTYPE html>", "<title>What-if report: two</title>", `<a href="#scenario-2">second</a>`,
		"<h2>Scenario: cache-db</h2>", "<h2>Scenario: second</h2>",
		"Put a cache in front of db/Get, for every caller: 80% of calls hit and cost 200µs instead of the call; misses make the call.",
		"Add 20ms of network latency to every call from web to db.",
		`<td class="ep" rowspan="3">web/GET /</td>`, `<td class="run">baseline</td>`,
		`<td class="better">−50.0%<span class="sub">Δ −5.000 ms</span><span class="sub">[−5.500, −4.500]</span></td>`,
		// p99's interval contains 0: not significant.
		`<td class="ns">−50.0%<span class="sub">Δ −25.000 ms</span><span class="sub">[−30.000, &#43;1.000]</span><span class="sub">n.s.</span></td>`,
		"10.000<span class=\"sub\">[9.000, 11.000]</span>", "1.00%", "−50.0%<span class=\"sub\">no interval</span>",
		"5 factors", "from 10 traces",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Per scenario: a CDF, a load chart and the flow graph, inline.
	if n := strings.Count(page, "<svg"); n != 6 {
		t.Errorf("%d inline SVGs, want 6", n)
	}
	if strings.Contains(page, "<?xml") || strings.Contains(page, "<!DOCTYPE svg") {
		t.Error("an SVG prologue was inlined")
	}
	if n := strings.Count(page, `<tr class="pred">`); n != 2 {
		t.Errorf("%d predicted rows, want 2", n)
	}
	// The cache target and the web → db call are highlighted in the DOT.
	if !strings.Contains(page, `f0_n0 [label=&#34;db/Get\nserver · 1/trace · mean 3 ms\nchanged: cache 80% hits @ 200µs&#34;, color=&#34;#D55E00&#34;`) {
		t.Errorf("the cache target is not highlighted:\n%s", page[strings.Index(page, "digraph"):])
	}
	if again := write(t, r, Options{RenderDOT: fakeDot}); again != page {
		t.Error("the same report written twice differs")
	}
}

func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>`
	s := testScenario(evil)
	s.Name = evil
	s.Changes = append(s.Changes, &scenarios.Speedup{Service: evil, Factor: 0.5})
	page := write(t, &WhatIf{Title: evil, Scenarios: []Scenario{s}}, Options{RenderDOT: fakeDot})
	selfContained(t, page)
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Error("the name is not escaped")
	}
}

func TestNoGraphviz(t *testing.T) {
	noDot := func(context.Context, []byte) ([]byte, error) { return nil, analysis.ErrNoGraphviz }
	page := write(t, &WhatIf{Title: "t", Scenarios: []Scenario{testScenario("e/x")}}, Options{RenderDOT: noDot})
	if !strings.Contains(page, `<p class="missing">The request flow graph is not drawn: Graphviz&#39;s dot is not installed`) {
		t.Error("the page does not say the graph is missing")
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d SVGs, want the CDF and the load chart", n)
	}
	failing := func(context.Context, []byte) ([]byte, error) { return nil, errors.New("dot crashed") }
	if page := write(t, &WhatIf{Title: "t", Scenarios: []Scenario{testScenario("e/x")}}, Options{RenderDOT: failing}); !strings.Contains(page, "not drawn: dot crashed") {
		t.Error("a failing dot is not reported in the page")
	}
}

func TestRefusesUnsafeSVG(t *testing.T) {
	for _, svg := range []string{
		`<svg><script>alert(1)</script></svg>`,
		`<svg><a href="https://example.com/x">x</a></svg>`,
		`<svg onload="x()"></svg>`,
		`not svg`,
	} {
		if _, err := inlineSVG([]byte(svg)); err == nil {
			t.Errorf("%s: inlined", svg)
		}
	}
	evil := func(context.Context, []byte) ([]byte, error) { return []byte(`<svg><script>1</script></svg>`), nil }
	if err := WriteWhatIf(context.Background(), io.Discard, &WhatIf{Scenarios: []Scenario{testScenario("e/x")}}, Options{RenderDOT: evil}); err == nil {
		t.Error("an SVG with a script was written")
	}
}

func TestDescribe(t *testing.T) {
	three, zero := 3, 0
	cases := []struct {
		c    scenarios.Change
		want string
	}{
		{&scenarios.Disable{Service: "db", Mode: "fail"}, "Take service db down; calls to it fail after their network cost (callers' timeouts and retries still apply)."},
		{&scenarios.Disable{Service: "db", Mode: "failover", To: "db2"}, "Take service db down; calls to it fail over to the same operation on service db2."},
		{&scenarios.Cache{Target: "p/Get", In: "web/GET /", HitRatio: 0.9, HitLatency: 1e6, Fill: 5e5}, "Put a cache in front of p/Get, for calls from web/GET /: 90% of calls hit and cost 1ms instead of the call; misses make the call and then pay 500µs to fill the cache."},
		{&scenarios.Batch{In: "web/GET /", Calls: "db/Get", MaxBatch: 20, Fixed: 2e6, PerItem: 1e5}, "In web/GET /, batch the sequential calls to db/Get: at most 20 per call, each batch costing 2ms + 100µs per item."},
		{&scenarios.Parallelize{In: "web/GET /", Calls: []string{"a/x", "b/y"}}, "In web/GET /, make the sequential calls to a/x, b/y run in parallel."},
		{&scenarios.Scale{Service: "db", Instances: &three, Workers: &zero}, "Scale service db to 3 instances and unlimited workers."},
		{&scenarios.Speedup{Service: "db", Factor: 0.5}, "Multiply the local work of service db's operations by 0.5 (2× as fast)."},
		{&scenarios.Error{Operation: "db/Get", Rate: 0.05}, "Make db/Get fail by itself in 5% of its executions."},
		{&scenarios.LoadChange{Factor: 2}, "Multiply the offered load by 2."},
		{&scenarios.LoadChange{Rate: 300, Factor: 1}, "Set the offered load to 300 requests/s."},
	}
	for _, c := range cases {
		if got := Describe(c.c); got != c.want {
			t.Errorf("%T:\n got %s\nwant %s", c.c, got, c.want)
		}
	}
}

func TestFlowDOTMarks(t *testing.T) {
	f := testFlow("web/GET /")
	dot := string(FlowDOT([]*analysis.Flow{f}, MarksOf([]scenarios.Change{
		&scenarios.Latency{From: "web", To: "db", Add: 5e6},
		&scenarios.LoadChange{Factor: 2},
	})))
	for _, want := range []string{
		// The client span with its one caller is drawn as the call.
		`f0_n1 -> f0_n0 [label="1/trace\np50 2 · p99 9 ms\nchanged: +5ms network", color="#D55E00"`,
		`f0_n1 [label="web/GET /\nserver · 1/trace · mean 3 ms\nchanged: Multiply the offered load by 2", color="#D55E00"`,
		`f0_n0 [label="db/Get\nserver · 1/trace · mean 3 ms"];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s\n%s", want, dot)
		}
	}
	if strings.Contains(dot, "f0_n2") {
		t.Errorf("the client span is drawn as a node:\n%s", dot)
	}

	down := string(FlowDOT([]*analysis.Flow{f}, MarksOf([]scenarios.Change{&scenarios.Disable{Service: "db", Mode: "fail"}})))
	for _, want := range []string{
		`f0_n0 [label="db/Get\nserver · 1/trace · mean 3 ms\nchanged: down (fail)", color="#D55E00"`,
		`f0_n1 -> f0_n0 [label="1/trace\np50 2 · p99 9 ms\nchanged: to a service that is down", color="#D55E00"`,
	} {
		if !strings.Contains(down, want) {
			t.Errorf("DOT lacks %s\n%s", want, down)
		}
	}
}

func TestDR(t *testing.T) {
	d := &DR{Title: "DR plan", Seed: 1, Replications: 3,
		Ranking: []analysis.ServiceRisk{
			{Service: "db", BlastRadius: 0.5, Affected: 2, SPOF: []string{"web/GET /"}},
			{Service: "cache", BlastRadius: 0.0001},
		},
		TestOrder: []string{"cache", "db"},
		Down:      "db", Mode: "fail", Impact: testComparison("web/GET /"),
	}
	var page bytes.Buffer
	if err := WriteDRPage(&page, "DR report", d); err != nil {
		t.Fatal(err)
	}
	selfContained(t, page.String())
	for _, want := range []string{"<title>DR report</title>", "<h2>DR plan</h2>", "3 replications per simulation, seed 1.",
		`<tr class="spof"><td class="ep">db</td><td>50.0000%</td><td>2</td><td class="run">web/GET /</td></tr>`,
		`<td class="ep">cache</td><td>0.0100%</td>`, "<li>cache</li><li>db</li>", "Impact of db (fail) going down",
		`<td class="ep" rowspan="3">web/GET /</td>`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var sec bytes.Buffer
	if err := WriteDRSection(&sec, d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec.String(), `<section class="dr" id="dr-1">`) || strings.Contains(sec.String(), "<html") {
		t.Errorf("section fragment: %.80s", sec.String())
	}
	if err := WriteDRPage(io.Discard, "x"); err == nil {
		t.Error("no sections: no error")
	}
}

// TestGraphviz renders the flow graph with the real dot, when installed.
func TestGraphviz(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz not installed: apt-get install graphviz")
	}
	page := write(t, &WhatIf{Title: "t", Scenarios: []Scenario{testScenario("web/GET /")}}, Options{})
	selfContained(t, page)
	flow := page[strings.Index(page, `<figure class="chart flow">`):]
	for _, want := range []string{`<svg`, `class="node"`, `class="edge"`, "db/Get", "changed: cache 80% hits @ 200µs", `stroke="#d55e00"`} {
		if !strings.Contains(strings.ToLower(flow), strings.ToLower(want)) {
			t.Errorf("flow graph lacks %q", want)
		}
	}
	if again := write(t, &WhatIf{Title: "t", Scenarios: []Scenario{testScenario("web/GET /")}}, Options{}); again != page {
		t.Error("the same report written twice differs")
	}
}
