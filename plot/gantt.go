package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tracesim/tracesim/analysis"
)

// MaxGanttRows bounds the spans a Gantt chart draws: a chart of thousands
// of rows is neither readable nor a file a viewer opens quickly. The
// title says how many were left out.
const MaxGanttRows = 150

// Gantt chart geometry: the width is fixed, the height grows with rows.
const (
	GanttWidth     = 11 * vg.Inch
	ganttRowHeight = 0.22 * vg.Inch
	ganttMinHeight = 3 * vg.Inch
	ganttFrame     = 1.6 * vg.Inch // title, axis and legend
)

// Colours of the Gantt chart (Okabe–Ito: distinguishable with common
// colour-vision deficiencies).
var (
	CriticalColor = color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF} // vermillion
	OffPathColor  = color.NRGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF} // sky blue
	ErrorColor    = color.NRGBA{R: 0xCC, G: 0x00, B: 0x00, A: 0xFF}
)

// GanttHeight is the height of a Gantt chart of rows spans.
func GanttHeight(rows int) vg.Length {
	rows = min(rows, MaxGanttRows)
	return max(ganttMinHeight, ganttFrame+vg.Length(rows)*ganttRowHeight)
}

// Gantt writes to w, in format ("png" or "svg"), the Gantt chart of one
// trace: a bar per span from its start to its end, in ms since the
// trace's first span, one row per span in g's order (depth first), each
// labelled with its operation (service/name) and, for client spans, its
// kind. Spans whose id is in onPath (the trace's critical path, from
// analysis.CriticalPath) are drawn in CriticalColor, the others in
// OffPathColor; spans with an error are outlined in ErrorColor and
// asynchronous spans are translucent. Untimed spans have a row but no
// bar. At most MaxGanttRows rows are drawn.
func Gantt(w io.Writer, format, title string, g *analysis.Gantt, onPath []string) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if g == nil || len(g.Rows) == 0 {
		return errors.New("plot: Gantt needs a trace with at least one span")
	}
	rows := g.Rows
	if len(rows) > MaxGanttRows {
		rows = rows[:MaxGanttRows]
		title += fmt.Sprintf(" (first %d of %d spans)", MaxGanttRows, len(g.Rows))
	}
	crit := make(map[string]bool, len(onPath))
	for _, id := range onPath {
		crit[id] = true
	}
	bars := &ganttBars{rows: rows, crit: crit}
	xmax := 0.0
	for i, r := range rows {
		if r.Untimed {
			continue
		}
		if bad(r.StartMs) || bad(r.DurationMs) || r.DurationMs < 0 {
			return fmt.Errorf("plot: Gantt row %d (%s): start %v ms, duration %v ms: want finite times and a duration ≥ 0", i, r.Operation, r.StartMs, r.DurationMs)
		}
		xmax = math.Max(xmax, r.StartMs+r.DurationMs)
		bars.anyErr = bars.anyErr || r.Error
		bars.anyAsync = bars.anyAsync || r.Async
	}

	p := newPlot(title)
	p.X.Label.Text = "time since the trace's first span (ms)"
	p.X.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max = 0, math.Max(xmax, 1e-3)
	// Row 0 on top: the y value of row i is n-1-i.
	labels := make([]string, len(rows))
	for i := range rows {
		labels[len(rows)-1-i] = ganttLabel(&rows[i])
	}
	p.NominalY(labels...)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	p.Add(gridX{})
	p.Add(bars)
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.Add("on the critical path", swatch{fill: CriticalColor})
	p.Legend.Add("off the critical path", swatch{fill: OffPathColor})
	if bars.anyErr {
		p.Legend.Add("error", swatch{fill: color.White, edge: ErrorColor})
	}
	if bars.anyAsync {
		p.Legend.Add("asynchronous (caller does not wait)", swatch{fill: translucent(OffPathColor)})
	}
	// Empty rows above the first span hold the legend, so it never
	// covers a bar.
	head := legendRows(2 + boolInt(bars.anyErr) + boolInt(bars.anyAsync))
	p.Y.Min, p.Y.Max = -0.6, float64(len(rows))-0.4+head
	return writeSized(w, format, p, GanttWidth, GanttHeight(len(g.Rows))+vg.Length(head)*ganttRowHeight)
}

// legendRows is the number of Gantt rows a legend of n entries needs.
func legendRows(n int) float64 { return 0.8*float64(n) + 0.4 }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ganttLabel is a row's axis label: the operation, the kind of client
// spans (a client span carries the callee's name), an error mark.
func ganttLabel(r *analysis.GanttRow) string {
	l := r.Operation
	if r.Kind != "" && r.Kind != "server" && r.Kind != "unspecified" {
		l += " (" + r.Kind + ")"
	}
	if r.Untimed {
		l += " (untimed)"
	}
	if r.Error {
		l += " !"
	}
	return truncateRunes(l, 60)
}

func truncateRunes(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// ganttBars draws the spans' bars.
type ganttBars struct {
	rows             []analysis.GanttRow
	crit             map[string]bool
	anyErr, anyAsync bool
}

func (b *ganttBars) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	n := len(b.rows)
	for i := range b.rows {
		r := &b.rows[i]
		if r.Untimed {
			continue
		}
		y := float64(n - 1 - i)
		x0, x1 := trX(r.StartMs), trX(r.StartMs+r.DurationMs)
		if x1-x0 < vg.Points(1) {
			x1 = x0 + vg.Points(1) // a zero-length span stays visible
		}
		y0, y1 := trY(y-0.35), trY(y+0.35)
		fill := color.Color(OffPathColor)
		if b.crit[r.SpanID] {
			fill = CriticalColor
		}
		if r.Async {
			fill = translucent(fill)
		}
		rect := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
		c.FillPolygon(fill, rect)
		if r.Error {
			c.StrokeLines(draw.LineStyle{Color: ErrorColor, Width: vg.Points(1.5)}, append(rect, rect[0]))
		}
	}
}

func (b *ganttBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, r := range b.rows {
		if !r.Untimed {
			xmin, xmax = math.Min(xmin, r.StartMs), math.Max(xmax, r.StartMs+r.DurationMs)
		}
	}
	if xmin > xmax {
		xmin, xmax = 0, 1
	}
	return xmin, xmax, -0.5, float64(len(b.rows)) - 0.5
}

// gridX draws vertical grid lines at the x axis's labelled ticks only
// (plotter.Grid would also draw one line per row).
type gridX struct{}

func (gridX) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	ls := draw.LineStyle{Color: color.Gray{Y: 0xDD}, Width: vg.Points(0.5)}
	for _, t := range plt.X.Tick.Marker.Ticks(plt.X.Min, plt.X.Max) {
		if t.IsMinor() {
			continue
		}
		x := trX(t.Value)
		c.StrokeLine2(ls, x, c.Min.Y, x, c.Max.Y)
	}
}

// swatch is a legend entry: a filled square, optionally outlined.
type swatch struct {
	fill, edge color.Color
}

func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(s.fill, pts)
	if s.edge != nil {
		c.StrokeLines(draw.LineStyle{Color: s.edge, Width: vg.Points(1.5)}, append(pts, pts[0]))
	}
}
