package sim

import (
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// poolModel: entry fe/GET (no work of its own) calls db/Q (exponential
// 10 ms, unlimited workers) through fe's shared pool "db" of size per
// instance: the pool is where calls queue.
func poolModel(t testing.TB, instances, size int, rate float64, timeout time.Duration) *topology.Model {
	return &topology.Model{
		Version: topology.Version,
		Services: map[string]*topology.Service{
			"fe": {Instances: instances, Pools: map[string]*topology.SharedPool{"db": {Size: size}}},
			"db": {Instances: 1},
		},
		Operations: map[string]*topology.Operation{
			"fe/GET": {Entry: &topology.Entry{Rate: rate}, Shapes: one(
				&topology.Step{Call: &topology.Call{Target: "db/Q", Via: "db", Timeout: timeout}})},
			"db/Q": {Shapes: one(work(expo(t, 10)))},
		},
	}
}

// TestSharedPoolIsMMc: calls through a caller's shared pool of 4 slots,
// to a callee without a limit, queue as an M/M/4 queue: λ = 320/s, 10 ms
// each (ρ = 0.8), mean sojourn Wq + 10 ms by Erlang C.
func TestSharedPoolIsMMc(t *testing.T) {
	const c, mu, lambda = 4, 100.0, 320.0
	wq := erlangC(c, lambda/mu) / (c*mu - lambda) * 1000
	cfg := Config{Model: poolModel(t, 1, c, lambda, 0), Duration: 500 * time.Second, Warmup: 10 * time.Second, Seed: 101}
	rs := replicate(t, cfg, 40)
	checkTheory(t, "pool of 4 at ρ=0.8: mean sojourn", endpointStat(rs, mean), wq+10, 0.05)
}

// TestSharedPoolPerInstance: the pool is per instance of the caller. Two
// fe instances with a pool of 1 each, or one with 1: the first serves
// 150/s of 10 ms calls (ρ = 0.75 per slot), the second cannot (ρ = 1.5,
// overloaded, with a warning naming the pool).
func TestSharedPoolPerInstance(t *testing.T) {
	two := run(t, Config{Model: poolModel(t, 2, 1, 150, 0), Duration: 100 * time.Second, Warmup: 5 * time.Second, Seed: 3})
	one := run(t, Config{Model: poolModel(t, 1, 1, 150, 0), Duration: 100 * time.Second, Warmup: 5 * time.Second, Seed: 3})
	m2, m1 := two.Endpoints[0].Latency.Mean()/ms, one.Endpoints[0].Latency.Mean()/ms
	t.Logf("mean latency: 2 instances × pool 1: %.1f ms; 1 × 1: %.1f ms", m2, m1)
	// Round robin gives each instance every other arrival: an E2/M/1
	// queue at ρ = 0.75, mean wait below the M/M/1's 30 ms.
	if m2 < 10 || m2 > 40 {
		t.Errorf("two instances: mean %.1f ms, want between 10 and 40 (M/M/1 would be 40)", m2)
	}
	if m1 < 10*m2 {
		t.Errorf("one instance: mean %.1f ms, want the overloaded pool to be far slower than %.1f", m1, m2)
	}
	if len(one.Warnings) == 0 {
		t.Error("no overload warning for the pool")
	}
}

// TestSharedPoolTimeout: a call that times out while waiting for a slot
// gives up its place in the line and never holds a slot: with a pool of
// 1, 10 ms calls at 150/s and a 15 ms timeout, calls fail, and the
// slot's busy time stays below 100%.
func TestSharedPoolTimeout(t *testing.T) {
	r := run(t, Config{Model: poolModel(t, 1, 1, 150, 15*time.Millisecond), Duration: 50 * time.Second, Warmup: 5 * time.Second, Seed: 5})
	e := r.Endpoints[0]
	if e.Errors == 0 || e.Errors == e.Requests {
		t.Fatalf("%d of %d failed: want some, not all", e.Errors, e.Requests)
	}
	if p := e.Latency.Quantile(0.99) / ms; p > 15.5 {
		t.Errorf("p99 %.1f ms, want at most the 15 ms timeout", p)
	}
}
