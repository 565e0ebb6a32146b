//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command

import (
	"fmt"
	"os"
	"syscall"
)

// ownPrivateDir checks that path is a directory, not a link to one, owned
// by this user and closed to everyone else.
func ownPrivateDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory of its own (a link or a file)", path)
	case !ok || int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to another user", path)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s is open to other users (mode %v)", path, fi.Mode().Perm())
	}
	return nil
}

// systemTempDir is the temporary directory when TMPDIR names none.
func systemTempDir() string { return "/tmp" }
