package command

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/steps-dev/steps/pkg/client/spool"
)

// spoolDirs returns where records may wait, in the order they are kept:
// the configured directory alone; else SpoolDir, then a private directory
// in the system's temporary directory. The second serves a runner whose
// home cannot be written (a container run under an arbitrary uid has
// HOME=/, a system account /nonexistent): a tracker outage must not fail
// its deploy for want of a place to keep the record.
func (f *Factory) spoolDirs() []spoolDir {
	if f.Config.SpoolDir != "" {
		return []spoolDir{{path: f.Config.SpoolDir}}
	}
	var dirs []spoolDir
	if d := f.SpoolDir(); d != "" {
		dirs = append(dirs, spoolDir{path: d})
	}
	name := "stepsctl"
	if uid := os.Getuid(); uid >= 0 {
		name = fmt.Sprintf("stepsctl-%d", uid)
	}
	return append(dirs, spoolDir{path: filepath.Join(f.tempDir(), name), shared: true})
}

// tempDir returns the system's temporary directory as os.TempDir does,
// $TMPDIR else /tmp, but /tmp too when TMPDIR names no directory: a
// variable left over from a session or a CI job whose directory is gone
// must not cost a record, and creating the directory it names would put
// records where nobody looks for them.
func (f *Factory) tempDir() string {
	if d := f.Getenv("TMPDIR"); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return cmp.Or(f.TempDir, systemTempDir())
}

// spoolDir is a place for the spool. A shared one lies in a directory
// other users can write to, so it is used only once it is known to be the
// user's own: anyone could have made it first, to read the records kept
// there or to slip in records that stepsctl would send with the user's
// token.
type spoolDir struct {
	path   string
	shared bool
}

// open opens the spool in d to keep a record, creating its directory. A
// shared directory that is not the user's own is left alone, neither read
// nor written: the record goes to a private directory of the user's
// beside it (privateTempDir), and a line on warn says why.
func (d spoolDir) open(warn io.Writer) (*spool.Spool, error) {
	if !d.shared {
		return spool.Open(d.path)
	}
	dir, err := privateTempDir(d.path, warn)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return spool.Open(dir)
}

// privateTempDir returns a directory for the spool at path, in a shared
// temporary directory: path when it is the user's own (made here when
// missing), else the first private directory of the user's named path-*
// that an earlier call made, else a new one. Taking path away from its
// owner (another user making it first, or a link) thus stops no record
// from being kept, and a new directory made by MkdirTemp cannot be
// planted in advance.
func privateTempDir(path string, warn io.Writer) (string, error) {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	refused := ownPrivateDir(path)
	if refused == nil {
		return path, nil
	}
	dir := firstOwnSuffixedDir(path)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp(filepath.Dir(path), filepath.Base(path)+"-*"); err != nil {
			return "", fmt.Errorf("%w, and no private directory could be made beside it: %w", refused, err)
		}
	}
	fmt.Fprintf(warn, "stepsctl: warning: %v: not keeping records there; keeping them in %s instead\n", refused, dir)
	return dir, nil
}

// suffixedDirs returns the entries named path-* beside path, sorted:
// where privateTempDir keeps records when path is not the user's own.
func suffixedDirs(path string) []string {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil
	}
	prefix := filepath.Base(path) + "-"
	var out []string
	for _, e := range entries { // sorted by name
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
	return out
}

// firstOwnSuffixedDir returns the first of the suffixedDirs of path that
// is the user's own and private, or "".
func firstOwnSuffixedDir(path string) string {
	for _, dir := range suffixedDirs(path) {
		if ownPrivateDir(dir) == nil {
			return dir
		}
	}
	return ""
}

// spooled returns the spool directories that hold records, opened: the
// configured or home one, and every private directory of the user's in
// the temporary directory (stepsctl-UID, and the stepsctl-UID-* made when
// that one was not the user's). A shared directory that is not the user's
// own is never read, whatever it holds: records planted there would be
// sent with the user's token. One that holds a spool is reported on
// stderr; so is one that cannot be opened.
func (f *Factory) spooled() []*spool.Spool {
	var out []*spool.Spool
	for _, d := range f.spoolDirs() {
		dirs := []string{d.path}
		if d.shared {
			dirs = append(dirs, suffixedDirs(d.path)...)
		}
		for _, dir := range dirs {
			if _, err := os.Lstat(filepath.Join(dir, spool.FileName)); err != nil {
				continue // nothing spooled; do not create the directory just to look
			}
			if d.shared {
				if err := ownPrivateDir(dir); err != nil {
					fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: %v: not delivering the records there\n", err)
					continue
				}
			}
			sp, err := spool.Open(dir)
			if err != nil {
				fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: %s\n", message(err))
				continue
			}
			out = append(out, sp)
		}
	}
	return out
}
