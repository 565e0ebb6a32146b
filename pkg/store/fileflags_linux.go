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

// lockExclusive takes an exclusive flock on the file at path, held for as
// long as the returned file stays open, without waiting: held is false
// when another open file holds it. flock locks are apart from the fcntl
// locks SQLite takes on the same file, and the kernel drops them when
// their holder dies, kill -9 included.
func lockExclusive(path string) (f *os.File, held bool, err error) {
	f, err = os.Open(path)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}
