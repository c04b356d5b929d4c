package simulate

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/otlp"
	"github.com/tracesim/tracesim/trace/zipkin"
)

// EmitEpoch is the wall-clock time that virtual time 0 of an emitted trace
// file maps to, so the same inputs and seed give byte-identical files.
var EmitEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultEmitMax is the default cap on emitted requests (--emit-max).
const DefaultEmitMax = 10000

// emitter collects the spans of the first max measured requests of
// replication 0 and writes them as synthetic traces.
//
// Mapping from sim.SpanRecord to trace.Span:
//   - TraceID is the request number (Low; High 0), span ids are sim's;
//   - times are EmitEpoch + virtual time;
//   - a root span starts at the request's arrival (its queue wait at the
//     entry included), so its duration is the request's end-to-end
//     latency; every other server span starts when its execution got a
//     worker (queue wait excluded: it is the gap inside the client span,
//     which is where a real tracer would show it);
//   - Instance is "service-<i>"; Flags carry error and async; a client
//     span's Peer is the callee's service;
//   - a peer service of the model (Service.Peer) reports no spans, as a
//     database seen only from its callers' client spans does.
//
// Requests are numbered in arrival order, so the first max ones are kept
// and the rest are dropped as their spans come; at most max requests are
// buffered. A request whose root span never came (cut off by --requests)
// is left out of the file and counted in Incomplete.
//
// Zipkin keeps whole microseconds; rounding start and duration separately
// could make a span end a microsecond after the next one starts (two
// sequential calls would read back as parallel), so for Zipkin both ends
// of every span are rounded down to the microsecond first (quantum), which
// keeps every order between span ends and starts. A span shorter than that
// keeps a duration of one quantum.
type emitter struct {
	max     int
	peers   map[string]bool // services that report no spans
	quantum int64           // ns; span ends are rounded down to a multiple of it
	reqs    [][]trace.Span  // by request number − 1
	roots   []bool
	epoch   int64
}

func newEmitter(max int, format string, peers map[string]bool) *emitter {
	q := int64(1)
	if format == "" || format == "zipkin" {
		q = 1000
	}
	return &emitter{max: max, quantum: q, epoch: EmitEpoch.UnixNano(), peers: peers}
}

// add is the sim.Config.OnSpan hook.
func (em *emitter) add(r sim.SpanRecord) {
	if r.Request < 1 || r.Request > int64(em.max) || r.Kind == sim.SpanServer && em.peers[r.Service] {
		return
	}
	i := int(r.Request - 1)
	for len(em.reqs) <= i {
		em.reqs = append(em.reqs, nil)
		em.roots = append(em.roots, false)
	}
	sp := trace.Span{
		TraceID:  trace.TraceID{Low: uint64(r.Request)},
		ID:       trace.SpanID(r.ID),
		ParentID: trace.SpanID(r.Parent),
		Service:  r.Service,
		Name:     r.Operation,
		Instance: fmt.Sprintf("%s-%d", r.Service, r.Instance),
		Kind:     trace.KindServer,
	}
	start := r.Start
	if r.Kind == sim.SpanClient {
		sp.Kind = trace.KindClient
		sp.Peer = r.PeerService
	} else if r.Parent == 0 {
		start = r.Arrive
		em.roots[i] = true
	}
	sp.Start = em.floor(em.epoch + start)
	sp.Duration = max(em.floor(em.epoch+r.End)-sp.Start, em.quantum)
	if r.Error {
		sp.Flags |= trace.FlagError
	}
	if r.Async {
		sp.Flags |= trace.FlagAsync
	}
	em.reqs[i] = append(em.reqs[i], sp)
}

func (em *emitter) floor(t int64) int64 { return t - t%em.quantum }

// spans returns the spans of the complete requests, request by request,
// each request's spans in start order (ties: parents first, by id), and
// the counts of requests written and of incomplete ones left out.
func (em *emitter) spans() (out []trace.Span, written, incomplete int) {
	n := 0
	for _, r := range em.reqs {
		n += len(r)
	}
	out = make([]trace.Span, 0, n)
	for i, r := range em.reqs {
		if !em.roots[i] {
			if len(r) > 0 {
				incomplete++
			}
			continue
		}
		// Records come in end order; a stable order by start reads more
		// naturally and keeps the file deterministic.
		sortSpans(r)
		out = append(out, r...)
		written++
	}
	return out, written, incomplete
}

func sortSpans(s []trace.Span) {
	slices.SortStableFunc(s, func(a, b trace.Span) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// EmitFormats are the formats --emit-format accepts.
var EmitFormats = []string{"zipkin", "otlp"}

func encoder(format string) (func(io.Writer, []trace.Span) error, error) {
	switch format {
	case "", "zipkin":
		return zipkin.Encode, nil
	case "otlp":
		return otlp.Encode, nil
	}
	return nil, fmt.Errorf("--emit-format %q: want zipkin or otlp", format)
}

// write encodes the collected traces to path.
func (em *emitter) write(path, format string) (written, spans, incomplete int, err error) {
	enc, err := encoder(format)
	if err != nil {
		return 0, 0, 0, err
	}
	all, written, incomplete := em.spans()
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("--emit-traces: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = enc(bw, all)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("writing traces to %s: %w", path, err)
	}
	return written, len(all), incomplete, nil
}

// emitter checks the --emit-* flags and returns the collector, or nil
// when no traces are to be written.
func (o *Options) emitter(m *topology.Model) (*emitter, error) {
	if o.EmitTraces == "" {
		return nil, nil
	}
	if _, err := encoder(o.EmitFormat); err != nil {
		return nil, err
	}
	if o.EmitMax < 1 {
		return nil, fmt.Errorf("--emit-max %d: need at least 1", o.EmitMax)
	}
	peers := map[string]bool{}
	if m != nil {
		for name, s := range m.Services {
			if s != nil && s.Peer {
				peers[name] = true
			}
		}
	}
	return newEmitter(o.EmitMax, o.EmitFormat, peers), nil
}

// writeTraces writes the collected traces and says so on ErrOut.
func (o *Options) writeTraces(em *emitter) error {
	n, spans, incomplete, err := em.write(o.EmitTraces, o.EmitFormat)
	if err != nil {
		return err
	}
	format := o.EmitFormat
	if format == "" {
		format = "zipkin"
	}
	fmt.Fprintf(o.IO.ErrOut, "wrote %d traces (%d spans, %s) to %s\n", n, spans, format, o.EmitTraces)
	if incomplete > 0 {
		o.IO.Warnf("%d requests still in flight when the run stopped were left out of %s", incomplete, o.EmitTraces)
	}
	return nil
}
