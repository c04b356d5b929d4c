package zipkin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/openzipkin/zipkin-go/model"
	"github.com/tracesim/tracesim/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the decoder's output")

// fixtureRoot is /work/shared/traces seen from this package's directory.
const fixtureRoot = "../../../shared/traces"

// fixture lists the shared Zipkin files with the counts PROVENANCE.md gives
// (objects, traces, services), which the test recomputes from the raw JSON,
// and what the decoder must make of them.
type fixture struct {
	dir, name string
	// PROVENANCE.md counts.
	objects, traces, services int
	// Decoder expectations.
	spans    int // spans decoded (v1 objects merge and split)
	shared   int // spans with FlagShared
	noSvc    int // spans with FlagNoService
	errors   int // spans with FlagError (-1: only checked against the raw "error" tags)
	findings int
}

var fixtures = []fixture{
	{"zipkin2", "smartthings-mobile-web-install.json", 1041, 1, 16, 1041, 294, 0, -1, 0},
	{"zipkin2", "smartthings-oauth-authorization.json", 175, 1, 8, 175, 45, 0, -1, 0},
	{"zipkin2", "messaging-kafka.json", 28, 1, 2, 28, 0, 0, -1, 0},
	{"zipkin2", "yelp-mobile-api.json", 16, 1, 6, 16, 4, 0, -1, 0},
	{"zipkin2", "messaging2-transfer-sns.json", 11, 1, 4, 11, 1, 0, -1, 0},
	{"zipkin2", "otelcol-zipkinreceiver-sample1.json", 9, 1, 1, 9, 0, 0, 0, 0},
	{"zipkin2", "ascend-mobile-gateway-shared.json", 8, 1, 3, 8, 2, 0, -1, 0},
	{"zipkin2", "kong-malformed-orphans.json", 7, 1, 1, 7, 0, 6, 0, 0},
	{"zipkin2", "simple-db-p6spy.json", 5, 1, 1, 5, 0, 0, -1, 0},
	{"zipkin2", "clock-skew-shared-async.json", 4, 1, 2, 4, 1, 0, 0, 0},
	{"zipkin2", "messaging-rabbitmq-128bit.json", 4, 1, 2, 4, 0, 0, -1, 0},
	{"zipkin2", "envoy-single-span-no-service.json", 1, 1, 0, 1, 1, 1, 0, 0},
	{"zipkin2", "single-span-object-unicode.json", 1, 1, 1, 1, 0, 0, 1, 0},
	// v1: the two halves of checkAvailability and of checkStock are separate
	// objects that merge into one client + one shared server span each; the
	// fifth object has no annotations and stays one local span.
	{"zipkin1", "envoy-front-proxy-multiple-batches.json", 5, 1, 3, 5, 2, 1, 0, 0},
	{"zipkin1", "envoy-front-proxy-single-batch.json", 5, 1, 3, 5, 2, 1, 0, 0},
	// parentId "BADID" is not hex: kept, hashed, noted.
	{"zipkin1", "error-batch.json", 2, 1, 1, 2, 1, 0, 0, 1},
	{"zipkin1", "local-component-lc.json", 2, 1, 1, 2, 0, 1, 0, 0},
	{"zipkin1", "sofa-tracer-long-service-name.json", 2, 1, 1, 2, 0, 0, 0, 0},
	{"zipkin1", "server-span-no-timestamp.json", 1, 1, 1, 1, 1, 0, 0, 0},
}

func fixturePath(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(fixtureRoot, dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared fixtures not available (%v); they live in /work/shared/traces", err)
	}
	return p
}

func decodeBytes(t testing.TB, name string, data []byte) (*trace.Collector, error) {
	t.Helper()
	c := &trace.Collector{}
	src := c.AddSource(name)
	err := Decode(context.Background(), bytes.NewReader(data), src, c)
	return c, err
}

// rawCounts counts span objects, distinct trace ids, services (as
// PROVENANCE.md defines them) and "shared": true flags straight from the
// JSON, independently of the decoder.
func rawCounts(t *testing.T, data []byte) (objects int, traces, services map[string]bool, shared, errTags int) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("fixture is not JSON: %v", err)
	}
	var spans []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			spans = append(spans, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	traces, services = map[string]bool{}, map[string]bool{}
	addEP := func(ep any) {
		if m, ok := ep.(map[string]any); ok {
			if s, _ := m["serviceName"].(string); s != "" {
				services[s] = true
			}
		}
	}
	for _, s := range spans {
		tid, _ := s["traceId"].(string)
		traces[strings.Repeat("0", 32-len(tid))+strings.ToLower(tid)] = true
		addEP(s["localEndpoint"])
		if anns, ok := s["annotations"].([]any); ok {
			for _, a := range anns {
				if m, ok := a.(map[string]any); ok {
					addEP(m["endpoint"])
				}
			}
		}
		if bins, ok := s["binaryAnnotations"].([]any); ok {
			for _, b := range bins {
				if m, ok := b.(map[string]any); ok {
					switch m["key"] {
					case "ca", "sa", "ma": // remote addresses
					default:
						addEP(m["endpoint"])
					}
				}
			}
		}
		if s["shared"] == true {
			shared++
		}
		if tags, ok := s["tags"].(map[string]any); ok {
			if _, ok := tags["error"]; ok {
				errTags++
			}
		}
	}
	return len(spans), traces, services, shared, errTags
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir+"/"+fx.name, func(t *testing.T) {
			data, err := os.ReadFile(fixturePath(t, fx.dir, fx.name))
			if err != nil {
				t.Fatal(err)
			}
			objects, rawTraces, rawServices, rawShared, rawErrors := rawCounts(t, data)
			if objects != fx.objects || len(rawTraces) != fx.traces || len(rawServices) != fx.services {
				t.Fatalf("raw JSON has %d objects, %d traces, %d services; PROVENANCE.md says %d, %d, %d",
					objects, len(rawTraces), len(rawServices), fx.objects, fx.traces, fx.services)
			}

			c, err := decodeBytes(t, fx.name, data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(c.Spans) != fx.spans {
				t.Errorf("decoded %d spans, want %d", len(c.Spans), fx.spans)
			}
			if fx.dir == "zipkin2" && len(c.Spans) != objects {
				t.Errorf("v2: decoded %d spans from %d objects", len(c.Spans), objects)
			}
			traces := map[string]bool{}
			services := map[string]bool{}
			var shared, noSvc, errs int
			for i, s := range c.Spans {
				traces[fmt.Sprintf("%016x%016x", s.TraceID.High, s.TraceID.Low)] = true
				if !s.Has(trace.FlagNoService) {
					services[s.Service] = true
				} else if s.Service != trace.UnknownService {
					t.Errorf("span %d: FlagNoService with service %q", i, s.Service)
				}
				if s.Has(trace.FlagShared) {
					shared++
				}
				if s.Has(trace.FlagNoService) {
					noSvc++
				}
				if s.Has(trace.FlagError) {
					errs++
				}
				if s.ID == 0 || s.TraceID.IsZero() {
					t.Errorf("span %d: zero id", i)
				}
				if s.Duration < 0 || s.Start < 0 {
					t.Errorf("span %d: negative time %d/%d", i, s.Start, s.Duration)
				}
				if s.Source != 0 || s.Record < 1 || int(s.Record) > objects {
					t.Errorf("span %d: source %d record %d", i, s.Source, s.Record)
				}
			}
			if !sameSet(traces, rawTraces) {
				t.Errorf("trace ids %v, raw JSON has %v", keys(traces), keys(rawTraces))
			}
			if !sameSet(services, rawServices) {
				t.Errorf("services %v, raw JSON has %v", keys(services), keys(rawServices))
			}
			if shared != fx.shared {
				t.Errorf("%d shared spans, want %d", shared, fx.shared)
			}
			if fx.dir == "zipkin2" && shared != rawShared {
				t.Errorf("v2: %d shared spans, raw JSON has %d \"shared\": true", shared, rawShared)
			}
			if noSvc != fx.noSvc {
				t.Errorf("%d spans without service, want %d", noSvc, fx.noSvc)
			}
			if fx.errors >= 0 && errs != fx.errors {
				t.Errorf("%d error spans, want %d", errs, fx.errors)
			}
			if fx.dir == "zipkin2" && errs != rawErrors {
				t.Errorf("v2: %d error spans, raw JSON has %d \"error\" tags", errs, rawErrors)
			}
			if len(c.Findings) != fx.findings {
				t.Errorf("%d findings, want %d: %v", len(c.Findings), fx.findings, c.Findings)
			}
			if c.Skipped != 0 {
				t.Errorf("%d skipped", c.Skipped)
			}
		})
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// goldenLine renders one span with every field the decoder sets.
func goldenLine(s *trace.Span) string {
	return fmt.Sprintf("trace=%s id=%s parent=%s service=%q name=%q kind=%s start=%d dur=%d flags=%s peer=%q instance=%q attrs=%s record=%d",
		s.TraceID, s.ID, s.ParentID, s.Service, s.Name, s.Kind, s.Start, s.Duration, flagNames(s.Flags), s.Peer, s.Instance, s.Attrs, s.Record)
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
	return strings.Join(out, ",")
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir+"/"+fx.name, func(t *testing.T) {
			data, err := os.ReadFile(fixturePath(t, fx.dir, fx.name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := decodeBytes(t, fx.name, data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s/%s: %d spans, %d findings\n", fx.dir, fx.name, len(c.Spans), len(c.Findings))
			for i := range c.Spans {
				b.WriteString(goldenLine(&c.Spans[i]))
				b.WriteByte('\n')
			}
			for _, f := range c.Findings {
				b.WriteString("finding: " + f.String() + "\n")
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(fx.name, ".json")+".golden")
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
			if got := b.String(); got != string(want) {
				t.Errorf("decoded output differs from %s (run go test -run Golden -update and review the diff)\n%s", golden, firstDiff(got, string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

// TestOracleZipkinGo checks the v2 fixtures against zipkin-go's own model,
// an independent reader of the same JSON.
func TestOracleZipkinGo(t *testing.T) {
	for _, fx := range fixtures {
		if fx.dir != "zipkin2" {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			data, err := os.ReadFile(fixturePath(t, fx.dir, fx.name))
			if err != nil {
				t.Fatal(err)
			}
			// Go's IP parser refuses the anonymised "52.0.0.04" in one
			// SmartThings file (leading zeros); feed zipkin-go the same
			// addresses without them. The decoder keeps the string as written.
			oracleData := ipv4Octet.ReplaceAllFunc(data, func(m []byte) []byte {
				return []byte(normalizeIPv4(string(m)))
			})
			var want []model.SpanModel
			if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
				var one model.SpanModel
				err = json.Unmarshal(oracleData, &one)
				want = append(want, one)
			} else {
				err = json.Unmarshal(oracleData, &want)
			}
			if err != nil {
				t.Fatalf("zipkin-go cannot read the fixture: %v", err)
			}
			c, err := decodeBytes(t, fx.name, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Spans) != len(want) {
				t.Fatalf("%d spans, zipkin-go reads %d", len(c.Spans), len(want))
			}
			for i := range want {
				w, g := &want[i], &c.Spans[i]
				var problems []string
				check := func(what string, ok bool, gv, wv any) {
					if !ok {
						problems = append(problems, fmt.Sprintf("%s: got %v, zipkin-go %v", what, gv, wv))
					}
				}
				check("traceId", g.TraceID.High == w.TraceID.High && g.TraceID.Low == w.TraceID.Low, g.TraceID, w.TraceID)
				check("id", uint64(g.ID) == uint64(w.ID), g.ID, w.ID)
				var wp uint64
				if w.ParentID != nil {
					wp = uint64(*w.ParentID)
				}
				check("parentId", uint64(g.ParentID) == wp, g.ParentID, wp)
				check("name", g.Name == w.Name, g.Name, w.Name)
				wk := map[model.Kind]trace.Kind{model.Undetermined: trace.KindInternal, model.Client: trace.KindClient,
					model.Server: trace.KindServer, model.Producer: trace.KindProducer, model.Consumer: trace.KindConsumer}[w.Kind]
				check("kind", g.Kind == wk, g.Kind, w.Kind)
				if w.Timestamp.IsZero() {
					check("no timestamp", g.Has(trace.FlagNoStart) && g.Start == 0, g.Start, "absent")
				} else {
					check("timestamp", g.Start == w.Timestamp.UnixNano() && !g.Has(trace.FlagNoStart), g.Start, w.Timestamp.UnixNano())
				}
				check("duration", g.Duration == int64(w.Duration), g.Duration, int64(w.Duration))
				check("no duration", g.Has(trace.FlagNoDuration) == (w.Duration == 0), g.Flags, w.Duration)
				check("shared", g.Has(trace.FlagShared) == w.Shared, g.Has(trace.FlagShared), w.Shared)
				_, werr := w.Tags["error"]
				check("error", g.Has(trace.FlagError) == werr, g.Has(trace.FlagError), werr)
				svc := ""
				if w.LocalEndpoint != nil {
					svc = w.LocalEndpoint.ServiceName
				}
				if svc == "" {
					check("service", g.Service == trace.UnknownService && g.Has(trace.FlagNoService), g.Service, svc)
				} else {
					check("service", g.Service == svc && !g.Has(trace.FlagNoService), g.Service, svc)
				}
				peer := ""
				if w.RemoteEndpoint != nil {
					peer = w.RemoteEndpoint.ServiceName
				}
				check("peer", g.Peer == peer, g.Peer, peer)
				check("instance", sameInstance(g.Instance, w.LocalEndpoint), g.Instance, w.LocalEndpoint)
				if len(problems) > 0 {
					t.Errorf("span %d (%s): %s", i, w.ID, strings.Join(problems, "; "))
				}
			}
		})
	}
}

// sameInstance compares an Instance with zipkin-go's parsed endpoint (which
// normalises IP spellings, so compare as IPs).
func sameInstance(inst string, ep *model.Endpoint) bool {
	if ep == nil || (len(ep.IPv4) == 0 && len(ep.IPv6) == 0) {
		return inst == ""
	}
	host, port := inst, ""
	if i := strings.LastIndexByte(inst, ':'); i >= 0 && !strings.HasSuffix(inst, "]") && (inst[0] == '[' || strings.Count(inst, ":") == 1) {
		host, port = inst[:i], inst[i+1:]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ip := ep.IPv4
	if len(ip) == 0 {
		ip = ep.IPv6
	}
	wantPort := ""
	if ep.Port != 0 {
		wantPort = fmt.Sprint(ep.Port)
	}
	return net.ParseIP(normalizeIPv4(host)).Equal(ip) && port == wantPort
}

var ipv4Octet = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)

// normalizeIPv4 drops leading zeros from the octets of a dotted quad.
func normalizeIPv4(s string) string {
	octets := strings.Split(s, ".")
	if len(octets) != 4 {
		return s
	}
	for i, o := range octets {
		if t := strings.TrimLeft(o, "0"); t != "" {
			octets[i] = t
		} else {
			octets[i] = "0"
		}
	}
	return strings.Join(octets, ".")
}
