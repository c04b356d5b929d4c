package testbed

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// nanosleep waits d with the kernel's precision without holding a thread:
// a non-blocking timerfd is read through the Go network poller, which
// wakes the goroutine when the timer fires (an epoll event, not a
// millisecond-rounded epoll timeout). A blocking nanosleep(2) would be as
// precise but keeps its P until sysmon retakes it — up to 10 ms on an
// idle program — which stalls the other goroutines of a 2-core machine.
func nanosleep(d time.Duration) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		time.Sleep(d)
		return
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	defer f.Close()
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	var expirations [8]byte
	if _, err := f.Read(expirations[:]); err != nil {
		time.Sleep(d) // not pollable after all: fall back
	}
}
