package validate

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/testbed"
	"github.com/tracesim/tracesim/topology"
)

// TestSmoke is the CI smoke run of validate: the chain topology, one
// speedup case, a few seconds of real traffic. It checks the pipeline end
// to end with tolerances wide enough for a loaded CI machine (a short run
// has a noisy p99). It runs db at ρ ≈ 0.35, not at the suite's 0.7: the
// queueing delay grows as 1/(1−ρ), so at 0.7 the few percent by which a
// busy machine (other packages' tests) stretches every sleep move the
// p50 by 20% and more, run to run. The model built from the traces reproduces the
// measured baseline p50 within 20%, the real speedup cuts the measured
// p50 by more than a third, and the prediction of the changed system's
// p50 is within 20% of the measurement. The suite (validation/) holds the
// real accuracy figures.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real services for about 8 s; skipped with -short")
	}
	m, err := topology.ReadFile("../validation/topologies/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := LoadCases([]string{"../validation/scenarios/chain/speedup.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	var traces []byte
	res, err := Run(context.Background(), Config{Topology: m, TopologyPath: "chain.yaml", Seed: 1, Replications: 4,
		Capacity: topology.CapacityObserved, Workload: testbed.Workload{Rate: 50, Duration: 4 * time.Second, Warmup: time.Second},
		Traces: func(b []byte) error { traces = bytes.Clone(b); return nil }}, cases)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) == 0 || !bytes.Contains(traces, []byte(`"resourceSpans"`)) {
		t.Fatalf("baseline traces: %d bytes, want OTLP JSON", len(traces))
	}
	// The testbed's traces need no repair at all: every counter is 0.
	if q := res.Quality; q.SkippedRecords+q.DuplicateSpans+q.MergedFragments+q.DuplicateIDs+q.MergedSharedSpans+
		q.OrphanSpans+q.SelfParentSpans+q.CycleBreaks+q.SkewAdjustedSpans+q.AsyncSpans+q.MergedTraceIDs != 0 || len(q.Findings) != 0 {
		t.Errorf("trace quality findings: %+v", q)
	}
	if res.Model.Services["db"].Workers != 2 {
		t.Errorf("model db workers %d, want the 2 the traces show", res.Model.Services["db"].Workers)
	}
	if len(res.Cases) != 1 || len(res.Baseline.Endpoints) != 1 || len(res.Cases[0].Endpoints) != 1 {
		t.Fatalf("want one case of one endpoint: %+v", res)
	}
	base, sc := res.Baseline.Endpoints[0], res.Cases[0].Endpoints[0]
	t.Logf("baseline p50 %.2f → %.2f ms, speedup p50 %.2f → %.2f ms", base.Measured.P50, base.Predicted.P50, sc.Measured.P50, sc.Predicted.P50)
	if e := base.ErrorPct["p50"]; math.Abs(e) > 20 || math.IsNaN(e) {
		t.Errorf("baseline p50 error %+.1f%%, want within 20%%", e)
	}
	if sc.Measured.P50 > base.Measured.P50*2/3 {
		t.Errorf("real speedup: p50 %.2f → %.2f ms, want a cut of more than a third", base.Measured.P50, sc.Measured.P50)
	}
	if e := sc.ErrorPct["p50"]; math.Abs(e) > 20 || math.IsNaN(e) {
		t.Errorf("speedup p50 error %+.1f%%, want within 20%%", e)
	}
	var md bytes.Buffer
	if err := Markdown(&md, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| chain-db-2x-faster | frontend/GET /page |") {
		t.Errorf("markdown table lacks the case row:\n%s", md.String())
	}
}

func TestSuiteFileErrors(t *testing.T) {
	s, err := LoadSuite("../validation/suite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	n := 0
	for _, r := range s.Runs {
		cases, err := LoadCases(r.Scenarios)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			n++
			for _, ch := range c.Changes {
				kinds[ch.Kind()] = true
			}
		}
	}
	if n < 10 {
		t.Errorf("%d cases, want at least 10", n)
	}
	for _, k := range []string{"disable", "cache", "batch", "parallelize", "scale", "speedup", "latency", "load"} {
		if !kinds[k] {
			t.Errorf("the suite has no %s case", k)
		}
	}
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"runs: []\n", "no runs"},
		{"runs:\n  - {name: a, topology: t.yaml, workload: {rate: 5/s}, scenarios: [s.yaml]}\n", "duration: required"},
		{"runs:\n  - {name: a, topology: t.yaml, workload: {rate: 5/s, users: 3, duration: 1s}, scenarios: [s.yaml]}\n", "not both"},
		{"runs:\n  - {name: a, topology: t.yaml, workload: {rate: -5/s, duration: 1s}, scenarios: [s.yaml]}\n", "rate"},
		{"runs:\n  - {name: a, topolgy: t.yaml}\n", "topolgy"},
	} {
		p := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSuite(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to mention %q", c.text, err, c.want)
		}
	}
}
