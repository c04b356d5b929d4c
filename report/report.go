// Package report writes tracesim's self-contained HTML reports: one file
// that opens in any browser without a network, holding everything inline
// (CSS and SVG charts; no scripts, fonts or images from anywhere else).
//
// A what-if report (WhatIf) has a section per scenario: what the scenario
// changes, in words; the per-endpoint comparison of baseline and
// prediction with 95% intervals and significance; latency CDFs and a
// latency-versus-load chart drawn by package plot; and the request flow
// graph drawn by Graphviz, with the parts the scenario changes
// highlighted. A disaster-recovery report (DRPage, or DRSection inside
// another page) ranks services by blast radius.
//
// Like plot, the package computes no statistics: it lays out results that
// analysis computed. All text is escaped by html/template; the SVG it
// inlines comes from package plot and from Graphviz, which escape their
// text, and is checked to hold no script. The same inputs give the same
// bytes.
package report

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/plot"
	"github.com/tracesim/tracesim/scenarios"
)

//go:embed report.html.tmpl
var templates embed.FS

// WhatIf is a what-if report: one or more scenarios.
type WhatIf struct {
	Title     string
	Scenarios []Scenario
}

// Scenario is one scenario's results, as computed by the caller.
type Scenario struct {
	Name  string
	File  string // the scenario file
	Model string // the model file it names
	// Workload says in words what traffic ran ("model entry rates for
	// 60s, 10 paired replications, seed 1").
	Workload   string
	Changes    []scenarios.Change
	Comparison *analysis.Comparison
	// CDFs are latency distributions to draw, one chart each (typically
	// one per endpoint, baseline and predicted).
	CDFs []CDF
	// Load is the latency-versus-load chart; nil for none (LoadNote then
	// says why).
	Load     *Load
	LoadNote string
	// Flows are the request flow graphs to draw (one cluster per
	// endpoint), with the parts the changes touch highlighted; FlowNote
	// says where they come from.
	Flows    []*analysis.Flow
	FlowNote string
}

// CDF is one latency-distribution chart.
type CDF struct {
	Title  string
	Series []plot.Series
}

// Load is a latency-versus-load chart and what ran to make it.
type Load struct {
	Title  string
	Curves []plot.Curve
	Note   string // what the sweep ran, in words
}

// Options change how a report is made.
type Options struct {
	// RenderDOT turns a Graphviz DOT document into SVG; nil runs
	// Graphviz's dot (analysis.RenderSVG). When it returns
	// analysis.ErrNoGraphviz the report says so in place of the graph.
	RenderDOT func(ctx context.Context, dot []byte) ([]byte, error)
}

// view is what the template reads.
type view struct {
	Title     string
	Scenarios []scenarioView
	DR        []drView
}

type scenarioView struct {
	ID                 string
	Name, File, Model  string
	Workload           string
	Seed               uint64
	Replications       int
	Changes            []string
	Rows               []rowView
	CDFs               []template.HTML
	Load               template.HTML
	LoadNote, FlowNote string
	Flow               template.HTML
	FlowMissing        string
}

type rowView struct {
	Endpoint string
	Span     int // rows the endpoint cell spans; 0: no cell
	Run      string
	Class    string
	Cells    []cellView
}

type cellView struct {
	Value, Class string
	Sub          []string // smaller lines under the value
}

// WriteWhatIf writes r to w as one self-contained HTML document.
func WriteWhatIf(ctx context.Context, w io.Writer, r *WhatIf, opt Options) error {
	if r == nil || len(r.Scenarios) == 0 {
		return errors.New("report: no scenarios")
	}
	render := opt.RenderDOT
	if render == nil {
		render = analysis.RenderSVG
	}
	v := view{Title: r.Title}
	for i, s := range r.Scenarios {
		sv, err := scenarioOf(ctx, i, &s, render)
		if err != nil {
			return fmt.Errorf("report: scenario %s: %w", s.Name, err)
		}
		v.Scenarios = append(v.Scenarios, sv)
	}
	return execute(w, "whatif", v)
}

func execute(w io.Writer, name string, v any) error {
	t, err := template.ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return fmt.Errorf("report: template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: writing: %w", err)
	}
	return nil
}

func scenarioOf(ctx context.Context, i int, s *Scenario, render func(context.Context, []byte) ([]byte, error)) (scenarioView, error) {
	sv := scenarioView{ID: fmt.Sprintf("scenario-%d", i+1), Name: s.Name, File: s.File, Model: s.Model,
		Workload: s.Workload, LoadNote: s.LoadNote, FlowNote: s.FlowNote}
	for _, c := range s.Changes {
		sv.Changes = append(sv.Changes, Describe(c))
	}
	if c := s.Comparison; c != nil {
		sv.Seed, sv.Replications = c.Seed, c.Replications
		sv.Rows = comparisonRows(c)
	}
	for _, c := range s.CDFs {
		var buf bytes.Buffer
		if err := plot.CDF(&buf, "svg", c.Title, c.Series, false); err != nil {
			return sv, fmt.Errorf("CDF %q: %w", c.Title, err)
		}
		h, err := inlineSVG(buf.Bytes())
		if err != nil {
			return sv, fmt.Errorf("CDF %q: %w", c.Title, err)
		}
		sv.CDFs = append(sv.CDFs, h)
	}
	if s.Load != nil {
		var buf bytes.Buffer
		if err := plot.Load(&buf, "svg", s.Load.Title, s.Load.Curves); err != nil {
			return sv, fmt.Errorf("load chart: %w", err)
		}
		h, err := inlineSVG(buf.Bytes())
		if err != nil {
			return sv, fmt.Errorf("load chart: %w", err)
		}
		sv.Load = h
		sv.LoadNote = s.Load.Note
	}
	if len(s.Flows) > 0 {
		svg, err := render(ctx, FlowDOT(s.Flows, MarksOf(s.Changes)))
		switch {
		case errors.Is(err, analysis.ErrNoGraphviz):
			sv.FlowMissing = "The request flow graph is not drawn: Graphviz's dot is not installed (apt-get install graphviz, brew install graphviz)."
		case err != nil:
			sv.FlowMissing = "The request flow graph is not drawn: " + err.Error()
		default:
			h, err := inlineSVG(svg)
			if err != nil {
				return sv, fmt.Errorf("flow graph: %w", err)
			}
			sv.Flow = h
		}
	}
	return sv, nil
}

var unsafeSVG = regexp.MustCompile(`(?i)<\s*(script|foreignobject|iframe|object|embed)|\son[a-z]+\s*=|javascript:|(href|src)\s*=\s*["']\s*(https?:|//)`)

// inlineSVG returns the <svg> element of an SVG document, without the
// XML declaration, doctype or comments before it, for inlining in HTML.
// It refuses SVG with scripts, event handlers or external references.
func inlineSVG(doc []byte) (template.HTML, error) {
	start := bytes.Index(doc, []byte("<svg"))
	end := bytes.LastIndex(doc, []byte("</svg>"))
	if start < 0 || end < start {
		return "", errors.New("not an SVG document")
	}
	svg := doc[start : end+len("</svg>")]
	if m := unsafeSVG.Find(svg); m != nil {
		return "", fmt.Errorf("SVG holds %q: refusing to inline it", m)
	}
	// Trusted: produced by gonum/plot or Graphviz, which escape their
	// text, and checked above.
	return template.HTML(svg), nil
}

// comparisonRows lays out each endpoint as three rows: baseline,
// predicted, and the change.
func comparisonRows(c *analysis.Comparison) []rowView {
	var rows []rowView
	for _, e := range c.Endpoints {
		for k, side := range []*analysis.Side{&e.Baseline, &e.Predicted} {
			r := rowView{Run: "baseline", Class: "base"}
			if k == 1 {
				r.Run, r.Class = "predicted", "pred"
			} else {
				r.Endpoint, r.Span = e.Endpoint, 3
			}
			l := side.Latency
			var ci analysis.SimCI
			hasCI := side.CI95 != nil
			if hasCI {
				ci = *side.CI95
			}
			lat := func(v float64, iv analysis.Interval) cellView {
				cv := cellView{Value: ms(v)}
				if hasCI {
					cv.Sub = []string{fmt.Sprintf("[%s, %s]", ms(iv[0]), ms(iv[1]))}
				}
				return cv
			}
			r.Cells = []cellView{
				{Value: fmt.Sprint(side.Requests)},
				{Value: percent(side.ErrorRate)},
				lat(l.Mean, ci.Mean), lat(l.P50, ci.P50), lat(l.P90, ci.P90), lat(l.P99, ci.P99),
				{Value: ms(l.P999), Sub: []string{"no interval"}},
			}
			rows = append(rows, r)
		}
		delta := func(pct, dms float64, key string, sig bool) cellView {
			cv := cellView{Value: signed(pct, 1) + "%", Class: "ns"}
			cv.Sub = []string{"Δ " + signed(dms, 3) + " ms"}
			if iv, ok := e.DeltaCI95[key]; ok {
				cv.Sub = append(cv.Sub, fmt.Sprintf("[%s, %s]", signed(iv[0], 3), signed(iv[1], 3)))
			}
			switch {
			case sig && dms < 0:
				cv.Class = "better"
			case sig && dms > 0:
				cv.Class = "worse"
			}
			if !sig {
				cv.Sub = append(cv.Sub, "n.s.")
			}
			return cv
		}
		// p90's significance is read from its paired interval the way
		// Compare decides the others: it excludes 0.
		p90 := e.DeltaCI95["p90"]
		p90sig := e.DeltaMS.P90 != 0 && (p90[0] > 0 || p90[1] < 0)
		errCell := cellView{Value: signed(100*e.ErrorRateDelta, 2) + " pp", Class: "ns"}
		switch {
		case e.Significant.ErrorRate && e.ErrorRateDelta > 0:
			errCell.Class = "worse"
		case e.Significant.ErrorRate && e.ErrorRateDelta < 0:
			errCell.Class = "better"
		default:
			errCell.Sub = []string{"n.s."}
		}
		p999 := cellView{Value: "—", Sub: []string{"no interval"}, Class: "ns"}
		if b := e.Baseline.Latency.P999; b > 0 {
			p999.Value = signed(100*(e.Predicted.Latency.P999-b)/b, 1) + "%"
		}
		rows = append(rows, rowView{Run: "change", Class: "delta", Cells: []cellView{
			{Value: "", Class: "ns"},
			errCell,
			delta(e.DeltaPct.Mean, e.DeltaMS.Mean, "mean", e.Significant.Mean),
			delta(e.DeltaPct.P50, e.DeltaMS.P50, "p50", e.Significant.P50),
			delta(e.DeltaPct.P90, e.DeltaMS.P90, "p90", p90sig),
			delta(e.DeltaPct.P99, e.DeltaMS.P99, "p99", e.Significant.P99),
			p999,
		}})
	}
	return rows
}

func ms(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.3f", v)
}

func percent(x float64) string { return fmt.Sprintf("%.2f%%", 100*x) }

// signed formats x with an explicit sign and a true minus sign.
func signed(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := fmt.Sprintf("%+.*f", prec, x)
	if strings.Trim(s, "+-0.") == "" {
		return strings.TrimLeft(s, "+-") // ±0
	}
	return strings.Replace(s, "-", "−", 1)
}
