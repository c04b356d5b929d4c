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

// PeerOperationName names the operation of an uninstrumented peer that a
// client span c calls: "peer/name", the peer being the remote service the
// span names, or "unknown-peer".
func PeerOperationName(c *trace.Span) string {
	peer := strings.ReplaceAll(c.Peer, "/", ".")
	if peer == "" {
		peer = "unknown-peer"
	}
	name := c.Name
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
