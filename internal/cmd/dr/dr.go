// Package dr implements `tracesim dr`: disaster-recovery questions about
// a model. `dr impact` answers "what happens to every endpoint if this
// service is down?"; `dr plan` takes each service down in turn, ranks them
// by blast radius, flags single points of failure and proposes the order
// in which to run DR drills; `dr availability` estimates each endpoint's
// availability when instances fail independently at random.
package dr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/report"
	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// Options are the flags of dr's subcommands.
type Options struct {
	IO       *cmdutil.IO
	Model    string
	Duration time.Duration // simulated time of one run
	Seed     uint64
	JSON     bool
	// Report, when set, is an HTML file to write the result to as well
	// (impact and plan).
	Report string
	// impact and plan
	Replications int
	Down         string // impact: the service taken down
	Mode         string // impact: scenarios.ModeFail or ModeSkip
	// availability
	FailureProb []string // "P" for every service, "SERVICE=P" for one; repeatable
	Samples     int      // sampled down states
}

// NewCmd returns the dr command with its impact and plan subcommands.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dr",
		Short: "Disaster recovery: what breaks when a service is down",
		Long: `Dr simulates the model with services taken down, on common random
numbers against the unchanged baseline. "dr impact" reports what one
service's loss does to every endpoint; "dr plan" takes each service down in
turn, ranks them by blast radius, flags single points of failure and
proposes an order for DR drills, least risky first; "dr availability"
takes instances down at random, each with its own probability, and
reports each endpoint's availability.`,
	}
	cmd.AddCommand(newImpactCmd(io), newPlanCmd(io), newAvailabilityCmd(io))
	return cmd
}

// addModelFlags adds the flags every subcommand has.
func addModelFlags(cmd *cobra.Command, opts *Options) {
	f := cmd.Flags()
	f.StringVarP(&opts.Model, "model", "m", "", "model file (from `tracesim model` or hand-written)")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed; the same inputs and seed give identical output")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	_ = cmd.MarkFlagRequired("model")
}

// addCommonFlags adds the flags of the subcommands that compare paired
// replications (impact, plan).
func addCommonFlags(cmd *cobra.Command, opts *Options) {
	addModelFlags(cmd, opts)
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", time.Minute, "simulated time per replication, measured after a tenth of it as warm-up")
	f.IntVar(&opts.Replications, "replications", 10, "paired replications")
	f.StringVar(&opts.Report, "report", "", "also write a self-contained HTML report to this file")
}

// writeReport writes d as a one-section HTML page to opts.Report.
func writeReport(opts *Options, title string, d *report.DR) error {
	f, err := os.Create(opts.Report)
	if err != nil {
		return err
	}
	if err := report.WriteDRPage(f, title, d); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", opts.Report, err)
	}
	return f.Close()
}

func newImpactCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "impact -m model.yaml --down SERVICE",
		Short: "What happens to every endpoint if a service is down",
		Long: `Impact simulates the model as it is and with SERVICE down, and reports
per endpoint the availability (1 − error rate) and latency p50/p99 before
and after, and which callers absorb the loss: operations that call the
service through an optional call.

--mode fail (default): calls to the service fail after their network cost,
and its entry operations fail. --mode skip: calls to it are removed, as if
every caller had a fallback.`,
		Example: `  tracesim dr impact -m model.yaml --down auth
  tracesim dr impact -m model.yaml --down recs --mode skip --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunImpact(cmd.Context(), opts)
		},
	}
	addCommonFlags(cmd, opts)
	cmd.Flags().StringVar(&opts.Down, "down", "", "the service that is down")
	cmd.Flags().StringVar(&opts.Mode, "mode", scenarios.ModeFail, "fail or skip")
	_ = cmd.MarkFlagRequired("down")
	return cmd
}

func newPlanCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "plan -m model.yaml",
		Short: "Rank services by blast radius and propose a DR test order",
		Long: `Plan takes each service that reports its own spans (peers excluded) down
in turn (mode fail) and reports its blast radius — the fraction of all
requests that newly fail, Σ over endpoints of traffic share × error-rate
increase — and the number of endpoints affected. A service whose loss takes
some endpoint's availability below 0.5 is flagged as a single point of
failure. The test order runs the least risky drills first.`,
		Example: `  tracesim dr plan -m model.yaml
  tracesim dr plan -m model.yaml --replications 20 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunPlan(cmd.Context(), opts)
		},
	}
	addCommonFlags(cmd, opts)
	return cmd
}

// config checks the options of the replicating subcommands and returns
// the baseline config.
func (o *Options) config(m *topology.Model) (sim.Config, error) {
	if o.Replications < 1 {
		return sim.Config{}, fmt.Errorf("--replications %d: need at least 1", o.Replications)
	}
	return o.runConfig(m)
}

// runConfig checks --duration and --seed and returns the config of one
// simulation of m.
func (o *Options) runConfig(m *topology.Model) (sim.Config, error) {
	if o.Duration <= 0 {
		return sim.Config{}, fmt.Errorf("--duration %s: must be positive", o.Duration)
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	// The warm-up matches whatif's, so both commands agree on a model.
	return sim.Config{Model: m, Seed: o.Seed, Duration: o.Duration, Warmup: o.Duration / 10}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func serviceOf(op string) string {
	s, _, _ := strings.Cut(op, "/")
	return s
}

// calls returns every call of a shape, however it is grouped.
func calls(sh *topology.Shape) []*topology.Call {
	var out []*topology.Call
	for _, st := range sh.Steps {
		if st == nil {
			continue
		}
		if st.Call != nil {
			out = append(out, st.Call)
		}
		out = append(out, st.Parallel...)
		if st.Pool != nil {
			out = append(out, st.Pool.Calls...)
		}
	}
	return out
}

// callers returns the operations (of other services) that call service,
// sorted, split by whether some call to it is optional: those absorb its
// loss. An operation with both kinds is listed under optional only if no
// call is required, since one required call is enough to fail it.
func callers(m *topology.Model, service string) (required, optional []string) {
	for _, name := range sortedKeys(m.Operations) {
		op := m.Operations[name]
		if op == nil || serviceOf(name) == service {
			continue
		}
		var req, opt bool
		for _, sh := range op.Shapes {
			if sh == nil {
				continue
			}
			for _, c := range calls(sh) {
				if c == nil || serviceOf(c.Target) != service {
					continue
				}
				// A fire-and-forget call cannot fail its caller either.
				if c.Optional || c.Async {
					opt = true
				} else {
					req = true
				}
			}
		}
		switch {
		case req:
			required = append(required, name)
		case opt:
			optional = append(optional, name)
		}
	}
	return required, optional
}

// downChanges returns the changes that take service down in mode. Disable
// only rewrites the calls to the service, so in fail mode its own entry
// operations are also made to fail: external traffic to a dead service
// fails too. It returns no changes when nothing calls the service and it
// receives no traffic, since then its loss affects nothing.
func downChanges(m *topology.Model, service, mode string) []scenarios.Change {
	var ch []scenarios.Change
	req, opt := callers(m, service)
	if len(req)+len(opt) > 0 {
		ch = append(ch, &scenarios.Disable{Service: service, Mode: mode})
	}
	if mode == scenarios.ModeFail {
		for _, name := range sortedKeys(m.Operations) {
			if op := m.Operations[name]; op != nil && op.Entry != nil && serviceOf(name) == service {
				ch = append(ch, &scenarios.Error{Operation: name, Rate: 1})
			}
		}
	}
	return ch
}

// shares returns each entry operation's fraction of the model's total
// entry rate.
func shares(m *topology.Model) map[string]float64 {
	var total float64
	for _, op := range m.Operations {
		if op != nil && op.Entry != nil {
			total += op.Entry.Rate
		}
	}
	out := map[string]float64{}
	if total <= 0 {
		return out
	}
	for name, op := range m.Operations {
		if op != nil && op.Entry != nil {
			out[name] = op.Entry.Rate / total
		}
	}
	return out
}

// readModel reads the model and fails early on a missing -m.
func readModel(o *Options) (*topology.Model, error) {
	if o.Model == "" {
		return nil, errors.New("no model: pass -m model.yaml")
	}
	m, err := topology.ReadFile(o.Model)
	if err != nil {
		return nil, fmt.Errorf("reading the model: %w", err)
	}
	return m, nil
}

// compareDown simulates cfg's model with service down and compares it
// with the baseline replications base.
func compareDown(ctx context.Context, cfg sim.Config, k int, base []*sim.Result, service, mode string) (*analysis.Comparison, error) {
	name := service + " down (" + mode + ")"
	ch := downChanges(cfg.Model, service, mode)
	if len(ch) == 0 {
		// Nothing reaches the service: comparing the baseline with itself
		// gives the exact answer, zero change, without a simulation.
		return analysis.Compare(name, cfg.Seed, base, base), nil
	}
	changed, _, err := scenarios.Apply(cfg.Model, ch)
	if err != nil {
		return nil, fmt.Errorf("taking %s down: %w", service, err)
	}
	scen := cfg
	scen.Model = changed
	res, err := sim.Replicate(ctx, scen, k)
	if err != nil {
		return nil, fmt.Errorf("simulating with %s down: %w", service, err)
	}
	return analysis.Compare(name, cfg.Seed, base, res), nil
}
