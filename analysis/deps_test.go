package analysis

import (
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func TestDependencies(t *testing.T) {
	const (
		srv = trace.KindServer
		cli = trace.KindClient
	)
	spans := hsSpans(1,
		hs{id: 1, op: "front/GET", start: 0, end: 100, kind: srv},
		hs{id: 2, parent: 1, op: "front/GetUser", start: 10, end: 40, kind: cli},
		hs{id: 3, parent: 2, op: "users/GetUser", start: 12, end: 38, kind: srv, flags: trace.FlagError},
		hs{id: 4, parent: 3, op: "users/SELECT", start: 15, end: 20, kind: cli, peer: "mysql", flags: trace.FlagError},
		hs{id: 5, parent: 1, op: "front/SELECT", start: 50, end: 60, kind: cli, peer: "mysql"},
		// No client span: the server span's time is the call's.
		hs{id: 6, parent: 1, op: "cache/Get", start: 70, end: 80, kind: srv},
		// A client span with a child in its own service is not a call
		// to that child; with a peer it is a call to the peer.
		hs{id: 7, parent: 1, op: "front/Publish", start: 81, end: 90, kind: trace.KindProducer, peer: "kafka"},
		hs{id: 8, parent: 7, op: "front/encode", start: 82, end: 83, kind: trace.KindInternal},
	)
	spans = append(spans, hsSpans(2,
		hs{id: 1, op: "front/GET", start: 1000, end: 1050, kind: srv},
		hs{id: 2, parent: 1, op: "front/GetUser", start: 1010, end: 1030, kind: cli, peer: "users"},
		hs{id: 3, parent: 2, op: "users/GetUser", start: 1011, end: 1029, kind: srv},
	)...)
	deps := Dependencies(hsAssemble(t, spans).Traces)
	type row struct {
		from, to      string
		calls, errors int
		mean          float64
		uninstr       bool
	}
	want := []row{
		{"front", "cache", 1, 0, 10, false},
		{"front", "kafka", 1, 0, 9, true},
		{"front", "mysql", 1, 0, 10, true},
		{"front", "users", 2, 1, 25, false},
		{"users", "mysql", 1, 1, 5, true},
	}
	if len(deps) != len(want) {
		t.Fatalf("deps %+v", deps)
	}
	for i, w := range want {
		d := deps[i]
		got := row{d.From, d.To, d.Calls, d.Errors, d.Latency.Mean, d.Uninstrumented}
		if got != w {
			t.Errorf("dep %d: %+v, want %+v", i, got, w)
		}
	}
	if deps[3].ErrorRate != 0.5 || deps[3].Timed != 2 {
		t.Errorf("front→users: %+v", deps[3])
	}
}
