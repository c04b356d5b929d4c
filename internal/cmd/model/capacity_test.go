package model

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/topology"
)

// emit simulates the model text for 60 s and writes its traces (Zipkin
// v2, as a tracer would: peers report no spans); it returns the file.
func emit(t *testing.T, model string) string { return emitUsers(t, model, 0) }

// emitUsers is emit with a closed loop of users that do not think, when
// users > 0.
func emitUsers(t *testing.T, model string, users int) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "true.yaml")
	if err := os.WriteFile(path, []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(dir, "traces.json")
	var out bytes.Buffer
	sio := &cmdutil.IO{Out: &out, ErrOut: &out}
	if err := simulate.Run(context.Background(), &simulate.Options{IO: sio, Model: path, Duration: 60e9, Seed: 5,
		Replications: 1, RateFactor: 1, Balance: "round-robin", EmitMax: 200000, EmitTraces: traces, EmitFormat: "zipkin",
		Users: users}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return traces
}

// modelOf builds the model of a trace file with the default inference.
func modelOf(t *testing.T, traces string) (*topology.Model, string) {
	t.Helper()
	text, summary, err := run(t, &Options{Inputs: []string{traces}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := topology.Read(strings.NewReader(text), "model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m, summary
}

// TestInferWhereRequestsWait: traces generated from models whose limit
// sits in each of the places a real system has one come back with the
// limit in that place, and the fitted work without the waits:
//
//   - a lock-like pool of 2 in each of 2 caller instances in front of an
//     uninstrumented database (the wait inside the client span);
//   - the database's own 2 workers, reached by the same 2 callers (the
//     wait inside the client span too: only the grouping tells them
//     apart);
//   - a connection pool of 2 per caller instance in front of an
//     instrumented service (the wait between client and server span);
//   - a worker pool of 3 in the caller, shared by its requests (the wait
//     before the client span, in the caller's own time).
func TestInferWhereRequestsWait(t *testing.T) {
	const peerPool = `version: 1
services:
  fe: {instances: 2, pools: {db: {size: 2}}}
  db: {peer: true}
operations:
  fe/GET:
    entry: {rate: 260/s}
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 1ms}}
          - call: db/SELECT
            via: db
  db/SELECT:
    shapes: [{weight: 1, steps: [{work: {exponential: {mean: 10ms}}}]}]
`
	t.Run("pool in the callers, peer", func(t *testing.T) {
		m, summary := modelOf(t, emit(t, peerPool))
		t.Log(summary)
		fe, db := m.Services["fe"], m.Services["db"]
		if db.Workers != 0 || fe.Pools["db"] == nil || fe.Pools["db"].Size != 2 {
			t.Fatalf("fe %+v, db %+v; want a pool of 2 in fe, db unlimited\n%s", fe, db, summary)
		}
		if c := m.Operations["fe/GET"].Shapes[0].Steps[1].Call; c == nil || c.Via != "db" {
			t.Errorf("call %+v, want via db", c)
		}
		if w := m.Operations["db/SELECT"].Shapes[0].Steps[0].Work.Mean() / 1e6; w < 9.5 || w > 10.5 {
			t.Errorf("db/SELECT work mean %.2f ms, want the 10 ms service time without the waits", w)
		}
		if !strings.Contains(summary, "fe: a pool of 2 per instance") {
			t.Errorf("summary does not say where requests wait:\n%s", summary)
		}
	})
	t.Run("the peer's own workers", func(t *testing.T) {
		text := strings.Replace(peerPool, "fe: {instances: 2, pools: {db: {size: 2}}}", "fe: {instances: 2}", 1)
		text = strings.Replace(text, "db: {peer: true}", "db: {peer: true, workers: 4}", 1)
		text = strings.Replace(text, "            via: db\n", "", 1)
		text = strings.Replace(text, "rate: 260/s", "rate: 300/s", 1)
		m, summary := modelOf(t, emit(t, text))
		t.Log(summary)
		fe, db := m.Services["fe"], m.Services["db"]
		if db.Workers != 4 || len(fe.Pools) != 0 {
			t.Fatalf("fe %+v, db %+v; want db with 4 workers, no pool in fe\n%s", fe, db, summary)
		}
		if w := m.Operations["db/SELECT"].Shapes[0].Steps[0].Work.Mean() / 1e6; w < 9.5 || w > 10.5 {
			t.Errorf("db/SELECT work mean %.2f ms, want 10", w)
		}
	})
	t.Run("connection pool in the callers, instrumented callee", func(t *testing.T) {
		text := strings.Replace(peerPool, "db: {peer: true}", "db: {}", 1)
		text = strings.Replace(text, "call: db/SELECT", "call: db/SELECT\n            network: {constant: 200us}", 1)
		m, summary := modelOf(t, emit(t, text))
		t.Log(summary)
		fe, db := m.Services["fe"], m.Services["db"]
		if db.Workers != 0 || fe.Pools["db"] == nil || fe.Pools["db"].Size != 2 {
			t.Fatalf("fe %+v, db %+v; want a pool of 2 in fe, db unlimited\n%s", fe, db, summary)
		}
		net := m.Operations["fe/GET"].Shapes[0].Steps[1].Call.Network
		if net == nil || net.Mean() > 0.3e6 {
			t.Errorf("network %v, want the 200 µs without the waits", net)
		}
	})
	t.Run("worker pool in the caller, before the client span", func(t *testing.T) {
		text := strings.Replace(peerPool, "fe: {instances: 2, pools: {db: {size: 2}}}", "fe: {pools: {db: {size: 3, wait: before-span}}}", 1)
		text = strings.Replace(text, "db: {peer: true}", "db: {}", 1)
		text = strings.Replace(text, "rate: 260/s", "rate: 220/s", 1)
		m, summary := modelOf(t, emit(t, text))
		t.Log(summary)
		fe := m.Services["fe"]
		if p := fe.Pools["db"]; p == nil || p.Size != 3 || p.Wait != topology.WaitBeforeSpan {
			t.Fatalf("fe %+v; want a pool of 3, waited for before the span\n%s", fe, summary)
		}
		if w := m.Operations["fe/GET"].Shapes[0].Steps[0].Work.Mean() / 1e6; w > 1.2 {
			t.Errorf("fe's work before the call: mean %.2f ms, want its 1 ms without the waits", w)
		}
	})
}

// TestNoQueueFromCausality: back-to-back executions that their own trace
// explains are not a queue. Five users that send their next request the
// moment the last one answered, through a front end that calls an
// instrumented service once and a database five times in a row (an N+1
// loop) with a retry policy, keep every service as busy as it can be
// without anyone waiting: no limit anywhere.
func TestNoQueueFromCausality(t *testing.T) {
	m, summary := modelOf(t, emitUsers(t, `version: 1
services:
  fe: {}
  api: {}
  db: {peer: true}
operations:
  fe/GET:
    entry: {rate: 10/s}
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 1ms}}
          - call: api/Get
            network: {constant: 100us}
          - call: db/SELECT
            repeat: 5
            retries: {max: 1}
  api/Get:
    shapes: [{weight: 1, steps: [{work: {exponential: {mean: 3ms}}}]}]
  db/SELECT:
    error_rate: 0.05
    shapes: [{weight: 1, steps: [{work: {exponential: {mean: 2ms}}}]}]
`, 5))
	for name, s := range m.Services {
		if s.Workers != 0 || len(s.Pools) != 0 {
			t.Errorf("%s: %+v, want no limit\n%s", name, s, summary)
		}
	}
	if strings.Contains(summary, "waiting") {
		t.Errorf("summary reports waiting:\n%s", summary)
	}
}

// TestStatedPool: traces of one client at a time show no concurrency,
// so nothing can be inferred; --pool states the lock or pool they cannot
// show, and the model carries it (calls via it) with the evidence that
// it was stated. An unknown service is an error naming the nearest.
func TestStatedPool(t *testing.T) {
	traces := emitUsers(t, `version: 1
services:
  fe: {}
  db: {peer: true}
operations:
  fe/GET:
    entry: {rate: 10/s}
    shapes:
      - weight: 1
        steps:
          - work: {exponential: {mean: 1ms}}
          - call: db/SELECT
  db/SELECT:
    shapes: [{weight: 1, steps: [{work: {exponential: {mean: 10ms}}}]}]
`, 1)
	text, _, err := run(t, &Options{Inputs: []string{traces}, Pools: map[string]int{"fe:db": 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := topology.Read(strings.NewReader(text), "model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Services["fe"].Pools["db"]; p == nil || p.Size != 1 || p.Evidence == nil || p.Evidence.Note != "stated (--pool)" {
		t.Errorf("fe pools %+v, want db of 1, stated", m.Services["fe"].Pools)
	}
	if c := m.Operations["fe/GET"].Shapes[0].Steps[1].Call; c.Via != "db" {
		t.Errorf("call %+v, want via db", c)
	}
	if _, _, err := run(t, &Options{Inputs: []string{traces}, Pools: map[string]int{"fe:dbb": 1}}); err == nil || !strings.Contains(err.Error(), `(did you mean "db"?)`) {
		t.Errorf("unknown callee: %v", err)
	}
}

// TestPeersByTheirNames: a database traced by a client instrumentation
// named after it (a CLIENT span under service mysql), a cache tagged
// with the current conventions (db.system.name: redis) and an HTTP call
// with its server span below become mysql, redis and pricing — no
// unknown-peer, no 127.0.0.1 — and --workers works on the peer inspect
// lists.
func TestPeersByTheirNames(t *testing.T) {
	text, _, err := run(t, &Options{Inputs: []string{"testdata/peers.json"}, Workers: map[string]int{"mysql": 1}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := topology.Read(strings.NewReader(text), "model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range m.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "frontend,mysql,pricing,redis" {
		t.Errorf("services %s, want frontend,mysql,pricing,redis", got)
	}
	if s := m.Services["mysql"]; s == nil || !s.Peer || s.Workers != 1 {
		t.Errorf("mysql: %+v, want a peer with the 1 worker given", s)
	}
	if s := m.Services["redis"]; s == nil || !s.Peer {
		t.Errorf("redis: %+v, want a peer", s)
	}
}

// TestPeerRoundTrip: a peer shows only its callers' client spans, the
// round trip plus its work. The round trip every call pays (0.5 ms here)
// becomes the calls' network, the rest the peer's work (5 ms), so that a
// faster peer keeps its round trip.
func TestPeerRoundTrip(t *testing.T) {
	m, _ := modelOf(t, emit(t, `version: 1
services:
  fe: {}
  db: {peer: true}
operations:
  fe/GET:
    entry: {rate: 50/s}
    shapes:
      - weight: 1
        steps:
          - call: db/SELECT
            network: {constant: 500us}
  db/SELECT:
    shapes: [{weight: 1, steps: [{work: {exponential: {mean: 5ms}}}]}]
`))
	c := m.Operations["fe/GET"].Shapes[0].Steps[0].Call
	if c.Network == nil || math.Abs(c.Network.Mean()/1e6-0.5) > 0.05 {
		t.Errorf("network %v, want the 0.5 ms round trip", c.Network)
	}
	if w := m.Operations["db/SELECT"].Shapes[0].Steps[0].Work.Mean() / 1e6; math.Abs(w-5) > 0.25 {
		t.Errorf("db/SELECT work mean %.3f ms, want 5", w)
	}
}
