package trace

import "testing"

func TestParseIDs(t *testing.T) {
	for in, want := range map[string]SpanID{"1": 1, "00ff": 255, "FFFFFFFFFFFFFFFF": ^SpanID(0), "a0dc23f22c4fee3f": 0xa0dc23f22c4fee3f} {
		if got, ok := ParseHexSpanID(in); !ok || got != want {
			t.Errorf("ParseHexSpanID(%q) = %x, %v; want %x", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "g", "12345678901234567", "span-2_1", "0x12", " 1"} {
		if _, ok := ParseHexSpanID(bad); ok {
			t.Errorf("ParseHexSpanID(%q) accepted", bad)
		}
	}
	id, ok := ParseHexTraceID("463ac35c9f6413ad48485a3953bb6124")
	if !ok || id.High != 0x463ac35c9f6413ad || id.Low != 0x48485a3953bb6124 || id.String() != "463ac35c9f6413ad48485a3953bb6124" {
		t.Errorf("128-bit id: %v %v", id, ok)
	}
	id, ok = ParseHexTraceID("f8bd8e4fe4fbde5a9d79c9bb0f29d6b") // 31 chars: Jaeger dropped a leading zero
	if !ok || id.High != 0x0f8bd8e4fe4fbde5 {
		t.Errorf("31-char id: %v %v", id, ok)
	}
	if _, ok := ParseHexTraceID("463ac35c9f6413ad48485a3953bb61240"); ok {
		t.Error("33-char trace id accepted")
	}
	if a, b := HashSpanID("span-2_1"), HashSpanID("span-2_1"); a != b || a == 0 {
		t.Error("HashSpanID not stable")
	}
	for in, want := range map[string]Kind{"SERVER": KindServer, "SPAN_KIND_CLIENT": KindClient, "producer": KindProducer, "local": KindInternal} {
		if got, ok := ParseKind(in); !ok || got != want {
			t.Errorf("ParseKind(%q) = %v", in, got)
		}
	}
}
