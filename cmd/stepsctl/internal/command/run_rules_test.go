package command_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestRunRecordsTheServersTerminalStatuses: on a server whose terminal
// statuses are not the defaults, run ends the deployment with the
// server's own, so that the server counts it finished.
func TestRunRecordsTheServersTerminalStatuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(h *harness) {
		h.rules = model.DeploymentRules{SuccessStatuses: []string{"shipped"}, FailureStatuses: []string{"broken"}, StuckAfter: time.Hour}
	})
	h.run(false, "run", "--component", "api", "--version", "1", "--step", "rollout", "--final", "--", "true")
	h.run(false, "run", "--component", "api", "--version", "2", "--step", "tests", "--", "false")
	h.run(false, "run", "--component", "api", "--version", "3", "--step", "tests", "--fail-status", "aborted", "--", "false")
	if got, want := statuses(h.stored()), []string{"rollout", "shipped", "tests", "broken", "tests", "aborted"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want %q", got, want)
	}
	r := h.run(false, "run", "--component", "api", "--version", "4", "--step", "tests", "--fail-status", "aborted", "--", "false")
	if want := "stepsctl: warning: the server does not count --fail-status \"aborted\" as a failure\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q lacks %q", r.stderr, want)
	}
}

// TestRunWithAnOldServer: a server without GET /v1/rules is assumed to
// use the default statuses, with a warning, and the records are made.
func TestRunWithAnOldServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/rules" {
				http.NotFound(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	r := h.run(false, "run", "--component", "api", "--version", "1", "--step", "rollout", "--final", "--", "true")
	// The line docs/stepsctl.md shows.
	want := "stepsctl: warning: the server did not give its terminal statuses (not found); assuming the defaults (finished, failed)\n"
	if r.code != 0 || r.stderr != want {
		t.Errorf("exit %d, stderr %q: want 0 and %q", r.code, r.stderr, want)
	}
	if got, want := statuses(h.stored()), []string{"rollout", "finished"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want %q", got, want)
	}
}
