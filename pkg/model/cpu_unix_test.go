//go:build unix

package model_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU this process has used, all threads (the garbage
// collector's included): on a shared machine a fairer cost than the wall
// clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
