package testbed

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/tracesim/tracesim/topology"
)

// sharedPool is one shared pool (topology.SharedPool) of one service
// instance: a limit that every request running on the instance shares, in
// front of the calls that name it (Call.Via). Every attempt of such a call
// holds one slot from the moment it is sent until its response has been
// read (or it timed out), after waiting for a free slot; the call's
// timeout counts the wait; a retry releases its slot and queues again
// (sim's startAttempt / release).
//
// It is built the way real programs build such limits, so that the traces
// show the wait where a real system's traces would:
//
//   - In-span (topology.WaitInSpan): the wait is inside the client span,
//     as with a database driver's connection pool or a lock the client
//     library takes. networkTransport, below otelhttp's client span,
//     acquires the slot before the request goes out and the response body
//     gives it back when it is closed. Size 1 is a sync.Mutex (not
//     strictly first come first served: Go's mutex lets a new arrival
//     barge in ahead of waiters until a waiter has starved for 1 ms, then
//     hands over in order); size k > 1 is a buffered channel of k tokens,
//     a connection pool whose waiting receivers are served in order.
//   - Before-span (topology.WaitBeforeSpan): a worker pool. k long-lived
//     goroutines per instance take tasks from a channel; a call hands its
//     attempt to the pool and the handler waits for the result. The
//     client span is made inside the worker, so the wait shows as a gap in
//     the caller's server span before the client span.
type sharedPool struct {
	name string
	size int
	// In-span: exactly one of mu (size 1) and tokens (size > 1).
	mu     *sync.Mutex
	tokens chan struct{}
	// Before-span: the worker pool.
	workers *workerPool
}

// newSharedPool makes the pool p of one instance; its workers (before-span)
// run until done is closed.
func newSharedPool(name string, p *topology.SharedPool, done <-chan struct{}) *sharedPool {
	size := max(p.Size, 1)
	sp := &sharedPool{name: name, size: size}
	switch {
	case p.Wait == topology.WaitBeforeSpan:
		sp.workers = newWorkerPool(size, done)
	case size == 1:
		sp.mu = &sync.Mutex{}
	default:
		sp.tokens = make(chan struct{}, size)
		for range size {
			sp.tokens <- struct{}{}
		}
	}
	return sp
}

// inSpan reports whether the pool is waited for inside the client span.
func (p *sharedPool) inSpan() bool { return p.workers == nil }

// acquire takes a slot of an in-span pool, waiting as long as ctx allows
// (the attempt's timeout counts the wait), and returns the function that
// gives it back (safe to call more than once).
//
// A sync.Mutex cannot stop waiting. Without a deadline the caller simply
// blocks in Lock, as real code does. With one, a helper goroutine waits in
// Lock for it; if the deadline comes first the caller gives up at once (as
// sim drops a timed-out waiter from the line) and the helper, when it gets
// the lock later, unlocks it at once: the abandoned place in line costs
// the others only that hand-over.
func (p *sharedPool) acquire(ctx context.Context, done <-chan struct{}) (func(), error) {
	if p.mu != nil {
		once := func() func() {
			var o sync.Once
			return func() { o.Do(p.mu.Unlock) }
		}
		if ctx.Done() == nil {
			p.mu.Lock()
			return once(), nil
		}
		if p.mu.TryLock() {
			return once(), nil
		}
		got := make(chan struct{})
		gaveUp := make(chan struct{})
		go func() {
			p.mu.Lock()
			select {
			case got <- struct{}{}:
			case <-gaveUp:
				p.mu.Unlock()
			}
		}()
		select {
		case <-got:
			return once(), nil
		case <-ctx.Done():
			close(gaveUp)
			return nil, fmt.Errorf("waiting for pool %s: %w", p.name, ctx.Err())
		}
	}
	select {
	case <-p.tokens:
		var o sync.Once
		return func() { o.Do(func() { p.tokens <- struct{}{} }) }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for pool %s: %w", p.name, ctx.Err())
	case <-done:
		return nil, errClosed
	}
}

// releaseBody gives a pool slot back when the response body is closed:
// the slot covers the whole round trip, the response's arrival included.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// workerPool is a fixed set of worker goroutines that run the attempts
// handed to them, one at a time each. Tasks are handed over on an
// unbuffered channel: a task waits in the sender queue of the channel,
// which Go serves in order, until a worker is free to take it, and a task
// whose deadline passes while it waits leaves the line without running
// (sim drops a timed-out waiter too): it makes no client span and no
// request. A task a worker took runs to its end, within its own deadline.
type workerPool struct {
	tasks chan *poolTask
}

type poolTask struct {
	ctx    context.Context
	run    func() error
	result chan error // buffered: the worker never waits for the caller
}

func newWorkerPool(k int, done <-chan struct{}) *workerPool {
	p := &workerPool{tasks: make(chan *poolTask)}
	for range k {
		go p.work(done)
	}
	return p
}

func (p *workerPool) work(done <-chan struct{}) {
	for {
		select {
		case t := <-p.tasks:
			if err := t.ctx.Err(); err != nil {
				// Its deadline passed as it was handed over: drop it.
				t.result <- err
				continue
			}
			t.result <- t.run()
		case <-done:
			return
		}
	}
}

// do hands run to the pool and waits for its result. It returns the
// context's error without running it if ctx ends before a worker takes it,
// errClosed if the system closes first.
func (p *workerPool) do(ctx context.Context, done <-chan struct{}, name string, run func() error) error {
	t := &poolTask{ctx: ctx, run: run, result: make(chan error, 1)}
	select {
	case p.tasks <- t:
	case <-ctx.Done():
		return fmt.Errorf("waiting for pool %s: %w", name, ctx.Err())
	case <-done:
		return errClosed
	}
	return <-t.result
}
