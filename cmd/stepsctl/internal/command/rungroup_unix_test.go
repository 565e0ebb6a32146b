//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
)

// stepsctlProcess starts stepsctl with args, as a process of its own (this
// test binary, run as stepsctl by TestStepsctlHelperProcess) against h's
// server, in a process group of its own as a CI runner starts a job, with
// standard input not a terminal. Its home is a temporary one.
func stepsctlProcess(t *testing.T, h *harness, args ...string) (*exec.Cmd, *procOutput) {
	t.Helper()
	cmd, out := stepsctlCommand(t, h, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startStepsctl(t, cmd)
	return cmd, out
}

// stepsctlCommand prepares stepsctl with args as stepsctlProcess runs it,
// its standard output and error going to a file, for the caller to give
// its standard input and process attributes and to start (startStepsctl).
func stepsctlCommand(t *testing.T, h *harness, args ...string) (*exec.Cmd, *procOutput) {
	t.Helper()
	encoded, err := json.Marshal(append([]string{"--server", h.url}, args...))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStepsctlHelperProcess$")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "STEPSCTL_HELPER_ARGS="+string(encoded), "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"TMPDIR="+t.TempDir(), "USER=ana")
	// A file rather than a pipe: Wait would wait for a pipe's copy to
	// end, which a command that outlives stepsctl never lets happen.
	f, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd.Stdout, cmd.Stderr = f, f
	return cmd, &procOutput{path: f.Name()}
}

// startStepsctl starts cmd, made by stepsctlCommand, and kills its process
// group when the test ends.
func startStepsctl(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
}

// procOutput is what a stepsctl process wrote on its stdout and stderr.
type procOutput struct{ path string }

func (o *procOutput) String() string {
	b, _ := os.ReadFile(o.path)
	return string(b)
}

// TestStepsctlHelperProcess is stepsctl as a process of its own, with the
// signal handling of cmd/stepsctl's main, for the tests that signal it.
func TestStepsctlHelperProcess(t *testing.T) {
	encoded := os.Getenv("STEPSCTL_HELPER_ARGS")
	if encoded == "" {
		t.Skip("run by the tests that signal stepsctl")
	}
	var args []string
	if err := json.Unmarshal([]byte(encoded), &args); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := command.NewFactory("1.0.0-test")
	code := command.Main(ctx, f, args)
	stop()
	f.Exit(code)
}

// readPid reads the process id that the command under test wrote to path.
func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}

// waitForFile waits for the command under test to create path.
func waitForFile(t *testing.T, path string, out *procOutput) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command never started; stepsctl said %q", out)
		}
	}
}

// TestRunCancelledWithItsProcessGroup: a CI runner cancels a job by
// sending SIGTERM to its whole process group, stepsctl and the command it
// runs. Outside a terminal the command has a group of its own, so it gets
// the signal once, forwarded by stepsctl, not a second time from the
// runner; it exits as it chooses, and the step is recorded as failed.
func TestRunCancelledWithItsProcessGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := t.TempDir()
	count, ready := filepath.Join(dir, "count"), filepath.Join(dir, "ready")
	// Counts each SIGTERM; once one came, waits for a second that must not
	// come, then exits 7. The shell runs a trap between two commands, so
	// it waits for the first in a loop of builtins: a trap held up by a
	// sleep would count two signals that came during it as one.
	script := `trap 'echo TERM >> "$1"' TERM; echo $$ > "$2.new"; mv "$2.new" "$2"; while [ ! -s "$1" ]; do :; done; i=0; while [ $i -lt 50 ]; do sleep 0.01; i=$((i+1)); done; exit 7`
	cmd, out := stepsctlProcess(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--", "sh", "-c", script, "sh", count, ready)
	waitForFile(t, ready, out)
	// Two signals close together can reach the command as one (a signal
	// does not queue behind one pending), so the count alone could miss
	// a second one on a busy machine; its group cannot.
	if pid, err := readPid(ready); err != nil {
		t.Error(err)
	} else if pgid, err := syscall.Getpgid(pid); err != nil || pgid == cmd.Process.Pid {
		t.Errorf("the command is in process group %d (%v), stepsctl's; want one of its own", pgid, err)
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Errorf("stepsctl: %v, want exit 7, the command's; it said %q", err, out)
	}
	got, err := os.ReadFile(count)
	if err != nil || string(got) != "TERM\n" {
		t.Errorf("the command got SIGTERM %d times (%v), want once", strings.Count(string(got), "TERM"), err)
	}
	if !strings.Contains(out.String(), "stepsctl: deploy failed: sh -c") {
		t.Errorf("stepsctl said %q, want the failure on stderr", out)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"deploy", "failed"}) {
		t.Errorf("recorded %q, want deploy then failed; stepsctl said %q", got, out)
	}
}

// TestRunCommandGroupDiesWithStepsctl: what the command started (make's
// compilers, a script's kubectl, the sleep of sh -c) is in the command's
// process group, not the runner's, so a runner's SIGKILL to the job's group
// once missed it: stepsctl died, the kernel killed the command alone, and
// its children ran on after the job was cancelled. stepsctl's guard kills
// the command's whole group when stepsctl dies.
func TestRunCommandGroupDiesWithStepsctl(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, out := stepsctlProcess(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--",
		"sh", "-c", `trap '' INT TERM HUP; sleep 1000 & echo $! > "$1.new"; mv "$1.new" "$1"; wait`, "sh", ready)
	waitForFile(t, ready, out)
	pid, err := readPid(ready)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil { // the runner's last word
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command's child (pid %d) still runs after stepsctl was killed; stepsctl said %q", pid, out)
		}
	}
}

// TestRunLeavesWhatTheCommandLeft: a command that ends and leaves a process
// behind on purpose (a daemon it started) keeps it when stepsctl exits.
func TestRunLeavesWhatTheCommandLeft(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, out := stepsctlProcess(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--",
		"sh", "-c", `sleep 1000 >/dev/null 2>&1 & echo $! > "$1.new"; mv "$1.new" "$1"`, "sh", ready)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stepsctl: %v; it said %q", err, out)
	}
	pid, err := readPid(ready)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	time.Sleep(200 * time.Millisecond)
	if !alive(pid) {
		t.Errorf("the process the command left (pid %d) was killed when stepsctl exited", pid)
	}
}

// stepsctlToBrokenPipe runs stepsctl with args as a process of its own
// (as stepsctlProcess does) whose standard output and error are a pipe
// nobody reads, and returns how it ended. Its spool is h's.
func stepsctlToBrokenPipe(t *testing.T, h *harness, args ...string) error {
	t.Helper()
	encoded, err := json.Marshal(append([]string{"--server", h.url, "--spool-dir", filepath.Dir(h.spoolPath())}, args...))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStepsctlHelperProcess$")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "STEPSCTL_HELPER_ARGS="+string(encoded), "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "TMPDIR="+t.TempDir(), "USER=ana")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader is gone: a write gets SIGPIPE
	defer w.Close()
	cmd.Stdout, cmd.Stderr = w, w
	return cmd.Run()
}

// TestRunRecordsTheEndWhenItsStderrIsGone: stepsctl run … 2>&1 | head, or
// a CI log whose reader went away: the failure message on a broken pipe
// once killed stepsctl by SIGPIPE before it recorded the end, leaving the
// deployment in progress. The message is lost, the record is not, and the
// exit code is the command's.
func TestRunRecordsTheEndWhenItsStderrIsGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	err := stepsctlToBrokenPipe(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--", "sh", "-c", "exit 3")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("stepsctl: %v, want exit 3, the command's", err)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"deploy", "failed"}) {
		t.Errorf("recorded %q, want deploy then failed", got)
	}
}

// TestRecordWhenItsStderrIsGone: record -q … 2>&1 | head after an outage
// delivered the spool, then died of SIGPIPE saying so, before it sent its
// own record: lost, and the deploy script stopped with 141.
func TestRecordWhenItsStderrIsGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()
	h.run(false, "record", "--component", "api", "--version", "1", "--status", "build", "--no-git") // spooled
	h.start()
	if err := stepsctlToBrokenPipe(t, h, "record", "-q", "--component", "api", "--version", "1", "--status", "tests", "--no-git"); err != nil {
		t.Errorf("stepsctl: %v, want exit 0", err)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"build", "tests"}) {
		t.Errorf("recorded %q, want build (spooled) then tests", got)
	}
}

// TestRunDiesOfTheCommandsSignal: a command killed by SIGINT (a Ctrl-C, a
// CI runner's cancel) makes stepsctl, once the end is recorded, die of
// SIGINT too, not exit 130: a shell that waits for a command during a
// SIGINT goes on with its script when the command exits (it handled the
// signal), and stops only when it died of it. With exit 130,
// "stepsctl run … || echo failed" let a cancelled deploy go on to its
// next step; the shell's $? is 130 either way.
func TestRunDiesOfTheCommandsSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(signalNameForTest(sig), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			cmd, out := stepsctlProcess(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--",
				"sh", "-c", "kill -"+strconv.Itoa(int(sig))+" $$")
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("stepsctl: %v; it said %q", err, out)
			}
			if ws := exit.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("stepsctl ended with %v, want killed by %v; it said %q", exit, sig, out)
			}
			if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"deploy", "failed"}) {
				t.Errorf("recorded %q, want deploy then failed; stepsctl said %q", got, out)
			}
		})
	}
}

func signalNameForTest(sig syscall.Signal) string { return strings.ReplaceAll(sig.String(), " ", "-") }
