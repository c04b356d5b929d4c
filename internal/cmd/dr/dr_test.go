package dr

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/internal/cmdutil"
)

// opts are short runs: the model's outcomes (a required call always
// fails, an optional one never propagates) do not depend on run length.
func opts(out *bytes.Buffer) *Options {
	return &Options{IO: &cmdutil.IO{Out: out, ErrOut: &bytes.Buffer{}}, Model: "testdata/shop.yaml",
		Duration: 5 * time.Second, Replications: 3, Seed: 1, JSON: true}
}

func impact(t *testing.T, down string) Impact {
	t.Helper()
	var out bytes.Buffer
	o := opts(&out)
	o.Down = down
	if err := RunImpact(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var im Impact
	if err := json.Unmarshal(out.Bytes(), &im); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(im.Endpoints) != 1 || im.Endpoints[0].Endpoint != "frontend/home" {
		t.Fatalf("endpoints: %+v", im.Endpoints)
	}
	return im
}

func TestImpactRequiredCall(t *testing.T) {
	im := impact(t, "auth")
	e := im.Endpoints[0]
	if e.AvailabilityBefore != 1 || e.AvailabilityAfter != 0 || !e.Significant {
		t.Errorf("frontend/home with auth down: %+v", e)
	}
	if len(im.Absorbing) != 0 || !slices.Equal(im.Failing, []string{"frontend/home"}) {
		t.Errorf("callers: absorbing %v failing %v", im.Absorbing, im.Failing)
	}
}

func TestImpactOptionalCall(t *testing.T) {
	im := impact(t, "recs")
	e := im.Endpoints[0]
	if e.AvailabilityBefore != 1 || e.AvailabilityAfter != 1 || e.Significant {
		t.Errorf("frontend/home with recs down: %+v", e)
	}
	if !slices.Equal(im.Absorbing, []string{"frontend/home"}) || len(im.Failing) != 0 {
		t.Errorf("callers: absorbing %v failing %v", im.Absorbing, im.Failing)
	}
}

func TestImpactUnknownService(t *testing.T) {
	var out bytes.Buffer
	o := opts(&out)
	o.Down = "auht"
	err := RunImpact(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), `did you mean "auth"`) {
		t.Fatalf("got %v", err)
	}
}

func TestImpactBadMode(t *testing.T) {
	var out bytes.Buffer
	o := opts(&out)
	o.Down, o.Mode = "auth", "failover"
	if err := RunImpact(context.Background(), o); err == nil {
		t.Fatal("want an error for --mode failover")
	}
}

func TestPlan(t *testing.T) {
	var out bytes.Buffer
	if err := RunPlan(context.Background(), opts(&out)); err != nil {
		t.Fatal(err)
	}
	var p Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	risk := map[string]int{}
	for i, r := range p.Ranking {
		risk[r.Service] = i
	}
	auth := p.Ranking[risk["auth"]]
	// One entry point: frontend/home's share is 1, and it loses all its
	// requests.
	if auth.BlastRadius != 1 || auth.Affected != 1 || !slices.Equal(auth.SPOF, []string{"frontend/home"}) {
		t.Errorf("auth: %+v", auth)
	}
	recs := p.Ranking[risk["recs"]]
	if recs.BlastRadius != 0 || recs.Affected != 0 || len(recs.SPOF) != 0 {
		t.Errorf("recs: %+v", recs)
	}
	if len(p.TestOrder) != 3 || p.TestOrder[0] != "recs" {
		t.Errorf("test order %v: recs should come first", p.TestOrder)
	}
	// frontend itself is down too: its entry traffic fails.
	if !slices.Equal(p.TestOrder, []string{"recs", "auth", "frontend"}) || !slices.Equal(p.SPOF, []string{"auth", "frontend"}) {
		t.Errorf("order %v, spof %v", p.TestOrder, p.SPOF)
	}
}

func TestPlanTable(t *testing.T) {
	var out bytes.Buffer
	o := opts(&out)
	o.JSON = false
	if err := RunPlan(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "recs → auth → frontend") || !strings.Contains(s, "frontend/home") {
		t.Errorf("table:\n%s", s)
	}
}

// TestImpactSkipUncalled: skip mode removes calls, and nothing calls
// frontend, so the command says so instead of reporting no change.
func TestImpactSkipUncalled(t *testing.T) {
	var out bytes.Buffer
	o := opts(&out)
	o.Down, o.Mode = "frontend", "skip"
	if err := RunImpact(context.Background(), o); err == nil || !strings.Contains(err.Error(), "no operation calls it") {
		t.Fatalf("got %v", err)
	}
}

func TestPlanRankingMostRiskyFirst(t *testing.T) {
	var out bytes.Buffer
	p, err := MakePlan(context.Background(), opts(&out))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Ranking {
		got = append(got, r.Service)
	}
	if !slices.Equal(got, []string{"auth", "frontend", "recs"}) {
		t.Errorf("ranking %v", got)
	}
}

// TestReports: --report writes one self-contained HTML page with the
// plan's ranking and test order, or the impact's per-endpoint table.
func TestReports(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	o := opts(&out)
	o.Report = filepath.Join(dir, "plan.html")
	if err := RunPlan(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(o.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "Services by blast radius", "<li>recs</li>", "frontend/home"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("plan report lacks %q", want)
		}
	}
	o = opts(&out)
	o.Down, o.Report = "auth", filepath.Join(dir, "impact.html")
	if err := RunImpact(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	page, err = os.ReadFile(o.Report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"auth (fail)", "frontend/home"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("impact report lacks %q", want)
		}
	}
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Errorf("report references the network")
	}
}
