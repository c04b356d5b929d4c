package model

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
}
