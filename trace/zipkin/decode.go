// Package zipkin reads and writes Zipkin JSON spans, both the v2 model
// (/api/v2/spans, /api/v2/traces) and the legacy v1 model with annotations
// and binary annotations, and turns them into trace.Span.
//
// Zipkin's quirks stay inside this package: microsecond times, 64- or
// 128-bit ids, spans without a service or timing, client and server halves
// that share one span id (the server half marked "shared"), and v1 spans
// whose role and timing must be read from core annotations. The decoder
// streams: it walks the document with jsonscan and parses one span object
// at a time, so a file of millions of spans is never held in memory (v1
// spans excepted, see v1.go).
package zipkin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/trace"
	"github.com/valyala/fastjson"
)

// ErrFormat is wrapped by the error Decode returns when the input is JSON
// but not Zipkin JSON, so that a caller sniffing formats can try another.
var ErrFormat = errors.New("not Zipkin JSON")

// maxDuration is the longest span duration accepted: a longer one is a unit
// mistake (nanoseconds written as microseconds) or garbage, and would
// dominate any latency distribution it entered.
const maxDuration = 24 * 60 * 60 * 1e9 // ns

// ctxEvery is how many records are read between checks for cancellation.
const ctxEvery = 4096

// Decode reads one input in Zipkin JSON (v2 or v1) from r and appends every
// span to c.Spans with Source: src.
//
// Accepted shapes: an array of spans, an array of arrays of spans (one per
// trace or per reported batch), a bare span object, and a sequence of
// top-level span objects or arrays (newline-delimited spans). Whether a span
// object is v1 or v2 is decided per object, as Zipkin's own detector does;
// v1 objects are merged by (traceId, id) and their spans appended after
// the input's v2 spans, at the end of the input.
//
// Records it cannot use are reported with c.Skip and decoding continues;
// repaired-but-kept records get c.Note. Structural failures (malformed or
// truncated JSON, a document that is not Zipkin JSON, empty input) end
// decoding with an error naming the span number and line; spans read before
// the failure stay in c.
func Decode(ctx context.Context, r io.Reader, src uint16, c *trace.Collector) error {
	if c == nil {
		return errors.New("zipkin: nil Collector")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// The bufio.Reader only serves the sniffed window: after it the
	// scanner's large reads go straight to r.
	br := bufio.NewReaderSize(r, sniffWindow)
	if err := sniff(br); err != nil {
		return err
	}
	d := &decoder{ctx: ctx, sc: jsonscan.New(br), src: src, c: c}
	if int(src) < len(c.Sources) {
		d.srcName = c.Sources[src]
	} else {
		d.srcName = "source " + strconv.Itoa(int(src))
	}
	d.visit = d.visitSpanKey
	d.visitTag = d.visitTagKey
	err := d.run()
	// v1 spans held back for merging are spans "decoded before the
	// failure" too: hand them over even when reading stopped early.
	d.flushV1()
	return err
}

type decoder struct {
	ctx     context.Context
	sc      *jsonscan.Scanner
	p       fastjson.Parser
	c       *trace.Collector
	src     uint16
	srcName string

	rec     int // 1-based number of the record being decoded
	recLine int // line where that record starts
	values  int // top-level values seen

	f        spanFields
	pend     pending                             // repairs to note once the span is kept
	visit    func(key []byte, v *fastjson.Value) // bound once: no closure per span
	visitTag func(key []byte, v *fastjson.Value) // likewise, for tags
	buf      []byte                              // scratch for instance names

	// The span's tags as visitTag reads them.
	attrs   trace.AttrBuilder
	tagErr  bool
	tagInst []byte // service.instance.id

	v1 v1State
}

// pending collects the repairs made to the current span; they become
// findings only if the span is kept, so a skipped span gets one finding.
type pending uint8

const (
	pendNonHex pending = 1 << iota
	pendSelfParent
	pendTimestampString
	pendDurationString
	pendSharedClient
)

// spanFields holds the members of the span object being decoded. Only one
// pass over the object's keys is made.
type spanFields struct {
	traceID, id, parentID, name, kind *fastjson.Value
	timestamp, duration               *fastjson.Value
	local, remote, tags, shared       *fastjson.Value
	annotations, binaryAnnotations    *fastjson.Value
	known                             bool // at least one Zipkin span member
}

func (d *decoder) visitSpanKey(key []byte, v *fastjson.Value) {
	f := &d.f
	switch string(key) {
	case "traceId":
		f.traceID = v
	case "id":
		f.id = v
	case "parentId":
		f.parentID = v
	case "name":
		f.name = v
	case "kind":
		f.kind = v
	case "timestamp":
		f.timestamp = v
	case "duration":
		f.duration = v
	case "localEndpoint":
		f.local = v
	case "remoteEndpoint":
		f.remote = v
	case "tags":
		f.tags = v
	case "shared":
		f.shared = v
	case "annotations":
		f.annotations = v
	case "binaryAnnotations":
		f.binaryAnnotations = v
	case "debug", "traceIdHigh":
	default:
		return
	}
	f.known = true
}

func (d *decoder) run() error {
	for {
		ch, err := d.sc.Peek()
		if err != nil {
			return fmt.Errorf("zipkin: %w", err)
		}
		if ch == 0 {
			if d.values == 0 {
				return fmt.Errorf("zipkin: empty input: %w: expected an array of spans, an array of arrays of spans, or span objects", ErrFormat)
			}
			return nil
		}
		d.values++
		switch ch {
		case '[':
			err = d.array(0)
		case '{':
			err = d.topObject()
		default:
			return fmt.Errorf("zipkin: line %d (byte %d): %w: expected '[' or '{' to start a span array or span object, found %s",
				d.sc.Line(), d.sc.Offset(), ErrFormat, describeByte(ch))
		}
		if err != nil {
			return err
		}
	}
}

// array reads a span array; at depth 0 its elements may themselves be span
// arrays (/api/v2/traces answers and v1 batches).
func (d *decoder) array(depth int) error {
	if err := d.sc.BeginArray(); err != nil {
		return d.wrapSyntax(err)
	}
	for {
		more, err := d.sc.NextElem()
		if err != nil {
			return d.wrapSyntax(err)
		}
		if !more {
			return nil
		}
		ch, err := d.sc.Peek()
		if err != nil {
			return d.wrapSyntax(err)
		}
		switch {
		case ch == '{':
			if err := d.beginRecord(); err != nil {
				return err
			}
			raw, err := d.sc.Raw()
			if err != nil {
				return d.recordErr(err)
			}
			if err := d.record(raw); err != nil {
				return err
			}
		case ch == '[' && depth == 0:
			if err := d.array(1); err != nil {
				return err
			}
		default:
			if err := d.beginRecord(); err != nil {
				return err
			}
			what := "a nested array"
			if ch != '[' {
				what = "a " + jsonKind(ch)
			}
			if err := d.sc.Skip(); err != nil {
				return d.recordErr(err)
			}
			if err := d.notSpan(what, nil); err != nil {
				return err
			}
		}
	}
}

// topObject reads a span object that is not inside an array (a bare span,
// or one line of newline-delimited spans).
func (d *decoder) topObject() error {
	if err := d.beginRecord(); err != nil {
		return err
	}
	raw, err := d.sc.Raw()
	if err != nil {
		return d.recordErr(err)
	}
	return d.record(raw)
}

// sniffWindow is how much of the input is looked at before decoding, to
// reject another format's document by its keys instead of reading a
// million-span Jaeger or OTLP object into memory as one "span".
const sniffWindow = 16 << 10

// sniff looks at the start of the input: if it is an object with a key of
// another trace format at its top level, that is an error.
func sniff(br *bufio.Reader) error {
	b, _ := br.Peek(sniffWindow) // a short input is fine: b holds all of it
	depth, line := 0, 1
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\n':
			line++
		case '{', '[':
			if depth == 0 && c == '[' {
				return nil // arrays are checked span by span
			}
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return nil
			}
		case '"':
			start := i + 1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return nil
			}
			if depth != 1 {
				continue
			}
			key := b[start:i]
			k := i + 1
			for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r' || b[k] == '\n') {
				k++
			}
			if k < len(b) && b[k] == ':' {
				if hint := foreignKey(key); hint != "" {
					return fmt.Errorf("zipkin: span 1: line %d: %w: found key %q (%s); expected a span array or span objects with \"traceId\" and \"id\"",
						line, ErrFormat, key, hint)
				}
			}
		default:
			if depth == 0 && c != ' ' && c != '\t' && c != '\r' {
				return nil // not an object: run() reports it
			}
		}
	}
	return nil
}

func (d *decoder) beginRecord() error {
	d.rec++
	d.recLine = d.sc.Line()
	if d.rec%ctxEvery == 0 {
		if err := d.ctx.Err(); err != nil {
			return fmt.Errorf("zipkin: span %d: %w", d.rec, err)
		}
	}
	return nil
}

// wrapSyntax names the span that would come next: the error is between
// records. recordErr names the one being read.
func (d *decoder) wrapSyntax(err error) error {
	return fmt.Errorf("zipkin: span %d: %w", d.rec+1, err)
}

func (d *decoder) recordErr(err error) error {
	return fmt.Errorf("zipkin: span %d: %w", d.rec, err)
}

// record decodes one span object. It returns an error only when the input
// turns out not to be Zipkin at all; bad spans are skipped.
func (d *decoder) record(raw []byte) error {
	v, err := d.p.ParseBytes(raw)
	if err != nil {
		d.skip("bad json", "%s", shorten(err.Error()))
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return d.notSpan("a "+v.Type().String(), nil)
	}
	d.f = spanFields{}
	d.pend = 0
	o.Visit(d.visit)
	if !d.f.known {
		return d.notSpan("an object without Zipkin span fields", o)
	}
	if d.isV1() {
		d.v1Record()
		return nil
	}
	d.v2Span()
	return nil
}

// notSpan handles a record that is no span at all: on the first record the
// whole input is taken to be some other format, later it is skipped.
func (d *decoder) notSpan(what string, o *fastjson.Object) error {
	if d.rec > 1 {
		d.skip("not a span", "found %s, expected a Zipkin span object", what)
		return nil
	}
	var keys []string
	hint := ""
	o.Visit(func(k []byte, _ *fastjson.Value) {
		if h := foreignKey(k); h != "" && hint == "" {
			hint = "; " + h
		}
		if len(keys) < 6 {
			keys = append(keys, strconv.Quote(string(k)))
		}
	})
	found := what
	if len(keys) > 0 {
		found += " (keys " + strings.Join(keys, ", ") + hint + ")"
	}
	return fmt.Errorf("zipkin: span 1: line %d: %w: found %s; expected a span object with \"traceId\" and \"id\", in an array, an array of arrays, or alone",
		d.recLine, ErrFormat, found)
}

// foreignKey recognises the top-level keys of the other trace formats, to
// say what a misrouted file probably is.
func foreignKey(k []byte) string {
	switch string(k) {
	case "data", "traceID", "spanID", "processes", "spans", "operationName":
		return "this looks like Jaeger JSON"
	case "resourceSpans", "resource_spans", "batches", "scopeSpans":
		return "this looks like OTLP JSON"
	}
	return ""
}

// isV1 follows Zipkin's own detection: v2-only members win, then v1-only
// ones (binary annotations, endpoints on annotations); a span with neither
// reads the same either way.
func (d *decoder) isV1() bool {
	f := &d.f
	if f.local != nil || f.remote != nil || f.kind != nil || f.tags != nil || f.shared != nil {
		return false
	}
	if f.binaryAnnotations != nil {
		return true
	}
	if f.annotations == nil {
		return false
	}
	anns, err := f.annotations.Array()
	if err != nil {
		return false
	}
	for _, a := range anns {
		if ao, err := a.Object(); err == nil && ao.Get("endpoint") != nil {
			return true
		}
	}
	return false
}

func (d *decoder) v2Span() {
	f := &d.f
	var s trace.Span
	var ok bool
	if s.TraceID, s.ID, s.ParentID, ok = d.ids(); !ok {
		return
	}
	s.Source = d.src
	s.Record = int32(d.rec)

	start, ok := d.micros(f.timestamp, "bad timestamp", "timestamp", pendTimestampString)
	if !ok {
		return
	}
	dur, ok := d.micros(f.duration, "bad duration", "duration", pendDurationString)
	if !ok {
		return
	}
	if !d.checkTimes(start, dur) {
		return
	}
	s.Start, s.Duration = start, dur
	if start == 0 {
		s.Flags |= trace.FlagNoStart
	}
	if dur == 0 {
		// Zipkin omits a zero duration: it means "not known" (a span still
		// in flight, or one reported without its end).
		s.Flags |= trace.FlagNoDuration
	}

	if f.name != nil {
		if b, err := f.name.StringBytes(); err == nil {
			s.Name = d.c.Intern(b)
		}
	}
	s.Kind = d.kind(f.kind)

	// Tags first: an attribute given as a tag wins over one mapped from an
	// endpoint (as OpenTelemetry's Zipkin mapping lets an explicit
	// peer.service tag win over remoteEndpoint).
	d.attrs.Reset()
	d.tagErr, d.tagInst = false, nil
	if f.tags != nil {
		if tags, err := f.tags.Object(); err == nil {
			tags.Visit(d.visitTag)
		}
	}
	if d.tagErr {
		s.Flags |= trace.FlagError
	}

	if f.local != nil {
		if le, err := f.local.Object(); err == nil {
			s.Service = d.str(le.Get("serviceName"))
			s.Instance = d.instance(le)
			d.endpointIP(le, trace.AttrHostIP)
		}
	}
	if s.Instance == "" && len(d.tagInst) > 0 {
		// OpenTelemetry's Zipkin exporter copies resource attributes into
		// tags; Encode writes non-IP instances the same way.
		s.Instance = d.c.Intern(d.tagInst)
	}
	if s.Service == "" {
		s.Service = trace.UnknownService
		s.Flags |= trace.FlagNoService
	}
	if f.remote != nil {
		if re, err := f.remote.Object(); err == nil {
			s.Peer = d.str(re.Get("serviceName"))
			d.endpointIP(re, trace.AttrNetworkPeerAddress)
			if v := re.Get("port"); v != nil {
				if p, err := v.Int(); err == nil && p > 0 && p <= 0xffff {
					d.attrs.SetInt(trace.AttrNetworkPeerPort, int64(p))
				}
			}
		}
	}
	s.Attrs = d.c.Attrs(&d.attrs)

	if f.shared != nil && f.shared.Type() == fastjson.TypeTrue {
		if s.Kind == trace.KindClient {
			// As Zipkin does: only the callee's half can be the shared one.
			d.pend |= pendSharedClient
		} else {
			s.Flags |= trace.FlagShared
		}
	}
	d.c.Spans = append(d.c.Spans, s)
	d.flushNotes()
}

func (d *decoder) flushNotes() {
	p := d.pend
	if p == 0 {
		return
	}
	d.pend = 0
	if p&pendNonHex != 0 {
		d.note("non-hex id", "an id is not hex; it was mapped to a stable hash")
	}
	if p&pendSelfParent != 0 {
		d.note("self parent", "parentId equals id; the span was made a root")
	}
	if p&pendTimestampString != 0 {
		d.note("number as string", "timestamp is a string of digits; read as a number")
	}
	if p&pendDurationString != 0 {
		d.note("number as string", "duration is a string of digits; read as a number")
	}
	if p&pendSharedClient != 0 {
		d.note("shared client", "\"shared\": true on a CLIENT span; the flag was dropped (only a server half can be shared)")
	}
}

// ids reads traceId, id and parentId. A parent equal to the span's own id is
// dropped, as Zipkin does, so that no span is its own parent.
func (d *decoder) ids() (tid trace.TraceID, id, parent trace.SpanID, ok bool) {
	f := &d.f
	var h1, h2, h3 bool
	if tid, h1, ok = d.traceID(f.traceID); !ok {
		return
	}
	if id, h2, ok = d.spanID(f.id, "id", false); !ok {
		return
	}
	if parent, h3, ok = d.spanID(f.parentID, "parentId", true); !ok {
		return
	}
	if parent == id {
		parent = 0
		d.pend |= pendSelfParent
	}
	if h1 || h2 || h3 {
		d.pend |= pendNonHex
	}
	return tid, id, parent, true
}

func (d *decoder) traceID(v *fastjson.Value) (trace.TraceID, bool, bool) {
	b, ok := d.idBytes(v, "traceId", false)
	if !ok || b == nil {
		return trace.TraceID{}, false, false
	}
	var t trace.TraceID
	hexOK := len(b) <= 32
	if len(b) <= 16 {
		t.Low, hexOK = parseHex64(b)
	} else if hexOK {
		var okH, okL bool
		t.High, okH = parseHex64(b[:len(b)-16])
		t.Low, okL = parseHex64(b[len(b)-16:])
		hexOK = okH && okL
	}
	if !hexOK {
		if len(b) > 32 && isHex(b) {
			d.skip("bad id", "traceId %q has %d hex digits, expected 16 or 32", shorten(string(b)), len(b))
			return trace.TraceID{}, false, false
		}
		return trace.HashTraceID(string(b)), true, true
	}
	if t.IsZero() {
		d.skip("bad id", "traceId is all zeros, expected a non-zero id")
		return t, false, false
	}
	return t, false, true
}

// spanID reads id or parentId. An absent, empty or all-zero parentId means
// a root.
func (d *decoder) spanID(v *fastjson.Value, field string, parent bool) (trace.SpanID, bool, bool) {
	b, ok := d.idBytes(v, field, parent)
	if !ok {
		return 0, false, false
	}
	if b == nil {
		return 0, false, true
	}
	u, hexOK := parseHex64(b)
	if !hexOK {
		if len(b) > 16 && isHex(b) {
			d.skip("bad id", "%s %q has %d hex digits, expected 16", field, shorten(string(b)), len(b))
			return 0, false, false
		}
		return trace.HashSpanID(string(b)), true, true
	}
	id := trace.SpanID(u)
	if id == 0 && !parent {
		d.skip("bad id", "id is all zeros, expected a non-zero id")
		return 0, false, false
	}
	return id, false, true
}

// idBytes returns the id string, nil for an allowed absence, or ok == false
// after skipping the span.
func (d *decoder) idBytes(v *fastjson.Value, field string, optional bool) ([]byte, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		if optional {
			return nil, true
		}
		d.skip("bad id", "no %s, expected a hex string", field)
		return nil, false
	}
	b, err := v.StringBytes()
	if err != nil {
		d.skip("bad id", "%s is a %s, expected a hex string", field, v.Type())
		return nil, false
	}
	if len(b) == 0 {
		if optional {
			return nil, true
		}
		d.skip("bad id", "%s is empty, expected a hex string", field)
		return nil, false
	}
	return b, true
}

// parseHex64 parses 1-16 hex digits (shorter ids are left-padded, as
// trace.ParseHexSpanID does) in one pass over the bytes.
func parseHex64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// micros converts a Zipkin microsecond value to nanoseconds. Absent, null
// and zero all mean "unknown" (0). ok == false means the span was skipped.
// asString is the repair to note when the number came quoted.
func (d *decoder) micros(v *fastjson.Value, reason, field string, asString pending) (int64, bool) {
	if v == nil {
		return 0, true
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return 0, true
	case fastjson.TypeNumber:
		if us, err := v.Int64(); err == nil {
			return d.scaleMicros(us, reason, field)
		}
		fl, err := v.Float64()
		if err != nil || math.IsNaN(fl) || math.IsInf(fl, 0) {
			d.skip(reason, "%s is %s, expected microseconds as a JSON number", field, shorten(v.String()))
			return 0, false
		}
		if fl < 0 {
			d.skip(reason, "%s is %s, expected a non-negative number of microseconds", field, shorten(v.String()))
			return 0, false
		}
		// Some tracers write fractional microseconds; keep the extra
		// precision rather than refuse the span.
		ns := math.Round(fl * 1000)
		if ns >= math.MaxInt64 {
			d.skip(reason, "%s is %s µs, too large for nanoseconds since 1970 (expected microseconds, not nanoseconds)", field, shorten(v.String()))
			return 0, false
		}
		return int64(ns), true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		us, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			d.skip(reason, "%s is the string %q, expected microseconds as a JSON number", field, shorten(string(b)))
			return 0, false
		}
		d.pend |= asString
		return d.scaleMicros(us, reason, field)
	default:
		d.skip(reason, "%s is a %s, expected microseconds as a JSON number", field, v.Type())
		return 0, false
	}
}

func (d *decoder) scaleMicros(us int64, reason, field string) (int64, bool) {
	if us < 0 {
		d.skip(reason, "%s is %d, expected a non-negative number of microseconds", field, us)
		return 0, false
	}
	if us > math.MaxInt64/1000 {
		d.skip(reason, "%s is %d µs, too large for nanoseconds since 1970 (expected microseconds, not nanoseconds)", field, us)
		return 0, false
	}
	return us * 1000, true
}

// checkTimes rejects absurd durations and spans that end past what int64
// nanoseconds can hold.
func (d *decoder) checkTimes(start, dur int64) bool {
	if dur > maxDuration {
		d.skip("bad duration", "duration is %d µs (%.1f h), expected at most 24 h", dur/1000, float64(dur)/3.6e12)
		return false
	}
	if start > math.MaxInt64-dur {
		d.skip("bad timestamp", "timestamp %d µs plus duration overflows, expected a Unix time in microseconds", start/1000)
		return false
	}
	return true
}

func (d *decoder) kind(v *fastjson.Value) trace.Kind {
	if v == nil || v.Type() == fastjson.TypeNull {
		return trace.KindInternal // Zipkin: no kind means a local span
	}
	b, err := v.StringBytes()
	if err != nil {
		d.note("unknown kind", "kind is a %s, expected CLIENT, SERVER, PRODUCER or CONSUMER; read as a local span", v.Type())
		return trace.KindInternal
	}
	switch string(b) {
	case "CLIENT":
		return trace.KindClient
	case "SERVER":
		return trace.KindServer
	case "PRODUCER":
		return trace.KindProducer
	case "CONSUMER":
		return trace.KindConsumer
	case "":
		return trace.KindInternal
	}
	k, ok := trace.ParseKind(string(b))
	if !ok {
		d.note("unknown kind", "kind %q, expected CLIENT, SERVER, PRODUCER or CONSUMER; read as a local span", shorten(string(b)))
		return trace.KindInternal
	}
	if k == trace.KindUnspecified {
		k = trace.KindInternal
	}
	return k
}

func (d *decoder) str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	b, err := v.StringBytes()
	if err != nil || len(b) == 0 {
		return ""
	}
	return d.c.Intern(b)
}

// visitTagKey reads one tag: the error mark, the instance Encode writes
// for non-IP instances, and the kept attributes.
func (d *decoder) visitTagKey(key []byte, v *fastjson.Value) {
	switch string(key) {
	case "error":
		d.tagErr = true
		return
	case "service.instance.id":
		d.tagInst, _ = v.StringBytes()
		return
	}
	if k, ok := trace.LookupAttrKey(key); ok {
		setAttr(&d.attrs, k, v)
	}
}

// setAttr sets a kept attribute from a JSON value: tag values are strings,
// but some tracers write numbers and booleans.
func setAttr(b *trace.AttrBuilder, k trace.AttrKey, v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		b.Set(k, s)
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			b.SetInt(k, n)
		} else if f, err := v.Float64(); err == nil {
			b.SetFloat(k, f)
		}
	case fastjson.TypeTrue:
		b.SetBool(k, true)
	case fastjson.TypeFalse:
		b.SetBool(k, false)
	}
}

// endpointIP sets key k to the endpoint's ipv4, else its ipv6 address.
func (d *decoder) endpointIP(ep *fastjson.Object, k trace.AttrKey) {
	for _, name := range [...]string{"ipv4", "ipv6"} {
		if v := ep.Get(name); v != nil {
			if b, err := v.StringBytes(); err == nil && len(b) > 0 {
				d.attrs.Set(k, b)
				return
			}
		}
	}
}

// instance names the reporting process by its address: ipv4 (else
// "[ipv6]") plus ":port" when a port is known. Zipkin treats port 0 as
// absent.
func (d *decoder) instance(ep *fastjson.Object) string {
	d.buf = d.buf[:0]
	if v := ep.Get("ipv4"); v != nil {
		if b, err := v.StringBytes(); err == nil && len(b) > 0 {
			d.buf = append(d.buf, b...)
		}
	}
	if len(d.buf) == 0 {
		if v := ep.Get("ipv6"); v != nil {
			if b, err := v.StringBytes(); err == nil && len(b) > 0 {
				d.buf = append(d.buf, '[')
				d.buf = append(d.buf, b...)
				d.buf = append(d.buf, ']')
			}
		}
	}
	if len(d.buf) == 0 {
		return ""
	}
	if v := ep.Get("port"); v != nil {
		if p, err := v.Int(); err == nil && p > 0 && p <= 0xffff {
			d.buf = append(d.buf, ':')
			d.buf = strconv.AppendInt(d.buf, int64(p), 10)
		}
	}
	return d.c.Intern(d.buf)
}

func (d *decoder) skip(reason, format string, args ...any) {
	d.c.Skip(d.srcName, d.rec, reason, d.detail(format, args))
}

func (d *decoder) note(reason, format string, args ...any) {
	d.c.Note(d.srcName, d.rec, reason, d.detail(format, args))
}

// detail formats a finding's detail, unless the Collector no longer keeps
// details: a file of a million bad spans must not cost a million Sprintfs.
func (d *decoder) detail(format string, args []any) string {
	if len(d.c.Findings) >= trace.MaxFindings {
		return ""
	}
	return fmt.Sprintf(format, args...) + d.lineSuffix()
}

func (d *decoder) lineSuffix() string {
	return " (span starts on line " + strconv.Itoa(d.recLine) + ")"
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func jsonKind(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	}
	return "value starting with " + describeByte(c)
}
