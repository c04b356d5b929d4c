// Package scenarios reads what-if scenario files and applies their
// changes to a topology model. Each change (disable, cache, batch,
// parallelize, scale, speedup, latency, error, load) is a transformation
// of a copy of the model, so the baseline and the scenario can be
// simulated side by side on common random numbers. Names that do not
// resolve are errors that suggest the nearest valid name, and a change
// that matches nothing is an error too: a silent no-op would report "no
// difference" for a typo.
package scenarios

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

// Scenario is a scenario file.
type Scenario struct {
	// Path is the file the scenario was read from ("" if built in code).
	Path string
	Name string
	// Model is the model file, resolved against the scenario file's
	// directory; Traces, when set, are trace files to replay (resolved
	// the same way), and Model, if also set, then only supplies capacity
	// (workers and instances the replayed requests compete for).
	Model  string
	Traces []string
	// Workload is nil when the file has none (replay as recorded, or the
	// model's entry rates).
	Workload *Workload
	// Seed and Replications are 0 when not given (the caller's defaults).
	Seed         uint64
	Replications int
	Changes      []Change
}

// Workload is the traffic a scenario runs: open loop (Rate) or closed
// loop (Users, Think); Duration or Requests bounds the run.
type Workload struct {
	Rate     float64 // total requests/s; 0 = the model's entry rates
	Duration time.Duration
	Users    int
	Think    time.Duration
	Requests int
	Warmup   time.Duration
}

var (
	topKeys      = []string{"name", "model", "traces", "workload", "seed", "replications", "changes"}
	workloadKeys = []string{"rate", "duration", "users", "think", "requests", "warmup"}
	kinds        = []string{"disable", "cache", "batch", "parallelize", "scale", "speedup", "latency", "error", "load"}
)

// Load reads a scenario file. Every problem found is reported, each as
// "file:line: message", with the nearest valid key or kind for unknown
// ones. Names of services and operations are checked later, by Apply,
// against the model.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a scenario from data; name is the file's path, used in
// errors and to resolve the model and trace paths.
func Parse(data []byte, name string) (*Scenario, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &parser{file: name}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty scenario file", name)
	}
	sc := p.scenario(doc.Content[0], filepath.Dir(name))
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return sc, nil
}

// Apply applies the scenario's changes to m (see the package function
// Apply), naming the scenario file and the change's line in errors.
func (s *Scenario) Apply(m *topology.Model) (*topology.Model, Effect, error) {
	out, eff, err := Apply(m, s.Changes)
	if err != nil && s.Path != "" {
		err = fmt.Errorf("%s: %w", s.Path, err)
	}
	return out, eff, err
}

// parser collects every problem of a file rather than stopping at the
// first, so a user fixes them in one pass.
type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
}

// fields returns a mapping's values by key, reporting unknown keys with
// the nearest allowed one, and duplicates.
func (p *parser) fields(n *yaml.Node, what string, allowed []string) (map[string]*yaml.Node, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping with keys %s", what, strings.Join(allowed, ", "))
		return nil, false
	}
	// The mapping itself is kept under "" so a missing key is reported
	// at the mapping's line.
	f := map[string]*yaml.Node{"": n}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(allowed, k.Value):
			p.errorf(k, "%s: unknown key %q%s; expected %s", what, k.Value, topology.Suggest(k.Value, allowed), strings.Join(allowed, ", "))
		case f[k.Value] != nil:
			p.errorf(k, "%s: duplicate key %q", what, k.Value)
		default:
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			f[k.Value] = v
		}
	}
	return f, true
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s: expected a value", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(f map[string]*yaml.Node, key, what string, required bool) string {
	n := f[key]
	if n == nil {
		if required {
			p.errorf(f[""], "%s: missing %s", what, key)
		}
		return ""
	}
	s, _ := p.scalar(n, what+"."+key)
	return s
}

func (p *parser) num(f map[string]*yaml.Node, key, what string, required bool) float64 {
	s := p.str(f, key, what, required)
	if s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(f[key], "%s.%s: expected a number, got %q", what, key, s)
	}
	return v
}

func (p *parser) integer(f map[string]*yaml.Node, key, what string) int {
	s := p.str(f, key, what, false)
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		p.errorf(f[key], "%s.%s: expected a whole number ≥ 0, got %q", what, key, s)
	}
	return v
}

func (p *parser) dur(f map[string]*yaml.Node, key, what string, required bool) float64 {
	s := p.str(f, key, what, required)
	if s == "" {
		return 0
	}
	v, err := dist.ParseDuration(s)
	if err != nil {
		p.errorf(f[key], "%s.%s: %v", what, key, err)
	}
	return v
}

func (p *parser) scenario(n *yaml.Node, dir string) *Scenario {
	f, ok := p.fields(n, "scenario", topKeys)
	if !ok {
		return nil
	}
	sc := &Scenario{Path: p.file, Name: p.str(f, "name", "scenario", false)}
	resolve := func(s string) string {
		if s == "" || filepath.IsAbs(s) {
			return s
		}
		return filepath.Join(dir, s)
	}
	sc.Model = resolve(p.str(f, "model", "scenario", false))
	if t := f["traces"]; t != nil {
		if t.Kind != yaml.SequenceNode {
			p.errorf(t, "traces: expected a list of trace files")
		}
		for _, item := range t.Content {
			if s, ok := p.scalar(item, "traces"); ok {
				sc.Traces = append(sc.Traces, resolve(s))
			}
		}
	}
	if sc.Model == "" && f["traces"] == nil {
		p.errorf(n, "scenario: give model (a model file to simulate), traces (recorded traces to replay), or both (replay, with the model's capacity)")
	}
	if w := f["workload"]; w != nil {
		sc.Workload = p.workload(w)
	}
	if s := p.str(f, "seed", "scenario", false); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			p.errorf(f["seed"], "seed: expected a whole number ≥ 0, got %q", s)
		}
		sc.Seed = v
	}
	sc.Replications = p.integer(f, "replications", "scenario")
	if c := f["changes"]; c != nil {
		sc.Changes = p.changes(c)
	}
	return sc
}

func (p *parser) workload(n *yaml.Node) *Workload {
	f, ok := p.fields(n, "workload", workloadKeys)
	if !ok {
		return nil
	}
	w := &Workload{
		Duration: time.Duration(p.dur(f, "duration", "workload", false)),
		Think:    time.Duration(p.dur(f, "think", "workload", false)),
		Warmup:   time.Duration(p.dur(f, "warmup", "workload", false)),
		Users:    p.integer(f, "users", "workload"),
		Requests: p.integer(f, "requests", "workload"),
	}
	if s := p.str(f, "rate", "workload", false); s != "" {
		r, err := parseRate(s)
		if err != nil {
			p.errorf(f["rate"], "workload.rate: %v", err)
		}
		w.Rate = r
	}
	if w.Rate > 0 && w.Users > 0 {
		p.errorf(n, "workload: give rate (open loop) or users (closed loop), not both")
	}
	return w
}

// parseRate reads a workload rate, which must be positive.
func parseRate(s string) (float64, error) {
	v, err := topology.ParseRate(s)
	if err != nil {
		return 0, err
	}
	if v == 0 {
		return 0, fmt.Errorf("rate %q: must be positive", s)
	}
	return v, nil
}

func (p *parser) changes(n *yaml.Node) []Change {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "changes: expected a list, like - scale: {service: db, instances: 2}")
		return nil
	}
	var out []Change
	for i, item := range n.Content {
		what := fmt.Sprintf("changes[%d]", i)
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			p.errorf(item, "%s: expected one kind with its fields, like - scale: {service: db, instances: 2}; kinds: %s", what, strings.Join(kinds, ", "))
			continue
		}
		k, v := item.Content[0], item.Content[1]
		if !slices.Contains(kinds, k.Value) {
			p.errorf(k, "%s: unknown change %q%s; expected %s", what, k.Value, topology.Suggest(k.Value, kinds), strings.Join(kinds, ", "))
			continue
		}
		if c := p.change(k.Value, v, what+"."+k.Value, Pos{Line: k.Line}); c != nil {
			out = append(out, c)
		}
	}
	return out
}

func (p *parser) change(kind string, n *yaml.Node, what string, pos Pos) Change {
	allowed := map[string][]string{
		"disable":     {"service", "mode", "to"},
		"cache":       {"target", "in", "hit_ratio", "hit_latency", "fill"},
		"batch":       {"in", "calls", "max_batch", "cost"},
		"parallelize": {"in", "calls", "pool"},
		"scale":       {"service", "instances", "workers", "pool", "size"},
		"speedup":     {"service", "operation", "factor"},
		"latency":     {"from", "to", "add"},
		"error":       {"operation", "rate"},
		"load":        {"factor", "rate"},
	}[kind]
	f, ok := p.fields(n, what, allowed)
	if !ok {
		return nil
	}
	switch kind {
	case "disable":
		return &Disable{Pos: pos, Service: p.str(f, "service", what, true),
			Mode: p.str(f, "mode", what, true), To: p.str(f, "to", what, false)}
	case "cache":
		return &Cache{Pos: pos, Target: p.str(f, "target", what, true), In: p.str(f, "in", what, false),
			HitRatio: p.num(f, "hit_ratio", what, true), HitLatency: p.dur(f, "hit_latency", what, true),
			Fill: p.dur(f, "fill", what, false)}
	case "batch":
		b := &Batch{Pos: pos, In: p.str(f, "in", what, true), Calls: p.str(f, "calls", what, true),
			MaxBatch: p.integer(f, "max_batch", what)}
		if f["max_batch"] == nil {
			p.errorf(n, "%s: missing max_batch", what)
		}
		if c := f["cost"]; c != nil {
			if cf, ok := p.fields(c, what+".cost", []string{"fixed", "per_item"}); ok {
				b.Fixed = p.dur(cf, "fixed", what+".cost", false)
				b.PerItem = p.dur(cf, "per_item", what+".cost", false)
			}
		} else {
			p.errorf(n, "%s: missing cost: {fixed: D, per_item: D}", what)
		}
		return b
	case "parallelize":
		c := &Parallelize{Pos: pos, In: p.str(f, "in", what, true)}
		if l := f["calls"]; l != nil {
			if l.Kind != yaml.SequenceNode {
				p.errorf(l, "%s.calls: expected a list of operations", what)
			}
			for _, item := range l.Content {
				if s, ok := p.scalar(item, what+".calls"); ok {
					c.Calls = append(c.Calls, s)
				}
			}
		}
		if pl := f["pool"]; pl != nil {
			if pf, ok := p.fields(pl, what+".pool", []string{"target", "size"}); ok {
				c.PoolTarget = p.str(pf, "target", what+".pool", false)
				c.PoolSize = p.integer(pf, "size", what+".pool")
			}
		}
		if (f["calls"] == nil) == (f["pool"] == nil) {
			p.errorf(n, "%s: give calls (to run in parallel) or pool (to resize), not both", what)
		}
		return c
	case "scale":
		c := &Scale{Pos: pos, Service: p.str(f, "service", what, true)}
		if f["instances"] != nil {
			v := p.integer(f, "instances", what)
			c.Instances = &v
		}
		if f["workers"] != nil {
			v := p.integer(f, "workers", what)
			c.Workers = &v
		}
		c.Pool = p.str(f, "pool", what, false)
		if f["size"] != nil {
			v := p.integer(f, "size", what)
			c.Size = &v
		}
		return c
	case "speedup":
		return &Speedup{Pos: pos, Service: p.str(f, "service", what, false),
			Operation: p.str(f, "operation", what, false), Factor: p.num(f, "factor", what, true)}
	case "latency":
		return &Latency{Pos: pos, From: p.str(f, "from", what, true), To: p.str(f, "to", what, true),
			Add: p.dur(f, "add", what, true)}
	case "error":
		return &Error{Pos: pos, Operation: p.str(f, "operation", what, true), Rate: p.num(f, "rate", what, true)}
	case "load":
		c := &LoadChange{Pos: pos, Factor: p.num(f, "factor", what, false)}
		if s := p.str(f, "rate", what, false); s != "" {
			r, err := parseRate(s)
			if err != nil {
				p.errorf(f["rate"], "%s.rate: %v", what, err)
			}
			c.Rate = r
		}
		return c
	}
	return nil
}
