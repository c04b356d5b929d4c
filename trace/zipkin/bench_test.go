package zipkin

import (
	"bytes"
	"context"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

// BenchmarkDecode decodes 100k realistic v2 spans (40-span traces over 20
// services, HTTP tags, ~450 bytes each) per iteration.
func BenchmarkDecode(b *testing.B) {
	const n = 100_000
	data := encodeGen(genTraces(n, 1))
	b.SetBytes(int64(len(data)))
	c := &trace.Collector{}
	src := c.AddSource("bench")
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		c.Spans = c.Spans[:0]
		if err := Decode(context.Background(), bytes.NewReader(data), src, c); err != nil {
			b.Fatal(err)
		}
		if len(c.Spans) != n {
			b.Fatalf("%d spans", len(c.Spans))
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(len(data))/n, "bytes/span")
	if cpu > 0 {
		// Spans per second of this process's CPU time (GC included): on a
		// shared machine this is steadier than wall time.
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "spans/cpu-s")
	}
}

func BenchmarkEncode(b *testing.B) {
	gen := genTraces(100_000, 1)
	spans := make([]trace.Span, len(gen))
	for i := range gen {
		spans[i] = gen[i].span
	}
	var buf bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := Encode(&buf, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(spans)*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkDecodeLines decodes the same spans written one object per line
// (the top-level object path, which walks each span's members itself).
func BenchmarkDecodeLines(b *testing.B) {
	const n = 100_000
	gen := genTraces(n, 1)
	var data []byte
	for i := range gen {
		data = appendSpan(data, &gen[i].span, gen[i].tags)
		data = append(data, '\n')
	}
	b.SetBytes(int64(len(data)))
	c := &trace.Collector{}
	src := c.AddSource("bench")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Spans = c.Spans[:0]
		if err := Decode(context.Background(), bytes.NewReader(data), src, c); err != nil {
			b.Fatal(err)
		}
		if len(c.Spans) != n {
			b.Fatalf("%d spans, findings %v", len(c.Spans), c.Findings)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
}
