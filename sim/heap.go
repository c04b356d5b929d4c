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
	seq := h.seq | uint64(kind)
	n := len(h.ev)
	if n == cap(h.ev) {
		h.grow()
	}
	h.ev = h.ev[:n+1] // a self-reslice stores only the length
	ev := h.ev
	// The new event's seq is larger than every queued event's (seq only
	// grows), so it sorts before a parent only if its time is earlier:
	// comparing t alone is (t, seq) order. The event is written once, at
	// its final slot, from registers: building it in memory first and
	// copying it spilled it to the stack with narrow stores read back
	// wide, a store-forwarding stall on every push.
	i := n
	for i > 0 {
		p := (i - 1) / 2
		if t >= ev[p].t {
			break
		}
		ev[i] = ev[p]
		i = p
	}
	ev[i] = event{t: t, seq: seq, id: id, gen: gen}
}

// grow doubles the heap's capacity, out of push's fast path.
//
//go:noinline
func (h *eventHeap) grow() {
	ev := make([]event, len(h.ev), max(2*cap(h.ev), 16))
	copy(ev, h.ev)
	h.ev = ev
}

// pop removes and returns the earliest event; the heap must not be empty.
func (h *eventHeap) pop() event {
	ev := h.ev
	top := ev[0]
	n := len(ev) - 1
	x := ev[n]
	h.ev = h.ev[:n] // a self-reslice stores only the length (no write barrier)
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
