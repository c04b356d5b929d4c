// Gantt chart of one trace: every span as a bar on a common time axis,
// indented by depth, as text for a terminal or as a hand-written SVG.

package analysis

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracesim/tracesim/trace"
)

// GanttRow is one span of a Gantt chart.
type GanttRow struct {
	SpanID    string `json:"span_id"`
	Operation string `json:"operation"`
	Kind      string `json:"kind"`
	Depth     int    `json:"depth"`
	// StartMs is the offset from the trace's earliest timed start.
	StartMs    float64 `json:"start_ms"`
	DurationMs float64 `json:"duration_ms"`
	Error      bool    `json:"error"`
	Async      bool    `json:"async"`   // does not block its parent
	Untimed    bool    `json:"untimed"` // start or duration unknown: no bar
	service    string
	start, end int64 // ns from the trace start
}

// Gantt is the chart of one trace.
type Gantt struct {
	TraceID    string     `json:"trace_id"`
	Endpoint   string     `json:"endpoint"`
	DurationMs float64    `json:"duration_ms"` // earliest start to latest end
	Rows       []GanttRow `json:"rows"`        // depth-first, children by start time
	total      int64
}

// BuildGantt lays out t: rows in depth-first order from each root (roots
// and children by start time), times relative to the earliest timed span.
func BuildGantt(t *trace.Trace) *Gantt {
	g := &Gantt{TraceID: t.ID.String(), Endpoint: EndpointOf(t), Rows: make([]GanttRow, 0, len(t.Spans))}
	base, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range t.Spans {
		s := &t.Spans[i]
		if untimed(s) {
			continue
		}
		base = min(base, s.Start)
		last = max(last, s.End())
	}
	if base > last {
		base, last = 0, 0
	}
	g.total = last - base
	g.DurationMs = round(float64(g.total)/1e6, 6)
	type item struct {
		span  int32
		depth int
	}
	var stack []item
	opNames := make(map[opName]string)
	for k := len(t.Roots) - 1; k >= 0; k-- {
		stack = append(stack, item{t.Roots[k], 0})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s := &t.Spans[it.span]
		op, ok := opNames[opName{s.Service, s.Name}]
		if !ok {
			// One string per operation, not per span: a million-row chart
			// would otherwise hold a million copies of a few names.
			op = s.Endpoint()
			opNames[opName{s.Service, s.Name}] = op
		}
		r := GanttRow{SpanID: s.ID.String(), Operation: op, Kind: s.Kind.String(), Depth: it.depth,
			Error: s.Has(trace.FlagError), Async: s.Has(trace.FlagAsync), Untimed: untimed(s), service: s.Service}
		if !r.Untimed {
			r.start, r.end = s.Start-base, s.End()-base
			r.StartMs = round(float64(r.start)/1e6, 6)
			r.DurationMs = round(float64(s.Duration)/1e6, 6)
		}
		g.Rows = append(g.Rows, r)
		kids := t.Children(it.span)
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, item{kids[k], it.depth + 1})
		}
	}
	return g
}

// SelectTrace picks a trace: "slowest" (or "") is the one whose main root
// lasts longest, "first" the earliest, anything else a trace id in hex (a
// 16-character id also matches the low half of a 128-bit id) or, for ids
// that are not hex, as written in the input.
func SelectTrace(traces []trace.Trace, sel string) (*trace.Trace, error) {
	if len(traces) == 0 {
		return nil, fmt.Errorf("no traces to choose from")
	}
	switch sel {
	case "", "slowest":
		best, bestDur := 0, int64(-1)
		for i := range traces {
			r := MainRoot(&traces[i])
			if r >= 0 && !untimed(&traces[i].Spans[r]) && traces[i].Spans[r].Duration > bestDur {
				best, bestDur = i, traces[i].Spans[r].Duration
			}
		}
		return &traces[best], nil
	case "first":
		return &traces[0], nil
	}
	id, ok := trace.ParseHexTraceID(sel)
	if !ok {
		id = trace.HashTraceID(sel)
	}
	low := -1
	for i := range traces {
		if traces[i].ID == id {
			return &traces[i], nil
		}
		if ok && id.High == 0 && traces[i].ID.Low == id.Low {
			low = i
		}
	}
	if low >= 0 {
		return &traces[low], nil
	}
	return nil, fmt.Errorf("trace %q not found among %d traces", sel, len(traces))
}

func (g *Gantt) label(r *GanttRow) string {
	l := indentFor(r.Depth) + r.Operation
	if r.Error {
		l += " !"
	}
	return l
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:max(n-1, 0)]) + "…"
}

// WriteText renders the chart for a terminal: one line per span with its
// start offset and duration in ms, the operation indented by depth, and a
// bar scaled so that the whole trace spans width characters. Bars are "="
// for spans the parent waits on, "~" for asynchronous ones; errors are
// marked "!" after the name; untimed spans have no bar.
func (g *Gantt) WriteText(w io.Writer, width int) error {
	if width < 10 {
		width = 10
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "trace %s  %s  %.3f ms  %s\n", g.TraceID, g.Endpoint, float64(g.total)/1e6, plural(len(g.Rows), "span"))
	lw := len("OPERATION")
	for i := range g.Rows {
		lw = max(lw, utf8.RuneCountInString(g.label(&g.Rows[i])))
	}
	lw = min(lw, 70)
	scale := fmt.Sprintf("0%*s", width-1, fmt.Sprintf("%.3f ms", float64(g.total)/1e6))
	fmt.Fprintf(bw, "%10s %10s  %s |%s|\n", "START ms", "DUR ms", padRunes("OPERATION", lw), scale)
	bar := make([]byte, width)
	total := max(g.total, 1)
	for i := range g.Rows {
		r := &g.Rows[i]
		for k := range bar {
			bar[k] = ' '
		}
		start, dur := "?", "?"
		if !r.Untimed {
			start = strconv.FormatFloat(float64(r.start)/1e6, 'f', 3, 64)
			dur = strconv.FormatFloat(float64(r.end-r.start)/1e6, 'f', 3, 64)
			a := int(float64(r.start) / float64(total) * float64(width))
			b := int(math.Ceil(float64(r.end) / float64(total) * float64(width)))
			a = min(max(a, 0), width-1)
			b = min(max(b, a+1), width)
			mark := byte('=')
			if r.Async {
				mark = '~'
			}
			for k := a; k < b; k++ {
				bar[k] = mark
			}
		}
		fmt.Fprintf(bw, "%10s %10s  %s |%s|\n", start, dur, padRunes(truncate(g.label(r), lw), lw), bar)
	}
	return bw.Flush()
}

func padRunes(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// GanttSVGOptions size the SVG chart.
type GanttSVGOptions struct {
	Width int // pixels of the time axis; 0 means 900
	// MaxRows bounds the rows drawn (0 means 10,000): a million-span trace
	// would make an SVG no viewer opens. A note says how many were left
	// out.
	MaxRows int
}

// palette is a colour-blind-friendly set (Okabe–Ito, then Tableau) for
// services, assigned in sorted service order so colours are stable.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
	"#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948"}

// WriteSVG renders the chart as a standalone SVG document: a time axis in
// ms with grid lines, and per span a label and a bar coloured by service
// (errors outlined in red, asynchronous spans translucent) with a tooltip.
func (g *Gantt) WriteSVG(w io.Writer, opt GanttSVGOptions) error {
	if opt.Width <= 0 {
		opt.Width = 900
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = 10000
	}
	rows := g.Rows
	if len(rows) > opt.MaxRows {
		rows = rows[:opt.MaxRows]
	}
	const (
		pad, rowH, barH, charW, top = 10, 18, 12, 7, 50
	)
	maxChars := 0
	for i := range rows {
		maxChars = max(maxChars, utf8.RuneCountInString(g.label(&rows[i])))
	}
	labelChars := min(maxChars, 64)
	labelW := max(labelChars*charW+2*pad, 120)
	chartX := pad + labelW
	width := chartX + opt.Width + 90 // room for the duration after a bar that ends at the right edge
	height := top + len(rows)*rowH + 2*pad
	if len(rows) < len(g.Rows) {
		height += rowH
	}
	total := float64(max(g.total, 1))
	xOf := func(ns int64) float64 { return float64(chartX) + float64(ns)/total*float64(opt.Width) }

	services := map[string]bool{}
	for i := range rows {
		services[rows[i].service] = true
	}
	color := map[string]string{}
	for i, s := range sortedKeys(services) {
		color[s] = palette[i%len(palette)]
	}

	bw := bufio.NewWriter(w)
	esc := func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s)) // cannot fail on a strings.Builder
		return b.String()
	}
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="11">
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>
`, width, height, width, height, pad, esc(fmt.Sprintf("trace %s  %s  %.3f ms  %s", g.TraceID, g.Endpoint, float64(g.total)/1e6, plural(len(g.Rows), "span"))))

	// Time axis: about eight ticks at a 1-2-5 step.
	step := niceStep(float64(g.total) / 1e6 / 8)
	fmt.Fprintf(bw, `<g stroke="#ddd">`+"\n")
	for k := 0; float64(k)*step <= float64(g.total)/1e6+1e-9; k++ {
		x := xOf(int64(float64(k) * step * 1e6))
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", x, top-8, x, top+len(rows)*rowH)
	}
	fmt.Fprintf(bw, "</g>\n<g fill=\"#333\" text-anchor=\"middle\">\n")
	for k := 0; float64(k)*step <= float64(g.total)/1e6+1e-9; k++ {
		x := xOf(int64(float64(k) * step * 1e6))
		fmt.Fprintf(bw, `<text x="%.1f" y="%d">%s</text>`+"\n", x, top-12, esc(trimNum(float64(k)*step)+" ms"))
	}
	fmt.Fprintf(bw, "</g>\n")

	for i := range rows {
		r := &rows[i]
		y := top + i*rowH
		tip := fmt.Sprintf("%s (%s) span %s", r.Operation, r.Kind, r.SpanID)
		if r.Untimed {
			tip += ": untimed"
		} else {
			tip += fmt.Sprintf(": start %.3f ms, duration %.3f ms", float64(r.start)/1e6, float64(r.end-r.start)/1e6)
		}
		if r.Async {
			tip += ", async"
		}
		if r.Error {
			tip += ", error"
		}
		fmt.Fprintf(bw, "<g><title>%s</title>\n", esc(tip))
		// Indent with x, not spaces: SVG collapses white space.
		label := g.label(r)
		text := strings.TrimLeft(label, " ")
		indent := min(len(label)-len(text), labelChars/2) // keep deep rows inside the label column
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", pad+indent*charW, y+barH, esc(truncate(text, max(labelChars-indent, 1))))
		if !r.Untimed {
			x0, x1 := xOf(r.start), xOf(r.end)
			attrs := fmt.Sprintf(`fill="%s"`, color[r.service])
			if r.Async {
				attrs += ` fill-opacity="0.45"`
			}
			if r.Error {
				attrs += ` stroke="#d00" stroke-width="1.5"`
			}
			fmt.Fprintf(bw, `<rect x="%.1f" y="%d" width="%.1f" height="%d" rx="2" %s/>`+"\n", x0, y+2, max(x1-x0, 1), barH, attrs)
			fmt.Fprintf(bw, `<text x="%.1f" y="%d" fill="#555">%s</text>`+"\n", max(x1, x0+1)+4, y+barH, esc(trimNum(round(float64(r.end-r.start)/1e6, 3))+" ms"))
		}
		fmt.Fprintf(bw, "</g>\n")
	}
	if len(rows) < len(g.Rows) {
		fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#a00">%s</text>`+"\n", pad, top+len(rows)*rowH+barH,
			esc(fmt.Sprintf("… %d more spans not drawn (limit %d)", len(g.Rows)-len(rows), opt.MaxRows)))
	}
	fmt.Fprintf(bw, "</svg>\n")
	return bw.Flush()
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= x*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}
