// Package model implements `tracesim model`: build the topology model from
// traces and write it as YAML.
package model

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/trace"
	"github.com/tracesim/tracesim/trace/load"
)

// Options are model's flags and arguments.
type Options struct {
	IO      *cmdutil.IO
	Inputs  []string
	Output  string // "" or "-" for stdout
	Format  string
	Strict  bool
	Workers map[string]int
	// Pools are --pool caller:callee=N.
	Pools map[string]int
	// Capacity is "infer" (or "", or the older "observed") or "none".
	Capacity string
}

// NewCmd returns the model command.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "model FILES... [-o model.yaml]",
		Short: "Build the service topology model from traces",
		Long: `Model reads traces and writes the model tracesim simulates: services and
their capacity, operations with their execution shapes (local work, sequential
calls, parallel groups, pools, loops, retries), network overhead per call edge,
error rates, entry traffic, and fitted latency distributions.

Recorded durations are work plus waiting: a span that waited for a lock, a
pooled connection or a worker carries the wait. Model finds where requests
waited from span timing alone (queue inference: departure-based
reconstruction of c first-come-first-served servers, with c chosen by test):
a service's workers (waits before its spans start), a pool or lock shared by
the requests of a caller instance (waits inside its client spans, or before
them for a worker pool), an uninstrumented peer's capacity. Each limit goes
into the model with its evidence (the test behind it and the share of
recorded time that was waiting), and the waits are taken out of the fitted
distributions, so that the simulator adds them back at whatever load it runs.
Causality comes first: a caller's next call, a loop's next iteration, a retry
or a closed-loop client's next request is not evidence of a queue, and no
limit is inferred from fewer than 30 uses that found the resource busy.
--capacity none turns inference off (the model then replays recorded waits as
work); --workers svc=N states a service's workers, for any service or peer
that inspect lists. A summary of what was found goes to stderr.`,
		Example: `  tracesim model examples/traces -o model.yaml
  tracesim model traces.json --workers db=8 --workers frontend=64 -o model.yaml
  tracesim model one-client.json --pool frontend:mysql=1 -o model.yaml   # a lock the traces cannot show`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the model to this file (default: stdout)")
	cmd.Flags().StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail on partially readable inputs")
	cmd.Flags().StringToIntVar(&opts.Workers, "workers", nil, "workers per instance of a service or peer, as service=N (repeatable)")
	cmd.Flags().StringToIntVar(&opts.Pools, "pool", nil, "a pool (or, of 1, a lock) per instance of a caller, shared by its requests, in front of its calls to a service, as caller:callee=N (repeatable)")
	cmd.Flags().StringVar(&opts.Capacity, "capacity", "infer", `"infer": find limited resources from span timing; "none": no limits but --workers`)
	return cmd
}

// Run executes model.
func Run(ctx context.Context, opts *Options) error {
	capacity, err := topology.ParseCapacity(opts.Capacity)
	if err != nil {
		return err
	}
	var res *trace.Result
	for svc, w := range opts.Workers {
		if w < 1 {
			return fmt.Errorf("--workers %s=%d: workers must be at least 1 (omit the service for unlimited capacity)", svc, w)
		}
	}
	res, err = inspect.Load(ctx, opts.IO, opts.Inputs, opts.Format, opts.Strict)
	if err != nil {
		return err
	}
	m, rep, err := topology.Build(ctx, res, topology.BuildOptions{Workers: opts.Workers, Pools: opts.Pools, Capacity: capacity})
	if err != nil {
		return fmt.Errorf("building the model: %w", err)
	}
	if err := topology.Validate(m); err != nil {
		return fmt.Errorf("the model built from these traces is not valid (a bug; please report it): %w", err)
	}
	var buf bytes.Buffer
	if err := topology.Write(&buf, m); err != nil {
		return err
	}
	if opts.Output == "" || opts.Output == "-" {
		if _, err := opts.IO.Out.Write(buf.Bytes()); err != nil {
			return err
		}
	} else if err := os.WriteFile(opts.Output, buf.Bytes(), 0o644); err != nil {
		return err
	}
	e := opts.IO.ErrOut
	fmt.Fprintf(e, "model: %d traces, %d executions → %d services, %d operations (%d entry), %d shapes\n",
		len(res.Traces), rep.Executions, len(m.Services), rep.Operations, rep.Entries, rep.Shapes)
	if len(rep.WorkFits) > 0 {
		fmt.Fprintf(e, "model: fitted distributions: %s\n", strings.Join(rep.WorkFits, ", "))
	}
	if rep.Orphans > 0 {
		fmt.Fprintf(e, "model: %d executions had no caller in the traces (orphans): modelled, but not counted as entry traffic\n", rep.Orphans)
	}
	for _, c := range rep.Capacity {
		fmt.Fprintf(e, "model: %s\n", c)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(e, "model: %s\n", n)
	}
	if opts.Output != "" && opts.Output != "-" {
		fmt.Fprintf(e, "model: wrote %s\n", opts.Output)
	}
	return nil
}
