package scenarios

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

const ms = float64(time.Millisecond)

func cst(t testing.TB, vMS float64) dist.Dist {
	t.Helper()
	d, err := dist.NewConstant(vMS * ms)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func expo(t testing.TB, meanMS float64) dist.Dist {
	t.Helper()
	d, err := dist.NewExponential(meanMS * ms)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func work(d dist.Dist) *topology.Step            { return &topology.Step{Work: d} }
func call(target string) *topology.Step          { return &topology.Step{Call: &topology.Call{Target: target}} }
func leaf(d dist.Dist) *topology.Operation       { return &topology.Operation{Shapes: one(work(d))} }
func one(st ...*topology.Step) []*topology.Shape { return []*topology.Shape{{Weight: 1, Steps: st}} }

// model has entry a/root doing steps, services a, b, c (unlimited
// workers), and the given leaf operations.
func model(steps []*topology.Step, ops map[string]*topology.Operation) *topology.Model {
	m := &topology.Model{
		Version: topology.Version,
		Services: map[string]*topology.Service{
			"a": {Instances: 1}, "b": {Instances: 1}, "c": {Instances: 1},
		},
		Operations: map[string]*topology.Operation{
			"a/root": {Entry: &topology.Entry{Rate: 100}, Shapes: one(steps...)},
		},
	}
	for k, v := range ops {
		m.Operations[k] = v
	}
	return m
}

func apply(t *testing.T, m *topology.Model, cs ...Change) *topology.Model {
	t.Helper()
	out, _, err := Apply(m, cs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func endpoint(t *testing.T, r *sim.Result, name string) sim.Stats {
	t.Helper()
	for _, s := range r.Endpoints {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no endpoint %s", name)
	return sim.Stats{}
}

func runN(t *testing.T, m *topology.Model, n int) *sim.Result {
	t.Helper()
	r, err := sim.Run(context.Background(), sim.Config{Model: m, Requests: n, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// exact checks that every request of a/root took wantMS (constants only).
func exact(t *testing.T, what string, m *topology.Model, wantMS float64) {
	t.Helper()
	h := endpoint(t, runN(t, m, 200), "a/root").Latency
	lo, hi := float64(h.Min())/ms, float64(h.Max())/ms
	t.Logf("%s: latency %.4f..%.4f ms, want %v", what, lo, hi, wantMS)
	if math.Abs(lo-wantMS) > 1e-6 || math.Abs(hi-wantMS) > 1e-6 {
		t.Errorf("%s: latency %.4f..%.4f ms, want exactly %v", what, lo, hi, wantMS)
	}
}

func TestParallelize(t *testing.T) {
	m := model([]*topology.Step{call("b/x"), call("c/y")},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 10)), "c/y": leaf(cst(t, 20))})
	exact(t, "baseline", m, 30)
	out := apply(t, m, &Parallelize{In: "a/root", Calls: []string{"b/x", "c/y"}})
	exact(t, "parallelized", out, 20)
	if st := out.Operations["a/root"].Shapes[0].Steps; len(st) != 1 || len(st[0].Parallel) != 2 {
		t.Errorf("steps after parallelize: %d, want one parallel group of 2", len(st))
	}
}

func TestParallelizePool(t *testing.T) {
	calls := []*topology.Call{{Target: "b/x", Repeat: 6}}
	m := model([]*topology.Step{{Pool: &topology.Pool{Size: 1, Calls: calls}}},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 1))})
	out := apply(t, m, &Parallelize{In: "a/root", PoolTarget: "b/x", PoolSize: 3})
	if got := out.Operations["a/root"].Shapes[0].Steps[0].Pool.Size; got != 3 {
		t.Errorf("pool size %d, want 3", got)
	}
	if _, _, err := Apply(m, []Change{&Parallelize{In: "a/root", PoolTarget: "c/y", PoolSize: 3}}); err == nil {
		t.Error("pool change naming an unknown target: no error")
	}
}

func TestCache(t *testing.T) {
	m := model([]*topology.Step{call("b/x")}, map[string]*topology.Operation{"b/x": leaf(cst(t, 50))})
	out := apply(t, m, &Cache{Target: "b/x", HitRatio: 0.8, HitLatency: 1 * ms})
	base := endpoint(t, runN(t, m, 20000), "a/root").Latency
	got := endpoint(t, runN(t, out, 20000), "a/root").Latency
	drop := (base.Mean() - got.Mean()) / ms
	p50, p99 := got.Quantile(0.5)/ms, got.Quantile(0.99)/ms
	t.Logf("cache: mean %.3f → %.3f ms (drop %.3f, want %.3f), p50 %.3f, p99 %.3f", base.Mean()/ms, got.Mean()/ms, drop, 0.8*49, p50, p99)
	if math.Abs(drop-0.8*49) > 0.02*0.8*49 {
		t.Errorf("mean drop %.3f ms, want %.3f ± 2%%", drop, 0.8*49)
	}
	if math.Abs(p50-1) > 0.02 {
		t.Errorf("p50 %.3f ms, want 1 (a hit)", p50)
	}
	if math.Abs(p99-50) > 1 {
		t.Errorf("p99 %.3f ms, want 50 (a miss)", p99)
	}
}

// A miss pays the caller's network and the fill; a hit neither.
func TestCacheMissCost(t *testing.T) {
	m := model([]*topology.Step{{Call: &topology.Call{Target: "b/x", Network: cst(t, 2)}}},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 50))})
	exact(t, "all misses", apply(t, m, &Cache{Target: "b/x", In: "a/root", HitRatio: 0, HitLatency: ms, Fill: 3 * ms}), 55)
	exact(t, "all hits", apply(t, m, &Cache{Target: "b/x", HitRatio: 1, HitLatency: ms}), 1)
}

func TestBatch(t *testing.T) {
	m := model([]*topology.Step{{Call: &topology.Call{Target: "b/x", Repeat: 10}}},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 5))})
	exact(t, "baseline", m, 50)
	b := &Batch{In: "a/root", Calls: "b/x", MaxBatch: 5, Fixed: 2 * ms, PerItem: 0.5 * ms}
	exact(t, "batched 10 by 5", apply(t, m, b), 9)
	// 12 items by 5: two full batches (4.5 ms) and one of 2 (3 ms).
	m.Operations["a/root"].Shapes[0].Steps[0].Call.Repeat = 12
	exact(t, "batched 12 by 5", apply(t, m, b), 12)
}

// twoEntries: a/root calls b/x (10 ms) after 1 ms of work; a/other
// does 3 ms of work.
func twoEntries(t *testing.T, optional bool) *topology.Model {
	m := model([]*topology.Step{work(cst(t, 1)), {Call: &topology.Call{Target: "b/x", Optional: optional}}},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 10))})
	m.Operations["a/other"] = &topology.Operation{Entry: &topology.Entry{Rate: 100}, Shapes: one(work(cst(t, 3)))}
	return m
}

func errRate(s sim.Stats) float64 { return float64(s.Errors) / float64(s.Requests) }

func TestDisable(t *testing.T) {
	out := apply(t, twoEntries(t, false), &Disable{Service: "b", Mode: ModeFail})
	r := runN(t, out, 2000)
	root, other := endpoint(t, r, "a/root"), endpoint(t, r, "a/other")
	t.Logf("fail, required: root error rate %.3f, other %.3f", errRate(root), errRate(other))
	if errRate(root) != 1 || errRate(other) != 0 {
		t.Errorf("error rates root %.3f, other %.3f; want 1 and 0", errRate(root), errRate(other))
	}
	if got := float64(other.Latency.Max()) / ms; got != 3 {
		t.Errorf("other endpoint latency %v ms, want 3 (unchanged)", got)
	}

	opt := twoEntries(t, true)
	out = apply(t, opt, &Disable{Service: "b", Mode: ModeFail})
	r = runN(t, out, 2000)
	if root := endpoint(t, r, "a/root"); root.Errors != 0 {
		t.Errorf("fail, optional: %d errors, want 0", root.Errors)
	}
	exact(t, "fail, optional", out, 1)
	exact(t, "skip", apply(t, twoEntries(t, false), &Disable{Service: "b", Mode: ModeSkip}), 1)
}

func TestFailover(t *testing.T) {
	m := twoEntries(t, false)
	m.Operations["c/x"] = leaf(cst(t, 4))
	exact(t, "failover", apply(t, m, &Disable{Service: "b", Mode: ModeFailover, To: "c"}), 5)
	m.Operations["c/y"] = leaf(cst(t, 4))
	delete(m.Operations, "c/x")
	_, _, err := Apply(m, []Change{&Disable{Service: "b", Mode: ModeFailover, To: "c"}})
	if err == nil || !strings.Contains(err.Error(), `"c/x"`) {
		t.Errorf("failover to a missing operation: %v", err)
	}
}

func TestLatencyAdd(t *testing.T) {
	m := model([]*topology.Step{{Call: &topology.Call{Target: "b/x", Network: cst(t, 1)}}, call("c/y")},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 5)), "c/y": leaf(cst(t, 2))})
	exact(t, "baseline", m, 8)
	exact(t, "latency a→b +20ms", apply(t, m, &Latency{From: "a", To: "b", Add: 20 * ms}), 28)
	exact(t, "latency a→c +20ms (no network before)", apply(t, m, &Latency{From: "a", To: "c", Add: 20 * ms}), 28)
}

// erlangC is the probability of waiting in an M/M/c queue with offered
// load a = λ/μ.
func erlangC(c int, a float64) float64 {
	term, sum := 1.0, 1.0
	for k := 1; k < c; k++ {
		term *= a / float64(k)
		sum += term
	}
	term *= a / float64(c)
	last := term * float64(c) / (float64(c) - a)
	return last / (sum + last)
}

func queue(t *testing.T, workers int, rate, meanMS float64) *topology.Model {
	return &topology.Model{
		Version:  topology.Version,
		Services: map[string]*topology.Service{"s": {Instances: 1, Workers: workers}},
		Operations: map[string]*topology.Operation{
			"s/op": {Entry: &topology.Entry{Rate: rate}, Shapes: one(work(expo(t, meanMS)))},
		},
	}
}

// meanOver is the mean endpoint latency (ms) over replications.
func meanOver(t *testing.T, m *topology.Model) float64 {
	t.Helper()
	rs, err := sim.Replicate(context.Background(), sim.Config{Model: m, Duration: 100 * time.Second, Warmup: 5 * time.Second, Seed: 3}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, r := range rs {
		sum += r.Endpoints[0].Latency.Mean() / ms
	}
	return sum / float64(len(rs))
}

func within(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	t.Logf("%s: simulated %.3f ms, theory %.3f ms", what, got, want)
	if math.Abs(got-want) > rel*want {
		t.Errorf("%s: %.3f ms, want %.3f ± %.0f%%", what, got, want, rel*100)
	}
}

func TestScaleMMc(t *testing.T) {
	const rate, meanMS = 150.0, 10.0 // a = 1.5 erlangs
	mmc := func(c int) float64 {
		mu := 1000 / meanMS
		return meanMS + 1000*erlangC(c, rate/mu)/(float64(c)*mu-rate)
	}
	m := queue(t, 2, rate, meanMS)
	within(t, "M/M/2", meanOver(t, m), mmc(2), 0.05)
	three := 3
	within(t, "M/M/3 after scale", meanOver(t, apply(t, m, &Scale{Service: "s", Workers: &three})), mmc(3), 0.05)
}

func TestSpeedupMM1(t *testing.T) {
	m := queue(t, 1, 50, 10) // ρ = 0.5
	within(t, "M/M/1 ρ=0.5", meanOver(t, m), 10/(1-0.5), 0.05)
	out := apply(t, m, &Speedup{Service: "s", Factor: 0.5}) // ρ = 0.25
	within(t, "M/M/1 ρ=0.25 after speedup", meanOver(t, out), 5/(1-0.25), 0.05)
}

func TestErrorAndLoad(t *testing.T) {
	m := twoEntries(t, false)
	out, load, err := Apply(m, []Change{
		&Error{Operation: "a/other", Rate: 0.25},
		&LoadChange{Factor: 2}, &LoadChange{Rate: 300}, &LoadChange{Factor: 1.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Operations["a/other"].ErrorRate != 0.25 {
		t.Errorf("error rate %v, want 0.25", out.Operations["a/other"].ErrorRate)
	}
	if got := load.Of(200); got != 450 {
		t.Errorf("load: rate %v, want 450 (300/s × 1.5; the earlier ×2 is replaced)", got)
	}
}

func TestApplyErrors(t *testing.T) {
	m := twoEntries(t, false)
	three := 3
	cases := []struct {
		name string
		c    Change
		want string
	}{
		{"unknown operation", &Cache{Target: "b/xx", HitRatio: 0.5}, `did you mean "b/x"`},
		{"unknown service", &Scale{Service: "bb", Workers: &three}, `did you mean "b"`},
		{"unknown in", &Parallelize{In: "a/rot", Calls: []string{"b/x", "a/other"}}, `did you mean "a/root"`},
		{"unknown mode", &Disable{Service: "b", Mode: "fial"}, `did you mean "fail"`},
		{"parallelize matches nothing", &Parallelize{In: "a/root", Calls: []string{"b/x", "a/other"}}, "never makes"},
		{"batch matches nothing", &Batch{In: "a/other", Calls: "b/x", MaxBatch: 2}, "no sequential call"},
		{"latency matches nothing", &Latency{From: "b", To: "a", Add: ms}, "never calls"},
		{"cache in matches nothing", &Cache{Target: "b/x", In: "a/other", HitRatio: 0.5}, "never calls"},
		{"disable matches nothing", &Disable{Service: "c", Mode: ModeSkip}, "no operation calls"},
		{"speedup without work", &Speedup{Operation: "a/root", Factor: 0.5}, "no local work"},
	}
	// Fix a/root to have no work so the speedup case matches nothing.
	m.Operations["a/root"].Shapes[0].Steps = m.Operations["a/root"].Shapes[0].Steps[1:]
	for _, tc := range cases {
		_, _, err := Apply(m, []Change{&Error{Operation: "a/other", Rate: 0}, tc.c})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), "change 2 ("+tc.c.Kind()) {
			t.Errorf("%s: error %q does not name the change", tc.name, err)
		}
	}
}

// Apply works on a copy: the input model is the same after every kind
// of change, both as written and field by field.
func TestInputNotMutated(t *testing.T) {
	m := model([]*topology.Step{
		work(cst(t, 1)),
		{Call: &topology.Call{Target: "b/x", Network: cst(t, 1), Repeat: 10}},
		call("c/y"), call("b/z"),
		{Pool: &topology.Pool{Size: 2, Calls: []*topology.Call{{Target: "c/y"}}}},
	}, map[string]*topology.Operation{"b/x": leaf(cst(t, 5)), "c/y": leaf(cst(t, 2)), "b/z": leaf(cst(t, 2))})
	m.Operations["c/z"] = leaf(cst(t, 1))
	var before bytes.Buffer
	if err := topology.Write(&before, m); err != nil {
		t.Fatal(err)
	}
	snapshot := clone(m)
	two := 2
	_, _, err := Apply(m, []Change{
		&Batch{In: "a/root", Calls: "b/x", MaxBatch: 3, Fixed: ms},
		&Parallelize{In: "a/root", Calls: []string{"c/y", "b/z"}},
		&Parallelize{In: "a/root", PoolSize: 5},
		&Cache{Target: "c/y", HitRatio: 0.5, HitLatency: ms},
		&Latency{From: "a", To: "b", Add: ms},
		&Speedup{Service: "b", Factor: 0.5},
		&Scale{Service: "b", Instances: &two, Workers: &two},
		&Error{Operation: "b/x", Rate: 0.5},
		&Disable{Service: "b", Mode: ModeFailover, To: "c"},
	})
	if err == nil || !strings.Contains(err.Error(), "c/x") {
		t.Fatalf("failover with c/x missing: %v", err)
	}
	m.Operations["c/x"] = leaf(cst(t, 1))
	snapshot.Operations["c/x"] = m.Operations["c/x"]
	before.Reset()
	if err := topology.Write(&before, m); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Apply(m, []Change{
		&Batch{In: "a/root", Calls: "b/x", MaxBatch: 3, Fixed: ms},
		&Parallelize{In: "a/root", Calls: []string{"c/y", "b/z"}},
		&Parallelize{In: "a/root", PoolSize: 5},
		&Cache{Target: "c/y", HitRatio: 0.5, HitLatency: ms},
		&Latency{From: "a", To: "b", Add: ms},
		&Speedup{Service: "b", Factor: 0.5},
		&Scale{Service: "b", Instances: &two, Workers: &two},
		&Error{Operation: "b/x", Rate: 0.5},
		&Disable{Service: "b", Mode: ModeSkip},
		&Disable{Service: "c", Mode: ModeFail},
	}); err != nil {
		t.Fatal(err)
	}
	var after bytes.Buffer
	if err := topology.Write(&after, m); err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("model file changed:\n%s\nvs\n%s", before.String(), after.String())
	}
	if !reflect.DeepEqual(snapshot, m) {
		t.Error("model changed (DeepEqual against a copy taken before)")
	}
}

// A shift of a family not closed under shifts (exponential) is wrapped;
// the simulator samples through the wrapper, so the mean moves by add.
func TestLatencyAddWrapped(t *testing.T) {
	m := model([]*topology.Step{{Call: &topology.Call{Target: "b/x", Network: expo(t, 2)}}},
		map[string]*topology.Operation{"b/x": leaf(cst(t, 5))})
	out := apply(t, m, &Latency{From: "a", To: "b", Add: 20 * ms})
	if _, ok := out.Operations["a/root"].Shapes[0].Steps[0].Call.Network.(*dist.Shifted); !ok {
		t.Fatalf("network %T, want *dist.Shifted", out.Operations["a/root"].Shapes[0].Steps[0].Call.Network)
	}
	base := endpoint(t, runN(t, m, 20000), "a/root").Latency.Mean() / ms
	got := endpoint(t, runN(t, out, 20000), "a/root").Latency.Mean() / ms
	// Same seed, same samples: the difference is 20 ms up to histogram
	// resolution.
	within(t, "exponential network +20ms", got-base, 20, 0.01)
}

// TestScalePool: a shared pool of 1 in a's instance in front of b (10 ms
// each, 150/s: overloaded) widened to 2 slots is an M/M/2 queue; removed
// (size 0), the calls no longer name it and nothing queues. The input
// model is untouched, and a pool that does not exist is an error naming
// the ones that do.
func TestScalePool(t *testing.T) {
	const rate, meanMS = 150.0, 10.0
	m := model([]*topology.Step{{Call: &topology.Call{Target: "b/x", Via: "b"}}}, map[string]*topology.Operation{"b/x": leaf(expo(t, meanMS))})
	m.Operations["a/root"].Entry.Rate = rate
	m.Services["a"].Pools = map[string]*topology.SharedPool{"b": {Size: 1}}
	two, zero := 2, 0
	widened := apply(t, m, &Scale{Service: "a", Pool: "b", Size: &two})
	mu := 1000 / meanMS
	within(t, "pool of 2", meanOver(t, widened), meanMS+1000*erlangC(2, rate/mu)/(2*mu-rate), 0.05)
	removed := apply(t, m, &Scale{Service: "a", Pool: "b", Size: &zero})
	if len(removed.Services["a"].Pools) != 0 || removed.Operations["a/root"].Shapes[0].Steps[0].Call.Via != "" {
		t.Errorf("size 0: pools %v, via %q; want both gone", removed.Services["a"].Pools, removed.Operations["a/root"].Shapes[0].Steps[0].Call.Via)
	}
	within(t, "no pool", meanOver(t, removed), meanMS, 0.05)
	if m.Services["a"].Pools["b"].Size != 1 || m.Operations["a/root"].Shapes[0].Steps[0].Call.Via != "b" {
		t.Error("the input model was changed")
	}
	_, _, err := Apply(m, []Change{&Scale{Service: "a", Pool: "bb", Size: &two}})
	if err == nil || !strings.Contains(err.Error(), `no pool "bb" (did you mean "b"?)`) {
		t.Errorf("unknown pool: %v", err)
	}
}
