//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package command

import (
	"fmt"
	"os"
)

// ownPrivateDir checks that path is a directory, not a link to one. Where
// files have no Unix owner (Windows), the temporary directory is the
// user's own already.
func ownPrivateDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory of its own (a link or a file)", path)
	}
	return nil
}

// systemTempDir is the temporary directory when TMPDIR names none.
func systemTempDir() string { return os.TempDir() }
