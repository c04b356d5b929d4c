package otlp

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/tracesim/tracesim/trace"
)

func FuzzDecode(f *testing.F) {
	if entries, err := os.ReadDir(fixtureDir); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(fixtureDir, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	seeds := []string{
		doc(sp(), sp("endTimeUnixNano", `"abc"`), sp("endTimeUnixNano", `"1"`), sp("spanId", `"eee19b7ec3c1b1740000"`)),
		doc(sp("traceId", `"trace-123"`, "spanId", `"W47/95gDgQPSabYzgT/GDA=="`, "parentSpanId", `"AAAAAAAAAAA="`)),
		`{"batches":[{"scopeSpans":[{"spans":[1,null,"x",{}]}],"resource":{"attributes":[{"key":"service.name","value":{"intValue":5}}]}}]}`,
		`{"trace":{"trace":{"resourceSpans":[]}}}`,
		`[{"resourceSpans":[]},{"foo":1}]`,
		`{"resourceSpans":[{"resource":null,"instrumentationLibrarySpans":[{"spans":[{"kind":"SPAN_KIND_CLIENT","status":{"code":"STATUS_CODE_ERROR"},"startTimeUnixNano":1e18}]}]}]}`,
		`{"foo":1}`, ``, `{`, `[`, `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":tru}]}]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &trace.Collector{}
		src := c.AddSource("fuzz")
		err := Decode(context.Background(), bytes.NewReader(data), src, c)
		for i := range c.Spans {
			s := &c.Spans[i]
			if s.Service == "" || s.ID == 0 || s.TraceID.IsZero() || s.Duration < 0 || s.Duration > maxDuration || s.Record <= 0 {
				t.Fatalf("span %d breaks an invariant: %+v", i, *s)
			}
			if s.Has(trace.FlagNoStart) && (s.Start != 0 || s.Duration != 0) {
				t.Fatalf("no-start span with times: %+v", *s)
			}
		}
		for _, fd := range c.Findings {
			if fd.Record <= 0 && fd.Reason != "bad resource" || fd.Reason == "" || fd.Detail == "" {
				t.Fatalf("finding without record or reason: %+v", fd)
			}
		}
		// Whatever decoded must survive Encode and decode again unchanged,
		// except invalid UTF-8, which Encode replaces with U+FFFD as
		// encoding/json does.
		if err == nil && len(c.Findings) == 0 && validUTF8(c.Spans) {
			var buf bytes.Buffer
			if err := Encode(&buf, c.Spans); err != nil {
				t.Fatal(err)
			}
			c2 := &trace.Collector{}
			if err := Decode(context.Background(), &buf, c2.AddSource("again"), c2); err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			got, want := sortedLines(c2.Spans), sortedLines(c.Spans)
			if len(got) != len(want) {
				t.Fatalf("re-decode: %d spans, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("re-decode differs:\n got %s\nwant %s", got[i], want[i])
				}
			}
		}
	})
}

func validUTF8(spans []trace.Span) bool {
	for i := range spans {
		s := &spans[i]
		if !utf8.ValidString(s.Service) || !utf8.ValidString(s.Name) || !utf8.ValidString(s.Peer) || !utf8.ValidString(s.Instance) {
			return false
		}
	}
	return true
}
