// Package plot implements `tracesim plot`: charts of a scenario's latency
// distributions (baseline against predicted), of latency against offered
// load, of one trace as a Gantt chart and of the critical path per service
// or operation, drawn by package plot as PNG or SVG.
package plot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/sweep"
	"github.com/tracesim/tracesim/internal/cmd/whatif"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/internal/hist"
	chart "github.com/tracesim/tracesim/plot"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// CDFPoints is the number of points computed per distribution.
const CDFPoints = 200

// CDFOptions are `plot cdf`'s flags and argument.
type CDFOptions struct {
	IO           *cmdutil.IO
	Scenario     string
	Out          string
	Endpoint     string // "": the first endpoint
	Tail         bool
	Seed         uint64
	Replications int
	Duration     time.Duration
}

// LoadOptions are `plot load`'s flags.
type LoadOptions struct {
	IO           *cmdutil.IO
	Model        string
	Rates        string
	Out          string
	Duration     time.Duration
	Warmup       time.Duration
	Seed         uint64
	Replications int
}

// NewCmd returns the plot command and its subcommands.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plot",
		Short: "Draw latency charts (PNG or SVG)",
		Long: `Plot draws charts as PNG or SVG, chosen by the extension of the -o file:
  cdf       a scenario's latency distribution, baseline against predicted
  load      latency against offered load, with 95% confidence bands
  gantt     one trace's spans on a time axis, its critical path highlighted
  critpath  time on the critical path per service or operation, over traces`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCDFCmd(io), newLoadCmd(io), newGanttCmd(io), newCritPathCmd(io))
	return cmd
}

func newCDFCmd(io *cmdutil.IO) *cobra.Command {
	opts := &CDFOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "cdf SCENARIO.yaml -o cdf.svg [--endpoint E] [--tail]",
		Short: "Latency CDF of an endpoint, baseline against predicted",
		Long: `Cdf simulates the scenario's model as it is and with its changes (as whatif
does, on common random numbers), pools each side's replications and draws
the endpoint's latency distribution for both: the CDF (fraction of requests
at or below a latency, up to the 99.9th percentile) or, with --tail, the
complementary CDF on log-log axes, down to one request in 10,000.`,
		Example: `  tracesim plot cdf examples/scenarios/cache.yaml -o cdf.svg
  tracesim plot cdf examples/scenarios/cache.yaml -o tail.png --endpoint frontend/home --tail`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Scenario = args[0]
			return RunCDF(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Out, "output", "o", "", "chart file, .png or .svg")
	f.StringVar(&opts.Endpoint, "endpoint", "", "endpoint to draw, as svc/op (default: the first)")
	f.BoolVar(&opts.Tail, "tail", false, "draw the complementary CDF on log-log axes")
	f.Uint64Var(&opts.Seed, "seed", 0, "random seed (default: the scenario's, else 1)")
	f.IntVar(&opts.Replications, "replications", 0, "paired replications (default: the scenario's, else 10)")
	f.DurationVar(&opts.Duration, "duration", 0, "simulated time per replication (default: the scenario's, else 60s)")
	return cmd
}

func newLoadCmd(io *cmdutil.IO) *cobra.Command {
	opts := &LoadOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "load -m model.yaml --rates a:b:step -o load.png",
		Short: "Latency against offered load, with 95% bands",
		Long: `Load runs a sweep (see tracesim sweep) and draws each endpoint's p50 and p99
latency against the offered rate, each with its 95% confidence band over
replications.`,
		Example: `  tracesim plot load -m model.yaml --rates 50:500:50 -o load.png
  tracesim plot load -m model.yaml --rates 10:90:10 -o load.svg --duration 2m --replications 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return RunLoad(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Model, "model", "m", "", "model file")
	f.StringVar(&opts.Rates, "rates", "", "offered rates as start:end:step in requests per second, e.g. 50:500:50")
	f.StringVarP(&opts.Out, "output", "o", "", "chart file, .png or .svg")
	f.DurationVar(&opts.Duration, "duration", 30*time.Second, "simulated time measured at each rate")
	f.DurationVar(&opts.Warmup, "warmup", 0, "simulated time excluded at each rate (default: a tenth of --duration)")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed")
	f.IntVar(&opts.Replications, "replications", 5, "independent runs per rate")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("rates")
	return cmd
}

// outFormat checks -o before any simulation runs.
func outFormat(out string) (string, error) {
	if out == "" {
		return "", errors.New("missing -o FILE: the chart file to write, .png or .svg")
	}
	return chart.FormatOf(out)
}

// RunCDF executes `plot cdf`.
func RunCDF(ctx context.Context, opts *CDFOptions) error {
	format, err := outFormat(opts.Out)
	if err != nil {
		return err
	}
	if opts.Replications < 0 {
		return fmt.Errorf("--replications %d: need at least 1", opts.Replications)
	}
	runs, err := whatif.Simulate(ctx, &whatif.Options{IO: opts.IO, Seed: opts.Seed,
		Replications: opts.Replications, Duration: opts.Duration}, opts.Scenario)
	if err != nil {
		return err
	}
	names := endpointNames(runs.Baseline)
	if len(names) == 0 {
		return fmt.Errorf("%s: the baseline has no endpoints", opts.Scenario)
	}
	ep := opts.Endpoint
	if ep == "" {
		ep = names[0]
	} else if !contains(names, ep) {
		return fmt.Errorf("%s: no endpoint %q%s; endpoints: %s", opts.Scenario, ep,
			topology.Suggest(ep, names), strings.Join(names, ", "))
	}
	var series []chart.Series
	for _, side := range []struct {
		name string
		res  []*sim.Result
	}{{"baseline", runs.Baseline}, {"predicted", runs.Predicted}} {
		h := merged(side.res, ep)
		if h.Count() == 0 {
			opts.IO.Warnf("%s: %s has no measured %s requests; not drawn", opts.Scenario, side.name, ep)
			continue
		}
		series = append(series, chart.Series{Name: side.name, Points: cdfPoints(h, opts.Tail)})
	}
	if len(series) == 0 {
		return fmt.Errorf("%s: no measured %s requests to draw", opts.Scenario, ep)
	}
	kind := "latency CDF"
	if opts.Tail {
		kind = "latency tail (1 − CDF)"
	}
	title := fmt.Sprintf("%s: %s %s", runs.Name, ep, kind)
	var buf bytes.Buffer
	if err := chart.CDF(&buf, format, title, series, opts.Tail); err != nil {
		return err
	}
	return writeFile(opts.IO, opts.Out, buf.Bytes())
}

// RunLoad executes `plot load`.
func RunLoad(ctx context.Context, opts *LoadOptions) error {
	format, err := outFormat(opts.Out)
	if err != nil {
		return err
	}
	res, err := sweep.Sweep(ctx, &sweep.Options{IO: opts.IO, Model: opts.Model, Rates: opts.Rates,
		Duration: opts.Duration, Warmup: opts.Warmup, Seed: opts.Seed, Replications: opts.Replications})
	if err != nil {
		return err
	}
	curves := loadCurves(res.Points)
	if len(curves) == 0 {
		return fmt.Errorf("%s: no endpoints measured", opts.Model)
	}
	title := fmt.Sprintf("%s: latency vs offered load (%d replications, 95%% bands)", opts.Model, opts.Replications)
	var buf bytes.Buffer
	if err := chart.Load(&buf, format, title, curves); err != nil {
		return err
	}
	return writeFile(opts.IO, opts.Out, buf.Bytes())
}

func writeFile(io *cmdutil.IO, path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	fmt.Fprintf(io.Out, "wrote %s\n", path)
	return nil
}

// endpointNames lists the endpoints of the first replication, in order.
func endpointNames(rs []*sim.Result) []string {
	if len(rs) == 0 {
		return nil
	}
	var out []string
	for _, e := range rs[0].Endpoints {
		out = append(out, e.Name)
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// merged pools the endpoint's latencies over every replication.
func merged(rs []*sim.Result, endpoint string) *hist.Hist {
	h := &hist.Hist{}
	for _, r := range rs {
		for _, e := range r.Endpoints {
			if e.Name == endpoint && e.Latency != nil {
				h.Merge(e.Latency)
			}
		}
	}
	return h
}

// cdfPoints reads CDFPoints quantiles of h as (ms, fraction) points:
// evenly spaced fractions from 0 to 0.999 for a CDF; for a tail,
// exceedance fractions evenly spaced on a log scale from 1 down to
// chart.MinTail, so the tail gets as many points as the body.
func cdfPoints(h *hist.Hist, tail bool) []chart.XY {
	pts := make([]chart.XY, 0, CDFPoints)
	for i := range CDFPoints {
		t := float64(i) / (CDFPoints - 1)
		q := 0.999 * t
		if tail {
			q = 1 - math.Pow(chart.MinTail, t)
		}
		pts = append(pts, chart.XY{X: h.Quantile(q) / 1e6, Y: q})
	}
	return pts
}

// loadCurves turns sweep points into a p50 and a p99 curve per endpoint.
func loadCurves(points []analysis.SweepPoint) []chart.Curve {
	type pair struct{ p50, p99 []chart.LoadPoint }
	var order []string
	by := map[string]*pair{}
	for _, p := range points {
		for _, e := range p.Endpoints {
			c := by[e.Endpoint]
			if c == nil {
				c = &pair{}
				by[e.Endpoint] = c
				order = append(order, e.Endpoint)
			}
			p50 := chart.LoadPoint{Rate: p.Rate, Value: e.Latency.P50}
			p99 := chart.LoadPoint{Rate: p.Rate, Value: e.Latency.P99}
			if e.CI95 != nil {
				p50.Lo, p50.Hi = e.CI95.P50[0], e.CI95.P50[1]
				p99.Lo, p99.Hi = e.CI95.P99[0], e.CI95.P99[1]
			}
			c.p50 = append(c.p50, p50)
			c.p99 = append(c.p99, p99)
		}
	}
	var out []chart.Curve
	for _, name := range order {
		c := by[name]
		out = append(out, chart.Curve{Name: name + " p50", Points: c.p50}, chart.Curve{Name: name + " p99", Points: c.p99})
	}
	return out
}
