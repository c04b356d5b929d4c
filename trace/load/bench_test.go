package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/tracesim/tracesim/internal/tracegen"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/jaeger"
	"github.com/tracesim/tracesim/trace/otlp"
	"github.com/tracesim/tracesim/trace/zipkin"
)

// benchSpans is the size of the generated benchmark input (issue #3: at
// least a million spans). BENCH_SPANS overrides it for quick runs.
func benchSpans() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_SPANS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

var benchFiles struct {
	sync.Mutex
	dir   string
	paths map[string]string
	spans int
}

// benchFile writes the generated spans in format once per process and
// returns the file and its span count.
func benchFile(b *testing.B, format string) (string, int) {
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if benchFiles.paths == nil {
		dir, err := os.MkdirTemp("", "tracesim-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchFiles.dir, benchFiles.paths = dir, map[string]string{}
	}
	if p, ok := benchFiles.paths[format]; ok {
		return p, benchFiles.spans
	}
	spans := tracegen.Generate(tracegen.Options{Traces: benchSpans() / 40, SpansPerTrace: 40, Services: 20, Seed: 1})
	benchFiles.spans = len(spans)
	p := filepath.Join(benchFiles.dir, format+".json")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := map[string]func(io.Writer, []trace.Span) error{Zipkin: zipkin.Encode, Jaeger: jaeger.Encode, OTLP: otlp.Encode}[format]
	if err := enc(w, spans); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	benchFiles.paths[format] = p
	return p, len(spans)
}

func report(b *testing.B, path string, spans int) {
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportMetric(float64(spans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(st.Size())/float64(spans), "bytes/span")
}

// BenchmarkDecodeAssemble measures reading a ≥1M-span file and assembling
// its traces, per format.
func BenchmarkDecodeAssemble(b *testing.B) {
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			path, n := benchFile(b, format)
			b.ResetTimer()
			for range b.N {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				c := &trace.Collector{}
				src := c.AddSource(path)
				if _, err := Read(context.Background(), f, format, src, c); err != nil {
					b.Fatal(err)
				}
				f.Close()
				r, err := trace.Assemble(context.Background(), c, trace.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Spans) != n {
					b.Fatalf("assembled %d spans, want %d", len(r.Spans), n)
				}
			}
			report(b, path, n)
		})
	}
}

// The flat structs a bare encoding/json decode fills: the fields a span
// has, nothing more.
type flatZipkin struct {
	TraceID        string            `json:"traceId"`
	ID             string            `json:"id"`
	ParentID       string            `json:"parentId"`
	Name           string            `json:"name"`
	Kind           string            `json:"kind"`
	Timestamp      int64             `json:"timestamp"`
	Duration       int64             `json:"duration"`
	LocalEndpoint  flatEndpoint      `json:"localEndpoint"`
	RemoteEndpoint flatEndpoint      `json:"remoteEndpoint"`
	Tags           map[string]string `json:"tags"`
	Shared         bool              `json:"shared"`
}

type flatEndpoint struct {
	ServiceName string `json:"serviceName"`
	IPv4        string `json:"ipv4"`
	Port        int    `json:"port"`
}

type flatJaeger struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64      `json:"startTime"`
	Duration  int64      `json:"duration"`
	Tags      []flatKV   `json:"tags"`
	ProcessID string     `json:"processID"`
	Logs      []struct{} `json:"logs"`
}

type flatKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type flatOTLP struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
	Kind         int    `json:"kind"`
	Start        string `json:"startTimeUnixNano"`
	End          string `json:"endTimeUnixNano"`
	Attributes   []struct {
		Key   string `json:"key"`
		Value struct {
			StringValue string `json:"stringValue"`
			IntValue    string `json:"intValue"`
		} `json:"value"`
	} `json:"attributes"`
	Status struct {
		Code int `json:"code"`
	} `json:"status"`
}

// bareDecode streams the file with encoding/json's Token API and decodes
// every element of every "spans" array (or of the top-level array, for
// Zipkin) into a flat struct: the baseline issue #3 compares against.
func bareDecode(r io.Reader, format string) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	n := 0
	decodeOne := func() error {
		var err error
		switch format {
		case Zipkin:
			var s flatZipkin
			err = dec.Decode(&s)
		case Jaeger:
			var s flatJaeger
			err = dec.Decode(&s)
		default:
			var s flatOTLP
			err = dec.Decode(&s)
		}
		n++
		return err
	}
	if format == Zipkin {
		if _, err := dec.Token(); err != nil {
			return 0, err
		}
		for dec.More() {
			if err := decodeOne(); err != nil {
				return n, err
			}
		}
		return n, nil
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if tok != "spans" {
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return n, err
		}
		for dec.More() {
			if err := decodeOne(); err != nil {
				return n, err
			}
		}
	}
}

// BenchmarkBareDecode is the baseline: the same files through a plain
// streaming encoding/json decode into flat structs, nothing else.
func BenchmarkBareDecode(b *testing.B) {
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			path, n := benchFile(b, format)
			b.ResetTimer()
			for range b.N {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				got, err := bareDecode(f, format)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatal(fmt.Sprintf("bare decode read %d spans, want %d", got, n))
				}
			}
			report(b, path, n)
		})
	}
}
