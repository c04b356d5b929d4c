package plot

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmdutil"
	chart "github.com/tracesim/tracesim/plot"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// GanttOptions are `plot gantt`'s flags and arguments.
type GanttOptions struct {
	IO     *cmdutil.IO
	Inputs []string
	Format string // input format; "": detect
	Trace  string // hex id, "first" or "slowest" ("": slowest)
	Out    string
}

// CritPathOptions are `plot critpath`'s flags and arguments.
type CritPathOptions struct {
	IO       *cmdutil.IO
	Inputs   []string
	Format   string // input format; "": detect
	By       string // chart.ByService or chart.ByOperation
	Endpoint string // only traces of this endpoint; "": all
	Out      string
}

// outAlias lets --out stand for --output.
func outAlias(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	if name == "out" {
		name = "output"
	}
	return pflag.NormalizedName(name)
}

func newGanttCmd(io *cmdutil.IO) *cobra.Command {
	opts := &GanttOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "gantt TRACES... [--trace ID] -o gantt.svg",
		Short: "Gantt chart of one trace, its critical path highlighted",
		Long: `Gantt reads trace files (as inspect does), picks one trace and draws every
span as a bar on a time axis in ms, one row per span (depth first), labelled
with its service/operation. Spans on the trace's critical path (the chain
that, if any of it were shorter, would make the request shorter) are drawn
in vermillion, the others in blue; errors are outlined in red, asynchronous
spans are translucent.`,
		Example: `  tracesim plot gantt examples/traces/shop-zipkin.json -o gantt.svg
  tracesim plot gantt traces.json --trace 4bf92f3577b34da6 --out gantt.png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return RunGantt(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.SetNormalizeFunc(outAlias)
	f.StringVarP(&opts.Out, "output", "o", "", "chart file, .png or .svg (also --out)")
	f.StringVar(&opts.Trace, "trace", "slowest", `trace to draw: its id in hex, "first" or "slowest"`)
	f.StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	return cmd
}

func newCritPathCmd(io *cmdutil.IO) *cobra.Command {
	opts := &CritPathOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "critpath TRACES... [--by service|operation] -o critpath.svg",
		Short: "Where the critical path spends its time, per service or operation",
		Long: `Critpath reads trace files (as inspect does), computes each trace's critical
path and draws, per service (or per operation), the mean exclusive time per
trace it spends on the path, over all traces: horizontal bars, longest on
top, stacked by endpoint, labelled with the time and its share of the path.
The bars add up to the mean latency of the traces.`,
		Example: `  tracesim plot critpath examples/traces/shop-zipkin.json -o critpath.svg
  tracesim plot critpath traces.json --by operation --endpoint "frontend/GET /api/items" --out ops.png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return RunCritPath(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.SetNormalizeFunc(outAlias)
	f.StringVarP(&opts.Out, "output", "o", "", "chart file, .png or .svg (also --out)")
	f.StringVar(&opts.By, "by", chart.ByService, "group the critical path by service or by operation")
	f.StringVar(&opts.Endpoint, "endpoint", "", "only traces whose root is this operation (svc/op)")
	f.StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	_ = cmd.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{chart.ByService, chart.ByOperation}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// RunGantt executes `plot gantt`.
func RunGantt(ctx context.Context, opts *GanttOptions) error {
	format, err := outFormat(opts.Out)
	if err != nil {
		return err
	}
	res, err := inspect.Load(ctx, opts.IO, opts.Inputs, opts.Format, false)
	if err != nil {
		return err
	}
	t, err := selectTrace(res.Traces, opts.Trace)
	if err != nil {
		return fmt.Errorf("%s: --trace: %w", strings.Join(opts.Inputs, ", "), err)
	}
	g := analysis.BuildGantt(t)
	var onPath []string
	for _, s := range analysis.CriticalPath(t, analysis.MainRoot(t)) {
		onPath = append(onPath, t.Spans[s.Span].ID.String())
	}
	title := fmt.Sprintf("trace %s  %s: %.3f ms, %d spans (critical path highlighted)", g.TraceID, g.Endpoint, g.DurationMs, len(g.Rows))
	var buf bytes.Buffer
	if err := chart.Gantt(&buf, format, title, g, onPath); err != nil {
		return fmt.Errorf("trace %s: %w", g.TraceID, err)
	}
	return writeFile(opts.IO, opts.Out, buf.Bytes())
}

// RunCritPath executes `plot critpath`.
func RunCritPath(ctx context.Context, opts *CritPathOptions) error {
	format, err := outFormat(opts.Out)
	if err != nil {
		return err
	}
	if opts.By != chart.ByService && opts.By != chart.ByOperation {
		return fmt.Errorf("--by %q: want %s or %s", opts.By, chart.ByService, chart.ByOperation)
	}
	res, err := inspect.Load(ctx, opts.IO, opts.Inputs, opts.Format, false)
	if err != nil {
		return err
	}
	traces := res.Traces
	what := fmt.Sprintf("%d traces", len(traces))
	if opts.Endpoint != "" {
		traces = analysis.TracesOf(traces, opts.Endpoint)
		if len(traces) == 0 {
			eps := analysis.Endpoints(res.Traces)
			return fmt.Errorf("%s: --endpoint %q: no trace has this root operation%s; endpoints: %s",
				strings.Join(opts.Inputs, ", "), opts.Endpoint, topology.Suggest(opts.Endpoint, eps), strings.Join(eps, ", "))
		}
		what = fmt.Sprintf("%d traces of %s", len(traces), opts.Endpoint)
	}
	title := fmt.Sprintf("critical path by %s (%s)", opts.By, what)
	var buf bytes.Buffer
	if err := chart.CritPath(&buf, format, title, analysis.AnalyzeCriticalPaths(traces), opts.By); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(opts.Inputs, ", "), err)
	}
	return writeFile(opts.IO, opts.Out, buf.Bytes())
}

// selectTrace is analysis.SelectTrace with a hint when the id is not
// found: the trace ids that start with it, else the nearest id.
func selectTrace(traces []trace.Trace, sel string) (*trace.Trace, error) {
	t, err := analysis.SelectTrace(traces, sel)
	if err == nil || len(traces) == 0 {
		return t, err
	}
	ids := make([]string, len(traces))
	for i := range traces {
		ids[i] = traces[i].ID.String()
	}
	return nil, fmt.Errorf("%w%s", err, nearestID(strings.ToLower(sel), ids))
}

// nearestID suggests ids for a selector that matched none: those it is a
// prefix of, else the closest by edit distance, else the one sharing the
// longest prefix with it.
func nearestID(sel string, ids []string) string {
	var prefixed []string
	for _, id := range ids {
		if strings.HasPrefix(id, sel) {
			prefixed = append(prefixed, id)
		}
	}
	switch {
	case len(prefixed) == 1:
		return fmt.Sprintf(" (did you mean %q?)", prefixed[0])
	case len(prefixed) > 1:
		return fmt.Sprintf(" (%d trace ids start with %q, e.g. %q; give more digits)", len(prefixed), sel, prefixed[0])
	}
	if s := topology.Suggest(sel, ids); s != "" {
		return s
	}
	best, bestN := "", 0
	for _, id := range ids {
		n := 0
		for n < len(id) && n < len(sel) && id[n] == sel[n] {
			n++
		}
		if n > bestN {
			best, bestN = id, n
		}
	}
	if best == "" {
		best = ids[0]
		return fmt.Sprintf(` (no id is close; ids look like %q, or use "first" or "slowest")`, best)
	}
	return fmt.Sprintf(" (nearest: %q)", best)
}
