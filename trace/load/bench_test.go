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
	"strings"
	"sync"
	"testing"

	"github.com/tracesim/tracesim/internal/tracegen"
	"github.com/tracesim/tracesim/trace"
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
	spans := tracegen.Generate(tracegen.Options{Traces: benchSpans() / 40, SpansPerTrace: 40, Services: 20, Seed: 1, Exact: true})
	benchFiles.spans = len(spans)
	p := filepath.Join(benchFiles.dir, format+".json")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeRealistic(w, format, spans); err != nil {
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

// writeRealistic writes spans the way instrumented HTTP services report
// them: with the usual tags (method, URL, status, component, instance),
// about 450 bytes a span in Zipkin v2, so that the benchmark parses what
// real files hold and not only the fields tracesim keeps.
func writeRealistic(w io.Writer, format string, spans []trace.Span) error {
	tags := func(s *trace.Span) [][2]string {
		return [][2]string{
			{"http.method", "GET"},
			{"http.url", "http://" + s.Service + ".shop.svc.cluster.local:8080/api/v1/" + s.Name + "?page=2&size=50"},
			{"http.status_code", "200"},
			{"component", "net/http"},
			{"peer.hostname", s.Instance},
		}
	}
	kindUpper := func(k trace.Kind) string { return strings.ToUpper(k.String()) }
	switch format {
	case Zipkin:
		io.WriteString(w, "[")
		for i := range spans {
			s := &spans[i]
			if i > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"traceId":"%s","id":"%s",`, s.TraceID, s.ID)
			if s.ParentID != 0 {
				fmt.Fprintf(w, `"parentId":"%s",`, s.ParentID)
			}
			fmt.Fprintf(w, `"kind":"%s","name":%q,"timestamp":%d,"duration":%d,"localEndpoint":{"serviceName":%q,"ipv4":%q,"port":8080},`,
				kindUpper(s.Kind), s.Name, s.Start/1000, s.Duration/1000, s.Service, s.Instance)
			if s.Peer != "" {
				fmt.Fprintf(w, `"remoteEndpoint":{"serviceName":%q,"ipv4":"10.1.0.9","port":3306},`, s.Peer)
			}
			io.WriteString(w, `"tags":{`)
			for j, t := range tags(s) {
				if j > 0 {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, "%q:%q", t[0], t[1])
			}
			io.WriteString(w, "}}\n")
		}
		_, err := io.WriteString(w, "]\n")
		return err
	case Jaeger:
		io.WriteString(w, `{"data":[`)
		for lo := 0; lo < len(spans); {
			hi := lo
			for hi < len(spans) && spans[hi].TraceID == spans[lo].TraceID {
				hi++
			}
			if lo > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"traceID":"%s","spans":[`, spans[lo].TraceID)
			procs := map[string]string{}
			var order []string
			for i := lo; i < hi; i++ {
				s := &spans[i]
				pid, ok := procs[s.Service+" "+s.Instance]
				if !ok {
					pid = fmt.Sprintf("p%d", len(procs)+1)
					procs[s.Service+" "+s.Instance] = pid
					order = append(order, s.Service+" "+s.Instance)
				}
				if i > lo {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, `{"traceID":"%s","spanID":"%s","operationName":%q,"references":[`, s.TraceID, s.ID, s.Name)
				if s.ParentID != 0 {
					fmt.Fprintf(w, `{"refType":"CHILD_OF","traceID":"%s","spanID":"%s"}`, s.TraceID, s.ParentID)
				}
				fmt.Fprintf(w, `],"startTime":%d,"duration":%d,"tags":[{"key":"span.kind","type":"string","value":%q}`, s.Start/1000, s.Duration/1000, s.Kind.String())
				for _, t := range tags(s) {
					fmt.Fprintf(w, `,{"key":%q,"type":"string","value":%q}`, t[0], t[1])
				}
				if s.Peer != "" {
					fmt.Fprintf(w, `,{"key":"peer.service","type":"string","value":%q}`, s.Peer)
				}
				fmt.Fprintf(w, `],"logs":[],"processID":%q,"warnings":null}`+"\n", pid)
			}
			io.WriteString(w, `],"processes":{`)
			for j, k := range order {
				if j > 0 {
					io.WriteString(w, ",")
				}
				svc, inst, _ := strings.Cut(k, " ")
				fmt.Fprintf(w, `%q:{"serviceName":%q,"tags":[{"key":"hostname","type":"string","value":%q}]}`, procs[k], svc, inst)
			}
			io.WriteString(w, `},"warnings":null}`)
			lo = hi
		}
		_, err := io.WriteString(w, `],"total":0,"limit":0,"offset":0,"errors":null}`+"\n")
		return err
	default:
		// One resourceSpans per batch of 1000 spans, as an SDK's batch
		// exporter sends them; the resource is the batch's first service.
		io.WriteString(w, `{"resourceSpans":[`)
		for lo := 0; lo < len(spans); lo += 1000 {
			hi := min(lo+1000, len(spans))
			if lo > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":%q}},{"key":"service.instance.id","value":{"stringValue":%q}}]},"scopeSpans":[{"scope":{"name":"otelhttp"},"spans":[`,
				spans[lo].Service, spans[lo].Instance)
			for i := lo; i < hi; i++ {
				s := &spans[i]
				if i > lo {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, `{"traceId":"%s","spanId":"%s","parentSpanId":"%s","name":%q,"kind":%d,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[`,
					s.TraceID, s.ID, parentHex(s.ParentID), s.Name, s.Kind, s.Start, s.End())
				for j, t := range tags(s) {
					if j > 0 {
						io.WriteString(w, ",")
					}
					fmt.Fprintf(w, `{"key":%q,"value":{"stringValue":%q}}`, t[0], t[1])
				}
				io.WriteString(w, `],"status":{}}`+"\n")
			}
			io.WriteString(w, `]}]}`)
		}
		_, err := io.WriteString(w, "]}\n")
		return err
	}
}

func parentHex(id trace.SpanID) string {
	if id == 0 {
		return ""
	}
	return id.String()
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
					b.Fatalf("bare decode read %d spans, want %d", got, n)
				}
			}
			report(b, path, n)
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}
