package whatif

import (
	"context"
	"fmt"

	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/replay"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// minPerBatch is the fewest recorded requests a replay batch may hold:
// fewer, and a batch's percentiles say little.
const minPerBatch = 20

// simulateReplay runs a replay-based scenario: the recorded requests of
// s.Traces, unchanged and with the changes applied to each request, with
// the capacity of s.Model when given.
//
// Replay draws nothing at random except what a change draws (cache hits,
// errors), so replications cannot come from seeds. They come from batch
// means instead: the recording is cut into k consecutive batches of
// equal size, and batch i of the baseline is paired with batch i of the
// scenario, which replays the same requests. The spread between batches
// is the recording's own variability, which is what an interval on a
// replayed prediction must reflect.
func simulateReplay(ctx context.Context, opts *Options, path string, s *scenarios.Scenario) (*Runs, error) {
	if w := s.Workload; w != nil && (w.Rate > 0 || w.Users > 0) {
		return nil, fmt.Errorf("%s: a replay scenario replays the recorded arrivals: change the load with a load change, not workload rate or users", path)
	}
	var m *topology.Model
	if s.Model != "" {
		var err error
		if m, err = topology.ReadFile(s.Model); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	res, err := inspect.Load(ctx, opts.IO, s.Traces, "", false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	reqs, rep, err := replay.FromTraces(res, replay.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: replay: %w", path, err)
	}
	if rep.Skipped > 0 {
		opts.IO.Warnf("%s: replay: %d roots skipped (orphans or untimed)", path, rep.Skipped)
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%s: the traces hold no request to replay", path)
	}
	seed := uint64(1)
	if s.Seed != 0 {
		seed = s.Seed
	}
	if opts.Seed != 0 {
		seed = opts.Seed
	}
	changed, capModel, eff, err := scenarios.ApplyReplay(reqs, m, s.Changes, seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k := 10
	if s.Replications > 0 {
		k = s.Replications
	}
	if opts.Replications > 0 {
		k = opts.Replications
	}
	if most := len(reqs) / minPerBatch; k > most {
		k = max(most, 1)
		opts.IO.Warnf("%s: %d recorded requests make %d replay batches of at least %d", path, len(reqs), k, minPerBatch)
	}
	speed := eff.Factor
	if eff.Rate > 0 {
		if rep.Span <= 0 {
			return nil, fmt.Errorf("%s: a load rate needs a recording longer than one instant", path)
		}
		recorded := float64(len(reqs)-1) / rep.Span.Seconds()
		speed = eff.Rate / recorded * eff.Factor
	}
	run := func(m *topology.Model, reqs []sim.ReplayRequest, speed float64) ([]*sim.Result, error) {
		out := make([]*sim.Result, k)
		for i := range k {
			lo, hi := i*len(reqs)/k, (i+1)*len(reqs)/k
			batch := make([]sim.ReplayRequest, hi-lo)
			t0 := reqs[lo].Arrive
			for j, q := range reqs[lo:hi] {
				batch[j] = sim.ReplayRequest{Arrive: q.Arrive - t0, Root: q.Root}
			}
			r, err := sim.Run(ctx, sim.Config{Model: m, Seed: seed + uint64(i),
				Workload: sim.Workload{Replay: batch, ReplaySpeed: speed}})
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	// FromTraces returns requests in arrival order, and ApplyReplay keeps
	// that order, so batch i holds the same requests in both runs.
	base, err := run(m, reqs, 1)
	if err != nil {
		return nil, fmt.Errorf("%s: replaying the baseline: %w", path, err)
	}
	pred, err := run(capModel, changed, speed)
	if err != nil {
		return nil, fmt.Errorf("%s: replaying with the changes: %w", path, err)
	}
	for _, w := range pred[0].Warnings {
		opts.IO.Warnf("%s: with the changes: %s", path, w)
	}
	name := s.Name
	if name == "" {
		name = path
	}
	return &Runs{Name: name, Seed: seed, Baseline: base, Predicted: pred}, nil
}
