package command

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/client/spool"
	"github.com/steps-dev/steps/pkg/model"
)

// RecordOptions are the dependencies and flags of record.
type RecordOptions struct {
	Factory *Factory

	Input   model.StepInput
	Commit  CommitOptions
	Time    string
	Quiet   bool
	NoSpool bool
	Output  string
}

const recordLong = `Record one step of a deploy: that COMPONENT at VERSION reached STATUS now.

The server stamps the step with its own clock unless --time says when it
happened. --owner defaults to the current user. The stored step is printed
(nothing with -q).

A deploy lasts until a terminal status, which gives it its duration and
outcome; until then it is in progress (and stuck after the server's
--stuck-after, 1h by default, without a step). With stepsd's defaults, in
any case: finished, success, succeeded, successful, done, deployed,
complete or completed end it as a success; failed, failure, error,
errored, aborted, cancelled, canceled, rolled-back, rolledback, rollback,
timeout or timed-out as a failure. A server may set others (stepsd
--success-statuses, --failure-statuses; GET /v1/rules lists them).

When the server cannot be reached, answers 429 or 5xx, or something else
answers in its place (a proxy's page), after the retries
allowed by --timeout, the record is kept in the local spool with its time and
idempotency key, one line on stderr says so, and record exits 0: the deploy
goes on. The next stepsctl command that reaches the server, or "stepsctl
flush", delivers it, once. With --no-spool, record fails (exit 1) instead.

` + tokenRefusedHelp + `

Any other record the server refuses (4xx: a bad value) fails (exit 1).

` + commitHelp

// tokenRefusedHelp is the one rule for a refused token in deploy scripts,
// shown in the help of record and run alike.
const tokenRefusedHelp = `A token the server refuses (HTTP 401: missing, wrong or expired; HTTP 403:
read-only) does not stop a deploy, in record and in run alike: the record is
kept in the spool as in an outage, one line on stderr says the token was
refused, and the deploy goes on. Fix the token, then run "stepsctl flush"
to deliver what was kept.`

const recordExample = `  # In a deploy script, at each step
  stepsctl record --component api --version "$VERSION" --env production --status build -q
  stepsctl record --component api --version "$VERSION" --env production --status rollout -q
  stepsctl record --component api --version "$VERSION" --env production --status finished -q

  # Record a step that happened earlier (UTC datetime, RFC 3339, or a span ago)
  stepsctl record --component api --version 1.4.2 --status tests --time "2026-03-01 14:05:00"
  stepsctl record --component api --version 1.4.2 --status tests --time "$(date '+%F %T %z')"
  stepsctl record --component api --version 1.4.2 --status tests --time "$(git log -1 --format=%ci)"
  stepsctl record --component api --version 1.4.2 --status tests --time 20m

  # Fail instead of spooling when the server is down
  stepsctl record --component api --version 1.4.2 --status build --no-spool

  # Print the stored step as JSON
  stepsctl record --component api --version 1.4.2 --status build -o json

  # Name the commit deployed by hand (outside its git work tree)
  stepsctl record --component api --version 1.4.2 --status build --revision 9f1c2e7d4b3a --committed-at "2026-03-01 13:40:00"`

// NewCmdRecord returns the record command. runF replaces recordRun in
// tests of flag parsing.
func NewCmdRecord(f *Factory, runF func(context.Context, *RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "record --component C --version V --status S [--owner O] [--env E] [flags]",
		Short:   "Record one step of a deploy",
		Long:    recordLong,
		Example: recordExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlags(cmd.Flags(), "component", "version", "status"); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return recordRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Input.Component, "component", "", "component deployed, e.g. api (required)")
	fl.StringVar(&opts.Input.Version, "version", "", "version deployed, e.g. 1.4.2 (required)")
	fl.StringVar(&opts.Input.Status, "status", "", "step reached, e.g. build, tests, rollout, finished, failed (required)")
	fl.StringVar(&opts.Input.Owner, "owner", "", "who deploys (default: the current user: $USER, else $LOGNAME, else the account's name; uid-N, with a warning, for an account without one)")
	fl.StringVar(&opts.Input.Environment, "env", "", "environment, e.g. production")
	fl.StringVar(&opts.Time, "time", "", "when the step happened, if not now: a datetime (YYYY-MM-DD hh:mm:ss is UTC, whatever TZ says; add the offset for local time, +hh:mm or +hhmm: \"$(date '+%F %T %z')\"; Z or an offset in RFC 3339: 2026-03-01T14:05:00+0100) or a span back from now (90m, 2h)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing on success")
	fl.BoolVar(&opts.NoSpool, "no-spool", false, "fail instead of spooling when the server cannot be reached")
	addCommitFlags(fl, &opts.Commit)
	output.AddFormatFlag(cmd, &opts.Output)
	return cmd
}

func recordRun(ctx context.Context, opts *RecordOptions) error {
	// A message on a stderr nobody reads (2>&1 | head, a CI log gone)
	// must not kill record before its step is sent or spooled; the step
	// printed on a stdout nobody reads then ends it by SIGPIPE, as any
	// command's output does.
	stopSurviving := surviveBrokenPipe()
	defer stopSurviving()
	f := opts.Factory
	// The step happens when record is called: a record that has to wait in
	// the spool keeps this time, not the later one at which delivering
	// older records (up to half of --timeout against a server that does
	// not answer) and asking git left off.
	now := f.Now()
	format, err := output.ParseFormat(opts.Output)
	if err != nil {
		return &UsageError{Err: err}
	}
	in := opts.Input
	if in.Owner == "" {
		if in.Owner = f.defaultOwner(); in.Owner == "" {
			return usageErrorf("--owner is required: the current user is unknown")
		}
	}
	if opts.Time != "" {
		if in.Time, err = model.ParseSinceAt("--time", opts.Time, now); err != nil {
			return &UsageError{Err: err}
		}
		f.warnReadAsUTC("--time", opts.Time, in.Time)
	}
	if err := opts.Commit.fill(ctx, f, &in); err != nil {
		return err
	}
	if err := in.Validate(); err != nil {
		return fieldUsageError(err)
	}

	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	step, stored, err := sendStep(ctx, f, c, in, now, opts.NoSpool)
	stopSurviving()
	if err != nil || !stored || opts.Quiet {
		return err
	}
	return output.WriteStep(f.IO.Out, output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: f.Now(), Location: f.Loc}, step)
}

// sendStep records in with the client's retries. When the server cannot be
// reached, answers 429 or 5xx, answers with something else than the API
// (client.ProtocolError), or refuses the token (401, 403), it keeps
// the record in the spool with the time it happened (now, unless in has a
// time), says so in one line on stderr, and returns stored false and no
// error: the caller goes on. A call interrupted (a signal)
// spools too, and returns an error that says so. With noSpool, or when the
// server refuses the record (4xx), it returns the error. stored reports
// that the server stored the step it returns.
func sendStep(ctx context.Context, f *Factory, c *client.Client, in model.StepInput, now time.Time, noSpool bool) (step model.Step, stored bool, err error) {
	key := client.NewIdempotencyKey()
	step, err = c.RecordWithKey(ctx, key, in)
	if err == nil {
		return step, true, nil
	}
	interrupted := ctx.Err() != nil
	refused := tokenRefused(err)
	if noSpool || (!client.IsTemporary(err) && !refused && !interrupted) {
		return step, false, err
	}
	if interrupted {
		// Killed mid-deploy (a CI timeout, Ctrl-C): the step did
		// happen, so keep it, but do not wait long for the spool lock.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		path, _, serr := spoolRecord(sctx, f, c, key, in, now)
		if serr != nil {
			return step, false, fmt.Errorf("interrupted; the record could not be spooled: %w", serr)
		}
		return step, false, &interruptedError{path: path}
	}
	path, pending, serr := spoolRecord(ctx, f, c, key, in, now)
	if serr != nil {
		return step, false, fmt.Errorf("%s; and the record could not be spooled: %w", message(err), serr)
	}
	next := "to be delivered by the next stepsctl command or \"stepsctl flush\""
	if refused {
		next = "fix the token, then run \"stepsctl flush\""
	}
	fmt.Fprintf(f.IO.ErrOut, "stepsctl: %s; record spooled to %s (%d waiting), %s\n", message(err), path, pending, next)
	return step, false, nil
}

// tokenRefused reports whether the server refused the token (401, 403):
// a deploy script's configuration, which the step should not pay for
// (tokenRefusedHelp).
func tokenRefused(err error) bool {
	var apiErr *client.APIError
	return errors.As(err, &apiErr) && model.AuthRefused(apiErr.Code)
}

// interruptedError is a record cut short by a signal, and kept in the
// spool.
type interruptedError struct{ path string }

func (e *interruptedError) Error() string { return "interrupted; record spooled to " + e.path }

// spoolRecord keeps a record that could not be delivered, with the time it
// happened, and returns the spool's path and how many records wait in it.
func spoolRecord(ctx context.Context, f *Factory, c *client.Client, key string, in model.StepInput, now time.Time) (path string, pending int, err error) {
	if in.Time.IsZero() {
		in.Time = model.TruncateTime(now)
	}
	entry := spool.Entry{Key: key, Server: c.BaseURL(), Input: in, SpooledAt: f.Now()}
	var failed error
	for _, d := range f.spoolDirs() {
		sp, err := d.open(f.IO.ErrOut)
		if err == nil {
			if pending, err = sp.Append(ctx, entry); err == nil {
				return sp.Path(), pending, nil
			}
		}
		if failed == nil {
			failed = err
		} else {
			failed = fmt.Errorf("%w; then %w", failed, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return "", 0, fmt.Errorf("%w (set --spool-dir or STEPSCTL_SPOOL_DIR to a directory stepsctl can write)", failed)
}

// warnReadAsUTC says on stderr when a datetime given without an offset,
// which stepsctl reads as UTC (as the API does), names another instant on
// this machine's clock: a script's --time "$(date '+%F %T')" on a laptop
// in New York was stored five hours early without a word. at is the
// instant read from s. Nothing is said where the two agree: a span, a
// time with its offset, or a machine on UTC, as CI runners mostly are.
func (f *Factory) warnReadAsUTC(flag, s string, at time.Time) {
	if f.Loc == nil {
		return
	}
	local, _, err := model.ParseTimeIn(s, f.Loc)
	if err != nil || local.Equal(at) {
		return
	}
	fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: %s %s has no offset, so it is read as UTC, %s here; if it is this machine's time, give its offset: %s (date '+%%F %%T %%z')\n",
		flag, model.Quote(strings.TrimSpace(s)), at.In(f.Loc).Format(model.TerminalTime), model.Quote(local.In(f.Loc).Format(model.TerminalTime)))
}
