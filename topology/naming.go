package topology

import (
	"strings"

	"github.com/tracesim/tracesim/trace"
)

// ServiceName is the model's name for the service that reported s: the
// span's service with any "/" replaced by "." (an operation is named
// "service/operation", split at the first "/").
func ServiceName(s *trace.Span) string {
	return strings.ReplaceAll(s.Service, "/", ".")
}

// UnknownPeer names the callee of a client span when nothing in the trace
// names it.
const UnknownPeer = "unknown-peer"

// PeerOperationNameIn names the operation of the uninstrumented peer that
// client (or producer) span i of t calls: "peer/name", the peer being
// t.PeerName(i) (the one naming rule, see trace.Trace.PeerName) with "/"
// replaced by ".", and name the client span's name. When the rule names
// nothing it is UnknownPeer, except that a client span whose only server
// spans below carry no timing (CallWalker reports such a call as reaching
// a peer) calls that server span's operation, which the trace does name.
//
// Build, replay and every other place that turns a client span without a
// timed server below into a call name the callee with this.
func PeerOperationNameIn(t *trace.Trace, i int32) string {
	c := &t.Spans[i]
	peer := t.PeerName(i)
	if peer == "" {
		for _, g := range t.Children(i) {
			if trace.IsServerSide(t.Spans[g].Kind) {
				return OperationName(&t.Spans[g])
			}
		}
	}
	return peerOperation(peer, c.Name)
}

// PeerOperationName names the operation of an uninstrumented peer that a
// client span c calls, from the span alone: the part of the naming rule
// that needs no trace (trace.SpanPeerName: service.peer.name,
// peer.service, Zipkin's remoteEndpoint.serviceName, db.system.name,
// db.system, messaging.system, server.address, net.peer.name). It cannot
// see the tracer-per-component pattern nor a server span below; use
// PeerOperationNameIn wherever the trace is at hand.
func PeerOperationName(c *trace.Span) string {
	return peerOperation(trace.SpanPeerName(c), c.Name)
}

func peerOperation(peer, name string) string {
	peer = strings.ReplaceAll(peer, "/", ".")
	if peer == "" {
		peer = UnknownPeer
	}
	if name == "" {
		name = "(unnamed)"
	}
	return peer + "/" + name
}

// OperationName is the model's name for the operation s executes,
// "service/name"; everything that maps traces onto a model (Build, replay)
// names operations this way.
func OperationName(s *trace.Span) string {
	name := s.Name
	if name == "" {
		name = "(unnamed)"
	}
	return ServiceName(s) + "/" + name
}
