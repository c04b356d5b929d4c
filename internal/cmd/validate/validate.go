// Package validate implements `tracesim validate`: predict each scenario
// from a real system's own traces, apply it to the real system, measure,
// and report the error.
package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/validate"
)

// Options are validate's flags and arguments.
type Options struct {
	IO           *cmdutil.IO
	Topology     string
	Scenarios    []string
	Suite        string
	Rate         string
	Users        int
	Think        time.Duration
	Duration     time.Duration
	Warmup       time.Duration
	Seed         uint64
	Replications int
	Capacity     string
	Workers      map[string]int
	Pools        map[string]int
	BaselineFor  time.Duration
	Repeat       bool
	TracesOut    string
	Markdown     string
	JSON         bool
}

// NewCmd returns the validate command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "validate TOPOLOGY.yaml SCENARIO.yaml... | --suite SUITE.yaml",
		Short: "Check predictions against a real system changed for real",
		Long: `Validate runs the testbed (real HTTP services on 127.0.0.1, traced with the
OpenTelemetry SDK) built from TOPOLOGY.yaml under a workload, and records its
traces. It builds a model from those traces alone — the topology file is never
shown to the predictor — and predicts each scenario with it. Then it applies
each scenario to the real system, measures, and reports per endpoint predicted
against measured mean, p50, p90 and p99, the error in percent, and whether the
measured value lies inside the 95% prediction interval (the spread a run as
long as the measured one would have). The goal is |error| ≤ 5% at p50 and
≤ 10% at p99.

Only the scenario files' changes are used; the workload comes from the flags
(or the suite file). With --suite, every run of the suite is validated and
--markdown writes the results table.`,
		Example: `  tracesim validate validation/topologies/chain.yaml validation/scenarios/chain/speedup.yaml --users 8 --duration 10s
  tracesim validate --suite validation/suite.yaml --markdown docs/validation-table.md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Topology, opts.Scenarios = args[0], args[1:]
			}
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Suite, "suite", "", "run a validation suite file instead of one topology")
	f.StringVar(&opts.Rate, "rate", "", "open loop: total Poisson arrival rate, like 120/s")
	f.IntVar(&opts.Users, "users", 0, "closed loop: number of users")
	f.DurationVar(&opts.Think, "think", 0, "closed loop: mean think time between a user's requests")
	f.DurationVar(&opts.Duration, "duration", 20*time.Second, "measured period of each real run")
	f.DurationVar(&opts.Warmup, "warmup", 2*time.Second, "warm-up before each measured period")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed of the testbed and the simulator")
	f.IntVar(&opts.Replications, "replications", 10, "replications of each prediction")
	f.StringVar(&opts.Capacity, "capacity", "infer", `how the model built from the traces gets its limits: "infer" (where requests waited) or "none"`)
	f.StringToIntVar(&opts.Workers, "workers", nil, "state workers per instance of a service for the model, as service=N (repeatable)")
	f.StringToIntVar(&opts.Pools, "pool", nil, "state a pool of a caller in front of a service for the model, as caller:callee=N (repeatable)")
	f.DurationVar(&opts.BaselineFor, "baseline-duration", 0, "measured period of the traced baseline the model is built from (default: --duration)")
	f.BoolVar(&opts.Repeat, "repeat-baseline", false, "run the baseline twice and report the run-to-run noise")
	f.StringVar(&opts.TracesOut, "traces-out", "", "write the baseline's OTLP traces here (one topology only)")
	f.StringVar(&opts.Markdown, "markdown", "", "write the results as a Markdown table to this file")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of tables")
	return cmd
}

// Run executes validate.
func Run(ctx context.Context, opts *Options) error {
	capacity, err := topology.ParseCapacity(opts.Capacity)
	if err != nil {
		return err
	}
	base := validate.Config{Seed: opts.Seed, Replications: opts.Replications, Capacity: capacity, Workers: opts.Workers, Pools: opts.Pools,
		BaselineDuration: opts.BaselineFor, RepeatBaseline: opts.Repeat,
		Logf: func(format string, args ...any) { fmt.Fprintf(opts.IO.ErrOut, "validate: "+format+"\n", args...) }}
	var results []*validate.Result
	switch {
	case opts.Suite != "":
		if opts.Topology != "" {
			return errors.New("give --suite or a topology and scenarios, not both")
		}
		s, err := validate.LoadSuite(opts.Suite)
		if err != nil {
			return err
		}
		results, err = validate.RunSuite(ctx, s, base, func(r validate.SuiteRun, res *validate.Result) {
			if !opts.JSON {
				printResult(opts.IO, res)
			}
		})
		if err != nil {
			return err
		}
	default:
		if opts.Topology == "" || len(opts.Scenarios) == 0 {
			return errors.New("give a topology file and at least one scenario file (or --suite)")
		}
		m, err := topology.ReadFile(opts.Topology)
		if err != nil {
			return err
		}
		w, err := validate.ParseWorkload(opts.Rate, opts.Users, opts.Think, opts.Duration, opts.Warmup)
		if err != nil {
			return fmt.Errorf("workload: %w", err)
		}
		cases, err := validate.LoadCases(opts.Scenarios)
		if err != nil {
			return err
		}
		cfg := base
		cfg.Topology, cfg.TopologyPath, cfg.Workload = m, opts.Topology, w
		if opts.TracesOut != "" {
			cfg.Traces = func(data []byte) error { return os.WriteFile(opts.TracesOut, data, 0o644) }
		}
		res, err := validate.Run(ctx, cfg, cases)
		if err != nil {
			return err
		}
		results = append(results, res)
		if !opts.JSON {
			printResult(opts.IO, res)
		}
	}
	if opts.Markdown != "" {
		f, err := os.Create(opts.Markdown)
		if err != nil {
			return err
		}
		if err := validate.Markdown(f, results); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", opts.Markdown, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, results)
	}
	pass, total := validate.Summary(results)
	fmt.Fprintf(opts.IO.Out, "%d of %d case endpoints within the goal (|error| ≤ 5%% at p50, ≤ 10%% at p99)\n", pass, total)
	return nil
}

func printResult(io *cmdutil.IO, r *validate.Result) {
	name := r.Topology
	if r.Name != "" {
		name = r.Name + " (" + r.Topology + ")"
	}
	fmt.Fprintf(io.Out, "validate %s: %s\n\n", name, r.Workload)
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "CASE\tENDPOINT\tMEAN ms meas → pred\tP50 ms meas → pred\tERR P50\tP99 ms meas → pred\tERR P99\tIN PI95\tGOAL")
	for _, e := range r.SelfCheck.Endpoints {
		fmt.Fprintf(tw, "self-check (topology simulated)\t%s\t%.2f → %.2f\t%.2f → %.2f\t%+.1f%%\t%.2f → %.2f\t%+.1f%%\t%s\t-\n",
			e.Endpoint, e.Measured.Mean, e.Predicted.Mean, e.Measured.P50, e.Predicted.P50, e.ErrorPct["p50"],
			e.Measured.P99, e.Predicted.P99, e.ErrorPct["p99"], "p50 "+yes(e.Inside["p50"])+", p99 "+yes(e.Inside["p99"]))
	}
	for _, n := range r.Repeat {
		fmt.Fprintf(tw, "noise (baseline run again)\t%s\t%.2f → %.2f\t%.2f → %.2f\t%+.1f%%\t%.2f → %.2f\t%+.1f%%\t-\t-\n",
			n.Endpoint, n.First.Mean, n.Second.Mean, n.First.P50, n.Second.P50, n.P50Pct, n.First.P99, n.Second.P99, n.P99Pct)
	}
	for _, c := range append([]validate.CaseResult{r.Baseline}, r.Cases...) {
		for _, e := range c.Endpoints {
			in := "p50 " + yes(e.Inside["p50"]) + ", p99 " + yes(e.Inside["p99"])
			goal := "miss"
			switch {
			case e.Pass:
				goal = "ok"
			case e.WithinNoise && c.Name != "baseline":
				goal = "ok (within noise)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f → %.2f\t%.2f → %.2f\t%+.1f%%\t%.2f → %.2f\t%+.1f%%\t%s\t%s\n",
				c.Name, e.Endpoint, e.Measured.Mean, e.Predicted.Mean, e.Measured.P50, e.Predicted.P50, e.ErrorPct["p50"],
				e.Measured.P99, e.Predicted.P99, e.ErrorPct["p99"], in, goal)
		}
	}
	tw.Flush()
	fmt.Fprintln(io.Out)
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
