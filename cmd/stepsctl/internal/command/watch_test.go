package command_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/internal/etatest"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// etaHarness is a harness whose server holds the crafted history of
// internal/etatest, both clocks at etatest.Now, and a stuck deployment.
func etaHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.server.Set(etatest.Now)
	h.cli.Set(etatest.Now)
	h.env["TERM"] = "xterm"
	steps := append(etatest.Steps(), model.StepInput{Component: "queue", Version: "5", Environment: "prod", Owner: "bo", Status: "rollout",
		Time: etatest.Now.Add(-2 * time.Hour)})
	for _, in := range steps {
		h.record(t, in)
	}
	return h
}

func (h *harness) record(t *testing.T, in model.StepInput) {
	t.Helper()
	if _, _, err := h.store.CreateStep(context.Background(), in, model.RecordMeta{ReceivedAt: h.server.Now()}); err != nil {
		t.Fatal(err)
	}
}

// Piped, watch prints one snapshot of the deployments in progress, with
// the server's hand-checked ETAs, and exits.
func TestWatchPipedPrintsOneSnapshot(t *testing.T) {
	h := etaHarness(t)
	r := h.mustRun(false, "watch")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	// The running deployments, oldest first: 7 of etatest and queue.
	if len(lines) != 8 || !strings.Contains(lines[0], "\tqueue\t5\tprod\tbo\trollout\t7200\t\t\t\ttrue\tfalse") {
		t.Fatalf("snapshot:\n%s", r.stdout)
	}
	want := "2026-03-02T16:57:50Z\tapi\tr-tests\tprod\tana\ttests\t130\t235\t105\t2026-03-02T17:01:45Z\tfalse\tfalse"
	if !strings.Contains(r.stdout, want+"\n") {
		t.Errorf("snapshot lacks %q:\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stdout, "\tweb\tr-build\tprod\tana\tbuild\t30\t\t\t\tfalse\tfalse\n") {
		t.Errorf("web r-build should have no ETA:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("escape sequences in a pipe: %q", r.stdout)
	}
}

// --once in a terminal prints the table once, no cursor control.
func TestWatchOnceInATerminal(t *testing.T) {
	h := etaHarness(t)
	r := h.mustRun(true, "watch", "--once", "--component", "api")
	if strings.Contains(r.stdout, "\x1b[H") || strings.Contains(r.stdout, "\x1b[?25l") {
		t.Errorf("--once moved the cursor: %q", r.stdout)
	}
	// Rows with their cells, whatever the column widths; oldest first.
	var rows []string
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	want := []string{
		"Every 2s: 6 in progress, 2026-03-02 17:00:00 +00:00",
		"COMPONENT VERSION ENV OWNER STEP ELAPSED PROGRESS ETA",
		"api r-tests-overrun prod ana tests 6m40s 8m00s ██████████████████░░ 92% overdue",
		"api r-deploy-overrun prod ana deploy 1m40s 5m00s ████████████████████ 100% overdue",
		"api r-deploy prod ana deploy 10s 3m30s ██████████████████░░ 87% 30s",
		"api r-tests prod ana tests 50s 2m10s ███████████░░░░░░░░░ 55% 1m45s",
		"api r-canary prod ana canary 30s 1m00s - -",
		"api r-build prod ana build 30s 30s ███░░░░░░░░░░░░░░░░░ 12% 3m30s",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant (spaces collapsed):\n%s", r.stdout, strings.Join(want, "\n"))
	}
	if strings.Contains(r.stdout, "web") || strings.Contains(r.stdout, "queue") {
		t.Errorf("--component api shows others:\n%s", r.stdout)
	}
}

// ptyOutput collects what a program wrote to a pseudo-terminal.
type ptyOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
}

func readPTY(ptmx *os.File) *ptyOutput {
	o := &ptyOutput{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		b := make([]byte, 4096)
		for {
			n, err := ptmx.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return o
}

func (o *ptyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// lastFrame is the last frame drawn in full: from the last cursor-home
// to the clear-screen that ends it.
func (o *ptyOutput) lastFrame() string {
	s := o.String()
	end := strings.LastIndex(s, "\x1b[J")
	if end < 0 {
		return ""
	}
	start := strings.LastIndex(s[:end], "\x1b[H")
	return s[start+len("\x1b[H") : end]
}

// waitFrame waits for a frame for which ok holds. The deadline only
// bounds a broken test: a frame comes every 500ms.
func (o *ptyOutput) waitFrame(t *testing.T, what string, ok func(frame string) bool) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if f := o.lastFrame(); f != "" && ok(f) {
			return f
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no frame %s; output so far:\n%q", what, o.String())
	return ""
}

// watchTerminal is a pseudo-terminal of cols columns and 30 rows, with a
// Factory that writes to it as stepsctl does in a terminal, against h:
// the Factory, the terminal's side (closed by the test when done) and
// what the terminal shows.
func watchTerminal(t *testing.T, h *harness, cols uint16, retry *client.RetryPolicy) (*command.Factory, *os.File, *ptyOutput) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 30, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	f := &command.Factory{
		IO:      &output.Streams{In: strings.NewReader(""), Out: tty, ErrOut: io.Discard, IsTerminal: term.IsTerminal(int(tty.Fd()))},
		Getenv:  func(k string) string { return h.env[k] },
		Now:     h.cli.Now,
		Loc:     time.UTC,
		Version: "1.0.0-test",
		Retry:   retry,
		Viper:   viper.New(),
	}
	return f, tty, readPTY(ptmx)
}

// In a terminal (a pseudo-terminal here), watch redraws in place: a
// deployment that finishes stays with its outcome, then goes; a stuck one
// is red; cancelling (what Ctrl-C does, see TestWatchCtrlC) exits 0 with
// the cursor shown again.
func TestWatchRefreshesInAPseudoTerminal(t *testing.T) {
	h := etaHarness(t)
	f, tty, out := watchTerminal(t, h, 110, &fastRetry)
	if !f.IO.IsTerminal {
		t.Fatal("the pseudo-terminal is not a terminal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- command.Main(ctx, f, []string{"--server", h.url, "watch", "--interval", "500ms"}) }()

	first := out.waitFrame(t, "with r-tests and its ETA", func(f string) bool {
		return strings.Contains(f, "r-tests ") && strings.Contains(f, "1m45s")
	})
	if !strings.Contains(first, "Every 500ms: 8 in progress, 2026-03-02 17:00:00 +00:00") {
		t.Errorf("title: %q", first)
	}
	// The stuck deployment's line is red, and says so.
	if !strings.Contains(first, "\x1b[31mqueue") || !strings.Contains(first, "rollout 2h00m STUCK") {
		t.Errorf("stuck deployment not red: %q", first)
	}
	if !strings.HasPrefix(out.String(), "\x1b[?25l") {
		t.Errorf("cursor not hidden: %q", out.String()[:min(20, len(out.String()))])
	}

	// r-tests finishes: it stays, with its outcome, in green.
	h.record(t, model.StepInput{Component: "api", Version: "r-tests", Environment: "prod", Owner: "ana", Status: "finished", Time: etatest.Now})
	out.waitFrame(t, "with r-tests finished", func(f string) bool {
		return strings.Contains(f, "\x1b[32mapi        r-tests ") && strings.Contains(f, "success (finished)") &&
			strings.Contains(f, "7 in progress")
	})
	// Past the moment it stays, it goes.
	h.cli.Add(11 * time.Second)
	out.waitFrame(t, "without r-tests", func(f string) bool {
		return !strings.Contains(f, "r-tests ") && strings.Contains(f, "r-tests-overrun")
	})

	// The server goes away: the last rows stay under the error, and the
	// watch goes on until it is back.
	h.stop()
	down := out.waitFrame(t, "with the error and the last rows", func(f string) bool {
		return strings.HasPrefix(f, "Retrying every 500ms: cannot reach") && strings.Contains(f, "r-tests-overrun")
	})
	// Why, on the first line of 110 cells: the server's URL, not the
	// refresh's with its query, which left no room for the reason.
	if line, _, _ := strings.Cut(down, "\r\n"); !strings.Contains(line, "cannot reach "+h.url+": connect: connection refused") {
		t.Errorf("first line: %q", line)
	}
	h.start()
	out.waitFrame(t, "after the server is back", func(f string) bool { return strings.HasPrefix(f, "Every 500ms") })

	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d after cancel, want 0", c)
	}
	tty.Close()
	<-out.done // the reader has read all: the master reads EIO once the terminal is closed
	if s := out.String(); !strings.HasSuffix(s, "\x1b[?25h") {
		t.Errorf("cursor not shown again at exit: %q", s[max(0, len(s)-40):])
	}
}

// In a terminal 60 cells wide, watch keeps the ETA and the elapsed time
// on screen: the bar shrinks to its percentage, then the owner, the
// environment and the progress go. Cut at the end as they were, the lines lost ELAPSED,
// PROGRESS and ETA to the bar's 20 cells.
func TestWatchInANarrowTerminalKeepsTheETA(t *testing.T) {
	h := etaHarness(t)
	f, tty, out := watchTerminal(t, h, 60, &fastRetry)
	if code := command.Main(context.Background(), f, []string{"--server", h.url, "watch", "--once", "--component", "api"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	tty.Close()
	<-out.done
	var rows []string
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\r\n"), "\r\n") {
		if n := runewidth.StringWidth(line); n > 60 {
			t.Errorf("line of %d cells: %q", n, line)
		}
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	want := []string{
		"Every 2s: 6 in progress, 2026-03-02 17:00:00 +00:00",
		"COMPONENT VERSION STEP ELAPSED ETA",
		"api r-tests-overrun tests 6m40s 8m00s overdue",
		"api r-deploy-overrun deploy 1m40s 5m00s overdue",
		"api r-deploy deploy 10s 3m30s 30s",
		"api r-tests tests 50s 2m10s 1m45s",
		"api r-canary canary 30s 1m00s -",
		"api r-build build 30s 30s 3m30s",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant (spaces collapsed):\n%s", out.String(), strings.Join(want, "\n"))
	}
}

// A server that stops answering (hung, its host gone) does not freeze the
// screen: while a refresh waits, each tick says for how long, over the
// last rows, and the watch takes up again when the server answers. Before,
// the loop waited for the refresh, and the last frame, its clock
// included, stayed as it was for the client's whole --timeout.
func TestWatchSaysWhenTheServerDoesNotAnswer(t *testing.T) {
	var mu sync.Mutex
	var hung chan struct{} // closed to release the requests held; nil: answer
	h := etaHarness(t)
	h.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			gate := hung
			mu.Unlock()
			if gate != nil {
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	h.stop()
	h.start()
	retry := client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 30 * time.Second}
	f, tty, out := watchTerminal(t, h, 110, &retry)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- command.Main(ctx, f, []string{"--server", h.url, "watch", "--interval", "500ms"}) }()
	out.waitFrame(t, "with r-tests", func(f string) bool { return strings.Contains(f, "r-tests ") })

	mu.Lock()
	hung = make(chan struct{})
	mu.Unlock()
	out.waitFrame(t, "saying the server does not answer, over the last rows", func(f string) bool {
		return strings.HasPrefix(f, "No answer from the server for ") && strings.Contains(f, "r-tests ")
	})
	mu.Lock()
	close(hung)
	hung = nil
	mu.Unlock()
	out.waitFrame(t, "after the server answers again", func(f string) bool { return strings.HasPrefix(f, "Every 500ms") })
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d after cancel, want 0", c)
	}
	tty.Close()
	<-out.done
}

// Started against a server that does not answer, watch says so and no
// more: it said "the rows are from before" over a screen that had never
// shown one.
func TestWatchStartedAgainstAHungServer(t *testing.T) {
	hung := make(chan struct{})
	defer close(hung)
	h := etaHarness(t)
	h.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hung:
			case <-r.Context().Done():
			}
		})
	}
	h.stop()
	h.start()
	// Retried for longer than watchPatience, as a hung server is.
	retry := client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: 30 * time.Second}
	f, tty, out := watchTerminal(t, h, 110, &retry)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- command.Main(ctx, f, []string{"--server", h.url, "watch", "--interval", "500ms"}) }()
	frame := out.waitFrame(t, "saying the server does not answer", func(f string) bool {
		return strings.HasPrefix(f, "No answer from the server for ")
	})
	if strings.Contains(frame, "rows are from before") {
		t.Errorf("frame before any answer speaks of rows from before: %q", frame)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d after cancel, want 0", c)
	}
	tty.Close()
	<-out.done
}

// Started while the server is down, watch says so and nothing else: no
// refresh has told it what is deploying, so it does not claim that
// nothing is.
func TestWatchStartedDuringAnOutage(t *testing.T) {
	h := etaHarness(t)
	h.stop()
	f, tty, out := watchTerminal(t, h, 110, &fastRetry)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- command.Main(ctx, f, []string{"--server", h.url, "watch", "--interval", "500ms"}) }()
	down := out.waitFrame(t, "with the error", func(f string) bool { return strings.HasPrefix(f, "Retrying every 500ms: cannot reach") })
	if strings.Contains(down, "No deployment in progress") {
		t.Errorf("frame during the outage claims nothing is deploying: %q", down)
	}
	h.start()
	out.waitFrame(t, "after the server is up", func(f string) bool {
		return strings.HasPrefix(f, "Every 500ms") && strings.Contains(f, "r-tests ")
	})
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d after cancel, want 0", c)
	}
	tty.Close()
	<-out.done
}

// A refresh reads the latest 2000 deployments: past them, a deployment
// in progress that started earlier is not listed, and watch says so, in
// the title and, piped, on stderr. Before, it was left out silently.
func TestWatchSaysItsScanWasBounded(t *testing.T) {
	h := newHarness(t)
	start := t0.Add(-20 * time.Hour)
	h.server.Set(t0)
	h.cli.Set(t0)
	h.record(t, model.StepInput{Component: "db", Version: "7", Environment: "prod", Owner: "li", Status: "migrate", Time: start})
	for i := range 2000 {
		h.record(t, model.StepInput{Component: "api", Version: fmt.Sprint(i), Environment: "prod", Owner: "ana", Status: "finished",
			Time: start.Add(time.Duration(i+1) * 30 * time.Second)})
	}
	h.record(t, model.StepInput{Component: "web", Version: "3", Environment: "prod", Owner: "bo", Status: "build", Time: t0.Add(-time.Minute)})
	r := h.mustRun(true, "watch", "--once")
	if !strings.HasPrefix(r.stdout, "Every 2s: 1 in progress in the latest 2000 deployments only, ") {
		t.Errorf("title:\n%s", r.stdout)
	}
	r = h.mustRun(false, "watch")
	if !strings.Contains(r.stdout, "\tweb\t3\t") || !strings.Contains(r.stderr, "only the latest 2000 deployments since --since 1d were read") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	// Narrowed, the scan is whole: db is there, and nothing is said.
	r = h.mustRun(false, "watch", "--component", "db")
	if !strings.Contains(r.stdout, "\tdb\t7\t") || r.stderr != "" {
		t.Errorf("--component db: stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestWatchCtrlC types Ctrl-C into the pseudo-terminal of a real stepsctl
// process (this test binary, run as stepsctl by TestWatchHelperProcess):
// the terminal sends SIGINT, watch exits 0 and shows the cursor again.
func TestWatchCtrlC(t *testing.T) {
	h := etaHarness(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchHelperProcess$")
	cmd.Env = append(os.Environ(), "STEPSCTL_WATCH_HELPER=1", "STEPSCTL_SERVER="+h.url, "HOME="+t.TempDir(),
		"XDG_CONFIG_HOME="+t.TempDir(), "XDG_STATE_HOME="+t.TempDir(), "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 110})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	out := readPTY(ptmx)
	out.waitFrame(t, "from the stepsctl process", func(f string) bool { return strings.Contains(f, "r-deploy-overrun") })
	if _, err := ptmx.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("stepsctl watch exited %d after Ctrl-C, want 0; output:\n%q", exit.ExitCode(), out.String())
	} else if err != nil {
		t.Fatal(err)
	}
	<-out.done
	if s := out.String(); !strings.Contains(s[max(0, len(s)-20):], "\x1b[?25h") {
		t.Errorf("cursor not shown again: %q", s[max(0, len(s)-40):])
	}
}

// TestWatchHelperProcess is stepsctl watch as a process of its own, for
// TestWatchCtrlC: the signal handling of cmd/stepsctl's main.
func TestWatchHelperProcess(t *testing.T) {
	if os.Getenv("STEPSCTL_WATCH_HELPER") == "" {
		t.Skip("run by TestWatchCtrlC")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := command.Main(ctx, command.NewFactory("1.0.0-test"), []string{"watch", "--interval", "500ms", "--since", "2026-03-01"})
	stop()
	os.Exit(code)
}

// stepsctl deployments shows the ETA of a deployment in progress in its
// outcome, and carries the server's fields in JSON.
func TestDeploymentsShowETA(t *testing.T) {
	h := etaHarness(t)
	r := h.mustRun(true, "deployments", "--component", "api", "--version", "r-tests")
	if !strings.Contains(r.stdout, "in progress, ETA 1m45s") {
		t.Errorf("table:\n%s", r.stdout)
	}
	r = h.mustRun(false, "deployments", "--component", "api", "--version", "r-tests", "-o", "ndjson")
	if !strings.Contains(r.stdout, `"expected_duration_seconds":235,"expected_finish_at":"2026-03-02T17:01:45Z","eta_seconds":105`) {
		t.Errorf("ndjson:\n%s", r.stdout)
	}
	// 400 s into tests that take 115 s, deploy still ahead: late, which
	// "in progress, ETA 40s" did not say.
	r = h.mustRun(true, "deployments", "--component", "api", "--version", "r-tests-overrun")
	if !strings.Contains(r.stdout, "in progress, overdue, ETA 40s") {
		t.Errorf("table:\n%s", r.stdout)
	}
	r = h.mustRun(false, "deployments", "--component", "api", "--version", "r-tests-overrun", "-o", "json")
	if !strings.Contains(r.stdout, `"eta_seconds":40`) || !strings.Contains(r.stdout, `"overdue":true`) {
		t.Errorf("json:\n%s", r.stdout)
	}
}

func TestWatchIntervalTooShort(t *testing.T) {
	h := newHarness(t)
	if r := h.run(true, "watch", "--interval", "100ms"); r.code != 2 || !strings.Contains(r.stderr, "--interval must be at least 500ms") {
		t.Errorf("exit %d, stderr %q; want 2 and the bound", r.code, r.stderr)
	}
}

// TestWatchHelpSaysOutliersAreLeftOut: the help says what the ETA is read
// from, outliers left out, as the server computes it.
func TestWatchHelpSaysOutliersAreLeftOut(t *testing.T) {
	h := newHarness(t)
	r := h.mustRun(false, "watch", "--help")
	for _, want := range []string{"latest 20", "outliers\nleft out", "test deploy of a second", "5 deployments that went through that step"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A deployment late in its phase is overdue in every format a script
// reads, not only in JSON and the tables: piped rows and CSV end with an
// overdue column, where its ETA alone (40 s) read as nearly done.
func TestOverdueInPipedRowsAndCSV(t *testing.T) {
	h := etaHarness(t)
	filter := []string{"--component", "api", "--version", "r-tests-overrun"}
	r := h.mustRun(false, append([]string{"deployments"}, filter...)...)
	if want := "\tin_progress\tfalse\ttrue\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("deployments piped: %q, want it to end %q (stuck, overdue)", r.stdout, want)
	}
	r = h.mustRun(false, append([]string{"deployments", "--steps"}, filter...)...)
	if want := "\tbuild=80;tests\ttrue\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("deployments --steps piped: %q, want it to end %q (steps, overdue)", r.stdout, want)
	}
	r = h.mustRun(false, append([]string{"deployments", "-o", "csv"}, filter...)...)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("deployments -o csv: %v\n%s", err, r.stdout)
	}
	if h, c := rows[0][len(rows[0])-1], rows[1][len(rows[1])-1]; h != "overdue" || c != "true" {
		t.Errorf("deployments -o csv ends %s=%s, want overdue=true", h, c)
	}
	r = h.mustRun(false, append([]string{"watch"}, filter...)...)
	if want := "\ttests\t480\t520\t40\t2026-03-02T17:00:40Z\tfalse\ttrue\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("watch piped: %q, want it to end %q (stuck, overdue)", r.stdout, want)
	}
}
