//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package server

// openFileLimit is unknown here; DefaultMaxConns falls back to its cap.
func openFileLimit() (int64, bool) { return 0, false }
