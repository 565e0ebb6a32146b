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

// TestSharedSpoolDirectoryMustBeOurOwn: the temporary directory is shared
// with other users, so a spool directory there that is a link, open to
// others, or another user's is refused: whoever made it could read the
// records, or plant some for stepsctl to send with this user's token.
func TestSharedSpoolDirectoryMustBeOurOwn(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, dir string){
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
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			dir := unwritableHome(t, h)
			plant(t, dir)
			h.stop()
			r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build")
			if r.code != 1 || !strings.Contains(r.stderr, "not keeping records there") {
				t.Errorf("record: exit %d, stderr %q; want 1 and the directory refused", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "spool.ndjson")); !os.IsNotExist(err) {
				t.Errorf("a record was written into the planted directory: %v", err)
			}
		})
	}
}
