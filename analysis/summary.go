// Package analysis turns assembled traces and simulation results into the
// numbers users read: per-endpoint latency summaries, confidence intervals,
// deltas, critical paths and the other views. It reads no files and draws
// nothing.
package analysis

import (
	"cmp"
	"slices"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/trace"
)

// Latency is the latency block of every JSON document: milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// LatencyOf reads the latency block from a histogram of nanoseconds.
func LatencyOf(h *hist.Hist) Latency {
	if h.Count() == 0 {
		return Latency{}
	}
	ms := func(ns float64) float64 { return round(ns/1e6, 6) }
	return Latency{
		Mean: ms(h.Mean()),
		P50:  ms(h.Quantile(0.50)),
		P90:  ms(h.Quantile(0.90)),
		P99:  ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)),
	}
}

// round keeps JSON output short and stable: nanosecond precision on
// millisecond values.
func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	v := x * p
	if v < 0 {
		return -float64(int64(-v+0.5)) / p
	}
	return float64(int64(v+0.5)) / p
}

// EndpointSummary describes one operation as seen in traces.
type EndpointSummary struct {
	Endpoint string `json:"endpoint"` // service/operation
	Kind     string `json:"kind"`     // server, client, internal, ...
	Count    int    `json:"count"`    // spans
	Roots    int    `json:"roots"`    // spans that started a trace (entry points)
	// Timed counts spans with a duration; latency is computed over these.
	Timed     int     `json:"timed"`
	ErrorRate float64 `json:"error_rate"`
	Latency   Latency `json:"latency_ms"`
	Exact     bool    `json:"exact_percentiles"` // false: from the streaming histogram (≤0.1% error)
}

// QualitySummary is the quality block of inspect's JSON.
type QualitySummary struct {
	OrphanSpans       int            `json:"orphan_spans"`
	DuplicateSpans    int            `json:"duplicate_spans"`
	SkewAdjustedSpans int            `json:"skew_adjusted_spans"`
	MergedSharedSpans int            `json:"merged_shared_spans"`
	SkippedRecords    int            `json:"skipped_records"`
	MergedFragments   int            `json:"merged_fragments"`
	DuplicateIDs      int            `json:"duplicate_ids"`
	SelfParentSpans   int            `json:"self_parent_spans"`
	CycleBreaks       int            `json:"cycle_breaks"`
	AsyncSpans        int            `json:"async_spans"`
	MergedTraceIDs    int            `json:"merged_trace_ids"`
	NoServiceSpans    int            `json:"no_service_spans"`
	UntimedSpans      int            `json:"untimed_spans"`
	Reasons           map[string]int `json:"reasons"`
	Findings          []string       `json:"findings"`
}

// Summary is what `tracesim inspect` reports. Peers are the uninstrumented
// callees: the names trace.PeerName gives client and producer spans with
// no server or consumer span below, less the services that execute
// operations of their own (report server, consumer or root spans).
type Summary struct {
	Traces    int               `json:"traces"`
	Spans     int               `json:"spans"`
	Services  []string          `json:"services"`
	Peers     []string          `json:"peers"` // uninstrumented callees, named by trace.PeerName
	Endpoints []EndpointSummary `json:"endpoints"`
	Quality   QualitySummary    `json:"quality"`
}

type endpointKey struct {
	service, name string
	kind          trace.Kind
}

type endpointAcc struct {
	count, roots, errors, timed int
	h                           hist.Hist
}

// Summarize computes the inspect summary of assembled traces. The output
// depends only on the spans, not on their order.
func Summarize(r *trace.Result) *Summary {
	s := &Summary{Traces: len(r.Traces), Spans: len(r.Spans)}
	acc := make(map[endpointKey]*endpointAcc)
	services := make(map[string]bool)
	executing := make(map[string]bool)
	peers := make(map[string]bool)
	q := &s.Quality
	for ti := range r.Traces {
		t := &r.Traces[ti]
		for i := range t.Spans {
			sp := &t.Spans[i]
			k := endpointKey{sp.Service, sp.Name, sp.Kind}
			a := acc[k]
			if a == nil {
				a = &endpointAcc{}
				acc[k] = a
			}
			a.count++
			if t.Parent[i] < 0 {
				a.roots++
			}
			if sp.Has(trace.FlagError) {
				a.errors++
			}
			if sp.Has(trace.FlagNoDuration) || sp.Has(trace.FlagNoStart) {
				q.UntimedSpans++
			}
			if !sp.Has(trace.FlagNoDuration) {
				a.timed++
				a.h.Record(sp.Duration)
			}
			if sp.Has(trace.FlagNoService) {
				q.NoServiceSpans++
			} else {
				services[sp.Service] = true
			}
			if t.Parent[i] < 0 || trace.IsServerSide(sp.Kind) {
				executing[sp.Service] = true
			}
			if p := t.PeerName(int32(i)); p != "" {
				peers[p] = true
			}
		}
	}
	for p := range peers {
		if executing[p] {
			delete(peers, p)
		}
	}
	s.Services = sortedKeys(services)
	s.Peers = sortedKeys(peers)
	for k, a := range acc {
		e := EndpointSummary{
			Endpoint: k.service + "/" + k.name, Kind: k.kind.String(),
			Count: a.count, Roots: a.roots, Timed: a.timed,
			Latency: LatencyOf(&a.h), Exact: a.h.Exact(),
		}
		if a.count > 0 {
			e.ErrorRate = round(float64(a.errors)/float64(a.count), 6)
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	slices.SortFunc(s.Endpoints, func(x, y EndpointSummary) int {
		if c := cmp.Compare(x.Endpoint, y.Endpoint); c != 0 {
			return c
		}
		return cmp.Compare(x.Kind, y.Kind)
	})
	rq := &r.Quality
	q.OrphanSpans, q.DuplicateSpans, q.SkewAdjustedSpans = rq.OrphanSpans, rq.DuplicateSpans, rq.SkewAdjustedSpans
	q.MergedSharedSpans, q.SkippedRecords, q.DuplicateIDs = rq.MergedSharedSpans, rq.SkippedRecords, rq.DuplicateIDs
	q.MergedFragments = rq.MergedFragments
	q.SelfParentSpans, q.CycleBreaks, q.AsyncSpans, q.MergedTraceIDs = rq.SelfParentSpans, rq.CycleBreaks, rq.AsyncSpans, rq.MergedTraceIDs
	q.Reasons = rq.Reasons
	if q.Reasons == nil {
		q.Reasons = map[string]int{}
	}
	q.Findings = make([]string, 0, len(rq.Findings))
	for _, f := range rq.Findings {
		q.Findings = append(q.Findings, f.String())
	}
	if s.Services == nil {
		s.Services = []string{}
	}
	if s.Endpoints == nil {
		s.Endpoints = []EndpointSummary{}
	}
	return s
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
