package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

const msD = time.Millisecond

func rwork(d time.Duration) ReplayStep { return ReplayStep{Work: d} }

func rexec(op string, steps ...ReplayStep) *ReplayExec { return &ReplayExec{Op: op, Steps: steps} }

func rcalls(calls ...ReplayCall) ReplayStep { return ReplayStep{Calls: calls} }

func stats(t *testing.T, ss []Stats, name string) Stats {
	t.Helper()
	for _, s := range ss {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stats for %s in %v", name, ss)
	return Stats{}
}

// TestReplayExact: without capacity limits a replayed request takes
// exactly its recorded time: 1 + max(2+3, 6) + 1 = 8 ms; the async call
// is not waited for.
func TestReplayExact(t *testing.T) {
	req := func(at time.Duration) ReplayRequest {
		return ReplayRequest{Arrive: at, Root: rexec("fe/get",
			rwork(1*msD),
			rcalls(
				ReplayCall{Network: 2 * msD, Callee: rexec("be/a", rwork(3*msD))},
				ReplayCall{Callee: rexec("be/b", rwork(6*msD))},
				ReplayCall{Async: true, Callee: rexec("be/log", rwork(50*msD))},
			),
			rwork(1*msD))}
	}
	var spans []SpanRecord
	cfg := Config{Workload: Workload{Replay: []ReplayRequest{req(10 * msD), req(0)}},
		OnSpan: func(r SpanRecord) { spans = append(spans, r) }}
	r := run(t, cfg)
	ep := stats(t, r.Endpoints, "fe/get")
	if len(r.Endpoints) != 1 || ep.Requests != 2 || ep.Latency.Mean() != 8e6 || ep.Latency.Max() != 8e6 {
		t.Fatalf("endpoint %+v mean %v", ep, ep.Latency.Mean())
	}
	if a := stats(t, r.Operations, "be/a"); a.Requests != 2 || a.Latency.Mean() != 3e6 {
		t.Fatalf("be/a %+v", a)
	}
	if lg := stats(t, r.Operations, "be/log"); lg.Requests != 2 || lg.Latency.Mean() != 50e6 {
		t.Fatalf("be/log %+v", lg)
	}
	// 2 × (root + 3 × (client + server)) spans; the first request's
	// root is the one that arrived first.
	if len(spans) != 14 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		if s.Parent == 0 && s.End-s.Arrive != 8e6 {
			t.Fatalf("root span %+v", s)
		}
		if s.Request == 1 && s.Parent == 0 && s.Arrive != 0 {
			t.Fatalf("request 1 arrived at %d", s.Arrive)
		}
	}
	// Identical replications: nothing is random.
	rs := replicate(t, cfg, 2)
	if rs[0].Endpoints[0].Latency.Mean() != rs[1].Endpoints[0].Latency.Mean() {
		t.Fatal("replications differ")
	}
}

// TestReplayQueueing: the model's capacity applies to replayed requests.
// be has one worker; requests at 0 and 1 ms each need 3 ms of it, so the
// second waits 2 ms: latencies 3 and 5 ms. At speed 2 the second arrives
// at 0.5 ms and waits 2.5 ms.
func TestReplayQueueing(t *testing.T) {
	m := &topology.Model{Version: topology.Version,
		Services:   map[string]*topology.Service{"be": {Instances: 1, Workers: 1}},
		Operations: map[string]*topology.Operation{}}
	reqs := []ReplayRequest{
		{Arrive: 0, Root: rexec("fe/get", rcalls(ReplayCall{Callee: rexec("be/a", rwork(3*msD))}))},
		{Arrive: 1 * msD, Root: rexec("fe/get", rcalls(ReplayCall{Callee: &ReplayExec{Op: "be/a", Error: true,
			Steps: []ReplayStep{rwork(3 * msD)}}}))},
	}
	for _, c := range []struct {
		speed float64
		mean  float64
	}{{0, 4e6}, {1, 4e6}, {2, 4.25e6}} {
		r := run(t, Config{Model: m, Workload: Workload{Replay: reqs, ReplaySpeed: c.speed}})
		ep := r.Endpoints[0]
		if ep.Requests != 2 || ep.Latency.Mean() != c.mean || ep.Errors != 0 {
			t.Errorf("speed %v: %d requests, %d errors, mean %v; want mean %v", c.speed, ep.Requests, ep.Errors, ep.Latency.Mean(), c.mean)
		}
		// The recorded error is be/a's own; a replayed call does not
		// fail its caller.
		if a := stats(t, r.Operations, "be/a"); a.Errors != 1 {
			t.Errorf("be/a errors %d", a.Errors)
		}
	}
}

// TestReplayWindow: Warmup leaves early requests unmeasured; Duration
// stops arrivals.
func TestReplayWindow(t *testing.T) {
	var reqs []ReplayRequest
	for i := range 100 {
		reqs = append(reqs, ReplayRequest{Arrive: time.Duration(i) * msD, Root: rexec("fe/get", rwork(msD))})
	}
	r := run(t, Config{Workload: Workload{Replay: reqs}, Warmup: 10 * msD, Duration: 50 * msD})
	if n := r.Endpoints[0].Requests; n != 50 {
		t.Fatalf("%d measured requests, want 50 (arrivals at 10…59 ms)", n)
	}
	r = run(t, Config{Workload: Workload{Replay: reqs}, Requests: 30})
	if n := r.Endpoints[0].Requests; n != 30 {
		t.Fatalf("%d measured requests, want 30", n)
	}
}

func TestReplayBad(t *testing.T) {
	cyc := rexec("a/x")
	cyc.Steps = []ReplayStep{rcalls(ReplayCall{Callee: cyc})}
	ok := []ReplayRequest{{Root: rexec("a/x", rwork(msD))}}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Workload: Workload{Replay: ok, Rate: 5}}, "no Rate"},
		{Config{Workload: Workload{Replay: ok, ReplaySpeed: -1}}, "replay speed"},
		{Config{Workload: Workload{Replay: []ReplayRequest{{Root: cyc}}}}, "cycle"},
		{Config{Workload: Workload{Replay: []ReplayRequest{{Root: rexec("nosvc", rwork(msD))}}}}, "service/operation"},
		{Config{Workload: Workload{Replay: []ReplayRequest{{Root: nil}}}}, "nil execution"},
		{Config{Workload: Workload{Replay: []ReplayRequest{{Root: rexec("a/x", rwork(-msD))}}}}, "negative work"},
	} {
		_, err := Run(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
