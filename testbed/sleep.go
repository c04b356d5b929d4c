package testbed

import (
	"context"
	"time"
)

// preciseMargin is the last stretch of a sleep that is not left to the Go
// timer. Go's timers wake through the network poller, whose timeout is in
// whole milliseconds: on an idle 2-core machine time.Sleep(300µs) takes
// about 1.1 ms and time.Sleep(1.5ms) about 2.1 ms, which would bias every
// sub-millisecond work time and network overhead. So a sleep waits on a
// Go timer until preciseMargin before its deadline (wake-ups up to ~1 ms
// late are absorbed there), then finishes on a kernel timer (nanosleep:
// a timerfd read through the poller on Linux), which overshoots by tens
// of microseconds instead.
const preciseMargin = 3 * time.Millisecond

// sleep waits d, or until ctx ends or the system closes; the final
// preciseMargin cannot be interrupted.
func (s *System) sleep(ctx context.Context, d time.Duration) error {
	return preciseSleep(ctx, d, s.done)
}

// preciseSleep waits d, or until ctx ends or done is closed (then it
// returns errClosed); the final preciseMargin cannot be interrupted.
func preciseSleep(ctx context.Context, d time.Duration, done <-chan struct{}) error {
	if d <= 0 {
		return nil
	}
	deadline := time.Now().Add(d)
	if coarse := d - preciseMargin; coarse > 0 {
		t := time.NewTimer(coarse)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-done:
			t.Stop()
			return errClosed
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return errClosed
	default:
	}
	if rem := time.Until(deadline); rem > 0 {
		nanosleep(rem)
	}
	return nil
}
