package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// frozen reports whether the file at path is immutable or append-only
// (chattr +i, +a). SQLite maps the WAL index (the -shm file) into memory;
// a page of a frozen file that SQLite writes to raises SIGBUS, which no
// error return can catch, so the store must see the flag before it touches
// the file. statx reports the flags without opening the file: one system
// call.
func frozen(path string) bool {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_STATX_SYNC_AS_STAT, unix.STATX_BASIC_STATS, &st); err != nil {
		return false
	}
	return st.Attributes&(unix.STATX_ATTR_IMMUTABLE|unix.STATX_ATTR_APPEND) != 0
}

// openLockFile opens the file at path for lockExclusive. Its descriptor
// must stay open while SQLite has the file open in this process: closing
// any descriptor of a file drops every fcntl lock the process holds on it,
// SQLite's SHARED lock included, and without that lock a sqlite3 closing
// its last connection takes itself for the last one and deletes the -wal
// and -shm files under stepsd.
func openLockFile(path string) (*os.File, error) {
	return os.Open(path)
}

// lockExclusive takes an exclusive flock on f without waiting: held is
// false when another open file holds it. flock locks are apart from the
// fcntl locks SQLite takes on the same file, and the kernel drops them when
// their holder dies, kill -9 included.
func lockExclusive(f *os.File) (held bool, err error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// unlock drops f's flock, keeping f open (see openLockFile).
func unlock(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
