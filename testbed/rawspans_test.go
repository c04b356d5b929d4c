package testbed

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"
)

// rawSpan is one span as the testbed wrote it in OTLP/JSON, read without
// trace/otlp: what a collector would receive.
type rawSpan struct {
	Resource            map[string]any // resource attributes
	Name                string
	Kind                int // OTLP: 2 server, 3 client
	TraceID, SpanID     string
	ParentID            string
	Start, End          int64 // ns since the epoch
	Attrs               map[string]any
	StatusCode          int // 2: error
	Scope               string
	ServiceName, InstID string
}

func (s *rawSpan) dur() time.Duration { return time.Duration(s.End - s.Start) }

type otlpValue struct {
	StringValue *string `json:"stringValue"`
	IntValue    *string `json:"intValue"`
	BoolValue   *bool   `json:"boolValue"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

func kvs(l []otlpKV) map[string]any {
	m := map[string]any{}
	for _, kv := range l {
		switch v := kv.Value; {
		case v.StringValue != nil:
			m[kv.Key] = *v.StringValue
		case v.IntValue != nil:
			n, _ := strconv.ParseInt(*v.IntValue, 10, 64)
			m[kv.Key] = n
		case v.BoolValue != nil:
			m[kv.Key] = *v.BoolValue
		default:
			m[kv.Key] = nil
		}
	}
	return m
}

// rawSpans decodes the OTLP/JSON lines the testbed wrote.
func rawSpans(t *testing.T, buf *bytes.Buffer) []rawSpan {
	t.Helper()
	type doc struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []otlpKV `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Scope struct {
					Name string `json:"name"`
				} `json:"scope"`
				Spans []struct {
					TraceID    string   `json:"traceId"`
					SpanID     string   `json:"spanId"`
					ParentID   string   `json:"parentSpanId"`
					Name       string   `json:"name"`
					Kind       int      `json:"kind"`
					Start      string   `json:"startTimeUnixNano"`
					End        string   `json:"endTimeUnixNano"`
					Attributes []otlpKV `json:"attributes"`
					Status     struct {
						Code int `json:"code"`
					} `json:"status"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	var out []rawSpan
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	sc.Buffer(nil, 1<<28)
	for sc.Scan() {
		var d doc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("OTLP/JSON line: %v", err)
		}
		for _, rs := range d.ResourceSpans {
			res := kvs(rs.Resource.Attributes)
			svc, _ := res["service.name"].(string)
			inst, _ := res["service.instance.id"].(string)
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					start, _ := strconv.ParseInt(sp.Start, 10, 64)
					end, _ := strconv.ParseInt(sp.End, 10, 64)
					out = append(out, rawSpan{Resource: res, Name: sp.Name, Kind: sp.Kind,
						TraceID: sp.TraceID, SpanID: sp.SpanID, ParentID: sp.ParentID,
						Start: start, End: end, Attrs: kvs(sp.Attributes), StatusCode: sp.Status.Code,
						Scope: ss.Scope.Name, ServiceName: svc, InstID: inst})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// interval is a time span [start, end) in ns.
type interval struct{ start, end int64 }

// maxOverlap is the most intervals open at once (one ending as another
// starts does not overlap it), and the time during which at least one and
// at least two were open.
func maxOverlap(xs []interval) (most int, any1, any2 time.Duration) {
	type ev struct {
		t int64
		d int
	}
	evs := make([]ev, 0, 2*len(xs))
	for _, x := range xs {
		evs = append(evs, ev{x.start, 1}, ev{x.end, -1})
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d) // ends first
	})
	cur := 0
	var last int64
	for _, e := range evs {
		if cur >= 1 {
			any1 += time.Duration(e.t - last)
		}
		if cur >= 2 {
			any2 += time.Duration(e.t - last)
		}
		last = e.t
		cur += e.d
		most = max(most, cur)
	}
	return most, any1, any2
}
