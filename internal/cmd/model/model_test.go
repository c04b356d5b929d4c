package model

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/topology"
)

func run(t *testing.T, opts *Options) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.IO = &cmdutil.IO{Out: &out, ErrOut: &errOut}
	err := Run(context.Background(), opts)
	return out.String(), errOut.String(), err
}

// TestRoundTrip is issue #4's acceptance check: model → YAML → load →
// YAML is byte-identical, and the output is the same on every run.
func TestRoundTrip(t *testing.T) {
	out, summary, err := run(t, &Options{Inputs: []string{"../../../examples/traces"}, Workers: map[string]int{"svc-09": 4}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary, "300 traces") || !strings.Contains(summary, "operations") {
		t.Errorf("summary: %q", summary)
	}
	m, err := topology.Read(strings.NewReader(out), "model.yaml")
	if err != nil {
		t.Fatalf("the written model does not load: %v", err)
	}
	if m.Services["svc-09"].Workers != 4 {
		t.Errorf("--workers svc-09=4 not applied: %+v", m.Services["svc-09"])
	}
	var again bytes.Buffer
	if err := topology.Write(&again, m); err != nil {
		t.Fatal(err)
	}
	if again.String() != out {
		t.Errorf("YAML → load → YAML differs")
	}
	second, _, err := run(t, &Options{Inputs: []string{"../../../examples/traces"}, Workers: map[string]int{"svc-09": 4}})
	if err != nil || second != out {
		t.Errorf("two runs gave different models (err %v)", err)
	}
}

// TestSharedFixtures: every real fixture gives a model that loads back.
func TestSharedFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/traces/*/*.json*")
	if len(files) == 0 {
		t.Skip("shared/traces fixtures not found beside the repository")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.yaml")
			if _, _, err := run(t, &Options{Inputs: []string{f}, Output: path}); err != nil {
				t.Fatal(err)
			}
			if _, err := topology.ReadFile(path); err != nil {
				t.Fatalf("model does not load back: %v", err)
			}
		})
	}
	// All of them at once, mixed formats.
	if _, _, err := run(t, &Options{Inputs: []string{"../../../../shared/traces"}, Output: filepath.Join(t.TempDir(), "all.yaml")}); err != nil {
		t.Fatal(err)
	}
}

func TestBadFlags(t *testing.T) {
	_, _, err := run(t, &Options{Inputs: []string{"../../../examples/traces"}, Workers: map[string]int{"svc-9": 4}})
	if err == nil || !strings.Contains(err.Error(), `did you mean "svc-09"`) {
		t.Errorf("unknown service: %v", err)
	}
	_, _, err = run(t, &Options{Inputs: []string{"../../../examples/traces"}, Workers: map[string]int{"db": 0}})
	if err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("workers 0: %v", err)
	}
	_, _, err = run(t, &Options{Inputs: []string{"missing.json"}})
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing input: %v", err)
	}
	if _, err := os.Stat("missing.json"); err == nil {
		t.Fatal("test setup: missing.json exists")
	}
}

// TestExampleModelUpToDate: examples/model.yaml is what its documented
// command makes from examples/traces (see examples/README.md).
func TestExampleModelUpToDate(t *testing.T) {
	out, _, err := run(t, &Options{Inputs: []string{"../../../examples/traces"},
		Workers: map[string]int{"frontend": 8, "svc-08": 4, "svc-09": 4}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../examples/model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Error("examples/model.yaml is stale: regenerate it with the command in examples/README.md")
	}
	out, _, err = run(t, &Options{Inputs: []string{"../../../examples/shop/traces.jsonl.gz"}, Capacity: topology.CapacityObserved})
	if err != nil {
		t.Fatal(err)
	}
	if want, err = os.ReadFile("../../../examples/shop/model.yaml"); err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Error("examples/shop/model.yaml is stale: regenerate it with the command in examples/shop/README.md")
	}
}

// TestCapacityInferred recovers capacity from traces alone: a simulated
// frontend → db system where db has 2 workers at 70% utilisation and
// the frontend is unlimited. By default the model gives db 2 workers,
// leaves the frontend unlimited, and takes the waits out of the
// frontend→db network (the true network is a constant 0.5 ms; the queued
// calls' gaps are far longer). With --capacity none it does neither.
func TestCapacityInferred(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "true.yaml")
	if err := os.WriteFile(model, []byte(`version: 1
services:
  fe: {}
  db: {workers: 2}
operations:
  fe/GET:
    entry: {rate: 140/s}
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 2ms}}
          - call: db/Q
            network: {constant: 500us}
  db/Q:
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 10ms}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(dir, "traces.json")
	var out bytes.Buffer
	sio := &cmdutil.IO{Out: &out, ErrOut: &out}
	if err := simulate.Run(context.Background(), &simulate.Options{IO: sio, Model: model, Duration: 60e9, Seed: 3,
		Replications: 1, RateFactor: 1, Balance: "round-robin", EmitMax: 100000, EmitTraces: traces, EmitFormat: "zipkin"}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, c := range []struct {
		capacity    string
		workers     int
		netBelowNS  float64
		description string
	}{
		{"none", 0, 0, "no capacity"},
		{"", 2, 0.6e6, "inferred"},
	} {
		text, _, err := run(t, &Options{Inputs: []string{traces}, Capacity: c.capacity})
		if err != nil {
			t.Fatal(err)
		}
		m, err := topology.Read(strings.NewReader(text), "model.yaml")
		if err != nil {
			t.Fatal(err)
		}
		db, fe := m.Services["db"], m.Services["fe"]
		if db.Workers != c.workers || fe.Workers != 0 {
			t.Errorf("%s: db workers %d, fe workers %d; want %d and 0 (evidence db %+v, fe %+v)",
				c.description, db.Workers, fe.Workers, c.workers, db.Evidence, fe.Evidence)
		}
		if c.workers > 0 && (db.Evidence == nil || db.Evidence.Servers != 2 || db.Evidence.Queued < 1000 || db.Evidence.WaitShare < 0.3) {
			t.Errorf("%s: db evidence %+v; want 2 servers, thousands queued, and waiting a good share of the time", c.description, db.Evidence)
		}
		if fe.Evidence != nil && fe.Evidence.Queued > 0 {
			t.Errorf("%s: fe evidence %+v; want nothing queued", c.description, fe.Evidence)
		}
		// The 90th percentile: calls that reached db right after the
		// warm-up queued behind requests whose spans were not emitted, so
		// a rare queued call is not recognised as one.
		net := m.Operations["fe/GET"].Shapes[0].Steps[1].Call.Network.Quantile(0.9)
		if c.netBelowNS > 0 && net > c.netBelowNS {
			t.Errorf("%s: fitted network p90 %.0f ns, want the 0.5 ms of the calls that did not queue", c.description, net)
		}
		if c.netBelowNS == 0 && net < 5e6 {
			t.Errorf("%s: fitted network p90 %.0f ns, want the queueing in it (> 5 ms)", c.description, net)
		}
	}
}
