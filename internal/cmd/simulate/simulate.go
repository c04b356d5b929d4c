// Package simulate implements `tracesim simulate`: run a model in the
// discrete-event simulator and report latency per endpoint with
// confidence intervals.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/replay"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// Options are simulate's flags.
type Options struct {
	IO           *cmdutil.IO
	Model        string
	Rate         string // "200", "200/s", "12000/min"; "" = the model's entry rates
	Constant     bool
	Users        int
	Think        time.Duration
	Duration     time.Duration
	Requests     int
	Warmup       time.Duration
	Seed         uint64
	Replications int
	Balance      string
	JSON         bool
	Operations   bool
	// EmitTraces, when set, is a file to write synthetic traces to: the
	// first EmitMax measured requests of replication 0, in EmitFormat
	// ("zipkin", the default, or "otlp").
	// Replay, when set, replays these recorded traces instead of
	// synthesising requests; the model (optional) then only supplies
	// capacity. RateFactor speeds arrivals up (2 = twice the rate).
	// Entries, when set, are the only entry operations that receive
	// traffic, each "svc/op" or "svc/op=RATE" (RATE overrides the model's).
	Entries     []string
	Replay      []string
	RateFactor  float64
	Format      string
	durationSet bool
	EmitTraces  string
	EmitFormat  string
	EmitMax     int
}

// NewCmd returns the simulate command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "simulate -m model.yaml [--rate R | --users N] [--duration D | --requests N]",
		Short: "Run a model in the discrete-event simulator",
		Long: `Simulate runs the model in virtual time: requests arrive at the entry
operations (open loop: Poisson at the model's rates or --rate; closed loop:
--users with --think time), execute their shapes, queue for workers and
call other operations. It reports per endpoint the number of requests, the
error rate and latency mean/p50/p90/p99/p99.9 with 95% confidence intervals
from independent replications (each with its own seed).`,
		Example: `  tracesim simulate -m model.yaml
  tracesim simulate -m model.yaml --rate 200/s --duration 5m --replications 20 --json
  tracesim simulate -m model.yaml --users 50 --think 100ms --requests 100000
  tracesim simulate -m model.yaml --replay traces.json --rate-factor 2
  tracesim simulate -m model.yaml --requests 1000 --emit-traces synthetic.json --emit-format otlp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.durationSet = cmd.Flags().Changed("duration")
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Model, "model", "m", "", "model file (from `tracesim model` or hand-written)")
	f.StringVar(&opts.Rate, "rate", "", "total open-loop arrival rate, e.g. 200/s (default: the model's entry rates)")
	f.BoolVar(&opts.Constant, "constant", false, "constant inter-arrival times instead of Poisson")
	f.IntVar(&opts.Users, "users", 0, "closed loop: number of users (each waits for its response, then thinks)")
	f.DurationVar(&opts.Think, "think", 0, "closed loop: think time between a user's requests")
	f.DurationVar(&opts.Duration, "duration", time.Minute, "simulated time measured after the warm-up")
	f.IntVar(&opts.Requests, "requests", 0, "stop after this many measured requests instead of --duration")
	f.DurationVar(&opts.Warmup, "warmup", 0, "simulated time excluded from results (default: a tenth of --duration)")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed; the same inputs and seed give identical output")
	f.IntVar(&opts.Replications, "replications", 10, "independent runs, for confidence intervals")
	f.StringVar(&opts.Balance, "balance", "round-robin", "instance choice: round-robin or least-loaded")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	f.BoolVar(&opts.Operations, "operations", false, "also report every operation, not only entry endpoints")
	f.StringVar(&opts.EmitTraces, "emit-traces", "", "also write synthetic traces of replication 0's measured requests to this file")
	f.StringVar(&opts.EmitFormat, "emit-format", "zipkin", "format of --emit-traces: zipkin or otlp")
	f.IntVar(&opts.EmitMax, "emit-max", DefaultEmitMax, "write at most this many requests to --emit-traces")
	f.StringArrayVar(&opts.Entries, "entry", nil, "send traffic only to this entry operation, as svc/op or svc/op=RATE (repeatable)")
	f.StringSliceVar(&opts.Replay, "replay", nil, "replay these recorded traces (files or directories, comma-separated or repeated) instead of synthetic requests")
	f.Float64Var(&opts.RateFactor, "rate-factor", 1, "replay: arrivals this many times faster than recorded")
	f.StringVar(&opts.Format, "format", "", "replay: force the trace format (zipkin, jaeger, otlp)")
	return cmd
}

// ParseRate reads a --rate: "200", "200/s", "12000/min" or "0.2/ms", as
// requests per second, which must be positive.
func ParseRate(s string) (float64, error) {
	v, err := topology.ParseRate(s)
	if err != nil {
		return 0, err
	}
	if !(v > 0) || v > 1e9 {
		return 0, fmt.Errorf("rate %q: must be a positive number of requests per second", s)
	}
	return v, nil
}

// Config checks the options and turns them into a simulation config.
func (o *Options) Config(m *topology.Model) (sim.Config, error) {
	cfg := sim.Config{Model: m, Seed: o.Seed, Duration: o.Duration, Requests: o.Requests, Warmup: o.Warmup, Balance: o.Balance}
	if o.Replications < 1 {
		return cfg, fmt.Errorf("--replications %d: need at least 1 (2 or more for confidence intervals)", o.Replications)
	}
	if o.Requests < 0 || o.Duration < 0 || o.Warmup < 0 || o.Users < 0 || o.Think < 0 {
		return cfg, errors.New("--requests, --duration, --warmup, --users and --think cannot be negative")
	}
	if o.Requests > 0 {
		cfg.Duration = 0
	}
	if o.Warmup == 0 && cfg.Duration > 0 {
		cfg.Warmup = cfg.Duration / 10
	}
	if o.Balance != "round-robin" && o.Balance != "least-loaded" {
		return cfg, fmt.Errorf("--balance %q: want round-robin or least-loaded", o.Balance)
	}
	if o.Rate != "" && o.Users > 0 {
		return cfg, errors.New("--rate (open loop) and --users (closed loop) exclude each other")
	}
	if o.Rate != "" {
		r, err := ParseRate(o.Rate)
		if err != nil {
			return cfg, err
		}
		cfg.Workload.Rate = r
	}
	cfg.Workload.Constant = o.Constant
	cfg.Workload.Users, cfg.Workload.Think = o.Users, o.Think
	if len(o.Entries) > 0 {
		if err := o.selectEntries(m); err != nil {
			return cfg, err
		}
	}
	entries := 0
	for _, op := range m.Operations {
		if op.Entry != nil {
			entries++
		}
	}
	if entries == 0 {
		return cfg, fmt.Errorf("model %s has no entry operation (an operation with `entry: {rate: ...}`): nothing receives traffic", o.Model)
	}
	return cfg, nil
}

// Run executes simulate.
func Run(ctx context.Context, opts *Options) error {
	var cfg sim.Config
	var err error
	if len(opts.Replay) > 0 {
		cfg, err = opts.replayConfig(ctx)
	} else {
		if opts.Model == "" {
			return errors.New("give a model (-m model.yaml), or traces to replay (--replay FILES)")
		}
		var m *topology.Model
		if m, err = topology.ReadFile(opts.Model); err != nil {
			return err
		}
		cfg, err = opts.Config(m)
	}
	if err != nil {
		return err
	}
	em, err := opts.emitter(cfg.Model)
	if err != nil {
		return err
	}
	if em != nil {
		cfg.OnSpan = em.add
	}
	bar := cmdutil.NewCounter(opts.IO, "replications", opts.Replications)
	if bar != nil {
		cfg.OnReplication = bar.Step
	}
	results, err := sim.Replicate(ctx, cfg, opts.Replications)
	bar.Done()
	if err != nil {
		return fmt.Errorf("simulating: %w", err)
	}
	if em != nil {
		if err := opts.writeTraces(em); err != nil {
			return err
		}
	}
	s := analysis.SummarizeSim(results, opts.Seed)
	if !opts.Operations {
		s.Operations = nil
	}
	for _, w := range s.Warnings {
		opts.IO.Warnf("%s", w)
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, s)
	}
	return printTable(opts, s)
}

func printTable(opts *Options, s *analysis.SimSummary) error {
	out := opts.IO.Out
	fmt.Fprintf(out, "%d replications, seed %d, %d events\n\n", s.Replications, s.Seed, s.Events)
	table := func(title string, rows []analysis.SimEndpoint) error {
		tw := cmdutil.Table(out)
		fmt.Fprintf(tw, "%s\tREQUESTS\tERR%%\tMEAN ms\tP50 ms\tP90 ms\tP99 ms\tP99.9 ms\n", title)
		for _, e := range rows {
			l := e.Latency
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%s\t%s\t%s\t%s\t%.3f\n", e.Endpoint, e.Requests, 100*e.ErrorRate,
				pm(l.Mean, e.CI95, func(c *analysis.SimCI) analysis.Interval { return c.Mean }),
				pm(l.P50, e.CI95, func(c *analysis.SimCI) analysis.Interval { return c.P50 }),
				pm(l.P90, e.CI95, func(c *analysis.SimCI) analysis.Interval { return c.P90 }),
				pm(l.P99, e.CI95, func(c *analysis.SimCI) analysis.Interval { return c.P99 }), l.P999)
		}
		return tw.Flush()
	}
	if err := table("ENDPOINT", s.Endpoints); err != nil {
		return err
	}
	if len(s.Operations) > 0 {
		fmt.Fprintln(out)
		if err := table("OPERATION", s.Operations); err != nil {
			return err
		}
	}
	var svcs []string
	for svc, u := range s.Utilization {
		if u > 0 {
			svcs = append(svcs, svc)
		}
	}
	slices.Sort(svcs)
	if len(svcs) > 0 {
		fmt.Fprintf(out, "\nutilization:")
		for _, svc := range svcs {
			fmt.Fprintf(out, " %s %.1f%%", svc, 100*s.Utilization[svc])
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "\n± is the half-width of the 95% confidence interval over replications.")
	return nil
}

// pm formats "x ± h" from the value and its interval.
func pm(v float64, ci *analysis.SimCI, pick func(*analysis.SimCI) analysis.Interval) string {
	if ci == nil {
		return fmt.Sprintf("%.3f", v)
	}
	iv := pick(ci)
	return fmt.Sprintf("%.3f ± %.3f", v, (iv[1]-iv[0])/2)
}

// replayConfig loads the recorded traces and makes a replay run: each
// request keeps its recorded arrival, shape and times; the model, when
// given, supplies the capacity (workers) they compete for. Replay draws
// nothing at random, so one replication is all there is.
func (o *Options) replayConfig(ctx context.Context) (sim.Config, error) {
	cfg := sim.Config{Seed: o.Seed, Balance: o.Balance}
	if o.Rate != "" || o.Users > 0 {
		return cfg, errors.New("--replay replays recorded arrivals: scale them with --rate-factor, not --rate or --users")
	}
	if !(o.RateFactor > 0) || o.RateFactor > 1e6 {
		return cfg, fmt.Errorf("--rate-factor %v: must be a positive factor", o.RateFactor)
	}
	if o.Model != "" {
		m, err := topology.ReadFile(o.Model)
		if err != nil {
			return cfg, err
		}
		cfg.Model = m
	}
	res, err := inspect.Load(ctx, o.IO, o.Replay, o.Format, false)
	if err != nil {
		return cfg, err
	}
	reqs, rep, err := replay.FromTraces(res, replay.Options{})
	if err != nil {
		return cfg, fmt.Errorf("replay: %w", err)
	}
	if rep.Skipped > 0 {
		o.IO.Warnf("replay: %d roots skipped (orphans or untimed)", rep.Skipped)
	}
	cfg.Workload = sim.Workload{Replay: reqs, ReplaySpeed: o.RateFactor}
	if o.durationSet {
		cfg.Duration, cfg.Warmup = o.Duration, o.Warmup
	} else {
		cfg.Warmup = o.Warmup // to the end of the recording
	}
	cfg.Requests = o.Requests
	if o.Replications > 1 {
		o.Replications = 1
	}
	return cfg, nil
}

// selectEntries makes the --entry operations the model's only entries.
func (o *Options) selectEntries(m *topology.Model) error {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	slices.Sort(names)
	chosen := map[string]*topology.Entry{}
	for _, e := range o.Entries {
		name, rate, hasRate := strings.Cut(e, "=")
		op := m.Operations[name]
		if op == nil {
			return fmt.Errorf("--entry %q: no operation %q in %s%s", e, name, o.Model, topology.Suggest(name, names))
		}
		entry := &topology.Entry{}
		if op.Entry != nil {
			entry.Rate = op.Entry.Rate
		}
		if hasRate {
			r, err := ParseRate(rate)
			if err != nil {
				return fmt.Errorf("--entry %q: %w", e, err)
			}
			entry.Rate = r
		}
		if entry.Rate <= 0 && o.Rate == "" && o.Users == 0 {
			return fmt.Errorf("--entry %q: the model gives %s no rate; add one (%s=50/s) or use --rate or --users", e, name, name)
		}
		chosen[name] = entry
	}
	for n, op := range m.Operations {
		op.Entry = chosen[n]
	}
	return nil
}
