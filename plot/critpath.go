package plot

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/tracesim/tracesim/analysis"
)

// Groupings of the critical-path breakdown.
const (
	ByService   = "service"
	ByOperation = "operation"
)

// MaxCritPathBars is the most bars a critical-path breakdown draws; the
// rest are drawn as one bar named "other (N …)".
const MaxCritPathBars = 25

// CritPathWidth is the width of a critical-path breakdown chart; its
// height grows with the bars.
const CritPathWidth = 10 * vg.Inch

// CritPathBar is one bar of a critical-path breakdown: a service or an
// operation and, per endpoint, its exclusive time on the critical path in
// ms per trace over all traces.
type CritPathBar struct {
	Name  string
	PerEP []float64 // by index in the endpoints of CritPathBars
	Total float64
}

// CritPathBars groups cp's per-endpoint critical paths by service or by
// operation (by is ByService or ByOperation). Each endpoint's entry is
// weighted by its share of the traces, so a bar's Total is the mean time
// per trace, over all of cp's traces, that the group spends on the
// critical path, and the Totals add up to the mean latency. Bars are
// sorted by Total, largest first (ties by name); beyond MaxCritPathBars
// the rest are summed into one last bar. It returns the endpoints in cp's
// order and the number of traces. This is regrouping of analysis's
// averages, not statistics: sums weighted by trace counts.
func CritPathBars(cp *analysis.CriticalPaths, by string) (bars []CritPathBar, endpoints []string, traces int, err error) {
	if by != ByService && by != ByOperation {
		return nil, nil, 0, fmt.Errorf("plot: critical path by %q: want %s or %s", by, ByService, ByOperation)
	}
	if cp == nil {
		return nil, nil, 0, errors.New("plot: no critical paths")
	}
	for _, e := range cp.Endpoints {
		if e.Traces > 0 && len(e.CriticalPath) > 0 {
			traces += e.Traces
			endpoints = append(endpoints, e.Endpoint)
		}
	}
	if traces == 0 {
		return nil, nil, 0, errors.New("plot: no trace with a timed critical path")
	}
	idx := map[string]int{}
	ei := 0
	for _, e := range cp.Endpoints {
		if e.Traces == 0 || len(e.CriticalPath) == 0 {
			continue
		}
		w := float64(e.Traces) / float64(traces)
		for _, pe := range e.CriticalPath {
			if bad(pe.MsPerTrace) || pe.MsPerTrace < 0 {
				return nil, nil, 0, fmt.Errorf("plot: endpoint %s, %s: %v ms per trace: want a finite time ≥ 0", e.Endpoint, pe.Operation, pe.MsPerTrace)
			}
			key := pe.Operation
			if by == ByService {
				key, _, _ = strings.Cut(pe.Operation, "/")
			}
			i, ok := idx[key]
			if !ok {
				i = len(bars)
				idx[key] = i
				bars = append(bars, CritPathBar{Name: key, PerEP: make([]float64, len(endpoints))})
			}
			bars[i].PerEP[ei] += w * pe.MsPerTrace
			bars[i].Total += w * pe.MsPerTrace
		}
		ei++
	}
	slices.SortFunc(bars, func(x, y CritPathBar) int {
		return cmp.Or(cmp.Compare(y.Total, x.Total), strings.Compare(x.Name, y.Name))
	})
	if len(bars) > MaxCritPathBars {
		rest := bars[MaxCritPathBars-1:]
		other := CritPathBar{Name: fmt.Sprintf("other (%d %ss)", len(rest), by), PerEP: make([]float64, len(endpoints))}
		for _, b := range rest {
			for k, v := range b.PerEP {
				other.PerEP[k] += v
			}
			other.Total += b.Total
		}
		bars = append(bars[:MaxCritPathBars-1:MaxCritPathBars-1], other)
	}
	return bars, endpoints, traces, nil
}

// CritPathHeight is the height of a breakdown chart of n bars.
func CritPathHeight(n int) vg.Length {
	return max(3*vg.Inch, 1.8*vg.Inch+vg.Length(n)*0.32*vg.Inch)
}

// CritPath writes to w, in format ("png" or "svg"), the critical-path
// breakdown of cp (see analysis.AnalyzeCriticalPaths) by service or by
// operation: one horizontal bar per group, longest on top, its length
// the mean exclusive time per trace the group spends on the critical
// path, stacked by endpoint (the legend), labelled with the time and its
// share of the whole path. See CritPathBars for the grouping.
func CritPath(w io.Writer, format, title string, cp *analysis.CriticalPaths, by string) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	bars, eps, traces, err := CritPathBars(cp, by)
	if err != nil {
		return err
	}
	n := len(bars)
	var sum, longest float64
	names := make([]string, n)
	for i, b := range bars {
		sum += b.Total
		longest = math.Max(longest, b.Total)
		names[n-1-i] = truncateRunes(b.Name, 60) // longest on top
	}
	p := newPlot(title)
	p.X.Label.Text = fmt.Sprintf("time on the critical path (ms per trace, mean over %s)", pluralize(traces, "trace"))
	p.X.Tick.Marker = niceTicks{}
	p.NominalY(names...)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Add(gridX{})
	barW := 0.22 * vg.Inch
	var below *plotter.BarChart
	for k, ep := range eps {
		vals := make(plotter.Values, n)
		for i, b := range bars {
			vals[n-1-i] = b.PerEP[k]
		}
		bc, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return fmt.Errorf("plot: critical path bars of %s: %w", ep, err)
		}
		bc.Horizontal = true
		bc.Color = plotutil.Color(k)
		bc.LineStyle.Width = 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(ep, bc)
	}
	lab := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
	for i, b := range bars {
		share := 0.0
		if sum > 0 {
			share = 100 * b.Total / sum
		}
		lab.XYs[n-1-i] = plotter.XY{X: b.Total, Y: float64(n - 1 - i)}
		lab.Labels[n-1-i] = fmt.Sprintf("%s ms (%.0f%%)", strconv.FormatFloat(roundSig(b.Total, 3), 'f', -1, 64), share)
	}
	labels, err := plotter.NewLabels(lab)
	if err != nil {
		return fmt.Errorf("plot: critical path labels: %w", err)
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(9)
		labels.TextStyle[i].YAlign = -0.5
	}
	labels.Offset = vg.Point{X: vg.Points(4)}
	p.Add(labels)
	p.X.Min, p.X.Max = 0, math.Max(longest*1.3, 1e-3) // room for the labels
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return writeSized(w, format, p, CritPathWidth, CritPathHeight(n))
}

// roundSig rounds x to sig significant digits, for labels.
func roundSig(x float64, sig int) float64 {
	if x == 0 || bad(x) {
		return x
	}
	p := math.Pow(10, float64(sig)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// pluralize formats "1 trace", "2 traces".
func pluralize(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
