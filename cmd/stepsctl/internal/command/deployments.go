package command

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

// DeploymentsOptions are the dependencies and flags of deployments.
type DeploymentsOptions struct {
	Factory *Factory

	Filter model.Filter // the text filters, order and limit
	Since  string
	Until  string
	Steps  bool
	Output string
}

const deploymentsLong = `List deploys with their durations: each deployment of a component's version
to an environment, when it started, how long it took, how it ended, and with
--steps how long each of its steps took.

A deployment is the sequence of steps of one component, version and
environment. Each step starts a phase that lasts until the next step; the
deployment lasts from its first step to its last, and ends at a terminal
status: a success (finished, success, succeeded, done, deployed, complete…)
or a failure (failed, error, aborted, cancelled, rolled-back, timeout…). A
step after a terminal one starts the next deployment of the same version:
ATTEMPT counts them. Until it ends, a deployment is "in progress", its
duration the time so far; it is "stuck" when its last step is older than the
server's threshold (1h by default).

The filters select deployments: --component, --version and --env match it,
--owner is who started it (the owner of its first step), --status keeps
deployments with a step of that status, --since and --until bound its start.
They take a datetime ("YYYY-MM-DD hh:mm:ss", UTC, or RFC 3339), a date
("YYYY-MM-DD", a day of the server's time zone, stepsd --timezone, UTC
unless set; as --until, the whole day) or a span back from now (90m, 36h,
7d, 2w).

In a terminal the output is a table with local times and durations such as
3m12s, and a REVISION column (the commit deployed, cut to 12 hex digits;
"-" for none) when a deployment listed has one; --steps adds the breakdown, "build 1m02s › tests 3m10s › finished"
(the running step of a deployment in progress ends in "…"). Piped, it is
tab-separated rows without a header: start (RFC 3339 UTC), component,
version, environment, attempt, owner, duration in seconds, outcome
(success, failure, in_progress), stuck (true/false), with --steps the
phases as status=seconds;…, and last overdue (true/false: in progress and
past its usual length in the phase it is in, the table's "overdue"). -o csv
gives the server's CSV columns (overdue last there too), -o json
and ndjson the server's objects, always with their steps. Deployments are
fetched page by page and printed as they arrive.`

const deploymentsExample = `  # This week's deploys, as a table
  stepsctl deployments --since 7d

  # Where the time of api's production deploys goes
  stepsctl deployments --component api --env production --since 30d --steps

  # The 10 latest failed deploys
  stepsctl deployments --status failed --order desc --limit 10

  # Deploys still running, with jq
  stepsctl deployments --since 1d -o ndjson | jq 'select(.outcome == "in_progress")'

  # A quarter of deploys for a spreadsheet
  stepsctl deployments --since 2026-01-01 --until 2026-03-31 -o csv > deploys.csv`

// NewCmdDeployments returns the deployments command. runF replaces
// deploymentsRun in tests of flag parsing.
func NewCmdDeployments(f *Factory, runF func(context.Context, *DeploymentsOptions) error) *cobra.Command {
	opts := &DeploymentsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "deployments [--since T] [--until T] [--component C] [--env E] [--steps] [--limit N] [-o FORMAT] [flags]",
		Aliases: []string{"deploys"},
		Short:   "List deploys with their durations",
		Long:    deploymentsLong,
		Example: deploymentsExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLimit(cmd, opts.Filter.Limit, "deployment"); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return deploymentsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Version, "version", "", "only this version")
	fl.StringVar(&opts.Filter.Owner, "owner", "", "only deployments started by this owner")
	fl.StringVar(&opts.Filter.Status, "status", "", "only deployments with a step of this status")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", "", "only deployments started at or after: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Until, "until", "", "only deployments started at or before: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Filter.Order, "order", model.OrderAsc, "asc (oldest first) or desc (newest first)")
	fl.IntVar(&opts.Filter.Limit, "limit", 0, "print at most this many deployments (default: all)")
	fl.BoolVar(&opts.Steps, "steps", false, "add each deployment's steps and their durations to the table")
	output.AddFormatFlag(cmd, &opts.Output)
	_ = cmd.RegisterFlagCompletionFunc("order", cobra.FixedCompletions([]string{model.OrderAsc, model.OrderDesc}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func deploymentsRun(ctx context.Context, opts *DeploymentsOptions) error {
	f := opts.Factory
	format, err := output.ParseFormat(opts.Output)
	if err != nil {
		return &UsageError{Err: err}
	}
	filter, err := listFilter(opts.Filter, opts.Since, opts.Until, f.Now(), "deployment")
	if err != nil {
		return err
	}
	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	o := output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: f.Now(), Location: f.Loc}
	w := output.NewDeploymentWriter(f.IO.Out, o, opts.Steps)
	return printList(f, format, w.ListWriter, c.Deployments(ctx, model.DeploymentFilter{Filter: filter}), "No deployments match.")
}

// listFilter is the filter of a listing command: its flags, with --since and
// --until read as datetimes or spans, and the limit checked.
func listFilter(filter model.Filter, since, until string, now time.Time, noun string) (model.Filter, error) {
	filter, err := timeFilter(filter, since, until, now)
	if err != nil {
		return filter, err
	}
	if filter.Limit < 0 {
		return filter, limitError(noun)
	}
	check := filter
	check.Limit = 0 // the total may exceed one page; the client pages
	if err := check.Validate(); err != nil {
		return filter, fieldUsageError(err)
	}
	return filter, nil
}

// checkLimit refuses a --limit given as 0 or less. The API reads limit=0
// as "no limit", but on the command line "--limit 0" reads as "none", and
// listing everything instead would surprise; leaving the flag out is the
// way to ask for everything.
func checkLimit(cmd *cobra.Command, limit int, noun string) error {
	if cmd.Flags().Changed("limit") && limit < 1 {
		return limitError(noun)
	}
	return nil
}

func limitError(noun string) error {
	return usageErrorf("--limit must be at least 1; omit it to list every %s", noun)
}

// printList prints every item of items as it arrives. On a failure it
// shows what arrived before it, then returns the failure.
func printList[T any](f *Factory, format output.Format, w *output.ListWriter[T], items iter.Seq2[T, error], none string) error {
	for v, err := range items {
		if err != nil {
			_ = w.Abort()
			return err
		}
		if err := w.Write(v); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if w.Count() == 0 && format == output.Table && f.IO.IsTerminal {
		fmt.Fprintln(f.IO.ErrOut, none)
	}
	return nil
}

// timeFilter sets the bounds of filter from --since and --until, each a
// datetime or a span back from now. A bad one is named by its flag, as the
// user typed it. A date goes to the server as the date, which reads it as
// that day in the team's time zone (its --timezone, or --tz); a datetime or
// a span goes as the instant it names.
func timeFilter(filter model.Filter, since, until string, now time.Time) (model.Filter, error) {
	var err error
	if since != "" {
		if filter.Since, err = model.ParseSinceAt("--since", since, now); err != nil {
			return filter, &UsageError{Err: boundError("--since", since, err)}
		}
		filter.Since = keepInstant(filter.Since, since)
	}
	if until != "" {
		if filter.Until, err = model.ParseUntilAt("--until", until, now); err != nil {
			return filter, &UsageError{Err: boundError("--until", until, err)}
		}
		filter.Until = keepInstant(filter.Until, until)
	}
	return filter, nil
}

// boundError is err, the error of a bound typed as typed, except when
// typed is neither a datetime nor a span: then the forms are listed as the
// server reads them, a date a day of its zone (the help says so), where
// model.ParseSinceAt, which reads a date as UTC, says "(UTC)".
func boundError(flag, typed string, err error) error {
	if _, perr := model.ParseSpan(typed); perr == nil || model.SpanTooLong(typed) {
		return err
	}
	if _, _, perr := model.ParseTime(typed); perr == nil {
		return err
	}
	return model.Invalid(flag, "%s: %s is neither a datetime nor a span; use %s, or %s", flag, model.Quote(strings.TrimSpace(typed)),
		model.AcceptedBoundFormats("the server's time zone, UTC unless set"), model.AcceptedSpanFormats)
}

// keepInstant marks t, the bound typed as typed, as an instant unless it
// was a date: pkg/client sends a bound in time.UTC at a day's edge as the
// date, and "2026-04-06T00:00:00Z", or "7d" at midnight, would then read
// as a day in the team's zone instead of the instant typed.
func keepInstant(t time.Time, typed string) time.Time {
	if _, isDate, err := model.ParseTime(typed); err == nil && isDate {
		return t
	}
	return t.In(time.FixedZone("UTC", 0))
}
