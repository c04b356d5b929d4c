package whatif

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/cmdutil"
)

func run(t *testing.T, o Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.IO = &cmdutil.IO{Out: &out, ErrOut: &bytes.Buffer{}}
	err := Run(context.Background(), &o)
	return out.String(), err
}

// TestCommonRandomNumbers: speeding up d changes c/z (its caller) by half
// of d's 10 ms mean, significantly, while a/x, whose path the change does
// not touch, sees the same draws: its deltas are exactly 0 and not
// significant.
func TestCommonRandomNumbers(t *testing.T) {
	out, err := run(t, Options{Scenarios: []string{"testdata/speedup-d.yaml"}, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Scenario  string
		Endpoints []struct {
			Endpoint string
			Baseline struct {
				Requests int64
				Latency  struct{ Mean, P50, P99 float64 } `json:"latency_ms"`
			}
			Predicted struct {
				Requests int64
				Latency  struct{ Mean, P50, P99 float64 } `json:"latency_ms"`
			}
			DeltaPct    struct{ Mean, P50, P99 float64 } `json:"delta_pct"`
			DeltaMS     struct{ Mean, P50, P99 float64 } `json:"delta_ms"`
			Significant struct{ P50, P99 bool }
		}
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if c.Scenario != "faster-d" || len(c.Endpoints) != 2 {
		t.Fatalf("%+v", c)
	}
	a, z := c.Endpoints[0], c.Endpoints[1]
	if a.Endpoint != "a/x" || a.DeltaMS.Mean != 0 || a.DeltaMS.P50 != 0 || a.DeltaMS.P99 != 0 || a.Significant.P50 || a.Significant.P99 {
		t.Errorf("untouched endpoint a/x: %+v", a)
	}
	if a.Baseline.Requests != a.Predicted.Requests {
		t.Errorf("a/x saw different arrivals: %d vs %d", a.Baseline.Requests, a.Predicted.Requests)
	}
	// d's mean work halves from 10 ms to 5 ms: c/z's mean drops by 5 ms.
	if math.Abs(z.DeltaMS.Mean+5) > 0.25 || !z.Significant.P50 || !z.Significant.P99 {
		t.Errorf("c/z: delta %+v significant %+v, want about -5 ms, significant", z.DeltaMS, z.Significant)
	}
}

func TestTableAndErrors(t *testing.T) {
	out, err := run(t, Options{Scenarios: []string{"testdata/speedup-d.yaml", "testdata/speedup-d.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "scenario faster-d") != 2 || !strings.Contains(out, "(n.s.)") {
		t.Errorf("table:\n%s", out)
	}
	if _, err := run(t, Options{Scenarios: []string{"testdata/typo.yaml"}}); err == nil || !strings.Contains(err.Error(), `did you mean "d"`) {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := run(t, Options{Scenarios: []string{"testdata/none.yaml"}}); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestExamples: every example scenario in the repository runs.
func TestExamples(t *testing.T) {
	for _, f := range []string{"parallelize", "cache", "batch", "disable", "scale-load", "speedup", "latency", "error"} {
		if _, err := run(t, Options{Scenarios: []string{"../../../examples/scenarios/" + f + ".yaml"}, Replications: 2, Duration: 5e9}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	shop, err := filepath.Glob("../../../examples/shop/scenarios/*.yaml")
	if err != nil || len(shop) < 10 {
		t.Fatalf("examples/shop/scenarios: %d files (%v), want one per change kind", len(shop), err)
	}
	for _, f := range shop {
		if _, err := run(t, Options{Scenarios: []string{f}, Replications: 2, Duration: 5e9}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestReplayScenario replays the example recording with and without a
// cache: the cached endpoint gets significantly faster, and the endpoint
// that never calls the cached operation replays the very same requests,
// so its delta is exactly 0 and not significant.
func TestReplayScenario(t *testing.T) {
	out, err := run(t, Options{Scenarios: []string{"../../../examples/scenarios/replay-cache.yaml"}, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Replications int `json:"replications"`
		Endpoints    []struct {
			Endpoint    string             `json:"endpoint"`
			DeltaPct    map[string]float64 `json:"delta_pct"`
			Significant map[string]bool    `json:"significant"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c.Replications != 10 || len(c.Endpoints) != 2 {
		t.Fatalf("want 10 replications of 2 endpoints, got %d of %d\n%s", c.Replications, len(c.Endpoints), out)
	}
	for _, e := range c.Endpoints {
		pct, sig := e.DeltaPct["mean"], e.Significant["mean"]
		switch e.Endpoint {
		case "frontend/GET /api/items":
			if !sig || pct > -5 {
				t.Errorf("cached endpoint: mean delta %+.1f%%, significant %v; want a significant drop", pct, sig)
			}
		default:
			if sig || pct != 0 {
				t.Errorf("%s: mean delta %+.3f%%, significant %v; want exactly 0, not significant", e.Endpoint, pct, sig)
			}
		}
	}
}
