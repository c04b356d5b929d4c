package otlp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/internal/jsonw"
	"github.com/tracesim/tracesim/trace"
)

// genSpans makes n spans shaped like a microservice system: 20 services,
// traces of 40 spans (a server root fanning out into client/server pairs and
// internal spans), a few errors and database peers.
func genSpans(n int, seed uint64) []trace.Span {
	rng := rand.New(rand.NewPCG(seed, 1))
	services := make([]string, 20)
	for i := range services {
		services[i] = fmt.Sprintf("service-%02d", i)
	}
	spans := make([]trace.Span, 0, n)
	base := int64(1_700_000_000_000_000_000)
	for t := 0; len(spans) < n; t++ {
		tid := trace.TraceID{High: rng.Uint64(), Low: rng.Uint64()}
		start := base + int64(t)*5_000_000
		var ids []trace.SpanID
		var svcs []string
		for i := 0; i < 40 && len(spans) < n; i++ {
			s := trace.Span{TraceID: tid, ID: trace.SpanID(rng.Uint64() | 1)}
			svc := services[rng.IntN(len(services))]
			if i > 0 {
				p := rng.IntN(len(ids))
				s.ParentID = ids[p]
				if i%2 == 1 {
					svc = svcs[p]
				}
			}
			s.Service = svc
			s.Instance = svc + "-" + strconv.Itoa(rng.IntN(3))
			switch {
			case i == 0:
				s.Kind = trace.KindServer
			case i%2 == 1:
				s.Kind = trace.KindClient
			case i%5 == 0:
				s.Kind = trace.KindInternal
			default:
				s.Kind = trace.KindServer
			}
			s.Name = fmt.Sprintf("GET /api/v1/%s/items/{id}", svc)
			if s.Kind == trace.KindClient && rng.IntN(8) == 0 {
				s.Attrs = trace.MakeAttrs("db.system.name", "postgresql", "server.address", "db-"+strconv.Itoa(rng.IntN(2)), "server.port", "5432")
			}
			if rng.IntN(50) == 0 {
				s.Flags |= trace.FlagError
			}
			s.Start = start + int64(i)*100_000 + rng.Int64N(1000)
			s.Duration = 50_000 + rng.Int64N(20_000_000)
			spans = append(spans, s)
			ids = append(ids, s.ID)
			svcs = append(svcs, svc)
		}
	}
	return spans
}

// httpAttrs adds the HTTP attributes an instrumented server or client
// writes, to bring spans to a realistic size (~450 bytes).
func httpAttrs(dst []byte, s *trace.Span) []byte {
	status := "200"
	if s.Has(trace.FlagError) {
		status = "500"
	}
	dst = append(dst, `{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.url","value":{"stringValue":`...)
	dst = jsonw.AppendString(dst, "http://"+s.Service+":8080/api/v1/items/"+strconv.FormatUint(uint64(s.ID)&0xffff, 10))
	dst = append(dst, `}},{"key":"http.status_code","value":{"intValue":"`...)
	dst = append(dst, status...)
	return append(dst, `"}}`...)
}

func sortedLines(spans []trace.Span) []string {
	out := make([]string, len(spans))
	for i := range spans {
		out[i] = spanLine(&spans[i])
	}
	sort.Strings(out)
	return out
}

// decoded is what Decode makes of spans written by encode with extra: OTLP
// has no remote endpoint, so Peer comes back as the peer.service attribute,
// and httpAttrs adds the kept http.method.
func decoded(spans []trace.Span, extra attrFunc) []trace.Span {
	out := append([]trace.Span(nil), spans...)
	for i := range out {
		s := &out[i]
		if s.Peer != "" {
			s.Attrs = s.Attrs.With(trace.MakeAttrs("peer.service", s.Peer))
			s.Peer = ""
		}
		if extra != nil {
			s.Attrs = s.Attrs.With(trace.MakeAttrs("http.method", "GET"))
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	spans := genSpans(2000, 7)
	// Edge cases the generator does not make.
	edge := []trace.Span{
		{TraceID: trace.TraceID{Low: 0xabc}, ID: 1, Service: "ünïcødé \"quoted\"\n服务", Name: "tab\there \\ back", Kind: trace.KindProducer, Start: 5, Duration: 7, Peer: "kafka",
			Attrs: trace.MakeAttrs("messaging.destination.name", "orders \"q\"", "client.port", "080", "network.peer.port", "9092")},
		{TraceID: trace.TraceID{High: 1, Low: 2}, ID: 3, ParentID: 1, Service: trace.UnknownService, Flags: trace.FlagNoService, Name: "no service", Kind: trace.KindConsumer, Start: 10, Duration: 0},
		{TraceID: trace.TraceID{High: 1, Low: 2}, ID: 4, Service: "a", Flags: trace.FlagNoDuration, Start: 99},
		{TraceID: trace.TraceID{High: 1, Low: 2}, ID: 5, Service: "a", Flags: trace.FlagNoStart | trace.FlagNoDuration | trace.FlagError, Name: ""},
		{TraceID: trace.TraceID{High: ^uint64(0), Low: ^uint64(0)}, ID: ^trace.SpanID(0), ParentID: 1 << 63, Service: "b", Instance: "host-1", Start: 1<<62 + 3, Duration: 24 * 3600 * 1e9},
	}
	spans = append(spans, edge...)
	for _, extra := range []attrFunc{nil, httpAttrs} {
		var buf bytes.Buffer
		if err := encode(&buf, spans, extra); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(buf.Bytes()) {
			t.Fatal("Encode wrote invalid JSON")
		}
		c := &trace.Collector{}
		src := c.AddSource("roundtrip")
		if err := Decode(context.Background(), &buf, src, c); err != nil {
			t.Fatal(err)
		}
		if len(c.Findings) != 0 {
			t.Fatalf("findings: %v", c.Findings[:min(5, len(c.Findings))])
		}
		for i, s := range c.Spans {
			if s.Source != src || s.Record != int32(i+1) {
				t.Fatalf("span %d: source %d record %d", i, s.Source, s.Record)
			}
		}
		got, want := sortedLines(c.Spans), sortedLines(decoded(spans, extra))
		if len(got) != len(want) {
			t.Fatalf("got %d spans, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("span differs after round trip:\n got %s\nwant %s", got[i], want[i])
			}
		}
	}
}

// TestEncodeMatchesPlainJSON reads Encode's output with the independent
// encoding/json walk, so Encode and Decode cannot agree on a private
// mistake.
func TestEncodeMatchesPlainJSON(t *testing.T) {
	spans := genSpans(500, 3)
	var buf bytes.Buffer
	if err := encode(&buf, spans, httpAttrs); err != nil {
		t.Fatal(err)
	}
	got := plainDecode(t, buf.Bytes())
	sort.Strings(got)
	want := sortedLines(decoded(spans, httpAttrs))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatal("plain walk of Encode output differs from the input spans")
	}
	// Realistic size for the benchmark: about 450 bytes per span.
	if per := buf.Len() / len(spans); per < 380 || per > 550 {
		t.Errorf("%d bytes per encoded span, want about 450", per)
	}
}

func TestEncodeGroupsResources(t *testing.T) {
	spans := []trace.Span{
		{TraceID: trace.TraceID{Low: 1}, ID: 1, Service: "a", Instance: "i1", Start: 1, Duration: 1},
		{TraceID: trace.TraceID{Low: 1}, ID: 2, Service: "b", Start: 1, Duration: 1},
		{TraceID: trace.TraceID{Low: 1}, ID: 3, Service: "a", Instance: "i1", Start: 1, Duration: 1},
		{TraceID: trace.TraceID{Low: 1}, ID: 4, Service: "a", Instance: "i2", Start: 1, Duration: 1},
	}
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					SpanID string `json:"spanId"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, rs := range doc.ResourceSpans {
		var ids []string
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				ids = append(ids, strings.TrimLeft(s.SpanID, "0"))
			}
		}
		groups = append(groups, strings.Join(ids, ","))
	}
	if got := strings.Join(groups, " "); got != "1,3 2 4" {
		t.Errorf("resources hold spans %q, want \"1,3 2 4\"", got)
	}
	// No spans still makes a valid, decodable document.
	buf.Reset()
	if err := Encode(&buf, nil); err != nil {
		t.Fatal(err)
	}
	c := &trace.Collector{}
	if err := Decode(context.Background(), &buf, c.AddSource("x"), c); err != nil || len(c.Spans) != 0 {
		t.Errorf("empty Encode output: err %v, %d spans", err, len(c.Spans))
	}
}

func BenchmarkDecode(b *testing.B) {
	spans := genSpans(100_000, 1)
	var buf bytes.Buffer
	if err := encode(&buf, spans, httpAttrs); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &trace.Collector{}
		if err := Decode(context.Background(), bytes.NewReader(data), c.AddSource("bench"), c); err != nil {
			b.Fatal(err)
		}
		if len(c.Spans) != len(spans) {
			b.Fatalf("decoded %d spans, want %d", len(c.Spans), len(spans))
		}
	}
	b.ReportMetric(float64(len(spans)*b.N)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(len(data))/float64(len(spans)), "bytes/span")
}
