package command_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/client/spool"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSpoolWhileServerDown: with the server stopped, record spools, says
// so on stderr and exits 0; with the server back, the next command
// delivers the record first, once, with its original time.
func TestSpoolWhileServerDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()

	recordedAt := t0.Add(123456 * time.Microsecond)
	h.cli.Set(recordedAt)
	r := h.run(false, "record", "--component", "api", "--version", "1.2.0", "--env", "production", "--status", "rollout")
	if r.code != 0 {
		t.Fatalf("record with the server down exited %d, want 0; stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing (nothing was stored yet)", r.stdout)
	}
	if got := lines(r.stderr); len(got) != 1 || !strings.Contains(got[0], "cannot reach") || !strings.Contains(got[0], "spooled to "+h.spoolPath()) {
		t.Errorf("stderr = %q, want one line saying the record was spooled", r.stderr)
	}
	if _, err := os.Stat(h.spoolPath()); err != nil {
		t.Fatalf("spool file: %v", err)
	}

	t.Run("--no-spool fails instead", func(t *testing.T) {
		r := h.run(false, "record", "--no-spool", "--component", "api", "--version", "1.2.0", "--status", "build")
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		if got := lines(r.stderr); len(got) != 1 || !strings.HasPrefix(got[0], "stepsctl: cannot reach") {
			t.Errorf("stderr = %q, want one line", r.stderr)
		}
	})
	t.Run("list fails while the server is down", func(t *testing.T) {
		r := h.run(false, "list")
		if r.code != 1 || len(lines(r.stderr)) != 1 {
			t.Errorf("exit %d, stderr %q; want 1 and one line", r.code, r.stderr)
		}
	})

	// The server comes back, ten minutes later.
	h.server.Set(t0.Add(10 * time.Minute))
	h.cli.Set(t0.Add(10 * time.Minute))
	h.start()
	r = h.mustRun(false, "list", "-o", "ndjson")
	if r.stderr != "stepsctl: delivered 1 spooled record(s)\n" {
		t.Errorf("stderr = %q, want the delivery reported", r.stderr)
	}
	got := decodeNDJSON(t, r.stdout)
	if len(got) != 1 {
		t.Fatalf("list after the outage = %q, want the spooled step", r.stdout)
	}
	if !got[0].Time.Equal(recordedAt) {
		t.Errorf("time = %v, want the original %v", got[0].Time, recordedAt)
	}
	if !got[0].ReceivedAt.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("received_at = %v, want the delivery time", got[0].ReceivedAt)
	}
	if _, err := os.Stat(h.spoolPath()); !os.IsNotExist(err) {
		t.Errorf("spool file still there: %v", err)
	}

	// Nothing is delivered twice.
	r = h.mustRun(false, "list", "-o", "ndjson")
	if r.stderr != "" || len(decodeNDJSON(t, r.stdout)) != 1 {
		t.Errorf("second list: stderr %q, stdout %q", r.stderr, r.stdout)
	}
	if n := len(h.stored()); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
}

func TestFlush(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	if r := h.mustRun(false, "flush"); r.stdout != "Nothing to deliver: the spool is empty.\n" {
		t.Errorf("flush of nothing printed %q", r.stdout)
	}

	h.stop()
	for _, status := range []string{"build", "tests"} {
		h.cli.Add(time.Minute)
		h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", status)
	}
	r := h.run(false, "flush")
	if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "2 still waiting") {
		t.Errorf("flush while down: exit %d, stderr %q; want 1 and one line", r.code, r.stderr)
	}

	h.start()
	r = h.mustRun(false, "flush")
	if r.stdout != "Delivered 2 record(s).\n" {
		t.Errorf("flush printed %q", r.stdout)
	}
	steps := h.stored()
	if len(steps) != 2 || steps[0].Status != "build" || !steps[0].Time.Equal(t0.Add(time.Minute)) || !steps[1].Time.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("stored %+v, want build then tests at their original times", steps)
	}
	if r := h.mustRun(false, "flush", "-q"); r.stdout != "" {
		t.Errorf("flush -q printed %q", r.stdout)
	}
}

// TestFlushNamesOtherServers: records spooled for another server stay,
// flush names that server and exits 1, and --all delivers them to it.
func TestFlushNamesOtherServers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	other := newHarness(t)
	other.env = h.env // one user, one spool
	other.stop()
	for _, status := range []string{"build", "tests"} {
		other.mustRun(false, "record", "--component", "api", "--version", "1", "--status", status, "-q")
	}
	other.start()

	r := h.run(false, "flush")
	want := "stepsctl: 2 record(s) for other servers still wait in " + h.spoolPath() + " (2 for " + other.url + "); " +
		`deliver them with "stepsctl flush --server URL" or "stepsctl flush --all"` + "\n"
	if r.code != 1 || r.stdout != "Delivered 0 record(s).\n" || r.stderr != want {
		t.Errorf("flush: exit %d, stdout %q, stderr %q; want 1, nothing delivered and\n%q", r.code, r.stdout, r.stderr, want)
	}
	if n := len(other.stored()); n != 0 {
		t.Errorf("the other server stored %d steps before --all, want 0", n)
	}

	r = h.run(false, "flush", "--all")
	if r.code != 0 || r.stdout != "Delivered 2 record(s).\n" || r.stderr != "" {
		t.Errorf("flush --all: exit %d, stdout %q, stderr %q; want 0 and 2 delivered", r.code, r.stdout, r.stderr)
	}
	if n := len(other.stored()); n != 2 {
		t.Errorf("the other server stored %d steps, want 2", n)
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("the configured server stored %d steps, want 0", n)
	}
}

// TestFlushHidesPasswordOfOtherServer: records spooled for a server URL
// with a password in it (basic auth for a proxy) are named by flush
// without it, in the line that lists them and in the one that says they
// could not be delivered: stderr ends up in CI logs, and the spool keeps
// no password to show.
func TestFlushHidesPasswordOfOtherServer(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-pass"
	h := newHarness(t)
	other := newHarness(t)
	other.env = h.env // one user, one spool
	other.stop()
	withPassword := strings.Replace(other.url, "http://", "http://ci:"+secret+"@", 1)
	r := other.runArgs(context.Background(), false, []string{"--server", withPassword, "record", "--component", "api", "--version", "1", "--status", "build", "-q"})
	if r.code != 0 || strings.Contains(r.stderr, secret) {
		t.Errorf("record while down: exit %d, stderr %q; want 0 and no password", r.code, r.stderr)
	}
	for _, args := range [][]string{{"flush"}, {"flush", "--all"}} {
		r := h.run(false, args...)
		if r.code != 1 || strings.Contains(r.stderr, secret) || !strings.Contains(r.stderr, other.url) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and the server named without its password (the spool keeps none)", args, r.code, r.stderr)
		}
	}
}

// TestRecordDeliversSpoolFirst: a record made when the server is back
// sends the spooled one first.
func TestRecordDeliversSpoolFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build")
	h.start()
	h.server.Add(time.Minute)
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "tests")
	if !strings.Contains(r.stderr, "delivered 1 spooled record(s)") {
		t.Errorf("stderr = %q", r.stderr)
	}
	steps := h.stored()
	if len(steps) != 2 || steps[0].Status != "build" || steps[1].Status != "tests" {
		t.Errorf("stored %+v, want build then tests", steps)
	}
}

// dropFirstResponse lets the real handler store the first POST, then
// hijacks and closes the connection instead of answering.
func dropFirstResponse(h http.Handler) http.Handler {
	var dropped atomic.Bool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && dropped.CompareAndSwap(false, true) {
			h.ServeHTTP(httptest.NewRecorder(), r)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestLostResponseStoredOnce: the server commits the record but the
// connection drops before the answer; record retries with the same
// idempotency key and the step is stored once.
func TestLostResponseStoredOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		lossy := dropFirstResponse(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				mu.Unlock()
			}
			lossy.ServeHTTP(w, r)
		})
	}))
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "migrate", "-o", "ndjson")
	got := decodeNDJSON(t, r.stdout)
	if len(got) != 1 || got[0].ID != 1 {
		t.Errorf("record printed %q, want step 1", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing: the retry succeeded", r.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) < 2 || keys[0] != keys[1] || keys[0] == "" {
		t.Errorf("POST keys %q, want a retry with the same key", keys)
	}
	if n := len(h.stored()); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
}

// TestRefusalsAreNotSpooled: a 4xx is the caller's mistake, not an outage.
// TestRefusedTokenIsSpooled: a token the server refuses, missing or
// read-only, does not stop the deploy: the record is spooled with a line
// that says so, and flush with the right token delivers it. --no-spool
// fails instead.
func TestRefusedTokenIsSpooled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withTokens("write:ci-secret-1,read:dash-secret-1"))
	for _, tc := range []struct {
		token, status, hint string
	}{
		{"", "HTTP 401", "--token"},
		{"dash-secret-1", "HTTP 403", "write token"},
	} {
		r := h.run(false, "--token", tc.token, "record", "--component", "api", "--version", "1", "--status", "build")
		if r.code != 0 {
			t.Errorf("token %q: exit %d, want 0", tc.token, r.code)
		}
		if got := lines(r.stderr); len(got) != 1 || !strings.Contains(got[0], tc.status) || !strings.Contains(got[0], tc.hint) ||
			!strings.HasSuffix(got[0], `spooled to `+h.spoolPath()+` (1 waiting), fix the token, then run "stepsctl flush"`) {
			t.Errorf("token %q: stderr = %q, want one line with the %s, a hint and the spool", tc.token, r.stderr, tc.status)
		}
		r = h.run(false, "--token", "ci-secret-1", "flush")
		if r.code != 0 || r.stdout != "Delivered 1 record(s).\n" {
			t.Errorf("flush with the right token: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	}
	if n := len(h.stored()); n != 2 {
		t.Errorf("stored %d steps, want 2", n)
	}
	r := h.run(false, "record", "--no-spool", "--component", "api", "--version", "1", "--status", "build")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 401") {
		t.Errorf("--no-spool: exit %d, stderr %q; want 1 and the 401", r.code, r.stderr)
	}
}

// TestProxyPageInsteadOfTheServer: a proxy that answers 200 with a page of
// its own (a login portal, an ingress's default backend) stores nothing:
// record spools, says what came back, and the deploy goes on; once the
// path is fixed the record is delivered, once.
func TestProxyPageInsteadOfTheServer(t *testing.T) {
	t.Parallel()
	var portal atomic.Bool
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if portal.Load() {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html><body>Please sign in</body></html>")
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	portal.Store(true)
	r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	if r.code != 0 || !strings.Contains(r.stderr, `with a body that is not the API's JSON (Content-Type "text/html")`) || !strings.Contains(r.stderr, "record spooled to") {
		t.Errorf("exit %d, stderr %q; want 0, what came back, and the record spooled", r.code, r.stderr)
	}
	portal.Store(false)
	if r := h.mustRun(false, "flush"); r.stdout != "Delivered 1 record(s).\n" {
		t.Errorf("flush printed %q", r.stdout)
	}
	if n := len(h.stored()); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
}

// TestServerURLThatRedirects: a --server that redirects (http to https)
// would have turned each record into a GET of the list; record fails
// (exit 1) with the URL to use, as for any other wrong --server.
func TestServerURLThatRedirects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, h.url+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	t.Cleanup(old.Close)
	r := h.runArgs(context.Background(), false, []string{"--server", old.URL, "record", "--component", "api", "--version", "1", "--status", "build", "-q"})
	if r.code != 1 || !strings.HasSuffix(r.stderr, "use "+h.url+" as the server URL\n") || len(lines(r.stderr)) != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line with the URL to use", r.code, r.stderr)
	}
	if _, err := os.Stat(h.spoolPath()); !os.IsNotExist(err) {
		t.Errorf("the record was spooled for a URL that redirects: %v", err)
	}
}

// TestTokenFromAFileWithItsNewline: STEPSCTL_TOKEN set from a file or a
// Kubernetes secret keeps the file's final newline. The step is stored,
// not spooled as if the server could not be reached (net/http refuses the
// header) and left there until someone finds the newline.
func TestTokenFromAFileWithItsNewline(t *testing.T) {
	h := newHarness(t, withTokens("write:ci-secret-1"))
	t.Setenv("STEPSCTL_TOKEN", "ci-secret-1\n") // viper reads the process's environment
	r := h.run(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
	if n := len(h.stored()); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
	t.Setenv("STEPSCTL_TOKEN", "ci-sec\x01ret-1")
	r = h.run(false, "record", "--component", "api", "--version", "1", "--status", "tests", "-q")
	if r.code != 2 || !strings.Contains(r.stderr, "the token holds a control character (U+0001 at byte 6)") {
		t.Errorf("a token with a control character inside: exit %d, stderr %q; want 2 and the character named", r.code, r.stderr)
	}
}

func TestRefusalsAreNotSpooled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withTokens("write:ci-secret-1"))

	// A time the server refuses (too far in the future).
	r := h.run(false, "--token", "ci-secret-1", "record", "--component", "api", "--version", "1", "--status", "build", "--time", "2030-01-01")
	if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "future") {
		t.Errorf("exit %d, stderr %q; want 1 and one line about the time", r.code, r.stderr)
	}
	if _, err := os.Stat(h.spoolPath()); !os.IsNotExist(err) {
		t.Errorf("a refused record was spooled: %v", err)
	}
	h.mustRun(false, "--token", "ci-secret-1", "record", "--component", "api", "--version", "1", "--status", "build")
	if n := len(h.stored()); n != 1 {
		t.Errorf("stored %d steps, want 1", n)
	}
}

// TestInterruptedRecordIsSpooled: a record cut short by a signal (a CI
// job's timeout) while the server hangs is kept, and the exit says so.
func TestInterruptedRecordIsSpooled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.Copy(io.Discard, r.Body) // then the server notices the client leave
				<-r.Context().Done()        // hang until the client gives up
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := h.runContext(ctx, false, "record", "--component", "api", "--version", "1", "--status", "rollout")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if got := lines(r.stderr); len(got) != 1 || !strings.Contains(got[0], "record spooled to "+h.spoolPath()) {
		t.Errorf("stderr = %q, want one line saying the record was spooled", r.stderr)
	}
	b, err := os.ReadFile(h.spoolPath())
	if err != nil || len(lines(string(b))) != 1 {
		t.Errorf("spool = %q, %v; want one record", b, err)
	}
}

// TestTimeoutBoundsTheWholeCommand: against a server that accepts and
// never answers, record with a spooled record waiting gives up after
// --timeout in all, delivery of the spool included, and spools its record.
func TestTimeoutBoundsTheWholeCommand(t *testing.T) {
	t.Parallel()
	var hang atomic.Bool
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hang.Load() {
				io.Copy(io.Discard, r.Body)
				<-r.Context().Done() // hang until the client gives up
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	h.stop()
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	hang.Store(true)
	h.start()

	const timeout = 2 * time.Second
	start := time.Now()
	r := h.run(false, "record", "--timeout", timeout.String(), "--component", "api", "--version", "1", "--status", "tests", "-q")
	elapsed := time.Since(start)
	if r.code != 0 || !strings.Contains(r.stderr, "record spooled to") {
		t.Errorf("exit %d, stderr %q; want 0 and the record spooled", r.code, r.stderr)
	}
	// Delivery and record each took a whole --timeout before.
	if elapsed > timeout+timeout/2 {
		t.Errorf("record took %s with --timeout %s", elapsed.Round(time.Millisecond), timeout)
	}
	b, err := os.ReadFile(h.spoolPath())
	if err != nil || len(lines(string(b))) != 2 {
		t.Errorf("spool = %q, %v; want both records", b, err)
	}
}

// TestSpooledRecordKeepsTheTimeItWasCalled: the time a spooled record
// carries is when record was called, not when it got round to its own
// request after delivering older records: against a tracker that takes
// long to fail, that delivery used up to half of --timeout, and every step
// after the first of an outage was late by as much (its phase before it
// too long, the deploy too long).
func TestSpooledRecordKeepsTheTimeItWasCalled(t *testing.T) {
	t.Parallel()
	var (
		h    *harness
		down atomic.Bool
	)
	h = newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() && r.Method == http.MethodPost {
				// Each request to the failing tracker takes 7 s of
				// stepsctl's clock before it fails.
				h.cli.Add(7 * time.Second)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":"the database is unavailable","code":"unavailable"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	down.Store(true)
	build := t0
	h.cli.Set(build)
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	tests := t0.Add(time.Hour)
	h.cli.Set(tests)
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "tests", "-q")
	if !strings.Contains(r.stderr, "record spooled to") {
		t.Fatalf("stderr = %q, want the record spooled", r.stderr)
	}
	down.Store(false)
	h.server.Set(h.cli.Now())
	h.mustRun(false, "flush", "-q")

	steps := h.stored()
	if len(steps) != 2 {
		t.Fatalf("stored %d steps, want 2", len(steps))
	}
	for i, want := range []time.Time{build, tests} {
		if got := steps[i].Time; !got.Equal(want) {
			t.Errorf("%s: time %s, want %s (when record was called)", steps[i].Status, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
	}
}

// TestRecordThroughARestartKeepsItsTime: stepsd, restarting, refuses the
// first attempt of a record; the retry that gets through stores the step
// at the moment record first tried, not when stepsd was back (a deploy's
// phase before it would read long by the restart).
func TestRecordThroughARestartKeepsItsTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()
	// Receipt times a minute after the attempts, on the server's clock.
	h.server.Set(time.Now().Add(time.Minute))
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	var refused atomic.Int32
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil && refused.Add(1) == 1 {
			h.start() // back for the next attempt
		}
		return conn, err
	}
	t.Cleanup(tr.CloseIdleConnections)
	h.httpClient = &http.Client{Transport: tr}
	before := time.Now()
	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "-q")
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing (the retry got through)", r.stderr)
	}
	steps := h.stored()
	if len(steps) != 1 {
		t.Fatalf("stored %d steps, want 1", len(steps))
	}
	if got := steps[0].Time; got.Before(before.Add(-time.Millisecond)) || got.After(before.Add(5*time.Second)) {
		t.Errorf("time %s, want when record first tried (%s), not the receipt %s",
			got.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano), steps[0].ReceivedAt.Format(time.RFC3339Nano))
	}
}

// TestFlushOfALargeSpool: a long outage leaves thousands of records; flush
// delivers each once, in order, with its time, and does not write the
// whole spool file anew after each one (5,000 records took 1m44s to flush,
// most of it rewriting the file): the file a request finds changes every
// so often, not between every two requests.
func TestFlushOfALargeSpool(t *testing.T) {
	t.Parallel()
	const n = 1500
	var (
		h     *harness
		mu    sync.Mutex
		sizes = map[int64]bool{}
	)
	h = newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				if fi, err := os.Stat(h.spoolPath()); err == nil {
					mu.Lock()
					sizes[fi.Size()] = true
					mu.Unlock()
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err := os.MkdirAll(filepath.Dir(h.spoolPath()), 0o700); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range n {
		e := spool.Entry{
			Key:       fmt.Sprintf("large-spool-%05d", i),
			Server:    h.url,
			Input:     model.StepInput{Component: "api", Version: fmt.Sprintf("1.%d", i/4), Owner: "ana", Status: []string{"build", "tests", "rollout", "finished"}[i%4], Time: t0.Add(-time.Duration(n-i) * time.Second)},
			SpooledAt: t0,
		}
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(h.spoolPath(), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := h.mustRun(false, "flush")
	elapsed := time.Since(start)
	if want := fmt.Sprintf("Delivered %d record(s).\n", n); r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if _, err := os.Stat(h.spoolPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the spool is still there after every record was delivered: %v", err)
	}
	steps := h.stored()
	if len(steps) != n {
		t.Fatalf("stored %d steps, want %d", len(steps), n)
	}
	for i, s := range steps {
		if want := t0.Add(-time.Duration(n-i) * time.Second); !s.Time.Equal(want) || s.ID != int64(i+1) {
			t.Fatalf("step %d: id %d at %s, want id %d at %s (in spool order, with its time)", i, s.ID, s.Time.Format(time.TimeOnly), i+1, want.Format(time.TimeOnly))
		}
	}
	// At most once every 250 ms (spool's rewriteEvery), however slow the
	// host: rewritten after each record, 1,500 records take far longer.
	if most := int(elapsed/(250*time.Millisecond)) + 2; len(sizes) > most {
		t.Errorf("the spool file was written anew %d times for %d records in %s, want at most every 250 ms (%d), not after each record",
			len(sizes), n, elapsed.Round(time.Millisecond), most)
	}
}
