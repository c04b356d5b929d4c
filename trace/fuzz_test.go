package trace

import (
	"context"
	"encoding/binary"
	"testing"
)

// FuzzAssemble builds small traces with arbitrary ids, parents, kinds and
// times from the fuzz input and checks the invariants Assemble promises:
// no panic, every kept span reachable from a root exactly once, and
// nothing lost without being counted.
func FuzzAssemble(f *testing.F) {
	f.Add([]byte{1, 1, 0, 2, 0, 10, 1, 2, 1, 2, 5, 3})
	f.Add([]byte{1, 1, 1, 2, 0, 10, 1, 2, 2, 3, 5, 3, 1, 2, 2, 3, 5, 3})
	f.Add([]byte{1, 1, 2, 2, 0, 10, 1, 2, 1, 3, 5, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var spans []Span
		for len(data) >= 6 && len(spans) < 200 {
			s := Span{
				TraceID:  TraceID{Low: uint64(data[0] % 3), High: uint64(data[0]/3%2) * 7},
				ID:       SpanID(data[1] % 16),
				ParentID: SpanID(data[2] % 16),
				Kind:     Kind(data[3] % 6),
				Start:    int64(int8(data[4])) * 1000,
				Duration: int64(data[5]) * 1000,
				Service:  string('a' + rune(data[3]%4)),
				Instance: string('h' + rune(data[5]%3)),
			}
			if data[3]&0x40 != 0 {
				s.Flags |= FlagShared
			}
			if data[3]&0x80 != 0 {
				s.Flags |= FlagFollowsFrom
			}
			spans = append(spans, s)
			data = data[6:]
		}
		if len(data) >= 2 {
			_ = binary.LittleEndian.Uint16(data)
		}
		in := len(spans)
		c := &Collector{Spans: spans}
		r, err := Assemble(context.Background(), c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Spans) + r.Quality.DuplicateSpans + r.Quality.MergedFragments; got != in {
			t.Fatalf("kept %d + dropped %d + merged %d != input %d", len(r.Spans), r.Quality.DuplicateSpans, r.Quality.MergedFragments, in)
		}
		total := 0
		for ti := range r.Traces {
			tr := &r.Traces[ti]
			seen := make([]bool, len(tr.Spans))
			tr.Walk(func(i int32) {
				if seen[i] {
					t.Fatalf("span %d visited twice", i)
				}
				seen[i] = true
			})
			for i, ok := range seen {
				if !ok {
					t.Fatalf("trace %d: span %d unreachable from the roots", ti, i)
				}
			}
			total += len(tr.Spans)
		}
		if total != len(r.Spans) {
			t.Fatalf("traces hold %d spans, result %d", total, len(r.Spans))
		}
	})
}
