package testbed

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/otlp"
)

// model reads a model written in the test.
func model(t *testing.T, yaml string) *topology.Model {
	t.Helper()
	m, err := topology.Read(strings.NewReader(yaml), t.Name()+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run starts a system on m with opt, offers it w, closes it and returns
// what the clients measured and the system (closed, for its counters).
func run(t *testing.T, m *topology.Model, opt Options, w Workload) (*Result, *System) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, m, opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Load(ctx, w)
	if cerr := s.Close(ctx); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res, s
}

// endpoint returns op's result or fails the test.
func endpoint(t *testing.T, r *Result, op string) *EndpointResult {
	t.Helper()
	e := r.Endpoint(op)
	if e == nil {
		t.Fatalf("no result for %s in %+v", op, r.Endpoints)
	}
	return e
}

// assemble decodes OTLP/JSON lines with trace/otlp and assembles them.
func assemble(t *testing.T, buf *bytes.Buffer) *trace.Result {
	t.Helper()
	c := &trace.Collector{}
	src := c.AddSource("testbed.jsonl")
	if err := otlp.Decode(context.Background(), bytes.NewReader(buf.Bytes()), src, c); err != nil {
		t.Fatal(err)
	}
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// within reports whether got is within tol of want.
func within(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }

func stat(s *System, op string) OpStats {
	for _, st := range s.Stats() {
		if st.Op == op {
			return st
		}
	}
	return OpStats{Op: op}
}

// Bounds of a latency the testbed measures, in ms: it never takes less
// than its sleeps (up to timer rounding, minSlack), and its own overhead
// on an idle machine — HTTP on loopback, spans, timer slack — adds at most
// fixedSlack plus callSlack per call on the request's path. On a busy
// machine (other packages' tests share the 2 cores under `go test ./...`)
// every goroutine wake-up on the path is later still: the run's slack
// probe (Result.Slack) measures by how much, and busyAllowance adds it.
const (
	minSlack   = 0.3
	fixedSlack = 1.0
	callSlack  = 0.6
	// idleSlack is the mean lateness of the probe's sleeps on an idle
	// machine (55–65 µs measured); fixedSlack and callSlack cover it.
	idleSlack = 0.1
)

// busyAllowance is what a busy machine adds (ms) to a request path of
// calls calls: about four goroutine wake-ups per call and per sleep
// around it (client send, server read, handler, response), each as late
// as the probe's mean beyond an idle machine's, twice over for safety.
func busyAllowance(s Slack, calls int) float64 {
	excess := max(0, ms(s.Mean)-idleSlack)
	return 2 * float64(4*(calls+1)) * excess
}

// checkLatency fails the test unless got (ms) is want (ms) plus the
// testbed's overhead for calls calls on the request's path, measured in
// the run res.
func checkLatency(t *testing.T, res *Result, what string, got, want float64, calls int) {
	t.Helper()
	busy := busyAllowance(res.Slack, calls)
	hi := want + fixedSlack + callSlack*float64(calls) + busy
	if got < want-minSlack || got > hi {
		t.Errorf("%s: %.3f ms, want %.3f ms of sleeps + overhead (%.3f .. %.3f; %.3f ms of it for this machine's slack, mean %.3f ms)",
			what, got, want, want-minSlack, hi, busy, ms(res.Slack.Mean))
	}
}
