package analysis

import (
	"cmp"
	"slices"
)

// Disaster-recovery planning: given, for each service, the comparison of
// the baseline with the model where that service is down, these plain
// functions rank services by how much traffic their loss breaks. They only
// read the comparisons, so they can be tested on hand-built values.

// AffectedThreshold is the error-rate increase above which an endpoint
// counts as affected even when Compare could not call it significant
// (e.g. with a single replication, where no interval exists).
const AffectedThreshold = 0.001

// SPOFAvailability is the availability below which an endpoint counts as
// lost: a service whose loss takes any endpoint below it is a single point
// of failure.
const SPOFAvailability = 0.5

// ServiceRisk is what losing one service does to the endpoints.
type ServiceRisk struct {
	Service string `json:"service"`
	// BlastRadius is the fraction of all requests that newly fail:
	// Σ traffic share × error-rate increase.
	BlastRadius float64 `json:"blast_radius"`
	// Affected is the number of endpoints whose error rate rose.
	Affected int `json:"affected_endpoints"`
	// SPOF lists the endpoints whose availability falls below
	// SPOFAvailability; non-empty means the service is a single point of
	// failure.
	SPOF []string `json:"spof_endpoints,omitempty"`
}

// errorIncrease is an endpoint's error-rate increase, never negative: a
// service going down cannot make anything more available, so a negative
// delta is noise and must not cancel real damage elsewhere in the sum.
func errorIncrease(e EndpointDelta) float64 {
	return max(0, e.ErrorRateDelta)
}

// BlastRadius is Σ over c's endpoints of share[endpoint] × error-rate
// increase. share maps an endpoint to its fraction of the total entry
// rate; endpoints missing from it carry no traffic.
func BlastRadius(c *Comparison, share map[string]float64) float64 {
	var sum float64
	for _, e := range c.Endpoints {
		sum += share[e.Endpoint] * errorIncrease(e)
	}
	// Rounded so that sums of exact inputs compare exactly and ties in the
	// ranking are not decided by floating-point noise.
	return round(sum, 6)
}

// AffectedEndpoints counts the endpoints whose error rate rose
// significantly (per Compare) or by more than AffectedThreshold.
func AffectedEndpoints(c *Comparison) int {
	n := 0
	for _, e := range c.Endpoints {
		if e.ErrorRateDelta > 0 && (e.Significant.ErrorRate || e.ErrorRateDelta > AffectedThreshold) {
			n++
		}
	}
	return n
}

// SPOFEndpoints lists, in c's order, the endpoints whose availability
// (1 − error rate) with the change is below SPOFAvailability while it was
// not before: an endpoint that was already failing was not lost to the
// change.
func SPOFEndpoints(c *Comparison) []string {
	var out []string
	for _, e := range c.Endpoints {
		if 1-e.Predicted.ErrorRate < SPOFAvailability && 1-e.Baseline.ErrorRate >= SPOFAvailability {
			out = append(out, e.Endpoint)
		}
	}
	return out
}

// AssessService summarises c, the comparison with service down.
func AssessService(service string, c *Comparison, share map[string]float64) ServiceRisk {
	return ServiceRisk{
		Service:     service,
		BlastRadius: BlastRadius(c, share),
		Affected:    AffectedEndpoints(c),
		SPOF:        SPOFEndpoints(c),
	}
}

// TestOrder returns the risks sorted for a DR test campaign: least risky
// first (ascending blast radius, ties by service name), so the first
// drills are the cheapest to get wrong. risks is not modified.
func TestOrder(risks []ServiceRisk) []ServiceRisk {
	out := slices.Clone(risks)
	slices.SortStableFunc(out, func(a, b ServiceRisk) int {
		return cmp.Or(cmp.Compare(a.BlastRadius, b.BlastRadius), cmp.Compare(a.Service, b.Service))
	})
	return out
}
