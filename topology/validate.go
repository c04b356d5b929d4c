package topology

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracesim/tracesim/topology/dist"
)

// MaxErrors is how many problems Validate and Read report at most; the
// rest are counted. A file with more has a systematic mistake, and
// twenty examples show it.
const MaxErrors = 20

// weightTolerance is how far the shape weights of an operation may sum
// from 1: weights are written with four significant digits, and a model
// built from traces rounds each one.
const weightTolerance = 0.01

// FieldError is one problem in a model: where it is and what was
// expected. File and Line are set when the model was read from a file.
type FieldError struct {
	File string // "" for a model built in code
	Line int    // 1-based; 0 when unknown
	// Path names the field, e.g.
	// operations."frontend/GET /x".shapes[0].steps[2].call
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// problems collects the errors of one model.
type problems struct {
	list []*FieldError
	// skip holds paths already reported by the reader in a way that
	// makes a later check of the same path meaningless (a step whose
	// distribution did not parse is not also "a step with no kind").
	skip map[string]bool
}

func (p *problems) add(line int, path, format string, args ...any) {
	p.list = append(p.list, &FieldError{Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// check reports a problem found by the model checks, unless the reader
// already reported that path.
func (p *problems) check(path, format string, args ...any) {
	if p.skip[path] {
		return
	}
	p.add(0, path, format, args...)
}

func (p *problems) markSkip(path string) {
	if p.skip == nil {
		p.skip = map[string]bool{}
	}
	p.skip[path] = true
}

// join returns the problems as one error (nil if none), in file order
// when lines are known, at most MaxErrors of them. lineOf finds the line
// of a path the checks reported without one.
func (p *problems) join(file string, lineOf func(path string) int) error {
	if len(p.list) == 0 {
		return nil
	}
	for _, e := range p.list {
		e.File = file
		if e.Line == 0 && lineOf != nil {
			e.Line = lineOf(e.Path)
		}
	}
	if lineOf != nil {
		sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	}
	var errs []error
	for i, e := range p.list {
		if i == MaxErrors {
			errs = append(errs, fmt.Errorf("... and %d more problems", len(p.list)-MaxErrors))
			break
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// Validate checks a model built in code by the rules a model file is
// read with: every name resolves, values are in range, each step is
// exactly one thing, weights sum to 1, and no operation calls itself
// through its calls. It returns every problem found (up to MaxErrors),
// joined; each is a *FieldError naming the field.
func Validate(m *Model) error {
	var p problems
	checkModel(&p, m)
	return p.join("", nil)
}

// Path helpers: the paths in errors read like the file, with names
// quoted since operation names contain spaces and slashes.
func field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func named(path, name string) string { return path + "." + strconv.Quote(name) }

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func checkModel(p *problems, m *Model) {
	if m == nil {
		p.check("", "no model")
		return
	}
	switch m.Version {
	case Version:
	case 0:
		p.check("version", "missing: expected version: %d", Version)
	default:
		p.check("version", "unsupported version %d: this tracesim reads version %d", m.Version, Version)
	}
	services := sortedKeys(m.Services)
	for _, name := range services {
		checkService(p, named("services", name), name, m.Services[name])
	}
	ops := sortedKeys(m.Operations)
	for _, name := range ops {
		path := named("operations", name)
		op := m.Operations[name]
		checkOperationName(p, path, name, m.Services, services)
		if op == nil {
			p.check(path, "missing operation")
			continue
		}
		var pools map[string]*SharedPool
		if svc, _, ok := strings.Cut(name, "/"); ok && m.Services[svc] != nil {
			pools = m.Services[svc].Pools
		}
		checkOperation(p, path, op, m.Operations, ops, pools)
	}
	checkCycles(p, m, ops)
}

func checkService(p *problems, path, name string, s *Service) {
	switch {
	case name == "":
		p.check(path, "empty service name")
	case strings.Contains(name, "/"):
		p.check(path, "a service name cannot contain '/': operations are named service/operation")
	case !utf8.ValidString(name):
		p.check(path, "service name is not valid UTF-8")
	}
	if s == nil {
		p.check(path, "missing service")
		return
	}
	if s.Instances < 1 {
		p.check(field(path, "instances"), "must be ≥ 1, got %d", s.Instances)
	}
	if s.Workers < 0 {
		p.check(field(path, "workers"), "must be ≥ 1, or omitted for unlimited, got %d", s.Workers)
	}
	checkEvidence(p, field(path, "evidence"), s.Evidence)
	pp := field(path, "pools")
	for _, name := range sortedKeys(s.Pools) {
		np := named(pp, name)
		sp := s.Pools[name]
		switch {
		case name == "":
			p.check(np, "empty pool name")
		case !utf8.ValidString(name):
			p.check(np, "pool name is not valid UTF-8")
		}
		if sp == nil {
			p.check(np, "missing pool")
			continue
		}
		if sp.Size < 1 {
			p.check(field(np, "size"), "must be ≥ 1, got %d (to remove the limit, remove the pool and the calls' via)", sp.Size)
		}
		if sp.Wait != "" && sp.Wait != WaitInSpan && sp.Wait != WaitBeforeSpan {
			p.check(field(np, "wait"), "unknown %q%s: expected %s or %s", sp.Wait, Suggest(sp.Wait, []string{WaitInSpan, WaitBeforeSpan}), WaitInSpan, WaitBeforeSpan)
		}
		checkEvidence(p, field(np, "evidence"), sp.Evidence)
	}
}

func checkEvidence(p *problems, ep string, e *CapacityEvidence) {
	if e == nil {
		return
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"executions", e.Executions}, {"max_concurrent", e.MaxConcurrent}, {"servers", e.Servers}, {"queued", e.Queued}} {
		if f.v < 0 {
			p.check(field(ep, f.name), "must be ≥ 0, got %d", f.v)
		}
	}
	if !(e.WaitShare >= 0 && e.WaitShare <= 1) {
		p.check(field(ep, "wait_share"), "must be between 0 and 1, got %v", e.WaitShare)
	}
	if !utf8.ValidString(e.Note) {
		p.check(field(ep, "note"), "is not valid UTF-8")
	}
	if !utf8.ValidString(e.Test) {
		p.check(field(ep, "test"), "is not valid UTF-8")
	}
}

// checkOperationName checks that an operation is "service/operation"
// with a declared service. An operation of an undeclared service is an
// error rather than a silent new service: it is far more often a typo.
func checkOperationName(p *problems, path, name string, services map[string]*Service, names []string) {
	if !utf8.ValidString(name) {
		p.check(path, "operation name is not valid UTF-8")
		return
	}
	svc, op, ok := strings.Cut(name, "/")
	switch {
	case !ok:
		p.check(path, "operation name must be service/operation (split at the first '/'), got %q", name)
	case svc == "":
		p.check(path, "operation name %q has an empty service part", name)
	case op == "":
		p.check(path, "operation name %q has an empty operation part", name)
	default:
		if _, ok := services[svc]; !ok {
			p.check(path, "unknown service %q%s: every operation's service must be listed under services", svc, Suggest(svc, names))
		}
	}
}

// checkOperation checks op; pools are the shared pools of its service,
// which its calls may go through.
func checkOperation(p *problems, path string, op *Operation, ops map[string]*Operation, opNames []string, pools map[string]*SharedPool) {
	if op.Entry != nil {
		if r := op.Entry.Rate; !(r >= 0) || math.IsInf(r, 0) {
			p.check(field(field(path, "entry"), "rate"), "must be a finite rate ≥ 0, got %v", r)
		}
	}
	if r := op.ErrorRate; !(r >= 0 && r <= 1) {
		p.check(field(path, "error_rate"), "must be between 0 and 1, got %v", r)
	}
	shapesPath := field(path, "shapes")
	var sum float64
	weightsOK := true
	for i, sh := range op.Shapes {
		sp := index(shapesPath, i)
		if sh == nil {
			p.check(sp, "missing shape")
			weightsOK = false
			continue
		}
		if w := sh.Weight; !(w >= 0) || math.IsInf(w, 0) {
			p.check(field(sp, "weight"), "must be a finite number ≥ 0, got %v", w)
			weightsOK = false
		}
		// The sum of the weights as written: what a file read back has.
		sum += dist.RoundSig(sh.Weight, dist.Digits)
		if sh.Count < 0 {
			p.check(field(sp, "count"), "must be ≥ 0, got %d", sh.Count)
		}
		for j, st := range sh.Steps {
			checkStep(p, index(field(sp, "steps"), j), st, ops, opNames, pools)
		}
	}
	if len(op.Shapes) > 0 && weightsOK && math.Abs(sum-1) > weightTolerance {
		p.check(shapesPath, "weights sum to %s, expected 1 (±%v)", formatNum(sum, 6), weightTolerance)
	}
}

func checkStep(p *problems, path string, st *Step, ops map[string]*Operation, opNames []string, pools map[string]*SharedPool) {
	if st == nil {
		p.check(path, "missing step")
		return
	}
	var kinds []string
	if st.Work != nil {
		kinds = append(kinds, "work")
	}
	if st.Call != nil {
		kinds = append(kinds, "call")
	}
	if st.Parallel != nil {
		kinds = append(kinds, "parallel")
	}
	if st.Pool != nil {
		kinds = append(kinds, "pool")
	}
	switch len(kinds) {
	case 0:
		p.check(path, "a step needs one of work, call, parallel or pool")
		return
	case 1:
	default:
		p.check(path, "a step needs exactly one of work, call, parallel or pool; this one has %s", strings.Join(kinds, " and "))
		return
	}
	switch {
	case st.Work != nil:
		checkDist(p, field(path, "work"), st.Work, st.WorkFit)
	case st.Call != nil:
		checkCall(p, path, st.Call, ops, opNames, pools)
	case st.Parallel != nil:
		pp := field(path, "parallel")
		if len(st.Parallel) == 0 {
			p.check(pp, "needs at least one call")
		}
		for i, c := range st.Parallel {
			checkCall(p, index(pp, i), c, ops, opNames, pools)
		}
	case st.Pool != nil:
		pp := field(path, "pool")
		if st.Pool.Size < 1 {
			p.check(field(pp, "size"), "must be ≥ 1, got %d", st.Pool.Size)
		}
		cp := field(pp, "calls")
		if len(st.Pool.Calls) == 0 {
			p.check(cp, "needs at least one call")
		}
		for i, c := range st.Pool.Calls {
			checkCall(p, index(cp, i), c, ops, opNames, pools)
		}
	}
}

// checkCall checks a call whose fields (call, network, timeout, ...)
// sit under path: a call step, or one entry of a parallel or pool.
func checkCall(p *problems, path string, c *Call, ops map[string]*Operation, opNames []string, pools map[string]*SharedPool) {
	if c == nil {
		p.check(path, "missing call")
		return
	}
	tp := field(path, "call")
	switch _, ok := ops[c.Target]; {
	case c.Target == "":
		p.check(tp, "empty operation name")
	case !ok:
		p.check(tp, "unknown operation %q%s", c.Target, Suggest(c.Target, opNames))
	}
	if c.Network != nil {
		checkDist(p, field(path, "network"), c.Network, c.NetworkFit)
	}
	checkDuration(p, field(path, "timeout"), c.Timeout)
	if r := c.Retries; r != nil {
		rp := field(path, "retries")
		if r.Max < 0 {
			p.check(field(rp, "max"), "must be ≥ 0, got %d", r.Max)
		}
		checkDuration(p, field(rp, "backoff"), r.Backoff)
	}
	if c.Repeat < 0 {
		p.check(field(path, "repeat"), "must be ≥ 1, got %d", c.Repeat)
	}
	if c.Via != "" {
		if _, ok := pools[c.Via]; !ok {
			names := sortedKeys(pools)
			have := "the caller's service has no pools"
			if len(names) > 0 {
				have = "the caller's service has " + strings.Join(names, ", ")
			}
			p.check(field(path, "via"), "unknown pool %q%s: %s (services.<caller>.pools)", c.Via, Suggest(c.Via, names), have)
		}
	}
}

func checkDuration(p *problems, path string, d time.Duration) {
	switch {
	case d < 0:
		p.check(path, "must be ≥ 0, got %v", d)
	case float64(d) > dist.MaxNS:
		p.check(path, "%v is out of range (at most %s)", d, dist.FormatDuration(dist.MaxNS))
	}
}

func checkDist(p *problems, path string, d dist.Dist, fit *dist.Fit) {
	if err := dist.Check(d); err != nil {
		p.check(path, "%v", err)
		return
	}
	if fit == nil {
		return
	}
	if fit.N < 0 {
		p.check(path, "fit: n must be ≥ 0, got %d", fit.N)
	}
	if !(fit.KS >= 0 && fit.KS <= 1) {
		p.check(path, "fit: KS must be between 0 and 1, got %v", fit.KS)
	}
	for _, t := range fit.Tried {
		if !slices.Contains(dist.Families(), t.Family) {
			p.check(path, "fit: unknown family %q tried", t.Family)
		}
		if !(t.KS >= 0 && t.KS <= 1) {
			p.check(path, "fit: KS of %s must be between 0 and 1, got %v", t.Family, t.KS)
		}
	}
}

// checkCycles reports every call edge that closes a cycle: an operation
// that reaches itself through its calls would never finish.
func checkCycles(p *problems, m *Model, ops []string) {
	type edge struct{ to, path string }
	edges := map[string][]edge{}
	for _, name := range ops {
		op := m.Operations[name]
		if op == nil {
			continue
		}
		add := func(path string, c *Call) {
			if c != nil {
				if _, ok := m.Operations[c.Target]; ok {
					edges[name] = append(edges[name], edge{c.Target, field(path, "call")})
				}
			}
		}
		for i, sh := range op.Shapes {
			if sh == nil {
				continue
			}
			for j, st := range sh.Steps {
				if st == nil {
					continue
				}
				sp := index(field(index(field(named("operations", name), "shapes"), i), "steps"), j)
				add(sp, st.Call)
				for k, c := range st.Parallel {
					add(index(field(sp, "parallel"), k), c)
				}
				if st.Pool != nil {
					for k, c := range st.Pool.Calls {
						add(index(field(field(sp, "pool"), "calls"), k), c)
					}
				}
			}
		}
	}
	const (
		unseen = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(u string) {
		state[u] = onStack
		stack = append(stack, u)
		for _, e := range edges[u] {
			switch state[e.to] {
			case unseen:
				visit(e.to)
			case onStack:
				i := slices.Index(stack, e.to)
				cycle := append(slices.Clone(stack[i:]), e.to)
				p.check(e.path, "call cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[u] = done
	}
	for _, name := range ops {
		if state[name] == unseen {
			visit(name)
		}
	}
}

// Suggest returns ` (did you mean "x"?)` for the candidate closest to
// name by edit distance, if one is close enough to be a typo.
func Suggest(name string, candidates []string) string {
	const maxLen = 256 // longer names are not typed by hand
	if name == "" || len(name) > maxLen {
		return ""
	}
	limit := 1 + utf8.RuneCountInString(name)/6
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == name || len(c) > maxLen {
			continue
		}
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the optimal-string-alignment distance between a and
// b: insertions, deletions, substitutions and swaps of adjacent runes
// each count one, so "wrokers" is one edit from "workers".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows of the dynamic programme: two back (for swaps), one
	// back, and the current one.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
