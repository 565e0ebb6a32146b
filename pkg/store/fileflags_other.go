//go:build !linux

package store

// frozen reports whether the file at path is immutable; only Linux is
// asked (see fileflags_linux.go).
func frozen(path string) bool {
	return false
}
