// Package trace holds the format-neutral span and trace types that every
// decoder produces and every later stage consumes, and Assemble, which turns
// a flat list of spans into trees of traces while repairing what real
// tracers get wrong (shared Zipkin ids, clock skew, orphans, duplicates).
//
// Times are int64 nanoseconds since the Unix epoch and durations int64
// nanoseconds: OTLP timestamps do not fit in a float64, and Zipkin/Jaeger
// microseconds convert exactly.
package trace

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// TraceID is a 128-bit trace id. 64-bit ids have High == 0.
type TraceID struct {
	High, Low uint64
}

// IsZero reports whether the id is all zeros (an invalid id).
func (t TraceID) IsZero() bool { return t.High == 0 && t.Low == 0 }

// String returns the id as lower-case hex: 16 characters for a 64-bit id,
// 32 for a 128-bit one.
func (t TraceID) String() string {
	if t.High == 0 {
		return fmt.Sprintf("%016x", t.Low)
	}
	return fmt.Sprintf("%016x%016x", t.High, t.Low)
}

// SpanID is a 64-bit span id. Zero means "none" (for example no parent).
type SpanID uint64

// String returns the id as 16 lower-case hex characters.
func (s SpanID) String() string { return fmt.Sprintf("%016x", uint64(s)) }

// Kind is the role of a span in an RPC or message exchange.
type Kind uint8

// Span kinds, as OpenTelemetry defines them. Zipkin spans without a kind are
// local (in-process) spans and map to KindInternal; OTLP's "unspecified"
// stays KindUnspecified.
const (
	KindUnspecified Kind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the lower-case kind name ("server", "client", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind maps a kind name in any of the spellings tracers use ("SERVER",
// "server", "SPAN_KIND_SERVER") to a Kind. Unknown names give false.
func ParseKind(s string) (Kind, bool) {
	s = strings.ToLower(strings.TrimPrefix(strings.ToUpper(s), "SPAN_KIND_"))
	for i, n := range kindNames {
		if s == n {
			return Kind(i), true
		}
	}
	if s == "local" {
		return KindInternal, true
	}
	return KindUnspecified, false
}

// Flags are facts about a span that decoders and Assemble record.
type Flags uint16

const (
	// FlagError marks a span that failed (Zipkin/Jaeger "error" tag, OTLP
	// status ERROR).
	FlagError Flags = 1 << iota
	// FlagShared marks the server half of a Zipkin client/server pair that
	// reuses the client's span id.
	FlagShared
	// FlagFollowsFrom marks a span whose parent link is causal but not
	// blocking (Jaeger FOLLOWS_FROM).
	FlagFollowsFrom
	// FlagAsync is set by Assemble on spans that do not block their parent:
	// FOLLOWS_FROM links, consumers of a producer, and children that end
	// after their parent ends.
	FlagAsync
	// FlagNoStart marks a span whose start time was missing and was
	// derived or left at zero.
	FlagNoStart
	// FlagNoDuration marks a span whose duration was missing (Zipkin
	// spans still in flight, or reported without timing).
	FlagNoDuration
	// FlagNoService marks a span without a service name; Service then holds
	// a placeholder.
	FlagNoService
	// FlagSkewAdjusted is set by Assemble on spans it shifted in time to
	// correct clock skew between hosts.
	FlagSkewAdjusted
	// FlagOrphan is set by Assemble on spans whose parent is not in the
	// input; they become extra roots.
	FlagOrphan
)

// UnknownService is the placeholder service name for spans that carry none.
const UnknownService = "unknown-service"

// Span is one timed operation in one service, as every format decodes to.
//
// Keep this struct small: a million-span trace is a million of these. It
// is 136 bytes on 64-bit machines: 128 before Attrs, which costs 8 (one
// pointer; a uint32 index into a side table would cost the same after
// alignment, and would tie every span to its table).
type Span struct {
	TraceID  TraceID
	ID       SpanID
	ParentID SpanID // 0 for a root

	Service string // the service that reported the span (placeholder if missing)
	Name    string // operation name
	// Peer is the remote service as the format's own remote-endpoint field
	// names it: Zipkin's remoteEndpoint.serviceName (v1: the "sa", "ca" or
	// "ma" endpoint's serviceName). OTLP and Jaeger have no such field;
	// their peer attributes (peer.service, db.system, ...) are in Attrs.
	// Spans tracesim itself writes (simulate, whatif) set it to the
	// callee's service. To name the callee of a call, use Trace.PeerName,
	// which weighs this against the attributes.
	Peer string
	// Instance identifies the process or host that reported the span
	// (service.instance.id, host name, IP), used for clock-skew correction
	// and counting instances. Empty when unknown.
	Instance string
	// Attrs holds the span's kept attributes (see AttrKey), its resource's
	// or process's merged in under its own.
	Attrs Attrs

	Start    int64 // Unix nanoseconds
	Duration int64 // nanoseconds

	// SampleRate is the head-sampling probability the tracer reported
	// (Jaeger sampler.param for probabilistic samplers), 0 when unknown.
	SampleRate float32

	// Source indexes the input file list the span came from (see
	// Collector.Sources); Record is the span's position in that file
	// (1-based span index, or line for line-oriented formats), used in
	// findings and errors.
	Source uint16
	Kind   Kind
	Flags  Flags
	Record int32
}

// End returns the span's end time in Unix nanoseconds.
func (s *Span) End() int64 { return s.Start + s.Duration }

// Has reports whether all flags in f are set.
func (s *Span) Has(f Flags) bool { return s.Flags&f == f }

// Endpoint returns "service/operation", the name by which tracesim refers to
// an operation everywhere.
func (s *Span) Endpoint() string { return s.Service + "/" + s.Name }

// ParseHexTraceID parses a 1-32 character hex trace id. Jaeger drops leading
// zeros, so shorter ids are valid and are left-padded.
func ParseHexTraceID(s string) (TraceID, bool) {
	if len(s) == 0 || len(s) > 32 {
		return TraceID{}, false
	}
	var buf [32]byte
	for i := range buf {
		buf[i] = '0'
	}
	copy(buf[32-len(s):], s)
	var raw [16]byte
	if _, err := hex.Decode(raw[:], buf[:]); err != nil {
		return TraceID{}, false
	}
	return TraceID{High: be64(raw[:8]), Low: be64(raw[8:])}, true
}

// ParseHexSpanID parses a 1-16 character hex span id (left-padded).
func ParseHexSpanID(s string) (SpanID, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var v uint64
	bad := byte(0)
	for i := 0; i < len(s); i++ {
		d := hexVal[s[i]]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	if bad&0x80 != 0 {
		return 0, false
	}
	return SpanID(v), true
}

// hexVal maps a byte to its hex digit value, or 0x80 for a non-hex byte.
// A table lookup per byte with one check at the end is several times
// faster than a branch per byte on random ids.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x80
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// HashTraceID maps an id that is not hex (hand-made files use "trace-123")
// to a stable TraceID, so that references between such ids still match.
func HashTraceID(s string) TraceID {
	return TraceID{High: fnv64(s, 0x9e3779b97f4a7c15), Low: fnv64(s, 0)}
}

// HashSpanID maps a non-hex span id to a stable, non-zero SpanID.
func HashSpanID(s string) SpanID {
	h := fnv64(s, 0)
	if h == 0 {
		h = 1
	}
	return SpanID(h)
}

func fnv64(s string, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
