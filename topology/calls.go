package topology

import "github.com/tracesim/tracesim/trace"

// CallSpans is one call an execution makes, as a trace shows it.
type CallSpans struct {
	// Client is the caller's client or producer span, or -1 when the
	// callee's server span hangs directly below the caller (no client
	// instrumentation).
	Client int32
	// Server is the callee's server or consumer span, or -1 when the
	// client span reached an uninstrumented peer (no timed server or
	// consumer span below it); PeerOperationNameIn names that peer. A
	// client span reported by a tracer named after the component it
	// stands for (service "mysql" below a "frontend" span) is such a
	// call too: its peer is its own service.
	Server int32
	// Async is set for calls the caller does not wait for: FOLLOWS_FROM,
	// outliving spans, anything below them, and producer → consumer hops.
	Async bool
}

// CallWalker finds the calls of executions. Build and replay both map
// traces onto calls this way, so that a replayed request runs exactly the
// calls a model built from the same traces has. The zero value is ready;
// it keeps its scratch stack between calls.
type CallWalker struct {
	stack []callFrame
}

type callFrame struct {
	i     int32
	async bool
}

// Calls reports every call execution span i of t makes: its client or
// producer children (one call per timed server or consumer below each, or
// one peer call when there is none) and server spans directly below it.
// Internal spans are part of the execution: their children are searched
// too. Untimed spans are skipped: nothing can be learnt from them.
func (w *CallWalker) Calls(t *trace.Trace, i int32, fn func(CallSpans)) {
	w.stack = w.stack[:0]
	for _, c := range t.Children(i) {
		w.stack = append(w.stack, callFrame{c, false})
	}
	for len(w.stack) > 0 {
		f := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		c := &t.Spans[f.i]
		if c.Has(trace.FlagNoDuration) || c.Has(trace.FlagNoStart) {
			continue
		}
		async := f.async || c.Has(trace.FlagAsync)
		switch c.Kind {
		case trace.KindClient, trace.KindProducer:
			servers := 0
			for _, g := range t.Children(f.i) {
				sv := &t.Spans[g]
				if (sv.Kind != trace.KindServer && sv.Kind != trace.KindConsumer) || sv.Has(trace.FlagNoDuration) {
					continue
				}
				servers++
				fn(CallSpans{Client: f.i, Server: g,
					Async: async || sv.Has(trace.FlagAsync) || c.Kind == trace.KindProducer})
			}
			if servers == 0 {
				fn(CallSpans{Client: f.i, Server: -1, Async: async})
			}
		case trace.KindServer, trace.KindConsumer:
			fn(CallSpans{Client: -1, Server: f.i, Async: async})
		default:
			for _, g := range t.Children(f.i) {
				w.stack = append(w.stack, callFrame{g, async})
			}
		}
	}
}
