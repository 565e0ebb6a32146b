package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// Statuses run records after the command, besides its step.
const (
	// FinalStatus is recorded instead with --final: a terminal success
	// status, which ends the deployment.
	FinalStatus = "finished"
	// DefaultFailStatus is recorded when the command fails: a terminal
	// failure status, which ends the deployment as a failure.
	DefaultFailStatus = "failed"
)

// Exit codes of run when the command could not be started, as shells use
// them.
const (
	ExitCannotExecute = 126 // found but not executable
	ExitNotFound      = 127 // no such command
)

// RunOptions are the dependencies and flags of run.
type RunOptions struct {
	Factory *Factory

	Input      model.StepInput // Status is the step's name
	Commit     CommitOptions
	Final      bool
	FailStatus string
	// FailStatusSet says --fail-status was given: it is recorded as it is,
	// even if the server does not count it as a failure.
	FailStatusSet bool
	Command       []string // CMD ARGS…
}

const runLong = `Run one step of a deploy and record it: record the step NAME, run CMD with
its arguments, record how it ended, and exit with CMD's exit code.

What is recorded, so that the step NAME lasts exactly as long as CMD runs:

  before CMD               NAME
  CMD exits 0              NAME-done      (with --final: finished, which ends
                                          the deployment as a success)
  CMD fails or is killed   failed         (or --fail-status), which ends the
                                          deployment as a failure

"finished" and "failed" are what a server with the default terminal statuses
counts as a success and a failure. While CMD runs, run asks the server for its
own (GET /v1/rules) and, when the server counts other statuses, records its
first success or failure status instead. A server too old to say is assumed to
use the defaults, with a warning; one that cannot be reached, too (the records
go to the spool).

The time between two run commands of a script shows as its own phase,
NAME-done, rather than being added to NAME: the server counts it as idle
time, in the deployment's duration but in no step's stats or blame.

The exit code of a failed CMD is printed on stderr ("stepsctl: tests
failed: make test exited with code 3"); the status stays "failed" so
that every tracker counts the deployment as a failure (a status is matched
exactly against the terminal ones).

CMD gets stepsctl's standard input, output and error as they are, and its
environment; when nobody reads them any more (2>&1 | head), stepsctl's own
messages are lost but the end is still recorded. SIGINT and SIGTERM sent to stepsctl are forwarded to CMD, and
stepsctl waits for it to exit. In a terminal CMD stays in the terminal's
foreground process group: a Ctrl-C reaches it directly and is not sent
twice, and a hangup (the terminal or ssh session gone), which reaches CMD
from the terminal, no longer kills stepsctl before CMD's end is recorded.
Outside a terminal (standard input not one: CI, cron) CMD runs in a
process group of its own, to which stepsctl forwards SIGINT, SIGTERM and
SIGHUP, so that a CI runner signalling the job's whole group reaches CMD
once, not twice; if stepsctl itself is killed (kill -9) before CMD ends,
CMD's whole group is killed (by a guard, /bin/sh, stepsctl starts beside
it), since the runner's group no longer holds it.

stepsctl exits with CMD's exit code; when CMD was killed by a signal, with
128 + the signal's number, as shells do (SIGTERM: 143); when CMD cannot be
started, with 127 (not found) or 126 (not executable), and "failed" is
recorded. When SIGINT, SIGTERM or SIGHUP killed CMD, stepsctl dies of it
too once the end is recorded ($? is still 130, 143 or 129), so that a
script cancelled by a Ctrl-C stops there, as it would without stepsctl.

The tracker never changes the result: recording goes the way of "stepsctl
record" (retries, then the spool when the server cannot be reached, with a
line on stderr), CMD starts at once without waiting for the server, and a
record that fails (refused for a bad value) is only a warning on stderr.
Only a mistake in stepsctl's own flags stops CMD from running (exit 2). Put
stepsctl's flags before CMD; "--" before CMD is optional.

` + tokenRefusedHelp + `

` + commitHelp + `
The three records of a run carry the same.`

const runExample = `  # A deploy script: each step timed by the command that does it
  stepsctl run --component api --version "$VERSION" --env production --step build -- make build
  stepsctl run --component api --version "$VERSION" --env production --step tests -- make test
  stepsctl run --component api --version "$VERSION" --env production --step rollout --final -- \
    kubectl rollout status deploy/api --timeout 10m

  # The same, shorter
  export STEPSCTL_SERVER=https://steps.example.com
  step() { stepsctl run --component api --version "$VERSION" --env production --step "$@"; }
  step build -- make build
  step migrate -- ./migrate up
  step rollout --final -- ./rollout.sh

  # A pipeline needs a shell
  stepsctl run --component web --version 2.0.1 --step assets -- sh -c 'npm ci && npm run build'

  # Record a failure as "aborted" rather than "failed"
  stepsctl run --component api --version 1.4.2 --step smoke --fail-status aborted -- ./smoke.sh`

// NewCmdRun returns the run command. runF replaces runRun in tests of flag
// parsing.
func NewCmdRun(f *Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "run --component C --version V --step NAME [--env E] [--owner O] [--final] [flags] [--] CMD [ARGS…]",
		Short:   "Run a step's command and record its start and how it ended",
		Long:    runLong,
		Example: runExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("no command to run: give it after the flags, e.g. stepsctl run --component api --version 1.4.2 --step build -- make build")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd.Flags(), "component", "version", "step"); err != nil {
				return err
			}
			opts.Command = args
			opts.FailStatusSet = cmd.Flags().Changed("fail-status")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	// Flags end at CMD: "stepsctl run … make -j4" passes -j4 to make.
	fl.SetInterspersed(false)
	fl.StringVar(&opts.Input.Component, "component", "", "component deployed, e.g. api (required)")
	fl.StringVar(&opts.Input.Version, "version", "", "version deployed, e.g. 1.4.2 (required)")
	fl.StringVar(&opts.Input.Status, "step", "", "the step CMD does, e.g. build, tests, migrate, rollout (required)")
	fl.StringVar(&opts.Input.Owner, "owner", "", "who deploys (default: the current user: $USER, else $LOGNAME, else the account's name; uid-N, with a warning, for an account without one)")
	fl.StringVar(&opts.Input.Environment, "env", "", "environment, e.g. production")
	fl.BoolVar(&opts.Final, "final", false, "the deploy's last step: record \"finished\" when CMD succeeds, ending the deployment")
	fl.StringVar(&opts.FailStatus, "fail-status", DefaultFailStatus, "status recorded when CMD fails: a failure status that ends the deployment")
	addCommitFlags(fl, &opts.Commit)
	return cmd
}

// runSteps are the three records of a run.
type runSteps struct {
	start, done, failed model.StepInput
}

func (opts *RunOptions) steps(f *Factory) (runSteps, error) {
	in := opts.Input
	if in.Owner == "" {
		if in.Owner = f.defaultOwner(); in.Owner == "" {
			return runSteps{}, usageErrorf("--owner is required: the current user is unknown")
		}
	}
	if model.DefaultDeploymentRules().Outcome(in.Status) != model.OutcomeInProgress {
		return runSteps{}, usageErrorf("--step %q is a terminal status: it would end the deployment before the command runs; name the step (e.g. rollout) and use --final", in.Status)
	}
	rs := runSteps{start: in, done: in, failed: in}
	rs.done.Status = in.Status + model.DoneSuffix
	if opts.Final {
		rs.done.Status = FinalStatus
	}
	rs.failed.Status = opts.FailStatus
	if err := rs.start.Validate(); err != nil {
		var merr *model.Error
		if errors.As(err, &merr) && merr.Field != "" {
			flag := flagOfParam(merr.Field)
			if merr.Field == "status" {
				flag = "--step"
			}
			return runSteps{}, usageErrorf("%s: %s", flag, merr.Message)
		}
		return runSteps{}, &UsageError{Err: err}
	}
	if err := rs.done.Validate(); err != nil {
		return runSteps{}, usageErrorf("--step: %q, recorded when the command succeeds: %s", rs.done.Status, model.ErrorMessage(err))
	}
	if err := rs.failed.Validate(); err != nil {
		return runSteps{}, usageErrorf("--fail-status: %s", model.ErrorMessage(err))
	}
	return rs, nil
}

func runRun(ctx context.Context, opts *RunOptions) error {
	defer surviveBrokenPipe()()
	// Before CMD runs, which may move HEAD (a checkout).
	if err := opts.Commit.fill(ctx, opts.Factory, &opts.Input); err != nil {
		return err
	}
	rs, err := opts.steps(opts.Factory)
	if err != nil {
		return err
	}
	// Messages of stepsctl and of the command can meet on stderr: one
	// writer, locked, for stepsctl's side.
	f := opts.Factory.withLockedErrOut()
	c, err := f.Client()
	if err != nil {
		return err
	}
	quick, err := f.quickClient()
	if err != nil {
		return err
	}

	// The server's terminal statuses decide the status recorded at the
	// end; asked while the command runs, never delaying it.
	serverRules := make(chan model.DeploymentRules, 1)
	go func() { serverRules <- rulesOf(ctx, f, quick) }()

	ownGroup := commandGetsOwnGroup(f)
	// A hangup (an ssh session or a runner gone) is caught in a terminal
	// too: by default it killed stepsctl before the command's end was
	// recorded, leaving the deployment in progress for good. Outside one,
	// the command no longer shares stepsctl's group, so the hangup
	// reaches it only through stepsctl, as SIGINT and SIGTERM do.
	relayed := []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}
	signals := make(chan os.Signal, 4)
	f.notify(signals, relayed...)
	defer f.stopNotify(signals)

	// The records are made even after a signal: it is forwarded to the
	// command, whose end is worth recording. A signal once the command has
	// exited stops waiting for the server, and the records go to the spool.
	recCtx, stopRecording := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecording()

	// Record the start while the command already runs: a slow or absent
	// server never delays the deploy.
	started := make(chan bool, 1) // whether the start was stored
	delivered := make(chan struct{})
	startedAt := f.Now()
	go func() {
		defer close(delivered)
		stored := recordOrWarn(recCtx, f, c, rs.start, startedAt)
		started <- stored
		if stored {
			// The server is there: send what an outage left in the spool.
			deliverSpool(recCtx, f)
		}
	}()

	code, sig, failure := runCommand(f, opts.Command, signals, ownGroup)
	endedAt := f.Now()
	if code != 0 {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: %s failed: %s\n", rs.start.Status, failure)
	}
	go func() {
		select {
		case <-signals:
			stopRecording()
		case <-recCtx.Done():
		}
	}()
	end := rs.end(code == 0, opts, <-serverRules, f.IO.ErrOut)
	ec := c
	if !<-started {
		// The server could not be reached a moment ago: try once, then
		// spool, rather than wait for it through every retry again.
		ec = quick
	}
	recordOrWarn(recCtx, f, ec, end, endedAt)
	<-delivered

	if code != 0 {
		return &exitStatus{code: code, signal: sig}
	}
	return nil
}

// rulesOf asks the server for its deployment rules, and falls back to the
// defaults when it cannot say: with a warning when it answered without
// them (a server older than GET /v1/rules), silently when it cannot be
// reached (the records then go to the spool, which says so).
func rulesOf(ctx context.Context, f *Factory, c *client.Client) model.DeploymentRules {
	rules, err := c.Rules(ctx)
	if err == nil && rules.Validate() == nil {
		return rules
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) || err == nil {
		reason := "it does not say"
		switch {
		case apiErr != nil && apiErr.StatusCode == http.StatusNotFound:
			// An older server's 404 is often a proxy's or Go's text page,
			// whose quoted body would double the line for nothing.
			reason = "not found"
		case apiErr != nil:
			reason = apiErr.Error() // not message's advice: the server is there, only older
		}
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: the server did not give its terminal statuses (%s); assuming the defaults (%s, %s)\n",
			reason, FinalStatus, DefaultFailStatus)
	}
	return model.DefaultDeploymentRules()
}

// end returns the step recorded once the command ended, chosen by the
// server's rules: the status --final records must end the deployment as a
// success there, and the one of a failure as a failure.
func (rs runSteps) end(succeeded bool, opts *RunOptions, rules model.DeploymentRules, warn io.Writer) model.StepInput {
	if succeeded {
		end := rs.done
		switch {
		case opts.Final && rules.Outcome(end.Status) != model.OutcomeSuccess:
			end.Status = rules.SuccessStatuses[0]
		case !opts.Final && rules.Outcome(end.Status) != model.OutcomeInProgress:
			fmt.Fprintf(warn, "stepsctl: warning: the server counts %q as terminal: it ends the deployment\n", end.Status)
		}
		return end
	}
	end := rs.failed
	switch {
	case rules.Outcome(end.Status) == model.OutcomeFailure:
	case opts.FailStatusSet:
		fmt.Fprintf(warn, "stepsctl: warning: the server does not count --fail-status %q as a failure\n", end.Status)
	default:
		end.Status = rules.FailureStatuses[0]
	}
	return end
}

// recordOrWarn records in as record does, spool included, and reports a
// failure as a warning on stderr, never as an error: run's result is the
// command's. at is when the step happened, for the spool. It returns
// whether the server stored the step.
func recordOrWarn(ctx context.Context, f *Factory, c *client.Client, in model.StepInput, at time.Time) bool {
	_, stored, err := sendStep(ctx, f, c, in, at, false)
	var spooled *interruptedError
	switch {
	case errors.As(err, &spooled):
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: step %s: %s\n", describe(in), err)
	case err != nil:
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: step %s not recorded: %s\n", describe(in), message(err))
	}
	return stored
}

// commandGetsOwnGroup reports whether run starts its command in a process
// group of its own: outside a terminal, where a CI runner that cancels a
// job signals stepsctl's whole group, and the command, in it, would get the
// signal twice, from the runner and forwarded by stepsctl (many programs
// take a second SIGTERM or SIGINT as "stop now, skip the clean-up"). In a
// terminal (standard input one, or stepsctl in the terminal's foreground)
// the command stays in stepsctl's group, the terminal's foreground one: a
// Ctrl-C reaches it from the terminal, and it can read the terminal and
// set its modes, which a background group cannot.
func commandGetsOwnGroup(f *Factory) bool {
	if !processGroups {
		return false
	}
	if in, ok := f.IO.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		return false
	}
	return !keyboardSignalsReachChild()
}

// runCommand runs args with the factory's streams, forwarding signals to
// it (to its process group when ownGroup), and returns its exit code as a
// shell would, the signal that killed it if one did, and, for a failure,
// what happened.
func runCommand(f *Factory, args []string, signals <-chan os.Signal, ownGroup bool) (code int, sig syscall.Signal, failure string) {
	name := commandLine(args)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = f.IO.In
	cmd.Stdout = f.IO.Out
	cmd.Stderr = f.IO.ErrOut
	if lw, ok := cmd.Stderr.(*lockedWriter); ok {
		if file, ok := lw.w.(*os.File); ok {
			// The command gets the real stderr, a terminal where it is one.
			cmd.Stderr = file
		}
	}
	if ownGroup {
		startInOwnGroup(cmd)
		defer lockThreadForChild()()
	}
	if err := cmd.Start(); err != nil {
		code = ExitCannotExecute
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = ExitNotFound
		}
		failure = fmt.Sprintf("cannot run %s: %v (exit %d)", name, unwrapExec(err), code)
		if code == ExitNotFound && !strings.ContainsAny(args[0], `/\`) {
			// step build -- build_app, where build_app is a function of
			// the deploy script: the shell knows it, exec does not.
			script := strings.Join(args, " ")
			if r := []rune(script); len(r) > 80 {
				script = string(r[:80]) + "…"
			}
			failure += fmt.Sprintf("; a shell function, alias or builtin is not a program: run it through the shell, -- bash -c %s (after export -f %s, for a function)",
				shellQuote(script), shellQuote(args[0]))
		}
		return code, 0, failure
	}
	var guard *groupGuard
	if ownGroup {
		guard = startGroupGuard(cmd.Process.Pid)
	}

	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case sig := <-signals:
				if ownGroup {
					_ = signalGroup(cmd.Process, sig)
					continue
				}
				if sig == os.Interrupt && keyboardSignalsReachChild() {
					continue // the terminal sent it to the command as well
				}
				// A hangup is forwarded: the kernel sends it to the
				// session's leader alone (a login shell passes it on to
				// its jobs, and the foreground group gets one more as the
				// leader exits), and stepsctl may be that leader.
				_ = cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	guard.release()
	close(done)
	<-forwarded

	ps := cmd.ProcessState
	if ps == nil {
		return ExitCannotExecute, 0, fmt.Sprintf("%s: %v", name, err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
		return code, ws.Signal(), fmt.Sprintf("%s was killed by %s (exit %d)", name, signalName(ws.Signal()), code)
	}
	code = ps.ExitCode()
	return code, 0, fmt.Sprintf("%s exited with code %d", name, code)
}

// commandLine writes a command for a message as a shell would take it:
// sh -c 'exit 3'.
func commandLine(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	s := strings.Join(quoted, " ")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

// shellQuote quotes s for a POSIX shell when it needs it. An argument with
// a control character (a script of several lines, as CI files pass to
// sh -c) is quoted as $'…' with escapes, so that the message stays on one
// line.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\\' || r == '\'':
			b.WriteString(`\` + string(r))
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("'")
	return b.String()
}

// unwrapExec drops the command name that exec repeats in its errors.
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lockedWriter serialises writes from goroutines that share a stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// withLockedErrOut returns a copy of f whose ErrOut may be written by
// several goroutines at once.
func (f *Factory) withLockedErrOut() *Factory {
	g := *f
	streams := *f.IO
	streams.ErrOut = &lockedWriter{w: f.IO.ErrOut}
	g.IO = &streams
	return &g
}

func (f *Factory) notify(c chan<- os.Signal, sig ...os.Signal) {
	if f.Notify != nil {
		f.Notify(c, sig...)
		return
	}
	signal.Notify(c, sig...)
}

func (f *Factory) stopNotify(c chan<- os.Signal) {
	if f.StopNotify != nil {
		f.StopNotify(c)
		return
	}
	signal.Stop(c)
}
