// Package load reads trace inputs: files, directories (recursively), "-"
// for standard input, gzip-compressed or not, in any supported format. It
// sniffs each input's format from its first bytes (the extension says
// nothing: Tempo writes OTLP into .json, collectors write JSON Lines) and
// hands the stream to the format's decoder. It never parses a format
// itself.
package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/jaeger"
	"github.com/tracesim/tracesim/trace/otlp"
	"github.com/tracesim/tracesim/trace/zipkin"
)

// Format names accepted by Options.Format.
const (
	Auto   = ""
	Zipkin = "zipkin"
	Jaeger = "jaeger"
	OTLP   = "otlp"
)

// Formats lists the format names a user can force.
var Formats = []string{Zipkin, Jaeger, OTLP}

type decodeFunc func(ctx context.Context, r io.Reader, src uint16, c *trace.Collector) error

func decoder(format string) decodeFunc {
	switch format {
	case Zipkin:
		return zipkin.Decode
	case Jaeger:
		return jaeger.Decode
	case OTLP:
		return otlp.Decode
	}
	return nil
}

// Options control Load.
type Options struct {
	// Format forces a format instead of sniffing each input.
	Format string
	// Strict makes a partially readable input (truncated, corrupt after
	// some spans) an error instead of a counted finding.
	Strict bool
	// Stdin is read for the input "-"; nil means os.Stdin.
	Stdin io.Reader
	// Progress, when not nil, is told how many bytes each input has and
	// how many have been read; the command line draws a bar from it.
	Progress Progress
}

// Progress receives reading progress.
type Progress interface {
	Start(name string, size int64) // size 0 when unknown
	Read(n int)
	Done()
}

// Input is one expanded input path ("-" for stdin) with its size.
type Input struct {
	Name string
	Size int64
}

// Expand turns the command line's paths into inputs: files as they are,
// directories walked recursively in lexical order (hidden entries
// skipped), "-" kept for stdin. A path that does not exist is an error.
func Expand(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		if p == "-" {
			out = append(out, Input{Name: "-"})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, Input{Name: p, Size: st.Size()})
			continue
		}
		var found []Input
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && traceFileName(d.Name()) {
				info, err := d.Info()
				if err != nil {
					return err
				}
				found = append(found, Input{Name: path, Size: info.Size()})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: directory holds no trace files (*.json, *.jsonl, *.ndjson, optionally .gz)", p)
		}
		out = append(out, found...)
	}
	if len(out) == 0 {
		return nil, errors.New("no input files given")
	}
	return out, nil
}

// traceFileName reports whether a file found in a directory walk looks like
// a trace export. Files named on the command line are read whatever their
// name; in a directory, READMEs and the like must not be.
func traceFileName(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	for _, ext := range []string{".json", ".jsonl", ".ndjson"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// Load reads every input into one Collector. An input from which nothing
// usable could be read is an error naming it; an input that breaks off
// after some spans is kept, with a finding that says where and how many
// spans were read (or an error with opt.Strict).
func Load(ctx context.Context, paths []string, opt Options) (*trace.Collector, error) {
	inputs, err := Expand(paths)
	if err != nil {
		return nil, err
	}
	c := &trace.Collector{}
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(c.Sources) >= 1<<16-1 {
			return nil, fmt.Errorf("too many input files (%d); merge them first", len(inputs))
		}
		if err := loadOne(ctx, in, opt, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func loadOne(ctx context.Context, in Input, opt Options, c *trace.Collector) error {
	var r io.Reader
	if in.Name == "-" {
		r = opt.Stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := os.Open(in.Name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if opt.Progress != nil {
		opt.Progress.Start(in.Name, in.Size)
		defer opt.Progress.Done()
		r = &progressReader{r: r, p: opt.Progress}
	}
	src := c.AddSource(in.Name)
	size := in.Size
	if strings.HasSuffix(strings.ToLower(in.Name), ".gz") {
		size *= 20 // JSON traces compress about 10-20 times
	}
	reserve(c, size)
	before, beforeSkipped := len(c.Spans), c.Skipped
	format, err := Read(ctx, r, opt.Format, src, c)
	got := len(c.Spans) - before
	if err == nil {
		if got == 0 && c.Skipped == beforeSkipped {
			return fmt.Errorf("%s: no spans found (%s input with no span records)", in.Name, format)
		}
		if got == 0 {
			return fmt.Errorf("%s: no usable spans: all %d records were skipped; first reason: %s",
				in.Name, c.Skipped-beforeSkipped, firstReason(c, in.Name))
		}
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if got == 0 || opt.Strict {
		name := in.Name
		if format != "" {
			name += " (" + format + ")"
		}
		if n := c.Skipped - beforeSkipped; n > 0 {
			return fmt.Errorf("%s: %w (before that, %d records were skipped; first: %s)", name, err, n, firstReason(c, in.Name))
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	c.Skip(in.Name, 0, "unreadable rest of input",
		fmt.Sprintf("reading stopped: %v; %d spans read before it, the rest of the input was skipped", err, got))
	return nil
}

// minSpanBytes is a lower bound on how many bytes one span takes in any
// format: a Zipkin v2 span with ids, name, times and a service is longer.
const minSpanBytes = 150

// maxReserve caps the up-front reservation (8 GiB of address space).
const maxReserve = 64 << 20

// reserve makes room in c.Spans for as many spans as an input of size
// bytes can hold. Growing a slice by appending copies it again and again
// and leaves the old copies to the garbage collector, which at a million
// spans costs twice the memory of the spans themselves at peak. A generous
// capacity costs nothing until used: the runtime takes fresh, already
// zeroed pages from the kernel and touches only those that spans fill.
func reserve(c *trace.Collector, size int64) {
	if size <= 0 {
		return
	}
	want := len(c.Spans) + int(min(size/minSpanBytes, maxReserve)) + 64
	if cap(c.Spans) >= want {
		return
	}
	grown := make([]trace.Span, len(c.Spans), want)
	copy(grown, c.Spans)
	c.Spans = grown
}

func firstReason(c *trace.Collector, name string) string {
	for _, f := range c.Findings {
		if f.Source == name {
			return f.String()
		}
	}
	return "unknown"
}

// Read decodes one stream (gzip or not) in the given format, sniffing it
// when format is Auto, and returns the format used.
func Read(ctx context.Context, r io.Reader, format string, src uint16, c *trace.Collector) (string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("corrupt gzip header: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(&gzipErrReader{zr}, 64<<10)
	}
	if format == Auto {
		head, err := br.Peek(32 << 10)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
		format, err = Sniff(head)
		if err != nil {
			return "", err
		}
	}
	dec := decoder(format)
	if dec == nil {
		return "", fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	return format, dec(ctx, br, src, c)
}

// gzipErrReader names gzip failures (corrupt data, bad checksum) as such, so
// that they are not mistaken for JSON errors.
type gzipErrReader struct{ r io.Reader }

func (g *gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("corrupt gzip data: %w", err)
	}
	return n, err
}

// Sniff names the format of a trace input from its first bytes.
func Sniff(head []byte) (string, error) {
	trimmed := bytes.TrimSpace(head)
	if len(trimmed) == 0 {
		return "", errors.New("input is empty: expected a Zipkin, Jaeger or OTLP JSON document")
	}
	if trimmed[0] != '{' && trimmed[0] != '[' {
		return "", fmt.Errorf("not JSON: starts with %q; expected a Zipkin, Jaeger or OTLP JSON document", firstChars(trimmed))
	}
	has := func(key string) bool { return bytes.Contains(head, []byte(`"`+key+`"`)) }
	switch {
	case has("resourceSpans") || has("batches") || has("scopeSpans") || has("instrumentationLibrarySpans"):
		return OTLP, nil
	case has("traceID") || has("spanID") || has("processes"):
		return Jaeger, nil
	case has("traceId"):
		return Zipkin, nil
	}
	return "", fmt.Errorf("not a recognised trace format: found none of the keys %q (OTLP), %q (Jaeger) or %q (Zipkin) near the start; use --format to force one",
		"resourceSpans", "traceID", "traceId")
}

func firstChars(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return string(b)
}

type progressReader struct {
	r io.Reader
	p Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.p.Read(n)
	return n, err
}

// SortedReasons returns the reasons of a count map sorted by name, for
// stable output.
func SortedReasons(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
