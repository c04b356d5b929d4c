package zipkin

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/openzipkin/zipkin-go/model"
	"github.com/tracesim/tracesim/trace"
)

func roundTrip(t *testing.T, spans []trace.Span) (*trace.Collector, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, spans); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	c, err := decodeBytes(t, "roundtrip", b.Bytes())
	if err != nil {
		t.Fatalf("Decode of Encode output: %v\n%s", err, b.Bytes())
	}
	return c, b.Bytes()
}

func expectSpans(t *testing.T, got, want []trace.Span) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d spans, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.Record = int32(i + 1)
		if got[i] != w {
			t.Errorf("span %d:\n got %s\nwant %s", i, goldenLine(&got[i]), goldenLine(&w))
		}
	}
}

func TestRoundTripGenerated(t *testing.T) {
	gen := genTraces(4000, 7)
	spans := make([]trace.Span, len(gen))
	for i := range gen {
		spans[i] = gen[i].span
	}
	c, _ := roundTrip(t, spans)
	expectSpans(t, c.Spans, spans)
	if len(c.Findings) != 0 {
		t.Errorf("findings on Encode output: %v", c.Findings[:min(5, len(c.Findings))])
	}
}

func TestRoundTripEdgeCases(t *testing.T) {
	tid := trace.TraceID{High: 0x0102030405060708, Low: 0x090a0b0c0d0e0f10}
	// Attributes: Decode maps an IP Instance's address to host.ip, so the
	// spans with one carry it; the others exercise the endpoint / tag split.
	spans := []trace.Span{
		{TraceID: tid, ID: 1, Service: "front end \"quoted\" \\ back", Name: "GET /a?b=c&d=\u00e9", Kind: trace.KindServer,
			Start: 1_600_000_000_000_000_000, Duration: 5_000, Instance: "10.1.2.3:8080",
			Attrs: trace.MakeAttrs("host.ip", "10.1.2.3", "http.route", "/a", "client.address", "10.9.9.9", "client.port", "51234")},
		{TraceID: tid, ID: 1, Service: "订单维护服务", Name: "个人信息查询", Kind: trace.KindServer, Flags: trace.FlagShared | trace.FlagError,
			Start: 1_600_000_000_000_001_000, Duration: 3_000, Instance: "[2001:db8::c001]:9000", Peer: "个人信息服务",
			Attrs: trace.MakeAttrs("host.ip", "2001:db8::c001", "network.peer.address", "2001:db8::1", "network.peer.port", "443")},
		{TraceID: trace.TraceID{Low: 42}, ID: 2, ParentID: 1, Service: "ctl\x01\t\n", Name: "", Kind: trace.KindProducer,
			Start: 1_600_000_000_000_002_000, Duration: 1_000, Instance: "[::1]",
			// A host.ip other than the Instance's, a peer address that is a
			// name and a port that is not canonical: all tags.
			Attrs: trace.MakeAttrs("host.ip", "10.0.0.1", "network.peer.address", "broker.local", "network.peer.port", "080",
				"messaging.system", "kafka", "messaging.destination.name", "orders")},
		{TraceID: tid, ID: 3, ParentID: 1, Service: trace.UnknownService, Name: "no service", Kind: trace.KindConsumer,
			Flags: trace.FlagNoService | trace.FlagNoStart | trace.FlagNoDuration},
		{TraceID: tid, ID: 4, ParentID: 1, Service: "svc", Name: "host instance", Kind: trace.KindInternal,
			Start: 1_600_000_000_000_003_000, Duration: 86_400_000_000_000, Instance: "host-7.example:80",
			Attrs: trace.MakeAttrs("host.name", "host-7.example", "host.ip", "10.0.0.7")},
		{TraceID: tid, ID: 5, ParentID: 1, Service: "svc", Name: "zoned and odd", Kind: trace.KindClient, Peer: "db",
			Start: 1_600_000_000_000_004_000, Duration: 2_000, Instance: "fe80::1%eth0",
			Attrs: trace.MakeAttrs("network.peer.address", "10.2.0.1", "network.peer.port", "5432", "db.system.name", "postgresql",
				"service.peer.name", "orders-db", "server.address", "db.internal", "server.port", "5432")},
		{TraceID: tid, ID: 6, ParentID: 1, Service: "svc", Name: "leading zero ip", Kind: trace.KindInternal,
			Start: 1_600_000_000_000_005_000, Duration: 2_000, Instance: "52.0.0.04:80", Flags: trace.FlagShared},
	}
	c, out := roundTrip(t, spans)
	expectSpans(t, c.Spans, spans)
	if len(c.Findings) != 0 {
		t.Errorf("findings: %v", c.Findings)
	}
	// The output is Zipkin's own v2 JSON: zipkin-go must read it too.
	var zs []model.SpanModel
	if err := json.Unmarshal(out, &zs); err != nil {
		t.Fatalf("zipkin-go cannot read Encode output: %v\n%s", err, out)
	}
	if len(zs) != len(spans) || zs[1].Shared != true || zs[1].Tags["error"] != "true" || zs[1].Kind != model.Server ||
		zs[0].LocalEndpoint.Port != 8080 || zs[3].LocalEndpoint != nil || !zs[3].Timestamp.IsZero() || zs[3].Duration != 0 ||
		zs[4].Tags["service.instance.id"] != "host-7.example:80" || zs[5].RemoteEndpoint.ServiceName != "db" ||
		zs[5].RemoteEndpoint.IPv4.String() != "10.2.0.1" || zs[5].RemoteEndpoint.Port != 5432 || zs[5].Tags["db.system.name"] != "postgresql" ||
		zs[1].RemoteEndpoint.IPv6.String() != "2001:db8::1" || zs[2].Tags["network.peer.port"] != "080" || zs[2].Tags["host.ip"] != "10.0.0.1" {
		t.Errorf("zipkin-go reads Encode output differently: %+v", zs)
	}
}

func TestEncodeLossyCases(t *testing.T) {
	spans := []trace.Span{
		// Sub-microsecond parts: start truncated, duration rounded up.
		{TraceID: trace.TraceID{Low: 1}, ID: 1, Service: "a", Kind: trace.KindUnspecified, Start: 1_000_000_999, Duration: 1},
		// Flags Zipkin cannot carry are dropped; a zero duration becomes "unknown".
		{TraceID: trace.TraceID{Low: 1}, ID: 2, Service: "a", Kind: trace.KindServer, Start: 2_000_000_000,
			Flags: trace.FlagOrphan | trace.FlagAsync | trace.FlagSkewAdjusted | trace.FlagFollowsFrom, SampleRate: 0.5},
	}
	c, _ := roundTrip(t, spans)
	want := []trace.Span{
		{TraceID: trace.TraceID{Low: 1}, ID: 1, Service: "a", Kind: trace.KindInternal, Start: 1_000_000_000, Duration: 1000, Record: 1},
		{TraceID: trace.TraceID{Low: 1}, ID: 2, Service: "a", Kind: trace.KindServer, Start: 2_000_000_000, Flags: trace.FlagNoDuration, Record: 2},
	}
	expectSpans(t, c.Spans, want)
}

// TestRoundTripFixtures re-encodes every decoded fixture: what the decoder
// made of real data must survive Encode unchanged.
func TestRoundTripFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			data, err := os.ReadFile(fixturePath(t, fx.dir, fx.name))
			if err != nil {
				t.Fatal(err)
			}
			c1, err := decodeBytes(t, fx.name, data)
			if err != nil {
				t.Fatal(err)
			}
			c2, _ := roundTrip(t, c1.Spans)
			expectSpans(t, c2.Spans, c1.Spans)
		})
	}
}

func TestEncodeEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := Encode(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[\n]\n" {
		t.Errorf("Encode(nil) = %q", b.String())
	}
	c := &trace.Collector{}
	if err := Decode(context.Background(), &b, c.AddSource("x"), c); err != nil || len(c.Spans) != 0 {
		t.Errorf("Decode of empty array: %v, %d spans", err, len(c.Spans))
	}
}

// TestLinesAcrossBufferRefills decodes newline-delimited spans well past
// the scanner's 256 KiB buffer, so that objects straddle refills.
func TestLinesAcrossBufferRefills(t *testing.T) {
	gen := genTraces(4000, 3)
	var data []byte
	want := make([]trace.Span, len(gen))
	for i := range gen {
		data = appendSpan(data, &gen[i].span, gen[i].tags)
		data = append(data, '\n')
		want[i] = gen[i].span
	}
	c, err := decodeBytes(t, "lines", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Findings) != 0 {
		t.Fatalf("findings: %v", c.Findings[:min(3, len(c.Findings))])
	}
	expectSpans(t, c.Spans, want)
}

// TestKeyAtBufferBoundary puts the end of a key exactly at the scanner's
// first 256 KiB refill: a key read with jsonscan's NextKey is clobbered
// there when the ':' is fetched, so the decoder must not rely on it.
func TestKeyAtBufferBoundary(t *testing.T) {
	first := span("01", "")
	second := span("02", "")
	cut := strings.Index(second, `"id"`) + len(`"id"`) // just after the key's closing quote
	const boundary = 256 << 10
	for _, shift := range []int{-1, 0, 1} {
		pad := boundary - len(first) - 1 - cut + shift
		// The trailing blanks make the refill large enough to overwrite
		// the old end of the buffer, where the key was.
		in := first + "\n" + strings.Repeat(" ", pad) + second + "\n" + strings.Repeat(" ", 300<<10) + "\n"
		c, err := decodeBytes(t, "x", []byte(in))
		if err != nil || len(c.Spans) != 2 || len(c.Findings) != 0 || c.Spans[1].ID != 2 {
			t.Errorf("shift %d: %v, %d spans, findings %v", shift, err, len(c.Spans), c.Findings)
		}
	}
}

func TestSplitInstance(t *testing.T) {
	tests := []struct {
		in       string
		ip4, ip6 string
		port     int
		ok       bool
	}{
		{"10.0.0.1", "10.0.0.1", "", 0, true},
		{"10.0.0.1:8080", "10.0.0.1", "", 8080, true},
		{"[2001:db8::1]", "", "2001:db8::1", 0, true},
		{"[::1]:9", "", "::1", 9, true},
		{"::1", "", "", 0, false},            // the decoder would write "[::1]"
		{"10.0.0.1:080", "", "", 0, false},   // not canonical
		{"10.0.0.1:+80", "", "", 0, false},   // not canonical
		{"10.0.0.1:0", "", "", 0, false},     // port 0 is "no port" in Zipkin
		{"10.0.0.1:70000", "", "", 0, false}, // out of range
		{"[10.0.0.1]", "", "", 0, false},     // IPv4 in brackets
		{"[fe80::1%eth0]", "", "", 0, false}, // zones do not exist in Zipkin
		{"52.0.0.04", "", "", 0, false},      // leading zeros: not an IP to Go
		{"host-1:80", "", "", 0, false},
		{"[::1", "", "", 0, false},
		{"", "", "", 0, false},
	}
	for _, tc := range tests {
		ip4, ip6, port, ok := splitInstance(tc.in)
		if ip4 != tc.ip4 || ip6 != tc.ip6 || port != tc.port || ok != tc.ok {
			t.Errorf("splitInstance(%q) = %q, %q, %d, %v", tc.in, ip4, ip6, port, ok)
		}
	}
}
