package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// Inode flags of <linux/fs.h>, which x/sys/unix does not name.
const (
	fsImmutableFL = 0x10 // chattr +i
	fsAppendFL    = 0x20 // chattr +a
)

// frozen reports whether the file at path is immutable or append-only. SQLite
// maps the WAL index (the -shm file) into memory; a page of a frozen file
// that SQLite writes to raises SIGBUS, which no error return can catch, so
// the store must see the flag before it touches the file.
func frozen(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	return err == nil && flags&(fsImmutableFL|fsAppendFL) != 0
}
