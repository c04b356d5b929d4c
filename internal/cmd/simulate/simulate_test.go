package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/internal/cmdutil"
)

func run(t *testing.T, o Options) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o.IO = &cmdutil.IO{Out: &out, ErrOut: &errOut}
	if o.Balance == "" {
		o.Balance = "round-robin"
	}
	if o.Replications == 0 {
		o.Replications = 10
	}
	err := Run(context.Background(), &o)
	return out.String(), errOut.String(), err
}

type doc struct {
	Endpoints []struct {
		Endpoint  string
		Requests  int64
		ErrorRate float64                                     `json:"error_rate"`
		Latency   struct{ Mean, P50, P90, P99, P999 float64 } `json:"latency_ms"`
		CI        struct{ Mean, P50, P99 [2]float64 }         `json:"ci95_ms"`
	}
	Events int64
	Seed   uint64
}

// TestMM1JSON runs the M/M/1 model (μ = 100/s, λ = 80/s) through the
// command: the sojourn time is exponential with mean 1/(μ−λ) = 50 ms, so
// p50 = 50·ln 2 and p99 = 50·ln 100; each must lie in its 95% interval
// (a 5% chance each of a false failure is avoided by the fixed seed).
func TestMM1JSON(t *testing.T) {
	out, _, err := run(t, Options{Model: "testdata/mm1.yaml", Duration: 500 * time.Second, Seed: 1, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Endpoints) != 1 || d.Seed != 1 || d.Events == 0 {
		t.Fatalf("document %+v", d)
	}
	e := d.Endpoints[0]
	for _, c := range []struct {
		name   string
		ci     [2]float64
		theory float64
	}{{"mean", e.CI.Mean, 50}, {"p50", e.CI.P50, 50 * math.Ln2}, {"p99", e.CI.P99, 50 * math.Log(100)}} {
		if c.theory < c.ci[0] || c.theory > c.ci[1] {
			t.Errorf("%s: theory %.2f ms outside the 95%% CI %v", c.name, c.theory, c.ci)
		}
	}
	// 10 × 500 s measured (after the warm-up) at 80/s.
	if e.Requests < 390000 || e.Requests > 410000 || e.ErrorRate != 0 {
		t.Errorf("requests %d error rate %v", e.Requests, e.ErrorRate)
	}
}

func TestDeterministic(t *testing.T) {
	o := Options{Model: "testdata/mm1.yaml", Duration: 50 * time.Second, Seed: 7, JSON: true, Replications: 3}
	a, _, err := run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := run(t, o)
	if a != b {
		t.Error("same seed gave different output")
	}
	o.Seed = 8
	c, _, _ := run(t, o)
	if c == a {
		t.Error("different seeds gave identical output")
	}
}

func TestTable(t *testing.T) {
	out, _, err := run(t, Options{Model: "testdata/mm1.yaml", Duration: 20 * time.Second, Seed: 1, Replications: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 replications", "server/work", "±", "utilization: server"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"negative rate", Options{Model: "testdata/mm1.yaml", Rate: "-5/s", Duration: time.Second}, "≥ 0"},
		{"zero rate", Options{Model: "testdata/mm1.yaml", Rate: "0", Duration: time.Second}, "positive"},
		{"bad unit", Options{Model: "testdata/mm1.yaml", Rate: "5/week", Duration: time.Second}, "per s, ms, min or h"},
		{"no replications", Options{Model: "testdata/mm1.yaml", Replications: -1, Duration: time.Second}, "at least 1"},
		{"rate and users", Options{Model: "testdata/mm1.yaml", Rate: "5", Users: 3, Duration: time.Second}, "exclude each other"},
		{"no entry", Options{Model: "testdata/no-entry.yaml", Duration: time.Second}, "no entry operation"},
		{"missing model", Options{Model: "testdata/nope.yaml", Duration: time.Second}, "nope.yaml"},
		{"bad balance", Options{Model: "testdata/mm1.yaml", Balance: "random", Duration: time.Second}, "least-loaded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := run(t, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"200": 200, "200/s": 200, "12000/min": 200, "0.2/ms": 200, " 50 /s": 50} {
		got, err := ParseRate(in)
		if err != nil || math.Abs(got-want) > 1e-9 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestOverload: load beyond capacity still runs (bounded by --duration) and
// says which service is overloaded and how much.
func TestOverload(t *testing.T) {
	out, errOut, err := run(t, Options{Model: "testdata/overload.yaml", Duration: 10 * time.Second, Seed: 1, Replications: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, `"server" is overloaded`) || !strings.Contains(errOut, "ρ=1.20") {
		t.Errorf("no overload warning: %q", errOut)
	}
	if !strings.Contains(out, "utilization: server 100.0%") {
		t.Errorf("utilization not reported:\n%s", out)
	}
}

// TestReplay: replaying the example recording with unlimited capacity
// gives back each endpoint's recorded latency (inspect reports a mean of
// 22.646 ms and p99 of 49.314 ms for frontend/GET /api/items).
func TestReplay(t *testing.T) {
	out, _, err := run(t, Options{Replay: []string{"../../../examples/traces"}, RateFactor: 1, JSON: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Endpoints) != 2 || d.Endpoints[0].Endpoint != "frontend/GET /api/items" || d.Endpoints[0].Requests != 150 {
		t.Fatalf("endpoints %+v", d.Endpoints)
	}
	if l := d.Endpoints[0].Latency; math.Abs(l.Mean-22.646) > 0.001 || math.Abs(l.P99-49.314) > 0.001 {
		t.Errorf("replayed latency %+v, recorded mean 22.646 ms p99 49.314 ms", l)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Replay: []string{"../../../examples/traces"}, RateFactor: -1}, "positive factor"},
		{Options{Replay: []string{"../../../examples/traces"}, RateFactor: 1, Rate: "5"}, "--rate-factor"},
		{Options{Replay: []string{"missing.json"}, RateFactor: 1}, "missing.json"},
		{Options{}, "give a model"},
	} {
		if _, _, err := run(t, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
}

func TestEntrySelection(t *testing.T) {
	out, _, err := run(t, Options{Model: "testdata/mm1.yaml", Entries: []string{"server/work=40/s"}, Duration: 200 * time.Second, Seed: 1, JSON: true, Replications: 4})
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	json.Unmarshal([]byte(out), &d)
	// 40/s on μ = 100/s: mean sojourn 1/(100-40) s = 16.7 ms.
	if ci := d.Endpoints[0].CI.Mean; 1000.0/60 < ci[0] || 1000.0/60 > ci[1] {
		t.Errorf("mean CI %v misses 16.67 ms at 40/s", ci)
	}
	_, _, err = run(t, Options{Model: "testdata/mm1.yaml", Entries: []string{"server/wrok"}, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), `did you mean "server/work"`) {
		t.Errorf("unknown entry: %v", err)
	}
}
