package analysis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/tracesim/tracesim/sim"
	"github.com/tracesim/tracesim/topology"
)

// Availability under random instance failures, by Monte Carlo.
//
// Every instance of every service is down, independently, with its
// service's probability. A sample is one draw of that down state for all
// instances; the model is simulated in that state (sim.Config.Down) and
// each endpoint's availability in the sample is its fraction of requests
// that succeeded. The estimate is the mean over samples and its interval
// the Student-t 95% interval over samples (samples are independent; the
// requests inside one are not, since they share the state, so a Wilson
// interval over requests would be far too narrow).
//
// All samples are simulated with the same seed (common random numbers):
// the simulation is then a function of the state alone, so a state drawn
// again is not simulated again. That is exact, not an approximation, and
// it is what makes many samples cheap: with small probabilities most
// samples repeat a few states (all up, one instance down, …). The price
// is that the interval covers the sampling of states, not the noise of
// each state's simulation, which a longer simulated duration reduces.
//
// Why a state per sample and not a fresh state per request: a request
// sees the state its retries, its calls to the same service and the
// queues built by other requests also see; drawing per sample keeps that
// (two instances down at once overload the third for every request).

// FailureProbs is the probability that an instance is down, per service.
type FailureProbs struct {
	// Default applies to every service not in Services.
	Default float64 `json:"default"`
	// Services overrides Default for the named services.
	Services map[string]float64 `json:"services,omitempty"`
}

// Of returns service's probability.
func (f FailureProbs) Of(service string) float64 {
	if p, ok := f.Services[service]; ok {
		return p
	}
	return f.Default
}

// check validates the probabilities against the model's services.
func (f FailureProbs) check(m *topology.Model) error {
	valid := func(p float64) bool { return p >= 0 && p <= 1 } // false for NaN
	if !valid(f.Default) {
		return fmt.Errorf("failure probability %v outside [0, 1]", f.Default)
	}
	names := sortedMapKeys(m.Services)
	for _, s := range sortedMapKeys(f.Services) {
		if _, ok := m.Services[s]; !ok {
			return fmt.Errorf("failure probability for unknown service %q%s", s, topology.Suggest(s, names))
		}
		if p := f.Services[s]; !valid(p) {
			return fmt.Errorf("failure probability %v of service %q outside [0, 1]", p, s)
		}
	}
	return nil
}

// EndpointAvailability is one endpoint's availability under failures.
type EndpointAvailability struct {
	Endpoint string `json:"endpoint"`
	// Availability is the mean over samples of the fraction of requests
	// that succeeded.
	Availability float64 `json:"availability"`
	// CI95 is the Student-t 95% interval of Availability over samples.
	CI95 Interval `json:"ci95"`
	// AllUp is the availability with every instance up (the model's own
	// error rates only), simulated with the same seed.
	AllUp float64 `json:"availability_all_up"`
}

// AvailabilityReport is the result of Availability.
type AvailabilityReport struct {
	Samples int `json:"samples"`
	// States is the number of distinct down states simulated (the
	// all-up state included).
	States       int                    `json:"states_simulated"`
	Seed         uint64                 `json:"seed"`
	FailureProbs FailureProbs           `json:"failure_prob"`
	Endpoints    []EndpointAvailability `json:"endpoints"`
}

// instanceRef is one instance of the model, in state-bit order.
type instanceRef struct {
	service string
	index   int
	p       float64
}

// Availability estimates each endpoint's availability when the instances
// of cfg.Model are down independently with probabilities probs, from
// samples draws of the down state (see the comment at the top of this
// file). cfg is the simulation of one state (its Duration or Requests,
// Warmup and Seed); its Down is replaced. The draws of the states come
// from cfg.Seed too, each instance's from its own uniform variate, drawn
// whatever its probability: raising one service's probability with the
// same seed only adds down instances and leaves every other draw as it
// was (common random numbers across probability settings).
func Availability(ctx context.Context, cfg sim.Config, probs FailureProbs, samples int) (*AvailabilityReport, error) {
	if cfg.Model == nil {
		return nil, errors.New("availability: no model")
	}
	if samples < 1 {
		return nil, fmt.Errorf("availability: %d samples, need at least 1", samples)
	}
	if err := probs.check(cfg.Model); err != nil {
		return nil, fmt.Errorf("availability: %w", err)
	}
	var insts []instanceRef
	for _, s := range sortedMapKeys(cfg.Model.Services) {
		svc := cfg.Model.Services[s]
		if svc == nil {
			return nil, fmt.Errorf("availability: service %q is nil", s)
		}
		for i := range svc.Instances {
			insts = append(insts, instanceRef{service: s, index: i, p: probs.Of(s)})
		}
	}

	// Draw the states. Each is a bit set over insts; state 0 is all up.
	rng := rand.New(rand.NewChaCha8(stateSeed(cfg.Seed)))
	nbytes := (len(insts) + 7) / 8
	allUp := string(make([]byte, nbytes))
	stateOf := map[string]int{allUp: 0}
	states := []string{allUp}
	sampleState := make([]int, samples)
	bits := make([]byte, nbytes)
	for k := range samples {
		clear(bits)
		for i, in := range insts {
			if rng.Float64() < in.p {
				bits[i/8] |= 1 << (i % 8)
			}
		}
		key := string(bits)
		st, ok := stateOf[key]
		if !ok {
			st = len(states)
			stateOf[key] = st
			states = append(states, key)
		}
		sampleState[k] = st
	}

	avail, names, err := simulateStates(ctx, cfg, insts, states)
	if err != nil {
		return nil, err
	}

	rep := &AvailabilityReport{Samples: samples, States: len(states), Seed: cfg.Seed,
		FailureProbs: probs, Endpoints: make([]EndpointAvailability, len(names))}
	x := make([]float64, samples)
	for e, name := range names {
		sum := 0.0
		for k, st := range sampleState {
			x[k] = avail[st][e]
			sum += x[k]
		}
		ci := TInterval(x)
		mean := round(sum/float64(samples), 6)
		if ci[0] == ci[1] {
			ci = Interval{mean, mean} // every sample alike: no rounding skew
		}
		rep.Endpoints[e] = EndpointAvailability{Endpoint: name, Availability: mean, CI95: ci,
			AllUp: round(avail[0][e], 6)}
	}
	return rep, nil
}

// stateSeed derives the state stream's key from the simulation seed, so
// the two streams are unrelated.
func stateSeed(seed uint64) [32]byte {
	var k [32]byte
	copy(k[:], "tracesim availability states")
	binary.LittleEndian.PutUint64(k[24:], seed)
	return k
}

// simulateStates runs one simulation per state on two goroutines and
// returns avail[state][endpoint], the fraction of each endpoint's
// requests that succeeded, with the endpoint names.
func simulateStates(ctx context.Context, cfg sim.Config, insts []instanceRef, states []string) ([][]float64, []string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	avail := make([][]float64, len(states))
	names := make([][]string, len(states))
	errs := make([]error, len(states))
	var wg sync.WaitGroup
	const workers = 2
	for w := range workers {
		wg.Go(func() {
			for st := w; st < len(states); st += workers {
				c := cfg
				c.Down = downMap(insts, states[st])
				c.OnSpan, c.OnReplication = nil, nil
				avail[st], names[st], errs[st] = simulateState(ctx, c)
				if errs[st] != nil {
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	// The first error that is not a cancellation another one caused.
	first := -1
	for st, err := range errs {
		if err != nil && (first < 0 || (errors.Is(errs[first], context.Canceled) && !errors.Is(err, context.Canceled))) {
			first = st
		}
	}
	if first >= 0 {
		return nil, nil, fmt.Errorf("availability: simulating %s: %w", describeState(insts, states[first]), errs[first])
	}
	return avail, names[0], nil
}

// simulateState runs one state and returns each endpoint's availability.
func simulateState(ctx context.Context, cfg sim.Config) ([]float64, []string, error) {
	r, err := sim.Run(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	a := make([]float64, len(r.Endpoints))
	names := make([]string, len(r.Endpoints))
	for i, e := range r.Endpoints {
		if e.Requests == 0 {
			return nil, nil, fmt.Errorf("endpoint %s completed no request: simulate longer", e.Name)
		}
		a[i] = 1 - float64(e.Errors)/float64(e.Requests)
		names[i] = e.Name
	}
	return a, names, nil
}

// downMap turns a state's bit set into a sim.Config.Down.
func downMap(insts []instanceRef, state string) map[string][]int {
	var down map[string][]int
	for i, in := range insts {
		if state[i/8]&(1<<(i%8)) != 0 {
			if down == nil {
				down = map[string][]int{}
			}
			down[in.service] = append(down[in.service], in.index)
		}
	}
	return down
}

// describeState names a state's down instances for an error message.
func describeState(insts []instanceRef, state string) string {
	down := downMap(insts, state)
	if len(down) == 0 {
		return "all instances up"
	}
	s := "down:"
	for _, svc := range sortedMapKeys(down) {
		s += fmt.Sprintf(" %s%v", svc, down[svc])
	}
	return s
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
