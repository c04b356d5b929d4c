package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// Memory does not grow with the number of requests: state lives in
// recycled slabs and latencies in bounded histograms.
func TestMemoryBounded(t *testing.T) {
	alloc := func(d time.Duration) (bytes uint64, reqs int64) {
		cfg := Config{Model: queueModel(1, 1, 80, expo(t, 10)), Duration: d, Seed: 1}
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		r := run(t, cfg)
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc, r.Endpoints[0].Requests
	}
	b1, n1 := alloc(500 * time.Second)
	b2, n2 := alloc(4000 * time.Second)
	t.Logf("%d requests: %d B allocated (%.2f B/request); %d requests: %d B (%.2f B/request)",
		n1, b1, float64(b1)/float64(n1), n2, b2, float64(b2)/float64(n2))
	// 8× the requests may not allocate more than 1.5× the bytes.
	if float64(b2) > 1.5*float64(b1) {
		t.Errorf("allocation grows with requests: %d B for %d requests vs %d B for %d", b2, n2, b1, n1)
	}
}

func benchRun(b *testing.B, cfg Config) {
	b.ReportAllocs()
	var events int64
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		cfg.Seed = uint64(i)
		r, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
	}
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// BenchmarkMM1 is the engine on M/M/1 (λ=80/s, 10 ms), 1000 simulated s
// per op: compare its events/s with BenchmarkBareHeapMM1.
func BenchmarkMM1(b *testing.B) {
	benchRun(b, Config{Model: queueModel(1, 1, 80, expo(b, 10)), Duration: 1000 * time.Second})
}

// bareEvent and bareHeap are the baseline: the least an M/M/1 simulation
// on a typed binary heap can do (no model, no statistics beyond a sum).
type bareEvent struct {
	t    float64
	seq  uint64
	kind uint8
}

type bareHeap []bareEvent

func (h *bareHeap) push(e bareEvent) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].t < s[i].t || (s[p].t == s[i].t && s[p].seq < s[i].seq) {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *bareHeap) pop() bareEvent {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && (s[r].t < s[l].t || (s[r].t == s[l].t && s[r].seq < s[l].seq)) {
			l = r
		}
		if s[i].t < s[l].t || (s[i].t == s[l].t && s[i].seq < s[l].seq) {
			break
		}
		s[i], s[l] = s[l], s[i]
		i = l
	}
	*h = s
	return top
}

func bareMM1(seed uint64, horizon float64) (events int64, meanSojourn float64) {
	arr := rand.New(rand.NewPCG(seed, 1))
	svc := rand.New(rand.NewPCG(seed, 2))
	const lambda, mu = 80.0, 100.0
	var h bareHeap
	var seq uint64
	var fifo []float64 // arrival times of queued and in-service requests
	head := 0
	var sum float64
	var done int64
	h.push(bareEvent{t: arr.ExpFloat64() / lambda, seq: seq})
	for len(h) > 0 {
		e := h.pop()
		events++
		seq++
		switch e.kind {
		case 0: // arrival
			fifo = append(fifo, e.t)
			if len(fifo)-head == 1 {
				h.push(bareEvent{t: e.t + svc.ExpFloat64()/mu, seq: seq, kind: 1})
			}
			if nt := e.t + arr.ExpFloat64()/lambda; nt < horizon {
				h.push(bareEvent{t: nt, seq: seq})
			}
		case 1: // departure
			sum += e.t - fifo[head]
			done++
			head++
			if head == len(fifo) {
				fifo, head = fifo[:0], 0
			}
			if len(fifo)-head > 0 {
				h.push(bareEvent{t: e.t + svc.ExpFloat64()/mu, seq: seq, kind: 1})
			}
		}
	}
	return events, sum / float64(done)
}

func BenchmarkBareHeapMM1(b *testing.B) {
	var events int64
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		n, _ := bareMM1(uint64(i), 1000)
		events += n
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// model40 is a 40-span request: a root calling 13 operations (in
// parallel, sequentially and in a pool), each of which calls two leaves.
func model40(tb testing.TB) *topology.Model {
	m := &topology.Model{Services: map[string]*topology.Service{}, Operations: map[string]*topology.Operation{}}
	for s := range 5 {
		m.Services[fmt.Sprintf("s%d", s)] = &topology.Service{Instances: 2, Workers: 64}
	}
	m.Services["front"] = &topology.Service{Instances: 2, Workers: 256}
	mid := make([]*topology.Call, 13)
	for i := range mid {
		name := fmt.Sprintf("s%d/mid%d", i%5, i)
		leafA := fmt.Sprintf("s%d/leaf%da", (i+1)%5, i)
		leafB := fmt.Sprintf("s%d/leaf%db", (i+2)%5, i)
		m.Operations[leafA] = &topology.Operation{ErrorRate: 0.001, Shapes: one(work(expo(tb, 0.5)))}
		m.Operations[leafB] = &topology.Operation{Shapes: one(work(expo(tb, 0.3)))}
		m.Operations[name] = &topology.Operation{Shapes: one(
			work(expo(tb, 0.2)),
			&topology.Step{Call: &topology.Call{Target: leafA, Network: expo(tb, 0.1), Retries: &topology.Retry{Max: 1}}},
			&topology.Step{Call: &topology.Call{Target: leafB, Network: expo(tb, 0.1), Optional: true}},
			work(expo(tb, 0.1)),
		)}
		mid[i] = &topology.Call{Target: name, Network: expo(tb, 0.2), Timeout: time.Second}
	}
	m.Operations["front/root"] = &topology.Operation{Entry: &topology.Entry{Rate: 100}, Shapes: one(
		work(expo(tb, 0.5)),
		&topology.Step{Parallel: mid[0:4]},
		&topology.Step{Call: mid[4]},
		&topology.Step{Call: mid[5]},
		&topology.Step{Parallel: mid[6:9]},
		&topology.Step{Pool: &topology.Pool{Size: 2, Calls: mid[9:13]}},
		work(expo(tb, 0.5)),
	)}
	return m
}

// Benchmark40Span runs the 40-span model at 100 req/s for 100 simulated
// seconds per op; sim-hour-s is the wall time one simulated hour takes.
func Benchmark40Span(b *testing.B) {
	cfg := Config{Model: model40(b), Duration: 100 * time.Second}
	b.ReportAllocs()
	var events int64
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		cfg.Seed = uint64(i)
		r, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		events += r.Events
	}
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(events)/float64(b.N)/100/100, "events/request")
	b.ReportMetric(sec/float64(b.N)*36, "sim-hour-s")
}

func TestModel40Spans(t *testing.T) {
	r := run(t, Config{Model: model40(t), Duration: 10 * time.Second, Seed: 1})
	var spans int64
	for _, op := range r.Operations {
		spans += op.Requests
	}
	per := float64(spans) / float64(r.Endpoints[0].Requests)
	t.Logf("%.2f spans per request, %d events, p50 %.2f ms", per, r.Events, r.Endpoints[0].Latency.Quantile(0.5)/ms)
	if per < 39.9 || per > 40.2 { // retries add a few spans
		t.Errorf("%.2f spans per request, want ≈ 40", per)
	}
}
