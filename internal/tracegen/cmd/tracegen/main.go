// Command tracegen writes synthetic traces (see package tracegen) in any
// format tracesim reads. It makes the benchmark inputs and the example and
// test fixtures:
//
//	go run ./internal/tracegen/cmd/tracegen -format zipkin -traces 25000 -spans 40 -exact -o big.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tracesim/tracesim/internal/tracegen"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/jaeger"
	"github.com/tracesim/tracesim/trace/otlp"
	"github.com/tracesim/tracesim/trace/zipkin"
)

func main() {
	format := flag.String("format", "zipkin", "zipkin, jaeger or otlp")
	traces := flag.Int("traces", 100, "number of traces")
	spans := flag.Int("spans", 40, "spans per trace (approximate)")
	services := flag.Int("services", 20, "number of services")
	seed := flag.Uint64("seed", 1, "random seed")
	exact := flag.Bool("exact", false, "give every trace exactly -spans spans (benchmarks)")
	out := flag.String("o", "-", "output file")
	flag.Parse()
	if err := run(*format, *out, tracegen.Options{Traces: *traces, SpansPerTrace: *spans, Services: *services, Seed: *seed, Exact: *exact}); err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
}

func run(format, out string, opt tracegen.Options) error {
	var enc func(io.Writer, []trace.Span) error
	switch format {
	case "zipkin":
		enc = zipkin.Encode
	case "jaeger":
		enc = jaeger.Encode
	case "otlp":
		enc = otlp.Encode
	default:
		return fmt.Errorf("unknown format %q", format)
	}
	w := os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := enc(bw, tracegen.Generate(opt)); err != nil {
		return err
	}
	return bw.Flush()
}
