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
	// spread over the entries in proportion to their model rates.
	Users int
	Think time.Duration
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
	// MaxEvents stops the run with an error after that many events
	// (0 = DefaultMaxEvents), so nothing runs forever.
	MaxEvents int64
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
