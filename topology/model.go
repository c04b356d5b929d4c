// Package topology is the model of a system that tracesim simulates:
// services with their capacity, operations with their execution shapes
// (ordered stages of local work and calls), the calls between them with
// network overhead, error rates and latency distributions. It builds the
// model from assembled traces and reads and writes it as YAML.
package topology

import (
	"time"

	"github.com/tracesim/tracesim/topology/dist"
)

// Version is the model file format version this package writes.
const Version = 1

// Model is a service topology with measured behaviour.
type Model struct {
	Version    int
	Services   map[string]*Service
	Operations map[string]*Operation // by "service/operation"
}

// Service is one deployable component.
type Service struct {
	// Instances is the number of replicas (≥ 1).
	Instances int
	// Workers is the number of concurrent executions per instance; 0
	// means unlimited (a pure delay, no queueing).
	Workers int
	// Peer marks a component that never reports spans itself (a database
	// or broker seen only from its callers' client spans).
	Peer bool
	// Pools are limits that all requests running on one instance of the
	// service share: a lock, a connection pool or a worker pool in front
	// of its calls to another service. A call names the pool it goes
	// through (Call.Via); every attempt of such a call holds one slot of
	// its caller instance's pool from the moment it is sent until its
	// response, and waits for a free slot first. Widening a pool is a
	// change to one line of the model (and one line of a scenario).
	Pools map[string]*SharedPool
	// Evidence records what traces say about the service's capacity
	// (its workers); informational, not used by the simulator.
	Evidence *CapacityEvidence
}

// SharedPool is a limit shared by the requests of one service instance.
type SharedPool struct {
	// Size is the number of slots per instance (≥ 1).
	Size int
	// Wait says where a caller waits for a slot, as traces show it:
	// WaitInSpan (inside the client span: a connection pool or a lock
	// taken by the client library, the default) or WaitBeforeSpan
	// (before the client span starts: a worker pool the call is handed
	// to). The simulator treats both alike; the testbed reproduces each.
	Wait string
	// Evidence is what traces showed of the pool.
	Evidence *CapacityEvidence
}

// Where a caller waits for a shared pool's slot (SharedPool.Wait).
const (
	WaitInSpan     = "in-span"
	WaitBeforeSpan = "before-span"
)

// CapacityEvidence is what the traces showed about a limited resource (a
// service's workers or a shared pool) and what was inferred from it
// (see package topology/queue). Informational: the simulator reads
// Workers and SharedPool.Size, never this.
type CapacityEvidence struct {
	// Executions counts the uses of the resource the traces show.
	Executions int
	// MaxConcurrent is the most uses seen at once on one instance
	// (waiting ones included when the wait is inside the span).
	MaxConcurrent int
	// Servers is the capacity inferred from the traces: 0 when the
	// evidence shows no limit (or too little to tell).
	Servers int
	// Queued counts uses that waited for a server.
	Queued int
	// WaitShare is the share of the recorded time of the uses that was
	// waiting rather than service.
	WaitShare float64
	// Test says in words what decided.
	Test string
	Note string
}

// Operation is one endpoint of a service.
type Operation struct {
	// Entry is set when the operation receives external traffic.
	Entry *Entry
	// ErrorRate is the probability the operation fails by itself (not
	// counting failures propagated from its calls).
	ErrorRate float64
	// Shapes are the distinct execution shapes observed, with weights
	// summing to 1.
	Shapes []*Shape
}

// Entry is external traffic arriving at an operation.
type Entry struct {
	Rate float64 // requests per second
}

// Shape is one way an operation executes: steps run in order.
type Shape struct {
	Weight float64
	Steps  []*Step
	// Count is how many traced executions had this shape (informational).
	Count int
}

// Step is exactly one of: local work, one call (possibly repeated
// sequentially), a parallel group of calls, or a pool of calls with a
// concurrency limit.
type Step struct {
	Work     dist.Dist // local work
	WorkFit  *dist.Fit // how Work was fitted, when built from traces
	Call     *Call     // a sequential call
	Parallel []*Call   // concurrent calls; the step ends when all end
	Pool     *Pool     // at most Size calls at once
}

// Pool is a bounded-concurrency group of calls.
type Pool struct {
	Size  int
	Calls []*Call
}

// Call is a call to another operation.
type Call struct {
	Target     string    // "service/operation"
	Network    dist.Dist // client-side overhead of this edge; nil = none
	NetworkFit *dist.Fit
	Timeout    time.Duration // 0 = none
	Retries    *Retry
	// Repeat is how many times the call is made (≥ 1; 0 means 1): one
	// after another, except in a pool, where each repetition is a call of
	// its own through the pool ("fetch 20 items, 5 at a time").
	Repeat   int
	Optional bool // the caller tolerates its failure
	Async    bool // fire and forget: the caller does not wait
	// Via names a shared pool of the caller's service (Service.Pools)
	// that every attempt of the call holds a slot of; "" for none.
	Via string
}

// Retry is a retry policy: on error, call again up to Max more times,
// waiting Backoff before each retry.
type Retry struct {
	Max     int
	Backoff time.Duration
}
