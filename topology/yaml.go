package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracesim/tracesim/topology/dist"
)

// The keys a model file knows, by where they appear.
var (
	topKeys      = []string{"version", "services", "operations"}
	serviceKeys  = []string{"instances", "workers", "peer", "pools", "evidence"}
	evidenceKeys = []string{"executions", "max_concurrent", "servers", "suggested", "queued", "wait_share", "test", "note"}
	sharedKeys   = []string{"size", "wait", "evidence"}
	opKeys       = []string{"entry", "error_rate", "shapes"}
	shapeKeys    = []string{"weight", "count", "steps"}
	stepKinds    = []string{"work", "call", "parallel", "pool"}
	callKeys     = []string{"call", "network", "timeout", "retries", "repeat", "optional", "async", "via"}
	stepKeys     = []string{"work", "call", "parallel", "pool", "network", "timeout", "retries", "repeat", "optional", "async", "via"}
	retryKeys    = []string{"max", "backoff"}
	poolKeys     = []string{"size", "calls"}
)

// maxNodes bounds how many YAML values one file may expand to. Aliases
// can make a small file name a huge tree ("billion laughs"); a real
// model has far fewer values than this.
const maxNodes = 1_000_000

// ReadFile reads a model file; errors name the file as given.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads and validates a model file. name is used in errors
// ("model.yaml:14: operations."a/b".shapes[0].weight: ..."). All
// problems found are returned together (up to MaxErrors), each a
// *FieldError; with any problem the model is nil.
//
// Read takes more than Write writes, for files written by hand: any
// YAML style and key order, rates per min or h or plain numbers (per
// s), Go durations with "µs" or "1m30s", anchors and aliases, an empty
// value for an empty service, operation, entry or list. A missing
// instances is 1, a missing repeat 1. A "# fit: ..." comment on a
// distribution's line becomes its Fit (when it names the same family);
// other comments are not kept.
func Read(r io.Reader, name string) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: name, Msg: "empty model file: expected version: 1, services and operations"}
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{File: name, Line: extra.Line, Msg: "a model file holds one YAML document; found a second one"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, err)
	}
	rd := &reader{lines: map[string]int{}, budget: maxNodes}
	m := rd.model(&doc)
	if rd.budget < 0 {
		// The tree was cut short; checking the rest would only add noise.
		return nil, rd.probs.join(name, rd.lineOf)
	}
	checkModel(&rd.probs, m)
	if err := rd.probs.join(name, rd.lineOf); err != nil {
		return nil, err
	}
	return m, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parser error into a FieldError with its line.
func syntaxError(name string, err error) error {
	msg := err.Error()
	if sub := yamlLine.FindStringSubmatch(msg); sub != nil {
		line, _ := strconv.Atoi(sub[1])
		return &FieldError{File: name, Line: line, Msg: "invalid YAML: " + sub[2]}
	}
	return &FieldError{File: name, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// reader walks the YAML tree of a model file, building the Model and
// collecting problems with their lines.
type reader struct {
	probs problems
	// lines maps each path the file has to its line, so that problems
	// the model checks find (by path) can name a line too.
	lines  map[string]int
	budget int // values left to visit, see maxNodes
}

func (r *reader) errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	r.probs.add(line, path, format, args...)
}

func (r *reader) at(path string, n *yaml.Node) {
	if _, ok := r.lines[path]; !ok {
		r.lines[path] = n.Line
	}
}

// lineOf finds the line of path, or of its nearest enclosing field the
// file has (a check may name a field that was omitted).
func (r *reader) lineOf(path string) int {
	cuts := pathCuts(path)
	for i := len(cuts) - 1; i >= 0; i-- {
		if line, ok := r.lines[path[:cuts[i]]]; ok {
			return line
		}
	}
	return 0
}

// pathCuts returns the ends of every prefix of path that is itself a
// path: before each '.' or '[' outside quotes, and the whole path.
func pathCuts(path string) []int {
	var cuts []int
	inQuote := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '[') && i > 0:
			cuts = append(cuts, i)
		}
	}
	return append(cuts, len(path))
}

// spend counts n values against the budget; false once it is exceeded
// (reported once).
func (r *reader) spend(n *yaml.Node, k int) bool {
	if r.budget < 0 {
		return false
	}
	r.budget -= k
	if r.budget < 0 {
		r.errorf(n, "", "the model is too large: more than %d values (are aliases expanding it?)", maxNodes)
		return false
	}
	return true
}

func resolve(n *yaml.Node) *yaml.Node {
	// The parser rejects an alias to an anchor that contains it, so
	// this ends.
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return strconv.Quote(v)
	}
	return "an unexpected YAML node"
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// pairs returns the entries of a mapping, reporting keys that are not
// names and duplicates. With nullOK an empty value ("services:") is an
// empty mapping.
func (r *reader) pairs(n *yaml.Node, path, what string, nullOK bool) ([]pair, bool) {
	n = resolve(n)
	if nullOK && isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		r.errorf(n, path, "expected %s, got %s", what, describe(n))
		return nil, false
	}
	if !r.spend(n, len(n.Content)) {
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	ps := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		switch {
		case k.Kind != yaml.ScalarNode:
			r.errorf(k, path, "expected a name as a key, got %s", describe(k))
			continue
		case k.Tag == "!!merge":
			r.errorf(k, path, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			r.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		ps = append(ps, pair{k.Value, k, n.Content[i+1]})
	}
	return ps, true
}

// known keeps the entries whose keys are allowed, reporting the others
// with the nearest allowed key, and records where each field is.
func (r *reader) known(ps []pair, path string, allowed []string, hint string) map[string]*yaml.Node {
	f := make(map[string]*yaml.Node, len(ps))
	for _, p := range ps {
		if !slices.Contains(allowed, p.key) {
			r.errorf(p.k, path, "unknown key %q%s; expected %s%s", p.key, Suggest(p.key, allowed), orList(allowed), hint)
			continue
		}
		r.at(field(path, p.key), p.k)
		f[p.key] = p.v
	}
	return f
}

// fields is pairs then known: the fields of a mapping with fixed keys.
func (r *reader) fields(n *yaml.Node, path, what string, nullOK bool, allowed ...string) (map[string]*yaml.Node, bool) {
	ps, ok := r.pairs(n, path, what, nullOK)
	if !ok {
		return nil, false
	}
	return r.known(ps, path, allowed, ""), true
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// items returns the entries of a list; with nullOK an empty value is an
// empty list.
func (r *reader) items(n *yaml.Node, path, what string, nullOK bool) ([]*yaml.Node, bool) {
	n = resolve(n)
	if nullOK && isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, path, "expected %s, got %s", what, describe(n))
		return nil, false
	}
	if !r.spend(n, len(n.Content)) {
		return nil, false
	}
	return n.Content, true
}

func (r *reader) scalar(n *yaml.Node, path, what string) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		r.errorf(n, path, "expected %s, got %s", what, describe(n))
		return nil, false
	}
	return n, true
}

func (r *reader) str(n *yaml.Node, path, what string) (string, bool) {
	s, ok := r.scalar(n, path, what)
	if !ok {
		return "", false
	}
	return s.Value, true
}

func (r *reader) integer(n *yaml.Node, path string) (int, bool) {
	s, ok := r.scalar(n, path, "an integer")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(s.Value)
	if err != nil {
		r.errorf(s, path, "expected an integer, got %s", describe(s))
		return 0, false
	}
	return v, true
}

func (r *reader) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := r.scalar(n, path, "a number")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s.Value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		r.errorf(s, path, "expected a finite number, got %s", describe(s))
		return 0, false
	}
	return v, true
}

func (r *reader) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := r.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch s.Value {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	r.errorf(s, path, "expected true or false, got %s", describe(s))
	return false, false
}

func (r *reader) duration(n *yaml.Node, path string) (float64, bool) {
	s, ok := r.scalar(n, path, "a duration such as 300us, 2.5ms or 1s")
	if !ok {
		return 0, false
	}
	v, err := dist.ParseDuration(s.Value)
	if err != nil {
		r.errorf(s, path, "%v", err)
		return 0, false
	}
	return v, true
}

// timeDuration reads a duration into a time.Duration, rounded to the ns.
func (r *reader) timeDuration(n *yaml.Node, path string) (time.Duration, bool) {
	v, ok := r.duration(n, path)
	return time.Duration(math.Round(v)), ok
}

func (r *reader) model(doc *yaml.Node) *Model {
	m := &Model{Services: map[string]*Service{}, Operations: map[string]*Operation{}}
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			r.errorf(doc, "", "empty model file: expected version: 1, services and operations")
			r.probs.markSkip("version")
			return m
		}
		root = doc.Content[0]
	}
	f, ok := r.fields(root, "", "a mapping with version, services and operations", false, topKeys...)
	if !ok {
		r.probs.markSkip("version")
		return m
	}
	if v, ok := f["version"]; ok {
		switch n, ok := r.integer(v, "version"); {
		case !ok:
			r.probs.markSkip("version")
		case n == 0:
			r.errorf(v, "version", "unsupported version 0: this tracesim reads version %d", Version)
			r.probs.markSkip("version")
		default:
			m.Version = n
		}
	}
	if v, ok := f["services"]; ok {
		ps, _ := r.pairs(v, "services", "a mapping of service names", true)
		for _, p := range ps {
			path := named("services", p.key)
			r.at(path, p.k)
			m.Services[p.key] = r.service(p.v, path)
		}
	}
	if v, ok := f["operations"]; ok {
		ps, _ := r.pairs(v, "operations", "a mapping of operation names (service/operation)", true)
		for _, p := range ps {
			path := named("operations", p.key)
			r.at(path, p.k)
			m.Operations[p.key] = r.operation(p.v, path)
		}
	}
	return m
}

func (r *reader) service(n *yaml.Node, path string) *Service {
	s := &Service{Instances: 1}
	f, ok := r.fields(n, path, "a service such as {instances: 2, workers: 64}", true, serviceKeys...)
	if !ok {
		return s
	}
	if v, ok := f["instances"]; ok {
		if i, ok := r.integer(v, field(path, "instances")); ok {
			s.Instances = i
		}
	}
	if v, ok := f["workers"]; ok {
		wp := field(path, "workers")
		if w, ok := r.integer(v, wp); ok {
			if w < 1 {
				r.errorf(v, wp, "must be ≥ 1, or omitted for unlimited workers (no queueing), got %d", w)
			} else {
				s.Workers = w
			}
		}
	}
	if v, ok := f["peer"]; ok {
		s.Peer, _ = r.boolean(v, field(path, "peer"))
	}
	if v, ok := f["pools"]; ok {
		pp := field(path, "pools")
		ps, _ := r.pairs(v, pp, "a mapping of pool names to pools such as {size: 4}", true)
		for _, p := range ps {
			if s.Pools == nil {
				s.Pools = map[string]*SharedPool{}
			}
			np := named(pp, p.key)
			r.at(np, p.k)
			s.Pools[p.key] = r.sharedPool(p.v, np)
		}
	}
	if v, ok := f["evidence"]; ok {
		s.Evidence = r.evidence(v, field(path, "evidence"))
	}
	return s
}

func (r *reader) sharedPool(n *yaml.Node, path string) *SharedPool {
	sp := &SharedPool{}
	f, ok := r.fields(n, path, "a shared pool such as {size: 4}", false, sharedKeys...)
	if !ok {
		return sp
	}
	if v, ok := f["size"]; ok {
		sp.Size, _ = r.integer(v, field(path, "size"))
	} else {
		r.errorf(n, path, "missing size: how many calls may hold the pool at once, per instance")
		r.probs.markSkip(field(path, "size"))
	}
	if v, ok := f["wait"]; ok {
		sp.Wait, _ = r.str(v, field(path, "wait"), WaitInSpan+" or "+WaitBeforeSpan)
	}
	if v, ok := f["evidence"]; ok {
		sp.Evidence = r.evidence(v, field(path, "evidence"))
	}
	return sp
}

func (r *reader) evidence(v *yaml.Node, ep string) *CapacityEvidence {
	ef, ok := r.fields(v, ep, "a mapping with executions, max_concurrent, servers, queued, wait_share, test and note", true, evidenceKeys...)
	if !ok {
		return nil
	}
	e := &CapacityEvidence{}
	if v, ok := ef["executions"]; ok {
		e.Executions, _ = r.integer(v, field(ep, "executions"))
	}
	if v, ok := ef["max_concurrent"]; ok {
		e.MaxConcurrent, _ = r.integer(v, field(ep, "max_concurrent"))
	}
	if v, ok := ef["servers"]; ok {
		e.Servers, _ = r.integer(v, field(ep, "servers"))
	} else if v, ok := ef["suggested"]; ok {
		// Model files before inference wrote the workers they
		// suggested here.
		e.Servers, _ = r.integer(v, field(ep, "suggested"))
	}
	if v, ok := ef["queued"]; ok {
		e.Queued, _ = r.integer(v, field(ep, "queued"))
	}
	if v, ok := ef["wait_share"]; ok {
		e.WaitShare, _ = r.number(v, field(ep, "wait_share"))
	}
	if v, ok := ef["test"]; ok {
		e.Test, _ = r.str(v, field(ep, "test"), "the test behind the inference")
	}
	if v, ok := ef["note"]; ok {
		e.Note, _ = r.str(v, field(ep, "note"), "a note")
	}
	return e
}

func (r *reader) operation(n *yaml.Node, path string) *Operation {
	op := &Operation{}
	f, ok := r.fields(n, path, "an operation with entry, error_rate and shapes", true, opKeys...)
	if !ok {
		return op
	}
	if v, ok := f["entry"]; ok {
		ep := field(path, "entry")
		if ef, ok := r.fields(v, ep, "a mapping such as {rate: 50/s}", true, "rate"); ok {
			op.Entry = &Entry{}
			if v, ok := ef["rate"]; ok {
				rp := field(ep, "rate")
				if s, ok := r.str(v, rp, "a rate such as 50/s"); ok {
					rate, err := ParseRate(s)
					if err != nil {
						r.errorf(v, rp, "%v", err)
					}
					op.Entry.Rate = rate
				}
			}
		}
	}
	if v, ok := f["error_rate"]; ok {
		op.ErrorRate, _ = r.number(v, field(path, "error_rate"))
	}
	if v, ok := f["shapes"]; ok {
		sp := field(path, "shapes")
		items, _ := r.items(v, sp, "a list of shapes", true)
		for i, it := range items {
			ip := index(sp, i)
			r.at(ip, it)
			sh, weightOK := r.shape(it, ip)
			if !weightOK {
				r.probs.markSkip(sp) // their sum means nothing now
			}
			op.Shapes = append(op.Shapes, sh)
		}
	}
	return op
}

// shape reads one shape; weightOK is false when its weight is missing
// or unreadable.
func (r *reader) shape(n *yaml.Node, path string) (*Shape, bool) {
	sh := &Shape{}
	f, ok := r.fields(n, path, "a shape with weight and steps", false, shapeKeys...)
	if !ok {
		return sh, false
	}
	weightOK := false
	if v, ok := f["weight"]; ok {
		sh.Weight, weightOK = r.number(v, field(path, "weight"))
	} else {
		r.errorf(n, path, "missing weight: the share of executions with this shape (the weights sum to 1)")
	}
	if v, ok := f["count"]; ok {
		sh.Count, _ = r.integer(v, field(path, "count"))
	}
	if v, ok := f["steps"]; ok {
		sp := field(path, "steps")
		items, _ := r.items(v, sp, "a list of steps", true)
		for i, it := range items {
			ip := index(sp, i)
			r.at(ip, it)
			sh.Steps = append(sh.Steps, r.step(it, ip))
		}
	}
	return sh, weightOK
}

func (r *reader) step(n *yaml.Node, path string) *Step {
	st := &Step{}
	ps, ok := r.pairs(n, path, "a step: a mapping with one of work, call, parallel or pool", false)
	if !ok {
		r.probs.markSkip(path)
		return st
	}
	var kinds []string
	for _, p := range ps {
		if slices.Contains(stepKinds, p.key) {
			kinds = append(kinds, p.key)
		}
	}
	if len(kinds) != 1 {
		r.known(ps, path, stepKeys, "")
		if len(kinds) == 0 {
			r.errorf(n, path, "a step needs one of work, call, parallel or pool")
		} else {
			r.errorf(n, path, "a step needs exactly one of work, call, parallel or pool; this one has %s", strings.Join(kinds, " and "))
		}
		r.probs.markSkip(path)
		return st
	}
	kind := kinds[0]
	if kind == "call" {
		f := r.known(ps, path, callKeys, "")
		st.Call = r.callFields(f, resolve(n), path)
		return st
	}
	f := r.known(ps, path, []string{kind}, fmt.Sprintf(" (a %s step has only %s; network, timeout, retries, repeat, optional and async belong to a call)", kind, kind))
	v := f[kind]
	kp := field(path, kind)
	switch kind {
	case "work":
		st.Work, st.WorkFit = r.dist(v, kp)
	case "parallel":
		if items, ok := r.items(v, kp, "a list of calls", false); ok {
			st.Parallel = make([]*Call, 0, len(items))
			for i, it := range items {
				st.Parallel = append(st.Parallel, r.call(it, index(kp, i)))
			}
		}
	case "pool":
		pn := resolve(v)
		if pf, ok := r.fields(pn, kp, "a pool such as {size: 3, calls: [...]}", false, poolKeys...); ok {
			pool := &Pool{}
			if sv, ok := pf["size"]; ok {
				pool.Size, _ = r.integer(sv, field(kp, "size"))
			} else {
				r.errorf(pn, kp, "missing size: how many of the calls may run at once")
				r.probs.markSkip(field(kp, "size"))
			}
			cp := field(kp, "calls")
			if cv, ok := pf["calls"]; ok {
				if items, ok := r.items(cv, cp, "a list of calls", false); ok {
					pool.Calls = make([]*Call, 0, len(items))
					for i, it := range items {
						pool.Calls = append(pool.Calls, r.call(it, index(cp, i)))
					}
				} else {
					r.probs.markSkip(cp)
				}
			} else {
				r.errorf(pn, kp, "missing calls: the calls the pool runs")
				r.probs.markSkip(cp)
			}
			st.Pool = pool
		}
	}
	if st.Work == nil && st.Parallel == nil && st.Pool == nil {
		r.probs.markSkip(path) // its content was reported
	}
	return st
}

// call reads a call that is an entry of a parallel or pool list.
func (r *reader) call(n *yaml.Node, path string) *Call {
	r.at(path, n)
	ps, ok := r.pairs(n, path, "a call such as {call: svc/op}", false)
	if !ok {
		r.probs.markSkip(path)
		return &Call{Repeat: 1}
	}
	return r.callFields(r.known(ps, path, callKeys, ""), resolve(n), path)
}

// callFields reads the fields of a call from its mapping m (a call step,
// or an entry of a parallel or pool list).
func (r *reader) callFields(f map[string]*yaml.Node, m *yaml.Node, path string) *Call {
	c := &Call{Repeat: 1}
	tp := field(path, "call")
	if v, ok := f["call"]; ok {
		if c.Target, ok = r.str(v, tp, "an operation name (service/operation)"); !ok {
			r.probs.markSkip(tp)
		}
	} else {
		r.errorf(m, path, "missing call: the operation to call")
		r.probs.markSkip(tp)
	}
	if v, ok := f["network"]; ok {
		// A call written on one line, {call: x, network: {...}} # fit:
		// ..., carries the network's fit comment on the whole call.
		var extra string
		if m.Style&yaml.FlowStyle != 0 {
			extra = m.LineComment
		}
		c.Network, c.NetworkFit = r.dist(v, field(path, "network"), extra)
	}
	if v, ok := f["timeout"]; ok {
		c.Timeout, _ = r.timeDuration(v, field(path, "timeout"))
	}
	if v, ok := f["retries"]; ok {
		rp := field(path, "retries")
		if rf, ok := r.fields(v, rp, "a retry policy such as {max: 2, backoff: 10ms}", false, retryKeys...); ok {
			c.Retries = &Retry{}
			if mv, ok := rf["max"]; ok {
				c.Retries.Max, _ = r.integer(mv, field(rp, "max"))
			} else {
				r.errorf(resolve(v), rp, "missing max: how many times to call again")
			}
			if v, ok := rf["backoff"]; ok {
				c.Retries.Backoff, _ = r.timeDuration(v, field(rp, "backoff"))
			}
		}
	}
	if v, ok := f["repeat"]; ok {
		rp := field(path, "repeat")
		if n, ok := r.integer(v, rp); ok {
			if n < 1 {
				r.errorf(v, rp, "must be ≥ 1, got %d", n)
			} else {
				c.Repeat = n
			}
		}
	}
	if v, ok := f["optional"]; ok {
		c.Optional, _ = r.boolean(v, field(path, "optional"))
	}
	if v, ok := f["async"]; ok {
		c.Async, _ = r.boolean(v, field(path, "async"))
	}
	if v, ok := f["via"]; ok {
		c.Via, _ = r.str(v, field(path, "via"), "the name of a pool of the caller's service")
	}
	return c
}

// ok2 turns a constructor's (*T, error) into (Dist, error) without a
// non-nil interface holding a nil pointer.
func ok2[T dist.Dist](d T, err error) (dist.Dist, error) {
	if err != nil {
		return nil, err
	}
	return d, nil
}

// dist reads a distribution ({lognormal: {median: 2ms, sigma: 0.4}})
// and the fit in its line comment (or in one of comments, if given and
// its own has none). It returns nil after reporting a problem.
func (r *reader) dist(n *yaml.Node, path string, comments ...string) (dist.Dist, *dist.Fit) {
	const example = "a distribution such as {lognormal: {median: 2ms, sigma: 0.4}}"
	n = resolve(n)
	ps, ok := r.pairs(n, path, example, false)
	if !ok {
		return nil, nil
	}
	if len(ps) != 1 {
		keys := make([]string, len(ps))
		for i, p := range ps {
			keys[i] = p.key
		}
		r.errorf(n, path, "expected one distribution family, got %d (%s): %s", len(ps), strings.Join(keys, ", "), example)
		return nil, nil
	}
	fam, v := ps[0].key, ps[0].v
	fp := field(path, fam)
	r.at(fp, ps[0].k)
	// params reads the named duration parameters of a family.
	params := func(names ...string) ([]float64, bool) {
		f, ok := r.fields(v, fp, fmt.Sprintf("the parameters of %s: %s", fam, strings.Join(names, ", ")), false, names...)
		if !ok {
			return nil, false
		}
		out := make([]float64, len(names))
		allOK := true
		for i, name := range names {
			pv, ok := f[name]
			if !ok {
				r.errorf(resolve(v), fp, "missing %s", name)
				allOK = false
				continue
			}
			if name == "sigma" || name == "shape" {
				out[i], ok = r.number(pv, field(fp, name))
			} else {
				out[i], ok = r.duration(pv, field(fp, name))
			}
			allOK = allOK && ok
		}
		return out, allOK
	}
	var d dist.Dist
	var err error
	switch fam {
	case dist.FamilyConstant:
		ns, ok := r.duration(v, fp)
		if !ok {
			return nil, nil
		}
		d, err = ok2(dist.NewConstant(ns))
	case dist.FamilyExponential:
		p, ok := params("mean")
		if !ok {
			return nil, nil
		}
		d, err = ok2(dist.NewExponential(p[0]))
	case dist.FamilyLogNormal:
		p, ok := params("median", "sigma")
		if !ok {
			return nil, nil
		}
		d, err = ok2(dist.NewLogNormal(p[0], p[1]))
	case dist.FamilyGamma:
		p, ok := params("mean", "shape")
		if !ok {
			return nil, nil
		}
		d, err = ok2(dist.NewGamma(p[0], p[1]))
	case dist.FamilyUniform:
		p, ok := params("min", "max")
		if !ok {
			return nil, nil
		}
		d, err = ok2(dist.NewUniform(p[0], p[1]))
	case dist.FamilyEmpirical:
		f, ok := r.fields(v, fp, "{quantiles: [...]} or {p: [...], quantiles: [...]}", false, "p", "quantiles")
		if !ok {
			return nil, nil
		}
		qv, ok := f["quantiles"]
		if !ok {
			r.errorf(resolve(v), fp, "missing quantiles: equally spaced quantiles from p=0 to p=1")
			return nil, nil
		}
		qp := field(fp, "quantiles")
		items, ok := r.items(qv, qp, "a list of durations", false)
		if !ok {
			return nil, nil
		}
		q := make([]float64, len(items))
		for i, it := range items {
			if q[i], ok = r.duration(it, index(qp, i)); !ok {
				return nil, nil
			}
		}
		var probs []float64
		if pv, has := f["p"]; has {
			pp := field(fp, "p")
			items, ok := r.items(pv, pp, "a list of probabilities from 0 to 1", false)
			if !ok {
				return nil, nil
			}
			probs = make([]float64, len(items))
			for i, it := range items {
				if probs[i], ok = r.number(it, index(pp, i)); !ok {
					return nil, nil
				}
			}
		}
		d, err = ok2(dist.NewEmpiricalAt(probs, q))
	default:
		r.errorf(ps[0].k, path, "unknown distribution %q%s; expected %s", fam, Suggest(fam, dist.Families()), orList(dist.Families()))
		return nil, nil
	}
	if err != nil {
		r.errorf(resolve(v), fp, "%v", err)
		return nil, nil
	}
	for _, c := range append([]string{n.LineComment}, comments...) {
		if fit, ok := parseFit(c, fam); ok {
			return d, fit
		}
	}
	return d, nil
}

// ParseRate reads a rate as model and scenario files and the command line
// write it: "50/s", "0.2/ms", "3000/min", "2/h", or a plain number per
// second. It returns requests per second, ≥ 0.
func ParseRate(s string) (float64, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	per := 1.0
	if hasUnit {
		switch strings.TrimSpace(unit) {
		case "s":
		case "ms":
			per = 0.001
		case "min":
			per = 60
		case "h":
			per = 3600
		default:
			return 0, fmt.Errorf("invalid rate %q: expected a number per s, ms, min or h, such as 50/s", s)
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("invalid rate %q: expected a number per s, min or h, such as 50/s", s)
	case v < 0:
		return 0, fmt.Errorf("negative rate %q: a rate must be ≥ 0", s)
	}
	return v / per, nil
}

// fitFamilies is the order FitBest tries families in: a fit comment
// does not repeat the chosen family among those tried, and reading puts
// it back in this order.
var fitFamilies = []string{dist.FamilyExponential, dist.FamilyLogNormal, dist.FamilyGamma}

// formatFit is the text of a fit comment:
// "fit: lognormal KS=0.021 n=1200 (tried exponential 0.18, gamma 0.034)".
func formatFit(family string, f *dist.Fit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fit: %s KS=%s n=%d", family, formatNum(f.KS, dist.KSDigits), f.N)
	sep := " (tried "
	for _, t := range f.Tried {
		if t.Family == family {
			continue
		}
		fmt.Fprintf(&b, "%s%s %s", sep, t.Family, formatNum(t.KS, dist.KSDigits))
		sep = ", "
	}
	if sep == ", " {
		b.WriteString(")")
	}
	return b.String()
}

// parseFit reads a comment written by formatFit for a distribution of
// the given family. Anything else (another comment, a fit of another
// family left behind by an edit) is not a fit.
func parseFit(comment, family string) (*dist.Fit, bool) {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(comment), "#"))
	s, ok := strings.CutPrefix(s, "fit: ")
	if !ok {
		return nil, false
	}
	head, tried, hasTried := strings.Cut(s, " (tried ")
	fs := strings.Fields(head)
	if len(fs) != 3 || fs[0] != family {
		return nil, false
	}
	ks, ok := parseKS(strings.TrimPrefix(fs[1], "KS="))
	if !ok || !strings.HasPrefix(fs[1], "KS=") {
		return nil, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(fs[2], "n="))
	if err != nil || n < 0 || !strings.HasPrefix(fs[2], "n=") {
		return nil, false
	}
	fit := &dist.Fit{N: n, KS: ks}
	if hasTried {
		tried, ok := strings.CutSuffix(tried, ")")
		if !ok {
			return nil, false
		}
		for _, t := range strings.Split(tried, ", ") {
			fam, v, ok := strings.Cut(t, " ")
			ks, ksOK := parseKS(v)
			if !ok || !ksOK || fam == family || !slices.Contains(dist.Families(), fam) {
				return nil, false
			}
			fit.Tried = append(fit.Tried, dist.Tried{Family: fam, KS: ks})
		}
	}
	if rank := slices.Index(fitFamilies, family); rank >= 0 {
		i := 0
		for i < len(fit.Tried) && slices.Index(fitFamilies, fit.Tried[i].Family) < rank {
			i++
		}
		fit.Tried = slices.Insert(fit.Tried, i, dist.Tried{Family: family, KS: ks})
	}
	return fit, true
}

func parseKS(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && v >= 0 && v <= 1
}

// formatNum writes x with at most digits significant digits, without an
// exponent unless the number is tiny or huge. Reading the text back
// gives a number that formats to the same text.
func formatNum(x float64, digits int) string {
	r := dist.RoundSig(x, digits)
	if r == 0 {
		return "0"
	}
	if a := math.Abs(r); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

// Write writes m as a model file: services and operations sorted by
// name, distributions on one line each with their fit as a comment,
// numbers to dist.Digits significant digits and durations as
// dist.FormatDuration writes them. The same model always gives the same
// bytes, and Write(Read(Write(m))) gives them again. A model that does
// not pass Validate is not written.
func Write(w io.Writer, m *Model) error {
	if err := Validate(m); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	services := blockMap()
	for _, name := range sortedKeys(m.Services) {
		addPair(services, name, serviceNode(m.Services[name]))
	}
	ops := blockMap()
	for _, name := range sortedKeys(m.Operations) {
		addPair(ops, name, operationNode(m.Operations[name]))
	}
	root := blockMap()
	addPair(root, "version", intNode(Version))
	addPair(root, "services", services)
	addPair(root, "operations", ops)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

func blockMap() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }
func flowMap() *yaml.Node  { return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle} }

func addPair(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(key), v)
}

// strNode is a string; the encoder quotes it when it would otherwise
// read as something else ("1", "true", "null").
func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func intNode(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// numNode is a number in plain style; formatNum's text always reads as
// one, whether YAML calls it an int or a float.
func numNode(x float64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: formatNum(x, dist.Digits)}
}

func boolNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"} }

func durNode(ns float64) *yaml.Node { return strNode(dist.FormatDuration(ns)) }

// serviceNode writes a service on one line, or as a block when it has
// pools or evidence (whose test sentence would make a line unreadable).
func serviceNode(s *Service) *yaml.Node {
	n := flowMap()
	if len(s.Pools) > 0 || s.Evidence != nil {
		n = blockMap()
	}
	if s.Instances != 1 {
		addPair(n, "instances", intNode(s.Instances))
	}
	if s.Workers > 0 {
		addPair(n, "workers", intNode(s.Workers))
	}
	if s.Peer {
		addPair(n, "peer", boolNode())
	}
	if len(s.Pools) > 0 {
		pools := blockMap()
		for _, name := range sortedKeys(s.Pools) {
			sp := s.Pools[name]
			pn := flowMap()
			if sp.Evidence != nil {
				pn = blockMap()
			}
			addPair(pn, "size", intNode(sp.Size))
			if sp.Wait != "" {
				addPair(pn, "wait", strNode(sp.Wait))
			}
			if sp.Evidence != nil {
				addPair(pn, "evidence", evidenceNode(sp.Evidence))
			}
			addPair(pools, name, pn)
		}
		addPair(n, "pools", pools)
	}
	if e := s.Evidence; e != nil {
		addPair(n, "evidence", evidenceNode(e))
	}
	return n
}

func evidenceNode(e *CapacityEvidence) *yaml.Node {
	en := blockMap()
	if e.Executions != 0 {
		addPair(en, "executions", intNode(e.Executions))
	}
	if e.MaxConcurrent != 0 {
		addPair(en, "max_concurrent", intNode(e.MaxConcurrent))
	}
	if e.Servers != 0 {
		addPair(en, "servers", intNode(e.Servers))
	}
	if e.Queued != 0 {
		addPair(en, "queued", intNode(e.Queued))
	}
	if e.WaitShare != 0 {
		addPair(en, "wait_share", numNode(e.WaitShare))
	}
	if e.Test != "" {
		addPair(en, "test", strNode(e.Test))
	}
	if e.Note != "" {
		addPair(en, "note", strNode(e.Note))
	}
	if len(en.Content) == 0 {
		en.Style = yaml.FlowStyle
	}
	return en
}

func operationNode(op *Operation) *yaml.Node {
	n := blockMap()
	if op.Entry != nil {
		en := flowMap()
		addPair(en, "rate", strNode(formatNum(op.Entry.Rate, dist.Digits)+"/s"))
		addPair(n, "entry", en)
	}
	if op.ErrorRate != 0 {
		addPair(n, "error_rate", numNode(op.ErrorRate))
	}
	if len(op.Shapes) > 0 {
		shapes := &yaml.Node{Kind: yaml.SequenceNode}
		for _, sh := range op.Shapes {
			sn := blockMap()
			addPair(sn, "weight", numNode(sh.Weight))
			if sh.Count != 0 {
				addPair(sn, "count", intNode(sh.Count))
			}
			steps := &yaml.Node{Kind: yaml.SequenceNode}
			if len(sh.Steps) == 0 {
				steps.Style = yaml.FlowStyle
			}
			for _, st := range sh.Steps {
				steps.Content = append(steps.Content, stepNode(st))
			}
			addPair(sn, "steps", steps)
			shapes.Content = append(shapes.Content, sn)
		}
		addPair(n, "shapes", shapes)
	}
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

func stepNode(st *Step) *yaml.Node {
	n := blockMap()
	switch {
	case st.Work != nil:
		addPair(n, "work", distNode(st.Work, st.WorkFit))
	case st.Call != nil:
		addCall(n, st.Call)
	case st.Parallel != nil:
		addPair(n, "parallel", callList(st.Parallel, false))
	case st.Pool != nil:
		pn := blockMap()
		addPair(pn, "size", intNode(st.Pool.Size))
		addPair(pn, "calls", callList(st.Pool.Calls, true))
		addPair(n, "pool", pn)
	}
	return n
}

// callList writes the calls of a parallel or pool step. A call whose
// network has a fit is a block mapping, so the fit comment sits on the
// network's own line; the others fit on one line. A pool's list is on
// one line too when every call is.
func callList(calls []*Call, flowIfAll bool) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	allFlow := true
	for _, c := range calls {
		cn := blockMap()
		if c.NetworkFit == nil {
			cn.Style = yaml.FlowStyle
		} else {
			allFlow = false
		}
		addCall(cn, c)
		seq.Content = append(seq.Content, cn)
	}
	if flowIfAll && allFlow {
		seq.Style = yaml.FlowStyle
	}
	return seq
}

func addCall(n *yaml.Node, c *Call) {
	addPair(n, "call", strNode(c.Target))
	if c.Network != nil {
		addPair(n, "network", distNode(c.Network, c.NetworkFit))
	}
	if c.Timeout != 0 {
		addPair(n, "timeout", durNode(float64(c.Timeout)))
	}
	if c.Retries != nil {
		rn := flowMap()
		addPair(rn, "max", intNode(c.Retries.Max))
		if c.Retries.Backoff != 0 {
			addPair(rn, "backoff", durNode(float64(c.Retries.Backoff)))
		}
		addPair(n, "retries", rn)
	}
	if c.Repeat > 1 {
		addPair(n, "repeat", intNode(c.Repeat))
	}
	if c.Optional {
		addPair(n, "optional", boolNode())
	}
	if c.Async {
		addPair(n, "async", boolNode())
	}
	if c.Via != "" {
		addPair(n, "via", strNode(c.Via))
	}
}

// distNode writes a distribution in flow style, with its fit as the
// line comment. Validate has checked it is one of the dist families.
func distNode(d dist.Dist, fit *dist.Fit) *yaml.Node {
	params := flowMap()
	var v *yaml.Node = params
	switch d := d.(type) {
	case *dist.Constant:
		v = durNode(d.Value)
	case *dist.Exponential:
		addPair(params, "mean", durNode(d.MeanNS))
	case *dist.LogNormal:
		addPair(params, "median", durNode(d.Median))
		addPair(params, "sigma", numNode(d.Sigma))
	case *dist.Gamma:
		addPair(params, "mean", durNode(d.MeanNS))
		addPair(params, "shape", numNode(d.Shape))
	case *dist.Uniform:
		addPair(params, "min", durNode(d.Min))
		addPair(params, "max", durNode(d.Max))
	case *dist.Empirical:
		if d.Probs != nil {
			p := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, x := range d.Probs {
				p.Content = append(p.Content, numNode(x))
			}
			addPair(params, "p", p)
		}
		q := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, x := range d.Quantiles {
			q.Content = append(q.Content, durNode(x))
		}
		addPair(params, "quantiles", q)
	}
	n := flowMap()
	addPair(n, d.Family(), v)
	if fit != nil {
		n.LineComment = "# " + formatFit(d.Family(), fit)
	}
	return n
}
