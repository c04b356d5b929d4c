package dr

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/report"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
)

// Plan is what `dr plan` reports.
type Plan struct {
	Replications int    `json:"replications"`
	Seed         uint64 `json:"seed"`
	// Ranking is every service, most risky first.
	Ranking []analysis.ServiceRisk `json:"ranking"`
	// SPOF are the single points of failure, by name.
	SPOF []string `json:"single_points_of_failure"`
	// TestOrder is the proposed DR drill order, least risky first.
	TestOrder []string `json:"test_order"`
}

// RunPlan executes `dr plan`.
func RunPlan(ctx context.Context, opts *Options) error {
	p, err := MakePlan(ctx, opts)
	if err != nil {
		return err
	}
	if opts.Report != "" {
		d := &report.DR{Title: "DR plan", Seed: p.Seed, Replications: p.Replications, Ranking: p.Ranking, TestOrder: p.TestOrder}
		if err := writeReport(opts, "DR plan: "+opts.Model, d); err != nil {
			return err
		}
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, p)
	}
	return printPlan(opts.IO, p)
}

// MakePlan takes each non-peer service down in turn (mode fail) and
// ranks them. The baseline is simulated once and paired with every run.
func MakePlan(ctx context.Context, opts *Options) (*Plan, error) {
	m, err := readModel(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := opts.config(m)
	if err != nil {
		return nil, err
	}
	base, err := sim.Replicate(ctx, cfg, opts.Replications)
	if err != nil {
		return nil, fmt.Errorf("simulating the baseline: %w", err)
	}
	share := shares(m)
	var risks []analysis.ServiceRisk
	for _, svc := range sortedKeys(m.Services) {
		// Peers (databases, brokers seen only from client spans) are left
		// out: their loss is the caller's dependency, drilled with it.
		if s := m.Services[svc]; s == nil || s.Peer {
			continue
		}
		c, err := compareDown(ctx, cfg, opts.Replications, base, svc, scenarios.ModeFail)
		if err != nil {
			return nil, err
		}
		risks = append(risks, analysis.AssessService(svc, c, share))
	}
	order := analysis.TestOrder(risks)
	p := &Plan{Replications: opts.Replications, Seed: cfg.Seed, Ranking: make([]analysis.ServiceRisk, 0, len(order)),
		SPOF: []string{}, TestOrder: []string{}}
	// Most risky first; the stable sort keeps order's ties by name.
	p.Ranking = append(p.Ranking, order...)
	slices.SortStableFunc(p.Ranking, func(a, b analysis.ServiceRisk) int { return cmp.Compare(b.BlastRadius, a.BlastRadius) })
	for _, r := range order {
		p.TestOrder = append(p.TestOrder, r.Service)
		if len(r.SPOF) > 0 {
			p.SPOF = append(p.SPOF, r.Service)
		}
	}
	return p, nil
}

func printPlan(io *cmdutil.IO, p *Plan) error {
	fmt.Fprintf(io.Out, "each service down in turn (fail), %d paired replications, seed %d\n\n", p.Replications, p.Seed)
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "SERVICE\tBLAST RADIUS\tAFFECTED ENDPOINTS\tSINGLE POINT OF FAILURE FOR")
	for _, r := range p.Ranking {
		spof := "-"
		if len(r.SPOF) > 0 {
			spof = strings.Join(r.SPOF, ", ")
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%d\t%s\n", r.Service, r.BlastRadius, r.Affected, spof)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	fmt.Fprintln(io.Out, "\nblast radius = Σ over endpoints of traffic share × error-rate increase.")
	fmt.Fprintf(io.Out, "DR test order (least risky first): %s\n", strings.Join(p.TestOrder, " → "))
	return nil
}
