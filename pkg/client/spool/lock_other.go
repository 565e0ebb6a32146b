//go:build !unix && !windows

package spool

import "os"

// tryLock is a no-op where the system has no file locks (wasm, plan9): one
// process at a time must use a spool there.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) error { return nil }

// isUnsupported reports a directory fsync the system does not do.
func isUnsupported(error) bool { return true }
