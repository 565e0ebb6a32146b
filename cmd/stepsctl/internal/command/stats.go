package command

import (
	"context"
	"errors"
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
maximum and mean of their durations. Then the slowest steps, each with its
share of all deploy time; and the trend: the growth rate of deploy time per
week and per sprint, from a least-squares fit over every deployment, in one
sentence.

Only finished deployments are measured: successful ones by default,
--outcome failure or all for the others.

In a terminal: a table with a bar of each bucket's p50, a sparkline, and the
sentence. Piped: the same in plain ASCII, without colours. -o json and -o csv
print the server's JSON and CSV as they are (the CSV is one long table whose
kind column says bucket, step, step_bucket or trend). Colours follow
NO_COLOR.`

const statsExample = `  # Are api's deploys getting slower? Two-week sprints since the start of the year
  stepsctl stats --component api --env production --since 2026-01-05 --by sprint --sprint-start 2026-01-05

  # Week by week, the last 90 days, every component
  stepsctl stats --since 90d

  # How long failed deploys ran before they failed
  stepsctl stats --outcome failure --by month

  # The growth rate, for a dashboard or a retro slide
  stepsctl stats --component api --by sprint -o json | jq .trend.growth_percent_per_sprint

  # Everything, for a spreadsheet
  stepsctl stats --component api -o csv > api-stats.csv`

// NewCmdStats returns the stats command. runF replaces statsRun in tests of
// flag parsing.
func NewCmdStats(f *Factory, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "stats [--component C] [--env E] [--since T] [--until T] [--by day|week|month|sprint] [-o table|json|csv] [flags]",
		Aliases: []string{"trend"},
		Short:   "Show deploy durations over time and their growth rate",
		Long:    statsLong,
		Example: statsExample,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
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
	fl.StringVar(&opts.Stats.Bucket, "by", model.DefaultBucket, "bucket: day, week, month or sprint")
	fl.IntVar(&opts.Stats.SprintDays, "sprint-days", model.DefaultSprintDays, "sprint length in days; also the \"per sprint\" of the growth rate")
	fl.StringVar(&opts.SprintStart, "sprint-start", "", "first day of any sprint, YYYY-MM-DD (default 2024-01-01, a Monday)")
	fl.StringVar(&opts.Stats.Outcome, "outcome", model.OutcomeSuccess, "deployments measured: success, failure or all")
	output.AddFormatFlagOf(cmd, &opts.Output, statsFormats...)
	_ = cmd.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{model.BucketDay, model.BucketWeek, model.BucketMonth, model.BucketSprint}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions([]string{model.OutcomeSuccess, model.OutcomeFailure, "all"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	f := opts.Factory
	format, err := output.ParseFormatOf(opts.Output, statsFormats...)
	if err != nil {
		return &UsageError{Err: err}
	}
	filter, err := timeFilter(opts.Filter, opts.Since, opts.Until, f.Now())
	if err != nil {
		return err
	}
	if err := filter.Validate(); err != nil {
		return &UsageError{Err: err}
	}
	so := opts.Stats
	if opts.SprintStart != "" {
		t, _, err := model.ParseTime(opts.SprintStart)
		if err != nil {
			return usageErrorf("--sprint-start: %v", err)
		}
		so.SprintStart = t
	}
	if so.SprintDays == 0 {
		so.SprintDays = -1 // 0 is not a length; do not let Validate take it for the default
	}
	check := so
	if err := check.Validate(); err != nil {
		return statsUsageError(err)
	}

	c, err := f.Client()
	if err != nil {
		return err
	}
	deliverSpool(ctx, f)

	if format != output.Table {
		return c.WriteStats(ctx, f.IO.Out, filter, so, string(format))
	}
	st, err := c.Stats(ctx, filter, so)
	if err != nil {
		return err
	}
	o := output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: f.Now(), Location: f.Loc,
		Color: output.UseColor(f.IO.IsTerminal, f.Getenv)}
	return output.WriteStats(f.IO.Out, o, st)
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
