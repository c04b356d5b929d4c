package dr

import (
	"context"
	"fmt"
	"github.com/tracesim/tracesim/analysis"
	"strings"

	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/report"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// EndpointImpact is one endpoint before and after the service went down.
type EndpointImpact struct {
	Endpoint           string  `json:"endpoint"`
	AvailabilityBefore float64 `json:"availability_before"`
	AvailabilityAfter  float64 `json:"availability_after"`
	P50Before          float64 `json:"p50_ms_before"`
	P50After           float64 `json:"p50_ms_after"`
	P99Before          float64 `json:"p99_ms_before"`
	P99After           float64 `json:"p99_ms_after"`
	// Significant says whether the error-rate change is real (its paired
	// 95% interval excludes 0).
	Significant bool `json:"error_rate_change_significant"`
}

// Impact is what `dr impact` reports.
type Impact struct {
	Service      string           `json:"service"`
	Mode         string           `json:"mode"`
	Replications int              `json:"replications"`
	Seed         uint64           `json:"seed"`
	Endpoints    []EndpointImpact `json:"endpoints"`
	// Absorbing are the operations that call the service only through
	// optional (or asynchronous) calls: they tolerate its loss.
	Absorbing []string `json:"absorbing_callers"`
	// Failing are the operations with a required call to the service.
	Failing []string `json:"failing_callers"`

	comparison *analysis.Comparison // for the report
}

// RunImpact executes `dr impact`.
func RunImpact(ctx context.Context, opts *Options) error {
	im, err := Assess(ctx, opts)
	if err != nil {
		return err
	}
	if opts.Report != "" {
		d := &report.DR{Title: "Impact of " + im.Service + " down", Seed: im.Seed, Replications: im.Replications,
			Down: im.Service, Mode: im.Mode, Impact: im.comparison}
		if err := writeReport(opts, "DR impact: "+im.Service+" down", d); err != nil {
			return err
		}
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, im)
	}
	return printImpact(opts.IO, im)
}

// Assess simulates the model with opts.Down down and returns the impact.
func Assess(ctx context.Context, opts *Options) (*Impact, error) {
	if opts.Mode == "" {
		opts.Mode = scenarios.ModeFail
	}
	if opts.Mode != scenarios.ModeFail && opts.Mode != scenarios.ModeSkip {
		return nil, fmt.Errorf("--mode %q: want fail or skip (use whatif for failover)", opts.Mode)
	}
	m, err := readModel(opts)
	if err != nil {
		return nil, err
	}
	// Checked here, not left to scenarios.Apply, so a typo is reported
	// before any simulation runs.
	if _, ok := m.Services[opts.Down]; !ok {
		return nil, fmt.Errorf("--down: unknown service %q%s", opts.Down, topology.Suggest(opts.Down, sortedKeys(m.Services)))
	}
	// Without this check, a service nothing reaches would be reported as
	// harmless; in skip mode that includes a service with only entry
	// traffic, which skip does not remove.
	if len(downChanges(m, opts.Down, opts.Mode)) == 0 {
		return nil, fmt.Errorf("--down %s: no operation calls it and, in %s mode, taking it down changes nothing", opts.Down, opts.Mode)
	}
	cfg, err := opts.config(m)
	if err != nil {
		return nil, err
	}
	base, err := sim.Replicate(ctx, cfg, opts.Replications)
	if err != nil {
		return nil, fmt.Errorf("simulating the baseline: %w", err)
	}
	c, err := compareDown(ctx, cfg, opts.Replications, base, opts.Down, opts.Mode)
	if err != nil {
		return nil, err
	}
	req, opt := callers(m, opts.Down)
	im := &Impact{Service: opts.Down, Mode: opts.Mode, Replications: c.Replications, Seed: c.Seed,
		Absorbing: opt, Failing: req, Endpoints: []EndpointImpact{}, comparison: c}
	for _, e := range c.Endpoints {
		im.Endpoints = append(im.Endpoints, EndpointImpact{
			Endpoint:           e.Endpoint,
			AvailabilityBefore: 1 - e.Baseline.ErrorRate,
			AvailabilityAfter:  1 - e.Predicted.ErrorRate,
			P50Before:          e.Baseline.Latency.P50,
			P50After:           e.Predicted.Latency.P50,
			P99Before:          e.Baseline.Latency.P99,
			P99After:           e.Predicted.Latency.P99,
			Significant:        e.Significant.ErrorRate,
		})
	}
	return im, nil
}

func printImpact(io *cmdutil.IO, im *Impact) error {
	fmt.Fprintf(io.Out, "%s down (%s), %d paired replications, seed %d\n\n", im.Service, im.Mode, im.Replications, im.Seed)
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "ENDPOINT\tAVAILABILITY before → after\tP50 ms before → after\tP99 ms before → after")
	for _, e := range im.Endpoints {
		fmt.Fprintf(tw, "%s\t%.4f → %.4f\t%.3f → %.3f\t%.3f → %.3f\n", e.Endpoint,
			e.AvailabilityBefore, e.AvailabilityAfter, e.P50Before, e.P50After, e.P99Before, e.P99After)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(io.Out, "\nabsorbed by (optional calls): %s\n", list(im.Absorbing))
	fmt.Fprintf(io.Out, "failing callers (required calls): %s\n", list(im.Failing))
	return nil
}
