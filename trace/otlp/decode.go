// Package otlp reads and writes OpenTelemetry trace data in its JSON
// encoding (OTLP/JSON): the collector's file exporter output, OTLP/HTTP JSON
// request bodies, and Tempo's trace API responses.
//
// Accepted shapes, all streamed without reading the input whole:
//
//   - {"resourceSpans":[{"resource":{...},"scopeSpans":[{"scope":{...},"spans":[...]}]}]}
//   - the pre-1.0 names instrumentationLibrarySpans / instrumentationLibrary
//   - Tempo's {"batches":[...]} in place of resourceSpans, and Tempo v2's
//     {"trace":{"resourceSpans":[...]}} wrapper
//   - the snake_case field names of protobuf writers that keep proto names
//   - JSON Lines (the collector file exporter): any number of such objects
//     one after another, and a top-level array of them
//
// A resource's spans are decoded as they stream past and get their service
// and instance when the resource object closes, because JSON writers may put
// the "resource" key after "scopeSpans" and a single resource may hold a
// million spans.
//
// Ids are hex (the OTLP/JSON rule) or base64 (what generic protobuf-to-JSON
// code writes, e.g. Tempo); both normalise to trace.TraceID / trace.SpanID.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tracesim/tracesim/internal/jsonscan"
	"github.com/tracesim/tracesim/trace"
	"github.com/valyala/fastjson"
)

// ctxEvery is how many span records are decoded between context checks:
// often enough to stop within milliseconds, rarely enough to cost nothing.
const ctxEvery = 4096

// Decode reads one input in this format from r and appends every span to
// c.Spans with Source: src. Records it cannot use are reported with c.Skip
// and decoding continues; repaired-but-kept records use c.Note. Structural
// failures that stop reading (truncated JSON, wrong shape, not OTLP) return
// an error naming the line, byte offset and what was expected; spans decoded
// before the failure stay in c.
//
// Span.Record is the 1-based index of the span object in the whole input
// (counting across JSON Lines); findings also name the line.
func Decode(ctx context.Context, r io.Reader, src uint16, c *trace.Collector) error {
	cr := &countingReader{r: r}
	d := &decoder{ctx: ctx, s: jsonscan.New(cr), in: cr, c: c, src: src}
	if int(src) < len(c.Sources) {
		d.srcName = c.Sources[src]
	} else {
		d.srcName = "source " + strconv.Itoa(int(src))
	}
	d.visit = d.visitSpan
	if err := d.run(); err != nil {
		return fmt.Errorf("otlp: %w", err)
	}
	return nil
}

// decoder holds the state of one Decode call; the fastjson parser and the
// span field slots are reused for every span so the hot path allocates
// nothing but the appended span.
type decoder struct {
	ctx     context.Context
	s       *jsonscan.Scanner
	in      *countingReader
	c       *trace.Collector
	src     uint16
	srcName string
	p       fastjson.Parser
	records int // span records seen so far (skipped ones included)
	f       spanFields
	visit   func(key []byte, v *fastjson.Value)
	attrs   trace.AttrBuilder
	merged  map[trace.Attrs]trace.Attrs // a span's attrs with its resource's merged in
}

// countingReader counts the bytes the scanner has read, to tell a NUL byte
// from the end of input.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// notOTLPError reports a well-formed JSON value that is not an OTLP
// document, so callers sniffing formats can tell it from a broken file.
type notOTLPError struct {
	line  int
	found string
}

func (e *notOTLPError) Error() string {
	return fmt.Sprintf("line %d: not an OTLP JSON document: expected an object with \"resourceSpans\" (or Tempo's \"batches\"), found %s", e.line, e.found)
}

// ErrNotOTLP is matched (errors.Is) by the error Decode returns when the
// input is valid JSON of another shape.
var ErrNotOTLP = errors.New("not an OTLP JSON document")

func (e *notOTLPError) Is(target error) bool { return target == ErrNotOTLP }

func (d *decoder) run() error {
	docs := 0
	for {
		ch, err := d.s.Peek()
		if err != nil {
			return err
		}
		line := d.s.Line()
		switch ch {
		case 0:
			if off := d.s.Offset(); off < d.in.n {
				// The scanner reports a NUL byte like the end of input;
				// only the byte count tells them apart.
				return &notOTLPError{line: line, found: fmt.Sprintf("byte 0x00 at byte %d", off)}
			}
			if docs == 0 {
				return errors.New("empty input: expected an OTLP JSON document {\"resourceSpans\":[...]} or JSON Lines of them")
			}
			return nil
		case '{':
			if err := d.document(0); err != nil {
				return fmt.Errorf("document %d: %w", docs+1, err)
			}
		case '[':
			// Some tools save a list of export requests as one JSON array.
			if err := d.documentArray(); err != nil {
				return fmt.Errorf("document %d: %w", docs+1, err)
			}
		default:
			return &notOTLPError{line: line, found: "a value starting with " + quoteByte(ch)}
		}
		docs++
		if err := d.ctx.Err(); err != nil {
			return err
		}
	}
}

func (d *decoder) documentArray() error {
	if err := d.s.BeginArray(); err != nil {
		return err
	}
	for i := 1; ; i++ {
		more, err := d.s.NextElem()
		if err != nil || !more {
			return err
		}
		ch, err := d.s.Peek()
		if err != nil {
			return err
		}
		if ch != '{' {
			return &notOTLPError{line: d.s.Line(), found: "an array whose element " + strconv.Itoa(i) + " starts with " + quoteByte(ch)}
		}
		if err := d.document(0); err != nil {
			return err
		}
	}
}

// document decodes one export request / TracesData object. depth 1 is the
// object inside Tempo v2's {"trace": ...} wrapper.
func (d *decoder) document(depth int) error {
	line := d.s.Line()
	if err := d.s.BeginObject(); err != nil {
		return err
	}
	found := false
	var other []string
	for {
		key, ok, err := d.s.NextKey()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(key) {
		case "resourceSpans", "resource_spans", "batches":
			found = true
			name := string(key)
			if err := d.resources(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case "trace":
			ch, err := d.s.Peek()
			if err != nil {
				return err
			}
			if depth == 0 && ch == '{' {
				if err := d.document(1); err != nil {
					return fmt.Errorf("trace: %w", err)
				}
				found = true
				continue
			}
			other = append(other, "\"trace\"")
			if err := d.s.Skip(); err != nil {
				return err
			}
		default:
			if len(other) < 4 {
				other = append(other, strconv.Quote(string(key)))
			}
			if err := d.s.Skip(); err != nil {
				return err
			}
		}
	}
	if !found {
		what := "an empty object"
		if len(other) > 0 {
			what = "an object with keys " + strings.Join(other, ", ")
		}
		return &notOTLPError{line: line, found: what}
	}
	return nil
}

// null consumes a JSON null if one comes next: absent lists are written as
// null by some encoders.
func (d *decoder) null() (bool, error) {
	ch, err := d.s.Peek()
	if err != nil {
		return false, err
	}
	if ch == 'n' {
		return true, d.s.Skip()
	}
	return false, nil
}

func (d *decoder) resources() error { return d.objects("resource", d.resource) }

// objects walks an array of objects (null, and null elements, allowed: some
// writers emit them), decoding each with elem and numbering errors by
// element.
func (d *decoder) objects(what string, elem func() error) error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	if err := d.s.BeginArray(); err != nil {
		return err
	}
	for i := 1; ; i++ {
		more, err := d.s.NextElem()
		if err != nil || !more {
			return err
		}
		if isNull, err := d.null(); err != nil {
			return err
		} else if isNull {
			continue
		}
		if err := elem(); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
}

// resourceInfo is what a resource says about the process behind its spans.
type resourceInfo struct {
	service  string
	instance string
	attrs    trace.Attrs // kept resource attributes; the span's own win
}

// resource decodes one ResourceSpans. Its spans are appended as they are
// read and stamped with the resource's service and instance when the object
// ends, or when reading stops early, so that spans kept after an error are
// still complete.
func (d *decoder) resource() (err error) {
	first := len(d.c.Spans)
	var info resourceInfo
	defer func() { d.stamp(first, &info) }()

	if err := d.s.BeginObject(); err != nil {
		return err
	}
	for {
		key, ok, err := d.s.NextKey()
		if err != nil || !ok {
			return err
		}
		switch string(key) {
		case "resource":
			if err := d.resourceAttrs(&info); err != nil {
				return fmt.Errorf("\"resource\" object: %w", err)
			}
		case "scopeSpans", "scope_spans", "instrumentationLibrarySpans", "instrumentation_library_spans":
			name := string(key)
			if err := d.scopes(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		default:
			if err := d.s.Skip(); err != nil {
				return err
			}
		}
	}
}

func (d *decoder) stamp(first int, info *resourceInfo) {
	svc, flag := info.service, trace.Flags(0)
	if svc == "" {
		svc, flag = trace.UnknownService, trace.FlagNoService
	}
	spans := d.c.Spans[first:]
	if !info.attrs.IsEmpty() {
		// Spans of one resource repeat a few attribute sets: merge each
		// once.
		if d.merged == nil {
			d.merged = make(map[trace.Attrs]trace.Attrs)
		}
		clear(d.merged)
		for i := range spans {
			a := spans[i].Attrs
			m, ok := d.merged[a]
			if !ok {
				m = d.c.MergeAttrs(a, info.attrs)
				if len(d.merged) < 1<<14 {
					d.merged[a] = m
				}
			}
			spans[i].Attrs = m
		}
	}
	for i := range spans {
		spans[i].Service = svc
		spans[i].Instance = info.instance
		spans[i].Flags |= flag
	}
}

// resourceAttrs reads the small "resource" object whole; only its
// attributes matter. A resource it cannot read costs its spans their
// service (noted once), not the rest of the file.
func (d *decoder) resourceAttrs(info *resourceInfo) error {
	line := d.s.Line()
	raw, err := d.s.Raw()
	if err != nil {
		return err
	}
	v, err := d.p.ParseBytes(raw)
	if err != nil {
		d.c.Note(d.srcName, 0, "bad resource", fmt.Sprintf("line %d: %v; expected a resource object; its spans get no service", line, err))
		return nil
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeObject:
	default:
		d.c.Note(d.srcName, 0, "bad resource", fmt.Sprintf("line %d: found a %s, expected a resource object; its spans get no service", line, v.Type()))
		return nil
	}
	d.attrs.Reset()
	d.keptAttrs(&d.attrs, v.Get("attributes"))
	info.attrs = d.c.Attrs(&d.attrs)
	var instanceID, host []byte
	for _, kv := range attrList(v.Get("attributes")) {
		switch string(kv.GetStringBytes("key")) {
		case "service.name":
			if s := stringValue(kv); len(s) > 0 {
				info.service = d.c.Intern(s)
			}
		case "service.instance.id":
			instanceID = stringValue(kv)
		case "host.name":
			host = stringValue(kv)
		}
	}
	switch {
	case len(instanceID) > 0:
		info.instance = d.c.Intern(instanceID)
	case len(host) > 0:
		info.instance = d.c.Intern(host)
	}
	return nil
}

func (d *decoder) scopes() error { return d.objects("scope", d.scope) }

func (d *decoder) scope() error {
	if err := d.s.BeginObject(); err != nil {
		return err
	}
	for {
		key, ok, err := d.s.NextKey()
		if err != nil || !ok {
			return err
		}
		if string(key) == "spans" {
			if err := d.spans(); err != nil {
				return err
			}
			continue
		}
		if err := d.s.Skip(); err != nil {
			return err
		}
	}
}

func (d *decoder) spans() error {
	if isNull, err := d.null(); isNull || err != nil {
		return err
	}
	if err := d.s.BeginArray(); err != nil {
		return fmt.Errorf("spans: %w", err)
	}
	for {
		more, err := d.s.NextElem()
		if err != nil {
			return fmt.Errorf("after span record %d: %w", d.records, err)
		}
		if !more {
			return nil
		}
		d.records++
		if d.records%ctxEvery == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		line := d.s.Line()
		raw, err := d.s.Raw()
		if err != nil {
			return fmt.Errorf("span record %d: %w", d.records, err)
		}
		d.span(raw, d.records, line)
	}
}

// attrList returns the elements of an OTLP attribute list, or nil when v is
// not an array.
func attrList(v *fastjson.Value) []*fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	a, _ := v.Array()
	return a
}

// stringValue returns the string of a {key, value:{stringValue}} attribute,
// or nil when the value is missing or of another type.
func stringValue(kv *fastjson.Value) []byte {
	v := kv.Get("value")
	if v == nil {
		return nil
	}
	s := v.Get("stringValue")
	if s == nil {
		s = v.Get("string_value")
	}
	if s == nil || s.Type() != fastjson.TypeString {
		return nil
	}
	b, _ := s.StringBytes()
	return b
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
