package scenarios

import (
	"github.com/tracesim/tracesim/topology"
	"github.com/tracesim/tracesim/topology/dist"
)

// clone deep-copies a model so changes never touch the caller's model.
// Distributions and fits are shared: they are immutable once built.
func clone(m *topology.Model) *topology.Model {
	out := &topology.Model{
		Version:    m.Version,
		Services:   make(map[string]*topology.Service, len(m.Services)),
		Operations: make(map[string]*topology.Operation, len(m.Operations)),
	}
	for name, s := range m.Services {
		if s == nil {
			out.Services[name] = nil
			continue
		}
		c := *s
		if s.Evidence != nil {
			e := *s.Evidence
			c.Evidence = &e
		}
		if s.Pools != nil {
			c.Pools = make(map[string]*topology.SharedPool, len(s.Pools))
			for pn, sp := range s.Pools {
				if sp == nil {
					c.Pools[pn] = nil
					continue
				}
				cp := *sp
				if sp.Evidence != nil {
					e := *sp.Evidence
					cp.Evidence = &e
				}
				c.Pools[pn] = &cp
			}
		}
		out.Services[name] = &c
	}
	for name, op := range m.Operations {
		out.Operations[name] = cloneOp(op)
	}
	return out
}

func cloneOp(op *topology.Operation) *topology.Operation {
	if op == nil {
		return nil
	}
	c := *op
	if op.Entry != nil {
		e := *op.Entry
		c.Entry = &e
	}
	c.Shapes = make([]*topology.Shape, len(op.Shapes))
	for i, sh := range op.Shapes {
		if sh == nil {
			continue
		}
		s := *sh
		s.Steps = make([]*topology.Step, len(sh.Steps))
		for j, st := range sh.Steps {
			s.Steps[j] = cloneStep(st)
		}
		c.Shapes[i] = &s
	}
	return &c
}

func cloneStep(st *topology.Step) *topology.Step {
	if st == nil {
		return nil
	}
	c := *st
	c.Call = cloneCall(st.Call)
	if st.Parallel != nil {
		c.Parallel = cloneCalls(st.Parallel)
	}
	if st.Pool != nil {
		c.Pool = &topology.Pool{Size: st.Pool.Size, Calls: cloneCalls(st.Pool.Calls)}
	}
	return &c
}

func cloneCalls(cs []*topology.Call) []*topology.Call {
	out := make([]*topology.Call, len(cs))
	for i, c := range cs {
		out[i] = cloneCall(c)
	}
	return out
}

func cloneCall(c *topology.Call) *topology.Call {
	if c == nil {
		return nil
	}
	d := *c
	if c.Retries != nil {
		r := *c.Retries
		d.Retries = &r
	}
	return &d
}

// unwrapped is a copy of m for topology.Validate, which knows only the
// model file's families: a Scaled or Shifted distribution is checked
// through its inner distribution (its own factor and shift were checked
// when the change was read).
func unwrapped(m *topology.Model) *topology.Model {
	v := clone(m)
	for _, op := range v.Operations {
		if op == nil {
			continue
		}
		for _, sh := range op.Shapes {
			if sh == nil {
				continue
			}
			for _, st := range sh.Steps {
				if st == nil {
					continue
				}
				st.Work = unwrap(st.Work)
				forCalls(st, func(c *topology.Call) { c.Network = unwrap(c.Network) })
			}
		}
	}
	return v
}

func unwrap(d dist.Dist) dist.Dist {
	for {
		switch w := d.(type) {
		case *dist.Scaled:
			d = w.Inner
		case *dist.Shifted:
			d = w.Inner
		default:
			return d
		}
	}
}

// forCalls calls f on every call of a step.
func forCalls(st *topology.Step, f func(*topology.Call)) {
	if st.Call != nil {
		f(st.Call)
	}
	for _, c := range st.Parallel {
		if c != nil {
			f(c)
		}
	}
	if st.Pool != nil {
		for _, c := range st.Pool.Calls {
			if c != nil {
				f(c)
			}
		}
	}
}
