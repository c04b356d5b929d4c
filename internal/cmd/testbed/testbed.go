// Package testbed implements `tracesim testbed run`: start a topology as
// real HTTP services on 127.0.0.1 (package testbed), apply scenario
// changes for real, drive load through it, and report the latencies the
// clients measured, writing the services' OpenTelemetry traces.
package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tracesim/tracesim/internal/cmd/simulate"
	"github.com/tracesim/tracesim/internal/cmdutil"
	"github.com/tracesim/tracesim/scenarios"
	tb "github.com/tracesim/tracesim/testbed"
	"github.com/tracesim/tracesim/topology"
)

// Options are `testbed run`'s arguments and flags.
type Options struct {
	IO        *cmdutil.IO
	Topology  string   // model file the testbed runs
	Scenarios []string // scenario files whose changes are applied for real
	Rate      string   // "200", "200/s"; "" = the model's entry rates (or the scenario's)
	Users     int
	Think     time.Duration
	Duration  time.Duration
	Warmup    time.Duration
	Requests  int
	Seed      uint64
	Traces    string // OTLP/JSON lines output; "" = none
	Latencies string // every measured latency as JSON; "" = none
	JSON      bool
	Verbose   bool
	// PeerSpans are "peer=style" pairs (testbed.Options.PeerSpans).
	PeerSpans []string

	// Which flags were given, so a scenario's workload fills in the rest.
	rateSet, usersSet, durationSet, requestsSet, warmupSet bool
}

// NewCmd returns the testbed command with its run subcommand.
func NewCmd(io *cmdutil.IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testbed",
		Short: "Run a topology as real services on 127.0.0.1 and measure it",
		Long: `The testbed is the ground truth that predictions are checked against: each
service instance of a topology model is a real HTTP server on 127.0.0.1, each
operation a handler that sleeps its work, calls other operations over HTTP
and queues for its instance's workers, instrumented with the OpenTelemetry
SDK. Scenario changes are applied for real.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newRunCmd(io))
	return cmd
}

func newRunCmd(io *cmdutil.IO) *cobra.Command {
	opts := &Options{IO: io}
	cmd := &cobra.Command{
		Use:   "run TOPOLOGY.yaml [--scenario S.yaml ...] [--rate R | --users N --think D] [--duration D | --requests N]",
		Short: "Start the testbed, load it, print latencies per endpoint and write its traces",
		Long: `Run starts every service of TOPOLOGY.yaml on 127.0.0.1 (one listener per
instance), applies the changes of the --scenario files for real, offers it
open-loop Poisson traffic (--rate, default: the model's entry rates) or
closed-loop users (--users, --think), and prints per entry endpoint the
requests, errors and latency mean/p50/p90/p99 that the clients measured.
Requests starting during --warmup are not counted (their spans are still
written). TOPOLOGY.yaml may be - for standard input.

--traces writes the services' spans as OTLP/JSON, one export request per
line: the input of 'tracesim inspect' and 'tracesim model'. --latencies
writes every measured latency (ms) as JSON.

--peer-spans PEER=STYLE chooses how calls to a peer service (peer: true)
show in the traces: peer.service (otelhttp's client span naming it by
peer.service, the default), service.peer.name (the current convention),
db or db:SYSTEM (a database client span: db.system.name, db.namespace,
server.address and server.port) or component (that database span made by a
tracer named after the peer, whose resource service.name is the peer's).

When neither --rate nor --users is given, the workload of the first
scenario that has one is used (its duration, requests and warm-up too,
unless given as flags). A scenario's model: key is ignored: the testbed
runs TOPOLOGY.yaml.`,
		Example: `  tracesim testbed run examples/model.yaml --duration 30s --traces baseline.jsonl
  tracesim testbed run model.yaml --scenario cache.yaml --rate 100/s --duration 1m --json
  tracesim testbed run model.yaml --users 10 --think 50ms --requests 5000 --latencies lat.json
  tracesim testbed run model.yaml --peer-spans mysql=component,redis=db --traces t.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Topology = args[0]
			f := cmd.Flags()
			opts.rateSet, opts.usersSet = f.Changed("rate"), f.Changed("users")
			opts.durationSet, opts.requestsSet, opts.warmupSet = f.Changed("duration"), f.Changed("requests"), f.Changed("warmup")
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.Scenarios, "scenario", nil, "scenario file whose changes are applied for real (repeatable; changes apply in order)")
	f.StringVar(&opts.Rate, "rate", "", "total open-loop arrival rate, e.g. 200/s (default: the model's entry rates)")
	f.IntVar(&opts.Users, "users", 0, "closed loop: number of users (each waits for its response, then thinks)")
	f.DurationVar(&opts.Think, "think", 0, "closed loop: mean (exponential) think time between a user's requests")
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "measured time after the warm-up")
	f.DurationVar(&opts.Warmup, "warmup", time.Second, "time at the start whose requests are not measured")
	f.IntVar(&opts.Requests, "requests", 0, "stop after this many measured requests (0: no cap)")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed of every random draw (work, network, errors, shapes, arrivals)")
	f.StringVar(&opts.Traces, "traces", "", "write the services' spans to this file as OTLP/JSON lines")
	f.StringVar(&opts.Latencies, "latencies", "", "write every measured latency (ms) per endpoint to this JSON file")
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "log listeners and changes to stderr")
	f.StringArrayVar(&opts.PeerSpans, "peer-spans", nil, "PEER=STYLE[,...]: how calls to a peer service are traced: peer.service, service.peer.name, db[:SYSTEM] or component (repeatable)")
	return cmd
}

// Workload turns the flags (and the scenarios' workload, for what the
// flags leave open) into the testbed's workload.
func (o *Options) Workload(scens []*scenarios.Scenario) (tb.Workload, error) {
	w := tb.Workload{Users: o.Users, Think: o.Think, Duration: o.Duration, Requests: o.Requests, Warmup: o.Warmup}
	if o.Rate != "" && o.Users > 0 {
		return w, errors.New("--rate (open loop) and --users (closed loop) exclude each other")
	}
	if o.Users < 0 || o.Think < 0 || o.Duration < 0 || o.Warmup < 0 || o.Requests < 0 {
		return w, errors.New("--users, --think, --duration, --warmup and --requests cannot be negative")
	}
	if o.Rate != "" {
		r, err := simulate.ParseRate(o.Rate)
		if err != nil {
			return w, fmt.Errorf("--rate: %w", err)
		}
		w.Rate = r
	}
	if !o.rateSet && !o.usersSet {
		for _, sc := range scens {
			if sc.Workload == nil {
				continue
			}
			sw := tb.FromScenario(sc.Workload, w.Duration)
			w.Rate, w.Users, w.Think = sw.Rate, sw.Users, sw.Think
			if !o.durationSet && !o.requestsSet {
				w.Duration, w.Requests = sw.Duration, sw.Requests
			}
			if !o.warmupSet && sc.Workload.Warmup > 0 {
				w.Warmup = sw.Warmup
			}
			break
		}
	}
	if w.Requests > 0 && !o.durationSet {
		w.Duration = 0 // bounded by the request count alone
	}
	if w.Duration == 0 && w.Requests == 0 {
		return w, errors.New("give --duration or --requests: the load would never stop")
	}
	return w, nil
}

// Run executes `testbed run`.
func Run(ctx context.Context, o *Options) error {
	var m *topology.Model
	var err error
	if o.Topology == "-" {
		m, err = topology.Read(o.IO.In, "-")
	} else {
		m, err = topology.ReadFile(o.Topology)
	}
	if err != nil {
		return err
	}
	var scens []*scenarios.Scenario
	var changes []scenarios.Change
	for _, p := range o.Scenarios {
		sc, err := scenarios.Load(p)
		if err != nil {
			return err
		}
		// Checked one by one first, so an error names its scenario file.
		if _, _, err := sc.Apply(m); err != nil {
			return err
		}
		scens = append(scens, sc)
		changes = append(changes, sc.Changes...)
	}
	w, err := o.Workload(scens)
	if err != nil {
		return err
	}
	peerSpans, err := tb.ParsePeerSpans(o.PeerSpans)
	if err != nil {
		return fmt.Errorf("--peer-spans: %w", err)
	}
	opt := tb.Options{Seed: o.Seed, Changes: changes, PeerSpans: peerSpans}
	if o.Verbose {
		opt.Logf = func(format string, args ...any) { fmt.Fprintf(o.IO.ErrOut, format+"\n", args...) }
	}
	var traces *os.File
	var buf *bufio.Writer
	if o.Traces != "" {
		if traces, err = os.Create(o.Traces); err != nil {
			return fmt.Errorf("traces: %w", err)
		}
		defer traces.Close()
		buf = bufio.NewWriterSize(traces, 1<<20)
		opt.Traces = buf
	}
	sys, err := tb.Start(ctx, m, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Topology, err)
	}
	res, loadErr := sys.Load(ctx, w)
	// Close with a fresh context: the spans of an interrupted run are
	// still worth flushing.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := sys.Close(cctx); err != nil {
		return err
	}
	if traces != nil {
		if err := buf.Flush(); err != nil {
			return fmt.Errorf("traces %s: %w", o.Traces, err)
		}
		if err := traces.Close(); err != nil {
			return fmt.Errorf("traces %s: %w", o.Traces, err)
		}
	}
	if loadErr != nil {
		return loadErr
	}
	rep := NewReport(res, o.Seed, w)
	if o.Latencies != "" {
		if err := writeLatencies(o.Latencies, res); err != nil {
			return err
		}
	}
	if o.JSON {
		return cmdutil.WriteJSON(o.IO.Out, rep)
	}
	return printTable(o, rep)
}

// Report is the JSON document of `testbed run --json`: what the table
// shows.
type Report struct {
	Endpoints []Endpoint `json:"endpoints"`
	Seed      uint64     `json:"seed"`
	Workload  Load       `json:"workload"`
	WallS     float64    `json:"wall_s"`
	// Slack is how late this machine woke sleeping goroutines during the
	// run (testbed.SlackProbe): a busy machine makes every hop and work
	// step late by about as much.
	Slack SlackMS `json:"timer_slack_ms"`
}

// SlackMS is a testbed.Slack in milliseconds.
type SlackMS struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	Max  float64 `json:"max"`
}

// Load describes the workload that ran.
type Load struct {
	Rate      float64 `json:"rate,omitempty"`
	Users     int     `json:"users,omitempty"`
	ThinkMS   float64 `json:"think_ms,omitempty"`
	DurationS float64 `json:"duration_s,omitempty"`
	WarmupS   float64 `json:"warmup_s"`
	Requests  int     `json:"requests,omitempty"`
}

// Endpoint is one entry operation's measurements.
type Endpoint struct {
	Endpoint  string  `json:"endpoint"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	Latency   Latency `json:"latency_ms"`
}

// Latency is a latency summary in milliseconds (the DESIGN's latency
// block).
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// NewReport summarises a testbed result.
func NewReport(r *tb.Result, seed uint64, w tb.Workload) *Report {
	rep := &Report{Seed: seed, WallS: r.Wall.Seconds(), Workload: Load{
		Rate: w.Rate, Users: w.Users, ThinkMS: msOf(w.Think), DurationS: w.Duration.Seconds(),
		WarmupS: w.Warmup.Seconds(), Requests: w.Requests,
	}, Slack: SlackMS{Mean: msOf(r.Slack.Mean), P50: msOf(r.Slack.P50), P90: msOf(r.Slack.P90), Max: msOf(r.Slack.Max)}}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		ep := Endpoint{Endpoint: e.Op, Requests: e.Requests, Errors: e.Errors, Latency: Latency{
			Mean: msOf(e.Mean()), P50: msOf(e.Quantile(.5)), P90: msOf(e.Quantile(.9)),
			P99: msOf(e.Quantile(.99)), P999: msOf(e.Quantile(.999)),
		}}
		if e.Requests > 0 {
			ep.ErrorRate = float64(e.Errors) / float64(e.Requests)
		}
		rep.Endpoints = append(rep.Endpoints, ep)
	}
	return rep
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printTable(o *Options, rep *Report) error {
	tw := cmdutil.Table(o.IO.Out)
	fmt.Fprintf(tw, "ENDPOINT\tREQUESTS\tERRORS\tERR%%\tMEAN ms\tP50 ms\tP90 ms\tP99 ms\n")
	for _, e := range rep.Endpoints {
		l := e.Latency
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.3f\t%.3f\t%.3f\t%.3f\n", e.Endpoint, e.Requests, e.Errors, 100*e.ErrorRate, l.Mean, l.P50, l.P90, l.P99)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "\nseed %d, %.1f s of wall time, timer slack mean %.3f ms (p90 %.3f)", rep.Seed, rep.WallS, rep.Slack.Mean, rep.Slack.P90)
	if o.Traces != "" {
		fmt.Fprintf(o.IO.Out, ", traces in %s", o.Traces)
	}
	fmt.Fprintln(o.IO.Out)
	return nil
}

// latencyDoc is the --latencies file: every measured latency (ms) per
// endpoint, ascending.
type latencyDoc struct {
	Endpoints []latencyList `json:"endpoints"`
}

type latencyList struct {
	Endpoint  string    `json:"endpoint"`
	Errors    int       `json:"errors"`
	LatencyMS []float64 `json:"latencies_ms"`
}

func writeLatencies(path string, r *tb.Result) error {
	doc := latencyDoc{Endpoints: []latencyList{}}
	for _, e := range r.Endpoints {
		l := latencyList{Endpoint: e.Op, Errors: e.Errors, LatencyMS: make([]float64, len(e.Latencies))}
		for i, d := range e.Latencies {
			l.LatencyMS[i] = float64(d) / 1e6
		}
		doc.Endpoints = append(doc.Endpoints, l)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("latencies: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := cmdutil.WriteJSON(bw, doc); err != nil {
		f.Close()
		return fmt.Errorf("latencies %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("latencies %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("latencies %s: %w", path, err)
	}
	return nil
}
