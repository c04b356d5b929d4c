package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/tracesim/tracesim/trace"
	"github.com/valyala/fastjson"
)

// maxDuration is the longest span kept. Longer ones come from clocks or
// units gone wrong and would dominate every latency statistic.
const maxDuration = 24 * 3600 * 1e9

// spanFields are the members of one span object that the decoder uses,
// collected in one pass over its keys.
type spanFields struct {
	traceID, spanID, parentID *fastjson.Value
	name, kind, start, end    *fastjson.Value
	attrs, status             *fastjson.Value
}

func (d *decoder) visitSpan(key []byte, v *fastjson.Value) {
	f := &d.f
	switch string(key) {
	case "traceId", "trace_id":
		f.traceID = v
	case "spanId", "span_id":
		f.spanID = v
	case "parentSpanId", "parent_span_id":
		f.parentID = v
	case "name":
		f.name = v
	case "kind":
		f.kind = v
	case "startTimeUnixNano", "start_time_unix_nano":
		f.start = v
	case "endTimeUnixNano", "end_time_unix_nano":
		f.end = v
	case "attributes":
		f.attrs = v
	case "status":
		f.status = v
	}
}

func (d *decoder) skip(rec int, reason, detail string) {
	d.c.Skip(d.srcName, rec, reason, detail)
}

// span decodes one span object. Service and Instance are filled in later by
// the enclosing resource.
func (d *decoder) span(raw []byte, rec, line int) {
	v, err := d.p.ParseBytes(raw)
	if err != nil {
		d.skip(rec, "bad span", fmt.Sprintf("line %d: %v; expected a JSON span object", line, err))
		return
	}
	o, err := v.Object()
	if err != nil {
		d.skip(rec, "bad span", fmt.Sprintf("line %d: found a %s, expected a span object", line, v.Type()))
		return
	}
	d.f = spanFields{}
	o.Visit(d.visit)
	f := &d.f

	sp := trace.Span{Source: d.src, Record: int32(rec)}
	nonHex := "" // the first id that had to be hashed

	// Ids.
	b, problem := idBytes(f.traceID)
	if problem != "" {
		d.skip(rec, "bad id", fmt.Sprintf("line %d: traceId %s; expected 32 hex or 24 base64 characters", line, problem))
		return
	}
	var res idResult
	sp.TraceID, res, problem = parseTraceID(b)
	switch {
	case res == idBad:
		d.skip(rec, "bad id", fmt.Sprintf("line %d: traceId %q: %s; expected 32 hex or 24 base64 characters", line, clip(b), problem))
		return
	case sp.TraceID.IsZero():
		d.skip(rec, "bad id", fmt.Sprintf("line %d: traceId %q is all zeros; expected a non-zero trace id", line, clip(b)))
		return
	}
	if res == idNonHex {
		nonHex = "traceId " + strconv.Quote(clip(b))
	}

	b, problem = idBytes(f.spanID)
	if problem != "" {
		d.skip(rec, "bad id", fmt.Sprintf("line %d: spanId %s; expected 16 hex or 12 base64 characters", line, problem))
		return
	}
	sp.ID, res, problem = parseSpanID(b)
	switch {
	case res == idBad:
		d.skip(rec, "bad id", fmt.Sprintf("line %d: spanId %q: %s; expected 16 hex or 12 base64 characters", line, clip(b), problem))
		return
	case sp.ID == 0:
		d.skip(rec, "bad id", fmt.Sprintf("line %d: spanId %q is all zeros; expected a non-zero span id", line, clip(b)))
		return
	}
	if res == idNonHex && nonHex == "" {
		nonHex = "spanId " + strconv.Quote(clip(b))
	}

	// A root has parentSpanId missing, null, "" or all zeros.
	if f.parentID != nil && f.parentID.Type() != fastjson.TypeNull {
		b, problem = idBytes(f.parentID)
		if problem != "" {
			d.skip(rec, "bad id", fmt.Sprintf("line %d: parentSpanId %s; expected 16 hex or 12 base64 characters, or \"\" for a root", line, problem))
			return
		}
		if len(b) > 0 {
			sp.ParentID, res, problem = parseSpanID(b)
			if res == idBad {
				d.skip(rec, "bad id", fmt.Sprintf("line %d: parentSpanId %q: %s; expected 16 hex or 12 base64 characters, or \"\" for a root", line, clip(b), problem))
				return
			}
			if res == idNonHex && nonHex == "" {
				nonHex = "parentSpanId " + strconv.Quote(clip(b))
			}
		}
	}

	// Times. OTLP uses 0 for "unknown", so 0 counts as missing.
	start, ok, problem := nanos(f.start)
	if !ok {
		d.skip(rec, "bad timestamp", fmt.Sprintf("line %d: startTimeUnixNano %s; expected nanoseconds since the Unix epoch as a decimal integer (string or number)", line, problem))
		return
	}
	end, ok, problem := nanos(f.end)
	if !ok {
		d.skip(rec, "bad timestamp", fmt.Sprintf("line %d: endTimeUnixNano %s; expected nanoseconds since the Unix epoch as a decimal integer (string or number)", line, problem))
		return
	}
	switch {
	case start == 0:
		// Without a start neither the position nor the length is known.
		sp.Flags |= trace.FlagNoStart | trace.FlagNoDuration
	case end == 0:
		sp.Start = start
		sp.Flags |= trace.FlagNoDuration
	default:
		sp.Start = start
		sp.Duration = end - start
		if sp.Duration < 0 {
			d.skip(rec, "bad duration", fmt.Sprintf("line %d: endTimeUnixNano %d is %d ns before startTimeUnixNano %d; expected end >= start", line, end, -sp.Duration, start))
			return
		}
		if sp.Duration > maxDuration {
			d.skip(rec, "bad duration", fmt.Sprintf("line %d: span lasts %d ns (%.1f h); expected at most 24 h", line, sp.Duration, float64(sp.Duration)/3.6e12))
			return
		}
	}

	if f.name != nil && f.name.Type() == fastjson.TypeString {
		nb, _ := f.name.StringBytes()
		sp.Name = d.c.Intern(nb)
	}

	if f.kind != nil {
		k, ok := parseKind(f.kind)
		if !ok {
			d.c.Note(d.srcName, rec, "unknown kind", fmt.Sprintf("line %d: kind %s; expected 0-5 or SPAN_KIND_*; kept as unspecified", line, clip(f.kind.MarshalTo(nil))))
		}
		sp.Kind = k
	}

	if f.status != nil && isErrorStatus(f.status.Get("code")) {
		sp.Flags |= trace.FlagError
	}

	if f.attrs != nil {
		d.attrs.Reset()
		d.keptAttrs(&d.attrs, f.attrs)
		sp.Attrs = d.c.Attrs(&d.attrs)
	}

	if len(d.c.Spans) == cap(d.c.Spans) && cap(d.c.Spans) < 1<<20 {
		// append grows big slices by 1.25x, copying every span about four
		// times over; doubling up to a million spans copies each about once.
		grown := make([]trace.Span, len(d.c.Spans), max(2*cap(d.c.Spans), 1024))
		copy(grown, d.c.Spans)
		d.c.Spans = grown
	}
	d.c.Spans = append(d.c.Spans, sp)
	if nonHex != "" {
		d.c.Note(d.srcName, rec, "non-hex id", fmt.Sprintf("line %d: %s is neither hex nor base64; mapped through a hash, expected 32/16 hex characters", line, nonHex))
	}
}

// keptAttrs adds the kept attributes of an OTLP attribute list to b.
func (d *decoder) keptAttrs(b *trace.AttrBuilder, attrs *fastjson.Value) {
	for _, kv := range attrList(attrs) {
		k := kv.Get("key")
		if k == nil || k.Type() != fastjson.TypeString {
			continue
		}
		kb, _ := k.StringBytes()
		if key, ok := trace.LookupAttrKey(kb); ok {
			setAttr(b, key, kv.Get("value"))
		}
	}
}

// setAttr sets key k from an OTLP AnyValue: a string as it is, an
// intValue (a decimal string or a number) in decimal, a doubleValue in
// decimal when whole, a boolValue as "true" / "false". Arrays, key-value
// lists and bytes name nothing tracesim uses and are left out.
func setAttr(b *trace.AttrBuilder, k trace.AttrKey, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeObject {
		return
	}
	o, _ := v.Object()
	o.Visit(func(key []byte, x *fastjson.Value) {
		switch string(key) {
		case "stringValue", "string_value":
			if x.Type() == fastjson.TypeString {
				s, _ := x.StringBytes()
				b.Set(k, s)
			}
		case "intValue", "int_value":
			switch x.Type() {
			case fastjson.TypeString:
				s, _ := x.StringBytes()
				if n, err := strconv.ParseInt(string(s), 10, 64); err == nil {
					b.SetInt(k, n)
				}
			case fastjson.TypeNumber:
				if n, err := x.Int64(); err == nil {
					b.SetInt(k, n)
				} else if f, err := x.Float64(); err == nil {
					b.SetFloat(k, f)
				}
			}
		case "doubleValue", "double_value":
			switch x.Type() {
			case fastjson.TypeNumber:
				if f, err := x.Float64(); err == nil {
					b.SetFloat(k, f)
				}
			case fastjson.TypeString: // "NaN", "Infinity" or a quoted number
				s, _ := x.StringBytes()
				if f, err := strconv.ParseFloat(string(s), 64); err == nil {
					b.SetFloat(k, f)
				}
			}
		case "boolValue", "bool_value":
			switch x.Type() {
			case fastjson.TypeTrue:
				b.SetBool(k, true)
			case fastjson.TypeFalse:
				b.SetBool(k, false)
			}
		}
	})
}

// idBytes returns the text of an id value; problem describes a value that
// is not a string.
func idBytes(v *fastjson.Value) (b []byte, problem string) {
	if v == nil {
		return nil, "is missing"
	}
	if v.Type() != fastjson.TypeString {
		return nil, "is a " + v.Type().String() + ", not a string"
	}
	b, _ = v.StringBytes()
	return b, ""
}

type idResult uint8

const (
	idOK     idResult = iota
	idNonHex          // not hex nor base64: hashed
	idBad             // unusable: the span is skipped
)

// parseTraceID reads hex or base64 id text. Hex wins when both could
// apply, because OTLP/JSON mandates hex and an unpadded base64 id made only
// of hex digits is vanishingly rare. Text that is neither is hashed (hand-made
// files); text that is clearly meant as an id but has the wrong size is bad.
func parseTraceID(b []byte) (trace.TraceID, idResult, string) {
	if id, ok := trace.ParseHexTraceID(string(b)); ok {
		return id, idOK, ""
	}
	if len(b) == 0 {
		return trace.TraceID{}, idBad, "empty"
	}
	if isHex(b) {
		return trace.TraceID{}, idBad, strconv.Itoa(len(b)) + " hex characters, more than 32"
	}
	var raw [18]byte
	switch decodeBase64(raw[:], b) {
	case 16:
		return trace.TraceID{High: be64(raw[:8]), Low: be64(raw[8:16])}, idOK, ""
	case 8:
		return trace.TraceID{Low: be64(raw[:8])}, idOK, ""
	}
	if b[len(b)-1] == '=' {
		return trace.TraceID{}, idBad, "padded like base64 but not the base64 of 16 bytes"
	}
	return trace.HashTraceID(string(b)), idNonHex, ""
}

// parseSpanID is parseTraceID for 8-byte span ids.
func parseSpanID(b []byte) (trace.SpanID, idResult, string) {
	// Full-length ids are nearly all of them: hex.Decode's table lookup
	// beats ParseHexSpanID's branches on random digits, same result.
	if len(b) == 16 {
		var raw [8]byte
		if _, err := hex.Decode(raw[:], b); err == nil {
			return trace.SpanID(be64(raw[:])), idOK, ""
		}
	}
	if id, ok := trace.ParseHexSpanID(string(b)); ok {
		return id, idOK, ""
	}
	if len(b) == 0 {
		return 0, idBad, "empty"
	}
	if isHex(b) {
		return 0, idBad, strconv.Itoa(len(b)) + " hex characters, more than 16"
	}
	var raw [18]byte
	if decodeBase64(raw[:], b) == 8 {
		return trace.SpanID(be64(raw[:8])), idOK, ""
	}
	if b[len(b)-1] == '=' {
		return 0, idBad, "padded like base64 but not the base64 of 8 bytes"
	}
	return trace.HashSpanID(string(b)), idNonHex, ""
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// decodeBase64 decodes a standard or URL-safe base64 id, padded or not,
// into dst (at least 18 bytes) and returns its length in bytes, or -1. Only
// the unpadded lengths of 8- and 16-byte ids are tried, so that short
// hand-made names are not taken for base64.
func decodeBase64(dst, b []byte) int {
	padded := len(b) > 0 && b[len(b)-1] == '='
	if padded && len(b) != 24 && len(b) != 12 || !padded && len(b) != 22 && len(b) != 11 {
		return -1
	}
	url := false
	for _, c := range b {
		if c == '-' || c == '_' {
			url = true
			break
		}
	}
	var enc *base64.Encoding
	switch {
	case padded && url:
		enc = base64.URLEncoding
	case padded:
		enc = base64.StdEncoding
	case url:
		enc = base64.RawURLEncoding
	default:
		enc = base64.RawStdEncoding
	}
	n, err := enc.Decode(dst, b)
	if err != nil {
		return -1
	}
	return n
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// nanos reads a timestamp: a decimal string (the protobuf JSON form of
// uint64) or a JSON number. Missing, null, "" and 0 give (0, true).
func nanos(v *fastjson.Value) (ns int64, ok bool, problem string) {
	if v == nil {
		return 0, true, ""
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return 0, true, ""
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if len(b) == 0 {
			return 0, true, ""
		}
		if len(b) > 19 {
			return 0, false, fmt.Sprintf("%q is out of range", clip(b))
		}
		var n int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false, fmt.Sprintf("%q is not a non-negative integer", clip(b))
			}
			n = n*10 + int64(c-'0')
			if n < 0 {
				return 0, false, fmt.Sprintf("%q is out of range", clip(b))
			}
		}
		return n, true, ""
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			if n < 0 {
				return 0, false, strconv.FormatInt(n, 10) + " is negative"
			}
			return n, true, ""
		}
		// Writers that go through float64 print 1.7e+18: precision is
		// already lost, but the value is still a time.
		f, err := v.Float64()
		if err != nil || f != f || f < 0 || f >= math.MaxInt64 {
			return 0, false, fmt.Sprintf("%s is not a non-negative integer in range", clip(v.MarshalTo(nil)))
		}
		return int64(f), true, ""
	default:
		return 0, false, "is a " + v.Type().String() + ", not a number"
	}
}

// parseKind reads a span kind written as a number or an enum name; an
// unrecognised kind gives (KindUnspecified, false).
func parseKind(v *fastjson.Value) (trace.Kind, bool) {
	switch v.Type() {
	case fastjson.TypeNull:
		return trace.KindUnspecified, true
	case fastjson.TypeNumber:
		n, err := v.Int()
		if err != nil || n < 0 || n > int(trace.KindConsumer) {
			return trace.KindUnspecified, false
		}
		return trace.Kind(n), true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		switch string(b) { // the spellings real files use, without allocating
		case "SPAN_KIND_SERVER":
			return trace.KindServer, true
		case "SPAN_KIND_CLIENT":
			return trace.KindClient, true
		case "SPAN_KIND_INTERNAL":
			return trace.KindInternal, true
		case "SPAN_KIND_PRODUCER":
			return trace.KindProducer, true
		case "SPAN_KIND_CONSUMER":
			return trace.KindConsumer, true
		case "SPAN_KIND_UNSPECIFIED", "":
			return trace.KindUnspecified, true
		}
		if len(b) == 1 && b[0] >= '0' && b[0] <= '5' {
			return trace.Kind(b[0] - '0'), true
		}
		return trace.ParseKind(string(b))
	}
	return trace.KindUnspecified, false
}

// isErrorStatus reports whether a status code means ERROR: 2 or
// STATUS_CODE_ERROR (also the bare ERROR that some converters write).
func isErrorStatus(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int()
		return err == nil && n == 2
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		switch string(b) {
		case "STATUS_CODE_ERROR", "ERROR", "Error", "error", "2":
			return true
		}
	}
	return false
}

// clip shortens a value quoted in a finding, so one absurd field cannot
// bloat the report.
func clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
