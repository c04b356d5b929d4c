// Package root assembles the tracesim command tree.
package root

import (
	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/internal/cmd/analyze"
	"github.com/tracesim/tracesim/internal/cmd/dr"
	"github.com/tracesim/tracesim/internal/cmd/inspect"
	modelcmd "github.com/tracesim/tracesim/internal/cmd/model"
	plotcmd "github.com/tracesim/tracesim/internal/cmd/plot"
	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmd/sweep"
	testbedcmd "github.com/tracesim/tracesim/internal/cmd/testbed"
	validatecmd "github.com/tracesim/tracesim/internal/cmd/validate"
	"github.com/tracesim/tracesim/internal/cmd/whatif"
	"github.com/tracesim/tracesim/internal/cmdutil"
)

// New returns the root command with every subcommand attached.
func New(io *cmdutil.IO, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tracesim",
		Short: "Predict what a change does to a distributed system's latency, from its traces",
		Long: `tracesim reads the traces a system already collects (Zipkin, Jaeger,
OpenTelemetry), builds a model of its services, and predicts what a change —
a cache, batching, parallel calls, more load, more replicas, a service down —
does to the latency and errors of every endpoint.`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetIn(io.In)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.AddCommand(inspect.NewCmd(io))
	cmd.AddCommand(analyze.NewCmd(io))
	cmd.AddCommand(modelcmd.NewCmd(io))
	cmd.AddCommand(plotcmd.NewCmd(io))
	cmd.AddCommand(simulate.NewCmd(io))
	cmd.AddCommand(sweep.NewCmd(io))
	cmd.AddCommand(whatif.NewCmd(io))
	cmd.AddCommand(dr.NewCmd(io))
	cmd.AddCommand(testbedcmd.NewCmd(io))
	cmd.AddCommand(validatecmd.NewCmd(io))
	return cmd
}
