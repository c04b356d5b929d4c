package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracesim/tracesim/topology"
)

// opParam is the query parameter naming the operation a request runs; an
// instance serves every operation of its service on one listener.
const opParam = "op"

var (
	errSelf   = errors.New("failed by itself (error rate)")
	errClosed = errors.New("testbed closed")
)

type queueWaitKey struct{}

// ServeHTTP routes a request to its operation after the request got a
// worker of the instance.
//
// The wait for a worker happens before the server span starts, as the
// accept queue of a real server is not in its span. That also keeps the
// traces truthful for topology.Build and sim: the server span covers
// exactly the time a worker is held, so the most spans Build sees open at
// once on an instance (CapacityEvidence.MaxConcurrent) never exceeds the
// real workers, and the queue wait shows up where sim puts it too — in the
// gap between the caller's client span and the server span (sim's
// SpanRecord: "Start is when it got a worker"). Build counts that gap as
// the edge's network overhead, which is what it is at the load the traces
// were recorded at. The wait is also recorded on the span as
// tracesim.queue_wait_ns.
func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := in.handlers[r.URL.Query().Get(opParam)]
	if h == nil {
		http.Error(w, fmt.Sprintf("%s has no operation %q", in.svc.name, r.URL.Query().Get(opParam)), http.StatusNotFound)
		return
	}
	// A caller that gives up (timeout) does not stop the callee: like in
	// sim, it still waits for its worker and runs to the end.
	ctx := context.WithoutCancel(r.Context())
	start := time.Now()
	if in.sem != nil {
		if err := in.sem.Acquire(ctx, 1); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		defer in.sem.Release(1)
	}
	ctx = context.WithValue(ctx, queueWaitKey{}, time.Since(start))
	h.ServeHTTP(w, r.WithContext(ctx))
}

// execute runs one execution of o on instance in, inside its server span.
func (s *System) execute(w http.ResponseWriter, r *http.Request, in *instance, o *operation) {
	ctx := r.Context()
	if wait, ok := ctx.Value(queueWaitKey{}).(time.Duration); ok {
		trace.SpanFromContext(ctx).SetAttributes(attribute.Int64(attrQueueWait, int64(wait)))
	}
	o.served.Add(1)
	if s.observe != nil {
		start := time.Now()
		defer func() { s.observe(o, ctx, start, time.Now()) }()
	}
	// Drawn for every execution, before its shape, as sim does.
	selfErr := o.op.ErrorRate > 0 && o.errRng.Float64() < o.op.ErrorRate
	var err error
	if o.batch != nil {
		err = s.runBatch(ctx, r, o)
	} else if sh := o.pickShape(); sh != nil {
		err = s.runShape(ctx, in, o, sh)
	}
	if err == nil && selfErr {
		err = errSelf
	}
	if err != nil {
		o.failed.Add(1)
		http.Error(w, o.name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// pickShape draws a shape by weight; nil when the operation has none (it
// answers at once).
func (o *operation) pickShape() *topology.Shape {
	switch len(o.cum) {
	case 0:
		return nil
	case 1:
		return o.op.Shapes[0]
	}
	u := o.shapeRng.Float64()
	k := 0
	for k < len(o.cum)-1 && u >= o.cum[k] {
		k++
	}
	return o.op.Shapes[k]
}

// runShape runs the steps of sh in order; the first failed step ends it.
func (s *System) runShape(ctx context.Context, in *instance, o *operation, sh *topology.Shape) error {
	for _, st := range sh.Steps {
		var err error
		switch {
		case st.Work != nil:
			err = s.sleep(ctx, o.workRng.sample(st.Work))
		case st.Call != nil:
			err = s.runCalls(ctx, in, o, []*topology.Call{st.Call}, 1)
		case len(st.Parallel) > 0:
			err = s.runCalls(ctx, in, o, st.Parallel, len(st.Parallel))
		case st.Pool != nil:
			err = s.runCalls(ctx, in, o, s.pools[st.Pool], max(st.Pool.Size, 1))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runCalls runs one call step: calls start in order, at most limit at once
// (1: sequential, len(calls): parallel, Size: a pool). Async calls are
// fired and count as done at once. The step ends when every call ended,
// or at the first failed non-optional call: the caller fails at once and
// the step's other calls run on unobserved, as in sim.
func (s *System) runCalls(ctx context.Context, in *instance, o *operation, calls []*topology.Call, limit int) error {
	if len(calls) == 1 && !calls[0].Async {
		return s.branch(ctx, in, o, calls[0])
	}
	results := make(chan error, len(calls))
	pending := 0
	for _, c := range calls {
		if c.Async {
			s.async.Add(1)
			go func() {
				defer s.async.Done()
				s.branch(context.WithoutCancel(ctx), in, o, c) //nolint:errcheck // nobody waits for it
			}()
			continue
		}
		for pending >= limit {
			pending--
			if err := <-results; err != nil {
				return err
			}
		}
		pending++
		go func() { results <- s.branch(ctx, in, o, c) }()
	}
	for ; pending > 0; pending-- {
		if err := <-results; err != nil {
			return err
		}
	}
	return nil
}

// branch runs one call through its repetitions (sequential), each through
// the caller's cache when a cache change covers it, and each with its
// retries. A failed optional repetition is ignored.
func (s *System) branch(ctx context.Context, in *instance, o *operation, c *topology.Call) error {
	target := s.ops[c.Target]
	if target == nil {
		return fmt.Errorf("call to unknown operation %q", c.Target)
	}
	ch := s.cacheFor(o.name, c.Target)
	for range max(c.Repeat, 1) {
		var err error
		if ch != nil {
			err = ch.through(ctx, s, func() error { return s.attempts(ctx, in, o, c, target) })
		} else {
			err = s.attempts(ctx, in, o, c, target)
		}
		if errors.Is(err, errClosed) {
			return err
		}
		if err != nil && !c.Optional {
			return err
		}
	}
	return nil
}

// attempts makes one call with its retries, each after Backoff and to
// another instance than the attempt before.
func (s *System) attempts(ctx context.Context, in *instance, o *operation, c *topology.Call, target *operation) error {
	retries := 0
	var backoff time.Duration
	if c.Retries != nil {
		retries, backoff = c.Retries.Max, c.Retries.Backoff
	}
	last := -1
	for a := 0; ; a++ {
		err := s.attempt(ctx, in, o, c, target, a, &last)
		if err == nil || a >= retries || errors.Is(err, errClosed) {
			return err
		}
		if err := s.sleep(ctx, backoff); err != nil {
			return err
		}
	}
}

// callInfo travels in a call's context to the client transport.
type callInfo struct {
	name string // the callee operation without its service: the client span's name
	peer string // the callee's service
	// attr is the attribute that names peer on an otelhttp client span
	// (peer.service or service.peer.name); "" when the span is not
	// otelhttp's (PeerSpanDB, PeerSpanComponent).
	attr attribute.Key
	net  time.Duration // network overhead to emulate
	// slot, if set, is the in-span shared pool the attempt holds a slot of
	// (Call.Via).
	slot *sharedPool
}

type callKey struct{}

// attempt sends one HTTP request for call c to an instance of target's
// service, chosen round robin; attempt a > 0 (a retry) avoids *last, the
// instance of the previous attempt.
func (s *System) attempt(ctx context.Context, in *instance, o *operation, c *topology.Call, target *operation, a int, last *int) error {
	insts := target.svc.instances
	n := len(insts)
	i := int((target.svc.rr.Add(1) - 1) % uint64(n))
	if a > 0 && n > 1 && i == *last {
		i = (i + 1) % n
	}
	*last = i
	callee := insts[i]
	info := &callInfo{name: target.short, peer: target.svc.name, attr: attrPeerService, net: o.netRng.sample(c.Network)}
	client := in.client
	if pc := in.peerClients[target.svc.name]; pc != nil {
		client, info.attr = pc, ""
	} else if s.styles[target.svc.name].kind == PeerSpanServicePeerName {
		info.attr = attrServicePeerName
	}
	var pool *sharedPool
	if c.Via != "" {
		if pool = in.pools[c.Via]; pool == nil {
			return fmt.Errorf("call %s: %s has no pool %q", target.name, in.svc.name, c.Via)
		}
		if pool.inSpan() {
			info.slot = pool
		}
	}
	// A timeout counts from the start of the attempt: the wait for a
	// shared pool's slot is part of it.
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, callKey{}, info)
	send := func() error { return s.send(ctx, client, callee, target) }
	if pool != nil && !pool.inSpan() {
		// Handed to the caller instance's worker pool: the client span
		// starts when a worker runs it.
		ran := false
		err := pool.workers.do(ctx, s.done, pool.name, func() error { ran = true; return send() })
		if err != nil && !ran && !errors.Is(err, errClosed) {
			return fmt.Errorf("call %s: %w", target.name, err) // timed out in line
		}
		return err
	}
	return send()
}

// send makes one HTTP request to callee for target and reads its answer.
func (s *System) send(ctx context.Context, client *http.Client, callee *instance, target *operation) error {
	var body io.Reader = http.NoBody
	if target.batch != nil {
		body = target.batch.request()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callURL(callee.addr, target.short), body)
	if err != nil {
		return fmt.Errorf("call %s: %w", target.name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		select {
		case <-s.done:
			return errClosed
		default:
		}
		return fmt.Errorf("call %s at %s: %w", target.name, callee.addr, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("call %s at %s: read response: %w", target.name, callee.addr, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("call %s at %s: %s", target.name, callee.addr, resp.Status)
	}
	return nil
}

func callURL(addr, op string) string {
	return "http://" + addr + "/?" + opParam + "=" + url.QueryEscape(op)
}

// clientSpanName names a client span after the callee operation (without
// its service), so a call to a peer that reports no server span is still
// named "peer/operation" by topology.PeerOperationName.
func clientSpanName(_ string, r *http.Request) string {
	if info, ok := r.Context().Value(callKey{}).(*callInfo); ok {
		return info.name
	}
	return "HTTP " + r.Method
}

// networkTransport emulates a call's network overhead inside its client
// span (it sits under otelhttp's transport, or dbTransport): half before
// the request is sent, half after the response arrived, as sim does, so
// that client minus server span duration is the overhead plus the real
// loopback cost. It names the callee's service on an otelhttp span
// (peer.service, or service.peer.name for a peer that asks for it).
//
// For a call through an in-span shared pool it first takes a slot of the
// caller instance's pool (a connection pool or a lock of the client
// library: the wait is inside the client span, and no span of its own),
// and the response body gives the slot back when it is closed, after the
// whole answer was read: the slot covers the network overhead and the
// round trip, as sim's slot covers the attempt from send to response. A
// failed attempt gives it back at once.
type networkTransport struct {
	s    *System
	base http.RoundTripper
}

func (t *networkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	info, ok := r.Context().Value(callKey{}).(*callInfo)
	if !ok {
		return t.base.RoundTrip(r)
	}
	ctx := r.Context()
	if info.attr != "" {
		trace.SpanFromContext(ctx).SetAttributes(info.attr.String(info.peer))
	}
	release := func() {}
	if info.slot != nil {
		var err error
		if release, err = info.slot.acquire(ctx, t.s.done); err != nil {
			return nil, err
		}
	}
	before := info.net / 2
	if err := t.s.sleep(ctx, before); err != nil {
		release()
		return nil, err
	}
	resp, err := t.base.RoundTrip(r)
	if resp != nil && info.slot != nil {
		resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	}
	if serr := t.s.sleep(ctx, info.net-before); serr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		release()
		return nil, serr
	}
	if err != nil {
		release()
	}
	return resp, err
}
