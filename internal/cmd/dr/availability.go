package dr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/analysis"
	"github.com/tracesim/tracesim/internal/cmdutil"
)

// DefaultSamples is --samples' default: for an endpoint near 0.99
// availability it gives a 95% half-width of about 0.002.
const DefaultSamples = 10000

func newAvailabilityCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "availability -m model.yaml --failure-prob P [--failure-prob SERVICE=P ...]",
		Short: "Each endpoint's availability when instances fail at random",
		Long: `Availability takes every instance of every service down independently,
each with its service's probability, and estimates by Monte Carlo the
availability (fraction of requests that succeed) of every endpoint.

--failure-prob P sets the probability for every service (peers included);
--failure-prob SERVICE=P sets one service's, and wins over P. Repeat the
flag for several services. Unset services never fail.

A down instance refuses what is sent to it: a call to it fails after its
network cost, as with "dr impact --mode fail"; a retry goes to another
instance; an optional call tolerates the failure; otherwise the error
propagates to the caller; an entry request that reaches it fails. Load
balancers do not skip a down instance (no health checks).

Each of --samples samples draws the down state of all instances and
simulates the model in that state for --duration (a tenth of it warm-up).
All samples use the same --seed (common random numbers), so a state drawn
again is not simulated again: with small probabilities most samples repeat
a few states and many samples stay cheap. AVAILABILITY is the mean over
samples; 95% CI is the Student-t interval over samples (it covers the
sampling of states, not the noise of one state's simulation, which a longer
--duration reduces); ALL UP is the availability with every instance up.`,
		Example: `  tracesim dr availability -m model.yaml --failure-prob 0.01
  tracesim dr availability -m model.yaml --failure-prob 0.001 --failure-prob db=0.05 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunAvailability(cmd.Context(), opts)
		},
	}
	addModelFlags(cmd, opts)
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "simulated time per sampled state, measured after a tenth of it as warm-up")
	f.StringArrayVar(&opts.FailureProb, "failure-prob", nil, "probability that an instance is down: P for every service, SERVICE=P for one (repeatable)")
	f.IntVar(&opts.Samples, "samples", DefaultSamples, "sampled down states (Monte Carlo samples)")
	_ = cmd.MarkFlagRequired("failure-prob")
	return cmd
}

// AvailabilityOutput is what `dr availability` reports: the analysis
// with the simulated time of each state.
type AvailabilityOutput struct {
	*analysis.AvailabilityReport
	// DurationS is the simulated time of each state, warm-up included.
	DurationS float64 `json:"duration_s"`
}

// RunAvailability executes `dr availability`.
func RunAvailability(ctx context.Context, opts *Options) error {
	rep, err := Availability(ctx, opts)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, rep)
	}
	return printAvailability(opts.IO, rep)
}

// Availability reads the model and estimates its endpoints' availability
// under the failure probabilities of opts.FailureProb.
func Availability(ctx context.Context, opts *Options) (*AvailabilityOutput, error) {
	probs, err := ParseFailureProbs(opts.FailureProb)
	if err != nil {
		return nil, err
	}
	if opts.Samples < 1 {
		return nil, fmt.Errorf("--samples %d: need at least 1", opts.Samples)
	}
	m, err := readModel(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := opts.runConfig(m)
	if err != nil {
		return nil, err
	}
	rep, err := analysis.Availability(ctx, cfg, probs, opts.Samples)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", opts.Model, err)
	}
	return &AvailabilityOutput{AvailabilityReport: rep, DurationS: opts.Duration.Seconds()}, nil
}

// ParseFailureProbs parses --failure-prob values: "P" (every service, at
// most once) or "SERVICE=P" (one service, once each), P in [0, 1].
func ParseFailureProbs(vals []string) (analysis.FailureProbs, error) {
	var probs analysis.FailureProbs
	if len(vals) == 0 {
		return probs, errors.New("--failure-prob: none given; pass P for every service or SERVICE=P")
	}
	hasDefault := false
	for _, v := range vals {
		svc, num, named := strings.Cut(v, "=")
		if !named {
			svc, num = "", v
		}
		svc, num = strings.TrimSpace(svc), strings.TrimSpace(num)
		p, err := strconv.ParseFloat(num, 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return probs, fmt.Errorf("--failure-prob %q: %q is not a probability in [0, 1]", v, num)
		}
		switch {
		case !named:
			if hasDefault {
				return probs, fmt.Errorf("--failure-prob %q: a probability for every service is already set (%v)", v, probs.Default)
			}
			probs.Default, hasDefault = p, true
		case svc == "":
			return probs, fmt.Errorf("--failure-prob %q: no service before '='", v)
		default:
			if _, dup := probs.Services[svc]; dup {
				return probs, fmt.Errorf("--failure-prob %q: service %s is already set", v, svc)
			}
			if probs.Services == nil {
				probs.Services = map[string]float64{}
			}
			probs.Services[svc] = p
		}
	}
	return probs, nil
}

func printAvailability(io *cmdutil.IO, rep *AvailabilityOutput) error {
	probs := []string{fmt.Sprintf("default %g", rep.FailureProbs.Default)}
	for _, s := range sortedKeys(rep.FailureProbs.Services) {
		probs = append(probs, fmt.Sprintf("%s %g", s, rep.FailureProbs.Services[s]))
	}
	fmt.Fprintf(io.Out, "instances down independently with probability: %s\n", strings.Join(probs, ", "))
	fmt.Fprintf(io.Out, "%d samples, %d distinct states simulated for %gs each, seed %d\n\n", rep.Samples, rep.States, rep.DurationS, rep.Seed)
	tw := cmdutil.Table(io.Out)
	fmt.Fprintln(tw, "ENDPOINT\tAVAILABILITY\t95% CI\tALL UP")
	for _, e := range rep.Endpoints {
		fmt.Fprintf(tw, "%s\t%.4f\t[%.4f, %.4f]\t%.4f\n", e.Endpoint, e.Availability, e.CI95[0], e.CI95[1], e.AllUp)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	fmt.Fprintln(io.Out, "\navailability = mean over samples of the fraction of requests that succeeded; CI: Student-t over samples.")
	return nil
}
