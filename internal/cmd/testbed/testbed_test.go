package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

func run(t *testing.T, o Options) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o.IO = &cmdutil.IO{Out: &out, ErrOut: &errOut}
	if o.Topology == "-" {
		data, err := os.ReadFile("testdata/chain.yaml")
		if err != nil {
			t.Fatal(err)
		}
		o.IO.In = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Run(ctx, &o)
	return out.String(), err
}

// TestRunTableAndTraces: the chain topology (20 ms of sleeps per request)
// prints one endpoint row, writes traces that trace/load reads back (one
// root span per request, all of a and b), and the latencies file lists
// every measured request.
func TestRunTableAndTraces(t *testing.T) {
	dir := t.TempDir()
	tr, lat := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "lat.json")
	out, err := run(t, Options{Topology: "testdata/chain.yaml", Users: 1, Requests: 25, Warmup: 50 * time.Millisecond,
		Duration: time.Minute, Seed: 1, Traces: tr, Latencies: lat})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ENDPOINT") || !strings.Contains(out, "a/GET /a") || !strings.Contains(out, "traces in "+tr) {
		t.Fatalf("table:\n%s", out)
	}
	fields := strings.Fields(strings.Split(out, "\n")[1])
	// a/GET /a: the name has a space, so requests is field 2.
	if fields[2] != "25" || fields[3] != "0" {
		t.Errorf("row %q: want 25 requests and 0 errors", fields)
	}
	c, err := load.Load(context.Background(), []string{tr}, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Warm-up requests are traced too: at least the 25 measured ones.
	if len(res.Traces) < 25 || len(res.Spans) != 3*len(res.Traces) || len(res.Quality.Reasons) != 0 {
		t.Errorf("%d traces, %d spans, findings %v; want ≥ 25 traces of 3 spans, none", len(res.Traces), len(res.Spans), res.Quality.Reasons)
	}
	var doc latencyDoc
	data, err := os.ReadFile(lat)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Endpoints) != 1 || len(doc.Endpoints[0].LatencyMS) != 25 || doc.Endpoints[0].LatencyMS[0] < 20 {
		t.Errorf("latencies %+v: want 25, each ≥ 20 ms", doc)
	}
}

// TestRunPeerSpans: --peer-spans mysql=component makes the calls to the
// peer mysql CLIENT spans of a tracer named mysql, below a's server
// spans; an unknown style is an error.
func TestRunPeerSpans(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "out.jsonl")
	if _, err := run(t, Options{Topology: "testdata/peer.yaml", Users: 1, Requests: 5, Duration: time.Minute,
		Seed: 1, Traces: tr, PeerSpans: []string{"mysql=component"}}); err != nil {
		t.Fatal(err)
	}
	c, err := load.Load(context.Background(), []string{tr}, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tc := range res.Traces {
		for i, s := range tc.Spans {
			if s.Service != "mysql" {
				continue
			}
			n++
			if p := tc.Parent[i]; s.Kind != trace.KindClient || p < 0 || tc.Spans[p].Service != "a" || tc.PeerName(int32(i)) != "mysql" {
				t.Errorf("mysql span %+v: want a CLIENT span below a's span, naming the peer mysql", s)
			}
		}
	}
	if n < 5 {
		t.Errorf("%d spans of service mysql, want one per request (≥ 5)", n)
	}
	_, err = run(t, Options{Topology: "testdata/peer.yaml", Users: 1, Requests: 1, Duration: time.Minute, PeerSpans: []string{"mysql=jdbc"}})
	if err == nil || !strings.Contains(err.Error(), `unknown style "jdbc"`) {
		t.Errorf("unknown style: %v", err)
	}
}

// TestRunScenarioJSON: the scenario's workload (1 user, 20 requests) and
// its speedup of b by 0.5 apply: 5 + 2 + 5 + 3 = 15 ms per request.
func TestRunScenarioJSON(t *testing.T) {
	out, err := run(t, Options{Topology: "testdata/chain.yaml", Scenarios: []string{"testdata/speedup.yaml"},
		Duration: 10 * time.Second, Seed: 2, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Endpoints) != 1 || rep.Endpoints[0].Requests != 20 || rep.Workload.Users != 1 {
		t.Fatalf("report %+v", rep)
	}
	// The median: a mean of 20 requests moves with one request that
	// other tests on the same cores delayed.
	// A busy machine (the other packages' tests) makes each of the
	// path's ~12 goroutine wake-ups later by the measured slack; twice
	// that is allowed beyond the idle overhead.
	busy := 2 * 12 * max(0, rep.Slack.Mean-0.1)
	if m := rep.Endpoints[0].Latency.P50; m < 15 || m > 18+busy {
		t.Errorf("p50 %.3f ms, want 15 ms + overhead (≤ 3 ms, + %.3f ms for the machine's slack of mean %.3f ms)", m, busy, rep.Slack.Mean)
	}
}

// TestRunStdin: the topology can come from standard input.
func TestRunStdin(t *testing.T) {
	out, err := run(t, Options{Topology: "-", Users: 1, Requests: 3, Duration: time.Minute, Seed: 1})
	if err != nil || !strings.Contains(out, "a/GET /a") {
		t.Fatalf("error %v, output:\n%s", err, out)
	}
}

// TestRunErrors: bad input names the file and what was expected.
func TestRunErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"missing topology", Options{Topology: "testdata/nope.yaml", Duration: time.Second}, "nope.yaml"},
		{"bad scenario", Options{Topology: "testdata/chain.yaml", Scenarios: []string{"testdata/bad-scenario.yaml"}, Duration: time.Second}, `bad-scenario.yaml: change 1 (speedup, line 4): unknown service "nope"`},
		{"missing scenario", Options{Topology: "testdata/chain.yaml", Scenarios: []string{"testdata/none.yaml"}, Duration: time.Second}, "none.yaml"},
		{"rate and users", Options{Topology: "testdata/chain.yaml", Rate: "10/s", Users: 2, Duration: time.Second}, "exclude each other"},
		{"bad rate", Options{Topology: "testdata/chain.yaml", Rate: "fast", Duration: time.Second}, "--rate"},
		{"no bound", Options{Topology: "testdata/chain.yaml"}, "--duration or --requests"},
		{"traces dir", Options{Topology: "testdata/chain.yaml", Duration: time.Second, Traces: t.TempDir()}, "traces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestNewCmdFlags: the command parses its arguments and flags.
func TestNewCmdFlags(t *testing.T) {
	var out bytes.Buffer
	cmd := NewCmd(&cmdutil.IO{Out: &out, ErrOut: &out})
	cmd.SetArgs([]string{"run", "testdata/chain.yaml", "--users", "1", "--requests", "3", "--warmup", "0s", "--json"})
	cmd.SetOut(&out)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Endpoints) != 1 || rep.Endpoints[0].Requests != 3 {
		t.Errorf("report %+v (%v)\n%s", rep, err, out.String())
	}
}
