package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmdutil"
)

// The triple holds the same spans in three formats (see
// examples/README.md).
var triple = []string{"../../../examples/formats/zipkin.json", "../../../examples/formats/jaeger.json", "../../../examples/formats/otlp.json"}

const sharedTraces = "../../../../shared/traces"

// run runs analyze with opts on inputs and returns stdout and stderr.
func run(t *testing.T, opts Options, inputs ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.IO = &cmdutil.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	opts.Inputs = inputs
	err := Run(context.Background(), &opts)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, opts Options, inputs ...string) string {
	t.Helper()
	out, errOut, err := run(t, opts, inputs...)
	if err != nil {
		t.Fatalf("analyze %+v %v: %v\n%s", opts, inputs, err, errOut)
	}
	return out
}

func TestDefaultTable(t *testing.T) {
	out := mustRun(t, Options{}, triple[0])
	for _, want := range []string{
		"20 traces",
		"critical path of frontend/GET /api/items: 10 traces, mean ",
		"critical path of frontend/POST /api/orders: 10 traces",
		"OPERATION", "MS/TRACE", "SPANS/TRACE", "SHARE",
		"service dependencies (* = uninstrumented peer):",
		"FROM", "CALLS",
		"  mysql *  ", // the generator's uninstrumented database
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// jsonReport mirrors the JSON contract of DESIGN.md with exact field
// names; decoding with DisallowUnknownFields would be too strict (other
// views add fields), so the test checks the names it needs are present.
type jsonReport struct {
	Traces    *int `json:"traces"`
	Endpoints []struct {
		Endpoint *string             `json:"endpoint"`
		Traces   *int                `json:"traces"`
		Latency  map[string]*float64 `json:"latency_ms"`
		Path     []struct {
			Operation     *string  `json:"operation"`
			MsPerTrace    *float64 `json:"ms_per_trace"`
			CountPerTrace *float64 `json:"count_per_trace"`
			Share         *float64 `json:"share"`
		} `json:"critical_path"`
	} `json:"endpoints"`
	Dependencies []map[string]any `json:"dependencies"`
	Flows        []map[string]any `json:"flows"`
	CCT          map[string]any   `json:"cct"`
	Gantt        map[string]any   `json:"gantt"`
}

func decodeReport(t *testing.T, out string) *jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%.500s", err, out)
	}
	return &r
}

// checkContract checks the critical-path document: every field present,
// shares sum to 1 per endpoint.
func checkContract(t *testing.T, name string, r *jsonReport) {
	t.Helper()
	if r.Traces == nil || r.Endpoints == nil {
		t.Fatalf("%s: traces or endpoints missing", name)
	}
	for _, e := range r.Endpoints {
		if e.Endpoint == nil || e.Traces == nil || e.Path == nil {
			t.Fatalf("%s: endpoint fields missing", name)
		}
		for _, k := range []string{"mean", "p50", "p90", "p99", "p999"} {
			if e.Latency[k] == nil {
				t.Errorf("%s: %s: latency_ms.%s missing", name, *e.Endpoint, k)
			}
		}
		sum := 0.0
		for _, p := range e.Path {
			if p.Operation == nil || p.MsPerTrace == nil || p.CountPerTrace == nil || p.Share == nil {
				t.Fatalf("%s: %s: critical_path entry fields missing", name, *e.Endpoint)
			}
			sum += *p.Share
		}
		// An endpoint whose traces all last 0 ns has no shares.
		if *e.Latency["mean"] > 0 && math.Abs(sum-1) > 1e-4 {
			t.Errorf("%s: %s: shares sum to %v", name, *e.Endpoint, sum)
		}
	}
}

func TestJSONContract(t *testing.T) {
	out := mustRun(t, Options{JSON: true}, triple[0])
	r := decodeReport(t, out)
	checkContract(t, "zipkin.json", r)
	if *r.Traces != 20 || len(r.Endpoints) != 2 || r.Dependencies == nil {
		t.Errorf("traces %d endpoints %d deps %d", *r.Traces, len(r.Endpoints), len(r.Dependencies))
	}
	if r.Flows != nil || r.CCT != nil || r.Gantt != nil {
		t.Error("default JSON carries views that were not asked for")
	}
	all := decodeReport(t, mustRun(t, Options{JSON: true, View: "all"}, triple[0]))
	if all.Dependencies == nil || len(all.Flows) != 2 || all.CCT == nil || all.Gantt == nil {
		t.Errorf("--view all JSON lacks a view: deps %v flows %d cct %v gantt %v", all.Dependencies != nil, len(all.Flows), all.CCT != nil, all.Gantt != nil)
	}
}

// TestSameEveryFormat: the three formats of one data set analyse the same.
func TestSameEveryFormat(t *testing.T) {
	var want string
	for _, f := range triple {
		got := mustRun(t, Options{JSON: true, View: "all"}, f)
		if want == "" {
			want = got
			continue
		}
		if got != want {
			t.Errorf("%s: analyze --view all --json differs from %s", f, triple[0])
		}
	}
}

// TestDeterministic: same input, byte-identical output, for every view.
func TestDeterministic(t *testing.T) {
	for _, o := range []Options{{}, {View: "all"}, {View: "all", JSON: true}, {View: "flow"}, {View: "cct", Collapsed: true}, {View: "gantt"}} {
		a := mustRun(t, o, triple[0])
		b := mustRun(t, o, triple[0])
		if a != b {
			t.Errorf("%+v: two runs differ", o)
		}
	}
}

func TestViews(t *testing.T) {
	in := triple[0]
	t.Run("critical-path of one trace", func(t *testing.T) {
		out := mustRun(t, Options{View: "critical-path", Trace: "first"}, in)
		if !strings.Contains(out, "critical path of trace ") || strings.Contains(out, "service dependencies") {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("endpoint", func(t *testing.T) {
		r := decodeReport(t, mustRun(t, Options{JSON: true, Endpoint: "frontend/POST /api/orders"}, in))
		if *r.Traces != 10 || len(r.Endpoints) != 1 || *r.Endpoints[0].Endpoint != "frontend/POST /api/orders" {
			t.Errorf("traces %d endpoints %d", *r.Traces, len(r.Endpoints))
		}
	})
	t.Run("cct", func(t *testing.T) {
		out := mustRun(t, Options{View: "cct"}, in)
		if !strings.Contains(out, "calling context tree: 20 traces") || !strings.Contains(out, "\n  frontend/") {
			t.Errorf("output:\n%.1000s", out)
		}
	})
	t.Run("collapsed", func(t *testing.T) {
		out := mustRun(t, Options{View: "cct", Collapsed: true}, in)
		line := regexp.MustCompile(`^[^; ][^;]*(;[^;]+)* [1-9][0-9]*$`)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 20 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if !line.MatchString(l) {
				t.Fatalf("not a collapsed stack line: %q", l)
			}
		}
	})
	t.Run("gantt text", func(t *testing.T) {
		out := mustRun(t, Options{View: "gantt", Width: 40}, in)
		if !strings.HasPrefix(out, "trace ") || !strings.Contains(out, "START ms") || !strings.Contains(out, "|====") {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("gantt svg", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gantt.svg")
		mustRun(t, Options{View: "gantt", Trace: "first", Output: path}, in)
		checkXMLFile(t, path)
	})
	t.Run("flow dot", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "graph.dot")
		_, errOut, err := run(t, Options{View: "flow", Output: path}, in)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(data, []byte("strict digraph flow {")) {
			t.Fatalf("%v\n%.200s", err, data)
		}
		if !strings.Contains(errOut, "wrote "+path) {
			t.Errorf("stderr %q", errOut)
		}
		if _, err := os.Stat(strings.TrimSuffix(path, ".dot") + ".svg"); err == nil {
			t.Error("SVG written without --svg")
		}
	})
	t.Run("flow svg", func(t *testing.T) {
		if _, err := exec.LookPath("dot"); err != nil {
			t.Skip("Graphviz dot is not on PATH (apt-get install graphviz); SVG rendering not tested")
		}
		dir := t.TempDir()
		mustRun(t, Options{View: "flow", Output: filepath.Join(dir, "graph.svg")}, in)
		checkXMLFile(t, filepath.Join(dir, "graph.svg"))
		mustRun(t, Options{View: "flow", SVG: true, Output: filepath.Join(dir, "other.dot")}, in)
		checkXMLFile(t, filepath.Join(dir, "other.svg"))
	})
	t.Run("flow svg without graphviz", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		dir := t.TempDir()
		_, _, err := run(t, Options{View: "flow", Output: filepath.Join(dir, "graph.svg")}, in)
		if err == nil || !strings.Contains(err.Error(), "apt-get install graphviz") {
			t.Fatalf("err %v, want one saying how to install Graphviz", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "graph.dot")); err != nil {
			t.Errorf("DOT file not written: %v", err)
		}
	})
}

func checkXMLFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{View: "flame"}, `unknown --view "flame"`},
		{Options{Collapsed: true}, "--collapsed applies to --view cct"},
		{Options{SVG: true, View: "cct"}, "--svg applies to --view flow and --view gantt"},
		{Options{Endpoint: "nope/GET"}, `--endpoint "nope/GET": no trace has this root operation; endpoints: frontend/GET /api/items, frontend/POST /api/orders`},
		{Options{View: "gantt", Trace: "ffffffff"}, `--trace: trace "ffffffff" not found among 20 traces`},
		{Options{Format: "xml"}, `unknown --format "xml"`},
	}
	for _, c := range cases {
		_, _, err := run(t, c.opts, triple[0])
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.opts, err, c.want)
		}
	}
	_, _, err := run(t, Options{}, filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// TestSharedTraces: analyze succeeds on every real-world fixture, in every
// view, and the critical-path document holds its contract.
func TestSharedTraces(t *testing.T) {
	if _, err := os.Stat(sharedTraces); err != nil {
		t.Skipf("shared fixtures not present (%v)", err)
	}
	var files []string
	err := filepath.WalkDir(sharedTraces, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonl")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no fixtures in " + sharedTraces)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, sharedTraces+"/"), func(t *testing.T) {
			r := decodeReport(t, mustRun(t, Options{JSON: true, View: "all"}, f))
			checkContract(t, f, r)
			if *r.Traces == 0 {
				t.Error("no traces")
			}
			mustRun(t, Options{}, f)
			mustRun(t, Options{View: "all"}, f)
			mustRun(t, Options{View: "cct", Collapsed: true}, f)
			mustRun(t, Options{View: "flow"}, f)
			dir := t.TempDir()
			mustRun(t, Options{View: "gantt", Output: filepath.Join(dir, "g.svg")}, f)
			checkXMLFile(t, filepath.Join(dir, "g.svg"))
		})
	}
}

// TestStreamedJSON: the streaming writer produces exactly what
// cmdutil.WriteJSON produces.
func TestStreamedJSON(t *testing.T) {
	for _, view := range []string{"", "critical-path", "cct", "gantt", "flow", "all"} {
		opts := &Options{View: view, JSON: true, Trace: "first"}
		res, err := inspect.Load(context.Background(), &cmdutil.IO{ErrOut: io.Discard}, triple[:1], "", false)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := build(opts, res.Traces, nil)
		if err != nil {
			t.Fatal(err)
		}
		check := func(rep *Report) {
			var want, got bytes.Buffer
			if err := cmdutil.WriteJSON(&want, rep); err != nil {
				t.Fatal(err)
			}
			if err := writeReportJSON(&got, rep); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("view %q: streamed JSON differs:\n got %.2000s\nwant %.2000s", view, got.String(), want.String())
			}
		}
		check(rep)
		if rep.CCT != nil {
			rep.CCT.Nodes = []analysis.CCTNode{}
			check(rep)
		}
	}
}

// TestCriticalPathWaiting: on traces of a system whose callers queue for a
// pool of 2 in front of a 10 ms database, the critical path tells the
// waiting inside the client spans from the work: the client span's work
// part is the database's 10 ms (±5%), the rest of it is waiting, and the
// table gets WORK and WAITING columns.
func TestCriticalPathWaiting(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(model, []byte(`version: 1
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
`), 0o644); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(dir, "traces.json")
	var log bytes.Buffer
	if err := simulate.Run(context.Background(), &simulate.Options{IO: &cmdutil.IO{Out: &log, ErrOut: &log}, Model: model,
		Duration: 60e9, Seed: 5, Replications: 1, RateFactor: 1, Balance: "round-robin", EmitMax: 200000,
		EmitTraces: traces, EmitFormat: "zipkin"}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var doc analysis.CriticalPaths
	if err := json.Unmarshal([]byte(mustRun(t, Options{JSON: true}, traces)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Endpoints) != 1 {
		t.Fatalf("endpoints %+v", doc.Endpoints)
	}
	var client *analysis.PathEntry
	for i, p := range doc.Endpoints[0].CriticalPath {
		if p.Operation == "fe/SELECT" {
			client = &doc.Endpoints[0].CriticalPath[i]
		}
	}
	if client == nil {
		t.Fatalf("no client span on the path: %+v", doc.Endpoints[0].CriticalPath)
	}
	work := client.MsPerTrace - client.WaitMsPerTrace
	t.Logf("fe/SELECT on the path: %.3f ms per trace, %.3f waiting, %.3f work", client.MsPerTrace, client.WaitMsPerTrace, work)
	if client.WaitMsPerTrace <= 1 || math.Abs(work-10) > 0.5 {
		t.Errorf("waiting %.3f ms, work %.3f ms; want the 10 ms of work apart from over a millisecond of waiting", client.WaitMsPerTrace, work)
	}
	if out := mustRun(t, Options{}, traces); !strings.Contains(out, "WAITING") {
		t.Errorf("table has no WAITING column:\n%s", out)
	}
}
