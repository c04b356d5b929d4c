package zipkin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/trace"
)

// span returns a valid v2 span object with id n, with fields overridden or
// added by extra (raw JSON members, later ones win in the decoder).
func span(n string, extra string) string {
	s := `{"traceId":"463ac35c9f6413ad","id":"` + n + `","name":"get","kind":"SERVER","timestamp":1472470996199000,"duration":207000,"localEndpoint":{"serviceName":"frontend","ipv4":"10.0.0.1","port":8080}`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

type finding struct {
	record int
	reason string
	detail string // substring
}

func TestBadSpans(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		spans    int
		skipped  int
		findings []finding
	}{
		{"duration not a number", "[" + span("01", "") + "," + span("02", `"duration":"abc"`) + "]", 1, 1,
			[]finding{{2, "bad duration", `duration is the string "abc", expected microseconds`}}},
		{"duration negative", "[" + span("01", `"duration":-5`) + "]", 0, 1,
			[]finding{{1, "bad duration", "duration is -5, expected a non-negative"}}},
		{"duration absurd", "[" + span("01", "") + "," + span("02", "") + "," + span("03", `"duration":86400000001`) + "]", 2, 1,
			[]finding{{3, "bad duration", "expected at most 24 h"}}},
		{"duration exactly 24h kept", "[" + span("01", `"duration":86400000000`) + "]", 1, 0, nil},
		{"duration float", "[" + span("01", `"duration":1.5`) + "]", 1, 0, nil},
		{"duration as digit string", "[" + span("01", `"duration":"150"`) + "]", 1, 0,
			[]finding{{1, "number as string", "duration"}}},
		{"duration bool", "[" + span("01", `"duration":true`) + "]", 0, 1,
			[]finding{{1, "bad duration", "duration is a true"}}},
		{"timestamp not a number", "[" + span("01", `"timestamp":"yesterday"`) + "]", 0, 1,
			[]finding{{1, "bad timestamp", `timestamp is the string "yesterday", expected microseconds`}}},
		{"timestamp in nanoseconds overflows", "[" + span("01", `"timestamp":1472470996199000000000`) + "]", 0, 1,
			[]finding{{1, "bad timestamp", "too large"}}},
		{"timestamp negative", "[" + span("01", `"timestamp":-1`) + "]", 0, 1,
			[]finding{{1, "bad timestamp", "non-negative"}}},
		{"span id 20 hex", "[" + span("0123456789abcdef0123", "") + "]", 0, 1,
			[]finding{{1, "bad id", "id \"0123456789abcdef0123\" has 20 hex digits, expected 16"}}},
		{"trace id 33 hex", "[" + span("01", `"traceId":"0123456789abcdef0123456789abcdef0"`) + "]", 0, 1,
			[]finding{{1, "bad id", "has 33 hex digits, expected 16 or 32"}}},
		{"empty id", "[" + span("01", "") + "," + span("", "") + "]", 1, 1,
			[]finding{{2, "bad id", "id is empty"}}},
		{"missing trace id", `[{"id":"01","name":"x"}]`, 0, 1,
			[]finding{{1, "bad id", "no traceId"}}},
		{"id is a number", "[" + span("01", `"id":12`) + "]", 0, 1,
			[]finding{{1, "bad id", "id is a number"}}},
		{"zero id", "[" + span("0000000000000000", "") + "]", 0, 1,
			[]finding{{1, "bad id", "all zeros"}}},
		{"zero parent is a root", "[" + span("01", `"parentId":"0000000000000000"`) + "]", 1, 0, nil},
		{"self parent", "[" + span("01", `"parentId":"01"`) + "]", 1, 0,
			[]finding{{1, "self parent", "parentId equals id"}}},
		{"non-hex ids hashed", "[" + span("span-1", `"traceId":"trace-123"`) + "]", 1, 0,
			[]finding{{1, "non-hex id", "mapped to a stable hash"}}},
		{"shared client", "[" + span("01", `"kind":"CLIENT","shared":true`) + "]", 1, 0,
			[]finding{{1, "shared client", "flag was dropped"}}},
		{"unknown kind", "[" + span("01", `"kind":"SIDEWAYS"`) + "]", 1, 0,
			[]finding{{1, "unknown kind", `kind "SIDEWAYS"`}}},
		{"scalar after spans", "[" + span("01", "") + ",42," + span("02", "") + "]", 2, 1,
			[]finding{{2, "not a span", "found a number"}}},
		{"foreign object after spans", "[" + span("01", "") + `,{"foo":1}]`, 1, 1,
			[]finding{{2, "not a span", "without Zipkin span fields"}}},
		{"bad literal inside a span", "[" + span("01", "") + "," + span("02", `"debug":tru`) + "]", 1, 1,
			[]finding{{2, "bad json", "cannot parse"}}},
		{"empty array", "[]", 0, 0, nil},
		{"array of empty arrays", "[[],[]]", 0, 0, nil},
		{"deeper nesting is not a span", "[[" + span("01", "") + "],[[" + span("02", "") + "]]]", 1, 1,
			[]finding{{2, "not a span", "nested array"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeBytes(t, "bad.json", []byte(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Spans) != tc.spans || c.Skipped != tc.skipped {
				t.Errorf("%d spans, %d skipped; want %d, %d (findings %v)", len(c.Spans), c.Skipped, tc.spans, tc.skipped, c.Findings)
			}
			if len(c.Findings) != len(tc.findings) {
				t.Fatalf("findings %v, want %v", c.Findings, tc.findings)
			}
			for i, w := range tc.findings {
				f := c.Findings[i]
				if f.Record != w.record || f.Reason != w.reason || !strings.Contains(f.Detail, w.detail) || f.Source != "bad.json" {
					t.Errorf("finding %d = %q, want record %d reason %q detail containing %q", i, f.String(), w.record, w.reason, w.detail)
				}
				if !strings.Contains(f.Detail, "line 1") {
					t.Errorf("finding %d does not name the line: %q", i, f.Detail)
				}
			}
		})
	}
}

func TestBadSpanValues(t *testing.T) {
	c, err := decodeBytes(t, "x", []byte("["+span("01", `"duration":1.5,"timestamp":"1000"`)+"]"))
	if err != nil || len(c.Spans) != 1 {
		t.Fatalf("%v %v", err, c.Spans)
	}
	if s := c.Spans[0]; s.Duration != 1500 || s.Start != 1_000_000 {
		t.Errorf("fractional / string times: start %d duration %d", s.Start, s.Duration)
	}
	c, _ = decodeBytes(t, "x", []byte("["+span("span-1", `"traceId":"trace-123","parentId":"span-0"`)+"]"))
	if s := c.Spans[0]; s.ID != trace.HashSpanID("span-1") || s.TraceID != trace.HashTraceID("trace-123") || s.ParentID != trace.HashSpanID("span-0") {
		t.Errorf("hashed ids: %+v", s)
	}
	if len(c.Findings) != 1 {
		t.Errorf("want one note per span, got %v", c.Findings)
	}
}

func TestStructuralErrors(t *testing.T) {
	jaeger, _ := os.ReadFile(fixtureRoot + "/jaeger/petclinic-get-owners.json")
	jaegerEnv, _ := os.ReadFile(fixtureRoot + "/jaeger/jaeger-query-self-trace-data-envelope.json")
	otlp, _ := os.ReadFile(fixtureRoot + "/otlp/otlp-proto-example-trace.json")
	otlpLines, _ := os.ReadFile(fixtureRoot + "/otlp/nodejs-sdk-lines.jsonl")
	genai, _ := os.ReadFile(fixtureRoot + "/jaeger/genai-generated-10-services.json") // "_comment" comes first
	tests := []struct {
		name   string
		in     string
		format bool     // errors.Is(err, ErrFormat)
		want   []string // substrings of the error
	}{
		{"empty", "", true, []string{"empty input", "expected an array of spans"}},
		{"whitespace", " \n\t\n", true, []string{"empty input"}},
		{"foreign object", `{"foo":1}`, true, []string{"span 1", "line 1", "not Zipkin JSON", `"foo"`, "expected a span object"}},
		{"foreign array", `[{"foo":1},{"bar":2}]`, true, []string{"span 1", "not Zipkin JSON", "expected a span object"}},
		{"scalar array", `[1,2]`, true, []string{"span 1", "not Zipkin JSON", "found a number"}},
		{"string document", `"hello"`, true, []string{"line 1 (byte 0)", "not Zipkin JSON", "expected '[' or '{'"}},
		{"not json", "traceId,id\n1,2\n", true, []string{"expected '[' or '{'", "found 't'"}},
		{"jaeger bare trace", string(jaeger), true, []string{"not Zipkin JSON", "Jaeger"}},
		{"jaeger envelope", string(jaegerEnv), true, []string{"not Zipkin JSON", `"data"`, "Jaeger"}},
		{"jaeger spans in an array", `[{"traceID":"ab","spanID":"cd","operationName":"x"}]`, true, []string{"not Zipkin JSON", "Jaeger"}},
		{"otlp", string(otlp), true, []string{"not Zipkin JSON", "OTLP"}},
		{"otlp lines", string(otlpLines), true, []string{"not Zipkin JSON", "OTLP"}},
		{"jaeger with a comment key first", string(genai), true, []string{"not Zipkin JSON", "Jaeger"}},
		{"huge foreign envelope", `{"resourceSpans":[` + strings.Repeat(`{"resource":{},"scopeSpans":[]},`, 100000) + `{}]}`, true, []string{"line 1", "OTLP"}},
		{"garbage after array", "[" + span("01", "") + "] x", true, []string{"expected '[' or '{'"}},
		{"missing comma", "[" + span("01", "") + " " + span("02", "") + "]", false, []string{"span 2", "line 1", "expected ',' or ']'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == "" && tc.name != "empty" {
				t.Skip("fixture not available")
			}
			c, err := decodeBytes(t, "in.json", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; %d spans, findings %v", len(c.Spans), c.Findings)
			}
			if errors.Is(err, ErrFormat) != tc.format {
				t.Errorf("errors.Is(err, ErrFormat) = %v, want %v: %v", !tc.format, tc.format, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	data, err := os.ReadFile(fixturePath(t, "zipkin2", "messaging-kafka.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Cut inside the 11th span object: 10 complete spans precede it.
	off, n := 0, 0
	depth := 0
	for i, ch := range data {
		switch ch {
		case '{':
			if depth == 1 {
				n++
				if n == 11 {
					off = i + 40
				}
			}
			depth++
		case '}':
			depth--
		case '[':
			depth++
		case ']':
			depth--
		}
		if off != 0 {
			break
		}
	}
	c, err := decodeBytes(t, "kafka.json", data[:off])
	if err == nil {
		t.Fatal("no error for a truncated file")
	}
	var se *jsonscan.SyntaxError
	if !errors.As(err, &se) || se.Line < 2 || se.Offset != int64(off) {
		t.Errorf("want a SyntaxError at byte %d, got %#v", off, err)
	}
	for _, w := range []string{"span 11", "line", "byte", "truncated"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if errors.Is(err, ErrFormat) {
		t.Errorf("truncation is not a format mismatch: %v", err)
	}
	if len(c.Spans) != 10 {
		t.Errorf("%d spans kept before the cut, want 10", len(c.Spans))
	}
}

func TestTruncatedV1KeepsSpans(t *testing.T) {
	data, err := os.ReadFile(fixturePath(t, "zipkin1", "envoy-front-proxy-single-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(data, []byte(`"fe351a053fbcac1f"`)) // inside the 5th object
	c, err := decodeBytes(t, "v1.json", data[:cut])
	if err == nil || !strings.Contains(err.Error(), "span 5") {
		t.Fatalf("want an error at span 5, got %v", err)
	}
	// The four complete v1 objects were merged and converted all the same.
	if len(c.Spans) != 4 {
		t.Errorf("%d spans kept, want 4", len(c.Spans))
	}
}

func TestReadError(t *testing.T) {
	data := []byte("[" + span("01", "") + "," + span("02", "") + "]")
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errors.New("disk on fire")))
	c := &trace.Collector{}
	err := Decode(context.Background(), r, c.AddSource("r"), c)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("want the read error, got %v", err)
	}
	if len(c.Spans) != 1 {
		t.Errorf("%d spans before the error, want 1", len(c.Spans))
	}
}

func TestCancel(t *testing.T) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < 3*ctxEvery; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(span("01", ""))
	}
	b.WriteByte(']')
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &trace.Collector{}
	err := Decode(ctx, &b, c.AddSource("big"), c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if len(c.Spans) >= 3*ctxEvery {
		t.Errorf("decoding did not stop: %d spans", len(c.Spans))
	}
}

func TestShapes(t *testing.T) {
	s1, s2, s3 := span("01", ""), span("02", ""), span("03", "")
	tests := []struct {
		name  string
		in    string
		spans int
	}{
		{"bare object", s1, 1},
		{"bare object, spaces", "\n  " + s1 + "\n\n", 1},
		{"array", "[" + s1 + "," + s2 + "]", 2},
		{"array of arrays", "[[" + s1 + "],[" + s2 + "," + s3 + "]]", 3},
		{"mixed array", "[" + s1 + ",[" + s2 + "]," + s3 + "]", 3},
		{"json lines", s1 + "\n" + s2 + "\n" + s3 + "\n", 3},
		{"json lines without final newline", s1 + "\n" + s2, 2},
		{"concatenated arrays", "[" + s1 + "]\n[" + s2 + "]", 2},
		{"escaped keys", `{"trace\u0049d":"463ac35c9f6413ad","id":"01","name":"a\"b"}`, 1},
		{"unicode escapes", `[{"traceId":"463ac35c9f6413ad","id":"01","name":"\u4e2a\u4eba","localEndpoint":{"serviceName":"\u8ba2\u5355"}}]`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeBytes(t, "x", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Spans) != tc.spans || len(c.Findings) != 0 {
				t.Fatalf("%d spans, findings %v; want %d", len(c.Spans), c.Findings, tc.spans)
			}
			for i, s := range c.Spans {
				if int(s.Record) != i+1 {
					t.Errorf("span %d has record %d", i, s.Record)
				}
			}
		})
	}
	c, _ := decodeBytes(t, "x", []byte(`{"trace\u0049d":"463ac35c9f6413ad","id":"01","name":"a\"b"}`))
	if c.Spans[0].Name != `a"b` || c.Spans[0].TraceID.Low != 0x463ac35c9f6413ad {
		t.Errorf("escapes: %+v", c.Spans[0])
	}
	c, _ = decodeBytes(t, "x", []byte(`[{"traceId":"463ac35c9f6413ad","id":"01","name":"\u4e2a\u4eba","localEndpoint":{"serviceName":"\u8ba2\u5355"}}]`))
	if c.Spans[0].Name != "个人" || c.Spans[0].Service != "订单" {
		t.Errorf("unicode escapes: %+v", c.Spans[0])
	}
}

func TestJSONLinesFindingsNameLines(t *testing.T) {
	in := span("01", "") + "\n" + span("02", "") + "\n" + span("03", `"duration":-1`) + "\n"
	c, err := decodeBytes(t, "x.jsonl", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Findings) != 1 || c.Findings[0].Record != 3 || !strings.Contains(c.Findings[0].Detail, "line 3") {
		t.Errorf("findings %v, want record 3 on line 3", c.Findings)
	}
}

func TestV2Fields(t *testing.T) {
	in := `[{"traceId":"463ac35c9f6413ad48485a3953bb6124","parentId":"6b221d5bc9e6496c","id":"5b4185666d50f68b",
	"kind":"PRODUCER","name":"send","timestamp":1000,"duration":5,"shared":true,"debug":true,
	"localEndpoint":{"serviceName":"svc","ipv6":"2001:db8::1","port":0},
	"remoteEndpoint":{"serviceName":"kafka","ipv4":"1.2.3.4","port":9092},
	"annotations":[{"timestamp":1001,"value":"cs"}],"tags":{"error":"","http.path":"/","messaging.system":"kafka","network.peer.port":"9093","server.port":9092,"http.method":true}},
	{"traceId":"1","id":"2","localEndpoint":{"ipv4":"","ipv6":"::1","port":70000},"tags":{"service.instance.id":"pod-7"}},
	{"traceId":"1","id":"3","localEndpoint":{"serviceName":""},"tags":{"service.instance.id":"pod-7"}}]`
	c, err := decodeBytes(t, "x", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []trace.Span{
		{TraceID: trace.TraceID{High: 0x463ac35c9f6413ad, Low: 0x48485a3953bb6124}, ID: 0x5b4185666d50f68b, ParentID: 0x6b221d5bc9e6496c,
			Service: "svc", Name: "send", Peer: "kafka", Instance: "[2001:db8::1]", Start: 1_000_000, Duration: 5000,
			Kind: trace.KindProducer, Flags: trace.FlagShared | trace.FlagError, Record: 1,
			// Kept tags become attributes (numbers and booleans as text), a
			// tag winning over the endpoint it would be mapped from.
			Attrs: trace.MakeAttrs("messaging.system", "kafka", "network.peer.port", "9093", "server.port", "9092",
				"http.method", "true", "network.peer.address", "1.2.3.4", "host.ip", "2001:db8::1")},
		{TraceID: trace.TraceID{Low: 1}, ID: 2, Service: trace.UnknownService, Instance: "[::1]", Kind: trace.KindInternal,
			Flags: trace.FlagNoService | trace.FlagNoStart | trace.FlagNoDuration, Record: 2, Attrs: trace.MakeAttrs("host.ip", "::1")},
		{TraceID: trace.TraceID{Low: 1}, ID: 3, Service: trace.UnknownService, Instance: "pod-7", Kind: trace.KindInternal,
			Flags: trace.FlagNoService | trace.FlagNoStart | trace.FlagNoDuration, Record: 3},
	}
	expectSpans(t, c.Spans, want)
}

func TestNilCollector(t *testing.T) {
	if err := Decode(context.Background(), strings.NewReader("[]"), 0, nil); err == nil {
		t.Error("want an error for a nil Collector")
	}
	c := &trace.Collector{} // no source registered: findings still work
	if err := Decode(context.Background(), strings.NewReader("["+span("", "")+"]"), 3, c); err != nil || c.Findings[0].Source != "source 3" {
		t.Errorf("unregistered source: %v %v", err, c.Findings)
	}
}

func TestHexIDsAgreeWithTrace(t *testing.T) {
	for _, s := range []string{"1", "a", "F", "00ff", "463ac35c9f6413ad", "463AC35C9F6413AD", "ffffffffffffffff",
		"0ed2e63cbe71f5a8", "1463ac35c9f6413ad", "463ac35c9f6413ad48485a3953bb6124", "3ac35c9f6413ad48485a3953bb6124"} {
		in := `{"traceId":"` + s + `","id":"` + s[:min(16, len(s))] + `"}`
		c, err := decodeBytes(t, "x", []byte(in))
		if err != nil || len(c.Spans) != 1 {
			t.Fatalf("%s: %v %v", s, err, c.Findings)
		}
		wantT, _ := trace.ParseHexTraceID(s)
		wantS, _ := trace.ParseHexSpanID(s[:min(16, len(s))])
		if c.Spans[0].TraceID != wantT || c.Spans[0].ID != wantS {
			t.Errorf("%s: got %v/%v, trace package parses %v/%v", s, c.Spans[0].TraceID, c.Spans[0].ID, wantT, wantS)
		}
	}
}
