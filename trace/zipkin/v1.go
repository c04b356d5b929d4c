package zipkin

import (
	"math"
	"strconv"

	"github.com/tracesim/tracesim/trace"
	"github.com/valyala/fastjson"
)

// Zipkin v1 spans are converted the way Zipkin's own V1SpanConverter does,
// after merging the objects that share (traceId, id): the client and server
// halves of one RPC are often reported as separate objects, and only
// together do they say who called whom and which timing is whose.
//
// Merging needs every half, so v1 spans are held (parsed, with interned
// strings, not as raw JSON) until the end of the input. This breaks the
// streaming rule on purpose: v1 is a legacy format, its files are small,
// and a wrong merge would be worse than the memory.

// Core annotation codes.
const (
	annOther uint8 = iota
	annCS
	annSR
	annSS
	annCR
	annMS
	annMR
	annWS
	annWR
	annError // the "error" annotation: an error happened at this time
)

// Binary annotation codes.
const (
	binOther uint8 = iota
	binCA          // client address
	binSA          // server address
	binMA          // message broker address
	binError       // error message
)

// v1Endpoint is what tracesim keeps of a v1 endpoint. ok is false when the
// endpoint is absent (Zipkin's null), which changes how annotations count.
type v1Endpoint struct {
	service  string // "" when unnamed
	instance string
	ip       string // ipv4, else ipv6
	port     int32  // 0 when absent
	ok       bool
}

type v1Annotation struct {
	ts   int64 // ns
	code uint8
	ep   v1Endpoint
}

type v1Binary struct {
	code uint8
	ep   v1Endpoint
	tag  v1Tag // a kept attribute, when tag.val != ""
}

// v1Tag is a binary annotation whose key is a kept attribute.
type v1Tag struct {
	key trace.AttrKey
	val string
}

type v1Key struct {
	t  trace.TraceID
	id trace.SpanID
}

// v1Span is one v1 object, or several merged ones.
type v1Span struct {
	traceID    trace.TraceID
	id, parent trace.SpanID
	name       string
	ts, dur    int64 // ns, 0 when absent
	hasCS      bool  // carries the client's "cs": it owns the timing
	anns       []v1Annotation
	bins       []v1Binary
	record     int32 // first record merged in
	line       int32
	merged     int32 // objects merged in
}

type v1State struct {
	spans []v1Span
	index map[v1Key]int32
	conv  v1Converter
}

// v1Record parses the current span object as v1 and buffers it.
func (d *decoder) v1Record() {
	f := &d.f
	var s v1Span
	var ok bool
	if s.traceID, s.id, s.parent, ok = d.ids(); !ok {
		return
	}
	if s.ts, ok = d.micros(f.timestamp, "bad timestamp", "timestamp", pendTimestampString); !ok {
		return
	}
	if s.dur, ok = d.micros(f.duration, "bad duration", "duration", pendDurationString); !ok {
		return
	}
	if !d.checkTimes(s.ts, s.dur) {
		return
	}
	s.name = d.str(f.name)
	if f.annotations != nil {
		anns, _ := f.annotations.Array()
		for _, a := range anns {
			ao, err := a.Object()
			if err != nil {
				continue
			}
			var an v1Annotation
			if an.ts, ok = d.micros(ao.Get("timestamp"), "bad timestamp", "annotation timestamp", pendTimestampString); !ok {
				return
			}
			if !d.checkTimes(an.ts, 0) {
				return
			}
			if v := ao.Get("value"); v != nil {
				b, _ := v.StringBytes()
				an.code = annCode(b)
			}
			an.ep = d.v1Endpoint(ao.Get("endpoint"))
			if an.code == annCS && an.ep.ok {
				s.hasCS = true
			}
			s.anns = append(s.anns, an)
		}
	}
	if f.binaryAnnotations != nil {
		bins, _ := f.binaryAnnotations.Array()
		for _, b := range bins {
			bo, err := b.Object()
			if err != nil {
				continue
			}
			var bn v1Binary
			if v := bo.Get("key"); v != nil {
				k, _ := v.StringBytes()
				bn.code = binCode(k)
				if key, ok := trace.LookupAttrKey(k); ok && bn.code == binOther {
					bn.tag = v1Tag{key, d.tagValue(bo.Get("value"))}
				}
			}
			bn.ep = d.v1Endpoint(bo.Get("endpoint"))
			s.bins = append(s.bins, bn)
		}
	}
	s.record, s.line, s.merged = int32(d.rec), int32(d.recLine), 1
	d.flushNotes()

	st := &d.v1
	if st.index == nil {
		st.index = make(map[v1Key]int32)
	}
	key := v1Key{s.traceID, s.id}
	if i, ok := st.index[key]; ok {
		st.spans[i].merge(&s)
		return
	}
	st.index[key] = int32(len(st.spans))
	st.spans = append(st.spans, s)
}

func annCode(b []byte) uint8 {
	if len(b) == 2 {
		switch string(b) {
		case "cs":
			return annCS
		case "sr":
			return annSR
		case "ss":
			return annSS
		case "cr":
			return annCR
		case "ms":
			return annMS
		case "mr":
			return annMR
		case "ws":
			return annWS
		case "wr":
			return annWR
		}
	}
	if string(b) == "error" {
		return annError
	}
	return annOther
}

func binCode(b []byte) uint8 {
	switch string(b) {
	case "ca":
		return binCA
	case "sa":
		return binSA
	case "ma":
		return binMA
	case "error":
		return binError
	}
	return binOther
}

// v1Endpoint reads an annotation's endpoint. As in Zipkin, an endpoint
// with none of its fields is no endpoint.
func (d *decoder) v1Endpoint(v *fastjson.Value) v1Endpoint {
	if v == nil {
		return v1Endpoint{}
	}
	o, err := v.Object()
	if err != nil {
		return v1Endpoint{}
	}
	var e v1Endpoint
	for _, k := range [...]string{"serviceName", "ipv4", "ipv6", "port"} {
		if x := o.Get(k); x != nil && x.Type() != fastjson.TypeNull {
			e.ok = true
			break
		}
	}
	if !e.ok {
		return e
	}
	e.service = d.str(o.Get("serviceName"))
	e.instance = d.instance(o)
	for _, name := range [...]string{"ipv4", "ipv6"} {
		if e.ip = d.str(o.Get(name)); e.ip != "" {
			break
		}
	}
	if v := o.Get("port"); v != nil {
		if p, err := v.Int(); err == nil && p > 0 && p <= 0xffff {
			e.port = int32(p)
		}
	}
	return e
}

// tagValue returns a binary annotation's value as an interned string:
// v1 values are mostly strings, sometimes numbers or booleans. Whole
// numbers are written in decimal.
func (d *decoder) tagValue(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if len(b) > trace.MaxAttrLen {
			return ""
		}
		return d.c.Intern(b)
	case fastjson.TypeNumber:
		if n, err := v.Int64(); err == nil {
			return d.c.Intern(strconv.AppendInt(d.buf[:0], n, 10))
		}
		if f, err := v.Float64(); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
				return d.c.Intern(strconv.AppendInt(d.buf[:0], int64(f), 10))
			}
			return d.c.Intern(strconv.AppendFloat(d.buf[:0], f, 'g', -1, 64))
		}
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// merge folds b, a later object with the same (traceId, id), into a.
// Timing follows Zipkin's v1 merge (earliest start, latest end), except
// that the half carrying "cs" wins: in v1 the client owns a shared span's
// timestamp and duration, and the server's clock may be skewed.
func (a *v1Span) merge(b *v1Span) {
	if (a.name == "" || a.name == "unknown") && b.name != "" {
		a.name = b.name
	}
	if a.parent == 0 {
		a.parent = b.parent
	}
	switch {
	case a.ts == 0 || b.ts == 0 || a.ts == b.ts:
		if a.ts == 0 {
			a.ts = b.ts
		}
		a.dur = max(a.dur, b.dur)
	case b.hasCS && !a.hasCS:
		a.ts, a.dur = b.ts, b.dur
	case a.hasCS && !b.hasCS:
	default:
		end := max(a.ts+a.dur, b.ts+b.dur)
		a.ts = min(a.ts, b.ts)
		a.dur = end - a.ts
	}
	a.hasCS = a.hasCS || b.hasCS
	a.anns = append(a.anns, b.anns...)
	a.bins = append(a.bins, b.bins...)
	a.merged++
}

// flushV1 converts the buffered v1 spans, in order of first appearance.
func (d *decoder) flushV1() {
	st := &d.v1
	for i := range st.spans {
		d.emitV1(&st.spans[i])
	}
	st.spans, st.index = nil, nil
}

func (d *decoder) emitV1(src *v1Span) {
	// Findings about a merged span point at its first object.
	d.rec, d.recLine = int(src.record), int(src.line)
	cv := &d.v1.conv
	cv.convert(src)
	for i := range cv.b {
		b := &cv.b[i]
		if b.dur < 0 {
			d.skip("bad duration", "v1 span (%d object(s) merged): its end annotation comes %d µs before its start, expected end ≥ start", src.merged, -b.dur/1000)
			continue
		}
		if !d.checkTimes(b.ts, b.dur) {
			continue
		}
		s := trace.Span{
			TraceID:  src.traceID,
			ID:       src.id,
			ParentID: src.parent,
			Name:     src.name,
			Service:  b.local.service,
			Instance: b.local.instance,
			Peer:     b.remote.service,
			Start:    b.ts,
			Duration: b.dur,
			Source:   d.src,
			Kind:     b.kind,
			Record:   src.record,
		}
		if s.Kind == trace.KindUnspecified {
			s.Kind = trace.KindInternal
		}
		if s.Service == "" {
			s.Service = trace.UnknownService
			s.Flags |= trace.FlagNoService
		}
		if b.ts == 0 {
			s.Flags |= trace.FlagNoStart
		}
		if b.dur == 0 {
			s.Flags |= trace.FlagNoDuration
		}
		if b.err {
			s.Flags |= trace.FlagError
		}
		if b.shared && s.Kind != trace.KindClient {
			s.Flags |= trace.FlagShared
		}
		// As in v2: tags first, then what the endpoints say.
		a := &d.attrs
		a.Reset()
		for _, t := range b.tags {
			a.SetString(t.key, t.val)
		}
		a.SetString(trace.AttrHostIP, b.local.ip)
		a.SetString(trace.AttrNetworkPeerAddress, b.remote.ip)
		if b.remote.port > 0 {
			a.SetInt(trace.AttrNetworkPeerPort, int64(b.remote.port))
		}
		s.Attrs = d.c.Attrs(a)
		d.c.Spans = append(d.c.Spans, s)
	}
}

// v1Builder is one v2 span under construction (Zipkin's Span.Builder).
type v1Builder struct {
	local, remote v1Endpoint
	kind          trace.Kind // KindUnspecified until an annotation says
	ts, dur       int64      // ns, 0 = unset
	shared, err   bool
	tags          []v1Tag // kept attributes, from binary annotations
}

// v1Converter ports zipkin2.v1.V1SpanConverter. It is reused across spans
// to avoid allocation. Builders are addressed by index because b grows.
type v1Converter struct {
	b                              []v1Builder // b[0] is Zipkin's "first"
	cs, sr, ss, cr, ms, mr, ws, wr *v1Annotation
	synCS, synSR                   v1Annotation
}

func (cv *v1Converter) convert(src *v1Span) {
	cv.b = append(cv.b[:0], v1Builder{})
	cv.cs, cv.sr, cv.ss, cv.cr, cv.ms, cv.mr, cv.ws, cv.wr = nil, nil, nil, nil, nil, nil, nil, nil
	cv.annotations(src)
	cv.binaryAnnotations(src)
}

// forEndpoint returns the builder for an endpoint: the first one when the
// endpoint is absent or the first has none yet, else the one with the same
// service name, else a new one.
func (cv *v1Converter) forEndpoint(e *v1Endpoint) int {
	if e == nil || !e.ok {
		return 0
	}
	for i := range cv.b {
		if !cv.b[i].local.ok {
			cv.b[i].local = *e
			return i
		}
		if cv.b[i].local.service == e.service {
			return i
		}
	}
	return cv.newBuilder(e)
}

func (cv *v1Converter) newBuilder(e *v1Endpoint) int {
	cv.b = append(cv.b, v1Builder{local: *e})
	return len(cv.b) - 1
}

func (cv *v1Converter) annotations(src *v1Span) {
	for i := range src.anns {
		a := &src.anns[i]
		bi := cv.forEndpoint(&a.ep)
		b := &cv.b[bi]
		if a.code == annError {
			b.err = true
			continue
		}
		if !a.ep.ok { // core annotations need an endpoint
			continue
		}
		switch a.code {
		case annCS:
			b.kind, cv.cs = trace.KindClient, a
		case annSR:
			b.kind, cv.sr = trace.KindServer, a
		case annSS:
			b.kind, cv.ss = trace.KindServer, a
		case annCR:
			b.kind, cv.cr = trace.KindClient, a
		case annMS:
			b.kind, cv.ms = trace.KindProducer, a
		case annMR:
			b.kind, cv.mr = trace.KindConsumer, a
		case annWS:
			cv.ws = a
		case annWR:
			cv.wr = a
		}
	}

	// A tracer bridging from an event model may omit the start annotation
	// while the span's own timing shows where it was.
	if cv.cs == nil && endReflectsDuration(cv.cr, src) {
		cv.synCS = v1Annotation{ts: src.ts, code: annCS, ep: cv.cr.ep}
		cv.cs = &cv.synCS
	}
	if cv.sr == nil && endReflectsDuration(cv.ss, src) {
		cv.synSR = v1Annotation{ts: src.ts, code: annSR, ep: cv.ss.ep}
		cv.sr = &cv.synSR
	}

	cs, sr, ss, cr := cv.cs, cv.sr, cv.ss, cv.cr
	switch {
	case cs != nil && sr != nil:
		// Both halves in one span: the client owns the span's timing, the
		// server half is timed by its own annotations and marked shared.
		cv.maybeTiming(src, cs, cr)
		client := cv.forEndpoint(&cs.ep)
		var server int
		if cs.ep.service == sr.ep.service {
			// Loopback: still two spans.
			cv.b[client].kind = trace.KindClient
			server = cv.newBuilder(&sr.ep)
			cv.b[server].kind = trace.KindServer
		} else {
			server = cv.forEndpoint(&sr.ep)
		}
		cv.b[server].shared = true
		cv.b[server].ts = sr.ts
		if ss != nil {
			cv.b[server].dur = ss.ts - sr.ts
		}
		if cr == nil && src.dur == 0 {
			cv.b[client].dur = 0 // one-way: no duration
		}
	case cs != nil && cr != nil:
		cv.maybeTiming(src, cs, cr)
	case sr != nil && ss != nil:
		cv.maybeTiming(src, sr, ss)
	default:
		cv.incompleteRPC(src)
	}

	// v1 had no shared flag: by convention a server-only span without its
	// own timestamp is the callee's half of a span the client started.
	if cs == nil && sr != nil && (src.ts == 0 || (ss != nil && src.dur == 0)) {
		cv.b[cv.forEndpoint(&sr.ep)].shared = true
	}

	ms, mr, ws, wr := cv.ms, cv.mr, cv.ws, cv.wr
	switch {
	case ms != nil && mr != nil:
		producer := cv.forEndpoint(&ms.ep)
		var consumer int
		if ms.ep.service == mr.ep.service {
			cv.b[producer].kind = trace.KindProducer
			consumer = cv.newBuilder(&mr.ep)
			cv.b[consumer].kind = trace.KindConsumer
		} else {
			consumer = cv.forEndpoint(&mr.ep)
		}
		c := &cv.b[consumer]
		c.shared = true
		if wr != nil {
			c.ts, c.dur = wr.ts, mr.ts-wr.ts
		} else {
			c.ts = mr.ts
		}
		p := &cv.b[producer]
		p.ts, p.dur = ms.ts, 0
		if ws != nil {
			p.dur = ws.ts - ms.ts
		}
	case ms != nil:
		cv.maybeTiming(src, ms, ws)
	case mr != nil:
		if wr != nil {
			cv.maybeTiming(src, wr, mr)
		} else {
			cv.maybeTiming(src, mr, nil)
		}
	}
}

func endReflectsDuration(end *v1Annotation, src *v1Span) bool {
	return end != nil && src.ts != 0 && src.dur != 0 && src.ts+src.dur == end.ts
}

// maybeTiming prefers the span's own timestamp and duration, else the
// begin and end annotations.
func (cv *v1Converter) maybeTiming(src *v1Span, begin, end *v1Annotation) {
	b := &cv.b[cv.forEndpoint(&begin.ep)]
	if src.ts != 0 && src.dur != 0 {
		b.ts, b.dur = src.ts, src.dur
		return
	}
	b.ts = begin.ts
	if end != nil {
		b.dur = end.ts - begin.ts
	}
}

func (cv *v1Converter) incompleteRPC(src *v1Span) {
	for i := range cv.b {
		b := &cv.b[i]
		switch b.kind {
		case trace.KindClient:
			if cv.cs != nil {
				b.ts = cv.cs.ts
			}
		case trace.KindServer:
			if cv.sr != nil {
				b.ts = cv.sr.ts
			}
		}
	}
	if src.ts != 0 {
		cv.b[0].ts, cv.b[0].dur = src.ts, src.dur
	}
}

func (cv *v1Converter) binaryAnnotations(src *v1Span) {
	var ca, sa, ma *v1Endpoint
	for i := range src.bins {
		bn := &src.bins[i]
		var ep *v1Endpoint
		if bn.ep.ok {
			ep = &bn.ep
		}
		switch bn.code {
		case binCA:
			ca = ep
			continue
		case binSA:
			sa = ep
			continue
		case binMA:
			ma = ep
			continue
		}
		// Any other binary annotation (a tag, "lc", "error") assigns its
		// endpoint as a span's local endpoint: that is how "lc" names the
		// service of a local span.
		bi := cv.forEndpoint(ep)
		if bn.code == binError {
			cv.b[bi].err = true
		}
		if bn.tag.val != "" {
			cv.b[bi].tags = append(cv.b[bi].tags, bn.tag)
		}
	}

	noCore := cv.cs == nil && cv.cr == nil && cv.ss == nil && cv.sr == nil
	if noCore && (ca != nil || sa != nil) {
		switch {
		case ca != nil && sa != nil:
			cv.b[cv.forEndpoint(ca)].remote = *sa
		case sa != nil:
			// "sa" alone is only a remote address: not a client span.
			cv.b[0].remote = *sa
		default:
			cv.b[0].kind = trace.KindServer
			cv.b[0].remote = *ca
		}
		return
	}

	server := cv.sr
	if server == nil {
		server = cv.ss
	}
	if ca != nil && server != nil && *ca != server.ep {
		c := *ca
		if c.service == server.ep.service {
			// Finagle's "ca" names the server's own service: drop it so
			// that no self-loop appears.
			c.service = ""
		}
		cv.b[cv.forEndpoint(&server.ep)].remote = c
	}
	if sa != nil {
		if cv.cs != nil {
			cv.b[cv.forEndpoint(&cv.cs.ep)].remote = *sa
		} else if cv.cr != nil {
			cv.b[cv.forEndpoint(&cv.cr.ep)].remote = *sa
		}
	}
	if ma != nil {
		if cv.ms != nil {
			cv.b[cv.forEndpoint(&cv.ms.ep)].remote = *ma
		}
		if cv.mr != nil {
			cv.b[cv.forEndpoint(&cv.mr.ep)].remote = *ma
		}
	}
}
