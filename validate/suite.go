package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/testbed"
	"github.com/tracesim/tracesim/topology"
)

// Suite is a validation suite file: runs, each a topology, a workload
// and the scenarios to validate under it.
type Suite struct {
	Path string
	Runs []SuiteRun
	// BaselineDuration and RepeatBaseline apply to every run; see Config.
	BaselineDuration time.Duration
	RepeatBaseline   bool
}

// SuiteRun is one baseline and its cases.
type SuiteRun struct {
	Name      string
	Topology  string // resolved against the suite file's directory
	Workload  testbed.Workload
	Scenarios []string // resolved likewise
	// Baseline, when set, is the workload of the traced baseline (see
	// Config.BaselineWorkload).
	Baseline *testbed.Workload
	// Workers, Pools and Capacity go to the model built from the traces
	// (see Config).
	Workers  map[string]int
	Pools    map[string]int
	Capacity string
	// PeerSpans chooses how calls to each peer are traced (see
	// testbed.Options.PeerSpans).
	PeerSpans map[string]string
}

// workloadFile is a workload as a suite file writes it.
type workloadFile struct {
	Rate     string `yaml:"rate"`
	Users    int    `yaml:"users"`
	Think    string `yaml:"think"`
	Duration string `yaml:"duration"`
	Warmup   string `yaml:"warmup"`
}

type suiteFile struct {
	BaselineDuration string `yaml:"baseline_duration"`
	RepeatBaseline   bool   `yaml:"repeat_baseline"`
	Runs             []struct {
		Name     string        `yaml:"name"`
		Topology string        `yaml:"topology"`
		Workload workloadFile  `yaml:"workload"`
		Baseline *workloadFile `yaml:"baseline"`
		Model    struct {
			Workers  map[string]int `yaml:"workers"`
			Pools    map[string]int `yaml:"pools"`
			Capacity string         `yaml:"capacity"`
		} `yaml:"model"`
		Scenarios []string          `yaml:"scenarios"`
		PeerSpans map[string]string `yaml:"peer_spans"`
	} `yaml:"runs"`
}

// LoadSuite reads a suite file.
func LoadSuite(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f suiteFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(f.Runs) == 0 {
		return nil, fmt.Errorf("%s: no runs: expected runs: a list of {name, topology, workload, scenarios}", path)
	}
	dir := filepath.Dir(path)
	s := &Suite{Path: path, RepeatBaseline: f.RepeatBaseline}
	if f.BaselineDuration != "" {
		d, err := time.ParseDuration(f.BaselineDuration)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: baseline_duration %q: expected a duration > 0 like 30s", path, f.BaselineDuration)
		}
		s.BaselineDuration = d
	}
	for i, r := range f.Runs {
		where := fmt.Sprintf("%s: run %d (%s)", path, i+1, r.Name)
		if r.Name == "" || r.Topology == "" || len(r.Scenarios) == 0 {
			return nil, fmt.Errorf("%s: needs name, topology and scenarios", where)
		}
		w, err := parseWorkload(r.Workload.Rate, r.Workload.Users, r.Workload.Think, r.Workload.Duration, r.Workload.Warmup)
		if err != nil {
			return nil, fmt.Errorf("%s: workload: %w", where, err)
		}
		sr := SuiteRun{Name: r.Name, Topology: filepath.Join(dir, r.Topology), Workload: w,
			Workers: r.Model.Workers, Pools: r.Model.Pools, Capacity: r.Model.Capacity, PeerSpans: r.PeerSpans}
		if b := r.Baseline; b != nil {
			bw, err := parseWorkload(b.Rate, b.Users, b.Think, b.Duration, b.Warmup)
			if err != nil {
				return nil, fmt.Errorf("%s: baseline: %w", where, err)
			}
			sr.Baseline = &bw
		}
		if c := r.Model.Capacity; c != "" && c != topology.CapacityNone && c != "infer" {
			return nil, fmt.Errorf("%s: model.capacity %q: expected infer or none", where, c)
		}
		for _, sc := range r.Scenarios {
			sr.Scenarios = append(sr.Scenarios, filepath.Join(dir, sc))
		}
		s.Runs = append(s.Runs, sr)
	}
	return s, nil
}

// ParseWorkload reads a workload from text flags: rate like "120/s",
// users, think, duration and warm-up like "20s".
func parseWorkload(rate string, users int, think, duration, warmup string) (testbed.Workload, error) {
	var w testbed.Workload
	var err error
	if rate != "" {
		if w.Rate, err = topology.ParseRate(rate); err != nil {
			return w, fmt.Errorf("rate: %w", err)
		}
	}
	if users < 0 {
		return w, fmt.Errorf("users %d: must be ≥ 0", users)
	}
	w.Users = users
	if w.Rate > 0 && users > 0 {
		return w, errors.New("give rate (open loop) or users (closed loop), not both")
	}
	for _, d := range []struct {
		name, text string
		into       *time.Duration
	}{{"think", think, &w.Think}, {"duration", duration, &w.Duration}, {"warmup", warmup, &w.Warmup}} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil || v < 0 {
			return w, fmt.Errorf("%s %q: expected a duration ≥ 0 like 20s", d.name, d.text)
		}
		*d.into = v
	}
	if w.Duration == 0 {
		return w, errors.New("duration: required (the measured period, like 20s)")
	}
	return w, nil
}

// ParseWorkload is parseWorkload for the command line.
func ParseWorkload(rate string, users int, think, duration, warmup time.Duration) (testbed.Workload, error) {
	str := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return parseWorkload(rate, users, str(think), str(duration), str(warmup))
}

// LoadCases reads scenario files as validation cases: their changes are
// used; their model and workload are not (validate has its own).
func LoadCases(paths []string) ([]Case, error) {
	var out []Case
	for _, p := range paths {
		s, err := scenarios.Load(p)
		if err != nil {
			return nil, err
		}
		if len(s.Changes) == 0 {
			return nil, fmt.Errorf("%s: no changes to validate", p)
		}
		name := s.Name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		out = append(out, Case{Name: name, Path: p, Changes: s.Changes})
	}
	return out, nil
}

// RunSuite runs every run of s in order, calling done after each.
func RunSuite(ctx context.Context, s *Suite, base Config, done func(SuiteRun, *Result)) ([]*Result, error) {
	var out []*Result
	for _, r := range s.Runs {
		m, err := topology.ReadFile(r.Topology)
		if err != nil {
			return nil, fmt.Errorf("%s: run %s: %w", s.Path, r.Name, err)
		}
		cases, err := LoadCases(r.Scenarios)
		if err != nil {
			return nil, fmt.Errorf("%s: run %s: %w", s.Path, r.Name, err)
		}
		cfg := base
		cfg.Topology, cfg.TopologyPath, cfg.Workload = m, r.Topology, r.Workload
		cfg.BaselineWorkload, cfg.Workers, cfg.Pools, cfg.PeerSpans = r.Baseline, r.Workers, r.Pools, r.PeerSpans
		if r.Capacity == topology.CapacityNone {
			cfg.Capacity = topology.CapacityNone
		}
		if s.BaselineDuration > 0 {
			cfg.BaselineDuration = s.BaselineDuration
		}
		cfg.RepeatBaseline = cfg.RepeatBaseline || s.RepeatBaseline
		res, err := Run(ctx, cfg, cases)
		if err != nil {
			return nil, fmt.Errorf("%s: run %s: %w", s.Path, r.Name, err)
		}
		res.Name = r.Name
		if done != nil {
			done(r, res)
		}
		out = append(out, res)
	}
	return out, nil
}

// Markdown writes results as one Markdown table: per run, the testbed's
// self-check (the topology's own simulation against the measured
// baseline) and run-to-run noise (the baseline measured again), then a
// row per case and endpoint (the baseline modelled from traces first),
// with measured and predicted p50 and p99, their errors, whether the
// measurement fell in the 95% prediction interval, and whether the case
// meets the goals.
func Markdown(w io.Writer, results []*Result) error {
	var b strings.Builder
	b.WriteString("| run | case | endpoint | p50 ms measured → predicted | err p50 | p99 ms measured → predicted | err p99 | noise p50, p99 | in PI95 (p50, p99) | goal |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		for _, e := range r.SelfCheck.Endpoints {
			fmt.Fprintf(&b, "| %s | *self-check: topology simulated* | %s | %.2f → %.2f | %+.1f%% | %.2f → %.2f | %+.1f%% | — | %s, %s | — |\n",
				r.Name, e.Endpoint, e.Measured.P50, e.Predicted.P50, e.ErrorPct["p50"],
				e.Measured.P99, e.Predicted.P99, e.ErrorPct["p99"], yes(e.Inside["p50"]), yes(e.Inside["p99"]))
		}
		for _, n := range r.Repeat {
			fmt.Fprintf(&b, "| %s | *noise: baseline run again* | %s | %.2f → %.2f | %+.1f%% | %.2f → %.2f | %+.1f%% | — | — | — |\n",
				r.Name, n.Endpoint, n.First.P50, n.Second.P50, n.P50Pct, n.First.P99, n.Second.P99, n.P99Pct)
		}
		for _, c := range append([]CaseResult{r.Baseline}, r.Cases...) {
			name := c.Name
			if name == "baseline" {
				name = "baseline (model from traces)"
			}
			for _, e := range c.Endpoints {
				goal := "miss"
				switch {
				case e.Pass:
					goal = "ok"
				case e.WithinNoise:
					goal = "ok (noise)"
				}
				noise := "—"
				if e.NoisePct != nil {
					noise = fmt.Sprintf("%.1f%%, %.1f%%", math.Abs(e.NoisePct["p50"]), math.Abs(e.NoisePct["p99"]))
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.2f → %.2f | %+.1f%% | %.2f → %.2f | %+.1f%% | %s | %s, %s | %s |\n",
					r.Name, name, e.Endpoint, e.Measured.P50, e.Predicted.P50, e.ErrorPct["p50"],
					e.Measured.P99, e.Predicted.P99, e.ErrorPct["p99"], noise, yes(e.Inside["p50"]), yes(e.Inside["p99"]), goal)
			}
		}
	}
	pass, total := Summary(results)
	noisy := SummaryNoise(results)
	fmt.Fprintf(&b, "\n%d of %d case endpoints meet the goal (|error| ≤ %.0f%% at p50 and ≤ %.0f%% at p99); %d more are within the run-to-run noise measured for their run.\n",
		pass, total, 100*GoalP50, 100*GoalP99, noisy-pass)
	_, err := io.WriteString(w, b.String())
	return err
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// SummaryNoise counts the case endpoints (baselines excluded) meeting
// the goal or within their run's noise.
func SummaryNoise(results []*Result) int {
	n := 0
	for _, r := range results {
		for _, c := range r.Cases {
			for _, e := range c.Endpoints {
				if e.WithinNoise {
					n++
				}
			}
		}
	}
	return n
}

// Summary counts the case endpoints (baselines excluded) meeting the goal.
func Summary(results []*Result) (pass, total int) {
	for _, r := range results {
		for _, c := range r.Cases {
			for _, e := range c.Endpoints {
				total++
				if e.Pass {
					pass++
				}
			}
		}
	}
	return pass, total
}
