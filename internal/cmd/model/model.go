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
	// Capacity is "" or topology.CapacityObserved.
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

Capacity (workers per instance) cannot be read from traces directly: it is
unlimited unless given with --workers; the model records as evidence the most
executions seen at once per instance and how many executions look queued (they
started the moment another ended on a full instance). With --capacity observed,
every service whose traces show queueing gets the concurrency it was seen
running at as its workers, and the queueing is taken out of its callers'
network overhead so the simulator can add it back at any load. A summary of
what was found goes to stderr.`,
		Example: `  tracesim model examples/traces -o model.yaml
  tracesim model traces.json --workers db=8 --workers frontend=64 -o model.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			return Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the model to this file (default: stdout)")
	cmd.Flags().StringVar(&opts.Format, "format", "", "force the input format: "+strings.Join(load.Formats, ", ")+" (default: detect)")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail on partially readable inputs")
	cmd.Flags().StringToIntVar(&opts.Workers, "workers", nil, "workers per instance of a service, as service=N (repeatable)")
	cmd.Flags().StringVar(&opts.Capacity, "capacity", "", `"observed": give services whose traces show queueing the workers they were seen using`)
	return cmd
}

// Run executes model.
func Run(ctx context.Context, opts *Options) error {
	if opts.Capacity != topology.CapacityNone && opts.Capacity != topology.CapacityObserved {
		return fmt.Errorf("--capacity %q: want %q (or nothing)", opts.Capacity, topology.CapacityObserved)
	}
	for svc, w := range opts.Workers {
		if w < 1 {
			return fmt.Errorf("--workers %s=%d: workers must be at least 1 (omit the service for unlimited capacity)", svc, w)
		}
	}
	res, err := inspect.Load(ctx, opts.IO, opts.Inputs, opts.Format, opts.Strict)
	if err != nil {
		return err
	}
	m, rep, err := topology.Build(ctx, res, topology.BuildOptions{Workers: opts.Workers, Capacity: opts.Capacity})
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
	for _, n := range rep.Notes {
		fmt.Fprintf(e, "model: %s\n", n)
	}
	if opts.Output != "" && opts.Output != "-" {
		fmt.Fprintf(e, "model: wrote %s\n", opts.Output)
	}
	return nil
}
