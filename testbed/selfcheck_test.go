package testbed

import (
	"context"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tracesim/tracesim/sim"
)

// selfCheckYAML is a small system with known distributions of every
// family the testbed sleeps, a parallel group, a pool, a repeated call,
// network overheads and one single-worker service that queues (ρ ≈ 0.3
// at 60/s).
const selfCheckYAML = `
version: 1
services:
  front: {instances: 2}
  b: {workers: 4}
  c: {}
  q: {workers: 1}
  db: {peer: true}
operations:
  front/GET /home:
    entry: {rate: 60/s}
    shapes:
      - weight: 0.8
        steps:
          - work: {exponential: {mean: 3ms}}
          - parallel:
              - {call: b/profile, network: {constant: 500us}}
              - {call: c/feed, network: {uniform: {min: 200us, max: 800us}}}
          - pool:
              size: 2
              calls: [{call: db/get, repeat: 4}]
          - call: q/rank
          - work: {uniform: {min: 1ms, max: 3ms}}
      - weight: 0.2
        steps:
          - work: {lognormal: {median: 2ms, sigma: 0.3}}
  b/profile:
    shapes:
      - weight: 1
        steps:
          - work: {lognormal: {median: 8ms, sigma: 0.5}}
  c/feed:
    shapes:
      - weight: 1
        steps:
          - work: {gamma: {mean: 6ms, shape: 2}}
  q/rank:
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 5ms}}
  db/get:
    shapes:
      - weight: 1
        steps:
          - work: {constant: 2ms}
`

// TestSelfCheckVsSim runs the self-check topology in the testbed and in
// sim (200 s of virtual time) at 60/s and compares mean, p50 and p99. The
// testbed must be slower than sim by its own overhead only: the test
// allows −10% .. +(10% + 3 ms) on mean and p50 (the sampling error of ~500
// requests is ~3%), and ±50% on p99 (one p99 of 500 requests is noisy). Set TESTBED_SELFCHECK_RUNS and
// TESTBED_SELFCHECK_SECONDS for a longer check with its run-to-run noise;
// runs use seeds 10, 11, … (sampling noise and timing noise), or all seed
// 10 with TESTBED_SELFCHECK_SAMESEED=1 (the same draws: timing noise only).
func TestSelfCheckVsSim(t *testing.T) {
	runs, secs := 1, 8.0
	if v, err := strconv.Atoi(os.Getenv("TESTBED_SELFCHECK_RUNS")); err == nil && v > 0 {
		runs = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("TESTBED_SELFCHECK_SECONDS"), 64); err == nil && v > 0 {
		secs = v
	}
	m := model(t, selfCheckYAML)
	const op = "front/GET /home"
	r, err := sim.Run(context.Background(), sim.Config{Model: m, Workload: sim.Workload{Rate: 60},
		Duration: 200 * time.Second, Warmup: 5 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Endpoints[0].Latency
	want := [3]float64{h.Mean() / 1e6, h.Quantile(.5) / 1e6, h.Quantile(.99) / 1e6}
	t.Logf("sim     (%d requests): mean %.3f p50 %.3f p99 %.3f ms", r.Endpoints[0].Requests, want[0], want[1], want[2])
	var got [][3]float64
	for i := range runs {
		seed := uint64(10 + i)
		if os.Getenv("TESTBED_SELFCHECK_SAMESEED") == "1" {
			seed = 10
		}
		res, _ := run(t, m, Options{Seed: seed},
			Workload{Rate: 60, Duration: time.Duration(secs * float64(time.Second)), Warmup: 500 * time.Millisecond})
		e := endpoint(t, res, op)
		g := [3]float64{ms(e.Mean()), ms(e.Quantile(.5)), ms(e.Quantile(.99))}
		got = append(got, g)
		t.Logf("testbed run %d (seed %d, %d requests, %d errors): mean %.3f p50 %.3f p99 %.3f ms (%+.1f%%, %+.1f%%, %+.1f%% vs sim)",
			i+1, seed, e.Requests, e.Errors, g[0], g[1], g[2], pct(g[0], want[0]), pct(g[1], want[1]), pct(g[2], want[2]))
		if e.Errors != 0 {
			t.Errorf("%d errors", e.Errors)
		}
		// The longest path has about 8 calls (parallel, 4 pooled in 2
		// rounds, the queue), so a busy machine adds that much slack.
		busy := busyAllowance(res.Slack, 8)
		for k, name := range []string{"mean", "p50"} {
			if g[k] < 0.9*want[k] || g[k] > 1.1*want[k]+3+busy {
				t.Errorf("%s %.3f ms, sim %.3f ms: want −10%% .. +10%% + 3 ms (+ %.3f ms for the machine's slack)", name, g[k], want[k], busy)
			}
		}
		if !within(g[2], want[2], 0.5*want[2]) {
			t.Errorf("p99 %.3f ms, sim %.3f ms: want ±50%%", g[2], want[2])
		}
	}
	if runs > 1 {
		for k, name := range []string{"mean", "p50", "p99"} {
			var xs []float64
			for _, g := range got {
				xs = append(xs, g[k])
			}
			mu, sd := meanSD(xs)
			t.Logf("run-to-run over %d runs: %s %.3f ± %.3f ms (sd, %.1f%%)", runs, name, mu, sd, 100*sd/mu)
		}
	}
}

func pct(got, want float64) float64 { return 100 * (got - want) / want }

func meanSD(xs []float64) (float64, float64) {
	mu := 0.0
	for _, x := range xs {
		mu += x
	}
	mu /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mu) * (x - mu)
	}
	if len(xs) > 1 {
		v /= float64(len(xs) - 1)
	}
	return mu, math.Sqrt(v)
}
