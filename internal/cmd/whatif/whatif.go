// Package whatif implements `tracesim whatif`: predict what the changes in
// a scenario file do to every endpoint, against the unchanged baseline,
// on common random numbers.
package whatif

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// Options are whatif's flags and arguments.
type Options struct {
	IO           *cmdutil.IO
	Scenarios    []string
	JSON         bool
	Seed         uint64 // 0: the scenario's, else 1
	Replications int    // 0: the scenario's, else 10
	Duration     time.Duration
	// Report, when set, is the HTML report to write (see report.go).
	Report string
	// configure, when set, adjusts the baseline run of a model-based
	// scenario before Simulate starts it (the report's sweep and spans).
	configure func(base *sim.Config)
}

// NewCmd returns the whatif command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "whatif SCENARIO.yaml...",
		Short: "Predict what a change does to every endpoint",
		Long: `Whatif reads scenario files (a model, a workload and a list of changes:
disable, cache, batch, parallelize, scale, speedup, latency, error, load),
simulates the model as it is and with the changes, on the same seeds and
random streams (common random numbers), and reports per endpoint the
baseline and predicted requests, error rate and latency, the change in
percent, and whether it is significant: a change whose 95% interval over
paired replications contains 0 is reported as not significant.`,
		Example: `  tracesim whatif examples/scenarios/cache.yaml
  tracesim whatif examples/scenarios/*.yaml --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenarios = args
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of tables")
	f.Uint64Var(&opts.Seed, "seed", 0, "random seed (default: the scenario's, else 1)")
	f.IntVar(&opts.Replications, "replications", 0, "paired replications (default: the scenario's, else 10)")
	f.DurationVar(&opts.Duration, "duration", 0, "simulated time per replication (default: the scenario's, else 60s)")
	f.StringVar(&opts.Report, "report", "", "also write a self-contained HTML report (tables, charts, flow graph) to this file")
	return cmd
}

// Run executes whatif.
func Run(ctx context.Context, opts *Options) error {
	if opts.Replications < 0 {
		return fmt.Errorf("--replications %d: need at least 1", opts.Replications)
	}
	if opts.Report != "" {
		return runReport(ctx, opts)
	}
	var out []*analysis.Comparison
	for _, path := range opts.Scenarios {
		c, err := runOne(ctx, opts, path)
		if err != nil {
			return err
		}
		out = append(out, c)
	}
	return emit(opts, out)
}

// emit prints the comparisons as JSON or as tables.
func emit(opts *Options, out []*analysis.Comparison) error {
	if opts.JSON {
		if len(out) == 1 {
			return cmdutil.WriteJSON(opts.IO.Out, out[0])
		}
		return cmdutil.WriteJSON(opts.IO.Out, out)
	}
	for i, c := range out {
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		if err := printTable(opts.IO, c); err != nil {
			return err
		}
	}
	return nil
}

func runOne(ctx context.Context, opts *Options, path string) (*analysis.Comparison, error) {
	r, err := Simulate(ctx, opts, path)
	if err != nil {
		return nil, err
	}
	return analysis.Compare(r.Name, r.Seed, r.Baseline, r.Predicted), nil
}

// Runs are a scenario's simulated replications: Baseline of the model as
// it is, Predicted of the model with the changes, paired on common random
// numbers (replication i of each uses the same seed).
type Runs struct {
	Name      string // the scenario's name, else its path
	Seed      uint64
	Baseline  []*sim.Result
	Predicted []*sim.Result
}

// Simulate runs the scenario file at path, unchanged and changed, with
// the seed, replications and duration of opts where they are set (else
// the scenario's). Only opts.IO, Seed, Replications and Duration are read.
func Simulate(ctx context.Context, opts *Options, path string) (*Runs, error) {
	s, err := scenarios.Load(path)
	if err != nil {
		return nil, err
	}
	if len(s.Traces) > 0 {
		return simulateReplay(ctx, opts, path, s)
	}
	m, err := topology.ReadFile(s.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	base := sim.Config{Model: m, Seed: 1, Duration: time.Minute}
	k := 10
	if s.Seed != 0 {
		base.Seed = s.Seed
	}
	if s.Replications > 0 {
		k = s.Replications
	}
	if w := s.Workload; w != nil {
		base.Workload = sim.Workload{Rate: w.Rate, Users: w.Users, Think: w.Think}
		if w.Duration > 0 {
			base.Duration = w.Duration
		}
		if w.Requests > 0 {
			base.Duration, base.Requests = 0, w.Requests
		}
		base.Warmup = w.Warmup
	}
	if opts.Seed != 0 {
		base.Seed = opts.Seed
	}
	if opts.Replications > 0 {
		k = opts.Replications
	}
	if opts.Duration > 0 {
		base.Duration, base.Requests = opts.Duration, 0
	}
	if base.Warmup == 0 && base.Duration > 0 {
		base.Warmup = base.Duration / 10
	}
	if opts.configure != nil {
		opts.configure(&base)
	}
	runs, err := scenarios.Simulate(ctx, base, k, s.Changes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, w := range runs.Warnings {
		opts.IO.Warnf("%s: with the changes: %s", path, w)
	}
	name := s.Name
	if name == "" {
		name = path
	}
	return &Runs{Name: name, Seed: base.Seed, Baseline: runs.Baseline, Predicted: runs.Predicted}, nil
}

func printTable(io *cmdutil.IO, c *analysis.Comparison) error {
	fmt.Fprintf(io.Out, "scenario %s (%d paired replications, seed %d)\n\n", c.Scenario, c.Replications, c.Seed)
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "ENDPOINT\tERR% base → pred\tP50 ms base → pred\tΔP50\tP99 ms base → pred\tΔP99\tMEAN Δ")
	mark := func(sig bool) string {
		if sig {
			return ""
		}
		return " (n.s.)"
	}
	for _, e := range c.Endpoints {
		b, p := e.Baseline.Latency, e.Predicted.Latency
		fmt.Fprintf(tw, "%s\t%.2f → %.2f\t%.3f → %.3f\t%+.1f%%%s\t%.3f → %.3f\t%+.1f%%%s\t%+.1f%%%s\n",
			e.Endpoint, 100*e.Baseline.ErrorRate, 100*e.Predicted.ErrorRate,
			b.P50, p.P50, e.DeltaPct.P50, mark(e.Significant.P50),
			b.P99, p.P99, e.DeltaPct.P99, mark(e.Significant.P99),
			e.DeltaPct.Mean, mark(e.Significant.Mean))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "\n(n.s.) = not significant: the 95% interval of the paired change contains 0.")
	return nil
}
