package testbed

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/topology"
)

const chainYAML = `
version: 1
services:
  a: {}
  b: {}
operations:
  a/GET /a:
    entry: {rate: 20/s}
    shapes:
      - weight: 1
        steps:
          - work: {constant: 5ms}
          - call: b/get
            network: {constant: 2ms}
          - work: {constant: 3ms}
  b/get:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 10ms}
`

// TestChainLatency: a → b with constant work 5 + 3 ms in a, 10 ms in b and
// 2 ms of network: every request takes 20 ms plus the testbed's own
// overhead (three sleeps' timer slack, two HTTP round trips on loopback,
// OpenTelemetry spans). One user at a time, so nothing queues. The
// overhead measured on the 2-core machine is about 0.5–1 ms per request
// (see the log line); checkLatency bounds it.
func TestChainLatency(t *testing.T) {
	res, _ := run(t, model(t, chainYAML), Options{Seed: 1, Traces: &bytes.Buffer{}},
		Workload{Users: 1, Requests: 150, Warmup: 100 * time.Millisecond})
	e := endpoint(t, res, "a/GET /a")
	if e.Requests != 150 || e.Errors != 0 {
		t.Fatalf("requests %d errors %d, want 150 and 0", e.Requests, e.Errors)
	}
	mean, p50, p90, p99 := ms(e.Mean()), ms(e.Quantile(.5)), ms(e.Quantile(.9)), ms(e.Quantile(.99))
	t.Logf("chain a→b, 20 ms of sleeps: mean %.3f p50 %.3f p90 %.3f p99 %.3f ms: overhead %.3f ms per request (2 hops, 5 sleeps)", mean, p50, p90, p99, mean-20)
	// Medians and p90, not means: under `go test ./...` other packages
	// compile and run on the same 2 cores, and a descheduled request or
	// two would move a mean of 150 by milliseconds.
	checkLatency(t, res, "p50", p50, 20, 2)
	checkLatency(t, res, "p90", p90, 20, 5)
	if ms(e.Latencies[0]) < 20 {
		t.Errorf("fastest request %.3f ms: below the 20 ms of sleeps", ms(e.Latencies[0]))
	}
}

const richYAML = `
version: 1
services:
  front: {instances: 2}
  b: {}
  c: {}
  db: {peer: true}
operations:
  front/GET /page:
    entry: {rate: 40/s}
    shapes:
      - weight: 1
        steps:
          - work: {constant: 5ms}
          - parallel:
              - {call: b/one}
              - {call: c/two, network: {constant: 1ms}}
          - work: {constant: 5ms}
          - call: db/SELECT
            repeat: 2
          - work: {uniform: {min: 4ms, max: 8ms}}
  b/one:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 6ms}
  c/two:
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 5ms}}
  db/SELECT:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 8ms}
`

// TestTracesBuildModel: the exported traces decode with trace/otlp,
// assemble without a single quality finding, and topology.Build recovers
// the services (with front's two instances and db as a peer), the
// operations, the call structure (a parallel group, a repeated peer call)
// and the work means within 10%. (The gaps Build reads as local work hold
// the caller's own overhead too, ~0.1–0.3 ms: work steps of 5 ms or more
// keep it under the 10%.)
func TestTracesBuildModel(t *testing.T) {
	var buf bytes.Buffer
	res, _ := run(t, model(t, richYAML), Options{Seed: 2, Traces: &buf},
		Workload{Rate: 40, Duration: 2 * time.Second})
	e := endpoint(t, res, "front/GET /page")
	if e.Requests < 50 || e.Errors != 0 {
		t.Fatalf("requests %d errors %d", e.Requests, e.Errors)
	}
	if lines := bytes.Count(buf.Bytes(), []byte("\n")); lines == 0 {
		t.Fatal("no traces written")
	}
	tr := assemble(t, &buf)
	q := tr.Quality
	if len(q.Reasons) != 0 || q.OrphanSpans != 0 || q.SkewAdjustedSpans != 0 || q.SkippedRecords != 0 || q.DuplicateSpans != 0 {
		t.Fatalf("quality findings: %+v", q)
	}
	if len(tr.Traces) != e.Requests {
		t.Errorf("%d traces for %d requests", len(tr.Traces), e.Requests)
	}
	// 1 root + 2×(client+server) + 2 peer client spans.
	if want := 7 * len(tr.Traces); len(tr.Spans) != want {
		t.Errorf("%d spans, want %d", len(tr.Spans), want)
	}
	m, _, err := topology.Build(context.Background(), tr, topology.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Services["front"]; got == nil || got.Instances != 2 || got.Peer {
		t.Errorf("front: %+v, want 2 instances, not a peer", got)
	}
	if got := m.Services["db"]; got == nil || !got.Peer {
		t.Errorf("db: %+v, want a peer", got)
	}
	for _, op := range []string{"front/GET /page", "b/one", "c/two", "db/SELECT"} {
		if m.Operations[op] == nil {
			t.Errorf("operation %s missing; have %v", op, keys(m.Operations))
		}
	}
	page := m.Operations["front/GET /page"]
	if page == nil || page.Entry == nil || len(page.Shapes) != 1 {
		t.Fatalf("front/GET /page: %+v", page)
	}
	steps := page.Shapes[0].Steps
	var kinds []string
	var works []float64
	for _, st := range steps {
		switch {
		case st.Work != nil && st.Work.Mean() < 0.5e6:
			// The gap between the repeated db calls (the caller's
			// loop overhead, ~0.1 ms) is real local work: Build keeps it
			// as a step of its own. Not part of the checked structure.
			continue
		case st.Work != nil:
			kinds = append(kinds, "work")
			works = append(works, st.Work.Mean()/1e6)
		case st.Parallel != nil:
			kinds = append(kinds, "parallel("+st.Parallel[0].Target+","+st.Parallel[1].Target+")")
		case st.Call != nil:
			kinds = append(kinds, "call("+st.Call.Target+")x"+itoa(max(st.Call.Repeat, 1)))
		default:
			kinds = append(kinds, "?")
		}
	}
	want := "work parallel(b/one,c/two) work call(db/SELECT)x2 work"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("shape %q, want %q", got, want)
	}
	// On a busy machine each gap holds the late wake-ups around it: a
	// sleep's end and the next call's send (busyAllowance of no call);
	// a peer's client span a whole round trip (of one call).
	stepBusy, peerBusy := busyAllowance(res.Slack, 0), busyAllowance(res.Slack, 1)
	for i, w := range []float64{5, 5, 6} {
		if !within(works[i], w, 0.1*w+stepBusy) {
			t.Errorf("front work step %d: mean %.3f ms, want %.1f ms ± 10%% (+ %.3f ms for the machine's slack)", i, works[i], w, stepBusy)
		}
	}
	for op, w := range map[string]float64{"b/one": 6, "c/two": 5, "db/SELECT": 8} {
		sh := m.Operations[op].Shapes[0]
		if len(sh.Steps) != 1 || sh.Steps[0].Work == nil {
			t.Errorf("%s: shape %+v, want one work step", op, sh.Steps)
			continue
		}
		// db's work is its caller's client span: it includes the loopback
		// round trip, which the 10% absorb.
		if got := sh.Steps[0].Work.Mean() / 1e6; !within(got, w, 0.1*w+peerBusy) {
			t.Errorf("%s: work mean %.3f ms, want %.1f ms ± 10%% (+ %.3f ms for the machine's slack)", op, got, w, peerBusy)
		}
	}
	t.Logf("recovered shape %s, front work means %.3f ms", want, works)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestWorkerQueue: one worker, 20 ms of work, two closed-loop users with
// no think time: every request but the first waits for the other user's
// execution, so each takes 2 × 20 ms. The traces show the queue wait
// outside the server span: no two server spans overlap, so Build's
// evidence of concurrency is exactly one.
func TestWorkerQueue(t *testing.T) {
	var buf bytes.Buffer
	res, _ := run(t, model(t, `
version: 1
services:
  q: {workers: 1}
operations:
  q/work:
    entry: {rate: 1/s}
    shapes:
      - weight: 1
        steps:
          - work: {constant: 20ms}
`), Options{Seed: 3, Traces: &buf}, Workload{Users: 2, Requests: 30, Warmup: 100 * time.Millisecond})
	e := endpoint(t, res, "q/work")
	mean := ms(e.Mean())
	t.Logf("M/D/1 with 2 users: mean %.3f p50 %.3f ms", mean, ms(e.Quantile(.5)))
	if e.Requests != 30 {
		t.Errorf("requests %d, want 30", e.Requests)
	}
	checkLatency(t, res, "p50", ms(e.Quantile(.5)), 40, 3)
	m, _, err := topology.Build(context.Background(), assemble(t, &buf), topology.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev := m.Services["q"].Evidence; ev == nil || ev.MaxConcurrent != 1 {
		t.Errorf("evidence %+v, want max concurrent 1", ev)
	}
}

const failYAML = `
version: 1
services:
  a: {}
  b: {}
  c: {}
operations:
  a/GET /a:
    entry: {rate: 20/s}
    shapes:
      - weight: 1
        steps:
          - work: {constant: 2ms}
          - call: b/get
            network: {constant: 1ms}
          - call: c/get
            optional: true
            network: {constant: 1ms}
  b/get:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 3ms}
  c/get:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 3ms}
`

// TestDisableFail: a disabled service's port refuses connections; an
// optional call to it is tolerated (no request fails, the step costs only
// its network time), a required one fails every request.
func TestDisableFail(t *testing.T) {
	m := model(t, failYAML)
	w := Workload{Users: 1, Requests: 20}
	ctx := context.Background()
	s, err := Start(ctx, m, Options{Seed: 4, Changes: []scenarios.Change{&scenarios.Disable{Service: "c", Mode: scenarios.ModeFail}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = http.Get("http://" + s.Addr("c")[0] + "/")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("GET the disabled service: %v, want connection refused", err)
	}
	res, err := s.Load(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e := endpoint(t, res, "a/GET /a")
	// 2 + (1 + 3) + 1 ms: the optional call costs its network time only.
	if e.Errors != 0 || e.Requests != 20 || stat(s, "c/get").Executed != 0 {
		t.Errorf("c disabled: requests %d errors %d (want 20, 0), c executed %d", e.Requests, e.Errors, stat(s, "c/get").Executed)
	}
	checkLatency(t, res, "c disabled: p50", ms(e.Quantile(.5)), 7, 3)

	res, _ = run(t, m, Options{Seed: 4, Changes: []scenarios.Change{&scenarios.Disable{Service: "b", Mode: scenarios.ModeFail}}}, w)
	if e := endpoint(t, res, "a/GET /a"); e.Errors != 20 {
		t.Errorf("b disabled: %d errors of %d requests, want all", e.Errors, e.Requests)
	}
}

// TestCacheHitRatio: a cache with hit ratio 0.7 in front of b: the hits
// counted by the cache and the calls b really received both give 0.7 ±
// 0.05; a hit costs 1 ms instead of the 2 + 10 ms call.
func TestCacheHitRatio(t *testing.T) {
	m := model(t, chainYAML)
	res, s := run(t, m, Options{Seed: 5, Changes: []scenarios.Change{
		&scenarios.Cache{Target: "b/get", In: "a/GET /a", HitRatio: 0.7, HitLatency: 1e6},
	}}, Workload{Users: 8, Requests: 400})
	c := s.Caches()[0]
	hit := float64(c.Hits) / float64(c.Lookups)
	called := float64(stat(s, "b/get").Executed) / float64(stat(s, "a/GET /a").Executed)
	t.Logf("cache: %d lookups, hit ratio %.3f (expected %.3f), b called on %.3f of requests", c.Lookups, hit, c.Expected, called)
	if !within(hit, 0.7, 0.05) || !within(1-called, 0.7, 0.05) {
		t.Errorf("hit ratio %.3f, calls avoided %.3f, want 0.7 ± 0.05", hit, 1-called)
	}
	// 0.7 × (5+1+3) + 0.3 × 20 = 12.3 ms.
	// Most requests hit: the median is a hit, 5 + 1 + 3 ms.
	checkLatency(t, res, "p50", ms(endpoint(t, res, "a/GET /a").Quantile(.5)), 9, 1)
}

// TestBatch: a loop of 10 calls batched by 4 becomes 3 requests per
// execution (4, 4 and 2 items) to b's batch endpoints, each costing
// 2 ms + 0.5 ms per item.
func TestBatch(t *testing.T) {
	m := model(t, `
version: 1
services:
  a: {}
  b: {}
operations:
  a/GET /a:
    entry: {rate: 20/s}
    shapes:
      - weight: 1
        steps:
          - call: b/get
            repeat: 10
  b/get:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 3ms}
`)
	res, s := run(t, m, Options{Seed: 6, Changes: []scenarios.Change{
		&scenarios.Batch{In: "a/GET /a", Calls: "b/get", MaxBatch: 4, Fixed: 2e6, PerItem: 0.5e6},
	}}, Workload{Users: 1, Requests: 10})
	n := stat(s, "a/GET /a").Executed
	got := [3]int64{stat(s, "b/get").Executed, stat(s, "b/get#batch4").Executed, stat(s, "b/get#batch2").Executed}
	if n != 10 || got != [3]int64{0, 2 * n, n} {
		t.Errorf("%d executions of a; b/get, batch4, batch2 executed %v, want [0 %d %d]", n, got, 2*n, n)
	}
	// 2 × (2+2) + (2+1) = 11 ms instead of 30.
	// Each request carries its items and the endpoint counts them: with
	// no items it would cost 3 × 2 = 6 ms.
	p50 := ms(endpoint(t, res, "a/GET /a").Quantile(.5))
	t.Logf("batched: p50 %.3f ms", p50)
	checkLatency(t, res, "p50", p50, 11, 4)
}

// TestLoadFactor: a load change of factor 2 doubles the Poisson arrival
// rate: 50/s for 2 s sends 100 ± 30 requests, doubled 200 ± 40 (3 sd).
func TestLoadFactor(t *testing.T) {
	m := model(t, chainYAML)
	w := Workload{Rate: 50, Duration: 2 * time.Second}
	base, _ := run(t, m, Options{Seed: 3}, w)
	doubled, _ := run(t, m, Options{Seed: 3, Changes: []scenarios.Change{&scenarios.LoadChange{Factor: 2}}}, w)
	b, d := endpoint(t, base, "a/GET /a").Requests, endpoint(t, doubled, "a/GET /a").Requests
	t.Logf("requests: %d at 50/s, %d at factor 2", b, d)
	if !within(float64(b), 100, 30) || !within(float64(d), 200, 40) {
		t.Errorf("requests %d and %d, want 100 ± 30 and 200 ± 40", b, d)
	}
}

// TestChangesRejected: a change the predictor would reject is rejected
// with the same message, naming the change.
func TestChangesRejected(t *testing.T) {
	_, err := Start(context.Background(), model(t, chainYAML), Options{Changes: []scenarios.Change{
		&scenarios.Speedup{Service: "nope", Factor: 0.5},
	}})
	if err == nil || !strings.Contains(err.Error(), `unknown service "nope"`) {
		t.Fatalf("error %v, want unknown service", err)
	}
}

// TestLoadErrors: workloads that could not stop or make no sense fail.
func TestLoadErrors(t *testing.T) {
	s, err := Start(context.Background(), model(t, chainYAML), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for _, w := range []Workload{{}, {Rate: 1, Users: 1, Duration: time.Second}, {Rate: math.NaN(), Duration: time.Second}, {Duration: -1}} {
		if _, err := s.Load(context.Background(), w); err == nil {
			t.Errorf("Load(%+v) succeeded, want an error", w)
		}
	}
}
