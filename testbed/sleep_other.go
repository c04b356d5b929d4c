//go:build !linux

package testbed

import "time"

// nanosleep falls back to time.Sleep where no nanosleep is wired up.
func nanosleep(d time.Duration) { time.Sleep(d) }
