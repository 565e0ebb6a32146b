//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package server

import (
	"math"
	"syscall"
)

// openFileLimit is the process' limit on open files (Go raises the soft
// limit to the hard one at start-up on Linux).
func openFileLimit() (int64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	// RLIM_INFINITY is the largest value of the type (or -1 where it is
	// signed): no limit to leave room under.
	cur := uint64(r.Cur)
	if cur > math.MaxInt32 {
		return math.MaxInt32, true
	}
	return int64(cur), true
}
