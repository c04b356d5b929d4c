package plot

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/analysis"
)

// testGantt is a trace of five spans: a root, a client call and its
// server span (on the critical path), a parallel call that was not waited
// for, and an asynchronous span with an error.
func testGantt() (*analysis.Gantt, []string) {
	g := &analysis.Gantt{TraceID: "00000000000000ab", Endpoint: "web/GET /home", DurationMs: 50, Rows: []analysis.GanttRow{
		{SpanID: "01", Operation: "web/GET /home", Kind: "server", StartMs: 0, DurationMs: 50},
		{SpanID: "02", Operation: "web/Get", Kind: "client", Depth: 1, StartMs: 5, DurationMs: 40},
		{SpanID: "03", Operation: "db/Get", Kind: "server", Depth: 2, StartMs: 6, DurationMs: 38},
		{SpanID: "04", Operation: "web/Pick", Kind: "client", Depth: 1, StartMs: 5, DurationMs: 10},
		{SpanID: "05", Operation: "audit/Log", Kind: "server", Depth: 1, StartMs: 45, DurationMs: 20, Async: true, Error: true},
	}}
	return g, []string{"01", "02", "03"}
}

func TestGanttSVG(t *testing.T) {
	g, path := testGantt()
	var b bytes.Buffer
	if err := Gantt(&b, "svg", "trace ab: Gantt", g, path); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), "trace ab: Gantt", "web/GET /home", "web/Get (client)", "db/Get", "web/Pick (client)", "audit/Log !",
		"time since the trace's first span (ms)", "on the critical path", "off the critical path", "error", "asynchronous")
	s := b.String()
	// Three bars on the path and one legend swatch; one opaque bar off
	// the path and its swatch; the async bar is translucent.
	if n := strings.Count(s, `style="fill:#D55E00"`); n != 3+1 {
		t.Errorf("%d vermillion shapes, want 3 bars + 1 legend swatch", n)
	}
	if n := strings.Count(s, `style="fill:#56B4E9"`); n != 1+1 {
		t.Errorf("%d sky-blue shapes, want 1 bar + 1 legend swatch", n)
	}
	var again bytes.Buffer
	if err := Gantt(&again, "svg", "trace ab: Gantt", g, path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("the same chart rendered twice differs")
	}
}

func TestGanttPNG(t *testing.T) {
	g, path := testGantt()
	var b, again bytes.Buffer
	if err := Gantt(&b, "png", "t", g, path); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	// 11 in wide; 3 in (the minimum) + 3.6 rows of 0.22 in for a legend
	// of 4 entries high: 3.792 in at 120 dpi.
	if s := img.Bounds().Size(); s.X != 1320 || s.Y != 455 {
		t.Errorf("PNG is %v, want 1320x455", s)
	}
	if err := Gantt(&again, "png", "t", g, path); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("the same PNG rendered twice differs")
	}
}

func TestGanttLimitAndErrors(t *testing.T) {
	g := &analysis.Gantt{TraceID: "1"}
	for i := range MaxGanttRows + 7 {
		g.Rows = append(g.Rows, analysis.GanttRow{SpanID: string(rune('a' + i%26)), Operation: "s/op", StartMs: float64(i), DurationMs: 1})
	}
	var b bytes.Buffer
	if err := Gantt(&b, "svg", "big", g, nil); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, b.Bytes(), "big (first 150 of 157 spans)")

	cases := []struct {
		g    *analysis.Gantt
		fmt  string
		want string
	}{
		{&analysis.Gantt{}, "svg", "at least one span"},
		{nil, "png", "at least one span"},
		{&analysis.Gantt{Rows: []analysis.GanttRow{{Operation: "a/b", DurationMs: -1}}}, "svg", "a/b"},
		{g, "pdf", `unsupported chart format "pdf"`},
	}
	for _, c := range cases {
		err := Gantt(&bytes.Buffer{}, c.fmt, "x", c.g, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
