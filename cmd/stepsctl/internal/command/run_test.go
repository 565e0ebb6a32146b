package command_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/pkg/model"
)

// statuses lists the statuses of steps, in order.
func statuses(steps []model.Step) []string {
	out := []string{}
	for _, s := range steps {
		out = append(out, s.Status)
	}
	return out
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string // after the flags
		code     int
		statuses []string
		stderr   string // "" for none
	}{
		{"success", []string{"--", "sh", "-c", "exit 0"}, 0, []string{"build", "build-done"}, ""},
		{"failure", []string{"--", "sh", "-c", "exit 1"}, 1, []string{"build", "failed"},
			"stepsctl: build failed: sh -c 'exit 1' exited with code 1\n"},
		{"exit code 3", []string{"--", "sh", "-c", "exit 3"}, 3, []string{"build", "failed"},
			"stepsctl: build failed: sh -c 'exit 3' exited with code 3\n"},
		{"killed by a signal", []string{"--", "sh", "-c", "kill -TERM $$"}, 143, []string{"build", "failed"},
			"stepsctl: build failed: sh -c 'kill -TERM $$' was killed by SIGTERM (exit 143)\n"},
		{"final", []string{"--final", "--", "true"}, 0, []string{"build", "finished"}, ""},
		{"fail status", []string{"--fail-status", "aborted", "--", "false"}, 1, []string{"build", "aborted"},
			"stepsctl: build failed: false exited with code 1\n"},
		{"not found", []string{"--", "no-such-command-here"}, 127, []string{"build", "failed"},
			"stepsctl: build failed: cannot run no-such-command-here: executable file not found in $PATH (exit 127); a shell function, alias or builtin is not a program: run it through the shell, -- bash -c no-such-command-here (after export -f no-such-command-here, for a function)\n"},
		// A function of the deploy script (step build -- build_app) is
		// no program: the message says how to run it.
		{"shell function", []string{"--", "build_app", "--fast"}, 127, []string{"build", "failed"},
			"stepsctl: build failed: cannot run build_app --fast: executable file not found in $PATH (exit 127); a shell function, alias or builtin is not a program: run it through the shell, -- bash -c 'build_app --fast' (after export -f build_app, for a function)\n"},
		{"no such file", []string{"--", "./no-such-script.sh"}, 127, []string{"build", "failed"},
			"stepsctl: build failed: cannot run ./no-such-script.sh: no such file or directory (exit 127)\n"},
		{"no --", []string{"sh", "-c", "exit 0"}, 0, []string{"build", "build-done"}, ""},
		// A script of several lines, as a CI file passes it: the message
		// stays one line.
		{"script of several lines", []string{"--", "sh", "-c", "echo 'one'\n\texit 4\n"}, 4, []string{"build", "failed"},
			"stepsctl: build failed: sh -c $'echo \\'one\\'\\n\\texit 4\\n' exited with code 4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			args := append([]string{"run", "--component", "api", "--version", "1.4.2", "--env", "production", "--step", "build"}, tc.args...)
			r := h.run(false, args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			if r.stderr != tc.stderr {
				t.Errorf("stderr %q, want %q", r.stderr, tc.stderr)
			}
			steps := h.stored()
			if got := statuses(steps); !reflect.DeepEqual(got, tc.statuses) {
				t.Errorf("recorded %q, want %q", got, tc.statuses)
			}
			for _, s := range steps {
				if s.Component != "api" || s.Version != "1.4.2" || s.Environment != "production" || s.Owner != "ana" {
					t.Errorf("recorded %+v", s)
				}
			}
		})
	}
}

// TestRunTimesTheStep: the step lasts while the command runs, timed by the
// server's clock, and the deployment ends with the outcome.
func TestRunTimesTheStep(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(false, "run", "--component", "api", "--version", "1", "--step", "build", "--", "true")
	h.server.Add(90 * time.Second)
	h.run(false, "run", "--component", "api", "--version", "1", "--step", "rollout", "--final", "--", "true")
	r := h.mustRun(false, "deployments", "--steps")
	if want := "2026-03-02T09:00:00Z\tapi\t1\t\t1\tana\t90\tsuccess\tfalse\tbuild=0;build-done=90;rollout=0;finished\tfalse\n"; r.stdout != want {
		t.Errorf("deployments:\n%q\nwant\n%q", r.stdout, want)
	}
}

func TestRunPassesStreamsThrough(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stdin = "hello from stdin\n"
	r := h.run(false, "run", "--component", "api", "--version", "1", "--step", "echo", "--", "sh", "-c", "cat; echo to stderr >&2")
	if r.code != 0 || r.stdout != "hello from stdin\n" || r.stderr != "to stderr\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestRunForwardsSignals: a SIGTERM sent to stepsctl reaches the command,
// which exits as it chooses; stepsctl exits with its code and records the
// failure.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	signals := make(chan chan<- os.Signal, 1)
	h.notify = func(c chan<- os.Signal, sig ...os.Signal) {
		// SIGHUP too when the command has a process group of its own
		// (outside a terminal, as here unless go test runs in one).
		if !reflect.DeepEqual(sig, []os.Signal{os.Interrupt, syscall.SIGTERM}) && !reflect.DeepEqual(sig, []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}) {
			t.Errorf("run relays %v, want SIGINT and SIGTERM, and SIGHUP outside a terminal", sig)
		}
		signals <- c
	}
	ready := filepath.Join(t.TempDir(), "ready")
	done := make(chan result)
	go func() {
		done <- h.run(false, "run", "--component", "api", "--version", "1", "--step", "wait", "--",
			"sh", "-c", `trap 'echo got TERM; exit 7' TERM; touch "$1"; while :; do sleep 0.01; done`, "sh", ready)
	}()
	c := <-signals
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
	}
	c <- syscall.SIGTERM
	r := <-done
	if r.code != 7 || r.stdout != "got TERM\n" {
		t.Errorf("exit %d, stdout %q; want 7 and the trap's output", r.code, r.stdout)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"wait", "failed"}) {
		t.Errorf("recorded %q", got)
	}
}

// TestRunDuringOutage: with the server down, the command runs all the
// same, stepsctl exits with its code, and both records wait in the spool,
// with the times the step started and ended, until the server is back.
func TestRunDuringOutage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.stop()
	for _, tc := range []struct {
		version string
		command string
		code    int
	}{{"1", "echo ran; exit 3", 3}, {"2", "echo ran", 0}} {
		h.cli.Add(time.Minute)
		r := h.run(false, "run", "--component", "api", "--version", tc.version, "--step", "build", "--", "sh", "-c", tc.command)
		if r.code != tc.code || r.stdout != "ran\n" {
			t.Errorf("exit %d, stdout %q; want %d and the command's output", r.code, r.stdout, tc.code)
		}
		if n := strings.Count(r.stderr, "record spooled to "+h.spoolPath()); n != 2 {
			t.Errorf("stderr %q, want two records spooled", r.stderr)
		}
	}
	h.start()
	h.mustRun(false, "flush")
	steps := h.stored()
	if got := statuses(steps); !reflect.DeepEqual(got, []string{"build", "failed", "build", "build-done"}) {
		t.Fatalf("delivered %q", got)
	}
	if !steps[0].Time.Equal(t0.Add(time.Minute)) || !steps[1].Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("times %v, %v; want the times of the run", steps[0].Time, steps[1].Time)
	}
}

// TestRunRefusedToken: a token the server refuses goes the way of record:
// both records are spooled with a line each, the command's result stands,
// and flush with the right token delivers them.
func TestRunRefusedToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withTokens("write:ci-secret-1"))
	r := h.run(false, "run", "--component", "api", "--version", "1", "--step", "build", "--", "sh", "-c", "exit 4")
	if r.code != 4 {
		t.Errorf("exit %d, want the command's 4", r.code)
	}
	if n := strings.Count(r.stderr, `fix the token, then run "stepsctl flush"`); n != 2 || !strings.Contains(r.stderr, "HTTP 401") {
		t.Errorf("stderr %q, want two lines saying the records were spooled", r.stderr)
	}
	r = h.run(false, "--token", "ci-secret-1", "flush")
	if r.code != 0 || r.stdout != "Delivered 2 record(s).\n" {
		t.Errorf("flush: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if steps := h.stored(); len(steps) != 2 || steps[0].Status != "build" || steps[1].Status != "failed" {
		t.Errorf("stored %+v, want build then failed", steps)
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--component", "api", "--version", "1", "--step", "build"}, "no command to run"},
		{[]string{"run", "--component", "api", "--version", "1", "--", "true"}, "--step is required"},
		{[]string{"run", "--component", "api", "--version", "1", "--step", "finished", "--", "true"}, `--step "finished" is a terminal status`},
		{[]string{"run", "--component", "api", "--version", "1", "--step", strings.Repeat("s", 60), "--", "true"}, "recorded when the command succeeds"},
		{[]string{"run", "--component", "api", "--version", "1", "--step", "build", "--fail-status", " ", "--", "true"}, "--fail-status: status must not be blank"},
		{[]string{"run", "--component", "api", "--version", "1", "--step", "build", "--env", " ", "--", "true"}, "--env: environment must not be blank"},
	} {
		r := h.run(false, tc.args...)
		if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, first, tc.want)
		}
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("usage errors recorded %d steps", n)
	}
}

func TestRunFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.RunOptions
	}{
		{
			cli: "--component api --version 1 --step build -- make -j4 build",
			want: command.RunOptions{Input: model.StepInput{Component: "api", Version: "1", Status: "build"},
				FailStatus: "failed", Command: []string{"make", "-j4", "build"}},
		},
		{
			cli: "--component api --version 1 --step rollout --env prod --owner bo --final --fail-status aborted ./deploy.sh --dry-run",
			want: command.RunOptions{Input: model.StepInput{Component: "api", Version: "1", Status: "rollout", Environment: "prod", Owner: "bo"},
				Final: true, FailStatus: "aborted", FailStatusSet: true, Command: []string{"./deploy.sh", "--dry-run"}},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdRun, tc.cli, func(o *command.RunOptions) { o.Factory = nil }, tc.want)
		})
	}
}

// TestRunSecondSignal: once the command has exited, a signal stops waiting
// for a server that hangs: the end goes to the spool, and stepsctl exits
// with the command's code.
func TestRunSecondSignal(t *testing.T) {
	t.Parallel()
	hung := make(chan struct{}, 1)
	var posts atomic.Int32
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && posts.Add(1) == 2 {
				io.Copy(io.Discard, r.Body) // then the server notices the client leave
				hung <- struct{}{}
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	signals := make(chan chan<- os.Signal, 1)
	h.notify = func(c chan<- os.Signal, sig ...os.Signal) { signals <- c }
	done := make(chan result)
	go func() {
		done <- h.run(false, "run", "--component", "api", "--version", "1", "--step", "build", "--", "sh", "-c", "exit 5")
	}()
	c := <-signals
	<-hung
	c <- syscall.SIGTERM
	r := <-done
	if r.code != 5 {
		t.Errorf("exit %d, want the command's 5", r.code)
	}
	if !strings.Contains(r.stderr, "stepsctl: step api 1 failed: interrupted; record spooled to "+h.spoolPath()) {
		t.Errorf("stderr %q", r.stderr)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"build"}) {
		t.Errorf("stored %q, want the start only", got)
	}
	b, err := os.ReadFile(h.spoolPath())
	if err != nil || !strings.Contains(string(b), `"status":"failed"`) {
		t.Errorf("spool %q, %v; want the end", b, err)
	}
}
