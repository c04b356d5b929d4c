package scenarios

import (
	"context"
	"fmt"
	"math"

	"github.com/tracesim/tracesim/sim"
)

// Runs are the paired replications of a scenario: Baseline of the model
// as it is, Predicted with the changes, replication i of each on the same
// seed and random streams (common random numbers).
type Runs struct {
	Baseline  []*sim.Result
	Predicted []*sim.Result
	// Warnings are the simulator's warnings for the changed model (a
	// service at or above capacity, say).
	Warnings []string
}

// Simulate runs base.Model unchanged and with changes, k replications
// each, with base's workload, duration and seed. A load change scales
// the workload of the changed run: the users of a closed loop, else the
// total arrival rate (the model's entry rates when base gives none).
func Simulate(ctx context.Context, base sim.Config, k int, changes []Change) (*Runs, error) {
	if base.Model == nil {
		return nil, fmt.Errorf("simulate scenario: no model")
	}
	changed, eff, err := Apply(base.Model, changes)
	if err != nil {
		return nil, err
	}
	if base.Workload.Users > 0 && base.Workload.UserWeights == nil {
		// Users stay on the entries the baseline gives them: a change
		// makes requests faster or slower, not users move.
		uw, err := sim.UserWeights(base.Model, base.Workload.Think)
		if err != nil {
			return nil, err
		}
		base.Workload.UserWeights = uw
	}
	scen := base
	scen.Model = changed
	if eff.Rate > 0 || eff.Factor != 1 {
		if base.Workload.Users > 0 {
			scen.Workload.Users = int(math.Round(eff.Of(float64(base.Workload.Users))))
		} else {
			total := base.Workload.Rate
			if total == 0 {
				for _, op := range base.Model.Operations {
					if op.Entry != nil {
						total += op.Entry.Rate
					}
				}
			}
			scen.Workload.Rate = eff.Of(total)
		}
	}
	baseRes, err := sim.Replicate(ctx, base, k)
	if err != nil {
		return nil, fmt.Errorf("simulating the baseline: %w", err)
	}
	scenRes, err := sim.Replicate(ctx, scen, k)
	if err != nil {
		return nil, fmt.Errorf("simulating the scenario: %w", err)
	}
	// Every replication estimates load the same way: the first one's
	// warnings are all of them.
	return &Runs{Baseline: baseRes, Predicted: scenRes, Warnings: scenRes[0].Warnings}, nil
}
