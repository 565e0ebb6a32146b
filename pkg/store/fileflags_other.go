//go:build !linux

package store

import "os"

// frozen reports whether the file at path is immutable; only Linux is
// asked (see fileflags_linux.go).
func frozen(path string) bool {
	return false
}

// openLockFile opens no file where flock is not asked (see
// fileflags_linux.go): lockExclusive and unlock take none.
func openLockFile(path string) (*os.File, error) {
	return nil, nil
}

// lockExclusive takes no lock where flock is not asked: held.
func lockExclusive(f *os.File) (held bool, err error) {
	return true, nil
}

// unlock has no lock to drop.
func unlock(f *os.File) error {
	return nil
}
