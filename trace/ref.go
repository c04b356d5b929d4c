package trace

// SpanRef names one span of an assembled trace: Assemble leaves no two
// spans of a trace with the same id, so the pair names it wherever the
// trace is copied or filtered to.
type SpanRef struct {
	Trace TraceID
	Span  SpanID
}

// Ref returns the SpanRef of span i of t.
func (t *Trace) Ref(i int32) SpanRef { return SpanRef{Trace: t.ID, Span: t.Spans[i].ID} }
