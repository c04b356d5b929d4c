package topology

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology/dist"
)

// baseYAML is a small valid model; the error cases change one thing in
// it (line numbers in the comments).
const baseYAML = `version: 1
services:
  frontend: {workers: 4}
  profile: {}
operations:
  frontend/GET /x:
    entry: {rate: 5/s}
    shapes:
      - weight: 1
        steps:
          - work: {constant: 1ms}
          - call: profile/GetProfile
  profile/GetProfile: {}
`

// mod replaces old (which must occur once) in baseYAML.
func mod(old, new string) string {
	if strings.Count(baseYAML, old) != 1 {
		panic("mod: " + old)
	}
	return strings.Replace(baseYAML, old, new, 1)
}

var readErrorCases = []struct {
	name string
	yaml string
	want []string // each an exact line of the error
}{
	{"unknown operation in a call", mod("- call: profile/GetProfile", "- call: profle/GetProfile"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].call: unknown operation "profle/GetProfile" (did you mean "profile/GetProfile"?)`}},
	{"unknown operation in a parallel call", mod("- call: profile/GetProfile", "- parallel: [{call: profile/GetProfil}]"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].parallel[0].call: unknown operation "profile/GetProfil" (did you mean "profile/GetProfile"?)`}},
	{"unknown operation without a near name", mod("- call: profile/GetProfile", "- call: billing/Charge"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].call: unknown operation "billing/Charge"`}},
	{"unknown service of an operation", mod("  profile/GetProfile: {}", "  profile/GetProfile: {}\n  profil/List: {}"), []string{
		`m.yaml:14: operations."profil/List": unknown service "profil" (did you mean "profile"?): every operation's service must be listed under services`}},
	{"unknown key", mod("{workers: 4}", "{wrokers: 4}"), []string{
		`m.yaml:3: services."frontend": unknown key "wrokers" (did you mean "workers"?); expected instances, workers, peer, pools or evidence`}},
	{"unknown top-level key", "version: 1\nservice: {}\n", []string{
		`m.yaml:2: unknown key "service" (did you mean "services"?); expected version, services or operations`}},
	{"weights do not sum to 1", mod("      - weight: 1\n", "      - weight: 0.5\n      - weight: 0.4\n"), []string{
		`m.yaml:8: operations."frontend/GET /x".shapes: weights sum to 0.9, expected 1 (±0.01)`}},
	{"negative duration", mod("{constant: 1ms}", "{constant: -1ms}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.constant: negative duration "-1ms": durations must be ≥ 0`}},
	{"duration without unit", mod("- call: profile/GetProfile", "- call: profile/GetProfile\n            timeout: 5"), []string{
		`m.yaml:13: operations."frontend/GET /x".shapes[0].steps[1].timeout: invalid duration "5": missing unit (ns, us, ms, s, m, h)`}},
	{"unparseable duration", mod("{constant: 1ms}", "{exponential: {mean: fast}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.exponential.mean: invalid duration "fast": expected a number followed by a unit (ns, us, ms, s, m, h)`}},
	{"unknown distribution", mod("{constant: 1ms}", "{lognormla: {median: 1ms, sigma: 1}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work: unknown distribution "lognormla" (did you mean "lognormal"?); expected constant, exponential, lognormal, gamma, uniform or empirical`}},
	{"two families", mod("{constant: 1ms}", "{constant: 1ms, exponential: {mean: 1ms}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work: expected one distribution family, got 2 (constant, exponential): a distribution such as {lognormal: {median: 2ms, sigma: 0.4}}`}},
	{"negative sigma", mod("{constant: 1ms}", "{lognormal: {median: 1ms, sigma: -0.5}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.lognormal: lognormal sigma must be ≥ 0, got -0.5`}},
	{"zero gamma shape", mod("{constant: 1ms}", "{gamma: {mean: 1ms, shape: 0}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.gamma: gamma shape must be > 0, got 0`}},
	{"uniform min above max", mod("{constant: 1ms}", "{uniform: {min: 2ms, max: 1ms}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.uniform: uniform min 2ms is greater than max 1ms`}},
	{"unsorted quantiles", mod("{constant: 1ms}", "{empirical: {quantiles: [1ms, 3ms, 2ms]}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.empirical: empirical quantiles must not decrease: quantile 2 (2ms) is below quantile 1 (3ms)`}},
	{"missing parameter", mod("{constant: 1ms}", "{lognormal: {median: 1ms, sigm: 1}}"), []string{
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.lognormal: unknown key "sigm" (did you mean "sigma"?); expected median or sigma`,
		`m.yaml:11: operations."frontend/GET /x".shapes[0].steps[0].work.lognormal: missing sigma`}},
	{"cycle", mod("  profile/GetProfile: {}", "  profile/GetProfile:\n    shapes:\n      - weight: 1\n        steps:\n          - call: frontend/GET /x"), []string{
		`m.yaml:17: operations."profile/GetProfile".shapes[0].steps[0].call: call cycle: frontend/GET /x → profile/GetProfile → frontend/GET /x`}},
	{"self call", mod("- call: profile/GetProfile", "- pool: {size: 2, calls: [{call: frontend/GET /x}]}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].pool.calls[0].call: call cycle: frontend/GET /x → frontend/GET /x`}},
	{"workers 0", mod("{workers: 4}", "{workers: 0}"), []string{
		`m.yaml:3: services."frontend".workers: must be ≥ 1, or omitted for unlimited workers (no queueing), got 0`}},
	{"instances 0", mod("{workers: 4}", "{instances: 0}"), []string{
		`m.yaml:3: services."frontend".instances: must be ≥ 1, got 0`}},
	{"negative rate", mod("{rate: 5/s}", "{rate: -5/s}"), []string{
		`m.yaml:7: operations."frontend/GET /x".entry.rate: negative rate "-5/s": a rate must be ≥ 0`}},
	{"bad rate unit", mod("{rate: 5/s}", "{rate: 5/day}"), []string{
		`m.yaml:7: operations."frontend/GET /x".entry.rate: invalid rate "5/day": expected a number per s, ms, min or h, such as 50/s`}},
	{"error rate above 1", mod("    entry: {rate: 5/s}\n", "    entry: {rate: 5/s}\n    error_rate: 1.5\n"), []string{
		`m.yaml:8: operations."frontend/GET /x".error_rate: must be between 0 and 1, got 1.5`}},
	{"error rate negative", mod("    entry: {rate: 5/s}\n", "    entry: {rate: 5/s}\n    error_rate: -0.1\n"), []string{
		`m.yaml:8: operations."frontend/GET /x".error_rate: must be between 0 and 1, got -0.1`}},
	{"step with no kind", mod("- call: profile/GetProfile", "- {repeat: 2}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1]: a step needs one of work, call, parallel or pool`}},
	{"step with two kinds", mod("- call: profile/GetProfile", "- {work: {constant: 1ms}, call: profile/GetProfile}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1]: a step needs exactly one of work, call, parallel or pool; this one has work and call`}},
	{"call field on a work step", mod("{constant: 1ms}", "{constant: 1ms}\n            timeout: 1s"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[0]: unknown key "timeout"; expected work (a work step has only work; network, timeout, retries, repeat, optional and async belong to a call)`}},
	{"pool size 0", mod("- call: profile/GetProfile", "- pool: {size: 0, calls: [{call: profile/GetProfile}]}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].pool.size: must be ≥ 1, got 0`}},
	{"pool without calls", mod("- call: profile/GetProfile", "- pool: {size: 2}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].pool: missing calls: the calls the pool runs`}},
	{"empty parallel", mod("- call: profile/GetProfile", "- parallel: []"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].parallel: needs at least one call`}},
	{"repeat 0", mod("- call: profile/GetProfile", "- {call: profile/GetProfile, repeat: 0}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].repeat: must be ≥ 1, got 0`}},
	{"negative retries", mod("- call: profile/GetProfile", "- {call: profile/GetProfile, retries: {max: -1, backoff: 1ms}}"), []string{
		`m.yaml:12: operations."frontend/GET /x".shapes[0].steps[1].retries.max: must be ≥ 0, got -1`}},
	{"version missing", strings.Replace(baseYAML, "version: 1\n", "", 1), []string{
		`m.yaml: version: missing: expected version: 1`}},
	{"version 2", mod("version: 1", "version: 2"), []string{
		`m.yaml:1: version: unsupported version 2: this tracesim reads version 1`}},
	{"version 0", mod("version: 1", "version: 0"), []string{
		`m.yaml:1: version: unsupported version 0: this tracesim reads version 1`}},
	{"operation without slash", mod("  profile/GetProfile: {}", "  profile/GetProfile: {}\n  GetProfile: {}"), []string{
		`m.yaml:14: operations."GetProfile": operation name must be service/operation (split at the first '/'), got "GetProfile"`}},
	{"operation with empty part", mod("  profile/GetProfile: {}", "  profile/GetProfile: {}\n  profile/: {}"), []string{
		`m.yaml:14: operations."profile/": operation name "profile/" has an empty operation part`}},
	{"service with slash", mod("  profile: {}", "  profile: {}\n  a/b: {}"), []string{
		`m.yaml:5: services."a/b": a service name cannot contain '/': operations are named service/operation`}},
	{"missing weight", mod("      - weight: 1\n", "      - count: 3\n"), []string{
		`m.yaml:9: operations."frontend/GET /x".shapes[0]: missing weight: the share of executions with this shape (the weights sum to 1)`}},
	{"wrong types", mod("{workers: 4}", "{workers: many, peer: yes}"), []string{
		`m.yaml:3: services."frontend".workers: expected an integer, got "many"`,
		`m.yaml:3: services."frontend".peer: expected true or false, got "yes"`}},
	{"shapes not a list", mod("    shapes:\n      - weight: 1\n        steps:\n          - work: {constant: 1ms}\n          - call: profile/GetProfile\n", "    shapes: {weight: 1}\n"), []string{
		`m.yaml:8: operations."frontend/GET /x".shapes: expected a list of shapes, got a mapping`}},
	{"duplicate key", mod("  profile: {}", "  profile: {}\n  frontend: {}"), []string{
		`m.yaml:5: services: duplicate key "frontend" (first at line 3)`}},
	{"merge key", mod("{workers: 4}", "{<<: {workers: 4}}"), []string{
		`m.yaml:3: services."frontend": merge keys (<<) are not supported; write the fields out`}},
	{"yaml syntax", "version: 1\nservices:\n  a: {workers: 4\n", []string{
		`m.yaml:2: invalid YAML: did not find expected ',' or '}'`}},
	{"empty file", "", []string{`m.yaml: empty model file: expected version: 1, services and operations`}},
	{"only a comment", "# nothing\n", []string{`m.yaml: empty model file: expected version: 1, services and operations`}},
	{"not a mapping", "- version: 1\n", []string{`m.yaml:1: expected a mapping with version, services and operations, got a list`}},
	{"two documents", baseYAML + "---\nversion: 1\n", []string{`m.yaml:14: a model file holds one YAML document; found a second one`}},
	{"many problems at once", mod("{workers: 4}", "{workers: 0, instances: -2}"), []string{
		`m.yaml:3: services."frontend".workers: must be ≥ 1, or omitted for unlimited workers (no queueing), got 0`,
		`m.yaml:3: services."frontend".instances: must be ≥ 1, got -2`}},
}

func TestReadErrors(t *testing.T) {
	for _, c := range readErrorCases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(c.yaml), "m.yaml")
			if err == nil {
				t.Fatalf("no error; read %+v", m)
			}
			if m != nil {
				t.Error("a model with an error")
			}
			lines := strings.Split(err.Error(), "\n")
			for _, want := range c.want {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("missing error line\n  %s\ngot:\n  %s", want, strings.Join(lines, "\n  "))
				}
			}
			if len(lines) != len(c.want) {
				t.Errorf("%d error lines, want %d:\n  %s", len(lines), len(c.want), strings.Join(lines, "\n  "))
			}
			// Every problem is a FieldError naming the file.
			var fe *FieldError
			if !errors.As(err, &fe) || fe.File != "m.yaml" {
				t.Errorf("not a FieldError naming the file: %#v", err)
			}
		})
	}
}

// TestBadFixture: a file with many mistakes gets all of them reported,
// in line order, exactly as in bad.errors.
func TestBadFixture(t *testing.T) {
	want, err := os.ReadFile("testdata/bad.errors")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile("testdata/bad.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error() + "\n"; got != string(want) {
		t.Errorf("errors differ from testdata/bad.errors:\n%s", got)
	}
}

func TestErrorLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nservices:\n")
	for i := range 30 {
		b.WriteString("  s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ": {workers: 0}\n")
	}
	_, err := Read(strings.NewReader(b.String()), "many.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxErrors+1 || lines[MaxErrors] != "... and 10 more problems" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.HasPrefix(lines[0], "many.yaml:3: ") {
		t.Errorf("first: %s", lines[0])
	}
}

func TestAliasBomb(t *testing.T) {
	// Aliases only where the format allows lists: 100 calls in a
	// parallel step, 100 such steps in a shape, 100 such shapes in an
	// operation, 10 operations: 10⁷ calls from a 12 kB file.
	rep := func(first, s string) string { return first + strings.Repeat(", "+s, 99) }
	calls := "[" + rep("&c {call: s/y}", "*c") + "]"
	steps := "[" + rep("&p {parallel: "+calls+"}", "*p") + "]"
	shapes := "[" + rep("{weight: 0.01, steps: &st "+steps+"}", "{weight: 0.01, steps: *st}") + "]"
	var b strings.Builder
	b.WriteString("version: 1\nservices: {s: {}}\noperations:\n  s/y: {}\n")
	b.WriteString("  s/x: {shapes: &sh " + shapes + "}\n")
	for i := range 10 {
		b.WriteString("  s/o" + string(rune('0'+i)) + ": {shapes: *sh}\n")
	}
	_, err := Read(strings.NewReader(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err = %.2000v", err)
	}
}

// validModel is a small valid model built in code.
func validModel() *Model {
	work, _ := dist.NewLogNormal(2e6, 0.4)
	net, _ := dist.NewConstant(3e5)
	return &Model{
		Version: Version,
		Services: map[string]*Service{
			"front": {Instances: 2, Workers: 8},
			"back":  {Instances: 1},
		},
		Operations: map[string]*Operation{
			"front/get": {Entry: &Entry{Rate: 10}, Shapes: []*Shape{{Weight: 1, Steps: []*Step{
				{Work: work, WorkFit: &dist.Fit{N: 100, KS: 0.02, Tried: []dist.Tried{{Family: "lognormal", KS: 0.02}}}},
				{Call: &Call{Target: "back/get", Network: net, Timeout: time.Second}},
				{Parallel: []*Call{{Target: "back/get"}, {Target: "back/put", Repeat: 3}}},
				{Pool: &Pool{Size: 2, Calls: []*Call{{Target: "back/get"}}}},
			}}}},
			"back/get": {Shapes: []*Shape{{Weight: 1, Steps: []*Step{{Work: net}}}}},
			"back/put": {},
		},
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(validModel()); err != nil {
		t.Fatalf("valid model: %v", err)
	}
	type customDist struct{ dist.Constant }
	cases := []struct {
		name   string
		change func(m *Model)
		want   string
	}{
		{"version unset", func(m *Model) { m.Version = 0 }, `version: missing: expected version: 1`},
		{"nil service", func(m *Model) { m.Services["x"] = nil }, `services."x": missing service`},
		{"instances 0", func(m *Model) { m.Services["back"].Instances = 0 }, `services."back".instances: must be ≥ 1, got 0`},
		{"negative workers", func(m *Model) { m.Services["back"].Workers = -1 }, `services."back".workers: must be ≥ 1, or omitted for unlimited, got -1`},
		{"unknown service", func(m *Model) { m.Operations["bakc/x"] = &Operation{} }, `operations."bakc/x": unknown service "bakc" (did you mean "back"?): every operation's service must be listed under services`},
		{"nil operation", func(m *Model) { m.Operations["back/nil"] = nil }, `operations."back/nil": missing operation`},
		{"unknown target", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[2].Parallel[1].Target = "back/pt" },
			`operations."front/get".shapes[0].steps[2].parallel[1].call: unknown operation "back/pt" (did you mean "back/put"?)`},
		{"step with two kinds", func(m *Model) { s := m.Operations["front/get"].Shapes[0].Steps[0]; s.Pool = &Pool{Size: 1} },
			`operations."front/get".shapes[0].steps[0]: a step needs exactly one of work, call, parallel or pool; this one has work and pool`},
		{"empty step", func(m *Model) { m.Operations["back/get"].Shapes[0].Steps[0] = &Step{} },
			`operations."back/get".shapes[0].steps[0]: a step needs one of work, call, parallel or pool`},
		{"nil step", func(m *Model) { m.Operations["back/get"].Shapes[0].Steps[0] = nil }, `operations."back/get".shapes[0].steps[0]: missing step`},
		{"invalid literal", func(m *Model) {
			m.Operations["back/get"].Shapes[0].Steps[0].Work = &dist.LogNormal{Median: 1, Sigma: -1}
		},
			`operations."back/get".shapes[0].steps[0].work: lognormal sigma must be ≥ 0, got -1`},
		{"unsupported dist", func(m *Model) { m.Operations["back/get"].Shapes[0].Steps[0].Work = &customDist{} },
			`operations."back/get".shapes[0].steps[0].work: unsupported distribution type *topology.customDist`},
		{"fit of unknown family", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[0].WorkFit.Tried[0].Family = "weibull" },
			`operations."front/get".shapes[0].steps[0].work: fit: unknown family "weibull" tried`},
		{"fit KS NaN", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[0].WorkFit.KS = math.NaN() },
			`operations."front/get".shapes[0].steps[0].work: fit: KS must be between 0 and 1, got NaN`},
		{"negative timeout", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[1].Call.Timeout = -time.Second },
			`operations."front/get".shapes[0].steps[1].timeout: must be ≥ 0, got -1s`},
		{"huge timeout", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[1].Call.Timeout = math.MaxInt64 },
			`operations."front/get".shapes[0].steps[1].timeout: 2562047h47m16.854775807s is out of range (at most 9000000000s)`},
		{"negative backoff", func(m *Model) {
			m.Operations["front/get"].Shapes[0].Steps[1].Call.Retries = &Retry{Max: 1, Backoff: -1}
		},
			`operations."front/get".shapes[0].steps[1].retries.backoff: must be ≥ 0, got -1ns`},
		{"negative repeat", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[1].Call.Repeat = -1 },
			`operations."front/get".shapes[0].steps[1].repeat: must be ≥ 1, got -1`},
		{"pool size 0", func(m *Model) { m.Operations["front/get"].Shapes[0].Steps[3].Pool.Size = 0 },
			`operations."front/get".shapes[0].steps[3].pool.size: must be ≥ 1, got 0`},
		{"weights", func(m *Model) { m.Operations["back/get"].Shapes[0].Weight = 0.98 },
			`operations."back/get".shapes: weights sum to 0.98, expected 1 (±0.01)`},
		{"NaN weight", func(m *Model) { m.Operations["back/get"].Shapes[0].Weight = math.NaN() },
			`operations."back/get".shapes[0].weight: must be a finite number ≥ 0, got NaN`},
		{"NaN rate", func(m *Model) { m.Operations["front/get"].Entry.Rate = math.NaN() },
			`operations."front/get".entry.rate: must be a finite rate ≥ 0, got NaN`},
		{"error rate", func(m *Model) { m.Operations["back/get"].ErrorRate = 2 },
			`operations."back/get".error_rate: must be between 0 and 1, got 2`},
		{"cycle", func(m *Model) {
			m.Operations["back/put"].Shapes = []*Shape{{Weight: 1, Steps: []*Step{{Call: &Call{Target: "front/get"}}}}}
		}, `operations."front/get".shapes[0].steps[2].parallel[1].call: call cycle: back/put → front/get → back/put`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := validModel()
			c.change(m)
			err := Validate(m)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != c.want {
				t.Errorf("got\n  %s\nwant\n  %s", err, c.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"workers", "wrokers", 1}, {"kitten", "sitting", 3},
		{"profle/GetProfile", "profile/GetProfile", 1}, {"µs", "us", 1}, {"ab", "ba", 1}, {"abc", "ca", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := editDistance(c.b, c.a); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
	}
	if s := Suggest("normal", dist.Families()); s != "" {
		t.Errorf("suggested %s for a name 3 edits away", s)
	}
	if s := Suggest("expnential", dist.Families()); s != ` (did you mean "exponential"?)` {
		t.Errorf("suggest: %q", s)
	}
}

func TestPathCuts(t *testing.T) {
	r := &reader{lines: map[string]int{
		`operations."a.b/x[1]"`:             4,
		`operations."a.b/x[1]".shapes[0]`:   7,
		`operations."a.b/x[1]".shapes[0].w`: 8,
	}}
	for path, want := range map[string]int{
		`operations."a.b/x[1]".shapes[0].steps[3].call`: 7,
		`operations."a.b/x[1]".shapes`:                  4,
		`operations."a.b/x[1]".shapes[0].w`:             8,
		`services."q\"x.y"`:                             0,
	} {
		if got := r.lineOf(path); got != want {
			t.Errorf("lineOf(%s) = %d, want %d", path, got, want)
		}
	}
}
