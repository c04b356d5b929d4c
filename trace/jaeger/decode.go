// Package jaeger reads and writes the JSON that Jaeger's query service
// (/api/traces, /api/traces/{id}) returns and the Jaeger UI downloads:
// either the API envelope {"data":[trace,...],"total","limit","offset","errors"}
// or one bare trace object {"traceID","spans","processes","warnings"}, or
// several such documents one after another (concatenated query results).
//
// Jaeger writes a trace's "spans" before its "processes", and one trace may
// hold a million spans, so spans are decoded one at a time as they stream
// past and get their service, instance and sample rate from the process
// table when the trace object closes. Files saved from the UI carry an
// inline "process" object on every span instead; it is used when present.
//
// Span ids are hex with leading zeros dropped (a 31-character trace id is
// valid); hand-written fixtures use ids that are not hex at all, which are
// hashed to stable ids so references between them still match.
//
// Jaeger clients put the sampler tags (sampler.type, sampler.param) on the
// root span only, yet the head-sampling decision covers the whole trace: a
// span without a rate of its own or of its process takes the first
// span-level rate found in its trace.
package jaeger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/internal/jsonw"
	"github.com/tracesim/tracesim/trace"
	"github.com/valyala/fastjson"
)

// ctxEvery is how many span records are decoded between context checks:
// often enough to stop within milliseconds, rarely enough to cost nothing.
const ctxEvery = 4096

// maxDuration is the longest span duration believed: longer ones come from
// broken clocks or unit mix-ups and would wreck every latency statistic.
const maxDuration = 24 * 60 * 60 * 1e9 // ns

// maxProcCache bounds the process cache: a file where every process object
// differs (unique tags per host) must not grow it without end.
const maxProcCache = 4096

// maxMicros is the largest µs value whose ns conversion fits in int64.
const maxMicros = math.MaxInt64 / 1000

// Process slot markers in traceState.pids for spans that need no lookup.
const (
	pidInline = -1 // resolved from the span's own "process" object
	pidNone   = -2 // the span names no process
)

// Decode reads one input in Jaeger JSON from r and appends every span to
// c.Spans with Source: src. Records it cannot use are reported with c.Skip
// and decoding continues; repaired-but-kept records use c.Note. Structural
// failures that stop reading (truncated JSON, wrong top-level shape, not
// Jaeger JSON) return an error naming the span record, line and byte offset
// and what was expected; spans decoded before the failure stay in c.
//
// Span.Record is the 1-based index of the span object in the whole input,
// counted across all traces of an API envelope.
func Decode(ctx context.Context, r io.Reader, src uint16, c *trace.Collector) error {
	d := &decoder{ctx: ctx, sc: jsonscan.New(r), c: c, src: src}
	if int(src) < len(c.Sources) {
		d.srcName = c.Sources[src]
	} else {
		d.srcName = "source " + strconv.Itoa(int(src))
	}
	d.visit = d.visitSpan
	err := d.run()
	if d.st.open {
		// Spans of a trace cut short still deserve whatever services the
		// trace declared before the cut.
		d.endTrace(false)
	}
	if err != nil {
		return fmt.Errorf("jaeger: %w", err)
	}
	return nil
}

// procInfo is one entry of a trace's process table, already interned.
type procInfo struct {
	service  string
	instance string
	attrs    trace.Attrs // kept process tags; the span's own win
	rate     float32
	defined  bool
}

// traceState is what must wait for a trace object to close: the spans it
// produced and the processes they point to.
type traceState struct {
	open     bool
	start    int     // index in c.Spans of the trace's first kept span
	pids     []int32 // process slot per kept span, parallel to c.Spans[start:]
	pidIndex map[string]int32
	procs    []procInfo
	rate     float32       // first span-level sample rate in the trace
	id       trace.TraceID // the trace object's own traceID, for spans without one
	idOK     bool
}

// spanFields are the members of one span object, filled by visitSpan.
type spanFields struct {
	traceID, spanID, op, refs, parent, start, dur, tags, pid, proc, warns *fastjson.Value
}

// decoder holds the state of one Decode call; the fastjson parser, the
// field slots and the trace state are reused so the hot path allocates
// nothing but the appended span.
type decoder struct {
	ctx     context.Context
	sc      *jsonscan.Scanner
	c       *trace.Collector
	src     uint16
	srcName string
	p       fastjson.Parser
	records int
	st      traceState
	f       spanFields
	visit   func(key []byte, v *fastjson.Value)
	scratch []byte
	// procCache maps a process object's raw bytes to what it says.
	procCache map[string]procInfo
	nonHex    []string // non-hex ids of the current span, for one note

	attrs  trace.AttrBuilder
	merged map[attrPair]trace.Attrs // span attrs with process attrs merged in
}

// attrPair is a span's attributes and its process's.
type attrPair struct{ span, proc trace.Attrs }

// maxMergeCache bounds d.merged; it is emptied when full.
const maxMergeCache = 1 << 14

// withProcess returns the span's attributes with its process's merged in
// under them.
func (d *decoder) withProcess(span, proc trace.Attrs) trace.Attrs {
	if proc.IsEmpty() {
		return span
	}
	if span.IsEmpty() {
		return proc
	}
	k := attrPair{span, proc}
	if a, ok := d.merged[k]; ok {
		return a
	}
	a := d.c.MergeAttrs(span, proc)
	if d.merged == nil || len(d.merged) >= maxMergeCache {
		d.merged = make(map[attrPair]trace.Attrs)
	}
	d.merged[k] = a
	return a
}

func (d *decoder) skip(rec int, reason, detail string) {
	d.c.Skip(d.srcName, rec, reason, detail)
}

func (d *decoder) note(rec int, reason, detail string) {
	d.c.Note(d.srcName, rec, reason, detail)
}

// ErrNotJaeger is matched (errors.Is) by the error Decode returns when the
// input is JSON of another shape, so a caller sniffing formats can tell it
// from a broken Jaeger file.
var ErrNotJaeger = errors.New("not a Jaeger JSON document")

// notJaeger builds the error for well-formed JSON of another shape.
func notJaeger(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotJaeger}, args...)...)
}

// run reads one or more top-level documents: `curl` outputs of several
// queries are often concatenated into one file.
func (d *decoder) run() error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	for n := 1; ; n++ {
		ch, err := d.sc.Peek()
		if err != nil {
			return err
		}
		switch {
		case ch == 0 && n == 1:
			return errors.New(`empty input: expected a Jaeger JSON document ({"data":[traces...]} from the query API, or a trace object {"traceID","spans","processes"})`)
		case ch == 0:
			return nil
		case ch != '{' && n == 1:
			return notJaeger(`line %d (byte %d): expected an object ({"data":[traces...]} from the query API, or a trace object {"traceID","spans","processes"}), found %s`,
				d.sc.Line(), d.sc.Offset(), describe(ch))
		case ch != '{':
			return &jsonscan.SyntaxError{Offset: d.sc.Offset(), Line: d.sc.Line(),
				Msg: fmt.Sprintf("expected end of input or another Jaeger document after document %d, found %s", n-1, describe(ch))}
		}
		if err := d.document(); err != nil {
			return err
		}
	}
}

// document reads one top-level object: the envelope or a bare trace.
func (d *decoder) document() error {
	if err := d.sc.BeginObject(); err != nil {
		return err
	}
	// The top-level object is either the envelope or a trace itself, and
	// only its keys tell which; treat it as a trace until "data" shows up.
	d.beginTrace()
	var sawData, sawSpans bool
	var others []string
	for {
		key, ok, err := d.sc.NextKey()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(key) {
		case "data":
			sawData = true
			d.endTrace(true)
			if err := d.data(); err != nil {
				return err
			}
			d.beginTrace()
		case "errors":
			if err := d.apiErrors(); err != nil {
				return err
			}
		case "spans":
			sawSpans = true
			if err := d.traceKey(key); err != nil {
				return err
			}
		case "traceID", "processes", "warnings":
			if err := d.traceKey(key); err != nil {
				return err
			}
		default:
			if len(others) < 5 && string(key) != "total" && string(key) != "limit" && string(key) != "offset" {
				others = append(others, strconv.Quote(string(key)))
			}
			if err := d.sc.Skip(); err != nil {
				return err
			}
		}
	}
	if !sawData && !sawSpans {
		found := "no keys"
		if len(others) > 0 {
			found = "keys " + strings.Join(others, ", ")
		}
		return notJaeger(`line %d: expected "data" (query API envelope) or "spans" (trace object) in the top-level object, found %s`, d.sc.Line(), found)
	}
	d.endTrace(true)
	return nil
}

// data walks the envelope's array of trace objects.
func (d *decoder) data() error {
	ch, err := d.sc.Peek()
	if err != nil {
		return err
	}
	if ch == 'n' { // "data": null comes with API errors
		return d.sc.Skip()
	}
	if ch != '[' {
		return notJaeger(`line %d (byte %d): expected "data" to be an array of trace objects, found %s`, d.sc.Line(), d.sc.Offset(), describe(ch))
	}
	if err := d.sc.BeginArray(); err != nil {
		return err
	}
	for i := 1; ; i++ {
		ok, err := d.sc.NextElem()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		ch, err := d.sc.Peek()
		if err != nil {
			return err
		}
		if ch != '{' {
			// /api/services answers {"data":["svc",...]}: a different API.
			return notJaeger(`line %d (byte %d): data[%d]: expected a trace object {"traceID","spans","processes"}, found %s`, d.sc.Line(), d.sc.Offset(), i, describe(ch))
		}
		if err := d.sc.BeginObject(); err != nil {
			return err
		}
		d.beginTrace()
		for {
			key, ok, err := d.sc.NextKey()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := d.traceKey(key); err != nil {
				return err
			}
		}
		d.endTrace(true)
	}
}

// traceKey handles one member of a trace object; unknown members are skipped.
func (d *decoder) traceKey(key []byte) error {
	switch string(key) {
	case "spans":
		return d.spans()
	case "processes":
		return d.processes()
	case "traceID":
		raw, err := d.sc.Raw()
		if err != nil {
			return err
		}
		if v, err := d.p.ParseBytes(raw); err == nil && v.Type() == fastjson.TypeString {
			id, st := parseTraceID(v.GetStringBytes())
			d.st.id, d.st.idOK = id, st != idBad
		}
		return nil
	case "warnings":
		raw, err := d.sc.Raw()
		if err != nil {
			return err
		}
		if v, err := d.p.ParseBytes(raw); err == nil {
			d.warnings(0, v)
		}
		return nil
	default:
		return d.sc.Skip()
	}
}

// apiErrors notes the query API's {"errors":[{"code","msg","traceID"}]}.
func (d *decoder) apiErrors() error {
	raw, err := d.sc.Raw()
	if err != nil {
		return err
	}
	v, err := d.p.ParseBytes(raw)
	if err != nil {
		return nil
	}
	for _, e := range v.GetArray() {
		msg := string(e.GetStringBytes("msg"))
		if msg == "" {
			msg = e.String()
		}
		if id := e.GetStringBytes("traceID"); len(id) > 0 {
			msg = "trace " + string(id) + ": " + msg
		}
		d.note(0, "jaeger api error", msg)
	}
	return nil
}

func (d *decoder) beginTrace() {
	st := &d.st
	st.open = true
	st.start = len(d.c.Spans)
	st.pids = st.pids[:0]
	if st.pidIndex == nil {
		st.pidIndex = make(map[string]int32)
	}
	clear(st.pidIndex)
	clear(st.procs)
	st.procs = st.procs[:0]
	st.rate = 0
	st.id, st.idOK = trace.TraceID{}, false
}

// pidSlot returns the process-table slot for a processID, creating it.
func (d *decoder) pidSlot(key []byte) int32 {
	st := &d.st
	if i, ok := st.pidIndex[string(key)]; ok {
		return i
	}
	i := int32(len(st.procs))
	st.procs = append(st.procs, procInfo{})
	// Interned: the same "p1".."pN" keys come back in every trace.
	st.pidIndex[d.c.Intern(key)] = i
	return i
}

// endTrace gives the trace's spans their process. complete is false when
// the input was cut short, where a missing process is no news.
func (d *decoder) endTrace(complete bool) {
	st := &d.st
	st.open = false
	spans := d.c.Spans
	if st.start+len(st.pids) > len(spans) {
		return // cannot happen; never index out of range on it anyway
	}
	for j, pid := range st.pids {
		s := &spans[st.start+j]
		if pid >= 0 {
			p := &st.procs[pid]
			if p.defined && p.service != "" {
				s.Service = p.service
			} else {
				s.Service = trace.UnknownService
				s.Flags |= trace.FlagNoService
				if !p.defined && complete {
					d.note(int(s.Record), "unknown process", "processID "+strconv.Quote(d.keyOf(pid))+" is not in the trace's \"processes\"; service set to "+trace.UnknownService)
				}
			}
			s.Instance = p.instance
			s.Attrs = d.withProcess(s.Attrs, p.attrs)
			if s.SampleRate == 0 {
				s.SampleRate = p.rate
			}
		} else if pid == pidNone {
			s.Service = trace.UnknownService
			s.Flags |= trace.FlagNoService
		}
		if s.SampleRate == 0 {
			// Jaeger clients tag only the root span with the sampler, but
			// the head-sampling decision covers the whole trace.
			s.SampleRate = st.rate
		}
	}
	st.pids = st.pids[:0]
	st.start = len(spans)
}

// processes reads the trace's {"p1":{"serviceName","tags"},...} table.
func (d *decoder) processes() error {
	ch, err := d.sc.Peek()
	if err != nil {
		return err
	}
	if ch != '{' {
		if ch != 'n' {
			d.note(0, "bad processes", fmt.Sprintf("line %d: expected \"processes\" to be an object of {serviceName, tags}, found %s", d.sc.Line(), describe(ch)))
		}
		return d.sc.Skip()
	}
	if err := d.sc.BeginObject(); err != nil {
		return err
	}
	for {
		key, ok, err := d.sc.NextKey()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		slot := d.pidSlot(key)
		raw, err := d.sc.Raw()
		if err != nil {
			return err
		}
		// Every trace repeats the same few process objects byte for byte;
		// hashing the bytes is far cheaper than parsing them again.
		if p, ok := d.procCache[string(raw)]; ok {
			d.st.procs[slot] = p
			continue
		}
		v, err := d.p.ParseBytes(raw)
		if err != nil || v.Type() != fastjson.TypeObject {
			d.note(0, "bad process", fmt.Sprintf("process %q: expected an object {serviceName, tags}; its spans get service %s", d.keyOf(slot), trace.UnknownService))
			d.st.procs[slot] = procInfo{defined: true}
			continue
		}
		p := d.process(v)
		d.st.procs[slot] = p
		if d.procCache == nil {
			d.procCache = make(map[string]procInfo)
		}
		if len(d.procCache) < maxProcCache && len(raw) <= 4<<10 {
			d.procCache[string(raw)] = p
		}
	}
}

func (d *decoder) keyOf(slot int32) string {
	for k, i := range d.st.pidIndex {
		if i == slot {
			return k
		}
	}
	return ""
}

// process reads one process object: service, instance, sampler and the
// kept attributes (Jaeger's own "hostname" and "ip" tags are host.name and
// host.ip).
func (d *decoder) process(v *fastjson.Value) procInfo {
	p := procInfo{defined: true}
	if svc := v.GetStringBytes("serviceName"); len(svc) > 0 {
		p.service = d.c.Intern(svc)
	}
	var inst []byte
	instRank := 0
	var prob bool
	var param float64
	var haveParam bool
	a := &d.attrs
	a.Reset()
	for _, t := range v.GetArray("tags") {
		k := t.GetStringBytes("key")
		rank := 0
		switch string(k) {
		case "service.instance.id":
			rank = 4
		case "hostname":
			rank = 3
		case "host.name":
			rank = 2
		case "ip":
			rank = 1
		case "sampler.type":
			prob = string(t.GetStringBytes("value")) == "probabilistic"
			continue
		case "sampler.param":
			param, haveParam = number(t.Get("value"))
			continue
		default:
			if key, ok := trace.LookupAttrKey(k); ok {
				setAttr(a, key, t.Get("value"))
			}
			continue
		}
		val := t.Get("value")
		var b []byte
		switch {
		case val == nil:
		case val.Type() == fastjson.TypeString:
			b = val.GetStringBytes()
		case val.Type() == fastjson.TypeNumber && rank == 1:
			// Old Jaeger clients report the IPv4 address as an int32.
			if n, err := val.Int64(); err == nil {
				u := uint32(n)
				b = fmt.Appendf(nil, "%d.%d.%d.%d", u>>24, u>>16&0xff, u>>8&0xff, u&0xff)
			}
		case val.Type() == fastjson.TypeNumber:
			b = val.MarshalTo(nil) // own memory: b may be kept until the set is made
		}
		switch rank {
		case 3, 2:
			a.Set(trace.AttrHostName, b)
		case 1:
			a.Set(trace.AttrHostIP, b)
		}
		if len(b) > 0 && rank > instRank {
			inst, instRank = b, rank
			p.instance = d.c.Intern(inst)
		}
	}
	if prob && haveParam && param > 0 && param <= 1 {
		p.rate = float32(param)
	}
	p.attrs = d.c.Attrs(a)
	return p
}

// setAttr sets a kept attribute from a tag value. Values are typed loosely
// (a number may come as a string): strings are kept as they are, numbers
// in decimal, booleans as "true" / "false".
func setAttr(b *trace.AttrBuilder, k trace.AttrKey, v *fastjson.Value) {
	if v == nil {
		return
	}
	switch v.Type() {
	case fastjson.TypeString:
		b.Set(k, v.GetStringBytes())
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

// warnings notes each entry of a span's or trace's "warnings" list.
func (d *decoder) warnings(rec int, v *fastjson.Value) {
	if v == nil || v.Type() != fastjson.TypeArray {
		return
	}
	for _, w := range v.GetArray() {
		if w.Type() == fastjson.TypeString {
			d.note(rec, "jaeger warning", string(w.GetStringBytes()))
		} else {
			d.note(rec, "jaeger warning", w.String())
		}
	}
}

// spans walks a trace's "spans" array, one span object at a time.
func (d *decoder) spans() error {
	ch, err := d.sc.Peek()
	if err != nil {
		return err
	}
	if ch == 'n' {
		return d.sc.Skip()
	}
	if ch != '[' {
		return notJaeger(`line %d (byte %d): expected "spans" to be an array of span objects, found %s`, d.sc.Line(), d.sc.Offset(), describe(ch))
	}
	if err := d.sc.BeginArray(); err != nil {
		return err
	}
	for {
		ok, err := d.sc.NextElem()
		if err != nil {
			return fmt.Errorf("after span %d: %w", d.records, err)
		}
		if !ok {
			return nil
		}
		d.records++
		rec := d.records
		if rec%ctxEvery == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		ch, err := d.sc.Peek()
		if err != nil {
			return fmt.Errorf("span %d: %w", rec, err)
		}
		if ch != '{' {
			line := d.sc.Line()
			if err := d.sc.Skip(); err != nil {
				return fmt.Errorf("span %d: %w", rec, err)
			}
			d.skip(rec, "bad span", fmt.Sprintf("line %d: expected a span object, found %s", line, describe(ch)))
			continue
		}
		raw, err := d.sc.Raw()
		if err != nil {
			return fmt.Errorf("span %d: %w", rec, err)
		}
		d.span(raw, rec)
	}
}

// visitSpan files one member of a span object into d.f. It is bound once as
// a method value so visiting allocates no closure per span.
func (d *decoder) visitSpan(key []byte, v *fastjson.Value) {
	f := &d.f
	switch string(key) {
	case "traceID":
		f.traceID = v
	case "spanID":
		f.spanID = v
	case "operationName":
		f.op = v
	case "references":
		f.refs = v
	case "parentSpanID":
		f.parent = v
	case "startTime":
		f.start = v
	case "duration":
		f.dur = v
	case "tags":
		f.tags = v
	case "processID":
		f.pid = v
	case "process":
		f.proc = v
	case "warnings":
		f.warns = v
	}
}

// id parse outcomes.
const (
	idOK = iota
	idHashed
	idBad
)

// hexVal maps a byte to its hex digit value, or 0xff. A string constant
// rather than a table built at init: nothing here is mutable.
const hexVal = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

// hex64 parses 1-16 hex digits. It is trace.ParseHexSpanID with a table
// lookup: ids are parsed two or three times per span, on the hot path.
func hex64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var v uint64
	var bad byte
	for _, c := range b {
		d := hexVal[c]
		bad |= d
		v = v<<4 | uint64(d&0xf)
	}
	return v, bad&0xf0 == 0
}

func isHex(b []byte) bool {
	for _, c := range b {
		if hexVal[c] == 0xff {
			return false
		}
	}
	return true
}

// parseTraceID reads a hex trace id (1-32 digits, left-padded as
// trace.ParseHexTraceID does), hashing ids that are not hex at all.
func parseTraceID(b []byte) (trace.TraceID, int) {
	if len(b) == 0 {
		return trace.TraceID{}, idBad
	}
	if len(b) <= 32 {
		var id trace.TraceID
		ok := true
		if len(b) > 16 {
			id.High, ok = hex64(b[:len(b)-16])
			b := b[len(b)-16:]
			var ok2 bool
			id.Low, ok2 = hex64(b)
			ok = ok && ok2
		} else {
			id.Low, ok = hex64(b)
		}
		if ok {
			if id.IsZero() {
				return id, idBad
			}
			return id, idOK
		}
	}
	if isHex(b) {
		return trace.TraceID{}, idBad // too long
	}
	return trace.HashTraceID(string(b)), idHashed
}

// parseSpanID reads a hex span id, hashing ids that are not hex at all.
func parseSpanID(b []byte) (trace.SpanID, int) {
	if len(b) == 0 {
		return 0, idBad
	}
	if v, ok := hex64(b); ok {
		if v == 0 {
			return 0, idBad
		}
		return trace.SpanID(v), idOK
	}
	if isHex(b) {
		return 0, idBad
	}
	return trace.HashSpanID(string(b)), idHashed
}

// idText returns an id member as bytes, or nil if absent or not a string.
func idText(v *fastjson.Value) ([]byte, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil, true
	}
	if v.Type() != fastjson.TypeString {
		return nil, false
	}
	return v.GetStringBytes(), true
}

// number reads a JSON number or a numeric string.
func number(v *fastjson.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case fastjson.TypeString:
		f, err := strconv.ParseFloat(string(v.GetStringBytes()), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// time outcomes.
const (
	tOK = iota
	tMissing
	tBad
)

// micros reads a µs value (number, or a numeric string as some exporters
// quote 64-bit integers) and returns it in ns. bad values come with what
// was found.
func micros(v *fastjson.Value) (ns int64, st int, found string) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return 0, tMissing, ""
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			if n > maxMicros || n < -maxMicros {
				return 0, tBad, valueText(v)
			}
			return n * 1000, tOK, ""
		}
		f, err := v.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxMicros {
			return 0, tBad, valueText(v)
		}
		return int64(math.Round(f * 1000)), tOK, ""
	case fastjson.TypeString:
		s := v.GetStringBytes()
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || n > maxMicros || n < -maxMicros {
			return 0, tBad, valueText(v)
		}
		return n * 1000, tOK, ""
	}
	return 0, tBad, valueText(v)
}

// valueText shows a bad value in a finding, shortened.
func valueText(v *fastjson.Value) string {
	s := v.String()
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	switch v.Type() {
	case fastjson.TypeObject:
		return s + " (an object)"
	case fastjson.TypeArray:
		return s + " (an array)"
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return s + " (a boolean)"
	case fastjson.TypeString:
		return s + " (a string)"
	}
	return s
}

// parseKind maps Jaeger's lower-case span.kind values without the
// allocations of the general trace.ParseKind.
func parseKind(b []byte) (trace.Kind, bool) {
	switch string(b) {
	case "server":
		return trace.KindServer, true
	case "client":
		return trace.KindClient, true
	case "producer":
		return trace.KindProducer, true
	case "consumer":
		return trace.KindConsumer, true
	case "internal":
		return trace.KindInternal, true
	}
	return trace.ParseKind(string(b))
}

// span decodes one span object; raw is valid only during the call.
func (d *decoder) span(raw []byte, rec int) {
	v, err := d.p.ParseBytes(raw)
	if err != nil && bytes.Contains(raw, []byte(`"span"`)) {
		// UI exports nest each ancestor span inside references[].span,
		// which can exceed the parser's depth limit on deep traces.
		if v2, err2 := d.parseWithoutRefSpans(raw); err2 == nil {
			v, err = v2, nil
		}
	}
	if err != nil {
		d.skip(rec, "bad span", "not valid JSON: "+err.Error())
		return
	}
	obj, err := v.Object()
	if err != nil {
		d.skip(rec, "bad span", "expected a span object")
		return
	}
	d.f = spanFields{}
	obj.Visit(d.visit)
	f := &d.f

	var s trace.Span
	s.Source = d.src
	s.Record = int32(rec)
	d.nonHex = d.nonHex[:0]
	missingTraceID := false

	// Ids.
	tb, ok := idText(f.traceID)
	switch {
	case !ok:
		d.skip(rec, "bad id", "traceID is "+valueText(f.traceID)+", expected a hex string")
		return
	case len(tb) == 0:
		if !d.st.idOK {
			d.skip(rec, "bad id", "span has no traceID, expected a hex string")
			return
		}
		s.TraceID = d.st.id
		missingTraceID = true
	default:
		id, st := parseTraceID(tb)
		switch st {
		case idBad:
			d.skip(rec, "bad id", fmt.Sprintf("traceID %q: expected 1 to 32 hex digits, not all zero", tb))
			return
		case idHashed:
			d.nonHex = append(d.nonHex, "traceID "+strconv.Quote(string(tb)))
		}
		s.TraceID = id
	}
	sb, ok := idText(f.spanID)
	if !ok {
		d.skip(rec, "bad id", "spanID is "+valueText(f.spanID)+", expected a hex string")
		return
	}
	id, st := parseSpanID(sb)
	switch st {
	case idBad:
		d.skip(rec, "bad id", fmt.Sprintf("spanID %q: expected 1 to 16 hex digits, not all zero", sb))
		return
	case idHashed:
		d.nonHex = append(d.nonHex, "spanID "+strconv.Quote(string(sb)))
	}
	s.ID = id

	// Timing.
	start, tst, found := micros(f.start)
	switch {
	case tst == tBad:
		d.skip(rec, "bad timestamp", "startTime is "+found+", expected microseconds since the epoch as a number")
		return
	case tst == tMissing || start == 0:
		s.Flags |= trace.FlagNoStart
	case start < 0:
		d.skip(rec, "bad timestamp", "startTime is "+f.start.String()+", expected microseconds since the epoch (>= 0)")
		return
	}
	s.Start = start
	dur, tst, found := micros(f.dur)
	switch {
	case tst == tBad:
		d.skip(rec, "bad duration", "duration is "+found+", expected microseconds as a number")
		return
	case tst == tMissing:
		s.Flags |= trace.FlagNoDuration
	case dur < 0:
		d.skip(rec, "bad duration", "duration is "+f.dur.String()+" µs, expected >= 0")
		return
	case dur > maxDuration:
		d.skip(rec, "bad duration", "duration is "+f.dur.String()+" µs, more than 24h; expected a span duration in microseconds")
		return
	}
	s.Duration = dur

	if f.op != nil {
		if b := f.op.GetStringBytes(); len(b) > 0 {
			s.Name = d.c.Intern(b)
		}
	}

	d.parent(&s, rec)
	d.tags(&s, rec)
	if missingTraceID {
		d.note(rec, "missing trace id", "span has no traceID; used the enclosing trace's")
	}
	d.warnings(rec, f.warns)
	if len(d.nonHex) > 0 {
		d.note(rec, "non-hex id", strings.Join(d.nonHex, ", ")+" not hex; mapped to hashed ids")
	}

	// Process: inline (UI export) or a key into the trace's table.
	pid := int32(pidNone)
	if f.proc != nil && f.proc.Type() == fastjson.TypeObject {
		p := d.process(f.proc)
		pid = pidInline
		if p.service != "" {
			s.Service = p.service
		} else {
			s.Service = trace.UnknownService
			s.Flags |= trace.FlagNoService
		}
		s.Instance = p.instance
		s.Attrs = d.withProcess(s.Attrs, p.attrs)
		if s.SampleRate == 0 {
			s.SampleRate = p.rate
		}
	} else if pb, ok := idText(f.pid); ok && len(pb) > 0 {
		pid = d.pidSlot(pb)
	}
	d.c.Spans = append(d.c.Spans, s)
	d.st.pids = append(d.st.pids, pid)
}

// parent sets the span's parent from its references: the first CHILD_OF in
// the same trace, else the first FOLLOWS_FROM (flagged), else the pre-1.0
// parentSpanID member.
func (d *decoder) parent(s *trace.Span, rec int) {
	f := &d.f
	var follows trace.SpanID
	for _, r := range f.refs.GetArray() {
		rt := r.GetStringBytes("refType")
		childOf := bytes.EqualFold(rt, []byte("CHILD_OF"))
		if !childOf && !bytes.EqualFold(rt, []byte("FOLLOWS_FROM")) {
			d.note(rec, "bad reference", fmt.Sprintf("refType %q: expected CHILD_OF or FOLLOWS_FROM; reference ignored", rt))
			continue
		}
		rtb, ok := idText(r.Get("traceID"))
		rtid := s.TraceID
		if ok && len(rtb) > 0 {
			var rst int
			rtid, rst = parseTraceID(rtb)
			if rst == idBad {
				d.note(rec, "bad reference", fmt.Sprintf("reference traceID %q is not a trace id; reference ignored", rtb))
				continue
			}
			if rst == idHashed {
				d.nonHex = append(d.nonHex, "reference traceID "+strconv.Quote(string(rtb)))
			}
		}
		rsb, ok := idText(r.Get("spanID"))
		if !ok {
			d.note(rec, "bad reference", "reference spanID is "+valueText(r.Get("spanID"))+", expected a hex string; reference ignored")
			continue
		}
		rsid, rst := parseSpanID(rsb)
		if rst == idBad {
			d.note(rec, "bad reference", fmt.Sprintf("reference spanID %q: expected 1 to 16 hex digits; reference ignored", rsb))
			continue
		}
		if rst == idHashed {
			d.nonHex = append(d.nonHex, "reference spanID "+strconv.Quote(string(rsb)))
		}
		if rtid != s.TraceID {
			d.note(rec, "cross-trace reference", fmt.Sprintf("%s span %s in trace %s is a link, not a parent", rt, rsb, rtb))
			continue
		}
		if rsid == s.ID {
			d.note(rec, "self reference", "span references itself; reference ignored")
			continue
		}
		if childOf && s.ParentID == 0 {
			s.ParentID = rsid
		} else if !childOf && follows == 0 {
			follows = rsid
		}
	}
	if s.ParentID == 0 && follows != 0 {
		s.ParentID = follows
		s.Flags |= trace.FlagFollowsFrom
	}
	if s.ParentID == 0 && f.parent != nil {
		// Pre-1.0 Jaeger JSON: a parentSpanID member, "0" for roots.
		if pb, ok := idText(f.parent); ok && len(pb) > 0 {
			if pid, pst := parseSpanID(pb); pst != idBad {
				if pst == idHashed {
					d.nonHex = append(d.nonHex, "parentSpanID "+strconv.Quote(string(pb)))
				}
				if pid != s.ID {
					s.ParentID = pid
				}
			} else if strings.Trim(string(pb), "0") != "" {
				d.note(rec, "bad reference", fmt.Sprintf("parentSpanID %q: expected 1 to 16 hex digits; ignored", pb))
			}
		}
	}

}

// tags reads kind, error, sampler and the kept attributes from the span's
// tags.
func (d *decoder) tags(s *trace.Span, rec int) {
	f := &d.f
	a := &d.attrs
	a.Reset()
	var prob, haveParam bool
	var param float64
	for _, t := range f.tags.GetArray() {
		k := t.GetStringBytes("key")
		switch string(k) {
		case "span.kind":
			vb := t.GetStringBytes("value")
			if len(vb) == 0 {
				continue
			}
			kind, ok := parseKind(vb)
			if !ok {
				d.note(rec, "unknown span.kind", fmt.Sprintf("span.kind %q: expected client, server, producer, consumer or internal; kind left unspecified", vb))
			}
			s.Kind = kind
		case "error":
			val := t.Get("value")
			if val == nil {
				continue
			}
			if val.Type() == fastjson.TypeTrue || val.Type() == fastjson.TypeString && bytes.EqualFold(val.GetStringBytes(), []byte("true")) {
				s.Flags |= trace.FlagError
			}
		case "otel.status_code":
			if bytes.EqualFold(t.GetStringBytes("value"), []byte("ERROR")) {
				s.Flags |= trace.FlagError
			}
		case "sampler.type":
			prob = string(t.GetStringBytes("value")) == "probabilistic"
		case "sampler.param":
			param, haveParam = number(t.Get("value"))
		default:
			if key, ok := trace.LookupAttrKey(k); ok {
				setAttr(a, key, t.Get("value"))
			}
		}
	}
	s.Attrs = d.c.Attrs(a)
	if prob && haveParam {
		if param > 0 && param <= 1 {
			s.SampleRate = float32(param)
			if d.st.rate == 0 {
				d.st.rate = s.SampleRate
			}
		} else {
			d.note(rec, "bad sampler.param", fmt.Sprintf("probabilistic sampler.param %g: expected a probability in (0, 1]; ignored", param))
		}
	}

}

// parseWithoutRefSpans re-parses a span after dropping the "span" objects
// that UI exports embed in each reference (the whole ancestor chain).
func (d *decoder) parseWithoutRefSpans(raw []byte) (*fastjson.Value, error) {
	sc := jsonscan.New(bytes.NewReader(raw))
	out := append(d.scratch[:0], '{')
	if err := sc.BeginObject(); err != nil {
		return nil, err
	}
	first := true
	for {
		key, ok, err := sc.NextKey()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = jsonw.AppendString(out, string(key))
		out = append(out, ':')
		if string(key) != "references" {
			v, err := sc.Raw()
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
			continue
		}
		if c, err := sc.Peek(); err != nil || c != '[' {
			return nil, errors.New("references is not an array")
		}
		if err := sc.BeginArray(); err != nil {
			return nil, err
		}
		out = append(out, '[')
		for n := 0; ; n++ {
			ok, err := sc.NextElem()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if n > 0 {
				out = append(out, ',')
			}
			if c, err := sc.Peek(); err != nil || c != '{' {
				return nil, errors.New("reference is not an object")
			}
			if err := sc.BeginObject(); err != nil {
				return nil, err
			}
			out = append(out, '{')
			rfirst := true
			for {
				rk, ok, err := sc.NextKey()
				if err != nil {
					return nil, err
				}
				if !ok {
					break
				}
				if string(rk) == "span" {
					if err := sc.Skip(); err != nil {
						return nil, err
					}
					continue
				}
				if !rfirst {
					out = append(out, ',')
				}
				rfirst = false
				out = jsonw.AppendString(out, string(rk))
				out = append(out, ':')
				v, err := sc.Raw()
				if err != nil {
					return nil, err
				}
				out = append(out, v...)
			}
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	out = append(out, '}')
	d.scratch = out
	return d.p.ParseBytes(out)
}

func describe(c byte) string {
	switch {
	case c == 0:
		return "end of input"
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	case c >= 0x20 && c < 0x7f:
		return strconv.QuoteRune(rune(c))
	default:
		return fmt.Sprintf("byte 0x%02x", c)
	}
}
