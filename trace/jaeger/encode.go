package jaeger

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/tracesim/tracesim/internal/jsonw"
	"github.com/tracesim/tracesim/trace"
)

// Encode writes spans as the query API envelope {"data":[trace,...]}, one
// trace object per trace id in order of first appearance, the way
// /api/traces answers. Each trace gets a process table p1..pN, one entry per
// (service, instance), with the instance as a "service.instance.id" process
// tag (as OpenTelemetry's Jaeger translation writes it; "hostname" would
// read back as the host.name attribute too). Span tags carry span.kind,
// error=true, every attribute in Attrs under its OpenTelemetry name
// (ports as int64, the rest as strings), and Peer as peer.service unless
// Attrs has one; a SampleRate becomes
// sampler.type=probabilistic / sampler.param tags on the first span of the
// trace that has it (Jaeger clients tag the root only, and Decode gives the
// rate to the whole trace) and on any span whose rate differs; the parent is a
// CHILD_OF reference (FOLLOWS_FROM for FlagFollowsFrom spans). Ids are
// zero-padded hex (16 or 32 digits).
//
// Decode reads the output back to the same spans, within what the format
// carries: times are truncated to microseconds; only FlagError,
// FlagFollowsFrom, FlagNoStart, FlagNoDuration and FlagNoService survive
// (the others are set by Assemble); a span with Start 0 reads back with
// FlagNoStart; a span without SampleRate in a trace where another span has
// one reads back with that trace's rate. Spans with a zero trace or span id
// cannot be written and make Encode fail.
func Encode(w io.Writer, spans []trace.Span) error {
	return encode(w, spans, nil)
}

// tagHook appends extra tag objects, each preceded by a comma, to a span's
// tag list: benchmarks use it to write realistic spans.
type tagHook func(dst []byte, s *trace.Span) []byte

// procKey identifies one Jaeger process within a trace.
type procKey struct {
	service, instance string
}

func encode(w io.Writer, spans []trace.Span, extra tagHook) error {
	for i := range spans {
		if spans[i].TraceID.IsZero() || spans[i].ID == 0 {
			return fmt.Errorf("jaeger: encode span %d (%q): zero trace or span id cannot be written", i, spans[i].Name)
		}
	}
	// Group by trace, keeping first-appearance order of traces and spans.
	traceIdx := make(map[trace.TraceID]int32)
	var groups [][]int32
	for i := range spans {
		g, ok := traceIdx[spans[i].TraceID]
		if !ok {
			g = int32(len(groups))
			traceIdx[spans[i].TraceID] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], int32(i))
	}

	bw := bufio.NewWriterSize(w, 256<<10)
	b := make([]byte, 0, 4096)
	b = append(b, `{"data":[`...)
	procs := make(map[procKey]int)
	var order []procKey
	for gi, g := range groups {
		clear(procs)
		order = order[:0]
		if gi > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"traceID":`...)
		b = appendTraceID(b, spans[g[0]].TraceID)
		b = append(b, `,"spans":[`...)
		var traceRate float32
		for k, i := range g {
			s := &spans[i]
			key := procKey{service: s.Service, instance: s.Instance}
			if s.Has(trace.FlagNoService) {
				key.service = ""
			}
			p, ok := procs[key]
			if !ok {
				p = len(order) + 1
				procs[key] = p
				order = append(order, key)
			}
			if k > 0 {
				b = append(b, ',')
			}
			writeRate := s.SampleRate > 0 && s.SampleRate != traceRate
			if traceRate == 0 {
				traceRate = s.SampleRate
			}
			b = appendSpan(b, s, p, writeRate, extra)
			if len(b) > 128<<10 {
				if _, err := bw.Write(b); err != nil {
					return fmt.Errorf("jaeger: encode: %w", err)
				}
				b = b[:0]
			}
		}
		b = append(b, `],"processes":{`...)
		for j, key := range order {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `"p`...)
			b = strconv.AppendInt(b, int64(j+1), 10)
			b = append(b, `":{"serviceName":`...)
			b = jsonw.AppendString(b, key.service)
			b = append(b, `,"tags":[`...)
			if key.instance != "" {
				b = append(b, `{"key":"service.instance.id","type":"string","value":`...)
				b = jsonw.AppendString(b, key.instance)
				b = append(b, '}')
			}
			b = append(b, "]}"...)
		}
		b = append(b, `},"warnings":null}`...)
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(len(groups)), 10)
	b = append(b, `,"limit":0,"offset":0,"errors":null}`...)
	b = append(b, '\n')
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("jaeger: encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("jaeger: encode: %w", err)
	}
	return nil
}

func appendSpan(b []byte, s *trace.Span, proc int, writeRate bool, extra tagHook) []byte {
	b = append(b, `{"traceID":`...)
	b = appendTraceID(b, s.TraceID)
	b = append(b, `,"spanID":`...)
	b = appendSpanID(b, s.ID)
	b = append(b, `,"flags":1,"operationName":`...)
	b = jsonw.AppendString(b, s.Name)
	b = append(b, `,"references":[`...)
	if s.ParentID != 0 {
		if s.Has(trace.FlagFollowsFrom) {
			b = append(b, `{"refType":"FOLLOWS_FROM","traceID":`...)
		} else {
			b = append(b, `{"refType":"CHILD_OF","traceID":`...)
		}
		b = appendTraceID(b, s.TraceID)
		b = append(b, `,"spanID":`...)
		b = appendSpanID(b, s.ParentID)
		b = append(b, '}')
	}
	b = append(b, ']')
	if !s.Has(trace.FlagNoStart) {
		b = append(b, `,"startTime":`...)
		b = strconv.AppendInt(b, s.Start/1000, 10)
	}
	if !s.Has(trace.FlagNoDuration) {
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, s.Duration/1000, 10)
	}
	b = append(b, `,"tags":[`...)
	n := len(b)
	if s.Kind != trace.KindUnspecified && int(s.Kind) <= int(trace.KindConsumer) {
		b = append(b, `,{"key":"span.kind","type":"string","value":"`...)
		b = append(b, s.Kind.String()...)
		b = append(b, `"}`...)
	}
	if s.Has(trace.FlagError) {
		b = append(b, `,{"key":"error","type":"bool","value":true}`...)
	}
	if s.Peer != "" && !s.Attrs.Has(trace.AttrPeerService) {
		b = append(b, `,{"key":"peer.service","type":"string","value":`...)
		b = jsonw.AppendString(b, s.Peer)
		b = append(b, '}')
	}
	for k, v := range s.Attrs.All() {
		b = append(b, `,{"key":"`...)
		b = append(b, k.String()...)
		if k.IsPort() && isDecimal(v) {
			b = append(b, `","type":"int64","value":`...)
			b = append(b, v...)
		} else {
			b = append(b, `","type":"string","value":`...)
			b = jsonw.AppendString(b, v)
		}
		b = append(b, '}')
	}
	if writeRate {
		b = append(b, `,{"key":"sampler.type","type":"string","value":"probabilistic"},{"key":"sampler.param","type":"float64","value":`...)
		b = strconv.AppendFloat(b, float64(s.SampleRate), 'g', -1, 32)
		b = append(b, '}')
	}
	if extra != nil {
		b = extra(b, s)
	}
	if len(b) > n {
		// Every tag was written with a leading comma; drop the first.
		copy(b[n:], b[n+1:])
		b = b[:len(b)-1]
	}
	b = append(b, `],"logs":[],"processID":"p`...)
	b = strconv.AppendInt(b, int64(proc), 10)
	b = append(b, `","warnings":null}`...)
	return b
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

func appendTraceID(b []byte, id trace.TraceID) []byte {
	b = append(b, '"')
	if id.High != 0 {
		b = appendHex16(b, id.High)
	}
	b = appendHex16(b, id.Low)
	return append(b, '"')
}

func appendSpanID(b []byte, id trace.SpanID) []byte {
	b = append(b, '"')
	b = appendHex16(b, uint64(id))
	return append(b, '"')
}

func appendHex16(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}
