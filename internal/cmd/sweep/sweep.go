// Package sweep implements `tracesim sweep`: simulate a model at a range of
// offered loads and report latency against load, with the saturation
// point.
package sweep

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// Options are sweep's flags.
type Options struct {
	IO           *cmdutil.IO
	Model        string
	Rates        string // "a:b:step"
	Duration     time.Duration
	Warmup       time.Duration
	Seed         uint64
	Replications int
	JSON         bool
}

// Result is sweep's JSON document.
type Result struct {
	Model        string                `json:"model"`
	Seed         uint64                `json:"seed"`
	Replications int                   `json:"replications"`
	Points       []analysis.SweepPoint `json:"points"`
	// SaturationRate is the first offered rate at which the busiest
	// service saturated (null: none in the sweep); LastStableRate the rate
	// before it.
	SaturationRate *float64 `json:"saturation_rate"`
	LastStableRate *float64 `json:"last_stable_rate"`
}

// NewCmd returns the sweep command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "sweep -m model.yaml --rates a:b:step",
		Short: "Latency against offered load, and where the system saturates",
		Long: `Sweep simulates the model at each offered rate from a to b in steps (the rate
is split over the entry operations in proportion to their model rates) and
reports each endpoint's percentiles with 95% intervals and the utilization
of the busiest service. The saturation point is the first rate at which the
busiest service is busy ≥ 98% of the time (or its estimated load exceeds
its capacity): beyond it throughput stops following load and latency grows
with the length of the run.`,
		Example: `  tracesim sweep -m model.yaml --rates 50:500:50
  tracesim sweep -m model.yaml --rates 100:1000:100 --duration 2m --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return Run(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Model, "model", "m", "", "model file")
	f.StringVar(&opts.Rates, "rates", "", "offered rates as start:end:step in requests per second, e.g. 50:500:50")
	f.DurationVar(&opts.Duration, "duration", 30*time.Second, "simulated time measured at each rate")
	f.DurationVar(&opts.Warmup, "warmup", 0, "simulated time excluded at each rate (default: a tenth of --duration)")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed")
	f.IntVar(&opts.Replications, "replications", 5, "independent runs per rate")
	f.BoolVar(&opts.JSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("rates")
	return cmd
}

// ParseRates reads "a:b:step" into the list of rates.
func ParseRates(s string) ([]float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--rates %q: want start:end:step, e.g. 50:500:50", s)
	}
	var v [3]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(p), "/s"), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("--rates %q: %q is not a number", s, p)
		}
		v[i] = x
	}
	start, end, step := v[0], v[1], v[2]
	switch {
	case start <= 0:
		return nil, fmt.Errorf("--rates %q: rates must be positive", s)
	case end < start:
		return nil, fmt.Errorf("--rates %q: end %v is below start %v", s, end, start)
	case step <= 0:
		return nil, fmt.Errorf("--rates %q: step must be positive", s)
	case (end-start)/step > 1000:
		return nil, fmt.Errorf("--rates %q: more than 1000 points; use a larger step", s)
	}
	var out []float64
	for i := 0; ; i++ {
		r := start + float64(i)*step
		if r > end*(1+1e-9) {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

// Run executes sweep.
func Run(ctx context.Context, opts *Options) error {
	res, err := Sweep(ctx, opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, res)
	}
	return printTable(opts, res)
}

// Sweep simulates the model at every rate of opts.Rates and returns the
// points and the saturation point; it prints nothing but progress.
func Sweep(ctx context.Context, opts *Options) (*Result, error) {
	rates, err := ParseRates(opts.Rates)
	if err != nil {
		return nil, err
	}
	m, err := topology.ReadFile(opts.Model)
	if err != nil {
		return nil, err
	}
	so := &simulate.Options{Model: opts.Model, Duration: opts.Duration, Warmup: opts.Warmup, Seed: opts.Seed,
		Replications: opts.Replications, Balance: "round-robin"}
	res := &Result{Model: opts.Model, Seed: opts.Seed, Replications: opts.Replications}
	bar := cmdutil.NewCounter(opts.IO, "runs", len(rates)*max(1, opts.Replications))
	defer bar.Done()
	for _, r := range rates {
		so.Rate = strconv.FormatFloat(r, 'g', -1, 64)
		cfg, err := so.Config(m)
		if err != nil {
			return nil, err
		}
		if cfg.Duration == 0 {
			return nil, fmt.Errorf("sweep needs --duration > 0")
		}
		if bar != nil {
			cfg.OnReplication = bar.Step
		}
		results, err := sim.Replicate(ctx, cfg, opts.Replications)
		if err != nil {
			return nil, fmt.Errorf("simulating %s at %v/s: %w", opts.Model, r, err)
		}
		s := analysis.SummarizeSim(results, opts.Seed)
		p := analysis.SweepPoint{Rate: r, Endpoints: s.Endpoints, Overloaded: len(s.Warnings) > 0}
		svcs := make([]string, 0, len(s.Utilization))
		for svc := range s.Utilization {
			svcs = append(svcs, svc)
		}
		slices.Sort(svcs)
		for _, svc := range svcs {
			if u := s.Utilization[svc]; u > p.Utilization {
				p.Busiest, p.Utilization = svc, u
			}
		}
		res.Points = append(res.Points, p)
	}
	if i := analysis.Saturation(res.Points); i >= 0 {
		res.SaturationRate = &res.Points[i].Rate
		if i > 0 {
			res.LastStableRate = &res.Points[i-1].Rate
		}
	} else if len(res.Points) > 0 {
		res.LastStableRate = &res.Points[len(res.Points)-1].Rate
	}
	return res, nil
}

func printTable(opts *Options, res *Result) error {
	out := opts.IO.Out
	tw := cmdutil.Table(out)
	fmt.Fprintln(tw, "RATE/s\tENDPOINT\tMEAN ms\tP50 ms\tP99 ms\tBUSIEST\tUTIL%")
	for _, p := range res.Points {
		for i, e := range p.Endpoints {
			rate, busy, util := "", "", ""
			if i == 0 {
				rate, busy, util = strconv.FormatFloat(p.Rate, 'g', -1, 64), p.Busiest, fmt.Sprintf("%.1f", 100*p.Utilization)
				if p.Overloaded || p.Utilization >= analysis.SaturationUtilization {
					util += " (saturated)"
				}
			}
			ci := func(v float64, iv func(*analysis.SimCI) analysis.Interval) string {
				if e.CI95 == nil {
					return fmt.Sprintf("%.3f", v)
				}
				x := iv(e.CI95)
				return fmt.Sprintf("%.3f ± %.3f", v, (x[1]-x[0])/2)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rate, e.Endpoint,
				ci(e.Latency.Mean, func(c *analysis.SimCI) analysis.Interval { return c.Mean }),
				ci(e.Latency.P50, func(c *analysis.SimCI) analysis.Interval { return c.P50 }),
				ci(e.Latency.P99, func(c *analysis.SimCI) analysis.Interval { return c.P99 }), busy, util)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case res.SaturationRate != nil && res.LastStableRate != nil:
		fmt.Fprintf(out, "\nsaturation: between %g/s (last stable) and %g/s (busiest service saturated)\n", *res.LastStableRate, *res.SaturationRate)
	case res.SaturationRate != nil:
		fmt.Fprintf(out, "\nsaturation: already at the first rate, %g/s\n", *res.SaturationRate)
	default:
		fmt.Fprintf(out, "\nno saturation up to %g/s\n", *res.LastStableRate)
	}
	return nil
}
