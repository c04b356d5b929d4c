package testbed

import (
	"bytes"
	"context"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

const peersYAML = `
version: 1
services:
  front: {}
  legacy: {peer: true}
  payments: {peer: true}
  postgresql: {peer: true}
  orders: {peer: true}
  inventory: {peer: true}
operations:
  front/GET /a:
    entry: {rate: 1/s}
    shapes:
      - weight: 1
        steps:
          - call: legacy/call
          - call: payments/charge
          - call: postgresql/SELECT
          - call: orders/GET
          - call: inventory/reserve
  legacy/call: {shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]}
  payments/charge: {shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]}
  postgresql/SELECT: {shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]}
  orders/GET: {shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]}
  inventory/reserve: {shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]}
`

// TestPeerSpanStyles: each way of attributing a call to a peer produces
// the spans its instrumentation would. legacy keeps the default
// (otelhttp, peer.service), payments gets service.peer.name, postgresql
// and orders ("db:redis") a database client span, inventory a span of a
// tracer named after it: resource service.name "inventory", no instance,
// a CLIENT span whose parent is front's server span and with no span
// below it. The peers still receive the trace context from every kind of
// client span.
func TestPeerSpanStyles(t *testing.T) {
	var buf bytes.Buffer
	var log execLog
	_, s := run(t, model(t, peersYAML), Options{Seed: 31, Traces: &buf, observe: log.observe, PeerSpans: map[string]string{
		"payments": PeerSpanServicePeerName, "postgresql": PeerSpanDB, "orders": "db:redis", "inventory": PeerSpanComponent,
	}}, Workload{Users: 1, Requests: 10})
	spans := rawSpans(t, &buf)
	byID := map[string]rawSpan{}
	parents := map[string]bool{}
	for _, sp := range spans {
		byID[sp.SpanID] = sp
		parents[sp.ParentID] = true
	}
	byName := map[string][]rawSpan{}
	for _, sp := range spans {
		if sp.Kind == 3 {
			byName[sp.Name] = append(byName[sp.Name], sp)
		}
	}
	port := func(svc string) int64 {
		_, p, _ := net.SplitHostPort(s.Addr(svc)[0])
		n, _ := strconv.ParseInt(p, 10, 64)
		return n
	}
	type want struct {
		service string
		attrs   map[string]any
		absent  []string
	}
	for name, w := range map[string]want{
		"call":   {"front", map[string]any{"peer.service": "legacy"}, []string{"service.peer.name", "db.system.name"}},
		"charge": {"front", map[string]any{"service.peer.name": "payments"}, []string{"peer.service", "db.system.name"}},
		"SELECT": {"front", map[string]any{"db.system.name": "postgresql", "db.namespace": "postgresql", "db.operation.name": "SELECT",
			"server.address": "127.0.0.1", "server.port": port("postgresql")}, []string{"peer.service", "service.peer.name", "http.request.method"}},
		"GET": {"front", map[string]any{"db.system.name": "redis", "db.namespace": "orders", "server.address": "127.0.0.1", "server.port": port("orders")},
			[]string{"peer.service", "service.peer.name", "http.request.method"}},
		"reserve": {"inventory", map[string]any{"server.address": "127.0.0.1", "server.port": port("inventory")},
			[]string{"peer.service", "service.peer.name", "db.system.name", "http.request.method"}},
	} {
		got := byName[name]
		if len(got) != 10 {
			t.Errorf("%s: %d client spans, want 10", name, len(got))
			continue
		}
		for _, sp := range got {
			if sp.ServiceName != w.service {
				t.Errorf("%s: resource service.name %q, want %q", name, sp.ServiceName, w.service)
			}
			for k, v := range w.attrs {
				if sp.Attrs[k] != v {
					t.Errorf("%s: %s = %v, want %v", name, k, sp.Attrs[k], v)
				}
			}
			for _, k := range w.absent {
				if _, ok := sp.Attrs[k]; ok {
					t.Errorf("%s: has %s = %v, want none", name, k, sp.Attrs[k])
				}
			}
			p, ok := byID[sp.ParentID]
			if !ok || p.Kind != 2 || p.ServiceName != "front" || p.TraceID != sp.TraceID {
				t.Errorf("%s: parent %+v, want front's server span", name, p)
			}
			if parents[sp.SpanID] {
				t.Errorf("%s: a span below the client span of a peer", name)
			}
			if name == "reserve" {
				if _, ok := sp.Resource["service.instance.id"]; ok {
					t.Errorf("component span: resource %v, want no service.instance.id (the component's tracer names no instance)", sp.Resource)
				}
			}
		}
	}
	// Every peer execution ran in its caller's client span's trace.
	for op, xs := range log.byOp {
		if !strings.Contains("legacy payments postgresql orders inventory", op[:strings.IndexByte(op, '/')]) {
			continue
		}
		for _, x := range xs {
			if sp, ok := byID[x.span]; !ok || sp.Kind != 3 {
				t.Errorf("%s ran under span %s, not its caller's client span: trace context lost", op, x.span)
				break
			}
		}
	}

	m, _, err := topology.Build(context.Background(), assemble(t, &buf), topology.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ops := slices.Sorted(maps.Keys(m.Operations))
	t.Logf("topology.Build named the peers' operations %v", ops)
	for _, op := range []string{"legacy/call", "payments/charge", "postgresql/SELECT", "redis/GET"} {
		if m.Operations[op] == nil {
			t.Errorf("topology.Build: no operation %s; have %v", op, ops)
		}
	}
}

// TestPeerSpansRejected: a style for a service that is not a peer, or an
// unknown style, stops Start.
func TestPeerSpansRejected(t *testing.T) {
	ctx := context.Background()
	for spec, want := range map[string]string{
		"front=db":           "not a peer service",
		"nope=db":            "not a peer service",
		"legacy=zipkin":      `unknown style "zipkin"`,
		"legacy=db:":         "names no database system",
		"legacy=component:x": `unknown style`,
	} {
		ps, err := ParsePeerSpans([]string{spec})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Start(ctx, model(t, peersYAML), Options{PeerSpans: ps})
		if err == nil {
			s.Close(ctx)
			t.Errorf("%s: started", spec)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
	if _, err := ParsePeerSpans([]string{"mysql"}); err == nil {
		t.Error(`ParsePeerSpans("mysql"): no error`)
	}
	if ps, err := ParsePeerSpans([]string{"a=db, b=component", "c=peer.service"}); err != nil || len(ps) != 3 || ps["b"] != "component" {
		t.Errorf("ParsePeerSpans: %v %v", ps, err)
	}
}

// TestClosedLoopConnections: each closed-loop user keeps a connection of
// its own, as a load tool's worker does: 6 users who think 20 ms between
// 1 ms requests (rarely two at once, so a shared pool of connections
// would make do with one or two) open exactly 6 connections to the entry
// instance, and reuse them.
func TestClosedLoopConnections(t *testing.T) {
	res, s := run(t, model(t, `
version: 1
services:
  a: {}
operations:
  a/get:
    entry: {rate: 1/s}
    shapes: [{weight: 1, steps: [{work: {constant: 1ms}}]}]
`), Options{Seed: 32}, Workload{Users: 6, Think: 20 * time.Millisecond, Requests: 150})
	e := endpoint(t, res, "a/get")
	conns := s.svcs["a"].instances[0].conns.Load()
	t.Logf("%d requests from 6 users over %d connections", e.Requests, conns)
	if e.Errors != 0 || conns != 6 {
		t.Errorf("%d connections (%d errors), want 6: one per user", conns, e.Errors)
	}
}
