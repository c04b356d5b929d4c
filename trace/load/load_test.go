package load

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/zipkin"
)

func TestSniff(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{`[{"traceId":"a","id":"b"}]`, Zipkin, ""},
		{`{"traceId":"a","id":"b","name":"x"}`, Zipkin, ""},
		{`{"data":[{"traceID":"a","spans":[]}]}`, Jaeger, ""},
		{`{"traceID":"a","spans":[],"processes":{}}`, Jaeger, ""},
		{`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a"}]}]}]}`, OTLP, ""},
		{`{"batches":[]}`, OTLP, ""},
		{"\n\n{\"resourceSpans\":[]}\n{\"resourceSpans\":[]}\n", OTLP, ""},
		{``, "", "input is empty"},
		{"  \n", "", "input is empty"},
		{`hello`, "", "not JSON"},
		{`{"foo":1}`, "", "not a recognised trace format"},
	}
	for _, c := range cases {
		got, err := Sniff([]byte(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Sniff(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Sniff(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestExpandDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.json", "a.jsonl", "c.json.gz", "README.md", ".hidden.json", "sub/d.ndjson", ".git/e.json"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("{}"), 0o644)
	}
	got, err := Expand([]string{dir, "-"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range got {
		names = append(names, strings.TrimPrefix(in.Name, dir+"/"))
	}
	want := "a.jsonl b.json c.json.gz sub/d.ndjson -"
	if strings.Join(names, " ") != want {
		t.Errorf("Expand = %q, want %q", strings.Join(names, " "), want)
	}
	if _, err := Expand([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("missing file: no error")
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "notes.txt"), nil, 0o644)
	if _, err := Expand([]string{empty}); err == nil || !strings.Contains(err.Error(), "no trace files") {
		t.Errorf("directory without traces: %v", err)
	}
	if _, err := Expand(nil); err == nil {
		t.Error("no inputs: no error")
	}
}

// TestLoadSharedFixtures reads the whole shared fixture tree in one call,
// every format mixed, and checks nothing was skipped.
func TestLoadSharedFixtures(t *testing.T) {
	dir := "../../../shared/traces"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared/traces fixtures not found beside the repository")
	}
	c, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 34 {
		t.Errorf("read %d files, want the 34 fixtures", len(c.Sources))
	}
	if c.Skipped != 0 {
		t.Errorf("%d records skipped: %v", c.Skipped, c.Findings)
	}
	if len(c.Spans) < 1400 {
		t.Errorf("only %d spans", len(c.Spans))
	}
}

// TestDeepChain: a 100,000-deep parent chain read from a file assembles
// without exhausting the stack.
func TestDeepChain(t *testing.T) {
	const depth = 100_000
	spans := make([]trace.Span, depth)
	for i := range spans {
		spans[i] = trace.Span{TraceID: trace.TraceID{Low: 1}, ID: trace.SpanID(i + 1), ParentID: trace.SpanID(i),
			Service: "s", Name: "op", Kind: trace.KindServer, Start: int64(i+1) * 1000, Duration: int64(2*depth-2*i) * 1000}
	}
	var buf bytes.Buffer
	if err := zipkin.Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	c := &trace.Collector{}
	if _, err := Read(context.Background(), &buf, Auto, c.AddSource("chain.json"), c); err != nil {
		t.Fatal(err)
	}
	r, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Traces) != 1 || len(r.Traces[0].Roots) != 1 || len(r.Spans) != depth {
		t.Fatalf("traces %d spans %d", len(r.Traces), len(r.Spans))
	}
}

func TestReserve(t *testing.T) {
	c := &trace.Collector{Spans: make([]trace.Span, 3)}
	reserve(c, 150*1000)
	if len(c.Spans) != 3 || cap(c.Spans) < 1003 {
		t.Errorf("len %d cap %d; want 3 and ≥1003", len(c.Spans), cap(c.Spans))
	}
}
