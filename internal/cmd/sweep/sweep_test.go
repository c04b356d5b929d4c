package sweep

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

func TestParseRates(t *testing.T) {
	got, err := ParseRates("50:200:50")
	if err != nil || len(got) != 4 || got[0] != 50 || got[3] != 200 {
		t.Errorf("ParseRates = %v, %v", got, err)
	}
	if got, _ := ParseRates("0.1:0.3:0.1"); len(got) != 3 {
		t.Errorf("fractional steps: %v (float rounding must not drop the end)", got)
	}
	for in, want := range map[string]string{
		"50:200": "start:end:step", "a:2:1": "not a number", "0:10:1": "positive",
		"10:5:1": "below start", "1:10:0": "step must be positive", "1:100000:1": "more than 1000",
	} {
		if _, err := ParseRates(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRates(%q) error %v, want %q", in, err, want)
		}
	}
}

// TestMM1Sweep: an M/M/1 server (μ = 100/s) keeps up to 80/s and
// saturates at 100/s; below saturation the mean sojourn follows
// 1/(μ−λ) within its interval.
func TestMM1Sweep(t *testing.T) {
	var out bytes.Buffer
	opts := &Options{IO: &cmdutil.IO{Out: &out, ErrOut: &bytes.Buffer{}}, Model: "testdata/mm1.yaml", Rates: "20:100:20",
		Duration: 300 * time.Second, Seed: 1, Replications: 5, JSON: true}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.SaturationRate == nil || *res.SaturationRate != 100 || res.LastStableRate == nil || *res.LastStableRate != 80 {
		t.Fatalf("saturation %v, last stable %v; want 100 and 80", res.SaturationRate, res.LastStableRate)
	}
	for _, p := range res.Points[:4] {
		theory := 1000 / (100 - p.Rate)
		ci := p.Endpoints[0].CI95.Mean
		if theory < ci[0] || theory > ci[1] {
			t.Errorf("rate %v: mean CI %v misses theory %.2f ms", p.Rate, ci, theory)
		}
		if math.Abs(p.Utilization-p.Rate/100) > 0.01 {
			t.Errorf("rate %v: utilization %v, want %v", p.Rate, p.Utilization, p.Rate/100)
		}
	}
}

func TestTableAndErrors(t *testing.T) {
	var out bytes.Buffer
	opts := &Options{IO: &cmdutil.IO{Out: &out, ErrOut: &bytes.Buffer{}}, Model: "testdata/mm1.yaml", Rates: "50:110:30",
		Duration: 20 * time.Second, Seed: 1, Replications: 2}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "saturation: between 80/s (last stable) and 110/s") {
		t.Errorf("table:\n%s", out.String())
	}
	opts.Model = "testdata/none.yaml"
	if err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing model: %v", err)
	}
	opts.Model, opts.Replications = "testdata/mm1.yaml", 0
	if err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "replications") {
		t.Errorf("zero replications: %v", err)
	}
}
