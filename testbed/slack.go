package testbed

import (
	"context"
	"slices"
	"sync"
	"time"
)

// SlackProbe measures how late this machine wakes a goroutine that sleeps
// the way the testbed's handlers sleep. On an idle machine a sleep ends
// tens of microseconds late; on a machine whose cores are busy with other
// work (a parallel `go test ./...`, a noisy neighbour) it ends up to
// milliseconds late, and so does every hop and every work step of the
// testbed. Anything that compares the testbed's latencies against an
// expectation should run a probe beside the measurement and allow for the
// slack it reports, instead of a bound tuned on a quiet machine.
//
// The probe keeps its most recent samples only (a ring), so it can run
// for as long as a test binary does.
type SlackProbe struct {
	period time.Duration
	stop   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	ring    []time.Duration
	written int // samples ever taken
}

// probeRing bounds the samples a probe keeps: at 2 ms per sample, the last
// ~16 s of a run.
const probeRing = 8192

// StartSlackProbe starts a goroutine that sleeps period (≥ 100 µs) again
// and again and records how much longer each sleep took. Stop ends it.
func StartSlackProbe(period time.Duration) *SlackProbe {
	period = max(period, 100*time.Microsecond)
	p := &SlackProbe{period: period, stop: make(chan struct{}), done: make(chan struct{}),
		ring: make([]time.Duration, probeRing)}
	go p.loop()
	return p
}

func (p *SlackProbe) loop() {
	defer close(p.done)
	ctx := context.Background()
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		t0 := time.Now()
		if err := preciseSleep(ctx, p.period, p.stop); err != nil {
			return
		}
		late := time.Since(t0) - p.period
		p.mu.Lock()
		p.ring[p.written%probeRing] = max(late, 0)
		p.written++
		p.mu.Unlock()
	}
}

// Stop ends the probe and waits for its goroutine.
func (p *SlackProbe) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// Mark returns a position in the probe's samples: Since(mark) describes
// the samples taken after it.
func (p *SlackProbe) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// Slack is the distribution of how late sleeps woke up.
type Slack struct {
	N                   int
	Mean, P50, P90, Max time.Duration
}

// Since describes the samples taken since mark (at most the last
// probeRing of them). With no sample yet it waits for one, so that a
// bound derived from it is never computed from nothing.
func (p *SlackProbe) Since(mark int) Slack {
	for range 1000 {
		p.mu.Lock()
		n := p.written - mark
		p.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case <-p.done:
		case <-time.After(p.period):
			continue
		}
		break
	}
	p.mu.Lock()
	n := min(p.written-mark, probeRing)
	xs := make([]time.Duration, 0, max(n, 0))
	for i := p.written - n; i < p.written; i++ {
		xs = append(xs, p.ring[i%probeRing])
	}
	p.mu.Unlock()
	if len(xs) == 0 {
		return Slack{}
	}
	slices.Sort(xs)
	var sum time.Duration
	for _, x := range xs {
		sum += x
	}
	q := func(f float64) time.Duration { return xs[min(int(f*float64(len(xs))), len(xs)-1)] }
	return Slack{N: len(xs), Mean: sum / time.Duration(len(xs)), P50: q(0.5), P90: q(0.9), Max: xs[len(xs)-1]}
}
