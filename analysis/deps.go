// Service dependencies (the service map): who calls whom, how often, how
// often it fails and how long it takes, including callees that are not
// instrumented and show up only as the peer named by a client span.

package analysis

import (
	"cmp"
	"slices"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/trace"
)

// Dependency is one caller → callee service edge.
type Dependency struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Calls  int    `json:"calls"`
	Errors int    `json:"errors"`
	// ErrorRate is Errors / Calls. A call fails when its client span or
	// its server span is marked as an error.
	ErrorRate float64 `json:"error_rate"`
	// Latency is the caller's view: the client span's duration, or the
	// server span's when the caller recorded no client span. Timed counts
	// the calls it is computed from.
	Latency Latency `json:"latency_ms"`
	Timed   int     `json:"timed"`
	// Uninstrumented is true when To executes no operation of its own (no
	// server, consumer or root span): it is known only as the peer of
	// client spans (trace.PeerName), or only by client spans its tracer
	// reported under its name.
	Uninstrumented bool `json:"uninstrumented"`
}

type depKey struct{ from, to string }

type depAcc struct {
	calls, errors, timed int
	h                    hist.Hist
}

func clientSide(k trace.Kind) bool { return trace.IsClientSide(k) }
func serverSide(k trace.Kind) bool { return trace.IsServerSide(k) }

// Dependencies counts service-to-service calls in traces, sorted by caller
// then callee. A call is a span whose parent is in another service, or a
// server-side span under a client-side span (a service calling itself
// through the network); a client-side span with no server-side child is a
// call to the peer trace.PeerName names, if any (a span reported under
// the peer's own name already counts as a call from its parent's
// service). One client span reaching two servers (a broadcast) is two
// calls.
func Dependencies(traces []trace.Trace) []Dependency {
	acc := make(map[depKey]*depAcc)
	executing := make(map[string]bool)
	var matched []bool
	record := func(from, to string, s *trace.Span, failed bool) {
		k := depKey{from, to}
		a := acc[k]
		if a == nil {
			a = &depAcc{}
			acc[k] = a
		}
		a.calls++
		if failed {
			a.errors++
		}
		if !untimed(s) {
			a.timed++
			a.h.Record(s.Duration)
		}
	}
	for ti := range traces {
		t := &traces[ti]
		matched = slices.Grow(matched[:0], len(t.Spans))[:len(t.Spans)]
		clear(matched)
		for i := range t.Spans {
			s := &t.Spans[i]
			p := t.Parent[i]
			if p < 0 || serverSide(s.Kind) {
				executing[s.Service] = true
			}
			if p < 0 {
				continue
			}
			ps := &t.Spans[p]
			viaClient := clientSide(ps.Kind) && serverSide(s.Kind)
			if !viaClient && ps.Service == s.Service {
				continue
			}
			failed := s.Has(trace.FlagError) || ps.Has(trace.FlagError)
			if clientSide(ps.Kind) {
				matched[p] = true
				record(ps.Service, s.Service, ps, failed)
			} else {
				record(ps.Service, s.Service, s, failed)
			}
		}
		for i := range t.Spans {
			s := &t.Spans[i]
			if matched[i] {
				continue
			}
			if peer := t.PeerName(int32(i)); peer != "" && peer != s.Service {
				record(s.Service, peer, s, s.Has(trace.FlagError))
			}
		}
	}
	out := make([]Dependency, 0, len(acc))
	for k, a := range acc {
		d := Dependency{From: k.from, To: k.to, Calls: a.calls, Errors: a.errors, Timed: a.timed,
			Latency: LatencyOf(&a.h), Uninstrumented: !executing[k.to]}
		d.ErrorRate = round(float64(a.errors)/float64(a.calls), 6)
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y Dependency) int {
		if c := cmp.Compare(x.From, y.From); c != 0 {
			return c
		}
		return cmp.Compare(x.To, y.To)
	})
	return out
}
