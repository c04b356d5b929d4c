package whatif

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/plot"
	"github.com/tracesim/tracesim/report"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/trace"
)

// What the report runs besides the comparison itself.
const (
	// FlowRequests is how many baseline requests (the first measured ones
	// of replication 1) the report's flow graph is built from.
	FlowRequests = 200
	// MaxCDFs bounds the endpoints that get a CDF chart.
	MaxCDFs = 6
	// cdfPoints is the number of quantiles drawn per distribution.
	cdfPoints = 200
	// sweepReplications and sweepDuration bound each point of the
	// report's load sweep: it is a sketch of the curve, cheaper than the
	// comparison.
	sweepReplications = 3
	sweepDuration     = 20 * time.Second
)

// SweepFactors are the multiples of the scenario's offered load at which
// the report's latency-against-load chart is simulated.
var SweepFactors = [...]float64{0.5, 0.75, 1, 1.25, 1.5}

// runReport is Run with --report: it simulates and prints each scenario
// as Run does, and writes the HTML report with a section per scenario.
func runReport(ctx context.Context, opts *Options) error {
	rep := &report.WhatIf{Title: "What-if report"}
	var out []*analysis.Comparison
	for _, path := range opts.Scenarios {
		sc, err := reportScenario(ctx, opts, path)
		if err != nil {
			return err
		}
		out = append(out, sc.Comparison)
		rep.Scenarios = append(rep.Scenarios, *sc)
	}
	if len(rep.Scenarios) == 1 {
		rep.Title += ": " + rep.Scenarios[0].Name
	} else {
		rep.Title += fmt.Sprintf(": %d scenarios", len(rep.Scenarios))
	}
	var buf bytes.Buffer
	if err := report.WriteWhatIf(ctx, &buf, rep, report.Options{}); err != nil {
		return fmt.Errorf("--report %s: %w", opts.Report, err)
	}
	if err := os.WriteFile(opts.Report, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	if err := emit(opts, out); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Report)
	return nil
}

// reportScenario simulates the scenario at path (collecting the first
// baseline requests' spans for the flow graph), compares, sweeps the load
// and gathers what the report shows.
func reportScenario(ctx context.Context, opts *Options, path string) (*report.Scenario, error) {
	s, err := scenarios.Load(path)
	if err != nil {
		return nil, err
	}
	var base sim.Config
	o := *opts
	o.configure = func(b *sim.Config) { base = *b }
	runs, err := Simulate(ctx, &o, path)
	if err != nil {
		return nil, err
	}
	c := analysis.Compare(runs.Name, runs.Seed, runs.Baseline, runs.Predicted)
	sc := &report.Scenario{Name: runs.Name, File: path, Model: s.Model, Changes: s.Changes, Comparison: c}
	if len(s.Traces) > 0 {
		sc.Model = strings.Join(s.Traces, ", ") + " (replayed)"
		if s.Model != "" {
			sc.Model += ", capacity from " + s.Model
		}
	}
	sc.Workload = workloadWords(s, &base, c.Replications)
	for i, name := range endpointNames(runs.Baseline) {
		if i == MaxCDFs {
			break
		}
		var series []plot.Series
		for _, side := range []struct {
			name string
			res  []*sim.Result
		}{{"baseline", runs.Baseline}, {"predicted", runs.Predicted}} {
			if h := merged(side.res, name); h.Count() > 0 {
				series = append(series, plot.Series{Name: side.name, Points: cdfOf(h)})
			}
		}
		if len(series) > 0 {
			sc.CDFs = append(sc.CDFs, report.CDF{Title: name + " latency CDF", Series: series})
		}
	}
	if err := reportFlows(ctx, opts, s, &base, sc); err != nil {
		return nil, err
	}
	if err := reportSweep(ctx, opts, path, s, &base, c, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// reportFlows builds the flow graph: from the recorded traces of a replay
// scenario, else from the spans of the first FlowRequests requests of one
// more run of the baseline (the configuration of its first replication).
func reportFlows(ctx context.Context, opts *Options, s *scenarios.Scenario, base *sim.Config, sc *report.Scenario) error {
	if len(s.Traces) > 0 {
		res, err := inspect.Load(ctx, quiet(opts.IO), s.Traces, "", false)
		if err != nil {
			return fmt.Errorf("%s: flow graph: %w", s.Path, err)
		}
		sc.Flows = analysis.BuildFlows(res.Traces)
		sc.FlowNote = fmt.Sprintf("Flow of the %s recorded in %s, before the changes.", plural(len(res.Traces), "trace"), strings.Join(s.Traces, ", "))
		return nil
	}
	spans := &spanCollector{max: FlowRequests}
	cfg := *base
	cfg.Duration, cfg.Requests, cfg.OnSpan, cfg.OnReplication = 0, FlowRequests, spans.add, nil
	if _, err := sim.Run(ctx, cfg); err != nil {
		return fmt.Errorf("%s: flow graph: simulating the baseline: %w", s.Path, err)
	}
	res, err := trace.Assemble(ctx, &trace.Collector{Spans: spans.spans()}, trace.Options{})
	if err != nil {
		return fmt.Errorf("%s: flow graph: %w", s.Path, err)
	}
	sc.Flows = analysis.BuildFlows(res.Traces)
	sc.FlowNote = fmt.Sprintf("Flow of %s of the baseline (simulated after the warm-up, before the changes): per operation its kind, executions per request and mean latency; per call the calls per request and the callee's p50 and p99.",
		plural(len(res.Traces), "request"))
	return nil
}

// reportSweep simulates baseline and scenario at SweepFactors times the
// scenario's offered load, with fewer and shorter replications, and draws
// p50 and p99 of the endpoint whose p99 changed most.
func reportSweep(ctx context.Context, opts *Options, path string, s *scenarios.Scenario, base *sim.Config, c *analysis.Comparison, sc *report.Scenario) error {
	switch {
	case len(s.Traces) > 0:
		sc.LoadNote = "Not drawn: a replay scenario replays the recorded arrivals; a load sweep needs a synthetic workload."
		return nil
	case base.Workload.Users > 0:
		sc.LoadNote = "Not drawn: the workload is a closed loop of users, whose offered rate is not set in advance."
		return nil
	case len(c.Endpoints) == 0:
		sc.LoadNote = "Not drawn: no endpoint was measured."
		return nil
	}
	ep := c.Endpoints[0]
	for _, e := range c.Endpoints[1:] {
		if math.Abs(e.DeltaPct.P99) > math.Abs(ep.DeltaPct.P99) {
			ep = e
		}
	}
	total := base.Workload.Rate
	if total == 0 {
		for _, op := range base.Model.Operations {
			if op.Entry != nil {
				total += op.Entry.Rate
			}
		}
	}
	_, eff, err := scenarios.Apply(base.Model, s.Changes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	k := min(sweepReplications, max(c.Replications, 2))
	d := sweepDuration
	if base.Duration > 0 {
		d = min(d, base.Duration)
	}
	var curves [4][]plot.LoadPoint // baseline p50, p99, predicted p50, p99
	for _, f := range SweepFactors {
		o := *opts
		o.IO, o.Replications, o.Duration = quiet(opts.IO), k, d
		o.configure = func(b *sim.Config) { b.Workload.Rate = f * total }
		runs, err := Simulate(ctx, &o, path)
		if err != nil {
			return fmt.Errorf("%s: load sweep at %g× load: %w", path, f, err)
		}
		for side, res := range [][]*sim.Result{runs.Baseline, runs.Predicted} {
			rate := f * total
			if side == 1 {
				rate = eff.Of(rate)
			}
			for _, e := range analysis.SummarizeSim(res, runs.Seed).Endpoints {
				if e.Endpoint != ep.Endpoint {
					continue
				}
				p50 := plot.LoadPoint{Rate: rate, Value: e.Latency.P50}
				p99 := plot.LoadPoint{Rate: rate, Value: e.Latency.P99}
				if e.CI95 != nil {
					p50.Lo, p50.Hi = e.CI95.P50[0], e.CI95.P50[1]
					p99.Lo, p99.Hi = e.CI95.P99[0], e.CI95.P99[1]
				}
				curves[2*side] = append(curves[2*side], p50)
				curves[2*side+1] = append(curves[2*side+1], p99)
			}
		}
	}
	// One colour per run, p50 solid and p99 dashed.
	names := [4]string{"baseline p50", "baseline p99", "predicted p50", "predicted p99"}
	load := &report.Load{Title: ep.Endpoint + ": latency vs offered load (95% bands)"}
	for i, pts := range curves {
		if len(pts) > 0 {
			load.Curves = append(load.Curves, plot.Curve{Name: names[i], Points: pts, Style: &plot.CurveStyle{Color: i / 2, Dashes: i % 2}})
		}
	}
	factors := make([]string, len(SweepFactors))
	for i, f := range SweepFactors {
		factors[i] = strconv.FormatFloat(f, 'g', -1, 64) + "×"
	}
	load.Note = fmt.Sprintf("A small sweep, separate from the comparison above: baseline and scenario at %s the scenario's offered load (%s requests/s), %s of %s each (the comparison used %d of its own duration), seed %d. Drawn for %s, the endpoint whose p99 changed most.",
		strings.Join(factors, ", "), strconv.FormatFloat(total, 'g', 4, 64), plural(k, "paired replication"), d, c.Replications, c.Seed, ep.Endpoint)
	if len(load.Curves) == 0 {
		sc.LoadNote = "Not drawn: the sweep measured no request of " + ep.Endpoint + "."
		return nil
	}
	sc.Load = load
	return nil
}

// workloadWords describes the traffic of the comparison.
func workloadWords(s *scenarios.Scenario, base *sim.Config, k int) string {
	if len(s.Traces) > 0 {
		return fmt.Sprintf("the recorded requests, replayed as recorded, in %s", plural(k, "batch"))
	}
	var w string
	switch {
	case base.Workload.Users > 0:
		w = fmt.Sprintf("closed loop: %s, think time %s", plural(base.Workload.Users, "user"), base.Workload.Think)
	case base.Workload.Rate > 0:
		w = fmt.Sprintf("open loop: %s requests/s in total", strconv.FormatFloat(base.Workload.Rate, 'g', -1, 64))
	default:
		w = "open loop at the model's entry rates"
	}
	if base.Requests > 0 {
		w += fmt.Sprintf(", %d requests", base.Requests)
	} else {
		w += fmt.Sprintf(", %s simulated (after %s warm-up)", base.Duration, base.Warmup)
	}
	return w + " per replication"
}

// quiet is in without output: the sweep's runs would repeat the
// comparison's warnings.
func quiet(in *cmdutil.IO) *cmdutil.IO {
	return &cmdutil.IO{In: in.In, Out: io.Discard, ErrOut: io.Discard}
}

// endpointNames lists the endpoints of the first replication, in order.
func endpointNames(rs []*sim.Result) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, 0, len(rs[0].Endpoints))
	for _, e := range rs[0].Endpoints {
		out = append(out, e.Name)
	}
	return out
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

// cdfOf reads cdfPoints quantiles of h, evenly spaced from 0 to 0.999, as
// (ms, fraction) points.
func cdfOf(h *hist.Hist) []plot.XY {
	pts := make([]plot.XY, 0, cdfPoints)
	for i := range cdfPoints {
		q := 0.999 * float64(i) / (cdfPoints - 1)
		pts = append(pts, plot.XY{X: h.Quantile(q) / 1e6, Y: q})
	}
	return pts
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "ch") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// spanCollector keeps the spans of the first max measured requests of a
// run as trace spans (the mapping of `simulate --emit-traces`, with
// nanosecond times from a zero epoch), for the flow graph. Requests whose
// root span never came (cut off at the end of the run) are left out.
type spanCollector struct {
	max   int
	reqs  [][]trace.Span
	roots []bool
}

func (c *spanCollector) add(r sim.SpanRecord) {
	if r.Request < 1 || r.Request > int64(c.max) {
		return
	}
	i := int(r.Request - 1)
	for len(c.reqs) <= i {
		c.reqs = append(c.reqs, nil)
		c.roots = append(c.roots, false)
	}
	sp := trace.Span{TraceID: trace.TraceID{Low: uint64(r.Request)}, ID: trace.SpanID(r.ID), ParentID: trace.SpanID(r.Parent),
		Service: r.Service, Name: r.Operation, Kind: trace.KindServer}
	start := r.Start
	if r.Kind == sim.SpanClient {
		sp.Kind, sp.Peer = trace.KindClient, r.PeerService
	} else if r.Parent == 0 {
		start = r.Arrive
		c.roots[i] = true
	}
	sp.Start, sp.Duration = start, r.End-start
	if r.Error {
		sp.Flags |= trace.FlagError
	}
	if r.Async {
		sp.Flags |= trace.FlagAsync
	}
	c.reqs[i] = append(c.reqs[i], sp)
}

func (c *spanCollector) spans() []trace.Span {
	var out []trace.Span
	for i, r := range c.reqs {
		if c.roots[i] {
			out = append(out, r...)
		}
	}
	return out
}
