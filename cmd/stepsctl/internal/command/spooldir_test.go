package command_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unwritableHome points the harness's stepsctl at a home it cannot write
// to, as a container run under an arbitrary uid (HOME=/) or a system
// account (HOME=/nonexistent) has, and at a temporary directory of its
// own. A home below a regular file cannot be created even by root, which
// the tests run as in CI. It returns the private spool directory stepsctl
// falls back to.
func unwritableHome(t *testing.T, h *harness) string {
	t.Helper()
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["HOME"] = filepath.Join(blocker, "home")
	delete(h.env, "XDG_STATE_HOME")
	delete(h.env, "XDG_CONFIG_HOME")
	h.env["TMPDIR"] = t.TempDir()
	return filepath.Join(h.env["TMPDIR"], fmt.Sprintf("stepsctl-%d", os.Getuid()))
}

// TestSpoolWhenHomeCannotBeWritten: a deploy whose tracker is down keeps
// its record in a private temporary directory when its home cannot be
// written, instead of failing the deploy, and the next command delivers
// it once.
func TestSpoolWhenHomeCannotBeWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fallback := unwritableHome(t, h)
	h.stop()

	r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build")
	if r.code != 0 {
		t.Fatalf("record with the server down and an unwritable home exited %d, want 0; stderr %q", r.code, r.stderr)
	}
	want := filepath.Join(fallback, "spool.ndjson")
	if got := lines(r.stderr); len(got) != 1 || !strings.Contains(got[0], "spooled to "+want) {
		t.Errorf("stderr = %q, want one line saying the record was spooled to %s", r.stderr, want)
	}
	fi, err := os.Stat(fallback)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("fallback spool directory: %v, %v; want mode 0700", fi, err)
	}

	h.start()
	r = h.mustRun(false, "list", "-o", "ndjson")
	if r.stderr != "stepsctl: delivered 1 spooled record(s)\n" {
		t.Errorf("stderr = %q, want the delivery reported", r.stderr)
	}
	if got := decodeNDJSON(t, r.stdout); len(got) != 1 || !got[0].Time.Equal(t0) {
		t.Errorf("list after the outage = %q, want the spooled step at its time", r.stdout)
	}
	if r := h.mustRun(false, "flush"); r.stdout != "Nothing to deliver: the spool is empty.\n" {
		t.Errorf("flush after delivery printed %q", r.stdout)
	}
}

// TestRecordsInBothSpoolsAreDelivered: records kept in the temporary
// directory while the home could not be written, and later ones kept in
// the home once it can, are all delivered, each once.
func TestRecordsInBothSpoolsAreDelivered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	unwritableHome(t, h)
	h.stop()
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build")

	h.env["HOME"] = t.TempDir()
	h.cli.Add(time.Minute)
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "tests")
	if want := filepath.Join(h.env["HOME"], ".local", "state", "stepsctl", "spool.ndjson"); !strings.Contains(r.stderr, "spooled to "+want) {
		t.Errorf("stderr = %q, want the second record in the home's spool %s", r.stderr, want)
	}

	h.start()
	if r := h.mustRun(false, "flush"); r.stdout != "Delivered 2 record(s).\n" {
		t.Errorf("flush printed %q, want both spools delivered", r.stdout)
	}
	steps := h.stored()
	if len(steps) != 2 || steps[0].Status != "build" || steps[1].Status != "tests" {
		t.Errorf("stored %+v, want build then tests", steps)
	}
}

// plants are the ways another user can take the temporary spool
// directory's name first: a link (to a directory they can read), a
// directory open to others, or a directory of their own.
var plants = map[string]func(t *testing.T, dir string){
	"a link": func(t *testing.T, dir string) {
		if err := os.Symlink(t.TempDir(), dir); err != nil {
			t.Fatal(err)
		}
	},
	"open to others": func(t *testing.T, dir string) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
	},
	"another user's": func(t *testing.T, dir string) {
		if os.Getuid() != 0 {
			t.Skip("only root can give a directory to another user")
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	},
}

// ownSuffixedDir returns the one private directory named dir-* that
// stepsctl made beside dir, checking that it is a directory of this
// user's, mode 0700.
func ownSuffixedDir(t *testing.T, dir string) string {
	t.Helper()
	found, err := filepath.Glob(dir + "-*")
	if err != nil || len(found) != 1 {
		t.Fatalf("private directories beside %s: %q, %v; want one", dir, found, err)
	}
	fi, err := os.Lstat(found[0])
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("%s: %v, %v; want a directory of mode 0700", found[0], fi, err)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Getuid() {
		t.Fatalf("%s belongs to uid %d, want %d", found[0], uid, os.Getuid())
	}
	return found[0]
}

// TestSharedSpoolDirectoryMustBeOurOwn: the temporary directory is shared
// with other users, so a spool directory there that is a link, open to
// others, or another user's is never used: whoever made it could read the
// records, or plant some for stepsctl to send with this user's token. The
// record is kept instead in a new private directory beside it, with a
// warning, later records join it, and they are delivered once the server
// is back.
func TestSharedSpoolDirectoryMustBeOurOwn(t *testing.T) {
	t.Parallel()
	for name, plant := range plants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			dir := unwritableHome(t, h)
			plant(t, dir)
			h.stop()
			r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build")
			if r.code != 0 {
				t.Fatalf("record: exit %d, stderr %q; want 0, the record kept elsewhere", r.code, r.stderr)
			}
			own := ownSuffixedDir(t, dir)
			got := lines(r.stderr)
			if len(got) != 2 || !strings.Contains(got[0], dir) || !strings.HasSuffix(got[0], "not keeping records there; keeping them in "+own+" instead") ||
				!strings.Contains(got[1], "record spooled to "+filepath.Join(own, "spool.ndjson")+" (1 waiting)") {
				t.Errorf("stderr = %q, want a warning naming %s, then the record spooled to %s", r.stderr, dir, own)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("the planted directory holds %v (%v), want it untouched", entries, err)
			}

			h.cli.Add(time.Minute)
			r = h.run(false, "record", "--component", "api", "--version", "1", "--status", "tests")
			if !strings.Contains(r.stderr, "record spooled to "+filepath.Join(own, "spool.ndjson")+" (2 waiting)") {
				t.Errorf("second record: stderr %q, want it in %s too", r.stderr, own)
			}

			h.start()
			if r := h.run(false, "flush"); r.code != 0 || r.stdout != "Delivered 2 record(s).\n" {
				t.Errorf("flush: exit %d, stdout %q, stderr %q; want both delivered", r.code, r.stdout, r.stderr)
			}
			steps := h.stored()
			if len(steps) != 2 || steps[0].Status != "build" || !steps[0].Time.Equal(t0) || steps[1].Status != "tests" {
				t.Errorf("stored %+v, want build at %v then tests", steps, t0)
			}
		})
	}
}

// TestStandInSpoolOfAnotherUserIsNotRead: records put in a planted
// directory, under the temporary spool's own name or the name of the
// private ones stepsctl makes beside it, are never delivered, while the
// user's own private directory beside them is.
func TestStandInSpoolOfAnotherUserIsNotRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()
	// A real spool of records for this server, to plant.
	h.mustRun(false, "record", "--component", "planted", "--version", "1", "--status", "build", "-q")
	theirs, err := os.ReadFile(h.spoolPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.spoolPath()); err != nil {
		t.Fatal(err)
	}
	plantSpool := func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "spool.ndjson"), theirs, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	dir := unwritableHome(t, h)
	var planted []string
	for _, name := range []string{"open to others", "a link", "another user's"} {
		for _, at := range []string{dir, dir + "-" + strings.ReplaceAll(name, " ", "-")} {
			if name == "another user's" && os.Getuid() != 0 {
				continue // plants skips it
			}
			if at == dir && name != "open to others" {
				continue // one stand-in under the spool's own name
			}
			plants[name](t, at)
			if fi, err := os.Lstat(at); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				target, err := os.Readlink(at)
				if err != nil {
					t.Fatal(err)
				}
				plantSpool(target)
			} else {
				plantSpool(at)
			}
			planted = append(planted, at)
		}
	}
	// Our own record goes to a private directory beside the stand-in.
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")

	h.start()
	r := h.run(false, "flush")
	if r.code != 0 || r.stdout != "Delivered 1 record(s).\n" {
		t.Errorf("flush: exit %d, stdout %q, stderr %q; want our one record delivered", r.code, r.stdout, r.stderr)
	}
	for _, at := range planted {
		if !strings.Contains(r.stderr, at+" ") || !strings.Contains(r.stderr, "not delivering the records there") {
			t.Errorf("flush: stderr %q, want %s named as not delivered", r.stderr, at)
		}
	}
	h.mustRun(false, "list") // delivers before it lists
	if steps := h.stored(); len(steps) != 1 || steps[0].Component != "api" {
		t.Errorf("stored %+v, want our record alone", steps)
	}
	for _, at := range planted {
		if b, err := os.ReadFile(filepath.Join(at, "spool.ndjson")); err != nil || string(b) != string(theirs) {
			t.Errorf("the stand-in spool in %s changed: %q, %v", at, b, err)
		}
	}
}

// TestSpoolWhenTMPDIRIsGone: a TMPDIR that names no directory (left over
// from a session or a CI job whose directory was removed) falls back to
// the system's temporary directory, as if it were unset, rather than
// losing the record or creating the directory it names.
func TestSpoolWhenTMPDIRIsGone(t *testing.T) {
	t.Parallel()
	for name, gone := range map[string]func(t *testing.T) string{
		"missing": func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone") },
		"below a file": func(t *testing.T) string {
			blocker := filepath.Join(t.TempDir(), "a-file")
			if err := os.WriteFile(blocker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(blocker, "tmp")
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			unwritableHome(t, h)
			h.env["TMPDIR"] = gone(t)
			h.stop()
			r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build")
			want := filepath.Join(h.tempDir, fmt.Sprintf("stepsctl-%d", os.Getuid()), "spool.ndjson")
			if r.code != 0 || !strings.Contains(r.stderr, "record spooled to "+want) {
				t.Fatalf("record: exit %d, stderr %q; want 0 and the record spooled to %s", r.code, r.stderr, want)
			}
			if _, err := os.Lstat(h.env["TMPDIR"]); err == nil {
				t.Errorf("TMPDIR %s was created", h.env["TMPDIR"])
			}
			h.start()
			if r := h.run(false, "flush"); r.code != 0 || r.stdout != "Delivered 1 record(s).\n" {
				t.Errorf("flush: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if steps := h.stored(); len(steps) != 1 || !steps[0].Time.Equal(t0) {
				t.Errorf("stored %+v, want the record at its time", steps)
			}
		})
	}
}
