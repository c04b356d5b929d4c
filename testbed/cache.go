package testbed

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracesim/tracesim/scenarios"
	"github.com/tracesim/tracesim/topology"
)

// cacheCapacity is the number of entries of a testbed cache.
const cacheCapacity = 1000

// cache is a real in-memory LRU cache in front of calls to one operation,
// in the caller. Each call draws a key uniformly from a key space of
// K = capacity / HitRatio keys; with uniform keys an LRU cache of C
// entries holds C of the K keys at any time, so a lookup hits with
// probability exactly C/K = HitRatio (up to rounding K to an integer),
// from the first request on, because the cache starts filled with C keys.
// A hit sleeps HitLatency instead of calling; a miss makes the call
// (with its network time, timeout and retries) and then sleeps Fill to
// store the answer. One cache per cache change, shared by every caller
// instance it covers (like a shared cache tier, or one per process when
// the caller has one instance).
type cache struct {
	target, in       string
	hitLatency, fill time.Duration
	keys             int // key space K; 0 = every lookup misses (hit ratio 0)

	mu    sync.Mutex
	rng   *lockedRand
	order *list.List // most recent at the front; values are keys
	index map[int]*list.Element

	lookups, hits atomic.Int64
}

func (s *System) addCache(c *scenarios.Cache, i int) error {
	if s.ops[c.Target] == nil {
		return fmt.Errorf("cache: unknown operation %q", c.Target)
	}
	if !s.calledBy(c.Target, c.In) {
		// The other changes removed every call it would sit in front of
		// (skip, failover, batch): the prediction still has a cache
		// operation there, the testbed would have nothing to cache.
		return fmt.Errorf("cache of %s: after the scenario's other changes no operation%s calls it, so the cache cannot be put in front of a call", c.Target, inText(c.In))
	}
	ch := &cache{
		target: c.Target, in: c.In,
		hitLatency: time.Duration(c.HitLatency), fill: time.Duration(c.Fill),
		rng:   newRand(s.seed, "cache", strconv.Itoa(i)+"\x00"+c.Target),
		order: list.New(), index: map[int]*list.Element{},
	}
	if c.HitRatio > 0 {
		ch.keys = max(cacheCapacity, int(math.Round(cacheCapacity/c.HitRatio)))
		for k := range cacheCapacity {
			ch.index[k] = ch.order.PushFront(k)
		}
	}
	s.caches = append(s.caches, ch)
	s.logf("testbed: cache in front of %s (callers: %s): %d entries over %d keys, hit ratio %.4f",
		c.Target, orAll(c.In), cacheCapacity, ch.keys, ch.ratio())
	return nil
}

func inText(in string) string {
	if in == "" {
		return ""
	}
	return " " + in + " (in)"
}

// calledBy reports whether operation in (any operation if "") calls
// target in the model the testbed runs.
func (s *System) calledBy(target, in string) bool {
	for name, op := range s.model.Operations {
		if in != "" && name != in {
			continue
		}
		for _, sh := range op.Shapes {
			for _, st := range sh.Steps {
				calls := append([]*topology.Call{st.Call}, st.Parallel...)
				if st.Pool != nil {
					calls = append(calls, st.Pool.Calls...)
				}
				for _, c := range calls {
					if c != nil && c.Target == target {
						return true
					}
				}
			}
		}
	}
	return false
}

func orAll(in string) string {
	if in == "" {
		return "all"
	}
	return in
}

// ratio is the steady-state hit ratio the key space gives.
func (c *cache) ratio() float64 {
	if c.keys == 0 {
		return 0
	}
	return float64(min(cacheCapacity, c.keys)) / float64(c.keys)
}

// cacheFor returns the cache in front of calls from operation caller to
// target, nil if none.
func (s *System) cacheFor(caller, target string) *cache {
	for _, c := range s.caches {
		if c.target == target && (c.in == "" || c.in == caller) {
			return c
		}
	}
	return nil
}

// lookup draws a key and reports whether it is cached (refreshing it).
func (c *cache) lookup() (key int, hit bool) {
	c.lookups.Add(1)
	if c.keys == 0 {
		return -1, false
	}
	key = c.rng.IntN(c.keys)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		c.hits.Add(1)
		return key, true
	}
	return key, false
}

// store puts key in the cache, evicting the least recently used entry.
func (c *cache) store(key int) {
	if key < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.index[key] = c.order.PushFront(key)
	if c.order.Len() > cacheCapacity {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.index, old.Value.(int))
	}
}

// through serves one call through the cache: a hit costs hitLatency; a
// miss runs call and, if it succeeded, pays fill and stores the key.
func (c *cache) through(ctx context.Context, s *System, call func() error) error {
	key, hit := c.lookup()
	if hit {
		return s.sleep(ctx, c.hitLatency)
	}
	if err := call(); err != nil {
		return err
	}
	if err := s.sleep(ctx, c.fill); err != nil {
		return err
	}
	c.store(key)
	return nil
}

// CacheStats counts the lookups of one cache change.
type CacheStats struct {
	Target, In    string
	Lookups, Hits int64
	// Expected is the hit ratio the cache's key space gives.
	Expected float64
}

// Caches returns the lookup counts of every cache, in the order of the
// cache changes.
func (s *System) Caches() []CacheStats {
	out := make([]CacheStats, len(s.caches))
	for i, c := range s.caches {
		out[i] = CacheStats{Target: c.target, In: c.in, Lookups: c.lookups.Load(), Hits: c.hits.Load(), Expected: c.ratio()}
	}
	return out
}
