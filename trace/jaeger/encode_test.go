package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// genSpans makes n realistic spans in 40-span traces over 20 services:
// server spans call out through client spans to other services, with the
// occasional error, async FOLLOWS_FROM consumer, database peer and sampled
// trace. Times are whole microseconds, as Jaeger stores them.
func genSpans(n int, seed uint64) []trace.Span {
	rng := rand.New(rand.NewPCG(seed, 0x6a6165676572))
	const perTrace, nServices = 40, 20
	services := make([]string, nServices)
	for i := range services {
		services[i] = fmt.Sprintf("service-%02d", i)
	}
	spans := make([]trace.Span, 0, n)
	base := int64(1_700_000_000_000_000) * 1000
	for t := 0; len(spans) < n; t++ {
		tid := trace.TraceID{High: rng.Uint64() | 1, Low: rng.Uint64()}
		if t%5 == 0 {
			tid.High = 0 // 64-bit ids still occur
		}
		var rate float32
		if t%2 == 0 {
			rate = 0.1
		}
		first := len(spans)
		start := base + int64(t)*7_000_000_000 + int64(rng.IntN(1000))*1000
		root := trace.Span{
			TraceID: tid, ID: trace.SpanID(rng.Uint64() | 1), Service: services[0], Name: "GET /api/home",
			Kind: trace.KindServer, Start: start, Duration: 900_000_000, SampleRate: rate,
			Instance: services[0] + "-pod-" + strconv.Itoa(t%3),
		}
		spans = append(spans, root)
		for j := 1; j < perTrace && len(spans) < n; j++ {
			parent := spans[first+rng.IntN(len(spans)-first)]
			s := trace.Span{
				TraceID: tid, ID: trace.SpanID(rng.Uint64() | 1), ParentID: parent.ID, SampleRate: rate,
				Start:    parent.Start + int64(rng.IntN(1000))*1000,
				Duration: int64(1+rng.IntN(int(parent.Duration/1000/2+1))) * 1000,
			}
			switch parent.Kind {
			case trace.KindClient:
				svc := rng.IntN(nServices-1) + 1
				s.Service, s.Kind = services[svc], trace.KindServer
				s.Name = fmt.Sprintf("GET /api/v1/%s/op%d", services[svc], rng.IntN(5))
				if rng.IntN(100) == 0 {
					s.Kind, s.Flags = trace.KindConsumer, trace.FlagFollowsFrom
				}
			default:
				s.Service, s.Kind = parent.Service, trace.KindClient
				s.Name = fmt.Sprintf("GET /api/v1/call%d", rng.IntN(8))
				if rng.IntN(10) == 0 {
					s.Name = "SELECT users"
					s.Attrs = trace.MakeAttrs("peer.service", "postgresql", "db.system", "postgresql",
						"server.address", "db-"+strconv.Itoa(rng.IntN(2)), "server.port", "5432")
				}
			}
			s.Instance = s.Service + "-pod-" + strconv.Itoa(rng.IntN(3))
			if rng.IntN(50) == 0 {
				s.Flags |= trace.FlagError
			}
			spans = append(spans, s)
		}
	}
	return spans
}

// httpTags adds the tags a typical HTTP instrumentation writes, so that
// benchmark spans have a realistic size.
func httpTags(b []byte, s *trace.Span) []byte {
	b = append(b, `,{"key":"http.method","type":"string","value":"GET"},{"key":"http.url","type":"string","value":"/items/`...)
	b = strconv.AppendUint(b, uint64(s.ID)&0xffff, 10)
	b = append(b, `"},{"key":"http.status_code","type":"int64","value":200}`...)
	return b
}

func withRecords(spans []trace.Span) []trace.Span {
	out := append([]trace.Span(nil), spans...)
	for i := range out {
		out[i].Record = int32(i + 1)
		out[i].Source = 0
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	spans := genSpans(2000, 7)
	// Edge cases the format must carry: missing times and service, names
	// that need escaping, a follows-from producer link, every kind.
	tid := trace.TraceID{Low: 0x42}
	edge := []trace.Span{
		{TraceID: tid, ID: 1, Service: "édge \"svc\"", Name: "tab\there\nnewline \\ 日本語 \x01", Start: 5_000_000, Duration: 3000, Kind: trace.KindInternal, Instance: "10.1.2.3", SampleRate: 0.3,
			Attrs: trace.MakeAttrs("client.port", "080", "server.port", "8080", "host.name", "h \"quoted\"", "http.route", "/a/{id}")},
		{TraceID: tid, ID: 2, ParentID: 1, Service: trace.UnknownService, Flags: trace.FlagNoService | trace.FlagNoDuration, Start: 6_000_000, Kind: trace.KindProducer, Peer: "kafka", SampleRate: 0.3},
		{TraceID: tid, ID: 3, ParentID: 2, Service: "c", Flags: trace.FlagFollowsFrom | trace.FlagNoStart | trace.FlagError, Duration: 1000, Kind: trace.KindConsumer, SampleRate: 0.3},
		{TraceID: tid, ID: 4, ParentID: 1, Service: "c", Name: "", Start: 7_000_000, Duration: 0, SampleRate: 0.3},
		{TraceID: trace.TraceID{High: 1, Low: 0}, ID: 0xffffffffffffffff, Service: "d", Start: 1000, Duration: 86_400_000_000_000, Kind: trace.KindServer},
	}
	spans = append(spans, edge...)
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatal("Encode wrote invalid JSON")
	}
	c, err := decodeBytes(t, "rt", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := withRecords(spans)
	for i := range want {
		// Jaeger has no remote endpoint: Peer is written as the
		// peer.service tag and reads back as that attribute.
		if w := &want[i]; w.Peer != "" {
			w.Attrs = w.Attrs.With(trace.MakeAttrs("peer.service", w.Peer))
			w.Peer = ""
		}
	}
	if len(c.Spans) != len(want) {
		t.Fatalf("decoded %d spans, want %d (findings %v)", len(c.Spans), len(want), c.Findings)
	}
	for i := range want {
		if c.Spans[i] != want[i] {
			t.Errorf("span %d:\n got  %s\n want %s", i, spanLine(&c.Spans[i]), spanLine(&want[i]))
		}
	}
	if len(c.Findings) != 0 {
		t.Errorf("findings on canonical output: %v", c.Findings)
	}

	// Decoding then encoding a real fixture and decoding again is stable.
	var buf2 bytes.Buffer
	if err := Encode(&buf2, c.Spans); err != nil {
		t.Fatal(err)
	}
	c2, err := decodeBytes(t, "rt2", buf2.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Spans {
		if c.Spans[i] != c2.Spans[i] {
			t.Fatalf("second round trip differs at %d", i)
		}
	}
}

func TestEncodeGroupsInterleavedTraces(t *testing.T) {
	a, b := trace.TraceID{Low: 0xa}, trace.TraceID{High: 0xb, Low: 0xb}
	spans := []trace.Span{
		{TraceID: a, ID: 1, Service: "s1", Name: "x", Start: 1000, Duration: 1000},
		{TraceID: b, ID: 1, Service: "s1", Name: "y", Start: 2000, Duration: 1000, Instance: "i1"},
		{TraceID: a, ID: 2, ParentID: 1, Service: "s2", Name: "z", Start: 3000, Duration: 1000},
		{TraceID: b, ID: 2, ParentID: 1, Service: "s1", Name: "w", Start: 4000, Duration: 1000, Instance: "i2"},
	}
	var buf bytes.Buffer
	if err := Encode(&buf, spans); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data []struct {
			TraceID   string
			Spans     []struct{ SpanID, ProcessID string }
			Processes map[string]struct{ ServiceName string }
		}
		Total int
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Data) != 2 || doc.Total != 2 || doc.Data[0].TraceID != "000000000000000a" ||
		doc.Data[1].TraceID != "000000000000000b000000000000000b" || len(doc.Data[0].Processes) != 2 || len(doc.Data[1].Processes) != 2 {
		t.Fatalf("unexpected grouping: %s", buf.String())
	}
	if doc.Data[1].Spans[1].ProcessID != "p2" || doc.Data[0].Spans[1].SpanID != "0000000000000002" {
		t.Errorf("processes/ids: %+v", doc.Data)
	}
	c, err := decodeBytes(t, "x", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	order := []int{0, 2, 1, 3}
	for i, j := range order {
		want := spans[j]
		want.Record = int32(i + 1)
		if c.Spans[i] != want {
			t.Errorf("span %d: %s, want %s", i, spanLine(&c.Spans[i]), spanLine(&want))
		}
	}
}

func TestEncodeRejectsZeroIDs(t *testing.T) {
	for _, s := range []trace.Span{{TraceID: trace.TraceID{Low: 1}}, {ID: 1}} {
		var buf bytes.Buffer
		err := Encode(&buf, []trace.Span{s})
		if err == nil || !strings.Contains(err.Error(), "zero trace or span id") {
			t.Errorf("Encode(%v): err %v", s, err)
		}
	}
	var buf bytes.Buffer
	if err := Encode(&buf, nil); err != nil || buf.String() != `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`+"\n" {
		t.Errorf("empty encode: %q %v", buf.String(), err)
	}
}

// BenchmarkDecode decodes 100k spans in 40-span traces over 20 services.
// "plain" is Encode's own output (about 450 bytes a span: span.kind, peer,
// error and sampler tags); "http" adds http.method/url/status_code tags as
// HTTP instrumentation writes them (about 610 bytes a span).
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		tags tagHook
	}{{"plain", nil}, {"http", httpTags}} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 100_000
			var buf bytes.Buffer
			if err := encode(&buf, genSpans(n, 42), bc.tags); err != nil {
				b.Fatal(err)
			}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c := &trace.Collector{}
				if err := Decode(context.Background(), bytes.NewReader(data), c.AddSource("bench"), c); err != nil {
					b.Fatal(err)
				}
				if len(c.Spans) != n {
					b.Fatalf("decoded %d spans", len(c.Spans))
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
			b.ReportMetric(float64(len(data))/n, "bytes/span")
		})
	}
}
