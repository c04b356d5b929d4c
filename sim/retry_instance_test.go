package sim

import (
	"testing"
	"time"

	"github.com/tracesim/tracesim/topology"
)

// TestRetryGoesToAnotherInstance: with two backend instances and round
// robin, a retry must not go back to the instance that just failed, even
// when other requests' calls would make round robin pick it again.
func TestRetryGoesToAnotherInstance(t *testing.T) {
	m := &topology.Model{Version: 1,
		Services: map[string]*topology.Service{"front": {Instances: 1}, "back": {Instances: 2}},
		Operations: map[string]*topology.Operation{
			"front/get": {Entry: &topology.Entry{Rate: 200}, Shapes: one(&topology.Step{Call: &topology.Call{
				Target: "back/get", Retries: &topology.Retry{Max: 1, Backoff: time.Millisecond}}})},
			"back/get": {ErrorRate: 0.5, Shapes: one(work(expo(t, 2)))},
		}}
	type attempt struct {
		inst int
		err  bool
	}
	byReq := map[int64][]attempt{}
	cfg := Config{Model: m, Duration: 20 * time.Second, Seed: 3, OnSpan: func(s SpanRecord) {
		if s.Kind == SpanServer && s.Service == "back" {
			byReq[s.Request] = append(byReq[s.Request], attempt{s.Instance, s.Error})
		}
	}}
	run(t, cfg)
	retried := 0
	for req, as := range byReq {
		if len(as) == 2 {
			retried++
			if as[0].inst == as[1].inst {
				t.Fatalf("request %d retried on the instance that failed (%d)", req, as[0].inst)
			}
		}
	}
	if retried < 1000 {
		t.Errorf("only %d retries seen; the test needs many", retried)
	}
}
