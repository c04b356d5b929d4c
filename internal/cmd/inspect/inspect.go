// Package inspect implements `tracesim inspect`: load traces, assemble
// them and print what is in them and what was wrong with them.
package inspect

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// Options are inspect's flags and arguments.
type Options struct {
	IO     *cmdutil.IO
	Inputs []string
	Format string
	JSON   bool
	Strict bool
}

// NewCmd returns the inspect command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "inspect FILES...",
		Short: "Summarise traces: services, endpoints, latency and data-quality findings",
		Long: `Inspect reads trace files (Zipkin v1/v2 JSON, Jaeger query/UI JSON, OTLP JSON or
JSON Lines; gzip or plain; directories are read recursively; "-" is stdin),
assembles them into traces and prints per-endpoint counts, error rates and
latency percentiles, and every repair or skip made to the data.`,
		Example: `  tracesim inspect examples/traces/
  tracesim inspect --json traces.json.gz
  curl -s localhost:16686/api/traces?service=frontend | tracesim inspect -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail on partially readable inputs instead of reporting what was skipped")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(load.Formats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Run executes inspect.
func Run(ctx context.Context, opts *Options) error {
	res, err := Load(ctx, opts.IO, opts.Inputs, opts.Format, opts.Strict)
	if err != nil {
		return err
	}
	sum := analysis.Summarize(res)
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, sum)
	}
	return printTable(opts.IO, sum)
}

// Load reads and assembles inputs with a progress bar on a terminal, and
// prints skipped-input warnings. Other commands that read traces use it.
func Load(ctx context.Context, io *cmdutil.IO, inputs []string, format string, strict bool) (*trace.Result, error) {
	if format != "" && !contains(load.Formats, format) {
		return nil, fmt.Errorf("unknown --format %q: want one of %s", format, strings.Join(load.Formats, ", "))
	}
	expanded, err := load.Expand(inputs)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, in := range expanded {
		total += in.Size
	}
	lopt := load.Options{Format: format, Strict: strict, Stdin: io.In}
	if bar := cmdutil.NewBar(io, total); bar != nil {
		lopt.Progress = bar
	}
	c, err := load.Load(ctx, inputs, lopt)
	if err != nil {
		return nil, err
	}
	for _, f := range c.Findings {
		if f.Reason == "unreadable rest of input" {
			io.Warnf("%s", f)
		}
	}
	return trace.Assemble(ctx, c, trace.Options{})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func printTable(io *cmdutil.IO, s *analysis.Summary) error {
	fmt.Fprintf(io.Out, "%d traces, %d spans, %d services", s.Traces, s.Spans, len(s.Services))
	if len(s.Peers) > 0 {
		fmt.Fprintf(io.Out, ", %d uninstrumented peers (%s)", len(s.Peers), strings.Join(s.Peers, ", "))
	}
	fmt.Fprintln(io.Out)
	fmt.Fprintf(io.Out, "services: %s\n\n", strings.Join(s.Services, ", "))
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "ENDPOINT\tKIND\tCOUNT\tROOTS\tERR%\tMEAN ms\tP50 ms\tP90 ms\tP99 ms\tP99.9 ms")
	for _, e := range s.Endpoints {
		l := e.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\t%s\t%s\n", e.Endpoint, e.Kind, e.Count, e.Roots,
			100*e.ErrorRate, ms(l.Mean, e.Timed), ms(l.P50, e.Timed), ms(l.P90, e.Timed), ms(l.P99, e.Timed), ms(l.P999, e.Timed))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	q := s.Quality
	fmt.Fprintf(io.Out, "\ndata quality: %d orphan, %d duplicate, %d skew-adjusted, %d merged shared, %d skipped records",
		q.OrphanSpans, q.DuplicateSpans, q.SkewAdjustedSpans, q.MergedSharedSpans, q.SkippedRecords)
	fmt.Fprintf(io.Out, ", %d merged fragments, %d duplicate ids, %d self-parent, %d cycles broken, %d async, %d without service, %d untimed\n",
		q.MergedFragments, q.DuplicateIDs, q.SelfParentSpans, q.CycleBreaks, q.AsyncSpans, q.NoServiceSpans, q.UntimedSpans)
	const show = 10
	for i, f := range q.Findings {
		if i == show {
			fmt.Fprintf(io.Out, "  ... %d more findings (see --json)\n", len(q.Findings)-show)
			break
		}
		fmt.Fprintf(io.Out, "  %s\n", f)
	}
	return nil
}

func ms(v float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}
