package analysis

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func ganttFixture(t *testing.T) []trace.Trace {
	t.Helper()
	spans := hsSpans(1,
		hs{id: 1, op: "front/GET /x", start: 0, end: 10, kind: trace.KindServer},
		hs{id: 2, parent: 1, op: "back/Get <&>", start: 2, end: 7, kind: trace.KindClient, flags: trace.FlagError},
		hs{id: 3, parent: 2, op: "db/Query", start: 3, end: 6},
		hs{id: 4, parent: 1, op: "audit/Log", start: 8, end: 12},
	)
	spans = append(spans, hsSpans(0xabc,
		hs{id: 1, op: "front/GET /y", start: 100, end: 200, kind: trace.KindServer})...)
	return hsAssemble(t, spans).Traces
}

func TestGanttText(t *testing.T) {
	tr := &ganttFixture(t)[0]
	g := BuildGantt(tr)
	if g.DurationMs != 12 || len(g.Rows) != 4 || g.Rows[2].Operation != "db/Query" || g.Rows[2].Depth != 2 || !g.Rows[3].Async {
		t.Fatalf("gantt %+v", g)
	}
	var out bytes.Buffer
	if err := g.WriteText(&out, 24); err != nil {
		t.Fatal(err)
	}
	// 24 columns for 12 ms: 2 columns per ms.
	want := `trace 0000000000000001  front/GET /x  12.000 ms  4 spans
  START ms     DUR ms  OPERATION        |0              12.000 ms|
     0.000     10.000  front/GET /x     |====================    |
     2.000      5.000    back/Get <&> ! |    ==========          |
     3.000      3.000      db/Query     |      ======            |
     8.000      4.000    audit/Log      |                ~~~~~~~~|
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestGanttSVG(t *testing.T) {
	g := BuildGantt(&ganttFixture(t)[0])
	var out bytes.Buffer
	if err := g.WriteSVG(&out, GanttSVGOptions{}); err != nil {
		t.Fatal(err)
	}
	checkXML(t, out.Bytes())
	svg := out.String()
	if n := strings.Count(svg, "<rect "); n != 5 { // background + 4 spans
		t.Errorf("%d rects, want 5", n)
	}
	for _, w := range []string{"back/Get &lt;&amp;&gt;", `stroke="#d00"`, `fill-opacity="0.45"`, ">0 ms<", ">10 ms<"} {
		if !strings.Contains(svg, w) {
			t.Errorf("SVG lacks %q", w)
		}
	}
	// Row limit.
	out.Reset()
	if err := g.WriteSVG(&out, GanttSVGOptions{MaxRows: 2}); err != nil {
		t.Fatal(err)
	}
	checkXML(t, out.Bytes())
	if !strings.Contains(out.String(), "2 more spans not drawn") {
		t.Error("no note about rows left out")
	}
}

func TestSelectTrace(t *testing.T) {
	traces := ganttFixture(t)
	cases := map[string]string{
		"":                 "front/GET /y", // slowest: 100 ms
		"slowest":          "front/GET /y",
		"first":            "front/GET /x",
		"abc":              "front/GET /y",
		"0000000000000abc": "front/GET /y",
		"1":                "front/GET /x",
	}
	for sel, want := range cases {
		tr, err := SelectTrace(traces, sel)
		if err != nil {
			t.Errorf("%q: %v", sel, err)
			continue
		}
		if got := EndpointOf(tr); got != want {
			t.Errorf("%q: %s, want %s", sel, got, want)
		}
	}
	if _, err := SelectTrace(traces, "ffff"); err == nil || !strings.Contains(err.Error(), `"ffff" not found`) {
		t.Errorf("missing trace: %v", err)
	}
}
