package store

import "golang.org/x/sys/unix"

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
