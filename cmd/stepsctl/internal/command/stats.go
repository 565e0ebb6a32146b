package command

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

// StatsOptions are the dependencies and flags of stats.
type StatsOptions struct {
	Factory *Factory

	Filter      model.Filter       // component, version, owner, environment
	Stats       model.StatsOptions // bucket, sprint length, outcome
	Since       string
	Until       string
	SprintStart string
	TZ          string
	Output      string
}

// statsFormats are the formats stats prints: the server renders JSON and
// CSV itself.
var statsFormats = []string{string(output.Table), string(output.JSON), string(output.CSV)}

const statsLong = `Show how long deploys take and whether that grows: the retrospective's
question "are our deploys getting slower?", answered from the recorded steps.

Deployments (see "stepsctl deployments") are grouped by when they started,
per day, week (ISO weeks, from Monday), month, or sprint (--by sprint, with
--sprint-days and --sprint-start, the first day of any sprint; sprints repeat
from it both ways). For each bucket: how many deploys, and the p50, p90,
maximum and mean of their durations, outliers left out (an OUTLIERS column
counts them when a bucket left any out). Then the slowest steps, each with its
share of all deploy time, its own growth a week and its share of the
deployment's growth; and the trend: the growth rate of deploy time per week
and per sprint, from a robust fit that a few junk deployments cannot swing,
with its 95 % interval ("grows 1.5 % a week (1.1–1.9 %)", or "no clear
trend" when the interval holds 0), the outliers it left out, and the steps
to blame ("migrate accounts for 70 % of the growth"). Last, the shifts of
deploy time in the same deployments, as "stepsctl changes" lists them: a
one-time shift reads as growth too (flat at 10 minutes, then 14 from one
day on, "grows 2 % a week"), a rate not to extrapolate across it. Without
--env every environment counts in each bucket's figures, staging beside
production: a note says so when the server records several; ask with
--env production.

The sprint calendar: --sprint-start and --sprint-days, else the config keys
sprint.start and sprint.days (env STEPSCTL_SPRINT_START, STEPSCTL_SPRINT_DAYS),
else the server's (stepsd --sprint-start, --sprint-days). Buckets start at
midnight in --tz, else the config key timezone (env STEPSCTL_TIMEZONE), else
the server's zone (stepsd --timezone, UTC unless set); their dates are shown
in that zone, and a date given to --since or --until is a day of it. The
growth per week and per sprint is in elapsed time.

Only finished deployments are measured: successful ones by default,
--outcome failure or all for the others.

In a terminal: a table with a bar of each bucket's p50, a sparkline, and the
sentence, the bars and the sparkline fitted to the terminal's width (the
sparkline then draws the latest buckets that fit, and says so). Piped: the same without colours, with # bars and no sparkline.
-o json and -o csv print the server's JSON and CSV as they are (the CSV is
one long table whose kind column says bucket, step, step_bucket or trend).
Colours follow NO_COLOR.`

const statsExample = `  # Are api's deploys getting slower? Two-week sprints since the start of the year
  stepsctl stats --component api --env production --since 2026-01-05 --by sprint --sprint-start 2026-01-05

  # Week by week, the last 90 days, every component
  stepsctl stats --since 90d

  # How long failed deploys ran before they failed
  stepsctl stats --outcome failure --by month

  # The growth rate with its interval, for a dashboard or a retro slide
  stepsctl stats --component api --by sprint -o json | jq '.trend | {growth_percent_per_sprint, growth_percent_per_week_low, growth_percent_per_week_high, direction, blame}'

  # Which steps grow: their own growth and share of the growth
  stepsctl stats --component api -o json | jq '.steps[] | {status, growth: .trend.growth_percent_per_week, share_of_growth_percent}'

  # Everything, for a spreadsheet
  stepsctl stats --component api -o csv > api-stats.csv`

// NewCmdStats returns the stats command. runF replaces statsRun in tests of
// flag parsing.
func NewCmdStats(f *Factory, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:        "stats [--component C] [--env E] [--since T] [--until T] [--by day|week|month|sprint] [-o table|json|csv] [flags]",
		Aliases:    []string{"trend"},
		SuggestFor: []string{"blame", "growth"},
		Short:      "Show deploy durations over time and their growth rate",
		Long:       statsLong,
		Example:    statsExample,
		Args:       noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			markZeroSprintDays(cmd, &opts.Stats.SprintDays)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statsRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Version, "version", "", "only this version")
	fl.StringVar(&opts.Filter.Owner, "owner", "", "only deployments started by this owner")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", "", "only deployments started at or after: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Until, "until", "", "only deployments started at or before: a datetime or a span (90m, 36h, 7d)")
	addCalendarFlags(cmd, &opts.Stats.Bucket, &opts.Stats.SprintDays, &opts.SprintStart, &opts.TZ, "sprint length in days; also the \"per sprint\" of the growth rate")
	fl.StringVar(&opts.Stats.Outcome, "outcome", model.OutcomeSuccess, "deployments measured: success, failure or all")
	output.AddFormatFlagOf(cmd, &opts.Output, statsFormats...)
	_ = cmd.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions([]string{model.OutcomeSuccess, model.OutcomeFailure, "all"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	f := opts.Factory
	format, err := output.ParseFormatOf(opts.Output, statsFormats...)
	if err != nil {
		return &UsageError{Err: err}
	}
	filter, err := listFilter(opts.Filter, opts.Since, opts.Until, f.Now(), "deployment")
	if err != nil {
		return err
	}
	so := opts.Stats
	if err := sprintCalendar(&so, opts.SprintStart, opts.TZ, f.Config, f.Getenv); err != nil {
		return err
	}
	check := so
	if err := check.Validate(); err != nil {
		return statsUsageError(err)
	}

	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	if format != output.Table {
		return c.WriteStats(ctx, f.IO.Out, filter, so, string(format))
	}
	st, err := c.Stats(ctx, filter, so)
	if err != nil {
		return err
	}
	o := output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: f.Now(), Location: f.Loc,
		Color: output.UseColor(f.IO.IsTerminal, f.Getenv), Width: f.IO.Width}
	// The shifts of the same deployments: a one-time shift reads as growth
	// in the sentence, and only they tell the two apart. A server without
	// /v1/changes (or any error) leaves them out.
	var notes output.StatsNotes
	if st.Deployments > 0 {
		if cs, err := c.Changes(ctx, filter, model.ChangesOptions{Outcome: so.Outcome}); err == nil {
			notes.Shifts = cs.Changes
		}
		notes.Mixed = mixedEnvironments(ctx, c, filter, st.Environments)
	}
	return output.WriteStats(f.IO.Out, o, st, notes)
}

// sprintCalendar fills the sprint and time zone of so from the flags, else
// the config (sprint.start, sprint.days, timezone, or their STEPSCTL_
// variables, which getenv reads to name the one a mistake came from).
// Left unset, the server's calendar applies.
func sprintCalendar(so *model.StatsOptions, startFlag, tzFlag string, cfg Config, getenv func(string) string) error {
	// configured names where a configured value came from: its variable
	// (which wins over the file) when set, else the config file's key. A
	// user who exported STEPSCTL_TIMEZONE has no config file to look in.
	configured := func(key, env string) string {
		if strings.TrimSpace(getenv(env)) != "" {
			return env
		}
		return "config " + key
	}
	tz, from := tzFlag, "--tz"
	if tz == "" {
		tz, from = cfg.TimeZone, configured("timezone", "STEPSCTL_TIMEZONE")
	}
	if tz != "" {
		loc, err := model.LoadZone("tz", tz)
		if err != nil {
			return usageErrorf("%s: %q is not a time zone; use an IANA name such as Australia/Sydney or America/New_York, or UTC", from, tz)
		}
		so.Location = loc
	}
	start := startFlag
	from = "--sprint-start"
	if start == "" {
		start, from = cfg.SprintStart, configured("sprint.start", "STEPSCTL_SPRINT_START")
	}
	if start != "" {
		// A datetime counts as the day it names, sent as that date, as
		// stepsd's own --sprint-start takes it. The server takes a datetime
		// too, but a day is what the flag asks for: a list of datetime
		// forms would mislead.
		day, ok := model.ParseDay(start)
		if !ok {
			return usageErrorf("%s: %q is not a date; use YYYY-MM-DD, such as 2026-01-05", from, strings.TrimSpace(start))
		}
		so.SprintStart = day
	}
	if so.SprintDays == 0 && cfg.SprintDays != "" {
		n, err := strconv.Atoi(cfg.SprintDays)
		if err != nil || n < 1 || n > 366 {
			return usageErrorf("%s must be a whole number of days from 1 to 366, not %q", configured("sprint.days", "STEPSCTL_SPRINT_DAYS"), cfg.SprintDays)
		}
		so.SprintDays = n
	}
	return nil
}

// statsUsageError names the flag behind an invalid stats option.
func statsUsageError(err error) error {
	var merr *model.Error
	if !errors.As(err, &merr) {
		return &UsageError{Err: err}
	}
	flag := map[string]string{"bucket": "by", "sprint_days": "sprint-days", "sprint_start": "sprint-start", "outcome": "outcome"}[merr.Field]
	if flag == "" {
		return &UsageError{Err: err}
	}
	msg := strings.TrimPrefix(merr.Message, merr.Field+" ")
	return usageErrorf("--%s %s", flag, msg)
}

// addCalendarFlags adds the bucket and sprint-calendar flags that stats and
// dora share: --by, --sprint-days (daysHelp says what the length is for)
// and --sprint-start.
func addCalendarFlags(cmd *cobra.Command, bucket *string, sprintDays *int, sprintStart, tz *string, daysHelp string) {
	fl := cmd.Flags()
	fl.StringVar(bucket, "by", model.DefaultBucket, "bucket: day, week, month or sprint")
	fl.IntVar(sprintDays, "sprint-days", 0, daysHelp+" (default: config sprint.days, else the server's calendar)")
	fl.StringVar(sprintStart, "sprint-start", "", "first day of any sprint, YYYY-MM-DD (default: config sprint.start, else the server's calendar)")
	fl.StringVar(tz, "tz", "", "time zone whose midnight starts buckets, an IANA name such as Australia/Sydney, or UTC (default: config timezone, else the server's)")
	_ = cmd.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{model.BucketDay, model.BucketWeek, model.BucketMonth, model.BucketSprint}, cobra.ShellCompDirectiveNoFileComp))
}

// markZeroSprintDays turns an explicit --sprint-days 0 into -1, which
// validation refuses: 0 is not a length, and unset means "the configured
// one".
func markZeroSprintDays(cmd *cobra.Command, sprintDays *int) {
	if cmd.Flags().Changed("sprint-days") && *sprintDays == 0 {
		*sprintDays = -1
	}
}
