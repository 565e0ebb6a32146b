package command_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// t0 is when the tests happen, on the server's and stepsctl's clocks.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// clock is a settable clock shared by a test and the code under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a real stepsd, started in-process on a random port over a
// temporary SQLite database, and a home for stepsctl (config and state
// directories, a user name) in temporary directories.
type harness struct {
	t      *testing.T
	store  *store.Store
	srv    *httptest.Server
	addr   string
	url    string
	wrap   func(http.Handler) http.Handler
	tokens []server.Token
	config func(*server.Config)  // changes the server's config
	rules  model.DeploymentRules // the server's; zero: the defaults
	server *clock                // the server's clock
	cli    *clock                // stepsctl's clock
	env    map[string]string
	stdin  string
	// stdinReader, when set, is stepsctl's standard input instead of stdin.
	stdinReader io.Reader
	factory     *command.Factory // of the last run
	// width is the width of the terminal stdout is, when it is one (0:
	// unknown).
	width int
	// dir is stepsctl's directory for git: a temporary one, outside any
	// work tree, unless a test makes it one.
	dir string

	// errTerminal makes stepsctl's stderr a terminal (progress bars).
	errTerminal bool
	// loc is stepsctl's time zone for terminal tables; UTC when nil.
	loc *time.Location
	// notify, when set, replaces signal.Notify for run.
	notify func(c chan<- os.Signal, sig ...os.Signal)
	// tempDir is stepsctl's temporary directory when TMPDIR names none,
	// rather than the machine's /tmp.
	tempDir string
	// lookupUser, when set, replaces user.Current.
	lookupUser func() (*user.User, error)
	// httpClient, when set, is stepsctl's HTTP client.
	httpClient *http.Client
	// attemptTimeout, when set, bounds one attempt of stepsctl's requests
	// instead of the real 10 s.
	attemptTimeout time.Duration
}

type harnessOption func(*harness)

func withWrap(w func(http.Handler) http.Handler) harnessOption {
	return func(h *harness) { h.wrap = w }
}

// withServerConfig lets a test set the server's config.
func withServerConfig(f func(*server.Config)) harnessOption {
	return func(h *harness) { h.config = f }
}

func withTokens(list string) harnessOption {
	return func(h *harness) {
		tokens, err := server.ParseTokens(list)
		if err != nil {
			h.t.Fatal(err)
		}
		h.tokens = tokens
	}
}

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	home := t.TempDir()
	h := &harness{
		t:       t,
		store:   testdb.Open(t, testdb.SQLite(t)),
		server:  &clock{now: t0},
		cli:     &clock{now: t0},
		dir:     home,
		tempDir: t.TempDir(),
		env: map[string]string{
			"HOME":            home,
			"XDG_CONFIG_HOME": filepath.Join(home, "config"),
			"XDG_STATE_HOME":  filepath.Join(home, "state"),
			"USER":            "ana",
		},
	}
	for _, o := range opts {
		o(h)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// start starts the server, on the same address as before after a stop, so
// that records spooled for it are delivered to it.
func (h *harness) start() {
	h.t.Helper()
	cfg := server.Config{Store: h.store, Now: h.server.Now, Tokens: h.tokens, Rules: h.rules}
	if h.config != nil {
		h.config(&cfg)
	}
	var handler http.Handler = server.New(cfg)
	if h.wrap != nil {
		handler = h.wrap(handler)
	}
	srv := httptest.NewUnstartedServer(handler)
	if h.addr != "" {
		srv.Listener.Close()
		l, err := net.Listen("tcp", h.addr)
		if err != nil {
			h.t.Fatalf("listen again on %s: %v", h.addr, err)
		}
		srv.Listener = l
	}
	srv.Start()
	h.srv, h.addr, h.url = srv, srv.Listener.Addr().String(), srv.URL
}

func (h *harness) stop() {
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
}

// result is what one stepsctl run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// fastRetry keeps outage tests quick; the policy is the client's, tested
// in pkg/client.
var fastRetry = client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 5 * time.Second}

// run runs stepsctl in-process against the harness server. terminal says
// whether stdout is a terminal.
func (h *harness) run(terminal bool, args ...string) result {
	h.t.Helper()
	return h.runContext(context.Background(), terminal, args...)
}

// runContext is run with a context, cancelled as a signal would.
func (h *harness) runContext(ctx context.Context, terminal bool, args ...string) result {
	h.t.Helper()
	return h.runArgs(ctx, terminal, append([]string{"--server", h.url}, args...))
}

// runArgs runs stepsctl with exactly args: no --server added.
func (h *harness) runArgs(ctx context.Context, terminal bool, args []string) result {
	h.t.Helper()
	var out, errOut bytes.Buffer
	var in io.Reader = strings.NewReader(h.stdin)
	if h.stdinReader != nil {
		in = h.stdinReader
	}
	retry := fastRetry
	f := &command.Factory{
		IO:      &output.Streams{In: in, Out: &out, ErrOut: &errOut, IsTerminal: terminal, ErrIsTerminal: h.errTerminal, Width: h.width},
		Getenv:  func(k string) string { return h.env[k] },
		Now:     h.cli.Now,
		Loc:     cmp.Or(h.loc, time.UTC),
		Version: "1.0.0-test",
		Dir:     h.dir,
		Retry:   &retry,
		Viper:   viper.New(),
		Notify:  h.notify,

		TempDir:    h.tempDir,
		LookupUser: h.lookupUser,

		HTTPClient:     h.httpClient,
		AttemptTimeout: h.attemptTimeout,
	}
	if h.notify != nil {
		f.StopNotify = func(chan<- os.Signal) {}
	}
	h.factory = f
	code := command.Main(ctx, f, args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// mustRun runs stepsctl and fails the test unless it exits 0.
func (h *harness) mustRun(terminal bool, args ...string) result {
	h.t.Helper()
	r := h.run(terminal, args...)
	if r.code != 0 {
		h.t.Fatalf("stepsctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// serverSays returns the body the server answers path with, to compare
// stepsctl's output with the server's own formats.
func (h *harness) serverSays(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return string(body)
}

// recordAll records ins through the API in one batch, as a deploy history
// to ask about, and returns the client that did it.
func (h *harness) recordAll(ins []model.StepInput) *client.Client {
	h.t.Helper()
	c, err := client.New(h.url)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// stored returns every stored step, straight from the database.
func (h *harness) stored() []model.Step {
	h.t.Helper()
	var out []model.Step
	if _, err := h.store.ListSteps(context.Background(), model.Filter{}, func(s model.Step) error {
		out = append(out, s)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// spoolPath is where stepsctl keeps undelivered records in the harness.
func (h *harness) spoolPath() string {
	return filepath.Join(h.env["XDG_STATE_HOME"], "stepsctl", "spool.ndjson")
}

func decodeNDJSON(t *testing.T, s string) []model.Step {
	t.Helper()
	var out []model.Step
	dec := json.NewDecoder(strings.NewReader(s))
	for dec.More() {
		var st model.Step
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("ndjson %q: %v", s, err)
		}
		out = append(out, st)
	}
	return out
}

// lines splits output into lines without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
