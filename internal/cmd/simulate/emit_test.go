package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// emitRun simulates testdata/emit.yaml for one replication with traces
// emitted, and returns the JSON summary and the assembled traces.
func emitRun(t *testing.T, format string, max int) (doc, *trace.Result, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.json")
	out, errOut, err := run(t, Options{Model: "testdata/emit.yaml", Duration: 20 * time.Second, Seed: 7,
		Replications: 1, JSON: true, EmitTraces: path, EmitFormat: format, EmitMax: max})
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	c, err := load.Load(context.Background(), []string{path}, load.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d, res, errOut
}

// checkShape asserts every trace is one tree of a root server span
// frontend/GET /page with two client spans, each with one server child.
func checkShape(t *testing.T, res *trace.Result) {
	t.Helper()
	for i := range res.Traces {
		tr := &res.Traces[i]
		if len(tr.Roots) != 1 || len(tr.Spans) != 5 {
			t.Fatalf("trace %v: %d roots, %d spans; want 1 and 5", tr.ID, len(tr.Roots), len(tr.Spans))
		}
		root := tr.Roots[0]
		if s := tr.Spans[root]; s.Endpoint() != "frontend/GET /page" || s.Kind != trace.KindServer {
			t.Fatalf("trace %v: root %s (%v)", tr.ID, s.Endpoint(), s.Kind)
		}
		var got []string
		for _, ci := range tr.Children(root) {
			cs := tr.Spans[ci]
			kids := tr.Children(ci)
			if cs.Kind != trace.KindClient || cs.Service != "frontend" || len(kids) != 1 {
				t.Fatalf("trace %v: root child %s %v with %d children", tr.ID, cs.Endpoint(), cs.Kind, len(kids))
			}
			ss := tr.Spans[kids[0]]
			// The client names its callee (Zipkin remoteEndpoint, OTLP
			// peer.service: trace.SpanPeerName reads either).
			if ss.Kind != trace.KindServer || ss.Service != "backend" || ss.Name != cs.Name || trace.SpanPeerName(&cs) != "backend" {
				t.Fatalf("trace %v: client %s → server %s", tr.ID, cs.Endpoint(), ss.Endpoint())
			}
			if ss.Start < cs.Start || ss.End() > cs.End() {
				t.Fatalf("trace %v: server span %s not inside its client span", tr.ID, ss.Endpoint())
			}
			got = append(got, ss.Endpoint())
		}
		if !slices.Equal(got, []string{"backend/a", "backend/b"}) {
			t.Fatalf("trace %v: calls %v", tr.ID, got)
		}
	}
	if q := res.Quality; q.OrphanSpans != 0 || q.SkewAdjustedSpans != 0 || q.AsyncSpans != 0 || q.DuplicateIDs != 0 || q.SkippedRecords != 0 {
		t.Fatalf("quality %+v", q)
	}
}

// TestEmitZipkin writes every measured request of replication 0 as a
// Zipkin trace and reads them back: one tree each of the model's shape,
// and the root durations average to the simulator's endpoint mean.
func TestEmitZipkin(t *testing.T) {
	d, res, errOut := emitRun(t, "zipkin", 1_000_000)
	e := d.Endpoints[0]
	if len(res.Traces) != int(e.Requests) || e.Requests < 1500 {
		t.Fatalf("%d traces, simulator measured %d requests", len(res.Traces), e.Requests)
	}
	if !strings.Contains(errOut, "wrote ") {
		t.Errorf("stderr %q", errOut)
	}
	checkShape(t, res)
	sum := 0.0
	for i := range res.Traces {
		tr := &res.Traces[i]
		sum += float64(tr.Spans[tr.Roots[0]].Duration)
	}
	mean := sum / float64(len(res.Traces)) / 1e6
	t.Logf("%d traces; root mean %.4f ms, simulator endpoint mean %.4f ms", len(res.Traces), mean, e.Latency.Mean)
	if math.Abs(mean-e.Latency.Mean) > 0.01*e.Latency.Mean {
		t.Errorf("root mean %.4f ms, simulator %.4f ms: more than 1%% apart", mean, e.Latency.Mean)
	}
}

// TestEmitOTLPMax caps the file at --emit-max requests.
func TestEmitOTLPMax(t *testing.T) {
	_, res, _ := emitRun(t, "otlp", 50)
	if len(res.Traces) != 50 {
		t.Fatalf("%d traces, want 50", len(res.Traces))
	}
	checkShape(t, res)
	ids := make(map[uint64]bool)
	for _, tr := range res.Traces {
		ids[tr.ID.Low] = true
	}
	for i := uint64(1); i <= 50; i++ {
		if !ids[i] {
			t.Fatalf("trace %d missing (the first 50 requests are kept)", i)
		}
	}
}

func TestEmitBadFlags(t *testing.T) {
	for _, o := range []Options{
		{EmitTraces: "x.json", EmitFormat: "jaeger", EmitMax: 1},
		{EmitTraces: "x.json", EmitFormat: "zipkin", EmitMax: 0},
	} {
		o.Model, o.Requests, o.Replications = "testdata/emit.yaml", 10, 1
		if _, _, err := run(t, o); err == nil || !strings.Contains(err.Error(), "--emit") {
			t.Errorf("%+v: error %v", o, err)
		}
	}
}

// TestEmitBuildRoundTrip builds a model from the emitted traces: the
// shapes and the medians of work and network come back within 5%.
func TestEmitBuildRoundTrip(t *testing.T) {
	_, res, _ := emitRun(t, "zipkin", 1_000_000)
	m, _, err := topology.Build(context.Background(), res, topology.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := topology.ReadFile("testdata/emit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Operations) != len(want.Operations) {
		t.Fatalf("built %d operations, want %d", len(m.Operations), len(want.Operations))
	}
	near := func(what string, got, exp dist.Dist) {
		t.Helper()
		if got == nil || exp == nil {
			t.Fatalf("%s: distribution %v, want %v", what, got, exp)
		}
		g, e := got.Quantile(0.5), exp.Quantile(0.5)
		t.Logf("%s: median %.3f ms (model %.3f ms)", what, g/1e6, e/1e6)
		if math.Abs(g-e) > 0.05*e {
			t.Errorf("%s: median %.3f ms, model %.3f ms: more than 5%% apart", what, g/1e6, e/1e6)
		}
	}
	for name, wop := range want.Operations {
		op := m.Operations[name]
		if op == nil || len(op.Shapes) != 1 || len(op.Shapes[0].Steps) != len(wop.Shapes[0].Steps) {
			t.Fatalf("%s: built %+v", name, op)
		}
		if (op.Entry != nil) != (wop.Entry != nil) {
			t.Errorf("%s: entry %v, want %v", name, op.Entry, wop.Entry)
		}
		for k, ws := range wop.Shapes[0].Steps {
			s := op.Shapes[0].Steps[k]
			what := name + " step " + strconv.Itoa(k)
			switch {
			case ws.Work != nil:
				near(what+" work", s.Work, ws.Work)
			case ws.Call != nil:
				if s.Call == nil || s.Call.Target != ws.Call.Target {
					t.Fatalf("%s: built %+v, want call %s", what, s, ws.Call.Target)
				}
				near(what+" network", s.Call.Network, ws.Call.Network)
			}
		}
	}
	if e := m.Operations["frontend/GET /page"].Entry; e == nil || math.Abs(e.Rate-100) > 5 {
		t.Errorf("entry %+v, want rate 100/s ± 5%%", e)
	}
}

// TestEmitDeterministic: the same inputs and seed give a byte-identical
// file, whatever the number of replications.
func TestEmitDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [][]byte
	for i, reps := range []int{1, 3} {
		path := filepath.Join(dir, strconv.Itoa(i)+".json")
		if _, _, err := run(t, Options{Model: "testdata/emit.yaml", Requests: 500, Seed: 5, Replications: reps,
			EmitTraces: path, EmitFormat: "otlp", EmitMax: 100}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) || len(files[0]) == 0 {
		t.Fatal("emitted files differ between runs with the same seed")
	}
}

// replayRequests turns assembled traces into sim replay requests: a
// prototype of replay.FromTraces (DESIGN.md), kept in this test to check
// the engine's replay path against emitted traces. A server span's time
// line is cut as topology.Build cuts it: overlapping client children form
// one call step, the gaps are work; client minus server duration is the
// call's network overhead.
func replayRequests(res *trace.Result) []sim.ReplayRequest {
	var out []sim.ReplayRequest
	var t0 int64 = math.MaxInt64
	for i := range res.Traces {
		tr := &res.Traces[i]
		t0 = min(t0, tr.Spans[tr.Roots[0]].Start)
	}
	for i := range res.Traces {
		tr := &res.Traces[i]
		var conv func(s int32) *sim.ReplayExec
		conv = func(s int32) *sim.ReplayExec {
			sp := &tr.Spans[s]
			x := &sim.ReplayExec{Op: sp.Endpoint(), Error: sp.Has(trace.FlagError)}
			cursor, groupEnd := sp.Start, int64(-1)
			for _, c := range tr.Children(s) {
				cs := &tr.Spans[c]
				if cs.Start >= groupEnd { // a new call step
					if groupEnd >= 0 {
						cursor = groupEnd
					}
					if cs.Start > cursor {
						x.Steps = append(x.Steps, sim.ReplayStep{Work: time.Duration(cs.Start - cursor)})
					}
					x.Steps = append(x.Steps, sim.ReplayStep{})
				}
				groupEnd = max(groupEnd, cs.End())
				call := sim.ReplayCall{Callee: &sim.ReplayExec{Op: cs.Peer + "/" + cs.Name,
					Steps: []sim.ReplayStep{{Work: time.Duration(cs.Duration)}}}}
				if kids := tr.Children(c); len(kids) == 1 {
					call.Callee = conv(kids[0])
					call.Network = time.Duration(cs.Duration - tr.Spans[kids[0]].Duration)
				}
				st := &x.Steps[len(x.Steps)-1]
				st.Calls = append(st.Calls, call)
			}
			if groupEnd >= 0 {
				cursor = groupEnd
			}
			if sp.End() > cursor {
				x.Steps = append(x.Steps, sim.ReplayStep{Work: time.Duration(sp.End() - cursor)})
			}
			return x
		}
		root := tr.Roots[0]
		out = append(out, sim.ReplayRequest{Arrive: time.Duration(tr.Spans[root].Start - t0), Root: conv(root)})
	}
	return out
}

// TestEmitReplay replays emitted traces in the engine: with no capacity
// limits (the recorded queue waits are already inside the recorded
// network times) every request takes exactly its recorded time; with the
// model's capacity the queueing is counted twice, so latency can only
// grow.
func TestEmitReplay(t *testing.T) {
	_, res, _ := emitRun(t, "zipkin", 1_000_000)
	reqs := replayRequests(res)
	var recorded float64
	for i := range res.Traces {
		tr := &res.Traces[i]
		recorded += float64(tr.Spans[tr.Roots[0]].Duration)
	}
	recorded /= float64(len(res.Traces))
	r, err := sim.Run(context.Background(), sim.Config{Workload: sim.Workload{Replay: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	ep := r.Endpoints[0]
	t.Logf("%d replayed requests: mean %.4f ms, recorded %.4f ms", ep.Requests, ep.Latency.Mean()/1e6, recorded/1e6)
	if ep.Requests != int64(len(reqs)) || math.Abs(ep.Latency.Mean()-recorded) > 1e-9*recorded {
		t.Fatalf("replayed %d requests, mean %.6f ms; recorded %d, %.6f ms", ep.Requests, ep.Latency.Mean()/1e6,
			len(reqs), recorded/1e6)
	}
	m, err := topology.ReadFile("testdata/emit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err = sim.Run(context.Background(), sim.Config{Model: m, Workload: sim.Workload{Replay: reqs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("with the model's capacity: mean %.4f ms", r.Endpoints[0].Latency.Mean()/1e6)
	if r.Endpoints[0].Latency.Mean() < recorded {
		t.Fatalf("queueing made replay faster: %.4f < %.4f ms", r.Endpoints[0].Latency.Mean()/1e6, recorded/1e6)
	}
}
