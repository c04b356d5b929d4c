package trace

// Naming uninstrumented callees.
//
// A call whose callee reported no span of its own (a database, a cache, a
// broker, a third-party API, a service without tracing) is known only from
// the caller's CLIENT or PRODUCER span. tracesim names that callee the way
// the tracing tools people read these traces in do, so that `inspect`,
// `model`, `analyze`, replay and scenarios all show the node the user
// already knows from the UI, and so that two different components never
// share one "unknown-peer" node (and one queue in the model). One rule,
// PeerName, serves all of them.
//
// What the tools do, and what tracesim follows:
//
//   - Jaeger derives its dependency graph (spark-dependencies,
//     SpansToDependencyLinks) from parent → child spans in different
//     services, plus, for a leaf span with no children, an edge to the
//     value of its "peer.service" tag (the configurable
//     jaeger.uninstrumented_key). The parent → child rule is what makes a
//     CLIENT span reported by a tracer named after the component (HotROD's
//     "mysql" and "redis" tracers) the node "mysql": tracesim names such a
//     span by its own service.
//   - Zipkin's DependencyLinker links a CLIENT or PRODUCER span with no
//     server child to its remoteEndpoint.serviceName. The OpenTelemetry
//     spec's Zipkin mapping says remoteEndpoint.serviceName and
//     peer.service are the same thing, an explicit peer.service tag
//     winning ("set peer.service tag from remoteEndpoint unless there is a
//     peer.service tag defined explicitly"), and fills remoteEndpoint from
//     peer.service, then server.address, then net.peer.name, ... .
//   - Grafana Tempo's service graphs (and the Collector's servicegraph
//     connector) make a "virtual node" for a client span whose server span
//     never arrives, named by the first of its peer_attributes present;
//     the default list is peer.service, db.name, db.system, and newer
//     versions add service.peer.name and db.system.name (the semantic
//     conventions that replace peer.service and db.system). Tempo names a
//     database edge peer.service, then server.address, then
//     network.peer.address[:port], then db.name.
//
// tracesim's order, first match wins:
//
//  1. a client span with a server (or consumer) span below has no peer:
//     its callee is instrumented and named by its own spans;
//  2. service.peer.name, then peer.service, then Span.Peer (Zipkin's
//     remoteEndpoint.serviceName, which the OpenTelemetry Zipkin mapping
//     equates with peer.service and ranks after an explicit tag): the
//     name the caller itself gives the callee;
//  3. the tracer-per-component pattern: a span whose service differs from
//     its parent span's service is an execution of its own service, the
//     component the tracer is named after (Jaeger's parent → child rule);
//  4. db.system.name, then db.system: the database product ("mysql",
//     "redis"), Tempo's virtual-node attribute;
//  5. messaging.system: the broker ("kafka");
//  6. server.address, then net.peer.name: the callee's host name, the
//     OpenTelemetry Zipkin exporter's next choices for remoteEndpoint.
//
// The component pattern comes after the caller's explicit names because a
// span's service can differ from its parent's for reasons other than a
// component tracer: a service only instrumented on its client side (Tempo's
// virtual-node test trace: a "mythical-requester" client span below a
// "mythical-server" span, calling peer.service "external-payments-platform"),
// or one service reporting under two names (Yelp's "yelp_main/api_proxy"
// server with "yelp-main" memcache clients below, remoteEndpoint "memcache").
// It comes before the product and address hints because a component's
// tracer sets those about itself (HotROD's "mysql" spans say db.system
// "mysql" and the server's address): the service name the user sees in
// `inspect` and passes to `model --workers` is the better node name.
//
// Left out on purpose: db.name / db.namespace name a database inside a
// server (two schemas on one server share its capacity, so they are not
// two nodes); rpc.service is an interface name (one server can implement
// many, many servers one), not a component; network.peer.address is a
// socket address (an IP, often of a proxy or load balancer), which neither
// Jaeger's nor Zipkin's graph uses as a node. Server spans name no peer.
//
// The rule returns "" when nothing names the callee; callers then name it
// "unknown-peer". Names are returned as the trace has them; the model
// replaces "/" by "." as it does for services (topology.ServiceName).

// peerAttrs are the attributes that name a callee, in the rule's order:
// the caller's own names (with Span.Peer after them), then hints.
var (
	peerAttrsExplicit = [...]AttrKey{AttrServicePeerName, AttrPeerService}
	peerAttrsHints    = [...]AttrKey{AttrDBSystemName, AttrDBSystem, AttrMessagingSystem, AttrServerAddress, AttrNetPeerName}
)

// explicitPeerName is step 2 of the rule: the name the caller gives the
// callee.
func explicitPeerName(s *Span) string {
	for _, k := range peerAttrsExplicit {
		if v := s.Attrs.Get(k); v != "" {
			return v
		}
	}
	return s.Peer
}

func hintedPeerName(s *Span) string {
	for _, k := range peerAttrsHints {
		if v := s.Attrs.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// SpanPeerName is the part of the peer-naming rule that a span alone can
// answer (steps 2 and 4 to 6 above: attributes and Span.Peer), whatever
// its kind and whatever is below it. Use Trace.PeerName when the trace is
// at hand: only it knows whether a server span is below and whether the
// span is its own component's.
func SpanPeerName(s *Span) string {
	if n := explicitPeerName(s); n != "" {
		return n
	}
	return hintedPeerName(s)
}

// IsClientSide reports whether k is a kind that calls out: client or
// producer.
func IsClientSide(k Kind) bool { return k == KindClient || k == KindProducer }

// IsServerSide reports whether k is a kind that is called: server or
// consumer.
func IsServerSide(k Kind) bool { return k == KindServer || k == KindConsumer }

// HasServerChild reports whether span i has a server or consumer span
// directly below it: the callee of its call reported spans itself.
func (t *Trace) HasServerChild(i int32) bool {
	for _, c := range t.Children(i) {
		if IsServerSide(t.Spans[c].Kind) {
			return true
		}
	}
	return false
}

// PeerName names the uninstrumented callee of span i: for a CLIENT or
// PRODUCER span with no SERVER or CONSUMER span below, the component it
// calls, by the rule described at the top of this file: service.peer.name,
// peer.service, Zipkin's remoteEndpoint.serviceName; else the span's own
// service when it differs from its parent's (a tracer named after the
// component); else db.system.name, db.system, messaging.system,
// server.address, net.peer.name. It returns "" for any other span, and
// when nothing names the callee.
func (t *Trace) PeerName(i int32) string {
	s := &t.Spans[i]
	if !IsClientSide(s.Kind) || t.HasServerChild(i) {
		return ""
	}
	if n := explicitPeerName(s); n != "" {
		return n
	}
	if p := t.Parent[i]; p >= 0 && !s.Has(FlagNoService) && t.Spans[p].Service != s.Service {
		return s.Service
	}
	return hintedPeerName(s)
}
