//go:build unix

package zipkin

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time this process has used, so that the
// benchmark can report a rate that other load on a shared machine does
// not distort.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
