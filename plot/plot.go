// Package plot draws tracesim's charts with gonum/plot: latency CDF
// overlays (and their complementary CDF on log-log axes, for the tail),
// latency against offered load with 95% confidence bands, the Gantt chart
// of one trace with its critical path highlighted, and the critical-path
// breakdown per service or operation.
//
// The package draws what it is given and computes no statistics: callers
// pass the points (quantiles, intervals) or the analysis results
// (analysis.Gantt, analysis.CriticalPaths) already computed. Charts are
// written as PNG or SVG; FormatOf picks the format from a file name.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart size. A PNG is Width×DPI by Height×DPI pixels.
const (
	Width  = 8 * vg.Inch
	Height = 5 * vg.Inch
	DPI    = 120
)

// MinTail is the smallest exceedance fraction a tail (CCDF) chart shows.
const MinTail = 1e-4

// Formats are the supported output formats.
var Formats = []string{"png", "svg"}

// FormatOf returns the chart format named by path's extension ("png" or
// "svg"), or an error naming the supported ones.
func FormatOf(path string) (string, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if err := checkFormat(ext); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return ext, nil
}

func checkFormat(format string) error {
	switch format {
	case "png", "svg":
		return nil
	case "":
		return errors.New("no file extension: want .png or .svg")
	}
	return fmt.Errorf("unsupported chart format %q: want .png or .svg", format)
}

// XY is one point of a distribution: X a latency in ms, Y the fraction of
// requests at or below it.
type XY struct {
	X, Y float64
}

// Series is one distribution, drawn as a line named Name in the legend.
// Points are in increasing X.
type Series struct {
	Name   string
	Points []XY
}

// LoadPoint is one point of a latency-versus-load curve: at offered Rate
// (requests per second) the latency Value in ms, with its 95% interval
// [Lo, Hi]. Lo == Hi == 0 means no interval.
type LoadPoint struct {
	Rate, Value, Lo, Hi float64
}

// Curve is one latency statistic against load, named Name in the legend.
type Curve struct {
	Name   string
	Points []LoadPoint
	// Style, when set, picks the curve's colour and dash pattern, so that
	// related curves can share one (baseline and predicted in one colour
	// each, p50 solid and p99 dashed); nil styles curves by position.
	Style *CurveStyle
}

// CurveStyle indexes gonum's plotutil palettes: Color into
// plotutil.DefaultColors, Dashes into plotutil.DefaultDashes.
type CurveStyle struct {
	Color, Dashes int
}

// CDF writes to w, in format ("png" or "svg"), the cumulative distribution
// of each series: latency in ms against the fraction of requests at or
// below it. With tail, it draws the complementary CDF (the fraction of
// requests slower than x, 1 − y) on log-log axes, from 1 down to MinTail,
// where the tails of distributions differ visibly.
func CDF(w io.Writer, format, title string, series []Series, tail bool) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if len(series) == 0 {
		return errors.New("plot: CDF needs at least one series")
	}
	p := newPlot(title)
	p.X.Label.Text = "latency (ms)"
	if tail {
		// Short: gonum pads for the label as if centred on the linear
		// mid-range, which a log axis places near the top.
		p.Y.Label.Text = "fraction slower"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, tailTicks()
		p.Legend.Top, p.Legend.Left = false, true // empty on a CCDF
		p.Legend.XOffs = -p.Legend.XOffs
	} else {
		p.Y.Label.Text = "fraction of requests (CDF)"
		p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
		p.Legend.Top, p.Legend.Left = false, false
	}
	p.Add(plotter.NewGrid())
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for i, s := range series {
		var pts plotter.XYs
		for j, pt := range s.Points {
			if bad(pt.X) || bad(pt.Y) || pt.Y < 0 || pt.Y > 1 {
				return fmt.Errorf("plot: series %q point %d (%v, %v): want a finite latency and a fraction in [0, 1]", s.Name, j, pt.X, pt.Y)
			}
			x, y := pt.X, pt.Y
			if tail {
				y = 1 - y
				if x <= 0 || y < MinTail {
					continue
				}
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
		if len(pts) == 0 {
			return fmt.Errorf("plot: series %q has no points to draw", s.Name)
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Name, err)
		}
		style(&l.LineStyle, i)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	if tail {
		p.Y.Min, p.Y.Max = MinTail, 1
		// Start the latency axis where the first series leaves 1 (a
		// tail chart is about the right-hand side, and a log axis would
		// otherwise spend decades on the fastest few requests).
		if body := tailStart(series); body > xmin && body < xmax {
			xmin = body
			p.X.Min = body
		}
		if xmin == xmax {
			p.X.Min, p.X.Max = xmin/2, xmax*2
		}
	} else {
		p.Y.Min, p.Y.Max = 0, 1
		p.X.Min = math.Min(0, xmin)
	}
	return write(w, format, p)
}

// Load writes to w, in format ("png" or "svg"), each curve's latency in
// ms against offered load in requests per second, with its 95% interval
// shaded.
func Load(w io.Writer, format, title string, curves []Curve) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	if len(curves) == 0 {
		return errors.New("plot: Load needs at least one curve")
	}
	p := newPlot(title)
	p.X.Label.Text = "offered load (requests/s)"
	p.Y.Label.Text = "latency (ms)"
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = -p.Legend.XOffs, -p.Legend.YOffs
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		if len(c.Points) == 0 {
			return fmt.Errorf("plot: curve %q has no points", c.Name)
		}
		colorIdx, dashIdx := i, i
		if c.Style != nil {
			if c.Style.Color < 0 || c.Style.Dashes < 0 {
				return fmt.Errorf("plot: curve %q: style %+v: want indexes ≥ 0", c.Name, *c.Style)
			}
			colorIdx, dashIdx = c.Style.Color, c.Style.Dashes
		}
		line := make(plotter.XYs, len(c.Points))
		band := make(plotter.XYs, 0, 2*len(c.Points))
		hasBand := false
		for j, pt := range c.Points {
			if bad(pt.Rate) || bad(pt.Value) || bad(pt.Lo) || bad(pt.Hi) {
				return fmt.Errorf("plot: curve %q point %d: values must be finite", c.Name, j)
			}
			line[j] = plotter.XY{X: pt.Rate, Y: pt.Value}
			lo := pt.Lo
			if pt.Lo == 0 && pt.Hi == 0 {
				lo = pt.Value
			}
			band = append(band, plotter.XY{X: pt.Rate, Y: lo})
			hasBand = hasBand || pt.Hi > pt.Lo
		}
		for j := len(c.Points) - 1; j >= 0; j-- {
			pt := c.Points[j]
			hi := pt.Hi
			if pt.Lo == 0 && pt.Hi == 0 {
				hi = pt.Value
			}
			band = append(band, plotter.XY{X: pt.Rate, Y: hi})
		}
		if hasBand && len(c.Points) > 1 {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return fmt.Errorf("plot: curve %q band: %w", c.Name, err)
			}
			poly.Color = translucent(plotutil.Color(colorIdx))
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		l, s, err := plotter.NewLinePoints(line)
		if err != nil {
			return fmt.Errorf("plot: curve %q: %w", c.Name, err)
		}
		style(&l.LineStyle, colorIdx)
		l.LineStyle.Dashes = plotutil.Dashes(dashIdx)
		s.Color = plotutil.Color(colorIdx)
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(2.5)
		p.Add(l, s)
		p.Legend.Add(c.Name, l, s)
	}
	p.Y.Min = 0
	// Headroom above the highest band for the legend in the top left
	// corner: about one line per curve.
	// (Add has already stretched the axes over the data.)
	if p.Y.Max > 0 {
		p.Y.Max *= 1.05 + 0.06*float64(len(curves))
	}
	return write(w, format, p)
}

// niceTicks labels about six round values (1, 2 or 5 × 10^k apart) on a
// linear axis, with minor ticks between; gonum's default labels only two
// or three.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	minor := step / 5
	var ts []plot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi*(1+1e-12); i++ {
		v := i * minor
		if k := math.Round(v / step); math.Abs(v-k*step) < minor/2 {
			v = k * step
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
			continue
		}
		ts = append(ts, plot.Tick{Value: v})
	}
	return ts
}

// tailTicks labels the decades of a tail chart's y axis, 1 to MinTail.
func tailTicks() plot.ConstantTicks {
	var ts plot.ConstantTicks
	for v := 1.0; v >= MinTail*0.999; v /= 10 {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		if v > MinTail*1.001 {
			for k := 9; k >= 2; k-- {
				ts = append(ts, plot.Tick{Value: v / 10 * float64(k)})
			}
		}
	}
	return ts
}

func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	p.Title.Padding = vg.Points(6)
	return p
}

func style(ls *draw.LineStyle, i int) {
	ls.Color = plotutil.Color(i)
	ls.Width = vg.Points(1.8)
	ls.Dashes = plotutil.Dashes(i)
}

func translucent(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	const a = 0x40
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// tailStart is the smallest latency at which some series has fewer than
// 99% of its requests slower, divided by 2: where a tail chart's axis
// starts. 0 when there is none.
func tailStart(series []Series) float64 {
	start := math.Inf(1)
	for _, s := range series {
		for _, pt := range s.Points {
			if pt.Y >= 0.01 && pt.X > 0 {
				start = math.Min(start, pt.X)
				break
			}
		}
	}
	if math.IsInf(start, 1) {
		return 0
	}
	return start / 2
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

func write(w io.Writer, format string, p *plot.Plot) error {
	return writeSized(w, format, p, Width, Height)
}

// writeSized is write for a chart of the given size.
func writeSized(w io.Writer, format string, p *plot.Plot, width, height vg.Length) error {
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))}
	case "svg":
		c = vgsvg.New(width, height)
	}
	const pad = 8 * vg.Millimeter / 2
	p.Draw(draw.Crop(draw.New(c), pad, -pad, pad, -pad))
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plot: writing %s: %w", format, err)
	}
	return nil
}
