// Package testbed runs a topology model as a real system: every service
// instance is an HTTP server on 127.0.0.1, every operation an HTTP handler
// that really sleeps its work, really calls other operations over HTTP and
// really queues for a bounded number of workers. The services are
// instrumented with the OpenTelemetry Go SDK, so the testbed writes the
// same kind of traces a production system would, and a load generator
// measures the latency clients see. tracesim's predictions are checked
// against what the testbed measures: the traces of a baseline run go into
// topology.Build, a scenario is predicted from the model, and the same
// scenario is applied to the testbed for real (see Options.Changes).
//
// What the handlers do follows sim's semantics (sim/run.go), so that a
// difference between prediction and measurement is the model's error, not
// a difference of rules:
//
//   - An execution first waits for a worker of its instance (FIFO), then
//     draws whether it fails by itself (Operation.ErrorRate), picks a
//     shape by weight, and runs the shape's steps in order; a self-failed
//     execution still runs its whole shape and then answers 500.
//   - Local work is time.Sleep of a sample of the step's distribution (no
//     CPU is burnt: two cores must emulate many services).
//   - A call goes to an instance of the callee's service chosen round
//     robin (one counter per service, shared by all callers, like sim); a
//     retry goes to another instance than the attempt that failed. The
//     call's network overhead is slept half before sending and half after
//     the response, inside the client span. A timeout counts from the
//     start of the attempt; the callee keeps running. Retries wait
//     Backoff. A failed non-optional call fails the caller at once (the
//     caller stops at that step; calls of the step still running are
//     left to finish unobserved); a failed optional call is ignored.
//     Repeat runs the call sequentially; a parallel group runs its calls
//     concurrently; a pool runs at most Size at once; async calls are
//     fired and forgotten.
//   - Peer services (Service.Peer) are HTTP servers that report no spans,
//     like a database seen only through its callers' client spans. An
//     operation without shapes answers at once.
//   - A pool of size k over {call: X, repeat: n} makes n calls, at most k
//     at once (DESIGN.md's pool; sim compiles it the same way).
//   - A shared pool (Service.Pools) is a real limit in each instance of
//     the service, shared by all the requests it runs (see sharedPool):
//     every attempt of a call through it (Call.Via) holds a slot from
//     before its network overhead until its response was read, after
//     waiting for one; the call's timeout counts the wait, and a call that
//     times out in line gives up its place without being sent; a retry
//     waits again. In-span pools are a sync.Mutex (size 1: Go's mutex,
//     which lets new arrivals barge in ahead of waiters until one has
//     waited 1 ms) or a channel of k tokens (waiters served in order);
//     before-span pools are k worker goroutines that run the attempts
//     handed to them, in order.
//   - Closed-loop users each keep their own keep-alive connection (per
//     entry instance), as wrk's or hey's workers do; open-loop arrivals
//     share a pool of connections.
//
// How the system shows up in its traces (what topology.Build reads):
//
//   - One tracer provider per instance, with resource attributes
//     service.name (the model's service) and service.instance.id
//     ("service-i"), which trace/otlp reads as the span's Instance.
//   - A server span per execution, named after the operation without its
//     service ("GET /a"), so topology.OperationName gives back the model's
//     name. It starts when the execution got a worker: the queue wait is
//     outside it (see instance.ServeHTTP), in the gap between the caller's
//     client span and the server span.
//   - A client span per call attempt (each repetition and retry), made by
//     otelhttp's transport, named after the callee operation and carrying
//     peer.service = the callee's service, so a call to a peer is named
//     "peer/operation" by topology.PeerOperationName. It covers the
//     emulated network overhead, so client minus server duration is that
//     overhead plus the real loopback cost plus the queue wait.
//   - Calls to a peer can be attributed as other instrumentations do
//     (Options.PeerSpans): service.peer.name instead of peer.service; a
//     database client span (db.system.name, db.namespace,
//     db.operation.name, server.address, server.port; no http.*
//     attributes); or that span made by a tracer named after the peer (a
//     tracer provider whose resource says service.name = the peer, no
//     instance), a CLIENT span with the caller's server span as parent and
//     nothing below it. All cover the same time as otelhttp's span and
//     carry the trace context to the peer.
//   - Shared pools show their wait where real ones do. In-span (a lock or
//     a connection pool): inside the client span, which starts before the
//     slot is taken; no span of its own, so the spans of one caller
//     instance's calls through a pool of k overlap by more than k while
//     the callee never runs more than k of them at once. A call that times
//     out waiting leaves a client span of its wait, with an error.
//     Before-span (a worker pool): in the caller's server span, as a gap
//     before the client span, which a worker makes when it runs the call;
//     a caller instance never has more than k such client spans open at
//     once, and when one ends while k are open the next waiting call's
//     span starts at once. A call that times out waiting makes no client
//     span at all (sim's trace has one covering the wait).
//   - W3C tracecontext propagation; every span is sampled; failures set
//     the span status to error (HTTP 500, connection refused, timeout).
//   - Spans of the warm-up requests are exported too.
//
// A Start takes a few milliseconds (3.5 ms for examples/model.yaml):
// listeners are bound before Start returns, so the system accepts
// requests at once. Close takes about as long once the load has ended.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/semaphore"

	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

// Options configure a testbed.
type Options struct {
	// Seed seeds every random draw (work times, network times, errors,
	// shapes, cache keys, arrivals, think times). Real time still varies
	// between runs: the draws are the same, the scheduling is not.
	Seed uint64
	// Changes are applied for real; nil runs the baseline. See the
	// package documentation of Start for how each kind is applied.
	Changes []scenarios.Change
	// Traces, if not nil, receives the spans as OTLP/JSON: one
	// ExportTraceServiceRequest document per line, written through the
	// OpenTelemetry SDK's batch span processor and OTLP exporter. Writes
	// are serialised.
	Traces io.Writer
	// Logf, if not nil, receives notes about the system (listeners,
	// changes applied).
	Logf func(format string, args ...any)
	// PeerSpans chooses, per peer service (Service.Peer), how the client
	// spans of calls to it are made and attributed: PeerSpanPeerService
	// (the default), PeerSpanServicePeerName, PeerSpanDB ("db" or
	// "db:SYSTEM") or PeerSpanComponent. A key that is not a peer of the
	// model is an error.
	PeerSpans map[string]string

	// observe, if set (tests), is called at the end of every execution
	// with its context (a peer's holds its caller's client span) and the
	// times its handler started and ended.
	observe func(o *operation, ctx context.Context, start, end time.Time)
}

// System is a running testbed. Its methods are safe for concurrent use.
type System struct {
	model *topology.Model // the model as run: baseline with the model-level changes applied
	// topology is the baseline as given to Start: closed-loop users are
	// spread over its entries, so a change does not move users.
	topology *topology.Model
	effect   scenarios.Effect
	seed     uint64
	logf     func(string, ...any)
	sink     *jsonSink
	prop     propagation.TextMapPropagator
	styles   map[string]peerStyle // Options.PeerSpans, parsed
	observe  func(o *operation, ctx context.Context, start, end time.Time)
	base     *http.Transport // shared by every client: pooled loopback connections
	svcs     map[string]*service
	ops      map[string]*operation
	entries  []*operation // sorted by name
	caches   []*cache
	pools    map[*topology.Pool][]*topology.Call // each pool's calls, repeats unrolled
	tps      []*sdktrace.TracerProvider
	servers  []*http.Server
	done     chan struct{} // closed by Close: aborts sleeps
	async    sync.WaitGroup
	closed   atomic.Bool
}

// service is one service of the model with its instances.
type service struct {
	name      string
	peer      bool
	disabled  bool // Disable mode fail: its listeners are closed
	instances []*instance
	rr        atomic.Uint64 // round-robin counter, shared by all callers
}

// instance is one listener of a service.
type instance struct {
	svc    *service
	id     string // "service-i", the span's service.instance.id
	addr   string // host:port
	sem    *semaphore.Weighted
	client *http.Client // calls from this instance: client spans with its tracer provider
	// peerClients make the calls to peers whose client spans are not
	// otelhttp's (PeerSpanDB, PeerSpanComponent), by peer.
	peerClients map[string]*http.Client
	// pools are the instance's shared pools (Service.Pools), by name.
	pools map[string]*sharedPool
	conns atomic.Int64 // connections accepted
	tp    trace.TracerProvider
	// handlers are the span-making handlers of the service's operations.
	handlers map[string]http.Handler
}

// operation is one operation of the model with its random streams.
type operation struct {
	name, short string
	svc         *service
	op          *topology.Operation
	cum         []float64 // cumulative shape weights
	shapeRng    *lockedRand
	workRng     *lockedRand
	netRng      *lockedRand // network overhead of its outgoing calls
	errRng      *lockedRand
	batch       *batchCost   // set on a batch endpoint made by a batch change
	served      atomic.Int64 // executions started (after the worker wait)
	failed      atomic.Int64 // executions answered with an error
}

// lockedRand is a random stream shared by concurrent handlers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRand(seed uint64, purpose, name string) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(mix(seed), streamID(purpose, name)))}
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) ExpFloat64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.ExpFloat64()
}

func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

// sample draws a duration from d (nil or negative gives 0).
func (l *lockedRand) sample(d dist.Dist) time.Duration {
	if d == nil {
		return 0
	}
	l.mu.Lock()
	x := d.Sample(l.r)
	l.mu.Unlock()
	if !(x > 0) || math.IsInf(x, 0) {
		return 0
	}
	return time.Duration(x)
}

// streamID derives a stream number from a purpose and a name (FNV-1a), so
// a stream does not depend on how many other operations there are.
func streamID(purpose, name string) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range []string{purpose, "\x00", name} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
	}
	return h
}

// mix scrambles a seed (splitmix64) so nearby seeds give unrelated streams.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Start launches every service of m as HTTP servers on 127.0.0.1, one
// listener per instance on an ephemeral port, with opt.Changes applied for
// real:
//
//   - speedup, scale, parallelize, latency, error, batch, disable skip and
//     disable failover change the model that the handlers run, through
//     scenarios.Apply, so they mean exactly what the prediction means:
//     handlers sleep factor × sample; a scaled service gets more listeners
//     or workers; parallelized calls really run concurrently; added latency
//     is slept in the caller's client transport as network overhead; a
//     batched loop becomes ⌈N/max_batch⌉ real requests to a batch endpoint
//     of the callee (operation "op#batchK", served by the callee's
//     instances and workers), each carrying its K items in its body; the
//     endpoint costs fixed + per_item × the items it counts; skipped calls
//     are not made; failed-over calls go to the same operation of the other
//     service.
//   - disable fail closes the service's listeners: calls to it get
//     "connection refused" after their network time, and are retried,
//     tolerated (optional) or fail their caller like any failed call.
//   - cache puts a real in-memory LRU cache in the caller (the operations
//     In, or every caller) in front of calls to Target (see the cache
//     type for how its key space gives the hit ratio).
//   - load changes the workload and is applied by Load.
//
// Every change is also checked by scenarios.Apply on the whole list, so a
// scenario the predictor rejects is rejected here with the same error.
// The model-level changes apply in their order; cache and disable-fail
// act on the result, whatever their place in the list (a cache whose
// calls the other changes removed is an error).
func Start(ctx context.Context, m *topology.Model, opt Options) (*System, error) {
	if m == nil {
		return nil, errors.New("testbed: no model")
	}
	if _, _, err := scenarios.Apply(m, opt.Changes); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	var modelChanges []scenarios.Change
	var cacheChanges []*scenarios.Cache
	var batches []*scenarios.Batch
	disabled := map[string]bool{}
	for _, c := range opt.Changes {
		switch c := c.(type) {
		case *scenarios.Batch:
			batches = append(batches, c)
			modelChanges = append(modelChanges, c)
		case *scenarios.Cache:
			cacheChanges = append(cacheChanges, c)
		case *scenarios.Disable:
			if c.Mode == scenarios.ModeFail {
				disabled[c.Service] = true
				continue
			}
			modelChanges = append(modelChanges, c)
		default:
			modelChanges = append(modelChanges, c)
		}
	}
	run, eff, err := scenarios.Apply(m, modelChanges)
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	styles, err := parsePeerStyles(run, opt.PeerSpans)
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	s := &System{
		model: run, topology: m, effect: eff, seed: opt.Seed, logf: opt.Logf,
		sink: &jsonSink{w: opt.Traces},
		prop: propagation.TraceContext{}, styles: styles, observe: opt.observe,
		base: &http.Transport{
			// Loopback only, many concurrent calls: keep plenty of idle
			// connections so connection setup does not add to latencies.
			Proxy:               nil,
			MaxIdleConns:        0, // no limit
			MaxIdleConnsPerHost: 4096,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		},
		svcs:  map[string]*service{},
		ops:   map[string]*operation{},
		pools: map[*topology.Pool][]*topology.Call{},
		done:  make(chan struct{}),
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if err := s.build(ctx, disabled, batches); err != nil {
		s.abort()
		return nil, err
	}
	for i, c := range cacheChanges {
		if err := s.addCache(c, i); err != nil {
			s.abort()
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	return s, nil
}

// build creates services, operations, listeners and servers.
func (s *System) build(ctx context.Context, disabled map[string]bool, batches []*scenarios.Batch) error {
	names := slices.Sorted(maps.Keys(s.model.Services))
	for _, name := range names {
		ms := s.model.Services[name]
		s.svcs[name] = &service{name: name, peer: ms.Peer, disabled: disabled[name]}
	}
	for _, name := range slices.Sorted(maps.Keys(s.model.Operations)) {
		mo := s.model.Operations[name]
		svcName, short, _ := strings.Cut(name, "/")
		o := &operation{
			name: name, short: short, svc: s.svcs[svcName], op: mo,
			shapeRng: newRand(s.seed, "shape", name),
			workRng:  newRand(s.seed, "work", name),
			netRng:   newRand(s.seed, "network", name),
			errRng:   newRand(s.seed, "error", name),
		}
		total := 0.0
		for _, sh := range mo.Shapes {
			total += sh.Weight
		}
		acc := 0.0
		for _, sh := range mo.Shapes {
			acc += sh.Weight / total
			o.cum = append(o.cum, acc)
		}
		if n := len(o.cum); n > 0 {
			o.cum[n-1] = 1
		}
		o.batch = batchOf(name, batches)
		s.ops[name] = o
		for _, sh := range mo.Shapes {
			for _, st := range sh.Steps {
				if st.Pool != nil {
					s.pools[st.Pool] = unrollPool(st.Pool)
				}
			}
		}
		if mo.Entry != nil {
			s.entries = append(s.entries, o)
		}
	}
	for _, name := range names {
		svc := s.svcs[name]
		ms := s.model.Services[name]
		for i := range max(ms.Instances, 1) {
			if err := s.startInstance(ctx, svc, i, ms.Workers); err != nil {
				return err
			}
		}
		if svc.disabled {
			s.logf("testbed: %s disabled (fail): its %d listener(s) are closed", name, len(svc.instances))
		}
	}
	return nil
}

// unrollPool lists a pool's calls with each repeated call unrolled into
// Repeat calls of its own: a pool of size 3 over {call: X, repeat: 10} is
// ten calls to X, at most three at once (DESIGN.md's meaning of a pool,
// what topology.Build records when it merges the calls of a pool, and how
// sim compiles it).
// Calls in a parallel group keep their repeats as a sequential loop.
func unrollPool(p *topology.Pool) []*topology.Call {
	var out []*topology.Call
	for _, c := range p.Calls {
		if c.Repeat <= 1 {
			out = append(out, c)
			continue
		}
		one := *c
		one.Repeat = 1
		for range c.Repeat {
			out = append(out, &one)
		}
	}
	return out
}

// startInstance binds one listener of svc and serves it (unless the
// service is disabled, in which case the port is closed again at once, so
// connecting to it is refused).
func (s *System) startInstance(ctx context.Context, svc *service, i, workers int) error {
	in := &instance{svc: svc, id: svc.name + "-" + strconv.Itoa(i), handlers: map[string]http.Handler{},
		peerClients: map[string]*http.Client{}, pools: map[string]*sharedPool{}}
	if workers > 0 {
		in.sem = semaphore.NewWeighted(int64(workers))
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("testbed: listen for %s: %w", in.id, err)
	}
	in.addr = ln.Addr().String()
	svc.instances = append(svc.instances, in)
	if svc.disabled {
		return ln.Close()
	}
	if svc.peer {
		// A peer reports no spans; a no-op tracer still carries the
		// caller's trace context through to any calls the peer makes.
		in.tp = noop.NewTracerProvider()
	} else {
		tp, err := newTracerProvider(ctx, s.sink, svc.name, in.id)
		if err != nil {
			ln.Close()
			return fmt.Errorf("testbed: %w", err)
		}
		s.tps = append(s.tps, tp)
		in.tp = tp
	}
	in.client = &http.Client{Transport: otelhttp.NewTransport(&networkTransport{s: s, base: s.base},
		otelhttp.WithTracerProvider(in.tp),
		otelhttp.WithPropagators(s.prop),
		otelhttp.WithSpanNameFormatter(clientSpanName),
	)}
	if err := s.peerClientsOf(ctx, in); err != nil {
		ln.Close()
		return err
	}
	ms := s.model.Services[svc.name]
	for _, name := range slices.Sorted(maps.Keys(ms.Pools)) {
		in.pools[name] = newSharedPool(name, ms.Pools[name], s.done)
	}
	for _, o := range s.ops {
		if o.svc != svc {
			continue
		}
		o := o
		in.handlers[o.short] = otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.execute(w, r, in, o)
		}), o.short,
			otelhttp.WithTracerProvider(in.tp),
			otelhttp.WithPropagators(s.prop),
			otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return o.short }),
		)
	}
	srv := &http.Server{Handler: in, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				in.conns.Add(1)
			}
		}}
	s.servers = append(s.servers, srv)
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Close
	s.logf("testbed: %s listening on %s (workers %d)", in.id, in.addr, workers)
	return nil
}

// peerClientsOf makes the clients of instance in's calls to the peers
// whose spans a database instrumentation makes (PeerSpanDB, with the
// instance's tracer provider) or a tracer named after the component
// (PeerSpanComponent: a tracer provider of the instance's process whose
// resource's service.name is the peer's, without an instance id).
func (s *System) peerClientsOf(ctx context.Context, in *instance) error {
	for _, peer := range slices.Sorted(maps.Keys(s.styles)) {
		st := s.styles[peer]
		var tp trace.TracerProvider
		switch st.kind {
		case PeerSpanDB:
			tp = in.tp
		case PeerSpanComponent:
			if in.svc.peer {
				tp = in.tp // a peer reports nothing, not even its clients
				break
			}
			ctp, err := newTracerProvider(ctx, s.sink, peer, "")
			if err != nil {
				return fmt.Errorf("testbed: %w", err)
			}
			s.tps = append(s.tps, ctp)
			tp = ctp
		default:
			continue
		}
		var attrs []attribute.KeyValue
		if st.system != "" {
			attrs = append(attrs, attribute.String("db.system.name", st.system), attribute.String("db.namespace", peer))
		}
		in.peerClients[peer] = &http.Client{Transport: &dbTransport{
			tracer: tp.Tracer(dbTracerName),
			prop:   s.prop,
			attrs:  attrs,
			next:   &networkTransport{s: s, base: s.base},
		}}
	}
	return nil
}

// Model returns the model the testbed runs: the given model with the
// model-level changes applied (cache and disable-fail are knobs of the
// running system, not of this model). It must not be modified.
func (s *System) Model() *topology.Model { return s.model }

// Addr returns the listener addresses ("127.0.0.1:port") of a service's
// instances, nil for an unknown service.
func (s *System) Addr(service string) []string {
	svc := s.svcs[service]
	if svc == nil {
		return nil
	}
	out := make([]string, len(svc.instances))
	for i, in := range svc.instances {
		out[i] = in.addr
	}
	return out
}

// OpStats counts the executions of one operation since Start.
type OpStats struct {
	Op       string
	Executed int64 // executions that got a worker
	Failed   int64 // answered with an error
}

// Stats returns every operation's execution counts, sorted by name.
func (s *System) Stats() []OpStats {
	out := make([]OpStats, 0, len(s.ops))
	for _, name := range slices.Sorted(maps.Keys(s.ops)) {
		o := s.ops[name]
		out = append(out, OpStats{Op: name, Executed: o.served.Load(), Failed: o.failed.Load()})
	}
	return out
}

// Close stops the system: it waits (up to ctx) for fire-and-forget calls
// still running, shuts the servers down, then flushes and shuts down every
// tracer provider so all spans reach Options.Traces. It returns the first
// problem, including a failed trace write.
func (s *System) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	waited := make(chan struct{})
	go func() { s.async.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, srv := range s.servers {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
				mu.Lock()
				errs = append(errs, fmt.Errorf("testbed: stop server: %w", err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(s.done)
	s.base.CloseIdleConnections()
	for _, tp := range s.tps {
		if err := tp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("testbed: flush traces: %w", err))
		}
	}
	if err := s.sink.firstErr(); err != nil {
		errs = append(errs, fmt.Errorf("testbed: %w", err))
	}
	return errors.Join(errs...)
}

// abort releases what a failed Start had started.
func (s *System) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.Close(ctx) //nolint:errcheck // the Start error is the one to report
}
