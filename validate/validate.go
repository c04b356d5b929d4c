// Package validate checks tracesim's predictions against the truth. For
// a testbed topology and a workload it runs the real system (package
// testbed) and records its traces; builds a model from those traces
// alone, as a user would (the topology file is never shown to the
// predictor); predicts each scenario from that model; then applies each
// scenario to the real system, measures, and reports predicted against
// measured latency per endpoint, with the error and whether the measured
// value fell inside the prediction's interval.
package validate

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/testbed"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// Goals of a validation case: the prediction is good when it is within
// these relative errors of the measured p50 and p99.
const (
	GoalP50 = 0.05
	GoalP99 = 0.10
)

// Case is one scenario to validate.
type Case struct {
	Name    string
	Path    string // the scenario file, for reports
	Changes []scenarios.Change
}

// Config is one validation run: a topology, a workload, the cases.
type Config struct {
	Topology     *topology.Model
	TopologyPath string
	Workload     testbed.Workload
	Seed         uint64
	// Replications of each prediction (default 10); each replication
	// simulates as long as the testbed measures, so the spread of the
	// replications is the spread a measured run would have.
	Replications int
	// Capacity says how the model built from traces gets its limits:
	// see topology.BuildOptions.Capacity.
	Capacity string
	// Workers and Pools state capacity for the model that its traces
	// cannot show (topology.BuildOptions): to predict many clients from
	// the traces of one, say.
	Workers map[string]int
	Pools   map[string]int
	// PeerSpans chooses how the testbed's calls to each peer are traced
	// (testbed.Options.PeerSpans): the conventions the model must read.
	PeerSpans map[string]string
	// BaselineWorkload, when set, is the workload of the traced
	// baseline the model is built from, instead of Workload (with
	// BaselineDuration): the cases still run Workload. Predicting one
	// load from traces of another.
	BaselineWorkload *testbed.Workload
	// BaselineDuration is the measured period of the traced baseline run
	// the model is built from (default: Workload.Duration). Longer gives
	// the model more data; the cases still run Workload.Duration.
	BaselineDuration time.Duration
	// RepeatBaseline runs the unchanged testbed once more, untraced and
	// as long as a case, and reports how far its latencies are from the
	// traced baseline's: the run-to-run noise any comparison with one
	// measured run is subject to.
	RepeatBaseline bool
	// Traces, when set, receives the baseline's OTLP traces as the
	// testbed wrote them.
	Traces func(data []byte) error
	Logf   func(format string, args ...any)
}

// Stats are one endpoint's latency statistics in ms.
type Stats struct {
	Requests  int64   `json:"requests"`
	ErrorRate float64 `json:"error_rate"`
	Mean      float64 `json:"mean"`
	P50       float64 `json:"p50"`
	P90       float64 `json:"p90"`
	P99       float64 `json:"p99"`
}

// Check is one endpoint of one case: predicted against measured.
type Check struct {
	Endpoint  string `json:"endpoint"`
	Measured  Stats  `json:"measured"`
	Predicted Stats  `json:"predicted"`
	// PI95 are 95% prediction intervals, per statistic, for one run as
	// long as the measured one: mean ± t·s·√(1+1/k) over the k
	// replications. CI95 are the intervals of the expected value.
	PI95 map[string][2]float64 `json:"pi95_ms"`
	CI95 map[string][2]float64 `json:"ci95_ms"`
	// ErrorPct is (predicted − measured) / measured, in percent.
	ErrorPct map[string]float64 `json:"error_pct"`
	// Inside says whether the measured value lies in PI95.
	Inside map[string]bool `json:"inside_pi95"`
	// Pass: |error| ≤ 5% at p50 and ≤ 10% at p99.
	Pass bool `json:"pass"`
	// NoisePct is the run-to-run noise of the measurement (the unchanged
	// system measured twice at this workload, in percent, per
	// statistic), when the run measured it; WithinNoise says whether
	// the errors are within the goal or within that noise, statistic by
	// statistic.
	NoisePct    map[string]float64 `json:"noise_pct,omitempty"`
	WithinNoise bool               `json:"within_noise"`
}

// CaseResult is one validated scenario.
type CaseResult struct {
	Name      string  `json:"name"`
	Scenario  string  `json:"scenario,omitempty"`
	Endpoints []Check `json:"endpoints"`
	// Wall is how long the real run took.
	Wall time.Duration `json:"-"`
}

// Result is a validation run.
type Result struct {
	Name     string `json:"name,omitempty"`
	Topology string `json:"topology"`
	Workload string `json:"workload"`
	// Baseline compares the model's prediction of the unchanged system
	// with the measured baseline: how well the traces were modelled.
	Baseline CaseResult   `json:"baseline"`
	Cases    []CaseResult `json:"cases"`
	// SelfCheck compares the testbed's measured baseline with a
	// simulation of the topology file itself: how faithfully the testbed
	// runs what the topology describes (nothing to do with traces).
	SelfCheck CaseResult `json:"self_check"`
	// Repeat compares a second run of the unchanged testbed with the
	// first (measured → measured again), when Config.RepeatBaseline.
	Repeat []Noise `json:"repeat,omitempty"`
	// Model is the model built from the baseline's traces.
	Model *topology.Model `json:"-"`
	// Utilization is each service's busy fraction in the baseline, as the
	// model predicts it (the testbed's own counters are not used).
	Utilization map[string]float64 `json:"utilization"`
	// Quality is what Assemble said of the baseline's traces.
	Quality trace.Quality `json:"-"`
}

// Noise is the difference between two runs of the same system, in
// percent of the first.
type Noise struct {
	Endpoint string  `json:"endpoint"`
	First    Stats   `json:"first"`
	Second   Stats   `json:"second"`
	P50Pct   float64 `json:"p50_pct"`
	P99Pct   float64 `json:"p99_pct"`
	MeanPct  float64 `json:"mean_pct"`
}

// DescribeWorkload says in words what w offers.
func DescribeWorkload(w testbed.Workload) string {
	var s string
	switch {
	case w.Users > 0:
		s = fmt.Sprintf("closed loop, %d users, think %v", w.Users, w.Think)
	case w.Rate > 0:
		s = fmt.Sprintf("open loop, Poisson %g req/s", w.Rate)
	default:
		s = "open loop at the model's entry rates"
	}
	return s + fmt.Sprintf(", %v measured after %v warm-up", w.Duration, w.Warmup)
}

// Run validates every case: one baseline run of the real system (traced),
// a model from its traces, then per case a prediction and a real run.
func Run(ctx context.Context, cfg Config, cases []Case) (*Result, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Topology == nil {
		return nil, fmt.Errorf("validate: no topology")
	}
	if cfg.Workload.Duration <= 0 {
		return nil, fmt.Errorf("validate: the workload needs a duration (the measured period)")
	}
	if cfg.Replications == 0 {
		cfg.Replications = 10
	}
	if cfg.Replications < 2 {
		return nil, fmt.Errorf("validate: %d replications: intervals need at least 2", cfg.Replications)
	}
	// Every change must make sense on the real topology before anything
	// runs: a typo should not cost a baseline run.
	for _, c := range cases {
		if _, _, err := scenarios.Apply(cfg.Topology, c.Changes); err != nil {
			return nil, fmt.Errorf("validate: %s: %w", c.Name, err)
		}
	}
	res := &Result{Topology: cfg.TopologyPath, Workload: DescribeWorkload(cfg.Workload)}

	baseCfg := cfg
	if cfg.BaselineDuration > 0 {
		baseCfg.Workload.Duration = cfg.BaselineDuration
	}
	if cfg.BaselineWorkload != nil {
		baseCfg.Workload = *cfg.BaselineWorkload
		res.Workload = DescribeWorkload(cfg.Workload) + "; model from traces of " + DescribeWorkload(baseCfg.Workload)
	}
	logf("baseline: running the testbed, traced (%s)", DescribeWorkload(baseCfg.Workload))
	var traces bytes.Buffer
	measured, err := runTestbed(ctx, baseCfg, nil, &traces)
	if err != nil {
		return nil, fmt.Errorf("validate: baseline: %w", err)
	}
	if cfg.Traces != nil {
		if err := cfg.Traces(traces.Bytes()); err != nil {
			return nil, fmt.Errorf("validate: writing the baseline traces: %w", err)
		}
	}
	m, q, err := modelFromTraces(ctx, traces.Bytes(), topology.BuildOptions{Capacity: cfg.Capacity, Workers: cfg.Workers, Pools: cfg.Pools}, baseCfg.Workload.Warmup)
	if err != nil {
		return nil, fmt.Errorf("validate: model from the baseline traces: %w", err)
	}
	res.Model, res.Quality = m, q

	simCfg := simConfig(m, cfg.Seed, cfg.Workload, cfg.Topology)
	// Predictions of the baseline are for the traced run's workload and
	// length, so that the interval is that of the run they are compared
	// to.
	baseSim := simConfig(m, cfg.Seed, baseCfg.Workload, cfg.Topology)
	base, err := sim.Replicate(ctx, baseSim, cfg.Replications)
	if err != nil {
		return nil, fmt.Errorf("validate: simulating the baseline: %w", err)
	}
	res.Utilization = analysis.SummarizeSim(base, simCfg.Seed).Utilization
	res.Baseline = compare("baseline", "", base, measured)

	// The self-check: the topology's own simulation against the same
	// measurement.
	own := baseSim
	own.Model = cfg.Topology
	ownRes, err := sim.Replicate(ctx, own, cfg.Replications)
	if err != nil {
		return nil, fmt.Errorf("validate: simulating the topology itself: %w", err)
	}
	res.SelfCheck = compare("self-check", cfg.TopologyPath, ownRes, measured)

	if cfg.RepeatBaseline {
		logf("baseline: running the testbed again, untraced, as long as a case, for the run-to-run noise")
		again, err := runTestbed(ctx, cfg, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("validate: repeating the baseline: %w", err)
		}
		first := measured
		if cfg.BaselineWorkload != nil {
			// The traced baseline ran another workload: measure the
			// cases' workload twice.
			if first, err = runTestbed(ctx, cfg, nil, nil); err != nil {
				return nil, fmt.Errorf("validate: repeating the baseline: %w", err)
			}
		}
		res.Repeat = noise(first, again)
	}

	for _, c := range cases {
		logf("%s: predicting", c.Name)
		runs, err := scenarios.Simulate(ctx, simCfg, cfg.Replications, c.Changes)
		if err != nil {
			return nil, fmt.Errorf("validate: %s: %w", c.Name, err)
		}
		for _, w := range runs.Warnings {
			logf("%s: with the changes: %s", c.Name, w)
		}
		logf("%s: running the testbed with the change applied for real", c.Name)
		t0 := time.Now()
		meas, err := runTestbed(ctx, cfg, c.Changes, nil)
		if err != nil {
			return nil, fmt.Errorf("validate: %s: %w", c.Name, err)
		}
		cr := compare(c.Name, c.Path, runs.Predicted, meas)
		cr.Wall = time.Since(t0)
		withNoise(&cr, res.Repeat)
		res.Cases = append(res.Cases, cr)
	}
	return res, nil
}

// simConfig is the simulation of the model m under the testbed workload
// w (the topology's entry rates, if w gives neither rate nor users).
func simConfig(m *topology.Model, seed uint64, w testbed.Workload, top *topology.Model) sim.Config {
	c := sim.Config{Model: m, Seed: max(seed, 1), Duration: w.Duration, Warmup: w.Warmup,
		Workload: sim.Workload{Rate: w.Rate, Users: w.Users, Think: w.Think}}
	if w.Rate == 0 && w.Users == 0 {
		// The testbed ran the topology's entry rates; the model only
		// knows the rates it estimated from the traces. Run those the
		// testbed ran, split as the model's entry shares.
		c.Workload.Rate = entryRate(top)
	}
	return c
}

// withNoise sets each check's noise from the run-to-run noise of its
// endpoint, and whether its errors are within the goal or that noise.
func withNoise(cr *CaseResult, repeat []Noise) {
	for i := range cr.Endpoints {
		ck := &cr.Endpoints[i]
		ck.WithinNoise = ck.Pass
		for _, n := range repeat {
			if n.Endpoint != ck.Endpoint {
				continue
			}
			ck.NoisePct = map[string]float64{"mean": n.MeanPct, "p50": n.P50Pct, "p99": n.P99Pct}
			ok := func(stat string, goal float64) bool {
				e := math.Abs(ck.ErrorPct[stat])
				return e <= 100*goal || e <= math.Abs(ck.NoisePct[stat])
			}
			ck.WithinNoise = ok("p50", GoalP50) && ok("p99", GoalP99)
		}
	}
}

// noise compares two measurements of the same system.
func noise(a, b *testbed.Result) []Noise {
	var out []Noise
	for _, e := range a.Endpoints {
		f := b.Endpoint(e.Op)
		if f == nil {
			continue
		}
		n := Noise{Endpoint: e.Op, First: measuredStats(&e), Second: measuredStats(f)}
		pct := func(x, y float64) float64 {
			if x == 0 {
				return 0
			}
			return 100 * (y - x) / x
		}
		n.MeanPct, n.P50Pct, n.P99Pct = pct(n.First.Mean, n.Second.Mean), pct(n.First.P50, n.Second.P50), pct(n.First.P99, n.Second.P99)
		out = append(out, n)
	}
	return out
}

func measuredStats(e *testbed.EndpointResult) Stats {
	s := Stats{Requests: int64(e.Requests), Mean: ms(e.Mean()), P50: ms(e.Quantile(0.5)), P90: ms(e.Quantile(0.9)), P99: ms(e.Quantile(0.99))}
	if e.Requests > 0 {
		s.ErrorRate = float64(e.Errors) / float64(e.Requests)
	}
	return s
}

func entryRate(m *topology.Model) float64 {
	var r float64
	for _, op := range m.Operations {
		if op != nil && op.Entry != nil {
			r += op.Entry.Rate
		}
	}
	return r
}

// runTestbed starts the real system with changes, offers the workload,
// and stops it.
func runTestbed(ctx context.Context, cfg Config, changes []scenarios.Change, traces *bytes.Buffer) (*testbed.Result, error) {
	opt := testbed.Options{Seed: cfg.Seed, Changes: changes, PeerSpans: cfg.PeerSpans}
	if traces != nil {
		opt.Traces = traces
	}
	sys, err := testbed.Start(ctx, cfg.Topology, opt)
	if err != nil {
		return nil, err
	}
	r, err := sys.Load(ctx, cfg.Workload)
	// Close flushes the exporter: the traces are complete only after it.
	cerr := sys.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	return r, nil
}

// modelFromTraces decodes and assembles OTLP JSON lines and builds a
// model, exactly as `tracesim model` would from the same file.
//
// Traces that began in the warm-up are left out, as a user would model a
// system from its steady state: the first requests of a freshly started
// process pay for connection setup and cold paths, which are not part of
// its behaviour under load.
func modelFromTraces(ctx context.Context, data []byte, opt topology.BuildOptions, warmup time.Duration) (*topology.Model, trace.Quality, error) {
	c := &trace.Collector{}
	if _, err := load.Read(ctx, bytes.NewReader(data), "otlp", 0, c); err != nil {
		return nil, trace.Quality{}, err
	}
	tr, err := trace.Assemble(ctx, c, trace.Options{})
	if err != nil {
		return nil, trace.Quality{}, err
	}
	dropWarmup(tr, warmup)
	m, _, err := topology.Build(ctx, tr, opt)
	if err != nil {
		return nil, tr.Quality, err
	}
	return m, tr.Quality, nil
}

// compare pairs each endpoint's predicted replications with what the
// testbed measured.
func compare(name, path string, pred []*sim.Result, meas *testbed.Result) CaseResult {
	out := CaseResult{Name: name, Scenario: path}
	sum := analysis.SummarizeSim(pred, 0)
	for _, e := range meas.Endpoints {
		ck := Check{Endpoint: e.Op, PI95: map[string][2]float64{}, CI95: map[string][2]float64{},
			ErrorPct: map[string]float64{}, Inside: map[string]bool{}}
		ck.Measured = measuredStats(&e)
		i := slices.IndexFunc(sum.Endpoints, func(s analysis.SimEndpoint) bool { return s.Endpoint == e.Op })
		if i < 0 {
			out.Endpoints = append(out.Endpoints, ck)
			continue
		}
		se := sum.Endpoints[i]
		ck.Predicted = Stats{Requests: se.Requests, ErrorRate: se.ErrorRate, Mean: se.Latency.Mean,
			P50: se.Latency.P50, P90: se.Latency.P90, P99: se.Latency.P99}
		per := perReplication(pred, e.Op)
		for _, st := range []struct {
			name string
			m, p float64
			x    []float64
		}{
			{"mean", ck.Measured.Mean, ck.Predicted.Mean, per.mean},
			{"p50", ck.Measured.P50, ck.Predicted.P50, per.p50},
			{"p90", ck.Measured.P90, ck.Predicted.P90, per.p90},
			{"p99", ck.Measured.P99, ck.Predicted.P99, per.p99},
		} {
			ck.CI95[st.name] = [2]float64(analysis.TInterval(st.x))
			pi := predictionInterval(st.x)
			ck.PI95[st.name] = pi
			if st.m > 0 {
				ck.ErrorPct[st.name] = 100 * (st.p - st.m) / st.m
			}
			ck.Inside[st.name] = st.m >= pi[0] && st.m <= pi[1]
		}
		ck.Pass = math.Abs(ck.ErrorPct["p50"]) <= 100*GoalP50 && math.Abs(ck.ErrorPct["p99"]) <= 100*GoalP99
		out.Endpoints = append(out.Endpoints, ck)
	}
	return out
}

// dropWarmup keeps the traces whose first root started at least warmup
// after the first root of all.
func dropWarmup(tr *trace.Result, warmup time.Duration) {
	if warmup <= 0 || len(tr.Traces) == 0 {
		return
	}
	first := func(t *trace.Trace) int64 {
		if len(t.Roots) == 0 {
			return math.MaxInt64
		}
		return t.Spans[t.Roots[0]].Start
	}
	t0 := int64(math.MaxInt64)
	for i := range tr.Traces {
		t0 = min(t0, first(&tr.Traces[i]))
	}
	tr.Traces = slices.DeleteFunc(tr.Traces, func(t trace.Trace) bool { return first(&t) < t0+int64(warmup) })
}

type series struct{ mean, p50, p90, p99 []float64 }

func perReplication(rs []*sim.Result, op string) series {
	var s series
	for _, r := range rs {
		for _, e := range r.Endpoints {
			if e.Name != op || e.Latency.Count() == 0 {
				continue
			}
			s.mean = append(s.mean, e.Latency.Mean()/1e6)
			s.p50 = append(s.p50, e.Latency.Quantile(0.5)/1e6)
			s.p90 = append(s.p90, e.Latency.Quantile(0.9)/1e6)
			s.p99 = append(s.p99, e.Latency.Quantile(0.99)/1e6)
		}
	}
	return s
}

// predictionInterval is the 95% interval for one more replication:
// mean ± t(0.975, k−1) · s · √(1 + 1/k).
func predictionInterval(x []float64) [2]float64 {
	ci := analysis.TInterval(x)
	k := float64(len(x))
	if k < 2 {
		return [2]float64(ci)
	}
	mid := (ci[0] + ci[1]) / 2
	// TInterval's half-width is t·s/√k; widen it to t·s·√(1+1/k).
	half := (ci[1] - ci[0]) / 2 * math.Sqrt(k+1)
	return [2]float64{mid - half, mid + half}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
