// Package analyze implements `tracesim analyze`: load traces, assemble
// them and show where requests spend their time: the critical path per
// endpoint, service dependencies, the request flow graph, the calling
// context tree and the Gantt chart of one trace.
package analyze

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// Views are the values of --view.
var Views = []string{"critical-path", "flow", "cct", "gantt", "deps", "all"}

// Options are analyze's flags and arguments.
type Options struct {
	IO     *cmdutil.IO
	Inputs []string
	Format string
	JSON   bool
	Strict bool
	// View selects what to show; "" shows the critical path and the
	// dependencies.
	View     string
	Endpoint string // only traces whose root is this operation
	Trace    string // trace for the Gantt chart and a single critical path: hex id, "first" or "slowest"
	Output   string // write here instead of stdout
	SVG      bool   // flow and gantt: render SVG
	// Collapsed prints the calling context tree as collapsed stacks for
	// flame graph tools.
	Collapsed bool
	Width     int // Gantt width: bar characters (text) or axis pixels (SVG); 0 for the default
}

// NewCmd returns the analyze command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "analyze FILES...",
		Short: "Critical path, flow graph, calling context tree, Gantt chart and dependencies of traces",
		Long: `Analyze reads trace files like inspect does and shows where requests spend
their time.

Views (--view):
  critical-path  per endpoint, the exclusive time each operation spends on the
                 critical path (CRISP), per trace and as a share of latency
  deps           service-to-service calls with counts, errors and latency,
                 uninstrumented peers included
  flow           request flow graph per endpoint as Graphviz DOT (SVG with --svg
                 or an -o name ending in .svg; needs Graphviz's dot)
  cct            calling context tree; --collapsed prints collapsed stacks for
                 flamegraph.pl or speedscope (values: exclusive microseconds)
  gantt          Gantt chart of one trace (--trace ID|first|slowest), text or SVG
  all            everything
Without --view, the critical path and the dependencies are shown. --json
prints the critical-path document plus the fields of the chosen view.`,
		Example: `  tracesim analyze examples/traces/
  tracesim analyze --json traces.json
  tracesim analyze --view flow -o flow.dot --svg traces.json
  tracesim analyze --view cct --collapsed traces.json > stacks.txt && flamegraph.pl stacks.txt > flame.svg
  tracesim analyze --view gantt --trace slowest -o gantt.svg traces.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of tables")
	f.BoolVar(&opts.Strict, "strict", false, "fail on partially readable inputs instead of reporting what was skipped")
	f.StringVar(&opts.View, "view", "", "what to show: "+strings.Join(Views, ", ")+" (default: critical path and dependencies)")
	f.StringVar(&opts.Endpoint, "endpoint", "", "analyse only traces whose root operation is `SERVICE/OPERATION`")
	f.StringVar(&opts.Trace, "trace", "", "trace for the Gantt chart and a single critical path: hex `ID`, first or slowest (default slowest)")
	f.StringVarP(&opts.Output, "output", "o", "", "write to `FILE` instead of stdout (flow: the DOT file; a .svg name also writes the DOT next to it)")
	f.BoolVar(&opts.SVG, "svg", false, "flow, gantt: write SVG (flow needs Graphviz's dot on PATH)")
	f.BoolVar(&opts.Collapsed, "collapsed", false, "cct: print collapsed stacks for flame graphs")
	f.IntVar(&opts.Width, "width", 0, "gantt: bar width in characters (text, default 60) or time axis in pixels (SVG, default 900)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(load.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("view", cobra.FixedCompletions(Views, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Report is the JSON document of analyze: the critical-path contract of
// DESIGN.md plus one field per other view, present when the view is shown.
type Report struct {
	*analysis.CriticalPaths
	// TraceCriticalPath is the path of the one trace chosen by --trace.
	TraceCriticalPath *TracePath             `json:"trace_critical_path,omitempty"`
	Dependencies      *[]analysis.Dependency `json:"dependencies,omitempty"`
	Flows             *[]*analysis.Flow      `json:"flows,omitempty"`
	CCT               *analysis.CCT          `json:"cct,omitempty"`
	Gantt             *analysis.Gantt        `json:"gantt,omitempty"`
}

// TracePath is one trace's critical path.
type TracePath struct {
	TraceID    string     `json:"trace_id"`
	Endpoint   string     `json:"endpoint"`
	DurationMs float64    `json:"duration_ms"`
	Steps      []PathStep `json:"steps"`
}

// PathStep is one span on a trace's critical path.
type PathStep struct {
	Operation string  `json:"operation"`
	SpanID    string  `json:"span_id"`
	SelfMs    float64 `json:"self_ms"` // exclusive time on the path
}

func (o *Options) shows(view string) bool {
	switch o.View {
	case "all":
		return true
	case "":
		return view == "critical-path" || view == "deps"
	}
	return o.View == view
}

func (o *Options) check() error {
	valid := o.View == ""
	for _, v := range Views {
		valid = valid || o.View == v
	}
	if !valid {
		return fmt.Errorf("unknown --view %q: want one of %s", o.View, strings.Join(Views, ", "))
	}
	if o.Collapsed && o.View != "cct" {
		return errors.New("--collapsed applies to --view cct")
	}
	if o.SVG && o.View != "flow" && o.View != "gantt" {
		return errors.New("--svg applies to --view flow and --view gantt")
	}
	if o.SVG && o.JSON {
		return errors.New("--svg and --json exclude each other")
	}
	if o.Width < 0 {
		return fmt.Errorf("--width %d: want a positive number", o.Width)
	}
	return nil
}

// Run executes analyze.
func Run(ctx context.Context, opts *Options) error {
	if err := opts.check(); err != nil {
		return err
	}
	res, err := inspect.Load(ctx, opts.IO, opts.Inputs, opts.Format, opts.Strict)
	if err != nil {
		return err
	}
	traces := res.Traces
	if opts.Endpoint != "" {
		traces = analysis.TracesOf(traces, opts.Endpoint)
		if len(traces) == 0 {
			return fmt.Errorf("--endpoint %q: no trace has this root operation; endpoints: %s",
				opts.Endpoint, listSome(analysis.Endpoints(res.Traces), 20))
		}
	}
	switch {
	case opts.View == "flow" && !opts.JSON:
		return writeFlow(ctx, opts, traces)
	case opts.View == "gantt" && !opts.JSON:
		return writeGantt(opts, traces)
	}
	// Where requests waited (queue inference over every trace, as model
	// does): the critical path tells waiting from work. Traces a model
	// cannot be built from have no waits to show.
	waits, _ := topology.Waits(ctx, res, topology.BuildOptions{})
	rep, err := build(opts, traces, waits)
	if err != nil {
		return err
	}
	return withOutput(opts, func(w io.Writer) error {
		if opts.JSON {
			return writeReportJSON(w, rep)
		}
		return printReport(w, opts, rep)
	})
}

func build(opts *Options, traces []trace.Trace, waits map[trace.SpanRef]int64) (*Report, error) {
	rep := &Report{CriticalPaths: analysis.AnalyzeCriticalPathsWaits(traces, waits)}
	if opts.shows("critical-path") && opts.Trace != "" {
		t, err := analysis.SelectTrace(traces, opts.Trace)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		rep.TraceCriticalPath = tracePath(t)
	}
	if opts.shows("deps") {
		d := analysis.Dependencies(traces)
		rep.Dependencies = &d
	}
	if opts.shows("flow") {
		f := analysis.BuildFlows(traces)
		rep.Flows = &f
	}
	if opts.shows("cct") {
		rep.CCT = analysis.BuildCCT(traces)
	}
	if opts.shows("gantt") && len(traces) > 0 {
		t, err := analysis.SelectTrace(traces, opts.Trace)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		rep.Gantt = analysis.BuildGantt(t)
	}
	return rep, nil
}

func tracePath(t *trace.Trace) *TracePath {
	root := analysis.MainRoot(t)
	tp := &TracePath{TraceID: t.ID.String(), Endpoint: analysis.EndpointOf(t), Steps: []PathStep{}}
	if root >= 0 {
		tp.DurationMs = ms(t.Spans[root].Duration)
	}
	for _, s := range analysis.CriticalPath(t, root) {
		tp.Steps = append(tp.Steps, PathStep{Operation: s.Operation, SpanID: t.Spans[s.Span].ID.String(), SelfMs: ms(s.Self)})
	}
	return tp
}

// ms converts to milliseconds rounded to the nanosecond, as every JSON
// latency is.
func ms(ns int64) float64 { return math.Round(float64(ns)) / 1e6 }

// withOutput runs write on -o's file, or on stdout.
func withOutput(opts *Options, write func(io.Writer) error) error {
	if opts.Output == "" {
		return write(opts.IO.Out)
	}
	if err := writeFile(opts.Output, write); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Output)
	return nil
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing %s: %w", path, cerr)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeFlow writes the flow graph: DOT on stdout or to -o; SVG as well
// with --svg or a .svg output name. The DOT file is written before
// rendering, so that it is there even when Graphviz is not.
func writeFlow(ctx context.Context, opts *Options, traces []trace.Trace) error {
	src, err := analysis.FlowDOT(analysis.BuildFlows(traces))
	if err != nil {
		return err
	}
	if opts.Output == "" {
		if !opts.SVG {
			_, err := opts.IO.Out.Write(src)
			return err
		}
		svg, err := analysis.RenderSVG(ctx, src)
		if err != nil {
			return fmt.Errorf("flow graph: %w (run without --svg for DOT)", err)
		}
		_, err = opts.IO.Out.Write(svg)
		return err
	}
	dotPath, svgPath := opts.Output, ""
	switch {
	case strings.EqualFold(filepath.Ext(opts.Output), ".svg"):
		svgPath = opts.Output
		dotPath = strings.TrimSuffix(opts.Output, filepath.Ext(opts.Output)) + ".dot"
	case opts.SVG:
		svgPath = strings.TrimSuffix(opts.Output, filepath.Ext(opts.Output)) + ".svg"
	}
	if err := writeFile(dotPath, func(w io.Writer) error { _, err := w.Write(src); return err }); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", dotPath)
	if svgPath == "" {
		return nil
	}
	svg, err := analysis.RenderSVG(ctx, src)
	if err != nil {
		return fmt.Errorf("flow graph: %s written, but not %s: %w", dotPath, svgPath, err)
	}
	if err := writeFile(svgPath, func(w io.Writer) error { _, err := w.Write(svg); return err }); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", svgPath)
	return nil
}

func writeGantt(opts *Options, traces []trace.Trace) error {
	t, err := analysis.SelectTrace(traces, opts.Trace)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	g := analysis.BuildGantt(t)
	svg := opts.SVG || strings.EqualFold(filepath.Ext(opts.Output), ".svg")
	return withOutput(opts, func(w io.Writer) error {
		if svg {
			return g.WriteSVG(w, analysis.GanttSVGOptions{Width: opts.Width})
		}
		return g.WriteText(w, ganttWidth(opts))
	})
}

func ganttWidth(opts *Options) int {
	if opts.Width > 0 {
		return opts.Width
	}
	return 60
}

func printReport(w io.Writer, opts *Options, rep *Report) error {
	// Sections after the first are separated by a blank line; a single
	// view (collapsed stacks in particular) starts on the first line.
	first := true
	sep := func() {
		if !first {
			fmt.Fprintln(w)
		}
		first = false
	}
	if opts.shows("critical-path") {
		sep()
		if err := printCriticalPaths(w, rep); err != nil {
			return err
		}
	}
	if rep.Dependencies != nil {
		sep()
		if err := printDeps(w, *rep.Dependencies); err != nil {
			return err
		}
	}
	if rep.CCT != nil {
		sep()
		var err error
		if opts.Collapsed {
			err = rep.CCT.WriteCollapsed(w)
		} else {
			err = rep.CCT.WriteText(w)
		}
		if err != nil {
			return err
		}
	}
	if rep.Gantt != nil {
		sep()
		if err := rep.Gantt.WriteText(w, ganttWidth(opts)); err != nil {
			return err
		}
	}
	if rep.Flows != nil && len(*rep.Flows) > 0 {
		src, err := analysis.FlowDOT(*rep.Flows)
		if err != nil {
			return err
		}
		sep()
		fmt.Fprintf(w, "request flow graph (Graphviz DOT; --view flow -o flow.svg renders it):\n")
		if _, err := w.Write(src); err != nil {
			return err
		}
	}
	return nil
}

func printCriticalPaths(w io.Writer, rep *Report) error {
	cp := rep.CriticalPaths
	fmt.Fprintf(w, "%d traces", cp.Traces)
	if cp.UntimedTraces > 0 {
		fmt.Fprintf(w, " (%d without a timed root, left out)", cp.UntimedTraces)
	}
	fmt.Fprintln(w)
	for _, e := range cp.Endpoints {
		l := e.Latency
		fmt.Fprintf(w, "\ncritical path of %s: %d traces, mean %.3f ms, p50 %.3f, p90 %.3f, p99 %.3f ms\n",
			e.Endpoint, e.Traces, l.Mean, l.P50, l.P90, l.P99)
		tw := cmdutil.Table(w)
		waited := slices.ContainsFunc(e.CriticalPath, func(p analysis.PathEntry) bool { return p.WaitMsPerTrace > 0 })
		if waited {
			// Waiting (for a lock, a pool, a worker) apart from work.
			fmt.Fprintln(tw, "  OPERATION\tMS/TRACE\tWORK\tWAITING\tSPANS/TRACE\tSHARE")
		} else {
			fmt.Fprintln(tw, "  OPERATION\tMS/TRACE\tSPANS/TRACE\tSHARE")
		}
		for _, p := range e.CriticalPath {
			if waited {
				fmt.Fprintf(tw, "  %s\t%.3f\t%.3f\t%.3f\t%.2f\t%.1f%%\n", p.Operation, p.MsPerTrace, p.MsPerTrace-p.WaitMsPerTrace, p.WaitMsPerTrace, p.CountPerTrace, 100*p.Share)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%.3f\t%.2f\t%.1f%%\n", p.Operation, p.MsPerTrace, p.CountPerTrace, 100*p.Share)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if tp := rep.TraceCriticalPath; tp != nil {
		fmt.Fprintf(w, "\ncritical path of trace %s (%s, %.3f ms):\n", tp.TraceID, tp.Endpoint, tp.DurationMs)
		tw := cmdutil.Table(w)
		fmt.Fprintln(tw, "  OPERATION\tSPAN\tSELF ms")
		for _, s := range tp.Steps {
			fmt.Fprintf(tw, "  %s\t%s\t%.3f\n", s.Operation, s.SpanID, s.SelfMs)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func printDeps(w io.Writer, deps []analysis.Dependency) error {
	fmt.Fprintf(w, "service dependencies (* = uninstrumented peer):\n")
	tw := cmdutil.Table(w)
	fmt.Fprintln(tw, "  FROM\tTO\tCALLS\tERR%\tMEAN ms\tP50 ms\tP99 ms")
	for _, d := range deps {
		to := d.To
		if d.Uninstrumented {
			to += " *"
		}
		l := d.Latency
		if d.Timed == 0 {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%.2f\t-\t-\t-\n", d.From, to, d.Calls, 100*d.ErrorRate)
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%.2f\t%.3f\t%.3f\t%.3f\n", d.From, to, d.Calls, 100*d.ErrorRate, l.Mean, l.P50, l.P99)
	}
	return tw.Flush()
}

// listSome joins up to n items, saying how many more there are.
func listSome(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(items[:n], ", "))
	fmt.Fprintf(&b, " and %d more", len(items)-n)
	return b.String()
}
