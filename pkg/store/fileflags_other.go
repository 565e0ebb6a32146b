//go:build !linux

package store

import "os"

// frozen reports whether the file at path is immutable; only Linux is
// asked (see fileflags_linux.go).
func frozen(path string) bool {
	return false
}

// lockExclusive takes no lock where flock is not asked (see
// fileflags_linux.go): held, with no file to close.
func lockExclusive(path string) (f *os.File, held bool, err error) {
	return nil, true, nil
}
