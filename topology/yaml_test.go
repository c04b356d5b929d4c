package topology

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology/dist"
)

func write(t testing.TB, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, m); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func read(t testing.TB, data []byte) *Model {
	t.Helper()
	m, err := Read(bytes.NewReader(data), "test.yaml")
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, data)
	}
	return m
}

// checkRoundTrip is the acceptance test of the file format: what Write
// writes, Read reads back to the same bytes.
func checkRoundTrip(t testing.TB, m *Model) []byte {
	t.Helper()
	w1 := write(t, m)
	w2 := write(t, read(t, w1))
	if !bytes.Equal(w1, w2) {
		t.Fatalf("Write(Read(Write(m))) differs from Write(m):\n%s", lineDiff(string(w1), string(w2)))
	}
	return w1
}

func tr(family string, ks float64) dist.Tried { return dist.Tried{Family: family, KS: ks} }

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return "(same lines)"
}

// TestRichFixtureIsCanonical: testdata/rich.yaml uses every part of the
// format and is written exactly as Write writes it, so it doubles as the
// format's golden file.
func TestRichFixtureIsCanonical(t *testing.T) {
	data, err := os.ReadFile("testdata/rich.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := read(t, data)
	if got := write(t, m); !bytes.Equal(got, data) {
		t.Fatalf("Write(Read(rich.yaml)) differs from the file:\n%s", lineDiff(string(data), string(got)))
	}
	checkRoundTrip(t, m)
	if m2 := read(t, write(t, m)); !reflect.DeepEqual(m, m2) {
		t.Error("Read(Write(m)) is not m")
	}

	// A few values, to see the reading means what the file says.
	tl := m.Operations["frontend/GET /timeline"]
	if tl.Entry.Rate != 50 || tl.ErrorRate != 0.002 || len(tl.Shapes) != 2 || tl.Shapes[0].Count != 1080 {
		t.Errorf("timeline: %+v", tl)
	}
	steps := tl.Shapes[0].Steps
	if l, ok := steps[0].Work.(*dist.LogNormal); !ok || l.Median != 2e6 || l.Sigma != 0.4 {
		t.Errorf("work: %#v", steps[0].Work)
	}
	wantFit := &dist.Fit{N: 1080, KS: 0.021, Tried: []dist.Tried{tr("exponential", 0.18), tr("lognormal", 0.021), tr("gamma", 0.034)}}
	if !reflect.DeepEqual(steps[0].WorkFit, wantFit) {
		t.Errorf("work fit %+v, want %+v", steps[0].WorkFit, wantFit)
	}
	c := steps[2].Call
	if c.Target != "profile/GetProfile" || c.Timeout != time.Second || *c.Retries != (Retry{Max: 2, Backoff: 10 * time.Millisecond}) ||
		c.Network.(*dist.Constant).Value != 300e3 || c.Repeat != 1 || c.NetworkFit != nil {
		t.Errorf("call: %+v", c)
	}
	if steps[3].Call.Repeat != 5 {
		t.Errorf("repeat: %+v", steps[3].Call)
	}
	par := steps[4].Parallel
	if len(par) != 3 || !par[1].Optional || par[1].Timeout != 50*time.Millisecond || par[2].NetworkFit == nil || par[2].NetworkFit.N != 1080 {
		t.Errorf("parallel: %+v", par)
	}
	if p := steps[5].Pool; p.Size != 3 || len(p.Calls) != 2 || p.Calls[0].Repeat != 10 || p.Calls[1].Retries.Max != 1 {
		t.Errorf("pool: %+v", p)
	}
	if !steps[6].Call.Async {
		t.Errorf("async: %+v", steps[6].Call)
	}
	// The empirical fit: the chosen family is not among those tried.
	if f := steps[7].WorkFit; len(f.Tried) != 3 || f.Tried[0].Family != "exponential" {
		t.Errorf("empirical fit: %+v", f)
	}
	if s := m.Services["auth"]; s.Workers != 4 || s.Instances != 1 || s.Evidence.Note != "saturated: 4 concurrent spans for 12% of the time" {
		t.Errorf("auth: %+v", s)
	}
	if s := m.Services["db"]; !s.Peer || s.Evidence.MaxConcurrent != 11 {
		t.Errorf("db: %+v", s)
	}
}

// TestDesignExample reads the example of DESIGN.md (with its comments and
// spacing) and checks it round-trips.
func TestDesignExample(t *testing.T) {
	m, err := ReadFile("testdata/design.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, m)
	if got := m.Services["frontend"]; !reflect.DeepEqual(*got, Service{Instances: 2, Workers: 64}) {
		t.Errorf("frontend: %+v", got)
	}
	if got := m.Services["db"]; !reflect.DeepEqual(*got, Service{Instances: 1, Workers: 8}) {
		t.Errorf("db: %+v", got)
	}
	if op := m.Operations["posts/List"]; op == nil || op.Shapes != nil {
		t.Errorf("posts/List (empty value): %+v", op)
	}
	q := m.Operations["frontend/GET /timeline"].Shapes[0].Steps[5].Work.(*dist.Empirical).Quantiles
	if !reflect.DeepEqual(q, []float64{0.4e6, 0.6e6, 0.9e6, 2e6, 7e6}) {
		t.Errorf("quantiles %v", q)
	}
	// The design's comments are not fits.
	for _, st := range m.Operations["frontend/GET /timeline"].Shapes[0].Steps {
		if st.WorkFit != nil || (st.Call != nil && st.Call.NetworkFit != nil) {
			t.Errorf("a comment became a fit: %+v", st)
		}
	}
}

// TestReadVariants: what a person may write differently from Write.
func TestReadVariants(t *testing.T) {
	const head = "version: 1\nservices:\n  a:\n  b: {instances: 1}\noperations:\n"
	cases := []struct {
		name, ops string
		check     func(*Model) bool
	}{
		{"rate per minute", "  a/x: {entry: {rate: 3000/min}}\n", func(m *Model) bool { return m.Operations["a/x"].Entry.Rate == 50 }},
		{"rate per hour", "  a/x: {entry: {rate: 7200/h}}\n", func(m *Model) bool { return m.Operations["a/x"].Entry.Rate == 2 }},
		{"plain rate", "  a/x: {entry: {rate: 12.5}}\n", func(m *Model) bool { return m.Operations["a/x"].Entry.Rate == 12.5 }},
		{"empty entry", "  a/x: {entry: }\n", func(m *Model) bool { return m.Operations["a/x"].Entry.Rate == 0 }},
		{"µs and Go syntax", "  a/x: {shapes: [{weight: 1, steps: [{work: {uniform: {min: 300µs, max: 1m30s}}}]}]}\n", func(m *Model) bool {
			u := m.Operations["a/x"].Shapes[0].Steps[0].Work.(*dist.Uniform)
			return u.Min == 300e3 && u.Max == 90e9
		}},
		{"alias", "  a/x: {shapes: [{weight: 1, steps: [{work: &w {constant: 1ms}}, {work: *w}]}]}\n", func(m *Model) bool {
			s := m.Operations["a/x"].Shapes[0].Steps
			return s[1].Work.(*dist.Constant).Value == 1e6
		}},
		{"block step call with True", "  a/x:\n    shapes:\n      - weight: 1\n        steps:\n          - call: b/y\n            optional: True\n  b/y: {}\n", func(m *Model) bool {
			return m.Operations["a/x"].Shapes[0].Steps[0].Call.Optional
		}},
		{"null service is default", "", func(m *Model) bool { return reflect.DeepEqual(*m.Services["a"], Service{Instances: 1}) }},
		{"fit on a one-line call", "  a/x: {shapes: [{weight: 1, steps: [{parallel: [{call: b/y, network: {constant: 1ms}}]}]}]}\n  b/y: {}\n", func(m *Model) bool {
			return m.Operations["a/x"].Shapes[0].Steps[0].Parallel[0].NetworkFit == nil
		}},
		{"weights within 0.01", "  a/x: {shapes: [{weight: 0.5, steps: []}, {weight: 0.495}]}\n", func(m *Model) bool { return len(m.Operations["a/x"].Shapes) == 2 }},
		{"stale fit of another family is dropped", "  a/x:\n    shapes:\n      - weight: 1\n        steps:\n          - work: {constant: 1ms} # fit: lognormal KS=0.02 n=10\n", func(m *Model) bool {
			return m.Operations["a/x"].Shapes[0].Steps[0].WorkFit == nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := read(t, []byte(head+c.ops))
			if !c.check(m) {
				t.Errorf("unexpected model from\n%s", c.ops)
			}
			checkRoundTrip(t, m)
		})
	}
	// A fit comment on a one-line call in a list is the network's.
	m := read(t, []byte(head+"  a/x: {shapes: [{weight: 1, steps: [{parallel: [\n    {call: b/y, network: {constant: 1ms}}  # fit: constant KS=0 n=3\n  ]}]}]}\n  b/y: {}\n"))
	if f := m.Operations["a/x"].Shapes[0].Steps[0].Parallel[0].NetworkFit; f == nil || f.N != 3 {
		t.Errorf("fit of a one-line call: %+v", f)
	}
}

func TestFitComment(t *testing.T) {
	cases := []struct {
		family string
		fit    dist.Fit
		text   string
	}{
		{"lognormal", dist.Fit{N: 1200, KS: 0.021, Tried: []dist.Tried{tr("exponential", 0.18), tr("lognormal", 0.021), tr("gamma", 0.034)}},
			"fit: lognormal KS=0.021 n=1200 (tried exponential 0.18, gamma 0.034)"},
		{"exponential", dist.Fit{N: 9, KS: 0.2, Tried: []dist.Tried{tr("exponential", 0.2)}}, "fit: exponential KS=0.2 n=9"},
		{"gamma", dist.Fit{N: 9, KS: 0.05, Tried: []dist.Tried{tr("exponential", 0.3), tr("gamma", 0.05)}}, "fit: gamma KS=0.05 n=9 (tried exponential 0.3)"},
		{"empirical", dist.Fit{N: 50, KS: 0.0123, Tried: []dist.Tried{tr("exponential", 0.4), tr("lognormal", 0.3), tr("gamma", 0.25)}},
			"fit: empirical KS=0.012 n=50 (tried exponential 0.4, lognormal 0.3, gamma 0.25)"},
		{"constant", dist.Fit{N: 3}, "fit: constant KS=0 n=3"},
	}
	for _, c := range cases {
		text := formatFit(c.family, &c.fit)
		if text != c.text {
			t.Errorf("formatFit = %q, want %q", text, c.text)
		}
		got, ok := parseFit("# "+text, c.family)
		if !ok {
			t.Errorf("parseFit(%q) failed", text)
			continue
		}
		want := c.fit
		want.KS = dist.RoundSig(want.KS, dist.KSDigits)
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("parseFit(%q) = %+v, want %+v", text, *got, want)
		}
	}
	for _, bad := range []string{
		"# a comment",
		"# fit: lognormal KS=x n=3",
		"# fit: lognormal KS=0.1 n=-3",
		"# fit: lognormal KS=2 n=3",
		"# fit: lognormal KS=0.1 n=3 (tried weibull 0.2)",
		"# fit: lognormal KS=0.1 n=3 (tried gamma 0.2",
		"# fit: lognormal KS=0.1",
		"# fit: gamma KS=0.1 n=3",
	} {
		if f, ok := parseFit(bad, "lognormal"); ok {
			t.Errorf("parseFit(%q) = %+v", bad, f)
		}
	}
}

func TestFormatNum(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.4, "0.4"}, {0.123456, "0.1235"}, {2.75, "2.75"}, {12345678, "12350000"},
		{1e-7, "1e-07"}, {1.23456e25, "1.235e+25"}, {-0.5, "-0.5"}, {math.Copysign(0, -1), "0"},
	} {
		if got := formatNum(c.x, 4); got != c.want {
			t.Errorf("formatNum(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		s    string
		want float64
	}{{"50/s", 50}, {"3000/min", 50}, {"36/h", 0.01}, {"7", 7}, {"0/s", 0}, {" 2 / s", 2}} {
		if got, err := ParseRate(c.s); err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ParseRate(%q) = %v, %v", c.s, got, err)
		}
	}
	for _, c := range []struct{ s, msg string }{
		{"-5/s", "negative rate"}, {"5/day", "invalid rate"}, {"fast", "invalid rate"}, {"NaN/s", "invalid rate"}, {"Inf", "invalid rate"},
	} {
		if _, err := ParseRate(c.s); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseRate(%q): %v, want %q", c.s, err, c.msg)
		}
	}
}

func TestWriteRefusesInvalidModel(t *testing.T) {
	m := validModel()
	m.Operations["front/get"].Shapes[0].Steps[1].Call.Target = "back/gte"
	var b bytes.Buffer
	err := Write(&b, m)
	if err == nil || !strings.Contains(err.Error(), `unknown operation "back/gte" (did you mean "back/get"?)`) {
		t.Fatalf("Write: %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote %d bytes of an invalid model", b.Len())
	}
}

// TestRoundTripGenerated writes random models (every field, awkward
// names and notes) and reads them back: the bytes and the model must
// come back unchanged.
func TestRoundTripGenerated(t *testing.T) {
	for seed := range uint64(300) {
		m := genModel(rand.New(rand.NewPCG(seed, 17)))
		if err := Validate(m); err != nil {
			t.Fatalf("seed %d: generated an invalid model: %v", seed, err)
		}
		w1 := checkRoundTrip(t, m)
		if m2 := read(t, w1); !reflect.DeepEqual(m, m2) {
			t.Fatalf("seed %d: Read(Write(m)) is not m\n%s", seed, w1)
		}
	}
}

var (
	genNames = []string{"frontend", "db", "a b", "1", "null", "true", "x:y", "#c", "-", "'q", `"dq`, "ü", "tab\there", "k: v", "[x]", "{y}", "a,b", "~", "", " lead"}
	genOps   = []string{"GET /x", "Get", ": colon", "op #1", "[]", "{a}", "/nested/path", "with space ", "ünï", "1.5", "false"}
	genNotes = []string{"", "a: b", "line\nbreak", "# not a comment", "  spaces  ", "ü ✓", "'quoted'", "\ttab", "trailing\n", "-", "null"}
)

func genModel(r *rand.Rand) *Model {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	m := &Model{Version: Version, Services: map[string]*Service{}, Operations: map[string]*Operation{}}
	for n := 1 + r.IntN(4); len(m.Services) < n; {
		name := pick(genNames)
		if name == "" {
			continue
		}
		s := &Service{Instances: 1 + r.IntN(3)*r.IntN(3), Workers: r.IntN(3) * r.IntN(70), Peer: r.IntN(4) == 0}
		if r.IntN(3) == 0 {
			s.Evidence = genEvidence(r, pick(genNotes))
		}
		if r.IntN(3) == 0 {
			s.Pools = map[string]*SharedPool{}
			for range 1 + r.IntN(2) {
				sp := &SharedPool{Size: 1 + r.IntN(8)}
				if r.IntN(2) == 0 {
					sp.Wait = []string{WaitInSpan, WaitBeforeSpan}[r.IntN(2)]
				}
				if r.IntN(2) == 0 {
					sp.Evidence = genEvidence(r, "")
				}
				s.Pools[pick(genOps)] = sp
			}
		}
		m.Services[name] = s
	}
	svcs := sortedKeys(m.Services)
	var names []string
	for range 1 + r.IntN(6) {
		name := pick(svcs) + "/" + pick(genOps)
		if _, dup := m.Operations[name]; !dup {
			names = append(names, name)
			m.Operations[name] = &Operation{}
		}
	}
	// Operation i calls only operations after it: no cycles.
	for i, name := range names {
		op := m.Operations[name]
		if r.IntN(3) == 0 {
			op.Entry = &Entry{Rate: dist.RoundSig(math.Pow(10, -2+5*r.Float64()), dist.Digits)}
		}
		if r.IntN(3) == 0 {
			op.ErrorRate = dist.RoundSig(r.Float64(), dist.Digits)
		}
		callees := names[i+1:]
		k := r.IntN(4)
		svc, _, _ := strings.Cut(name, "/")
		pools := sortedKeys(m.Services[svc].Pools)
		for range k {
			sh := &Shape{Weight: dist.RoundSig(1/float64(k), dist.Digits), Count: r.IntN(2) * r.IntN(5000)}
			for range r.IntN(6) {
				st := genStep(r, callees)
				for _, c := range append(append([]*Call{st.Call}, st.Parallel...), poolCalls(st)...) {
					if c != nil && len(pools) > 0 && r.IntN(2) == 0 {
						c.Via = pools[r.IntN(len(pools))]
					}
				}
				sh.Steps = append(sh.Steps, st)
			}
			op.Shapes = append(op.Shapes, sh)
		}
	}
	return m
}

func poolCalls(st *Step) []*Call {
	if st.Pool == nil {
		return nil
	}
	return st.Pool.Calls
}

// genEvidence is capacity evidence as a file shows it.
func genEvidence(r *rand.Rand, note string) *CapacityEvidence {
	e := &CapacityEvidence{Executions: r.IntN(3) * r.IntN(100000), MaxConcurrent: r.IntN(20), Servers: r.IntN(3) * r.IntN(10),
		Queued: r.IntN(2) * r.IntN(5000), WaitShare: float64(r.IntN(1001)) / 1000, Note: note}
	if r.IntN(2) == 0 {
		e.Test = "the 12 uses that found 2 or more others running took longer (z 5.1 > 3.8)"
	}
	return e
}

func genStep(r *rand.Rand, callees []string) *Step {
	kind := r.IntN(4)
	if len(callees) == 0 {
		kind = 0
	}
	switch kind {
	case 0:
		d, fit := genDist(r)
		return &Step{Work: d, WorkFit: fit}
	case 1:
		return &Step{Call: genCall(r, callees)}
	case 2:
		st := &Step{Parallel: []*Call{}}
		for range 1 + r.IntN(3) {
			st.Parallel = append(st.Parallel, genCall(r, callees))
		}
		return st
	default:
		p := &Pool{Size: 1 + r.IntN(4)}
		for range 1 + r.IntN(3) {
			p.Calls = append(p.Calls, genCall(r, callees))
		}
		return &Step{Pool: p}
	}
}

func genCall(r *rand.Rand, callees []string) *Call {
	c := &Call{Target: callees[r.IntN(len(callees))], Repeat: 1 + r.IntN(2)*r.IntN(6), Optional: r.IntN(3) == 0, Async: r.IntN(5) == 0}
	if r.IntN(2) == 0 {
		c.Network, c.NetworkFit = genDist(r)
	}
	if r.IntN(3) == 0 {
		c.Timeout = genTime(r)
	}
	if r.IntN(3) == 0 {
		c.Retries = &Retry{Max: r.IntN(4), Backoff: time.Duration(r.IntN(2)) * genTime(r)}
	}
	return c
}

// genTime is a duration as a file shows it: integer ns, four digits.
func genTime(r *rand.Rand) time.Duration {
	return time.Duration(math.Round(dist.RoundDuration(math.Round(math.Pow(10, 12*r.Float64())))))
}

// genDur is a duration parameter as a file shows it.
func genDur(r *rand.Rand) float64 {
	if r.IntN(10) == 0 {
		return 0
	}
	return dist.RoundDuration(math.Pow(10, -1+13*r.Float64()))
}

func genDist(r *rand.Rand) (dist.Dist, *dist.Fit) {
	var d dist.Dist
	var err error
	switch r.IntN(6) {
	case 0:
		d, err = dist.NewConstant(genDur(r))
	case 1:
		d, err = dist.NewExponential(genDur(r))
	case 2:
		d, err = dist.NewLogNormal(genDur(r), dist.RoundSig(2*r.Float64(), dist.Digits))
	case 3:
		d, err = dist.NewGamma(genDur(r), dist.RoundSig(0.01+10*r.Float64(), dist.Digits))
	case 4:
		a, b := genDur(r), genDur(r)
		d, err = dist.NewUniform(min(a, b), max(a, b))
	default:
		q := make([]float64, 1+r.IntN(21))
		for i := range q {
			q[i] = genDur(r)
		}
		slices.Sort(q)
		d, err = dist.NewEmpirical(q)
	}
	if err != nil {
		panic(err)
	}
	if r.IntN(2) == 0 {
		return d, nil
	}
	// A fit as FitBest records it: the families tried in its order, the
	// chosen one among them when it is one of them.
	ks := func() float64 { return dist.RoundSig(r.Float64()/2, dist.KSDigits) }
	fit := &dist.Fit{N: r.IntN(100000), KS: ks()}
	for _, fam := range fitFamilies {
		switch {
		case fam == d.Family():
			fit.Tried = append(fit.Tried, dist.Tried{Family: fam, KS: fit.KS})
		case r.IntN(2) == 0:
			fit.Tried = append(fit.Tried, dist.Tried{Family: fam, KS: ks()})
		}
	}
	return d, fit
}

// FuzzRead: Read never panics, and whatever it accepts, Write writes and
// Read reads back to the same bytes.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range readErrorCases {
		f.Add([]byte(c.yaml))
	}
	for seed := range uint64(20) {
		f.Add(write(f, genModel(rand.New(rand.NewPCG(seed, 17)))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if m != nil {
				t.Fatal("a model and an error")
			}
			return
		}
		if err := Validate(m); err != nil {
			t.Fatalf("Read accepted a model Validate rejects: %v", err)
		}
		var w1 bytes.Buffer
		if err := Write(&w1, m); err != nil {
			t.Fatalf("Read accepted a model Write refuses: %v", err)
		}
		m2, err := Read(bytes.NewReader(w1.Bytes()), "written.yaml")
		if err != nil {
			t.Fatalf("Read rejects what Write wrote: %v\n%s", err, w1.Bytes())
		}
		var w2 bytes.Buffer
		if err := Write(&w2, m2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w1.Bytes(), w2.Bytes()) {
			t.Fatalf("not byte-identical:\n%s\nfirst:\n%s", lineDiff(w1.String(), w2.String()), w1.Bytes())
		}
	})
}
