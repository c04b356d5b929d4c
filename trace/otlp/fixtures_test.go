package otlp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the decoder's output")

// fixtureDir is where the shared real-world fixtures live, relative to this
// package's directory (trace/otlp -> /work/shared/traces/otlp).
const fixtureDir = "../../../shared/traces/otlp"

func fixturePath(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skipf("shared fixtures not available at %s: %v", fixtureDir, err)
	}
	return filepath.Join(fixtureDir, name)
}

// fixtureCase holds counts taken from PROVENANCE.md (spans, traces, services,
// orphans) and a few facts read off the files by hand.
type fixtureCase struct {
	file                             string
	spans, traces, services, orphans int
	errors                           int      // spans with status ERROR
	kinds                            []string // one expected kind per span, sorted
	peers                            []string // distinct names trace.SpanPeerName gives client and producer spans, sorted
	instances                        []string // distinct non-empty instances, sorted
}

var fixtureCases = []fixtureCase{
	{
		file: "generated-otel-demo-protojson-lines.jsonl", spans: 19, traces: 19, services: 8, orphans: 13,
		kinds:     repeat("client", 6, "internal", 10, "server", 3),
		instances: []string{"docker-desktop"},
	},
	{
		file: "tempo-mythical-queue-database-base64.json", spans: 19, traces: 1, services: 3, orphans: 0,
		kinds: repeat("client", 6, "consumer", 1, "internal", 10, "producer", 1, "server", 1),
		// db.system on the pg client, messaging.system on the producer,
		// net.peer.name on the loki HTTP client.
		peers: []string{"loki", "postgresql", "rabbitmq"},
	},
	{
		file: "tempo-mythical-failed-requests-base64.json", spans: 15, traces: 1, services: 2, orphans: 0, errors: 3,
		kinds: repeat("client", 6, "internal", 8, "server", 1),
		peers: []string{"loki", "postgresql"},
	},
	{
		file: "kiali-tempo-istio-bookinfo-batches.json", spans: 8, traces: 1, services: 5, orphans: 0,
		kinds: repeat("client", 4, "server", 4),
	},
	{
		file: "tempo-vulture-no-kind.json", spans: 6, traces: 1, services: 1, orphans: 0,
		kinds: repeat("unspecified", 6),
	},
	{
		file: "nodejs-sdk-lines.jsonl", spans: 4, traces: 1, services: 1, orphans: 0,
		kinds: repeat("internal", 4),
	},
	{
		file: "tempo-virtual-nodes-missing-peer.json", spans: 3, traces: 2, services: 3, orphans: 0,
		kinds: repeat("client", 1, "consumer", 1, "server", 1),
		// peer.service on the client; the consumer's peer.service names
		// its producer, which is no callee.
		peers: []string{"external-payments-platform"},
	},
	{
		file: "otlp-proto-example-trace.json", spans: 1, traces: 1, services: 1, orphans: 1,
		kinds: repeat("server", 1),
	},
}

func repeat(pairs ...any) []string {
	var out []string
	for i := 0; i < len(pairs); i += 2 {
		for j := 0; j < pairs[i+1].(int); j++ {
			out = append(out, pairs[i].(string))
		}
	}
	return out
}

func decodeFile(t testing.TB, path string) (*trace.Collector, error) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		// PROVENANCE.md allows deleting the AGPL tempo-* files.
		t.Skipf("fixture removed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &trace.Collector{}
	src := c.AddSource(filepath.Base(path))
	return c, Decode(context.Background(), f, src, c)
}

func TestFixtures(t *testing.T) {
	dir := fixturePath(t, "")
	seen := map[string]bool{}
	for _, tc := range fixtureCases {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			c, err := decodeFile(t, filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Findings) != 0 || c.Skipped != 0 {
				t.Errorf("findings on a clean fixture: %v", c.Findings)
			}
			if len(c.Spans) != tc.spans {
				t.Errorf("spans = %d, want %d", len(c.Spans), tc.spans)
			}
			traces := map[trace.TraceID]bool{}
			services := map[string]bool{}
			ids := map[[2]any]bool{}
			var kinds, peers, instances []string
			errs := 0
			for _, s := range c.Spans {
				traces[s.TraceID] = true
				services[s.Service] = true
				ids[[2]any{s.TraceID, s.ID}] = true
				kinds = append(kinds, s.Kind.String())
				if p := trace.SpanPeerName(&s); p != "" && trace.IsClientSide(s.Kind) && !contains(peers, p) {
					peers = append(peers, p)
				}
				if s.Instance != "" && !contains(instances, s.Instance) {
					instances = append(instances, s.Instance)
				}
				if s.Has(trace.FlagError) {
					errs++
				}
				if s.Has(trace.FlagNoService) || s.Has(trace.FlagNoStart) || s.Has(trace.FlagNoDuration) {
					t.Errorf("unexpected flags on %v: %b", s.ID, s.Flags)
				}
			}
			orphans := 0
			for _, s := range c.Spans {
				if s.ParentID != 0 && !ids[[2]any{s.TraceID, s.ParentID}] {
					orphans++
				}
			}
			sort.Strings(kinds)
			sort.Strings(peers)
			sort.Strings(instances)
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("traces", len(traces), tc.traces)
			check("services", len(services), tc.services)
			check("orphans", orphans, tc.orphans)
			check("error spans", errs, tc.errors)
			check("kinds", kinds, tc.kinds)
			check("peers", peers, tc.peers)
			check("instances", instances, tc.instances)
		})
	}
	// A fixture added to the shared folder must get a row above.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("fixture %s has no test case", e.Name())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFixturesAgainstPlainJSON decodes every fixture a second, independent
// way (encoding/json into map[string]any, ids and rules re-implemented) and
// requires the same span lines.
func TestFixturesAgainstPlainJSON(t *testing.T) {
	dir := fixturePath(t, "")
	for _, tc := range fixtureCases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			data, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				t.Skipf("fixture removed: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := plainDecode(t, data)
			c, err := decodeFile(t, path)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(c.Spans))
			for i := range c.Spans {
				got[i] = spanLine(&c.Spans[i])
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("decoder and plain walk differ:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// spanLine formats the fields a decoder sets, one span per line, for golden
// files and comparisons.
func spanLine(s *trace.Span) string {
	parent := "-"
	if s.ParentID != 0 {
		parent = s.ParentID.String()
	}
	return fmt.Sprintf("trace=%016x%016x span=%s parent=%s service=%q name=%q kind=%s start=%d dur=%d flags=%s peer=%q instance=%q attrs=%s",
		s.TraceID.High, s.TraceID.Low, s.ID, parent, s.Service, s.Name, s.Kind, s.Start, s.Duration, flagNames(s.Flags), s.Peer, s.Instance, s.Attrs)
}

func flagNames(f trace.Flags) string {
	names := []string{"error", "shared", "follows-from", "async", "no-start", "no-duration", "no-service", "skew-adjusted", "orphan"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "|")
}

// plainDecode is the independent reading: whole documents through
// encoding/json, produced as spanLine strings.
func plainDecode(t testing.TB, data []byte) []string {
	t.Helper()
	var docs []map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("plain decode: %v", err)
		}
		docs = append(docs, m)
	}
	var out []string
	for _, doc := range docs {
		rsList, _ := doc["resourceSpans"].([]any)
		if b, ok := doc["batches"].([]any); ok {
			rsList = b
		}
		for _, rsAny := range rsList {
			rs := rsAny.(map[string]any)
			res, _ := rs["resource"].(map[string]any)
			attrs := attrMap(res["attributes"])
			service, flags := attrs["service.name"], trace.Flags(0)
			if service == "" {
				service, flags = trace.UnknownService, trace.FlagNoService
			}
			instance := attrs["service.instance.id"]
			if instance == "" {
				instance = attrs["host.name"]
			}
			scopes, _ := rs["scopeSpans"].([]any)
			if old, ok := rs["instrumentationLibrarySpans"].([]any); ok {
				scopes = old
			}
			for _, ssAny := range scopes {
				ss := ssAny.(map[string]any)
				spans, _ := ss["spans"].([]any)
				for _, spAny := range spans {
					sp := spAny.(map[string]any)
					s := trace.Span{Service: service, Instance: instance, Flags: flags}
					tid := plainID(t, sp["traceId"].(string), 16)
					s.TraceID = trace.TraceID{High: beUint(tid[:8]), Low: beUint(tid[8:])}
					s.ID = trace.SpanID(beUint(plainID(t, sp["spanId"].(string), 8)))
					if p, _ := sp["parentSpanId"].(string); p != "" {
						s.ParentID = trace.SpanID(beUint(plainID(t, p, 8)))
					}
					s.Name, _ = sp["name"].(string)
					switch k := sp["kind"].(type) {
					case json.Number:
						n, _ := k.Int64()
						s.Kind = trace.Kind(n)
					case string:
						s.Kind = map[string]trace.Kind{"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}[k]
					}
					start, _ := strconv.ParseInt(fmt.Sprint(sp["startTimeUnixNano"]), 10, 64)
					end, _ := strconv.ParseInt(fmt.Sprint(sp["endTimeUnixNano"]), 10, 64)
					s.Start, s.Duration = start, end-start
					if st, ok := sp["status"].(map[string]any); ok {
						if code := fmt.Sprint(st["code"]); code == "2" || code == "STATUS_CODE_ERROR" {
							s.Flags |= trace.FlagError
						}
					}
					// The kept attributes: the span's, then the resource's.
					sa := attrMap(sp["attributes"])
					var kv []string
					for k := trace.AttrKey(0); k < trace.NumAttrKeys; k++ {
						v := sa[k.String()]
						if v == "" {
							v = attrs[k.String()]
						}
						if v != "" {
							kv = append(kv, k.String(), v)
						}
					}
					s.Attrs = trace.MakeAttrs(kv...)
					out = append(out, spanLine(&s))
				}
			}
		}
	}
	return out
}

// attrMap reads an attribute list: strings as they are, numbers in
// decimal (whole doubles too), booleans as true/false. The first value of
// a key wins.
func attrMap(v any) map[string]string {
	m := map[string]string{}
	list, _ := v.([]any)
	for _, a := range list {
		kv := a.(map[string]any)
		key := kv["key"].(string)
		if _, dup := m[key]; dup {
			continue
		}
		val, _ := kv["value"].(map[string]any)
		switch {
		case val["stringValue"] != nil:
			if s, ok := val["stringValue"].(string); ok && s != "" {
				m[key] = s
			}
		case val["intValue"] != nil:
			m[key] = fmt.Sprint(val["intValue"])
		case val["doubleValue"] != nil:
			f, _ := strconv.ParseFloat(fmt.Sprint(val["doubleValue"]), 64)
			if f == float64(int64(f)) {
				m[key] = strconv.FormatInt(int64(f), 10)
			} else {
				m[key] = strconv.FormatFloat(f, 'g', -1, 64)
			}
		case val["boolValue"] != nil:
			m[key] = fmt.Sprint(val["boolValue"])
		}
	}
	return m
}

// plainID decodes an id written as hex of exactly 2*n characters or as
// padded standard base64.
func plainID(t testing.TB, s string, n int) []byte {
	t.Helper()
	if len(s) == 2*n {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != n {
		t.Fatalf("id %q is neither %d-byte hex nor base64", s, n)
	}
	return b
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// TestGolden pins the decoder's full output for every fixture; regenerate
// with go test -run Golden -update after checking the diff by hand.
func TestGolden(t *testing.T) {
	dir := fixturePath(t, "")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			c, err := decodeFile(t, filepath.Join(dir, name))
			var b strings.Builder
			for i := range c.Spans {
				b.WriteString(spanLine(&c.Spans[i]))
				b.WriteByte('\n')
			}
			for _, f := range c.Findings {
				fmt.Fprintf(&b, "finding: %s\n", f)
			}
			if err != nil {
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			golden := filepath.Join("testdata", "golden", name+".golden")
			if strings.HasPrefix(name, "tempo-") {
				// The tempo fixtures are AGPL-3.0 (see PROVENANCE.md): keep
				// only a digest of the decoded output in this repository,
				// not a copy of their content.
				sum := sha256.Sum256([]byte(b.String()))
				out := fmt.Sprintf("sha256 of the decoded output (content not kept: AGPL-3.0 fixture): %x\n", sum)
				b.Reset()
				b.WriteString(out)
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}
