package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files from the decoder's output")

// fixtureDir is the shared fixture folder, relative to this package.
func fixtureDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "traces", "jaeger")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared Jaeger fixtures not available at %s: %v", dir, err)
	}
	return dir
}

func decodeBytes(t testing.TB, name string, data []byte) (*trace.Collector, error) {
	t.Helper()
	c := &trace.Collector{}
	src := c.AddSource(name)
	err := Decode(context.Background(), bytes.NewReader(data), src, c)
	return c, err
}

var flagNames = []struct {
	f    trace.Flags
	name string
}{
	{trace.FlagError, "error"}, {trace.FlagShared, "shared"}, {trace.FlagFollowsFrom, "follows_from"},
	{trace.FlagAsync, "async"}, {trace.FlagNoStart, "no_start"}, {trace.FlagNoDuration, "no_duration"},
	{trace.FlagNoService, "no_service"}, {trace.FlagSkewAdjusted, "skew_adjusted"}, {trace.FlagOrphan, "orphan"},
}

func flagString(f trace.Flags) string {
	var parts []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func spanLine(s *trace.Span) string {
	return fmt.Sprintf("rec=%d trace=%s span=%s parent=%s service=%q name=%q kind=%s start=%d dur=%d flags=%s peer=%q instance=%q attrs=%s rate=%g",
		s.Record, s.TraceID, s.ID, s.ParentID, s.Service, s.Name, s.Kind, s.Start, s.Duration, flagString(s.Flags), s.Peer, s.Instance, s.Attrs, s.SampleRate)
}

func goldenText(c *trace.Collector, err error) string {
	var b strings.Builder
	for i := range c.Spans {
		b.WriteString(spanLine(&c.Spans[i]))
		b.WriteByte('\n')
	}
	for _, f := range c.Findings {
		b.WriteString("finding: ")
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "skipped: %d\n", c.Skipped)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	return b.String()
}

// oracle is what a fixture holds, worked out with encoding/json and
// independently of the decoder.
type oracle struct {
	spans    int
	traces   map[string]bool
	services map[string]bool
	byID     map[string]oracleSpan // key: normalised trace id + "/" + span id
}

type oracleSpan struct {
	parent   string // normalised span id, "" for a root
	follows  bool
	kind     string
	err      bool
	start    int64 // µs
	duration int64 // µs
	service  string
}

// normTrace and normSpan pad hex ids like Jaeger readers must, and map
// hand-made ids through the same documented hash.
func normTrace(s string) string {
	if id, ok := trace.ParseHexTraceID(s); ok {
		return id.String()
	}
	return trace.HashTraceID(s).String()
}

func normSpan(s string) string {
	if id, ok := trace.ParseHexSpanID(s); ok {
		return id.String()
	}
	return trace.HashSpanID(s).String()
}

func buildOracle(t *testing.T, data []byte) oracle {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("fixture is not JSON: %v", err)
	}
	var traces []any
	if d, ok := doc["data"]; ok {
		traces = d.([]any)
	} else {
		traces = []any{doc}
	}
	o := oracle{traces: map[string]bool{}, services: map[string]bool{}, byID: map[string]oracleSpan{}}
	for _, tr := range traces {
		tm := tr.(map[string]any)
		procs, _ := tm["processes"].(map[string]any)
		for _, p := range procs {
			o.services[p.(map[string]any)["serviceName"].(string)] = true
		}
		for _, sp := range tm["spans"].([]any) {
			s := sp.(map[string]any)
			o.spans++
			tid := normTrace(s["traceID"].(string))
			o.traces[tid] = true
			var os oracleSpan
			var ff string
			for _, r := range s["references"].([]any) {
				rm := r.(map[string]any)
				switch rm["refType"] {
				case "CHILD_OF":
					if os.parent == "" {
						os.parent = normSpan(rm["spanID"].(string))
					}
				case "FOLLOWS_FROM":
					if ff == "" {
						ff = normSpan(rm["spanID"].(string))
					}
				}
			}
			if os.parent == "" && ff != "" {
				os.parent, os.follows = ff, true
			}
			for _, tg := range s["tags"].([]any) {
				tgm := tg.(map[string]any)
				switch tgm["key"] {
				case "span.kind":
					os.kind = tgm["value"].(string)
				case "error":
					os.err = tgm["value"] == true || tgm["value"] == "true"
				}
			}
			os.start = int64(s["startTime"].(float64))
			os.duration = int64(s["duration"].(float64))
			if p, ok := s["process"].(map[string]any); ok {
				os.service = p["serviceName"].(string)
				o.services[os.service] = true
			} else {
				os.service = procs[s["processID"].(string)].(map[string]any)["serviceName"].(string)
			}
			o.byID[tid+"/"+normSpan(s["spanID"].(string))] = os
		}
	}
	return o
}

// fixtures lists every Jaeger fixture with the counts PROVENANCE.md states
// and a few facts read off each file by hand.
var fixtures = []struct {
	file               string
	spans, traces, svc int
	check              func(t *testing.T, c *trace.Collector)
}{
	{"genai-generated-10-services.json", 57, 1, 10, func(t *testing.T, c *trace.Collector) {
		s := &c.Spans[0]
		if s.ID != 1 || s.ParentID != 0 || s.Service != "api-edge" || s.Kind != trace.KindServer ||
			s.Start != 1770000000001000*1000 || s.Duration != 44000000*1000 {
			t.Errorf("root span: %s", spanLine(s))
		}
		last := &c.Spans[56]
		if last.ID != 0x39 || last.ParentID != 0x38 || last.Service != "coding-agent" || last.Kind != trace.KindClient {
			t.Errorf("last span: %s", spanLine(last))
		}
	}},
	{"petclinic-get-owners.json", 17, 1, 2, func(t *testing.T, c *trace.Collector) {
		// The file's traceID has 31 hex digits: a leading zero was dropped.
		want := trace.TraceID{High: 0x0df84e36b9e2ee38, Low: 0x15d07f0867a5be1f}
		for i := range c.Spans {
			if c.Spans[i].TraceID != want {
				t.Fatalf("span %d trace id %s, want %s", i, c.Spans[i].TraceID, want)
			}
		}
		s := &c.Spans[0]
		if s.ID != 0x6962df17f54c3741 || s.ParentID != 0x9afcdf2e24e8d70a || s.Name != "GET /owners" ||
			s.Service != "api-gateway" || s.Kind != trace.KindClient || s.Start != 1573131432955376000 || s.Duration != 2977000 {
			t.Errorf("first span: %s", spanLine(s))
		}
	}},
	{"handmade-follows-from-nonhex-ids.json", 11, 1, 2, func(t *testing.T, c *trace.Collector) {
		var follows, errs int
		for i := range c.Spans {
			s := &c.Spans[i]
			if s.Has(trace.FlagFollowsFrom) {
				follows++
				if s.Name != "op3" || s.Kind != trace.KindConsumer || s.ParentID != trace.HashSpanID("span-6") {
					t.Errorf("follows-from span: %s", spanLine(s))
				}
			}
			if s.Has(trace.FlagError) {
				errs++
				if s.ID != trace.HashSpanID("span-2") {
					t.Errorf("error span: %s", spanLine(s))
				}
			}
			if s.Instance != "foobar.org" {
				t.Errorf("instance from hostname: %s", spanLine(s))
			}
		}
		if follows != 1 || errs != 1 {
			t.Errorf("follows-from spans %d, error spans %d: want 1 and 1", follows, errs)
		}
		if n := countReason(c, "non-hex id"); n != 11 {
			t.Errorf("non-hex id notes: %d, want one per span (11)", n)
		}
		if c.Skipped != 0 {
			t.Errorf("skipped %d", c.Skipped)
		}
	}},
	{"petclinic-get-owner-pets.json", 8, 1, 2, nil},
	{"petclinic-get-owner-pets-2.json", 5, 1, 2, func(t *testing.T, c *trace.Collector) {
		// p1 is customers-service here, unlike the other PetClinic files.
		s := &c.Spans[0]
		if s.Service != "customers-service" || s.ParentID != 0xe821b549888cbc3b || s.Duration != 52000 {
			t.Errorf("first span: %s", spanLine(s))
		}
		if r := &c.Spans[4]; r.Service != "api-gateway" || r.ParentID != 0 || r.Kind != trace.KindServer {
			t.Errorf("root span: %s", spanLine(r))
		}
	}},
	{"ui-enriched-api-envelope.json", 4, 1, 1, func(t *testing.T, c *trace.Collector) {
		for i := range c.Spans {
			if c.Spans[i].Service != "example-trace" || c.Spans[i].Kind != trace.KindInternal {
				t.Errorf("span %d: %s", i, spanLine(&c.Spans[i]))
			}
		}
		if c.Spans[0].ParentID != 0x49b8e9efa1e8a3b1 {
			t.Errorf("first span parent: %s", spanLine(&c.Spans[0]))
		}
	}},
	{"jaeger-query-self-trace-data-envelope.json", 2, 1, 1, func(t *testing.T, c *trace.Collector) {
		for i := range c.Spans {
			s := &c.Spans[i]
			// sampler tags sit on the root only; the rate covers the trace.
			if s.SampleRate != 1 || s.Instance != "simple-streaming-query-66f49db66-8x9hd" || s.Service != "jaeger-query" {
				t.Errorf("span %d: %s", i, spanLine(s))
			}
		}
		if c.Spans[1].ID != 0x0ec2b4e0bcea566d || c.Spans[1].ParentID != 0x2db17286b3e6b148 {
			t.Errorf("15-digit span id: %s", spanLine(&c.Spans[1]))
		}
	}},
}

func countReason(c *trace.Collector, reason string) int {
	n := 0
	for _, f := range c.Findings {
		if f.Reason == reason {
			n++
		}
	}
	return n
}

func TestFixtures(t *testing.T) {
	dir := fixtureDir(t)
	entries, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	if len(entries) != len(fixtures) {
		t.Errorf("%d fixture files, %d in the table: add the new ones", len(entries), len(fixtures))
	}
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, fx.file))
			if err != nil {
				t.Fatal(err)
			}
			o := buildOracle(t, data)
			if o.spans != fx.spans || len(o.traces) != fx.traces || len(o.services) != fx.svc {
				t.Fatalf("oracle counts %d spans, %d traces, %d services; table says %d, %d, %d",
					o.spans, len(o.traces), len(o.services), fx.spans, fx.traces, fx.svc)
			}
			c, err := decodeBytes(t, fx.file, data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Spans) != fx.spans || c.Skipped != 0 {
				t.Fatalf("decoded %d spans, skipped %d; want %d and 0", len(c.Spans), c.Skipped, fx.spans)
			}
			traces, services := map[trace.TraceID]bool{}, map[string]bool{}
			for i := range c.Spans {
				s := &c.Spans[i]
				traces[s.TraceID] = true
				services[s.Service] = true
				if s.Record != int32(i+1) || s.Source != 0 {
					t.Errorf("span %d: record %d source %d", i, s.Record, s.Source)
				}
				want, ok := o.byID[s.TraceID.String()+"/"+s.ID.String()]
				if !ok {
					t.Errorf("decoded span not in file: %s", spanLine(s))
					continue
				}
				var parent string
				if s.ParentID != 0 {
					parent = s.ParentID.String()
				}
				kind := ""
				if s.Kind != trace.KindUnspecified {
					kind = s.Kind.String()
				}
				if parent != want.parent || s.Has(trace.FlagFollowsFrom) != want.follows || kind != want.kind ||
					s.Has(trace.FlagError) != want.err || s.Start != want.start*1000 || s.Duration != want.duration*1000 ||
					s.Service != want.service {
					t.Errorf("span differs from file:\n got  %s\n want %+v", spanLine(s), want)
				}
			}
			if len(traces) != fx.traces || len(services) != fx.svc {
				t.Errorf("decoded %d traces, %d services; want %d, %d", len(traces), len(services), fx.traces, fx.svc)
			}
			if fx.check != nil {
				fx.check(t, c)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	dir := fixtureDir(t)
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, fx.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := decodeBytes(t, fx.file, data)
			got := goldenText(c, err)
			path := filepath.Join("testdata", "golden", fx.file+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if got != string(want) {
				t.Errorf("decoded output differs from %s (run go test -run Golden -update if intended):\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// span builds one span object for hand-made inputs; fields override or,
// with a nil value, remove defaults.
func spanJSON(id string, fields map[string]any) string {
	m := map[string]any{
		"traceID":       "00000000000000aa",
		"spanID":        id,
		"operationName": "op-" + id,
		"references":    []any{},
		"startTime":     1700000000000000,
		"duration":      1500,
		"tags":          []any{},
		"processID":     "p1",
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func traceJSON(spans ...string) string {
	return `{"traceID":"aa","spans":[` + strings.Join(spans, ",\n") +
		`],"processes":{"p1":{"serviceName":"svc","tags":[{"key":"hostname","type":"string","value":"h1"}]}},"warnings":null}`
}

func TestBadRecords(t *testing.T) {
	cases := []struct {
		name   string
		fields map[string]any
		reason string
		detail string // substring of the finding's detail
	}{
		{"duration string", map[string]any{"duration": "abc"}, "bad duration", `"abc"`},
		{"duration string, no traceID", map[string]any{"duration": "abc", "traceID": nil}, "bad duration", `"abc" (a string), expected microseconds`},
		{"duration bool", map[string]any{"duration": true}, "bad duration", "expected microseconds"},
		{"negative duration", map[string]any{"duration": -5}, "bad duration", "expected >= 0"},
		{"absurd duration", map[string]any{"duration": int64(25 * 3600 * 1e6)}, "bad duration", "more than 24h"},
		{"duration overflows ns", map[string]any{"duration": 1e300}, "bad duration", "1e+300"},
		{"timestamp string", map[string]any{"startTime": "abc"}, "bad timestamp", `"abc"`},
		{"negative timestamp", map[string]any{"startTime": -1}, "bad timestamp", ">= 0"},
		{"trace id too long", map[string]any{"traceID": strings.Repeat("a", 33)}, "bad id", "1 to 32 hex digits"},
		{"span id 20 hex", map[string]any{"spanID": strings.Repeat("b", 20)}, "bad id", "1 to 16 hex digits"},
		{"empty span id", map[string]any{"spanID": ""}, "bad id", "1 to 16"},
		{"zero span id", map[string]any{"spanID": "0000"}, "bad id", "not all zero"},
		{"numeric span id", map[string]any{"spanID": 12}, "bad id", "expected a hex string"},
		{"numeric trace id", map[string]any{"traceID": 12}, "bad id", "expected a hex string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := traceJSON(spanJSON("1", nil), spanJSON("2", tc.fields), spanJSON("3", nil))
			c, err := decodeBytes(t, "bad.json", []byte(in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Spans) != 2 || c.Spans[0].ID != 1 || c.Spans[1].ID != 3 || c.Spans[1].Record != 3 {
				t.Fatalf("want spans 1 and 3 kept, got %d: %v", len(c.Spans), c.Spans)
			}
			if c.Skipped != 1 || len(c.Findings) != 1 {
				t.Fatalf("want one skipped record, got skipped=%d findings=%v", c.Skipped, c.Findings)
			}
			f := c.Findings[0]
			if f.Record != 2 || f.Reason != tc.reason || !strings.Contains(f.Detail, tc.detail) || f.Source != "bad.json" {
				t.Errorf("finding %q: want record 2, reason %q, detail containing %q", f.String(), tc.reason, tc.detail)
			}
			for i := range c.Spans {
				if c.Spans[i].Service != "svc" || c.Spans[i].Instance != "h1" {
					t.Errorf("kept span lost its process: %s", spanLine(&c.Spans[i]))
				}
			}
		})
	}
}

func TestBadSpanElement(t *testing.T) {
	in := traceJSON(spanJSON("1", nil), `"not a span"`, `{"spanID":tru}`, spanJSON("4", nil))
	c, err := decodeBytes(t, "x", []byte(in))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(c.Spans) != 2 || c.Spans[1].Record != 4 || c.Skipped != 2 {
		t.Fatalf("spans %v skipped %d", c.Spans, c.Skipped)
	}
	if f := c.Findings[0]; f.Record != 2 || f.Reason != "bad span" || !strings.Contains(f.Detail, "expected a span object, found a string") {
		t.Errorf("finding 0: %v", f)
	}
	if f := c.Findings[1]; f.Record != 3 || f.Reason != "bad span" || !strings.Contains(f.Detail, "not valid JSON") {
		t.Errorf("finding 1: %v", f)
	}
}

func TestWrongShape(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"empty input", "expected a Jaeger JSON document"}},
		{"whitespace", " \n\t ", []string{"empty input"}},
		{"other object", `{"foo":1}`, []string{"not a Jaeger JSON document", `expected "data"`, `found keys "foo"`}},
		{"empty object", `{}`, []string{"not a Jaeger JSON document", "found no keys"}},
		{"zipkin array", `[{"traceId":"a","id":"b","name":"x","timestamp":1,"duration":2}]`, []string{"not a Jaeger JSON document", "expected an object", "found an array"}},
		{"zipkin bare span", `{"traceId":"a","id":"b","name":"x"}`, []string{"not a Jaeger JSON document", `"traceId"`}},
		{"otlp", `{"resourceSpans":[]}`, []string{"not a Jaeger JSON document", `"resourceSpans"`}},
		{"services api", `{"data":["frontend","db"],"total":2}`, []string{"not a Jaeger JSON document", "data[1]", "expected a trace object", "found a string"}},
		{"data object", `{"data":{"traceID":"a"}}`, []string{"not a Jaeger JSON document", `"data" to be an array`}},
		{"spans not array", `{"traceID":"a","spans":5}`, []string{"not a Jaeger JSON document", `"spans" to be an array`, "found a number"}},
		{"number", `42`, []string{"not a Jaeger JSON document", "found a number"}},
		{"garbage", `<html>`, []string{"not a Jaeger JSON document", "line 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeBytes(t, "x", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; spans %v", c.Spans)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "jaeger: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if notJ := tc.name != "empty" && tc.name != "whitespace"; errors.Is(err, ErrNotJaeger) != notJ {
				t.Errorf("errors.Is(%v, ErrNotJaeger) = %v, want %v", err, !notJ, notJ)
			}
		})
	}
}

func TestEmptyResults(t *testing.T) {
	for _, in := range []string{`{"data":[]}`, `{"data":null,"total":0,"limit":0,"offset":0,"errors":null}`, `{"traceID":"a","spans":[],"processes":{}}`} {
		c, err := decodeBytes(t, "x", []byte(in))
		if err != nil || len(c.Spans) != 0 || len(c.Findings) != 0 {
			t.Errorf("%s: err %v spans %d findings %v", in, err, len(c.Spans), c.Findings)
		}
	}
	c, err := decodeBytes(t, "x", []byte(`{"data":null,"errors":[{"code":404,"msg":"trace not found","traceID":"ab"}]}`))
	if err != nil || len(c.Findings) != 1 || c.Findings[0].Reason != "jaeger api error" || c.Findings[0].Detail != "trace ab: trace not found" {
		t.Errorf("api error: err %v findings %v", err, c.Findings)
	}
}

func TestTruncated(t *testing.T) {
	spans := genSpans(10, 1)
	for i := range spans {
		spans[i].TraceID = spans[0].TraceID
	}
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// Cut inside the 6th span object: five complete spans precede it.
	idx := 0
	for n := 0; n < 6; n++ {
		i := bytes.Index(data[idx:], []byte(`"operationName"`))
		if i < 0 {
			t.Fatal("encoded data has fewer than 6 spans")
		}
		idx += i + 1
	}
	cut := data[:idx+20]
	c, err := decodeBytes(t, "cut.json", cut)
	if err == nil {
		t.Fatal("no error for truncated input")
	}
	var se *jsonscan.SyntaxError
	if !errors.As(err, &se) || se.Line != 1 || se.Offset != int64(len(cut)) {
		t.Errorf("error %v: want a *jsonscan.SyntaxError at line 1, byte %d", err, len(cut))
	}
	for _, w := range []string{"span 6", "line 1", fmt.Sprintf("byte %d", len(cut)), "truncated"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if errors.Is(err, ErrNotJaeger) {
		t.Errorf("a cut Jaeger file is not another format: %v", err)
	}
	if len(c.Spans) != 5 {
		t.Fatalf("kept %d spans, want the 5 before the cut", len(c.Spans))
	}
	for i := range c.Spans {
		s := &c.Spans[i]
		// The process table comes after the spans, so the cut lost it.
		if s.ID != spans[i].ID || s.Start != spans[i].Start || s.Service != trace.UnknownService || !s.Has(trace.FlagNoService) {
			t.Errorf("kept span %d: %s", i, spanLine(s))
		}
	}
	if len(c.Findings) != 0 {
		t.Errorf("a cut file should not report each span's process as unknown: %v", c.Findings)
	}

	// Cut in the process table after p1: spans of p1 get their service,
	// the others the placeholder, and none is reported as unknown.
	pi := bytes.Index(data, []byte(`,"p2":`))
	if pi < 0 {
		t.Fatal("encoded trace has no p2")
	}
	c, err = decodeBytes(t, "cut2.json", data[:pi+3])
	if err == nil || len(c.Spans) != 10 || len(c.Findings) != 0 {
		t.Fatalf("cut in processes: err %v, %d spans, findings %v", err, len(c.Spans), c.Findings)
	}
	p1 := procKey{spans[0].Service, spans[0].Instance}
	for i := range c.Spans {
		s := &c.Spans[i]
		if (procKey{spans[i].Service, spans[i].Instance}) == p1 {
			if s.Service != spans[i].Service || s.Instance != spans[i].Instance || s.Has(trace.FlagNoService) {
				t.Errorf("span %d of p1: %s", i, spanLine(s))
			}
		} else if s.Service != trace.UnknownService || !s.Has(trace.FlagNoService) {
			t.Errorf("span %d of a process after the cut: %s", i, spanLine(s))
		}
	}
}

func TestSemantics(t *testing.T) {
	tag := func(k string, v any) map[string]any { return map[string]any{"key": k, "type": "string", "value": v} }
	ref := func(typ, tid, sid string) map[string]any {
		return map[string]any{"refType": typ, "traceID": tid, "spanID": sid}
	}
	const tid = "00000000000000aa"
	cases := []struct {
		name   string
		fields map[string]any
		check  func(s *trace.Span) bool
		notes  []string // reasons expected in the findings, in order
	}{
		{"no start", map[string]any{"startTime": nil}, func(s *trace.Span) bool { return s.Has(trace.FlagNoStart) && s.Start == 0 }, nil},
		{"zero start", map[string]any{"startTime": 0}, func(s *trace.Span) bool { return s.Has(trace.FlagNoStart) }, nil},
		{"no duration", map[string]any{"duration": nil}, func(s *trace.Span) bool { return s.Has(trace.FlagNoDuration) && s.Duration == 0 }, nil},
		{"null duration", map[string]any{"duration": nil}, func(s *trace.Span) bool { return s.Has(trace.FlagNoDuration) }, nil},
		{"zero duration", map[string]any{"duration": 0}, func(s *trace.Span) bool { return !s.Has(trace.FlagNoDuration) && s.Duration == 0 }, nil},
		{"quoted times", map[string]any{"startTime": "1700000000000001", "duration": "7"}, func(s *trace.Span) bool {
			return s.Start == 1700000000000001000 && s.Duration == 7000
		}, nil},
		{"float times", map[string]any{"duration": 1.5}, func(s *trace.Span) bool { return s.Duration == 1500 }, nil},
		{"no process", map[string]any{"processID": nil}, func(s *trace.Span) bool {
			return s.Service == trace.UnknownService && s.Has(trace.FlagNoService)
		}, nil},
		{"unknown process", map[string]any{"processID": "p9"}, func(s *trace.Span) bool {
			return s.Service == trace.UnknownService && s.Has(trace.FlagNoService)
		}, []string{"unknown process"}},
		{"inline process", map[string]any{"process": map[string]any{"serviceName": "inl", "tags": []any{tag("ip", "10.0.0.1"), tag("host.name", "hn")}}},
			func(s *trace.Span) bool {
				return s.Service == "inl" && s.Instance == "hn" && s.Attrs == trace.MakeAttrs("host.ip", "10.0.0.1", "host.name", "hn")
			}, nil},
		{"inline process no name", map[string]any{"process": map[string]any{"tags": []any{}}},
			func(s *trace.Span) bool { return s.Service == trace.UnknownService && s.Has(trace.FlagNoService) }, nil},
		{"kind", map[string]any{"tags": []any{tag("span.kind", "producer")}}, func(s *trace.Span) bool { return s.Kind == trace.KindProducer }, nil},
		{"kind upper", map[string]any{"tags": []any{tag("span.kind", "CLIENT")}}, func(s *trace.Span) bool { return s.Kind == trace.KindClient }, nil},
		{"kind unknown", map[string]any{"tags": []any{tag("span.kind", "weird")}}, func(s *trace.Span) bool { return s.Kind == trace.KindUnspecified }, []string{"unknown span.kind"}},
		{"error bool", map[string]any{"tags": []any{tag("error", true)}}, func(s *trace.Span) bool { return s.Has(trace.FlagError) }, nil},
		{"error string", map[string]any{"tags": []any{tag("error", "true")}}, func(s *trace.Span) bool { return s.Has(trace.FlagError) }, nil},
		{"error false", map[string]any{"tags": []any{tag("error", false), tag("error", "false")}}, func(s *trace.Span) bool { return !s.Has(trace.FlagError) }, nil},
		{"otel status", map[string]any{"tags": []any{tag("otel.status_code", "ERROR")}}, func(s *trace.Span) bool { return s.Has(trace.FlagError) }, nil},
		{"otel status ok", map[string]any{"tags": []any{tag("otel.status_code", "OK")}}, func(s *trace.Span) bool { return !s.Has(trace.FlagError) }, nil},
		// Peer attributes are kept as they are; Span.Peer is Zipkin's
		// remoteEndpoint alone, and trace.PeerName weighs them.
		{"kept attributes", map[string]any{"tags": []any{tag("messaging.system", "kafka"), tag("db.system", "mysql"), tag("peer.service", "users"),
			map[string]any{"key": "server.port", "type": "int64", "value": 5432}, tag("http.url", "/x"), tag("peer.service", "second"),
			map[string]any{"key": "rpc.system", "type": "bool", "value": true}, map[string]any{"key": "net.peer.port", "type": "float64", "value": 80.0}}},
			func(s *trace.Span) bool {
				return s.Peer == "" && s.Attrs == trace.MakeAttrs("messaging.system", "kafka", "db.system", "mysql", "peer.service", "users",
					"server.port", "5432", "rpc.system", "true", "net.peer.port", "80", "host.name", "h1")
			}, nil},
		{"process tags are attributes, the span's own win", map[string]any{
			"tags": []any{tag("host.name", "span-host")},
			"process": map[string]any{"serviceName": "inl", "tags": []any{tag("hostname", "proc-host"), tag("host.id", "i-1"),
				map[string]any{"key": "ip", "type": "int64", "value": 167772161}}}},
			func(s *trace.Span) bool {
				return s.Instance == "proc-host" && s.Attrs == trace.MakeAttrs("host.name", "span-host", "host.id", "i-1", "host.ip", "10.0.0.1")
			}, nil},
		{"sampler", map[string]any{"tags": []any{tag("sampler.type", "probabilistic"), tag("sampler.param", 0.25)}},
			func(s *trace.Span) bool { return s.SampleRate == 0.25 }, nil},
		{"sampler string param", map[string]any{"tags": []any{tag("sampler.type", "probabilistic"), tag("sampler.param", "0.5")}},
			func(s *trace.Span) bool { return s.SampleRate == 0.5 }, nil},
		{"sampler const", map[string]any{"tags": []any{tag("sampler.type", "const"), tag("sampler.param", true)}},
			func(s *trace.Span) bool { return s.SampleRate == 0 }, nil},
		{"sampler bad", map[string]any{"tags": []any{tag("sampler.type", "probabilistic"), tag("sampler.param", 3)}},
			func(s *trace.Span) bool { return s.SampleRate == 0 }, []string{"bad sampler.param"}},
		{"child of", map[string]any{"references": []any{ref("FOLLOWS_FROM", tid, "5"), ref("CHILD_OF", tid, "1")}},
			func(s *trace.Span) bool { return s.ParentID == 1 && !s.Has(trace.FlagFollowsFrom) }, nil},
		{"first child of", map[string]any{"references": []any{ref("CHILD_OF", tid, "1"), ref("CHILD_OF", tid, "5")}},
			func(s *trace.Span) bool { return s.ParentID == 1 }, nil},
		{"follows from", map[string]any{"references": []any{ref("FOLLOWS_FROM", tid, "1"), ref("FOLLOWS_FROM", tid, "5")}},
			func(s *trace.Span) bool { return s.ParentID == 1 && s.Has(trace.FlagFollowsFrom) }, nil},
		{"short trace id in ref", map[string]any{"references": []any{ref("CHILD_OF", "aa", "1")}},
			func(s *trace.Span) bool { return s.ParentID == 1 }, nil},
		{"ref without trace id", map[string]any{"references": []any{map[string]any{"refType": "CHILD_OF", "spanID": "1"}}},
			func(s *trace.Span) bool { return s.ParentID == 1 }, nil},
		{"cross trace", map[string]any{"references": []any{ref("CHILD_OF", "bb", "1")}},
			func(s *trace.Span) bool { return s.ParentID == 0 }, []string{"cross-trace reference"}},
		{"cross trace then local", map[string]any{"references": []any{ref("CHILD_OF", "bb", "1"), ref("FOLLOWS_FROM", tid, "1")}},
			func(s *trace.Span) bool { return s.ParentID == 1 && s.Has(trace.FlagFollowsFrom) }, []string{"cross-trace reference"}},
		{"self reference", map[string]any{"references": []any{ref("CHILD_OF", tid, "2")}},
			func(s *trace.Span) bool { return s.ParentID == 0 }, []string{"self reference"}},
		{"bad ref type", map[string]any{"references": []any{ref("SIBLING", tid, "1")}},
			func(s *trace.Span) bool { return s.ParentID == 0 }, []string{"bad reference"}},
		{"bad ref id", map[string]any{"references": []any{ref("CHILD_OF", tid, strings.Repeat("1", 17))}},
			func(s *trace.Span) bool { return s.ParentID == 0 }, []string{"bad reference"}},
		{"parentSpanID", map[string]any{"parentSpanID": "1", "references": nil},
			func(s *trace.Span) bool { return s.ParentID == 1 }, nil},
		{"parentSpanID root", map[string]any{"parentSpanID": "0"},
			func(s *trace.Span) bool { return s.ParentID == 0 }, nil},
		{"references over parentSpanID", map[string]any{"parentSpanID": "5", "references": []any{ref("CHILD_OF", tid, "1")}},
			func(s *trace.Span) bool { return s.ParentID == 1 }, nil},
		{"warnings", map[string]any{"warnings": []any{"clock skew adjustment disabled", "invalid parent span IDs"}},
			func(s *trace.Span) bool { return true }, []string{"jaeger warning", "jaeger warning"}},
		{"missing trace id uses trace's", map[string]any{"traceID": nil},
			func(s *trace.Span) bool { return s.TraceID == trace.TraceID{Low: 0xaa} }, []string{"missing trace id"}},
		{"uppercase hex", map[string]any{"spanID": "ABC"}, func(s *trace.Span) bool { return s.ID == 0xabc }, nil},
		{"non-hex id", map[string]any{"spanID": "span-x"}, func(s *trace.Span) bool { return s.ID == trace.HashSpanID("span-x") }, []string{"non-hex id"}},
		{"unknown keys", map[string]any{"depth": 3, "childSpanIds": []any{"1"}, "relativeStartTime": 5, "hasChildren": true, "logs": []any{map[string]any{"timestamp": 1, "fields": []any{}}}},
			func(s *trace.Span) bool { return s.ID == 2 && s.Service == "svc" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := traceJSON(spanJSON("1", nil), spanJSON("2", tc.fields))
			c, err := decodeBytes(t, "sem.json", []byte(in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Spans) != 2 || c.Skipped != 0 {
				t.Fatalf("spans %d skipped %d findings %v", len(c.Spans), c.Skipped, c.Findings)
			}
			if s := &c.Spans[1]; !tc.check(s) {
				t.Errorf("span: %s", spanLine(s))
			}
			var reasons []string
			for _, f := range c.Findings {
				if f.Record != 2 {
					t.Errorf("finding for record %d, want 2: %v", f.Record, f)
				}
				reasons = append(reasons, f.Reason)
			}
			if strings.Join(reasons, "|") != strings.Join(tc.notes, "|") {
				t.Errorf("findings %v, want reasons %v", c.Findings, tc.notes)
			}
		})
	}
}

func TestProcessTags(t *testing.T) {
	procs := `{"p1":{"serviceName":"a","tags":[{"key":"ip","type":"int64","value":167772161},{"key":"sampler.type","type":"string","value":"probabilistic"},{"key":"sampler.param","type":"float64","value":0.125}]},` +
		`"p2":{"serviceName":"b","tags":[{"key":"ip","value":"10.0.0.2"},{"key":"host.name","value":"hn"},{"key":"hostname","value":"host"},{"key":"service.instance.id","value":"inst-1"}]},` +
		`"p3":{"serviceName":"","tags":[]},"p4":"junk"}`
	in := `{"traceID":"aa","spans":[` + spanJSON("1", nil) + "," + spanJSON("2", map[string]any{"processID": "p2"}) + "," +
		spanJSON("3", map[string]any{"processID": "p3"}) + "," + spanJSON("4", map[string]any{"processID": "p4"}) + "," +
		spanJSON("5", map[string]any{"processID": "p7"}) + `],"processes":` + procs + `,"warnings":["trace-level warning"]}`
	c, err := decodeBytes(t, "p.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		svc, inst string
		rate      float32
		flags     trace.Flags
	}{
		{"a", "10.0.0.1", 0.125, 0},
		{"b", "inst-1", 0, 0},
		{trace.UnknownService, "", 0, trace.FlagNoService},
		{trace.UnknownService, "", 0, trace.FlagNoService},
		{trace.UnknownService, "", 0, trace.FlagNoService},
	}
	for i, w := range want {
		s := &c.Spans[i]
		if s.Service != w.svc || s.Instance != w.inst || s.SampleRate != w.rate || s.Flags != w.flags {
			t.Errorf("span %d: %s; want %+v", i, spanLine(s), w)
		}
	}
	var reasons []string
	for _, f := range c.Findings {
		reasons = append(reasons, fmt.Sprintf("%d:%s", f.Record, f.Reason))
	}
	if got := strings.Join(reasons, " "); got != "0:bad process 0:jaeger warning 5:unknown process" {
		t.Errorf("findings %s", got)
	}
	if f := c.Findings[2]; !strings.Contains(f.Detail, `processID "p7"`) {
		t.Errorf("unknown process finding does not name it: %v", f)
	}
}

func TestSampleRateCoversTrace(t *testing.T) {
	tags := []any{
		map[string]any{"key": "sampler.type", "type": "string", "value": "probabilistic"},
		map[string]any{"key": "sampler.param", "type": "float64", "value": 0.001},
	}
	in := `{"data":[` + traceJSON(spanJSON("1", nil), spanJSON("2", map[string]any{"tags": tags}), spanJSON("3", nil)) + "," +
		strings.ReplaceAll(traceJSON(spanJSON("4", nil)), "00000000000000aa", "bb") + `]}`
	c, err := decodeBytes(t, "s.json", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if c.Spans[i].SampleRate != 0.001 {
			t.Errorf("span %d rate %g, want the trace's 0.001", i, c.Spans[i].SampleRate)
		}
	}
	if c.Spans[3].SampleRate != 0 || c.Spans[3].TraceID.Low != 0xbb || c.Spans[3].Record != 4 {
		t.Errorf("other trace: %s", spanLine(&c.Spans[3]))
	}
}

// UI exports embed each ancestor inside references[].span; a deep chain
// exceeds fastjson's nesting limit and must still decode.
func TestDeepUIReferences(t *testing.T) {
	nested := map[string]any{"traceID": "aa", "spanID": "1", "references": []any{}}
	for i := 2; i <= 150; i++ {
		nested = map[string]any{"traceID": "aa", "spanID": fmt.Sprintf("%x", i), "operationName": "x",
			"references": []any{map[string]any{"refType": "CHILD_OF", "traceID": "aa", "spanID": fmt.Sprintf("%x", i-1), "span": nested}}}
	}
	deep := spanJSON("97", map[string]any{"references": []any{map[string]any{"refType": "CHILD_OF", "traceID": "aa", "spanID": "96", "span": nested}}})
	c, err := decodeBytes(t, "deep.json", []byte(traceJSON(deep)))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Spans) != 1 || c.Skipped != 0 || c.Spans[0].ParentID != 0x96 || c.Spans[0].Service != "svc" {
		t.Fatalf("spans %v findings %v", c.Spans, c.Findings)
	}
}

func TestContextCanceled(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, genSpans(3*ctxEvery, 2)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &trace.Collector{}
	err := Decode(ctx, &buf, c.AddSource("x"), c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestEnvelopeManyTraces(t *testing.T) {
	spans := genSpans(400, 3)
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	c := &trace.Collector{}
	c.AddSource("first")
	src := c.AddSource("second")
	c.Spans = append(c.Spans, trace.Span{Name: "already here"})
	if err := Decode(context.Background(), &buf, src, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Spans) != 401 || c.Spans[0].Name != "already here" {
		t.Fatalf("got %d spans", len(c.Spans))
	}
	for i := range spans {
		got := c.Spans[i+1]
		if got.Source != src || got.Record != int32(i+1) {
			t.Fatalf("span %d: source %d record %d", i, got.Source, got.Record)
		}
	}
}

// The local hex parsers must agree with the trace package's.
func TestHexMatchesTracePackage(t *testing.T) {
	inputs := []string{"", "0", "1", "a", "F", "abc", "0123456789abcdef", "0123456789abcdef0", "ffffffffffffffff",
		"df84e36b9e2ee3815d07f0867a5be1f", strings.Repeat("f", 32), strings.Repeat("1", 33), "g", "12g4", "span-1", "-1", " 1", "1\x00", "\xff"}
	for _, in := range inputs {
		want, wok := trace.ParseHexSpanID(in)
		got, st := parseSpanID([]byte(in))
		if gok := st == idOK || (st == idBad && wok && want == 0); gok != wok || (st == idOK && got != want) {
			t.Errorf("span id %q: got %v/%d, trace package %v/%v", in, got, st, want, wok)
		}
		wantT, wokT := trace.ParseHexTraceID(in)
		gotT, stT := parseTraceID([]byte(in))
		if gok := stT == idOK || (stT == idBad && wokT && wantT.IsZero()); gok != wokT || (stT == idOK && gotT != wantT) {
			t.Errorf("trace id %q: got %v/%d, trace package %v/%v", in, gotT, stT, wantT, wokT)
		}
	}
}

func TestConcatenatedDocuments(t *testing.T) {
	in := `{"data":[` + traceJSON(spanJSON("1", nil)) + `]}` + "\n" + traceJSON(spanJSON("2", nil)) + "\n"
	c, err := decodeBytes(t, "cat.json", []byte(in))
	if err != nil || len(c.Spans) != 2 || c.Spans[1].Record != 2 || c.Spans[1].Service != "svc" {
		t.Fatalf("err %v spans %v", err, c.Spans)
	}
	c, err = decodeBytes(t, "cat.json", []byte(in+`[1]`))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "after document 2") || errors.Is(err, ErrNotJaeger) {
		t.Errorf("trailing garbage: %v", err)
	}
	if len(c.Spans) != 2 {
		t.Errorf("spans before trailing garbage lost: %d", len(c.Spans))
	}
	_, err = decodeBytes(t, "cat.json", []byte(in+`{"foo":1}`))
	if !errors.Is(err, ErrNotJaeger) {
		t.Errorf("second document of another shape: %v", err)
	}
}

// One trace object may hold a very large number of spans; they stream and
// all get their process when the trace closes.
func TestOneHugeTrace(t *testing.T) {
	spans := genSpans(100_000, 5)
	for i := range spans {
		spans[i].TraceID = spans[0].TraceID
		spans[i].SampleRate = 0
	}
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	c, err := decodeBytes(t, "huge.json", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Spans) != len(spans) || len(c.Findings) != 0 {
		t.Fatalf("%d spans, findings %v", len(c.Spans), c.Findings)
	}
	for i := range spans {
		if c.Spans[i].Service != spans[i].Service || c.Spans[i].Instance != spans[i].Instance {
			t.Fatalf("span %d: %s, want service %q instance %q", i, spanLine(&c.Spans[i]), spans[i].Service, spans[i].Instance)
		}
	}
}
