package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
)

const sharedTraces = "../../../../shared/traces"

// independentCount counts traces, spans and services of a fixture straight
// from its JSON, without any tracesim decoder, following the definitions of
// shared/traces/PROVENANCE.md, with two rules that make it comparable to
// assembled spans: an exact copy of a span object counts once (Assemble
// drops it), and a Zipkin v1 RPC whose objects carry both client (cs/cr)
// and server (sr/ss) annotations counts as two spans, and a Zipkin span
// reported in pieces counts once (its client and server
// halves, as Zipkin's own v1→v2 conversion makes them).
type count struct{ traces, spans, services int }

func independentCount(t *testing.T, path string) count {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []any
	if strings.HasSuffix(path, ".jsonl") {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				var v any
				if err := json.Unmarshal(line, &v); err != nil {
					t.Fatal(err)
				}
				docs = append(docs, v)
			}
		}
	} else {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		docs = []any{v}
	}
	traces := map[string]bool{}
	services := map[string]bool{}
	seen := map[string]bool{}
	spans := 0
	v1roles := map[string]map[string]bool{}
	// Zipkin stores each report of a span: a kind-less object without timestamp with
	// the same id, parent and service as a whole span is a piece of it.
	fragments, whole := map[string]int{}, map[string]bool{}
	addTrace := func(id string) { traces[strings.TrimLeft(strings.ToLower(id), "0")] = true }
	dir := filepath.Base(filepath.Dir(path))
	for _, doc := range docs {
		switch dir {
		case "zipkin1", "zipkin2":
			for _, o := range flatten(doc) {
				m := o.(map[string]any)
				canon, _ := json.Marshal(m)
				if seen[string(canon)] {
					continue
				}
				seen[string(canon)] = true
				addTrace(m["traceId"].(string))
				if le, ok := m["localEndpoint"].(map[string]any); ok {
					if s, _ := le["serviceName"].(string); s != "" {
						services[s] = true
					}
				}
				if dir == "zipkin2" {
					spans++
					svc := ""
					if le, ok := m["localEndpoint"].(map[string]any); ok {
						svc, _ = le["serviceName"].(string)
					}
					key := fmt.Sprint(m["traceId"], m["id"], m["parentId"], svc)
					_, hasKind := m["kind"]
					_, hasTS := m["timestamp"]
					if !hasKind && !hasTS {
						fragments[key]++
					} else {
						whole[key] = true
					}
					continue
				}
				key := m["traceId"].(string) + "/" + m["id"].(string)
				if v1roles[key] == nil {
					v1roles[key] = map[string]bool{}
				}
				anns, _ := m["annotations"].([]any)
				for _, a := range anns {
					am := a.(map[string]any)
					switch am["value"] {
					case "cs", "cr":
						v1roles[key]["client"] = true
					case "sr", "ss":
						v1roles[key]["server"] = true
					default:
						continue
					}
					if ep, ok := am["endpoint"].(map[string]any); ok {
						if s, _ := ep["serviceName"].(string); s != "" {
							services[s] = true
						}
					}
				}
				bins, _ := m["binaryAnnotations"].([]any)
				for _, b := range bins {
					bm := b.(map[string]any)
					if bm["key"] == "lc" {
						if ep, ok := bm["endpoint"].(map[string]any); ok {
							if s, _ := ep["serviceName"].(string); s != "" {
								services[s] = true
							}
						}
					}
				}
			}
		case "jaeger":
			m := doc.(map[string]any)
			list := []any{m}
			if d, ok := m["data"].([]any); ok {
				list = d
			}
			for _, tr := range list {
				tm := tr.(map[string]any)
				procs, _ := tm["processes"].(map[string]any)
				for _, s := range tm["spans"].([]any) {
					sm := s.(map[string]any)
					spans++
					addTrace(sm["traceID"].(string))
					if p, ok := sm["process"].(map[string]any); ok {
						services[p["serviceName"].(string)] = true
					} else if p, ok := procs[sm["processID"].(string)].(map[string]any); ok {
						services[p["serviceName"].(string)] = true
					}
				}
			}
		case "otlp":
			m := doc.(map[string]any)
			rss, ok := m["resourceSpans"].([]any)
			if !ok {
				rss, _ = m["batches"].([]any)
			}
			for _, rs := range rss {
				rm := rs.(map[string]any)
				svc := ""
				if res, ok := rm["resource"].(map[string]any); ok {
					attrs, _ := res["attributes"].([]any)
					for _, a := range attrs {
						am := a.(map[string]any)
						if am["key"] == "service.name" {
							svc, _ = am["value"].(map[string]any)["stringValue"].(string)
						}
					}
				}
				scopes, ok := rm["scopeSpans"].([]any)
				if !ok {
					scopes, _ = rm["instrumentationLibrarySpans"].([]any)
				}
				for _, sc := range scopes {
					list, _ := sc.(map[string]any)["spans"].([]any)
					for _, s := range list {
						spans++
						if svc != "" {
							services[svc] = true
						}
						addTrace(otlpID(s.(map[string]any)["traceId"].(string)))
					}
				}
			}
		}
	}
	for key, n := range fragments {
		if whole[key] {
			spans -= n
		}
	}
	for _, roles := range v1roles {
		spans += max(1, len(roles))
	}
	// A 64-bit id that is the low half of a 128-bit id is the same trace.
	for id := range traces {
		if len(id) > 16 {
			delete(traces, strings.TrimLeft(id[len(id)-16:], "0"))
		}
	}
	return count{len(traces), spans, len(services)}
}

func otlpID(s string) string {
	if len(s) == 24 && strings.HasSuffix(s, "=") || strings.ContainsAny(s, "+/=") {
		b, err := base64.StdEncoding.DecodeString(s)
		if err == nil {
			return hex.EncodeToString(b)
		}
	}
	return s
}

func flatten(v any) []any {
	switch x := v.(type) {
	case map[string]any:
		return []any{x}
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}

func runInspect(t *testing.T, args ...string) (*analysis.Summary, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	if err := Run(context.Background(), &Options{IO: io, Inputs: args, JSON: true}); err != nil {
		t.Fatalf("inspect %v: %v", args, err)
	}
	var s analysis.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("inspect --json output: %v\n%s", err, out.String())
	}
	return &s, errOut.String()
}

// TestFixtureCounts is the acceptance check: on every real fixture, the
// counts inspect reports equal a count made from the file without tracesim.
func TestFixtureCounts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedTraces, "*", "*.json*"))
	if len(files) == 0 {
		t.Skip("shared/traces fixtures not found beside the repository (../shared/traces)")
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			want := independentCount(t, f)
			s, _ := runInspect(t, f)
			got := count{s.Traces, s.Spans, len(s.Services)}
			if got != want {
				t.Errorf("inspect (traces, spans, services) = %+v, independent count %+v", got, want)
			}
		})
	}
}
