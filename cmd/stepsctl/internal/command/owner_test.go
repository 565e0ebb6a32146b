package command_test

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"testing"
)

// TestOwnerOfAnAccountWithoutAName: a runner whose uid has no passwd
// entry (a container run under an arbitrary uid) and no USER or LOGNAME
// records and runs its steps all the same, as owner uid-N, and one line on
// stderr says how to name the owner, rather than stopping the deploy.
func TestOwnerOfAnAccountWithoutAName(t *testing.T) {
	t.Parallel()
	uid := os.Getuid()
	if uid < 0 {
		t.Skip("no uids here")
	}
	want := fmt.Sprintf("uid-%d", uid)
	warning := fmt.Sprintf("stepsctl: warning: uid %d has no user name (no passwd entry, USER and LOGNAME unset); recording owner %q: name who deploys with --owner or USER\n", uid, want)
	nameless := func(t *testing.T) *harness {
		h := newHarness(t)
		delete(h.env, "USER")
		// What user.Current says of a uid without a passwd entry.
		h.lookupUser = func() (*user.User, error) { return nil, user.UnknownUserIdError(uid) }
		return h
	}

	t.Run("record", func(t *testing.T) {
		t.Parallel()
		h := nameless(t)
		r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
		if r.code != 0 || r.stderr != warning {
			t.Errorf("record: exit %d, stderr %q; want 0 and %q", r.code, r.stderr, warning)
		}
		if steps := h.stored(); len(steps) != 1 || steps[0].Owner != want {
			t.Errorf("stored %+v, want one step owned by %s", steps, want)
		}
	})
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		h := nameless(t)
		r := h.run(false, "run", "--component", "api", "--version", "1", "--step", "build", "--", "true")
		if r.code != 0 || r.stderr != warning {
			t.Errorf("run: exit %d, stderr %q; want 0 and %q", r.code, r.stderr, warning)
		}
		steps := h.stored()
		if len(steps) != 2 || steps[0].Owner != want || steps[1].Owner != want {
			t.Errorf("stored %+v, want both steps owned by %s", steps, want)
		}
	})
	t.Run("named by --owner or LOGNAME", func(t *testing.T) {
		t.Parallel()
		h := nameless(t)
		r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build", "--owner", "ci", "-q")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("record --owner: exit %d, stderr %q; want 0 and no warning", r.code, r.stderr)
		}
		h.env["LOGNAME"] = "bo"
		r = h.run(false, "record", "--component", "api", "--version", "1", "--status", "tests", "-q")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("record with LOGNAME: exit %d, stderr %q; want 0 and no warning", r.code, r.stderr)
		}
		var got []string
		for _, s := range h.stored() {
			got = append(got, s.Owner)
		}
		if strings.Join(got, ",") != "ci,bo" {
			t.Errorf("owners %q, want ci then bo", got)
		}
	})
}
