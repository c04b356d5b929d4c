package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracesim/tracesim/scenarios"
)

// Describe says in words what a scenario change does.
func Describe(c scenarios.Change) string {
	switch c := c.(type) {
	case *scenarios.Disable:
		switch c.Mode {
		case scenarios.ModeSkip:
			return fmt.Sprintf("Take service %s down; calls to it are skipped (removed from their callers).", c.Service)
		case scenarios.ModeFailover:
			return fmt.Sprintf("Take service %s down; calls to it fail over to the same operation on service %s.", c.Service, c.To)
		default:
			return fmt.Sprintf("Take service %s down; calls to it fail after their network cost (callers' timeouts and retries still apply).", c.Service)
		}
	case *scenarios.Cache:
		who := "for every caller"
		if c.In != "" {
			who = "for calls from " + c.In
		}
		s := fmt.Sprintf("Put a cache in front of %s, %s: %s of calls hit and cost %s instead of the call; misses make the call",
			c.Target, who, pct(c.HitRatio), dur(c.HitLatency))
		if c.Fill > 0 {
			s += " and then pay " + dur(c.Fill) + " to fill the cache"
		}
		return s + "."
	case *scenarios.Batch:
		return fmt.Sprintf("In %s, batch the sequential calls to %s: at most %d per call, each batch costing %s + %s per item.",
			c.In, c.Calls, c.MaxBatch, dur(c.Fixed), dur(c.PerItem))
	case *scenarios.Parallelize:
		if c.PoolSize > 0 {
			target := ""
			if c.PoolTarget != "" {
				target = " (the pools calling " + c.PoolTarget + ")"
			}
			return fmt.Sprintf("In %s, let %d calls run at once in its worker pools%s.", c.In, c.PoolSize, target)
		}
		return fmt.Sprintf("In %s, make the sequential calls to %s run in parallel.", c.In, strings.Join(c.Calls, ", "))
	case *scenarios.Scale:
		var parts []string
		if c.Pool != "" && c.Size != nil {
			if *c.Size == 0 {
				parts = append(parts, "no limit on its pool "+c.Pool)
			} else {
				parts = append(parts, fmt.Sprintf("a pool %s of %s per instance", c.Pool, plural(*c.Size, "slot")))
			}
		}
		if c.Instances != nil {
			parts = append(parts, plural(*c.Instances, "instance"))
		}
		if c.Workers != nil {
			if *c.Workers == 0 {
				parts = append(parts, "unlimited workers")
			} else {
				parts = append(parts, plural(*c.Workers, "worker")+" per instance")
			}
		}
		return fmt.Sprintf("Scale service %s to %s.", c.Service, strings.Join(parts, " and "))
	case *scenarios.Speedup:
		what := "service " + c.Service + "'s operations"
		if c.Operation != "" {
			what = c.Operation
		}
		return fmt.Sprintf("Multiply the local work of %s by %s (%s).", what, num(c.Factor), speedWords(c.Factor))
	case *scenarios.Latency:
		return fmt.Sprintf("Add %s of network latency to every call from %s to %s.", dur(c.Add), c.From, c.To)
	case *scenarios.Error:
		return fmt.Sprintf("Make %s fail by itself in %s of its executions.", c.Operation, pct(c.Rate))
	case *scenarios.LoadChange:
		switch {
		case c.Rate > 0 && c.Factor > 0 && c.Factor != 1:
			return fmt.Sprintf("Set the offered load to %s requests/s, then multiply it by %s.", num(c.Rate), num(c.Factor))
		case c.Rate > 0:
			return fmt.Sprintf("Set the offered load to %s requests/s.", num(c.Rate))
		default:
			return fmt.Sprintf("Multiply the offered load by %s.", num(c.Factor))
		}
	case nil:
		return "(missing change)"
	}
	return "Change of kind " + c.Kind() + "."
}

// Marks are the parts of a flow graph that a scenario's changes touch,
// each with short labels of the changes: operations ("svc/op"), services,
// calls from an operation to an operation, calls from a service to a
// service, calls into an operation or a service from anywhere, and the
// workload (entry operations).
type Marks struct {
	Ops        map[string][]string
	Services   map[string][]string
	Calls      map[[2]string][]string // caller operation → callee operation
	SvcCalls   map[[2]string][]string // caller service → callee service
	InCallers  map[string][]string    // calls into an operation from any caller
	InServices map[string][]string    // calls into any operation of a service
	Workload   []string
}

// MarksOf returns the parts of a flow graph each change touches.
func MarksOf(changes []scenarios.Change) *Marks {
	m := &Marks{Ops: map[string][]string{}, Services: map[string][]string{}, Calls: map[[2]string][]string{},
		SvcCalls: map[[2]string][]string{}, InCallers: map[string][]string{}, InServices: map[string][]string{}}
	add := func(mm map[string][]string, k, label string) { mm[k] = append(mm[k], label) }
	for _, c := range changes {
		switch c := c.(type) {
		case *scenarios.Disable:
			add(m.Services, c.Service, "down ("+cmpOr(c.Mode, scenarios.ModeFail)+")")
			add(m.InServices, c.Service, "to a service that is down")
			if c.Mode == scenarios.ModeFailover && c.To != "" {
				add(m.Services, c.To, "failover target for "+c.Service)
			}
		case *scenarios.Cache:
			label := "cache " + pct(c.HitRatio) + " hits @ " + dur(c.HitLatency)
			add(m.Ops, c.Target, label)
			if c.In != "" {
				m.Calls[[2]string{c.In, c.Target}] = append(m.Calls[[2]string{c.In, c.Target}], label)
			} else {
				add(m.InCallers, c.Target, label)
			}
		case *scenarios.Batch:
			label := "batched ≤" + strconv.Itoa(c.MaxBatch)
			add(m.Ops, c.In, "batches calls to "+c.Calls)
			m.Calls[[2]string{c.In, c.Calls}] = append(m.Calls[[2]string{c.In, c.Calls}], label)
		case *scenarios.Parallelize:
			if c.PoolSize > 0 {
				add(m.Ops, c.In, "pool size "+strconv.Itoa(c.PoolSize))
				if c.PoolTarget != "" {
					m.Calls[[2]string{c.In, c.PoolTarget}] = append(m.Calls[[2]string{c.In, c.PoolTarget}], "pool "+strconv.Itoa(c.PoolSize))
				}
				continue
			}
			add(m.Ops, c.In, "calls in parallel")
			for _, t := range c.Calls {
				m.Calls[[2]string{c.In, t}] = append(m.Calls[[2]string{c.In, t}], "parallel")
			}
		case *scenarios.Scale:
			var parts []string
			if c.Instances != nil {
				parts = append(parts, strconv.Itoa(*c.Instances)+" inst.")
			}
			if c.Workers != nil {
				parts = append(parts, strconv.Itoa(*c.Workers)+" workers")
			}
			add(m.Services, c.Service, "scaled: "+strings.Join(parts, ", "))
		case *scenarios.Speedup:
			label := "work ×" + num(c.Factor)
			if c.Operation != "" {
				add(m.Ops, c.Operation, label)
			} else {
				add(m.Services, c.Service, label)
			}
		case *scenarios.Latency:
			k := [2]string{c.From, c.To}
			m.SvcCalls[k] = append(m.SvcCalls[k], "+"+dur(c.Add)+" network")
		case *scenarios.Error:
			add(m.Ops, c.Operation, "fails "+pct(c.Rate))
		case *scenarios.LoadChange:
			m.Workload = append(m.Workload, strings.TrimSuffix(Describe(c), "."))
		}
	}
	return m
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dur formats ns as a Go duration ("200µs", "1.5ms").
func dur(ns float64) string {
	return time.Duration(ns).String()
}

func pct(x float64) string {
	return strconv.FormatFloat(100*x, 'f', -1, 64) + "%"
}

func num(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func speedWords(f float64) string {
	switch {
	case f == 0:
		return "no local work at all"
	case f < 1:
		return num(roundTo(1/f, 2)) + "× as fast"
	case f > 1:
		return num(roundTo(f, 2)) + "× as slow"
	}
	return "unchanged"
}

func roundTo(x float64, digits int) float64 {
	s := strconv.FormatFloat(x, 'f', digits, 64)
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
