package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const full = `name: everything
model: model.yaml
workload: {rate: 200/s, duration: 60s, warmup: 5s}
seed: 7
replications: 10
changes:
  - cache:       {target: b/x, in: a/root, hit_ratio: 0.8, hit_latency: 1ms, fill: 200us}
  - parallelize: {in: a/root, calls: [c/y, b/z]}
  - batch:       {in: a/root, calls: b/w, max_batch: 20, cost: {fixed: 2ms, per_item: 0.1ms}}
  - parallelize: {in: a/root, pool: {target: c/y, size: 4}}
  - scale:       {service: c, instances: 3, workers: 2}
  - speedup:     {service: b, factor: 0.5}
  - speedup:     {operation: c/y, factor: 2}
  - latency:     {from: a, to: c, add: 20ms}
  - error:       {operation: c/y, rate: 0.1}
  - disable:     {service: b, mode: failover, to: c}
  - load:        {factor: 2}
`

func TestLoadAndApply(t *testing.T) {
	dir := t.TempDir()
	m := model([]*topology.Step{
		work(cst(t, 1)), call("b/x"), call("c/y"), call("b/z"),
		{Call: &topology.Call{Target: "b/w", Repeat: 45}},
		{Pool: &topology.Pool{Size: 2, Calls: []*topology.Call{{Target: "c/y", Repeat: 8}}}},
	}, map[string]*topology.Operation{
		"b/x": leaf(cst(t, 5)), "b/z": leaf(cst(t, 2)), "b/w": leaf(cst(t, 1)),
		"c/y": leaf(cst(t, 2)), "c/x": leaf(cst(t, 3)), "c/z": leaf(cst(t, 3)), "c/w": leaf(cst(t, 3)),
	})
	// The cache's synthetic operation calls b/x, which the failover then
	// sends to c/x; batches of b/w become c/w#batch… which must exist.
	f, err := os.Create(filepath.Join(dir, "model.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := topology.Write(f, m); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sc, err := Load(writeFile(t, dir, "s.yaml", full))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "everything" || sc.Model != filepath.Join(dir, "model.yaml") || sc.Seed != 7 || sc.Replications != 10 {
		t.Errorf("scenario %+v", sc)
	}
	if w := sc.Workload; w == nil || w.Rate != 200 || w.Duration != time.Minute || w.Warmup != 5*time.Second {
		t.Errorf("workload %+v", sc.Workload)
	}
	if len(sc.Changes) != 11 || sc.Changes[0].Where() != 7 || sc.Changes[10].Kind() != "load" {
		t.Fatalf("changes: %d, first at line %d", len(sc.Changes), sc.Changes[0].Where())
	}
	if c := sc.Changes[0].(*Cache); c.HitLatency != ms || c.Fill != 0.2*ms || c.HitRatio != 0.8 {
		t.Errorf("cache %+v", c)
	}
	model, err := topology.ReadFile(sc.Model)
	if err != nil {
		t.Fatal(err)
	}
	// The failover finds no c/w#batch20 for the batches of b/w: an
	// error naming the change and its line.
	_, _, err = sc.Apply(model)
	if err == nil || !strings.Contains(err.Error(), "s.yaml: change 10 (disable, line 16)") {
		t.Fatalf("error %v, want one naming change 10 at line 16", err)
	}
	_, load, err := Apply(model, sc.Changes[:9])
	if err != nil {
		t.Fatal(err)
	}
	if _, load, err = Apply(model, append(sc.Changes[:9:9], sc.Changes[10])); err != nil || load.Of(200) != 400 {
		t.Errorf("with load: %v, rate %v", err, load.Of(200))
	}
}

func TestLoadTraces(t *testing.T) {
	dir := t.TempDir()
	sc, err := Load(writeFile(t, dir, "s.yaml", "traces: [a.json, /abs/b.json]\nworkload: {users: 5, think: 0s, requests: 2000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Traces) != 2 || sc.Traces[0] != filepath.Join(dir, "a.json") || sc.Traces[1] != "/abs/b.json" {
		t.Errorf("traces %v", sc.Traces)
	}
	if w := sc.Workload; w.Users != 5 || w.Requests != 2000 {
		t.Errorf("workload %+v", w)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	text := `name: bad
model: m.yaml
replication: 3
workload: {rate: 2/fortnight, duraton: 1s}
changes:
  - cahce: {target: b/x, hit_ratio: 0.5, hit_latency: 1ms}
  - cache: {target: b/x, hit_ration: 0.5, hit_latency: 1ms}
  - scale: {service: b, instances: two}
  - latency: {from: a, to: b, add: 20}
  - batch: {in: a/root, calls: b/x, cost: {fixed: 1ms}}
  - scale: {service: b}
    speedup: {service: b, factor: 2}
`
	_, err := Load(writeFile(t, dir, "s.yaml", text))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		`s.yaml:3: scenario: unknown key "replication" (did you mean "replications"?)`,
		`s.yaml:4: workload.rate: invalid rate "2/fortnight"`,
		`s.yaml:4: workload: unknown key "duraton" (did you mean "duration"?)`,
		`s.yaml:6: changes[0]: unknown change "cahce" (did you mean "cache"?)`,
		`s.yaml:7: changes[1].cache: unknown key "hit_ration" (did you mean "hit_ratio"?)`,
		`s.yaml:7: changes[1].cache: missing hit_ratio`,
		`s.yaml:8: changes[2].scale.instances: expected a whole number`,
		`s.yaml:9: changes[3].latency.add:`,
		`s.yaml:10: changes[4].batch: missing max_batch`,
		`s.yaml:11: changes[5]: expected one kind`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q", want)
		}
	}
	if _, err := Load(writeFile(t, dir, "n.yaml", "name: x\n")); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("no model or traces: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}
