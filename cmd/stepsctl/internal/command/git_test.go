package command_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// gitRepo makes a real git work tree with one commit, made at committed
// by the committer's clock, and returns its directory and the commit id.
func gitRepo(t *testing.T, committed string) (dir, rev string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir = t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=ana", "GIT_AUTHOR_EMAIL=ana@example.com",
			"GIT_COMMITTER_NAME=ana", "GIT_COMMITTER_EMAIL=ana@example.com",
			"GIT_AUTHOR_DATE="+committed, "GIT_COMMITTER_DATE="+committed, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("api\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("add", "README")
	run("-c", "commit.gpgsign=false", "commit", "-q", "-m", "first")
	return dir, run("rev-parse", "HEAD")
}

// commitOf is the revision and commit time a stored step carries.
func commitOf(st model.Step) (string, string) {
	if st.CommittedAt == nil {
		return st.Revision, ""
	}
	return st.Revision, st.CommittedAt.Format(time.RFC3339Nano)
}

// TestRecordFillsTheCommitFromGit: in a git work tree, record sends the
// HEAD commit and its commit time; the flags set them by hand, --no-git
// turns git off, and outside a work tree nothing is sent or said.
func TestRecordFillsTheCommitFromGit(t *testing.T) {
	t.Parallel()
	// The committer's clock is two hours ahead of UTC: the time is kept
	// as the instant, in UTC.
	repo, head := gitRepo(t, "2026-03-01T10:00:00+02:00")
	const committed = "2026-03-01T08:00:00Z"
	record := []string{"record", "-q", "--component", "api", "--version", "1.4.2", "--status", "build"}
	for _, c := range []struct {
		name      string
		dir       string // "" for the harness's, outside any work tree
		flags     []string
		revision  string
		committed string
	}{
		{"in a work tree", repo, nil, head, committed},
		{"from a subdirectory", filepath.Join(repo, "sub"), nil, head, committed},
		{"--revision by hand: git not asked", repo, []string{"--revision", "v1-abc"}, "v1-abc", ""},
		{"--committed-at by hand", repo, []string{"--committed-at", "2026-03-01 07:30:00"}, head, "2026-03-01T07:30:00Z"},
		{"both by hand", "", []string{"--revision", "abc", "--committed-at", "2026-03-01T09:00:00+01:00"}, "abc", committed},
		{"--no-git", repo, []string{"--no-git"}, "", ""},
		{"outside a work tree", "", nil, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if c.dir != "" {
				if err := os.MkdirAll(c.dir, 0o755); err != nil {
					t.Fatal(err)
				}
				h.dir = c.dir
			}
			r := h.mustRun(false, append(record, c.flags...)...)
			if r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			steps := h.stored()
			if len(steps) != 1 {
				t.Fatalf("%d steps stored", len(steps))
			}
			if rev, at := commitOf(steps[0]); rev != c.revision || at != c.committed {
				t.Errorf("stored revision %q committed_at %q, want %q %q", rev, at, c.revision, c.committed)
			}
		})
	}

	t.Run("STEPSCTL_DEBUG says why there is none", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.env["STEPSCTL_DEBUG"] = "1"
		r := h.mustRun(false, record...)
		if !strings.Contains(r.stderr, "no revision from git") || !strings.Contains(r.stderr, "not a git repository") {
			t.Errorf("stderr %q, want the reason", r.stderr)
		}
	})

	t.Run("bad flags are usage errors naming them", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		for _, c := range []struct{ flag, value string }{
			{"--committed-at", "soon"},
			{"--committed-at", "2026-03-03"},
			{"--revision", strings.Repeat("f", model.MaxRevisionLen+1)},
		} {
			r := h.run(false, append(record, c.flag, c.value)...)
			if r.code != 2 || !strings.HasPrefix(r.stderr, "stepsctl: "+c.flag+": ") {
				t.Errorf("%s %s: exit %d, stderr %q", c.flag, c.value, r.code, r.stderr)
			}
		}
		if n := len(h.stored()); n != 0 {
			t.Errorf("%d steps stored", n)
		}
	})
}

// TestGitCommitTimeInTheFutureIsLeftOut: a committer's clock far ahead
// would make the server refuse the step; the revision goes, the time not.
func TestGitCommitTimeInTheFutureIsLeftOut(t *testing.T) {
	t.Parallel()
	repo, head := gitRepo(t, "2026-03-02T12:00:00Z") // three hours after t0
	h := newHarness(t)
	h.dir = repo
	h.mustRun(false, "record", "-q", "--component", "api", "--version", "1", "--status", "build")
	if rev, at := commitOf(h.stored()[0]); rev != head || at != "" {
		t.Errorf("stored %q %q, want %q and no time", rev, at, head)
	}
}

// TestBackfillLeavesOutALaterHead: a step recorded with --time before
// HEAD was committed did not deploy HEAD, so neither its revision nor its
// time is sent; one recorded after HEAD's commit time carries them.
func TestBackfillLeavesOutALaterHead(t *testing.T) {
	t.Parallel()
	repo, head := gitRepo(t, "2026-03-02T06:00:00Z") // three hours before t0
	for _, c := range []struct {
		time, revision, committed string
	}{
		{"5h", "", ""},
		{"2026-03-01 12:00:00", "", ""},
		{"2h", head, "2026-03-02T06:00:00Z"},
	} {
		h := newHarness(t)
		h.dir = repo
		h.mustRun(false, "record", "-q", "--component", "api", "--version", "1", "--status", "build", "--time", c.time)
		if rev, at := commitOf(h.stored()[0]); rev != c.revision || at != c.committed {
			t.Errorf("--time %s: stored %q %q, want %q %q", c.time, rev, at, c.revision, c.committed)
		}
	}
}

// TestRunFillsTheCommitFromGit: the records of run carry the commit, and
// so does a record kept in the spool while the server is down.
func TestRunFillsTheCommitFromGit(t *testing.T) {
	t.Parallel()
	repo, head := gitRepo(t, "2026-03-01T10:00:00+02:00")
	h := newHarness(t)
	h.dir = repo
	h.mustRun(false, "run", "--component", "api", "--version", "1", "--step", "build", "--final", "--", "true")
	h.stop()
	h.run(false, "run", "--component", "api", "--version", "2", "--step", "build", "--revision", "spooled1", "--", "true")
	h.start()
	h.mustRun(false, "flush", "-q")
	steps := h.stored()
	if len(steps) != 4 {
		t.Fatalf("%d steps stored, want 4", len(steps))
	}
	for i, st := range steps {
		want, wantAt := head, "2026-03-01T08:00:00Z"
		if i >= 2 {
			want, wantAt = "spooled1", ""
		}
		if rev, at := commitOf(st); rev != want || at != wantAt {
			t.Errorf("step %d (%s) carries %q %q, want %q %q", i, st.Status, rev, at, want, wantAt)
		}
	}
}

// TestRecordWithoutGit: with no git on the PATH, record sends neither and
// says nothing. Not parallel: it changes the process's PATH.
func TestRecordWithoutGit(t *testing.T) {
	repo, _ := gitRepo(t, "2026-03-01T10:00:00+02:00")
	t.Setenv("PATH", t.TempDir())
	h := newHarness(t)
	h.dir = repo
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	if r.stderr != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	if rev, at := commitOf(h.stored()[0]); rev != "" || at != "" {
		t.Errorf("stored %q %q, want neither", rev, at)
	}
}
