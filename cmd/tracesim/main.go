// Command tracesim predicts the latency effect of changes to a distributed
// system from its traces. See `tracesim help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/tracesim/tracesim/internal/cmd/root"
	"github.com/tracesim/tracesim/internal/cmdutil"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); without
// it the module version from the build info is used.
var version = ""

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	io := cmdutil.System()
	cmd := root.New(io, buildVersion())
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(io.ErrOut, "tracesim: %v\n", err)
		return 1
	}
	return 0
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
