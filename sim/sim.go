// Package sim is tracesim's discrete-event simulator: it runs a topology
// model in virtual time. Requests arrive (open-loop Poisson or constant
// arrivals, or closed-loop users), execute their operation's shape —
// local work, sequential, parallel and pooled calls to other operations —
// queue for workers at service instances, fail, retry and finish; the
// latency of every request is recorded per endpoint and per operation in
// streaming histograms, so memory does not grow with the number of
// requests.
package sim

import (
	"time"

	"github.com/tracesim/tracesim/internal/hist"
	"github.com/tracesim/tracesim/topology"
)

// Workload is the traffic offered to the model.
type Workload struct {
	// Rate is the total open-loop arrival rate in requests per second,
	// split over the entry operations in proportion to their model rates.
	// 0 uses the model's entry rates as they are.
	Rate float64
	// Constant makes inter-arrival times constant instead of exponential.
	Constant bool
	// Users > 0 makes the workload closed-loop: each user sends a request,
	// waits for its response, thinks for Think, and repeats. Users are
	// spread over the entries so that the mix of requests matches the
	// model's entry rates (see UserWeights).
	Users int
	Think time.Duration
	// UserWeights, when set, spreads closed-loop users over the entry
	// operations (by name) in these proportions instead of UserWeights'
	// rule applied to Config.Model: a scenario sets the baseline's, so
	// that a change to the model does not move users between entries.
	UserWeights map[string]float64
	// Replay, when not empty, replaces the synthetic workload: these
	// recorded requests are replayed exactly, each with its own arrival
	// time, shape and times (see ReplayRequest and Run). Rate and Users
	// must then be 0.
	Replay []ReplayRequest
	// ReplaySpeed scales replayed arrival times: 2 replays twice as fast
	// (twice the rate). 0 means 1.
	ReplaySpeed float64
}

// Config is one simulation run.
type Config struct {
	Model    *topology.Model
	Workload Workload
	// Duration is the simulated time measured after Warmup. If Requests
	// is set instead, the run stops when that many requests that arrived
	// after the warm-up have completed.
	Duration time.Duration
	Requests int
	Warmup   time.Duration
	Seed     uint64
	// Balance picks an instance for each execution: "round-robin"
	// (default) or "least-loaded".
	Balance string
	// OnReplication, when set, is called after each replication that
	// Replicate completes, from the goroutine that ran it (so it must be
	// safe for concurrent use): progress reporting.
	OnReplication func()
	// Down takes service instances down for the whole run: Down["db"] =
	// []int{0} makes instance 0 of service db refuse every execution sent
	// to it (indexes from 0, as in SpanRecord.Instance). A refused
	// execution holds no worker, does no work, makes no random draws and
	// answers at once with an error, so the caller pays only the call's
	// network cost, as scenarios' disable (mode fail) does for a whole
	// service: the error is retried (on another instance, see Run),
	// tolerated by an optional call, and otherwise fails the caller; an
	// entry request sent to a down instance fails. Instances are still
	// chosen as if all were up (round robin does not skip a down
	// instance; least-loaded sees it idle and prefers it, the "black
	// hole" of a least-request balancer without health checks). It is
	// recorded as a failed execution of latency 0. Nil or empty: all up.
	// (A closed-loop user with no think time whose entry instances are
	// all down sends requests without time passing: MaxEvents ends it.)
	Down map[string][]int
	// MaxEvents stops the run with an error after that many events
	// (0 = DefaultMaxEvents), so nothing runs forever.
	MaxEvents int64
	// OnSpan, when not nil, receives a SpanRecord for every execution and
	// every call attempt of the measured requests (those arriving after
	// Warmup), as each one ends; see SpanRecord. It is called on the
	// goroutine running the simulation, synchronously. Replicate calls it
	// for replication 0 only, so the spans describe one run. When nil, no
	// span bookkeeping is done.
	OnSpan func(SpanRecord)
}

// SpanKind is the role of a SpanRecord.
type SpanKind uint8

const (
	// SpanServer is one execution of an operation at a service instance.
	SpanServer SpanKind = iota
	// SpanClient is one attempt of a call, seen by the caller.
	SpanClient
)

// String returns "server" or "client".
func (k SpanKind) String() string {
	if k == SpanClient {
		return "client"
	}
	return "server"
}

// SpanRecord is one simulated span in sim's own, format-neutral terms
// (converting it to a trace format is the caller's business).
//
//   - A request is one arrival at an entry operation; its root execution
//     is a server span with Parent 0.
//   - Every call attempt (each repetition and each retry) is a client
//     span in the caller: Service and Instance are the caller's,
//     Operation and PeerService the callee's. It runs from the moment the
//     attempt is sent to its response or timeout, so it covers the
//     network overhead both ways, the callee's queue wait and its
//     execution. Error is set when the attempt failed or timed out.
//   - The callee's execution is a server span, child of that client
//     span. Start is when it got a worker (queue wait excluded: the wait
//     shows up as the gap between the client span and the server span);
//     Arrive is when it reached the instance (= Start without queueing).
//     Error is set when the execution answered with an error.
//   - A timed-out callee keeps running: its server span still comes,
//     later, under the client span that gave up on it. Async calls have
//     Async set on both spans.
//   - Records arrive in the order spans end, so children come before
//     their parents. With Config.Requests the run stops as soon as enough
//     requests completed, and the requests still in flight then are cut
//     off: some of their spans never come (their root span never does).
type SpanRecord struct {
	Request     int64  // 1, 2, … in order of arrival of the measured requests
	ID          uint64 // unique in the run, never 0
	Parent      uint64 // 0 for the root
	Service     string
	Operation   string // the operation's name without its "service/" prefix
	PeerService string // client spans: the callee's service
	Kind        SpanKind
	Instance    int   // index of the service instance, from 0
	Arrive      int64 // server spans: arrival at the instance, ns of virtual time
	Start, End  int64 // ns of virtual time since the run began
	Error       bool
	Async       bool
}

// Stats are the measurements of one endpoint (an entry operation, end to
// end) or one operation (each execution, wherever it was called from).
type Stats struct {
	Name     string
	Requests int64 // completed, measured (after warm-up)
	Errors   int64
	Latency  *hist.Hist // nanoseconds
}

// Result is one replication's output.
type Result struct {
	Seed       uint64
	Endpoints  []Stats // entry operations, sorted by name
	Operations []Stats // every operation, sorted by name
	Events     int64   // events processed
	// Utilization is each service's busy fraction of worker capacity over
	// the measured period (0 for services with unlimited workers).
	Utilization map[string]float64
	SimTime     time.Duration
	// Warnings name the services whose estimated offered load (entry
	// rates × visits × mean execution time ÷ workers) is at or above
	// capacity. The run still happens, bounded by Duration or Requests.
	Warnings []string
}
