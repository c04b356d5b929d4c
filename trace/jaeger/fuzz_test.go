package jaeger

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func FuzzDecode(f *testing.F) {
	dir := filepath.Join("..", "..", "..", "shared", "traces", "jaeger")
	if files, err := filepath.Glob(filepath.Join(dir, "*.json")); err == nil {
		for _, name := range files {
			// Big seeds make the fuzzer spend its time minimizing; the
			// large fixtures are covered by TestFixtures instead.
			if data, err := os.ReadFile(name); err == nil && len(data) <= 4<<10 {
				f.Add(data)
			}
		}
	}
	var buf bytes.Buffer
	if err := Encode(&buf, genSpans(4, 9)); err == nil {
		f.Add(buf.Bytes())
		f.Add(buf.Bytes()[:buf.Len()/2])
	}
	for _, s := range []string{
		"", "{}", "[]", `{"foo":1}`, `{"data":null}`, `{"data":["a"]}`, `{"spans":5}`,
		traceJSON(spanJSON("1", map[string]any{"duration": "abc"})),
		traceJSON(spanJSON("1", map[string]any{"duration": -1, "startTime": 1e300})),
		traceJSON(spanJSON("1", map[string]any{"spanID": "0123456789abcdef0123"})),
		traceJSON(spanJSON("1", map[string]any{"traceID": "trace-1", "references": []any{map[string]any{"refType": "FOLLOWS_FROM", "spanID": "x"}}})),
		traceJSON(spanJSON("1", map[string]any{"process": map[string]any{"serviceName": 5, "tags": []any{map[string]any{"key": "ip", "value": -1}}}})),
		`{"traceID":"a","spans":[{"spanID":"1","references":[{"refType":"CHILD_OF","span":{"references":[{}]}}]}],"processes":{"p1":{}},"warnings":[1,"w"]}`,
		`{"data":[{"spans":[{"traceID":"a","spanID":"1"}]},{"spans":[]}],"errors":[{"msg":"m"},5]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &trace.Collector{}
		src := c.AddSource("fuzz")
		err := Decode(context.Background(), bytes.NewReader(data), src, c)
		for i := range c.Spans {
			s := &c.Spans[i]
			if s.Service == "" || s.ID == 0 || s.TraceID.IsZero() || s.Duration < 0 || s.Record < 1 {
				t.Fatalf("span %d broken (err %v): %s", i, err, spanLine(s))
			}
			if s.SampleRate < 0 || s.SampleRate > 1 {
				t.Fatalf("span %d rate %g", i, s.SampleRate)
			}
		}
		if err == nil && len(data) == 0 {
			t.Fatal("empty input accepted")
		}
	})
}
