package zipkin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"zipkin2", "zipkin1", "jaeger", "otlp"} {
		files, _ := filepath.Glob(filepath.Join(fixtureRoot, dir, "*.json*"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"", "[]", "[[]]", "{}", `{"foo":1}`, "[1,2]", "null", `"x"`, "[" + span("01", "") + "]",
		span("01", "") + "\n" + span("02", ""),
		"[" + span("01", `"duration":"abc"`) + "]",
		"[" + span("01", `"duration":-1`) + "]",
		"[" + span("01", `"duration":1e300`) + "]",
		"[" + span("01", `"timestamp":-1e-300`) + "]",
		"[" + span("0123456789abcdef0123", "") + "]",
		"[" + span("span-1", `"traceId":"trace-1"`) + "]",
		"[" + span("01", `"localEndpoint":{"ipv6":"::1","port":"x"}`) + "]",
		"[" + span("01", `"tags":{"error":null}`) + "]",
		"[" + v1("01", "", "", []string{ann("100", "cs", ep("a", "1")), ann("90", "sr", ep("a", "2"))}, []string{bin("sa", "true", ep("b", "3"))}) + "]",
		"[" + v1("01", "", "", []string{ann("100", "ms", ep("a", "1")), ann("90", "mr", ep("a", "2"))}, []string{bin("ca", "true", ep("a", "3"))}) + "]",
		"[" + span("01", "")[:40],
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &trace.Collector{}
		_ = Decode(context.Background(), bytes.NewReader(data), c.AddSource("fuzz"), c)
		for i := range c.Spans {
			s := &c.Spans[i]
			if s.ID == 0 || s.TraceID.IsZero() {
				t.Fatalf("span %d has a zero id: %+v", i, s)
			}
			if s.Start < 0 || s.Duration < 0 || s.Duration > maxDuration || s.Start > s.End() {
				t.Fatalf("span %d has bad times: %+v", i, s)
			}
			if s.Service == "" || (s.Service == trace.UnknownService) != s.Has(trace.FlagNoService) && s.Has(trace.FlagNoService) {
				t.Fatalf("span %d service %q flags %b", i, s.Service, s.Flags)
			}
			if s.Record < 1 {
				t.Fatalf("span %d has record %d", i, s.Record)
			}
		}
		// Encode must write whatever Decode produced, and after one pass
		// through Zipkin's microsecond and UTF-8 rules the spans must be
		// a fixed point of Encode → Decode.
		once := reencode(t, c.Spans)
		twice := reencode(t, once)
		if len(once) != len(c.Spans) || len(twice) != len(once) {
			t.Fatalf("re-encoding changed the span count: %d → %d → %d", len(c.Spans), len(once), len(twice))
		}
		for i := range once {
			if once[i] != twice[i] {
				t.Fatalf("span %d not stable under Encode/Decode:\n%s\n%s", i, goldenLine(&once[i]), goldenLine(&twice[i]))
			}
		}
	})
}

func reencode(t *testing.T, spans []trace.Span) []trace.Span {
	var b bytes.Buffer
	if err := Encode(&b, spans); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	c := &trace.Collector{}
	if err := Decode(context.Background(), &b, c.AddSource("re"), c); err != nil {
		t.Fatalf("Decode of Encode output: %v\n%s", err, b.Bytes())
	}
	if c.Skipped != 0 {
		t.Fatalf("Decode skipped Encode output: %v", c.Findings)
	}
	return c.Spans
}
