package sim

// Event kinds.
const (
	evArrival  uint8 = iota // open-loop arrival at entry id
	evUser                  // closed-loop user id sends a request
	evWorkDone              // exec id finished a work step
	evCallSend              // branch id: network-before elapsed, the callee starts
	evCallDone              // branch id: the callee's response arrived
	evTimeout               // branch id: the caller stops waiting
	evRetry                 // branch id: backoff elapsed, call again
	evReplay                // replayed request id arrives
)

// event is one scheduled event. It is a small value: the state it acts on
// lives in the engine's slabs, found by id and checked against gen so a
// stale event (a timed-out call's response, say) is ignored.
type event struct {
	t   int64  // ns
	seq uint64 // scheduling order << 8 | kind: one compare orders ties
	id  int32
	gen uint32
}

func (e *event) kind() uint8 { return uint8(e.seq) }

// eventHeap is a binary min-heap ordered by (t, seq). The sequence number
// breaks ties in scheduling order, which makes runs deterministic.
type eventHeap struct {
	ev  []event
	seq uint64
}

func (e *event) less(o *event) bool {
	return e.t < o.t || (e.t == o.t && e.seq < o.seq)
}

func (h *eventHeap) push(t int64, kind uint8, id int32, gen uint32) {
	h.seq += 1 << 8
	// x stays in registers: reading the just-appended slot back would
	// stall on store forwarding.
	x := event{t: t, seq: h.seq | uint64(kind), id: id, gen: gen}
	h.ev = append(h.ev, x)
	ev := h.ev
	i := len(ev) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !x.less(&ev[p]) {
			break
		}
		ev[i] = ev[p]
		i = p
	}
	ev[i] = x
}

// pop removes and returns the earliest event; the heap must not be empty.
func (h *eventHeap) pop() event {
	ev := h.ev
	top := ev[0]
	n := len(ev) - 1
	x := ev[n]
	h.ev = ev[:n]
	ev = ev[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && ev[r].less(&ev[l]) {
			l = r
		}
		if !ev[l].less(&x) {
			break
		}
		ev[i] = ev[l]
		i = l
	}
	if n > 0 {
		ev[i] = x
	}
	return top
}
