package otlp

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/tracesim/tracesim/internal/jsonw"
	"github.com/tracesim/tracesim/trace"
)

// Encode writes spans as one OTLP/JSON document, {"resourceSpans":[...]},
// in the canonical form of the OTLP/JSON spec: hex ids, nanosecond times as
// strings, integer kinds. Spans are grouped into one resource per (service,
// instance) in order of first appearance, one span per line, so Decode reads
// back the same spans (in grouped order).
//
// What OTLP can say survives the trip: ids, parent, service (omitted for
// FlagNoService spans), instance (as service.instance.id), name, kind,
// start and end (omitted for FlagNoStart / FlagNoDuration spans), Attrs (as
// span attributes under their OpenTelemetry names: ports that are decimal
// numbers as intValue, everything else as stringValue), and FlagError
// (status code 2). Peer, which OTLP has no field for, is written as the
// peer.service attribute unless Attrs has one, and so reads back as that
// attribute (the OpenTelemetry Zipkin mapping's equivalent). SampleRate and
// the flags Assemble sets are not written.
func Encode(w io.Writer, spans []trace.Span) error {
	return encode(w, spans, nil)
}

// attrFunc appends extra span attributes, as complete JSON objects separated
// by commas, without a leading comma. Benchmarks use it to make spans as
// heavy as real ones.
type attrFunc func(dst []byte, s *trace.Span) []byte

type groupKey struct {
	service, instance string
	noService         bool
}

func encode(w io.Writer, spans []trace.Span, extra attrFunc) error {
	// Counting sort of span indexes by resource, keeping input order inside
	// each resource: one pass to number groups, one to place.
	groupOf := make(map[groupKey]int)
	var keys []groupKey
	gid := make([]int32, len(spans))
	var counts []int
	for i := range spans {
		s := &spans[i]
		k := groupKey{service: s.Service, instance: s.Instance, noService: s.Has(trace.FlagNoService)}
		if k.noService {
			k.service = ""
		}
		g, ok := groupOf[k]
		if !ok {
			g = len(keys)
			groupOf[k] = g
			keys = append(keys, k)
			counts = append(counts, 0)
		}
		gid[i] = int32(g)
		counts[g]++
	}
	starts := make([]int, len(keys)+1)
	for g, n := range counts {
		starts[g+1] = starts[g] + n
	}
	order := make([]int32, len(spans))
	next := append([]int(nil), starts[:len(keys)]...)
	for i, g := range gid {
		order[next[g]] = int32(i)
		next[g]++
	}

	bw := bufio.NewWriterSize(w, 256<<10)
	buf := make([]byte, 0, 1024)
	buf = append(buf, `{"resourceSpans":[`...)
	for g, k := range keys {
		if g > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "\n{\"resource\":{\"attributes\":["...)
		sep := false
		if !k.noService {
			buf = appendStringAttr(buf, "service.name", k.service)
			sep = true
		}
		if k.instance != "" {
			if sep {
				buf = append(buf, ',')
			}
			buf = appendStringAttr(buf, "service.instance.id", k.instance)
		}
		buf = append(buf, `]},"scopeSpans":[{"scope":{"name":"tracesim"},"spans":[`...)
		for j, idx := range order[starts[g]:starts[g+1]] {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			buf = appendSpan(buf, &spans[idx], extra)
			if len(buf) > 64<<10 {
				if _, err := bw.Write(buf); err != nil {
					return fmt.Errorf("otlp: encode: %w", err)
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, "]}]}"...)
	}
	buf = append(buf, "\n]}\n"...)
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("otlp: encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("otlp: encode: %w", err)
	}
	return nil
}

func appendSpan(b []byte, s *trace.Span, extra attrFunc) []byte {
	b = append(b, `{"traceId":"`...)
	b = jsonw.AppendHex64(b, s.TraceID.High)
	b = jsonw.AppendHex64(b, s.TraceID.Low)
	b = append(b, `","spanId":"`...)
	b = jsonw.AppendHex64(b, uint64(s.ID))
	b = append(b, '"')
	if s.ParentID != 0 {
		b = append(b, `,"parentSpanId":"`...)
		b = jsonw.AppendHex64(b, uint64(s.ParentID))
		b = append(b, '"')
	}
	b = append(b, `,"name":`...)
	b = jsonw.AppendString(b, s.Name)
	b = append(b, `,"kind":`...)
	b = strconv.AppendUint(b, uint64(s.Kind), 10)
	if !s.Has(trace.FlagNoStart) {
		b = append(b, `,"startTimeUnixNano":"`...)
		b = strconv.AppendInt(b, s.Start, 10)
		b = append(b, '"')
		if !s.Has(trace.FlagNoDuration) {
			b = append(b, `,"endTimeUnixNano":"`...)
			b = strconv.AppendInt(b, s.Start+s.Duration, 10)
			b = append(b, '"')
		}
	}
	mark := len(b)
	b = append(b, `,"attributes":[`...)
	open := len(b)
	if s.Peer != "" && !s.Attrs.Has(trace.AttrPeerService) {
		b = appendStringAttr(b, "peer.service", s.Peer)
	}
	for k, v := range s.Attrs.All() {
		if len(b) > open {
			b = append(b, ',')
		}
		if k.IsPort() && isDecimal(v) {
			b = append(b, `{"key":"`...)
			b = append(b, k.String()...)
			b = append(b, `","value":{"intValue":"`...)
			b = append(b, v...)
			b = append(b, `"}}`...)
		} else {
			b = appendStringAttr(b, k.String(), v)
		}
	}
	if extra != nil {
		n := len(b)
		if n > open {
			b = append(b, ',')
		}
		if b = extra(b, s); len(b) == n+1 {
			b = b[:n] // nothing added after the comma
		}
	}
	if len(b) == open {
		b = b[:mark]
	} else {
		b = append(b, ']')
	}
	if s.Has(trace.FlagError) {
		b = append(b, `,"status":{"code":2}`...)
	} else {
		b = append(b, `,"status":{}`...)
	}
	return append(b, '}')
}

// isDecimal reports whether v is a decimal integer that reads back as the
// same text: no sign, no leading zero, at most 18 digits.
func isDecimal(v string) bool {
	if v == "" || len(v) > 18 || v[0] == '0' && len(v) > 1 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func appendStringAttr(b []byte, key, val string) []byte {
	b = append(b, `{"key":`...)
	b = jsonw.AppendString(b, key)
	b = append(b, `,"value":{"stringValue":`...)
	b = jsonw.AppendString(b, val)
	return append(b, "}}"...)
}
