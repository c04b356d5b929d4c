package otlp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/trace"
)

func decodeString(t testing.TB, in string) (*trace.Collector, error) {
	t.Helper()
	c := &trace.Collector{}
	src := c.AddSource("in.json")
	err := Decode(context.Background(), strings.NewReader(in), src, c)
	return c, err
}

// doc wraps span objects in one resource of service "svc".
func doc(spans ...string) string {
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{},"spans":[` +
		strings.Join(spans, ",\n") + `]}]}]}`
}

// sp makes a span with the given fields replacing the defaults; a value of
// "" drops the field.
func sp(fields ...string) string {
	def := [][2]string{
		{"traceId", `"5b8efff798038103d269b633813fc60c"`},
		{"spanId", `"eee19b7ec3c1b174"`},
		{"name", `"op"`},
		{"kind", `2`},
		{"startTimeUnixNano", `"1544712660000000000"`},
		{"endTimeUnixNano", `"1544712661000000000"`},
	}
	for i := 0; i+1 < len(fields); i += 2 {
		found := false
		for j := range def {
			if def[j][0] == fields[i] {
				def[j][1], found = fields[i+1], true
			}
		}
		if !found {
			def = append(def, [2]string{fields[i], fields[i+1]})
		}
	}
	var parts []string
	for _, kv := range def {
		if kv[1] != "" {
			parts = append(parts, fmt.Sprintf("%q:%s", kv[0], kv[1]))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestBadRecords: records the decoder must skip or note, each with its
// 1-based record number, while the good records around them are kept.
func TestBadRecords(t *testing.T) {
	good := sp()
	cases := []struct {
		name    string
		bad     string // placed as record 2 of 3
		reason  string
		skipped bool   // false: kept with a note
		detail  string // substring of the finding's detail
	}{
		{"duration not a number", sp("endTimeUnixNano", `"abc"`), "bad timestamp", true, `"abc" is not a non-negative integer`},
		{"start not a number", sp("startTimeUnixNano", `"12x"`), "bad timestamp", true, "startTimeUnixNano"},
		{"start is an object", sp("startTimeUnixNano", `{}`), "bad timestamp", true, "is a object"},
		{"timestamp overflows int64", sp("endTimeUnixNano", `"99999999999999999999"`), "bad timestamp", true, "out of range"},
		{"negative timestamp number", sp("startTimeUnixNano", `-5`), "bad timestamp", true, "negative"},
		{"negative duration", sp("endTimeUnixNano", `"1544712659000000000"`), "bad duration", true, "before startTimeUnixNano"},
		{"absurd duration", sp("endTimeUnixNano", `"1544802660000000000"`), "bad duration", true, "expected at most 24 h"},
		{"trace id too long", sp("traceId", `"5b8efff798038103d269b633813fc60c00"`), "bad id", true, "34 hex characters"},
		{"span id of 20 hex chars", sp("spanId", `"eee19b7ec3c1b1740000"`), "bad id", true, "20 hex characters"},
		{"empty span id", sp("spanId", `""`), "bad id", true, "empty"},
		{"missing trace id", sp("traceId", ""), "bad id", true, "traceId is missing"},
		{"numeric span id", sp("spanId", `12`), "bad id", true, "is a number"},
		{"all-zero trace id", sp("traceId", `"00000000000000000000000000000000"`), "bad id", true, "all zeros"},
		{"all-zero span id base64", sp("spanId", `"AAAAAAAAAAA="`), "bad id", true, "all zeros"},
		{"base64 of wrong size", sp("spanId", `"AAAAAAAAAAAAAAA="`), "bad id", true, "not the base64 of 8 bytes"},
		{"parent id too long", sp("parentSpanId", `"eee19b7ec3c1b1740000"`), "bad id", true, "parentSpanId"},
		{"span is not an object", `42`, "bad span", true, "found a number"},
		{"scalar the scanner passes but JSON forbids", `{"traceId":tru}`, "bad span", true, "line 2"},
		{"non-hex ids", sp("traceId", `"trace-123"`, "spanId", `"span-2_1"`), "non-hex id", false, "hash"},
		{"unknown kind", sp("kind", `"SPAN_KIND_SIDEWAYS"`), "unknown kind", false, "SPAN_KIND_SIDEWAYS"},
		{"kind out of range", sp("kind", `9`), "unknown kind", false, "9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeString(t, doc(good, tc.bad, good))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Findings) != 1 {
				t.Fatalf("findings = %v, want one", c.Findings)
			}
			f := c.Findings[0]
			if f.Reason != tc.reason || f.Record != 2 || f.Source != "in.json" || !strings.Contains(f.Detail, tc.detail) {
				t.Errorf("finding = %+v, want reason %q record 2 detail containing %q", f, tc.reason, tc.detail)
			}
			if !strings.Contains(f.Detail, "line 2") {
				t.Errorf("detail %q does not name line 2", f.Detail)
			}
			wantSpans, wantSkipped := 2, 1
			if !tc.skipped {
				wantSpans, wantSkipped = 3, 0
			}
			if len(c.Spans) != wantSpans || c.Skipped != wantSkipped {
				t.Errorf("spans %d skipped %d, want %d and %d", len(c.Spans), c.Skipped, wantSpans, wantSkipped)
			}
			if got := c.Spans[len(c.Spans)-1].Record; got != 3 {
				t.Errorf("last span has record %d, want 3", got)
			}
		})
	}
}

// TestSpanVariants: legal spellings that must decode to the same span.
func TestSpanVariants(t *testing.T) {
	const wantLine = `trace=5b8efff798038103d269b633813fc60c span=eee19b7ec3c1b174 parent=eee19b7ec3c1b173 service="svc" name="op" kind=server start=1544712660000000000 dur=1000000000 flags=- peer="" instance="" attrs={}`
	cases := []struct{ name, in string }{
		{"canonical", doc(sp("parentSpanId", `"eee19b7ec3c1b173"`))},
		{"base64 ids", doc(sp("traceId", `"W47/95gDgQPSabYzgT/GDA=="`, "spanId", `"7uGbfsPBsXQ="`, "parentSpanId", `"7uGbfsPBsXM="`))},
		{"url-safe and unpadded base64", doc(sp("traceId", `"W47_95gDgQPSabYzgT_GDA"`, "spanId", `"7uGbfsPBsXQ"`, "parentSpanId", `"7uGbfsPBsXM="`))},
		{"upper-case hex", doc(sp("traceId", `"5B8EFFF798038103D269B633813FC60C"`, "parentSpanId", `"EEE19B7EC3C1B173"`))},
		{"numbers for times, kind name", doc(sp("parentSpanId", `"eee19b7ec3c1b173"`, "kind", `"SPAN_KIND_SERVER"`, "startTimeUnixNano", "1544712660000000000", "endTimeUnixNano", "1544712661000000000"))},
		{"kind as lower-case name", doc(sp("parentSpanId", `"eee19b7ec3c1b173"`, "kind", `"server"`))},
		{"unknown fields and events/links", doc(sp("parentSpanId", `"eee19b7ec3c1b173"`, "links", `[{"traceId":"x","spanId":"y"}]`, "events", `[{"name":"e"}]`, "traceState", `""`, "flags", "257", "droppedAttributesCount", "0"))},
		{"snake_case proto names", `{"resource_spans":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"svc"}}]},"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","parent_span_id":"eee19b7ec3c1b173","name":"op","kind":2,"start_time_unix_nano":"1544712660000000000","end_time_unix_nano":"1544712661000000000"}]}]}]}`},
		{"old instrumentationLibrarySpans", `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"x"},"spans":[` + sp("parentSpanId", `"eee19b7ec3c1b173"`) + `]}]}]}`},
		{"tempo batches", `{"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[` + sp("parentSpanId", `"eee19b7ec3c1b173"`) + `]}]}]}`},
		{"tempo v2 trace wrapper", `{"trace":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[` + sp("parentSpanId", `"eee19b7ec3c1b173"`) + `]}]}]}}`},
		{"resource after scopeSpans", `{"resourceSpans":[{"scopeSpans":[{"spans":[` + sp("parentSpanId", `"eee19b7ec3c1b173"`) + `]}],"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]}}]}`},
		{"array of documents", "[" + doc(sp("parentSpanId", `"eee19b7ec3c1b173"`)) + "]"},
		{"nulls where lists are", `{"resourceSpans":[null,{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[null,{"spans":null},{"spans":[` + sp("parentSpanId", `"eee19b7ec3c1b173"`) + `]}]}],"x":null}` + "\n" + `{"resourceSpans":null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decodeString(t, tc.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Findings) != 0 || len(c.Spans) != 1 {
				t.Fatalf("spans %d findings %v, want 1 span and no findings", len(c.Spans), c.Findings)
			}
			if got := spanLine(&c.Spans[0]); got != wantLine {
				t.Errorf("got  %s\nwant %s", got, wantLine)
			}
		})
	}
}

func TestRootsAndMissingFields(t *testing.T) {
	c, err := decodeString(t, doc(
		sp("parentSpanId", `""`),
		sp("parentSpanId", `"0000000000000000"`),
		sp("parentSpanId", `"AAAAAAAAAAA="`),
		sp("parentSpanId", `null`, "startTimeUnixNano", ""),
		sp("endTimeUnixNano", `"0"`),
		sp("kind", "", "status", `{"code":"STATUS_CODE_ERROR","message":"x"}`),
		sp("status", `{"code":2}`),
		sp("status", `{"code":1}`),
	)+"\n"+`{"resourceSpans":[{"resource":{"attributes":[{"key":"host.name","value":{"stringValue":"h1"}}]},"scopeSpans":[{"spans":[`+sp()+`]}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Spans) != 9 || len(c.Findings) != 0 {
		t.Fatalf("spans %d findings %v", len(c.Spans), c.Findings)
	}
	for i := 0; i < 4; i++ {
		if c.Spans[i].ParentID != 0 {
			t.Errorf("span %d: parent %v, want root", i+1, c.Spans[i].ParentID)
		}
	}
	wantFlags := []trace.Flags{0, 0, 0, trace.FlagNoStart | trace.FlagNoDuration, trace.FlagNoDuration, trace.FlagError, trace.FlagError, 0, trace.FlagNoService}
	for i, want := range wantFlags {
		if c.Spans[i].Flags != want {
			t.Errorf("span %d flags %s, want %s", i+1, flagNames(c.Spans[i].Flags), flagNames(want))
		}
	}
	if s := c.Spans[3]; s.Start != 0 || s.Duration != 0 {
		t.Errorf("no-start span has start %d duration %d, want zeros", s.Start, s.Duration)
	}
	if s := c.Spans[4]; s.Start != 1544712660000000000 || s.Duration != 0 {
		t.Errorf("no-end span has start %d duration %d", s.Start, s.Duration)
	}
	if c.Spans[5].Kind != trace.KindUnspecified {
		t.Errorf("span without kind has kind %v", c.Spans[5].Kind)
	}
	last := c.Spans[8]
	if last.Service != trace.UnknownService || last.Instance != "h1" || last.Record != 9 {
		t.Errorf("last span: service %q instance %q record %d", last.Service, last.Instance, last.Record)
	}
}

// TestKeptAttributes: kept span attributes of every value type come
// through, the resource's fill in under them, and Span.Peer stays empty
// (OTLP has no remote endpoint; trace.PeerName reads the attributes).
func TestKeptAttributes(t *testing.T) {
	attrs := func(kv ...string) string {
		var parts []string
		for i := 0; i < len(kv); i += 2 {
			parts = append(parts, fmt.Sprintf(`{"key":%q,"value":{"stringValue":%q}}`, kv[i], kv[i+1]))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	cases := []struct {
		attrs string
		want  trace.Attrs
	}{
		{attrs("server.address", "db.local", "db.system", "postgresql", "peer.service", "billing", "http.url", "/x"),
			trace.MakeAttrs("server.address", "db.local", "db.system", "postgresql", "peer.service", "billing", "host.name", "h")},
		{attrs("net.peer.name", "loki", "host.name", "span-host"), trace.MakeAttrs("net.peer.name", "loki", "host.name", "span-host")},
		{attrs("service.peer.name", "a", "service.peer.name", "b"), trace.MakeAttrs("service.peer.name", "a", "host.name", "h")},
		{`[{"key":"peer.service","value":{"intValue":"5"}},{"key":"db.system","value":{"stringValue":""}},` +
			`{"key":"server.port","value":{"intValue":5432}},{"key":"client.port","value":{"doubleValue":51234.0}},` +
			`{"key":"rpc.system","value":{"boolValue":true}},{"key":"net.peer.port","value":{"doubleValue":1.5}},` +
			`{"key":"host.id","value":{"arrayValue":{"values":[]}}},{"key":"db.name","value":{"int_value":"7"}}]`,
			trace.MakeAttrs("peer.service", "5", "server.port", "5432", "client.port", "51234", "rpc.system", "true",
				"net.peer.port", "1.5", "db.name", "7", "host.name", "h")},
	}
	for _, tc := range cases {
		in := `{"resourceSpans":[{"scopeSpans":[{"spans":[` + sp("kind", "3", "attributes", tc.attrs) + `]}],` +
			`"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}},{"key":"host.name","value":{"stringValue":"h"}},{"key":"service.instance.id","value":{"stringValue":"i-1"}}]}}]}`
		c, err := decodeString(t, in)
		if err != nil || len(c.Spans) != 1 {
			t.Fatalf("%s: err %v spans %d", tc.attrs, err, len(c.Spans))
		}
		if s := c.Spans[0]; s.Attrs != tc.want || s.Peer != "" || s.Instance != "i-1" {
			t.Errorf("%s:\n got attrs %v peer %q instance %q\nwant attrs %v", tc.attrs, s.Attrs, s.Peer, s.Instance, tc.want)
		}
	}
}

func TestTruncated(t *testing.T) {
	data, err := os.ReadFile(fixturePath(t, "nodejs-sdk-lines.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	cut := lines[0] + lines[1] + lines[2][:len(lines[2])/2]
	c, err := decodeString(t, cut)
	var se *jsonscan.SyntaxError
	if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want a truncation SyntaxError on line 3", err)
	}
	if len(c.Spans) != 2 || c.Spans[1].Service != "example-trace" {
		t.Fatalf("kept %d spans (%+v), want the 2 before the cut with their service", len(c.Spans), c.Spans)
	}

	// The resource comes after its spans and is lost: the spans read are
	// kept, marked as having no service.
	in := `{"resourceSpans":[{"scopeSpans":[{"spans":[` + sp() + ",\n" + sp("spanId", `"0000000000000002"`) + ",\n" + `{"traceId":"5b8`
	c, err = decodeString(t, in)
	if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(err.Error(), "span record 3") {
		t.Fatalf("error %v, want a SyntaxError at line 3 naming span record 3", err)
	}
	if len(c.Spans) != 2 || c.Spans[0].Service != trace.UnknownService || !c.Spans[1].Has(trace.FlagNoService) {
		t.Fatalf("kept %d spans (%+v), want 2 with no service", len(c.Spans), c.Spans)
	}

	// Every cut of a fixture either fails with a positioned error or, at
	// a document boundary, succeeds; it never panics.
	full, err := os.ReadFile(fixturePath(t, "tempo-virtual-nodes-missing-peer.json"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < len(full)-2; n++ {
		c, err := decodeString(t, string(full[:n]))
		if err == nil {
			t.Fatalf("cut at %d: no error", n)
		}
		if !strings.Contains(err.Error(), "line ") {
			t.Fatalf("cut at %d: error %q has no line", n, err)
		}
		if len(c.Spans) > 3 {
			t.Fatalf("cut at %d: %d spans", n, len(c.Spans))
		}
	}
}

func TestNotOTLP(t *testing.T) {
	jaeger, _ := os.ReadFile(filepath.Join(fixtureDir, "../jaeger/jaeger-query-self-trace-data-envelope.json"))
	zipkin, _ := os.ReadFile(filepath.Join(fixtureDir, "../zipkin2/messaging-rabbitmq-128bit.json"))
	cases := []struct {
		name, in, want string
		notOTLP        bool
	}{
		{"other object", `{"foo":1}`, `not an OTLP JSON document: expected an object with "resourceSpans" (or Tempo's "batches"), found an object with keys "foo"`, true},
		{"empty object", `{}`, "found an empty object", true},
		{"jaeger envelope", string(jaeger), `keys "data"`, true},
		{"zipkin array", string(zipkin), `an object with keys "traceId"`, true},
		{"bare number", `42`, `found a value starting with '4'`, true},
		{"string", `"resourceSpans"`, `not an OTLP JSON document`, true},
		{"second line is not OTLP", doc(sp()) + "\n" + `{"data":[]}`, `line 2: not an OTLP`, true},
		{"empty input", ``, "empty input", false},
		{"only whitespace", " \n\t\n", "empty input", false},
		{"resourceSpans not an array", `{"resourceSpans":5}`, `resourceSpans: line 1 (byte 17): expected '['`, false},
		{"scopeSpans not an array", `{"resourceSpans":[{"scopeSpans":{}}]}`, `resourceSpans: resource 1: scopeSpans: line 1`, false},
		{"garbage after a document", doc(sp()) + ` x`, `not an OTLP JSON document`, true},
		{"binary", "\x00\x01\xff", `byte 0x00`, true},
		{"NUL after a document", doc(sp()) + "\n\x00{}", `line 2: not an OTLP JSON document: expected an object with "resourceSpans" (or Tempo's "batches"), found byte 0x00`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in == "" && tc.name != "empty input" {
				t.Skip("fixture not available")
			}
			_, err := decodeString(t, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "otlp: ") {
				t.Errorf("error %q does not name the format", err)
			}
			if errors.Is(err, ErrNotOTLP) != tc.notOTLP {
				t.Errorf("errors.Is(err, ErrNotOTLP) = %v, want %v", !tc.notOTLP, tc.notOTLP)
			}
		})
	}
}

func TestBadResource(t *testing.T) {
	for _, res := range []string{`[1]`, `{"attributes":tru}`} {
		c, err := decodeString(t, `{"resourceSpans":[{"resource":`+res+`,"scopeSpans":[{"spans":[`+sp()+`]}]},`+
			`{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"spans":[`+sp()+`]}]}]}`)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Findings) != 1 || c.Findings[0].Reason != "bad resource" || c.Findings[0].Record != 0 || !strings.Contains(c.Findings[0].Detail, "expected a resource object") {
			t.Errorf("%s: findings %v", res, c.Findings)
		}
		if len(c.Spans) != 2 || !c.Spans[0].Has(trace.FlagNoService) || c.Spans[1].Service != "svc" {
			t.Errorf("%s: spans %+v", res, c.Spans)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := make([]string, 3*ctxEvery)
	for i := range big {
		big[i] = sp("spanId", fmt.Sprintf(`"%016x"`, i+1))
	}
	c := &trace.Collector{}
	err := Decode(ctx, strings.NewReader(doc(big...)), c.AddSource("x"), c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(c.Spans) >= len(big) || c.Spans[0].Service != "svc" {
		t.Errorf("decoded %d of %d spans after cancel (service %q)", len(c.Spans), len(big), c.Spans[0].Service)
	}
}

func TestUnknownSourceIndex(t *testing.T) {
	c := &trace.Collector{}
	if err := Decode(context.Background(), strings.NewReader(doc(sp("spanId", `""`))), 7, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Findings) != 1 || c.Findings[0].Source != "source 7" {
		t.Errorf("findings %v", c.Findings)
	}
}
