package analysis

// SweepPoint is the simulated behaviour at one offered load.
type SweepPoint struct {
	Rate float64 `json:"rate"` // offered requests per second, all entries together
	// Busiest is the service with the highest utilization and Utilization
	// its busy fraction of worker capacity.
	Busiest     string        `json:"busiest_service,omitempty"`
	Utilization float64       `json:"utilization"`
	Endpoints   []SimEndpoint `json:"endpoints"`
	Overloaded  bool          `json:"overloaded"`
}

// SaturationUtilization is the busy fraction from which a service is taken
// as saturated: its queue no longer drains between bursts, so latency
// grows with the length of the run rather than settling.
const SaturationUtilization = 0.98

// Saturation returns the index of the first point whose busiest service
// is saturated (or that the simulator flagged as overloaded), or -1 when
// the whole sweep kept up. Beyond that point throughput is capped by the
// saturated service while the offered load keeps growing.
func Saturation(points []SweepPoint) int {
	for i, p := range points {
		if p.Overloaded || p.Utilization >= SaturationUtilization {
			return i
		}
	}
	return -1
}
