package sim

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// spanModel exercises what spans must describe: a retried call with a
// timeout to a failing operation, a parallel group with an async call
// that outlives its caller, and queueing at the caller's service.
func spanModel(t *testing.T) *topology.Model {
	x := one(work(expo(t, 10)))
	return &topology.Model{
		Version: topology.Version,
		Services: map[string]*topology.Service{
			"a": {Instances: 2, Workers: 1},
			"b": {Instances: 1},
		},
		Operations: map[string]*topology.Operation{
			"a/in": {Entry: &topology.Entry{Rate: 40}, Shapes: one(
				work(constant(t, 1)),
				&topology.Step{Call: &topology.Call{Target: "b/x", Network: constant(t, 0.5),
					Timeout: 20 * time.Millisecond, Retries: &topology.Retry{Max: 1, Backoff: 5 * time.Millisecond}}},
				&topology.Step{Parallel: []*topology.Call{{Target: "b/y"}, {Target: "b/z", Async: true}}},
			)},
			"b/x": {ErrorRate: 0.1, Shapes: x},
			"b/y": {Shapes: one(work(constant(t, 2)))},
			"b/z": {Shapes: one(work(constant(t, 50)))},
		},
	}
}

func TestOnSpan(t *testing.T) {
	cfg := Config{Model: spanModel(t), Duration: 20 * time.Second, Warmup: time.Second, Seed: 3}
	plain := run(t, cfg)
	var recs []SpanRecord
	cfg.OnSpan = func(r SpanRecord) { recs = append(recs, r) }
	res := run(t, cfg)
	// The hook must not change the simulation.
	if res.Events != plain.Events || res.Endpoints[0].Requests != plain.Endpoints[0].Requests ||
		res.Endpoints[0].Latency.Mean() != plain.Endpoints[0].Latency.Mean() {
		t.Fatalf("OnSpan changed the run: %d/%d events, mean %v/%v", res.Events, plain.Events,
			res.Endpoints[0].Latency.Mean(), plain.Endpoints[0].Latency.Mean())
	}
	byID := make(map[uint64]*SpanRecord, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.ID == 0 || byID[r.ID] != nil {
			t.Fatalf("span id %d zero or repeated", r.ID)
		}
		byID[r.ID] = r
	}
	ep := res.Endpoints[0]
	roots := map[int64]bool{}
	var sum float64
	var timeouts, errs, async int
	for i := range recs {
		r := &recs[i]
		if r.Request < 1 || r.Request > ep.Requests || r.End < r.Start || r.Start < r.Arrive {
			t.Fatalf("record %+v", r)
		}
		if r.Parent == 0 {
			if r.Kind != SpanServer || r.Service != "a" || r.Operation != "in" || roots[r.Request] {
				t.Fatalf("root %+v", r)
			}
			roots[r.Request] = true
			sum += float64(r.End - r.Arrive)
			continue
		}
		p := byID[r.Parent]
		if p == nil || p.Request != r.Request || p.Kind == r.Kind {
			t.Fatalf("record %+v: parent %+v", r, p)
		}
		if r.Async {
			async++
		}
		if r.Kind == SpanClient {
			if r.Service != "a" || r.PeerService != "b" || r.Instance != p.Instance || r.Start < p.Start || r.End > p.End && !r.Async {
				t.Fatalf("client %+v in %+v", r, p)
			}
			if r.Operation == "z" != r.Async {
				t.Fatalf("client %+v: async flag", r)
			}
			if r.Error {
				errs++
				if r.End-r.Start == 20*time.Millisecond.Nanoseconds() {
					timeouts++
				}
			}
			continue
		}
		if r.Service != p.PeerService || r.Operation != p.Operation || r.Async != p.Async {
			t.Fatalf("server %+v under client %+v", r, p)
		}
		// A callee fits in its client span, unless the caller gave up.
		if r.Arrive < p.Start || (!p.Error && r.End > p.End) {
			t.Fatalf("server %+v outside client %+v", r, p)
		}
	}
	if int64(len(roots)) != ep.Requests {
		t.Fatalf("%d root spans, %d measured requests", len(roots), ep.Requests)
	}
	mean := sum / float64(len(roots))
	if math.Abs(mean-ep.Latency.Mean()) > 1e-6*mean {
		t.Errorf("root spans mean %.0f ns, endpoint %.0f ns", mean, ep.Latency.Mean())
	}
	t.Logf("%d requests, %d spans, %d failed attempts (%d timeouts), %d async spans", len(roots), len(recs), errs, timeouts, async)
	if timeouts == 0 || errs <= timeouts || async == 0 {
		t.Errorf("the model's timeouts, errors and async calls did not all show")
	}
}

// TestOnSpanReplicate: only replication 0 reports spans, the same as a
// Run with its seed.
func TestOnSpanReplicate(t *testing.T) {
	cfg := Config{Model: spanModel(t), Requests: 300, Seed: 9}
	count := func(cfg Config, k int) (n int, roots int) {
		var mu sync.Mutex
		cfg.OnSpan = func(r SpanRecord) {
			mu.Lock()
			defer mu.Unlock()
			n++
			if r.Parent == 0 {
				roots++
			}
		}
		if k == 0 {
			run(t, cfg)
		} else {
			replicate(t, cfg, k)
		}
		return n, roots
	}
	n1, r1 := count(cfg, 0)
	n3, r3 := count(cfg, 3)
	if n1 != n3 || r1 != r3 || r1 != 300 {
		t.Fatalf("Run: %d spans %d roots; Replicate: %d spans %d roots; want 300 roots", n1, r1, n3, r3)
	}
	if _, err := Replicate(context.Background(), cfg, 1); err != nil {
		t.Fatal(err)
	}
}
