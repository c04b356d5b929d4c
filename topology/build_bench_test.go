package topology

import (
	"context"
	"testing"

	"github.com/tracesim/tracesim/internal/tracegen"
	"github.com/tracesim/tracesim/trace"
)

// BenchmarkBuild: the model of 25,000 generated traces of 40 spans (1M
// spans), queue inference included; with CapacityNone for comparison.
func BenchmarkBuild(b *testing.B) {
	c := &trace.Collector{}
	c.AddSource("gen")
	c.Spans = tracegen.Generate(tracegen.Options{Traces: 25000, SpansPerTrace: 40, Services: 20, Seed: 1, Exact: true})
	res, err := trace.Assemble(context.Background(), c, trace.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{CapacityInfer, CapacityNone} {
		name := mode
		if name == "" {
			name = "infer"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Build(context.Background(), res, BuildOptions{Capacity: mode}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
