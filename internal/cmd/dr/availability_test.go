package dr

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

func availOpts(out *bytes.Buffer, probs ...string) *Options {
	return &Options{IO: &cmdutil.IO{Out: out, ErrOut: &bytes.Buffer{}}, Model: "testdata/shop.yaml",
		Duration: 2 * time.Second, Seed: 1, JSON: true, Samples: 4000, FailureProb: probs}
}

func runAvailability(t *testing.T, o *Options) []byte {
	t.Helper()
	if err := RunAvailability(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o.IO.Out.(*bytes.Buffer).Bytes()
}

// shop.yaml: frontend/home calls auth (required) and recs (optional).
// With only auth failing (p = 0.2, one instance) availability is 0.8;
// each sample is 1 or 0 (sd 0.4), so 4000 samples give a 95% half-width
// of ≈ 0.0124, and the test allows 0.025.
func TestAvailabilityCommand(t *testing.T) {
	var out bytes.Buffer
	var got AvailabilityOutput
	if err := json.Unmarshal(runAvailability(t, availOpts(&out, "auth=0.2", "recs=0.5")), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(got.Endpoints) != 1 || got.Endpoints[0].Endpoint != "frontend/home" {
		t.Fatalf("endpoints %+v", got.Endpoints)
	}
	e := got.Endpoints[0]
	if math.Abs(e.Availability-0.8) > 0.025 || e.CI95[0] > 0.8 || e.CI95[1] < 0.8 || e.AllUp != 1 {
		t.Errorf("frontend/home: %+v, want availability 0.8 ± 0.025 inside its CI, all up 1", e)
	}
	// auth and recs each up or down: four states.
	if got.Samples != 4000 || got.States != 4 || got.DurationS != 2 || got.FailureProbs.Services["auth"] != 0.2 {
		t.Errorf("report: %d samples, %d states, %v s, probs %+v", got.Samples, got.States, got.DurationS, got.FailureProbs)
	}
}

// The same inputs and seed give byte-identical JSON.
func TestAvailabilityCommandDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	ja := runAvailability(t, availOpts(&a, "0.05", "auth=0.2"))
	jb := runAvailability(t, availOpts(&b, "0.05", "auth=0.2"))
	if !bytes.Equal(ja, jb) {
		t.Errorf("two runs differ:\n%s\n%s", ja, jb)
	}
}

func TestAvailabilityCommandTable(t *testing.T) {
	var out bytes.Buffer
	o := availOpts(&out, "0")
	o.JSON = false
	s := string(runAvailability(t, o))
	for _, want := range []string{"ENDPOINT", "95% CI", "frontend/home", "frontend/home  1.0000        [1.0000, 1.0000]  1.0000", "1 distinct states"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

func TestAvailabilityCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		probs []string
		want  string
	}{
		{nil, "none given"},
		{[]string{"1.2"}, `"1.2" is not a probability`},
		{[]string{"x"}, `"x" is not a probability`},
		{[]string{"0.1", "0.2"}, "already set"},
		{[]string{"auth=0.1", "auth=0.2"}, "service auth is already set"},
		{[]string{"=0.1"}, "no service before"},
		{[]string{"auht=0.1"}, `did you mean "auth"`},
	} {
		var out bytes.Buffer
		err := RunAvailability(context.Background(), availOpts(&out, tc.probs...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--failure-prob %q: error %v, want %q", tc.probs, err, tc.want)
		}
	}
	var out bytes.Buffer
	o := availOpts(&out, "0.1")
	o.Samples = 0
	if err := RunAvailability(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--samples 0") {
		t.Errorf("--samples 0: error %v", err)
	}
}
