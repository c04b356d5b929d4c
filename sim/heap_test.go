package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The heap pops events in (t, seq) order — ties in t in scheduling
// order — through interleaved pushes and pops, growth included.
func TestEventHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h eventHeap
	var ref []event // what is queued, kept sorted by (t, seq)
	now := int64(0)
	for step := range 20000 {
		if len(ref) == 0 || rng.IntN(3) > 0 {
			// Few distinct times, so ties are common.
			tt := now + int64(rng.IntN(5))
			h.push(tt, uint8(step%8), int32(step), uint32(step))
			ref = append(ref, event{t: tt, seq: h.seq | uint64(step%8), id: int32(step), gen: uint32(step)})
			slices.SortFunc(ref, func(a, b event) int {
				if a.less(&b) {
					return -1
				}
				return 1
			})
			continue
		}
		got := h.pop()
		if got != ref[0] {
			t.Fatalf("step %d: popped %+v, want %+v", step, got, ref[0])
		}
		ref = ref[1:]
		now = got.t
		if got.kind() != uint8(got.id%8) {
			t.Fatalf("kind %d of event %d", got.kind(), got.id)
		}
	}
	if len(h.ev) != len(ref) {
		t.Fatalf("%d events queued, want %d", len(h.ev), len(ref))
	}
}
