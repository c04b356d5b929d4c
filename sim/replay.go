package sim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// ReplayRequest is one recorded request, replayed exactly: it arrives at
// its recorded time and every execution runs its recorded shape with its
// recorded times, while the engine adds what the model says about
// capacity (queueing for the workers of each service instance).
//
// sim does not read traces: turning recorded traces into ReplayRequests
// is the caller's business (the replay package, per DESIGN.md).
type ReplayRequest struct {
	Arrive time.Duration // from the start of the run
	Root   *ReplayExec
}

// ReplayExec is one recorded execution of an operation.
type ReplayExec struct {
	Op    string // "service/operation"
	Error bool   // it answered with an error by itself
	Steps []ReplayStep
}

// ReplayStep is local work (no Calls) or a group of calls that start
// together; the step ends when every call that is not Async has ended.
type ReplayStep struct {
	Work  time.Duration
	Calls []ReplayCall
}

// ReplayCall is one recorded call: the network and client overhead of
// the edge (half before the callee starts, half after it responds, as for
// a model call) and the callee's execution.
type ReplayCall struct {
	Network time.Duration
	Async   bool
	Callee  *ReplayExec
	// Delay is how long after the step starts the call is sent: calls
	// that overlap in a recording rarely start at the same instant.
	Delay time.Duration
}

// replayReq is a compiled ReplayRequest.
type replayReq struct {
	t  int64
	op int32
	sh *shapeC
}

// replaySetup prepares a replay run (Workload.Replay):
//
//   - Operations and services the model does not have are added: a
//     service as one instance with unlimited workers (a pure delay), an
//     operation with no shapes of its own. cfg.Model may be nil.
//   - A replayed call never fails its caller and has no timeout or
//     retries: a recording shows each attempt as its own call, and a
//     caller that failed because of a call carries its own Error.
//   - Arrival times are divided by Workload.ReplaySpeed (0 means 1);
//     Warmup and Duration cut the recorded time line as they cut a
//     synthetic one; with neither Duration nor Requests the run ends
//     when every replayed request has completed.
//   - The endpoints are the operations of the replayed roots.
//   - Nothing is random: every replication gives the same result.
func replaySetup(cfg Config) (*compiled, []replayReq, error) {
	w := cfg.Workload
	if w.Users > 0 || w.Rate > 0 {
		return nil, nil, fmt.Errorf("sim: a replay workload takes no Rate or Users (scale it with ReplaySpeed)")
	}
	speed := w.ReplaySpeed
	if speed == 0 {
		speed = 1
	}
	if !(speed > 0) || math.IsInf(speed, 0) {
		return nil, nil, fmt.Errorf("sim: invalid replay speed %v", w.ReplaySpeed)
	}
	m := &topology.Model{Version: topology.Version, Services: map[string]*topology.Service{},
		Operations: map[string]*topology.Operation{}}
	if cfg.Model != nil {
		for k, v := range cfg.Model.Services {
			m.Services[k] = v
		}
		for k, v := range cfg.Model.Operations {
			m.Operations[k] = v
		}
	}
	// Add what the model lacks, checking the recorded trees on the way.
	state := map[*ReplayExec]uint8{} // 1 = being visited, 2 = done
	var visit func(x *ReplayExec) error
	visit = func(x *ReplayExec) error {
		if x == nil {
			return fmt.Errorf("sim: replay: nil execution")
		}
		switch state[x] {
		case 1:
			return fmt.Errorf("sim: replay: execution of %q calls itself (a cycle)", x.Op)
		case 2:
			return nil
		}
		state[x] = 1
		svc, _, ok := cutOp(x.Op)
		if !ok {
			return fmt.Errorf("sim: replay: operation %q is not \"service/operation\"", x.Op)
		}
		if m.Services[svc] == nil {
			m.Services[svc] = &topology.Service{Instances: 1}
		}
		if m.Operations[x.Op] == nil {
			m.Operations[x.Op] = &topology.Operation{}
		}
		for _, st := range x.Steps {
			if st.Work < 0 {
				return fmt.Errorf("sim: replay: %s: negative work %v", x.Op, st.Work)
			}
			for _, cl := range st.Calls {
				if cl.Network < 0 || cl.Delay < 0 {
					return fmt.Errorf("sim: replay: %s: negative network %v or delay %v", x.Op, cl.Network, cl.Delay)
				}
				if err := visit(cl.Callee); err != nil {
					return err
				}
			}
		}
		state[x] = 2
		return nil
	}
	for i, r := range w.Replay {
		if r.Arrive < 0 {
			return nil, nil, fmt.Errorf("sim: replay request %d: negative arrival %v", i, r.Arrive)
		}
		if err := visit(r.Root); err != nil {
			return nil, nil, fmt.Errorf("%w (request %d)", err, i)
		}
	}
	c, err := compile(m, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	opIdx := make(map[string]int32, len(c.ops))
	for i := range c.ops {
		opIdx[c.ops[i].name] = int32(i)
	}
	shapes := map[*ReplayExec]*shapeC{}
	var build func(x *ReplayExec) *shapeC
	build = func(x *ReplayExec) *shapeC {
		if sh := shapes[x]; sh != nil {
			return sh
		}
		sh := &shapeC{err: x.Error, steps: make([]stepC, 0, len(x.Steps))}
		for _, st := range x.Steps {
			if len(st.Calls) == 0 {
				sh.steps = append(sh.steps, stepC{kind: stepWork, workNS: toNS(st.Work)})
				continue
			}
			calls := make([]callC, len(st.Calls))
			for j, cl := range st.Calls {
				calls[j] = callC{target: opIdx[cl.Callee.Op], netNS: toNS(cl.Network), repeat: 1,
					optional: true, async: cl.Async, rsh: build(cl.Callee), delayNS: toNS(cl.Delay), via: -1}
			}
			sh.steps = append(sh.steps, stepC{kind: stepCalls, calls: calls, limit: int32(len(calls))})
		}
		shapes[x] = sh
		return sh
	}
	reqs := make([]replayReq, len(w.Replay))
	for i, r := range w.Replay {
		reqs[i] = replayReq{t: ns(float64(r.Arrive) / speed), op: opIdx[r.Root.Op], sh: build(r.Root)}
	}
	slices.SortStableFunc(reqs, func(a, b replayReq) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	return c, reqs, nil
}

func cutOp(name string) (svc, op string, ok bool) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i], name[i+1:], i > 0
		}
	}
	return "", "", false
}

// replayArrival starts replayed request i and schedules the next one.
func (g *engine) replayArrival(i int32) {
	if g.now >= g.stopArrivals {
		return
	}
	r := &g.replay[i]
	g.arrive(r.op, -1, 0, g.now >= g.warm, -1, r.sh)
	if int(i)+1 < len(g.replay) {
		g.h.push(g.replay[i+1].t, evReplay, i+1, 0)
	}
}
