package plot

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/analysis"
)

// testPaths: 3 traces of web/GET /a and 1 of web/GET /b.
func testPaths() *analysis.CriticalPaths {
	return &analysis.CriticalPaths{Traces: 4, Endpoints: []analysis.EndpointPath{
		{Endpoint: "web/GET /a", Traces: 3, CriticalPath: []analysis.PathEntry{
			{Operation: "db/Get", MsPerTrace: 8}, {Operation: "web/GET /a", MsPerTrace: 2}, {Operation: "db/Put", MsPerTrace: 1},
		}},
		{Endpoint: "web/GET /b", Traces: 1, CriticalPath: []analysis.PathEntry{
			{Operation: "cache/Get", MsPerTrace: 4}, {Operation: "web/GET /b", MsPerTrace: 4},
		}},
	}}
}

func TestCritPathBars(t *testing.T) {
	bars, eps, traces, err := CritPathBars(testPaths(), ByService)
	if err != nil {
		t.Fatal(err)
	}
	if traces != 4 || len(eps) != 2 {
		t.Fatalf("traces %d, endpoints %v", traces, eps)
	}
	// db: 3/4×(8+1) = 6.75; web: 3/4×2 + 1/4×4 = 2.5; cache: 1/4×4 = 1.
	want := []struct {
		name  string
		total float64
	}{{"db", 6.75}, {"web", 2.5}, {"cache", 1}}
	if len(bars) != len(want) {
		t.Fatalf("bars %+v", bars)
	}
	for i, w := range want {
		if bars[i].Name != w.name || math.Abs(bars[i].Total-w.total) > 1e-12 {
			t.Errorf("bar %d = %s %v, want %s %v", i, bars[i].Name, bars[i].Total, w.name, w.total)
		}
	}
	if math.Abs(bars[1].PerEP[0]-1.5) > 1e-12 || math.Abs(bars[1].PerEP[1]-1) > 1e-12 {
		t.Errorf("web by endpoint %v, want [1.5 1]", bars[1].PerEP)
	}
	ops, _, _, err := CritPathBars(testPaths(), ByOperation)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 5 || ops[0].Name != "db/Get" || ops[0].Total != 6 || ops[4].Name != "db/Put" {
		t.Errorf("by operation: %+v", ops)
	}
	if _, _, _, err := CritPathBars(testPaths(), "host"); err == nil || !strings.Contains(err.Error(), `"host"`) {
		t.Errorf("by host: %v", err)
	}
	if _, _, _, err := CritPathBars(&analysis.CriticalPaths{}, ByService); err == nil {
		t.Error("no traces: no error")
	}
}

func TestCritPathOther(t *testing.T) {
	cp := &analysis.CriticalPaths{Endpoints: []analysis.EndpointPath{{Endpoint: "e/x", Traces: 1}}}
	for i := range MaxCritPathBars + 5 {
		cp.Endpoints[0].CriticalPath = append(cp.Endpoints[0].CriticalPath,
			analysis.PathEntry{Operation: "s/op" + string(rune('A'+i)), MsPerTrace: float64(100 - i)})
	}
	bars, _, _, err := CritPathBars(cp, ByOperation)
	if err != nil {
		t.Fatal(err)
	}
	last := bars[len(bars)-1]
	// The 6 smallest (71..76 ms) are summed.
	if len(bars) != MaxCritPathBars || last.Name != "other (6 operations)" || last.Total != 71+72+73+74+75+76 {
		t.Errorf("%d bars, last %s %v", len(bars), last.Name, last.Total)
	}
}

func TestCritPathChart(t *testing.T) {
	var svg bytes.Buffer
	if err := CritPath(&svg, "svg", "critical path by service", testPaths(), ByService); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg.Bytes(), "critical path by service", "db", "web", "cache", "web/GET /a", "web/GET /b",
		"6.75 ms (66%)", "2.5 ms (24%)", "1 ms (10%)", "time on the critical path (ms per trace, mean over 4 traces)")
	var again bytes.Buffer
	if err := CritPath(&again, "svg", "critical path by service", testPaths(), ByService); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg.Bytes(), again.Bytes()) {
		t.Error("the same chart rendered twice differs")
	}
	var pngBuf bytes.Buffer
	if err := CritPath(&pngBuf, "png", "x", testPaths(), ByOperation); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&pngBuf)
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	// 10 in wide; 1.8 in + 5 bars × 0.32 in = 3.4 in high, at 120 dpi.
	if s := img.Bounds().Size(); s.X != 1200 || s.Y != 408 {
		t.Errorf("PNG is %v, want 1200x408", s)
	}
}
