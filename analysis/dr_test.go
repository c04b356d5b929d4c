package analysis

import (
	"slices"
	"testing"
)

// ep builds an endpoint delta from baseline and predicted error rates.
func ep(name string, base, pred float64, sig bool) EndpointDelta {
	return EndpointDelta{
		Endpoint:       name,
		Baseline:       Side{ErrorRate: base},
		Predicted:      Side{ErrorRate: pred},
		ErrorRateDelta: round(pred-base, 6),
		Significant:    Significance{ErrorRate: sig},
	}
}

func TestAssessService(t *testing.T) {
	share := map[string]float64{"a/x": 0.25, "b/y": 0.75}
	tests := []struct {
		name      string
		endpoints []EndpointDelta
		blast     float64
		affected  int
		spof      []string
	}{
		{"nothing changes", []EndpointDelta{ep("a/x", 0, 0, false), ep("b/y", 0.01, 0.01, false)}, 0, 0, nil},
		{"weighted sum", []EndpointDelta{ep("a/x", 0, 0.4, true), ep("b/y", 0, 0.2, true)}, 0.25, 2, nil},
		{"total loss of one endpoint", []EndpointDelta{ep("a/x", 0, 1, true), ep("b/y", 0, 0, false)}, 0.25, 1, []string{"a/x"}},
		{"decrease does not cancel damage", []EndpointDelta{ep("a/x", 0.1, 0, false), ep("b/y", 0, 0.6, true)}, 0.45, 1, []string{"b/y"}},
		{"small but significant counts", []EndpointDelta{ep("a/x", 0, 0.0004, true)}, 0.0001, 1, nil},
		{"small and not significant does not", []EndpointDelta{ep("a/x", 0, 0.0004, false)}, 0.0001, 0, nil},
		{"above threshold without significance", []EndpointDelta{ep("a/x", 0, 0.002, false)}, 0.0005, 1, nil},
		{"already failing is not lost", []EndpointDelta{ep("a/x", 0.6, 0.8, true)}, 0.05, 1, nil},
		{"no traffic share", []EndpointDelta{ep("c/z", 0, 1, true)}, 0, 1, []string{"c/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := AssessService("s", &Comparison{Endpoints: tt.endpoints}, share)
			if r.Service != "s" || r.BlastRadius != tt.blast || r.Affected != tt.affected || !slices.Equal(r.SPOF, tt.spof) {
				t.Errorf("got %+v, want blast %v affected %d spof %v", r, tt.blast, tt.affected, tt.spof)
			}
		})
	}
}

func TestTestOrder(t *testing.T) {
	tests := []struct {
		name string
		in   []ServiceRisk
		want []string
	}{
		{"empty", nil, nil},
		{"ascending blast radius", []ServiceRisk{{Service: "a", BlastRadius: 1}, {Service: "b", BlastRadius: 0}, {Service: "c", BlastRadius: 0.5}}, []string{"b", "c", "a"}},
		{"ties by name", []ServiceRisk{{Service: "z", BlastRadius: 0.2}, {Service: "m", BlastRadius: 0.2}, {Service: "a", BlastRadius: 0.3}}, []string{"m", "z", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			var got []string
			for _, r := range TestOrder(tt.in) {
				got = append(got, r.Service)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.EqualFunc(in, tt.in, func(a, b ServiceRisk) bool { return a.Service == b.Service }) {
				t.Error("input was modified")
			}
		})
	}
}
