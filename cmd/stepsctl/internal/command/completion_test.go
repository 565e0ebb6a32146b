package command_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// complete asks stepsctl, as a shell's TAB does, for the completions of the
// last argument of args; it returns them and the directive line.
func (h *harness) complete(args ...string) ([]string, string) {
	h.t.Helper()
	r := h.runArgs(context.Background(), false, append([]string{"__complete"}, args...))
	if r.code != 0 || r.stderr != "" && !strings.HasPrefix(r.stderr, "Completion ended") {
		h.t.Fatalf("__complete %v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	var values []string
	directive := ""
	for _, l := range lines(r.stdout) {
		if strings.HasPrefix(l, ":") {
			directive = l
			continue
		}
		values = append(values, l)
	}
	return values, directive
}

// TestFlagValuesCompleteFromTheServer: --component, --env, --owner and
// --status complete from the values the server has, by prefix, on every
// command that has them; never file names; and nothing, silently, when
// the server cannot answer.
func TestFlagValuesCompleteFromTheServer(t *testing.T) {
	h := newHarness(t)
	for _, rec := range [][]string{
		{"--component", "api", "--env", "production", "--status", "build", "--owner", "ana"},
		{"--component", "api-gateway", "--env", "staging", "--status", "tests", "--owner", "bob"},
		{"--component", "web", "--status", "build", "--owner", "ana"},
	} {
		h.mustRun(false, append([]string{"record", "-q", "--version", "1"}, rec...)...)
	}
	const noFiles = ":4" // cobra.ShellCompDirectiveNoFileComp
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", "--server", h.url, "--component", ""}, []string{"api", "api-gateway", "web"}},
		{[]string{"list", "--server", h.url, "--component", "api-"}, []string{"api-gateway"}},
		{[]string{"deployments", "--server", h.url, "--env", ""}, []string{"production", "staging"}},
		{[]string{"stats", "--server", h.url, "--owner", "b"}, []string{"bob"}},
		{[]string{"record", "--server", h.url, "--status", "t"}, []string{"tests"}},
		{[]string{"run", "--server", h.url, "--component", "w"}, []string{"web"}},
		{[]string{"changes", "--server", h.url, "--component", "x"}, nil},
	} {
		got, directive := h.complete(tt.args...)
		if !slices.Equal(got, tt.want) || directive != noFiles {
			t.Errorf("%v: %q %s, want %q %s", tt.args, got, directive, tt.want, noFiles)
		}
	}

	t.Run("SilentWhenTheServerIsDown", func(t *testing.T) {
		url := h.url
		h.stop()
		got, directive := h.complete("list", "--server", url, "--component", "")
		if got != nil || directive != noFiles {
			t.Errorf("server down: %q %s, want nothing and no file names", got, directive)
		}
	})
}

// TestCompletionGivesUpQuickly: a server that never answers costs a TAB
// the completion timeout, not stepsctl's --timeout.
func TestCompletionGivesUpQuickly(t *testing.T) {
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/values" {
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	start := time.Now()
	got, _ := h.complete("list", "--server", h.url, "--component", "")
	if took := time.Since(start); got != nil || took > 5*time.Second {
		t.Errorf("hung server: %q after %v, want nothing within about 2 s", got, took)
	}
}
