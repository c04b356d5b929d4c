package tracegen

import (
	"reflect"
	"testing"

	"github.com/tracesim/tracesim/trace"
)

func TestGenerate(t *testing.T) {
	opt := Options{Traces: 50, SpansPerTrace: 40, Services: 20, Seed: 9, Exact: true}
	a, b := Generate(opt), Generate(opt)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same options gave different spans")
	}
	if len(a) != 50*40 {
		t.Errorf("%d spans for 50 traces of 40", len(a))
	}
	byID := map[trace.SpanID]*trace.Span{}
	for i := range a {
		byID[a[i].ID] = &a[i]
	}
	roots := 0
	for i := range a {
		s := &a[i]
		if s.Duration <= 0 || s.Start%1000 != 0 || s.Duration%1000 != 0 {
			t.Fatalf("span %d: start %d duration %d, want whole positive µs", i, s.Start, s.Duration)
		}
		if s.ParentID == 0 {
			roots++
			continue
		}
		p := byID[s.ParentID]
		if p == nil || p.TraceID != s.TraceID {
			t.Fatalf("span %d: parent missing", i)
		}
		if s.Start < p.Start || s.End() > p.End() {
			t.Fatalf("span %d [%d,%d] not inside its parent [%d,%d]", i, s.Start, s.End(), p.Start, p.End())
		}
	}
	if roots != 50 {
		t.Errorf("%d roots, want 50", roots)
	}
}
