package command

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// DORAOptions are the dependencies and flags of dora.
type DORAOptions struct {
	Factory *Factory

	Filter      model.Filter      // component, environment
	DORA        model.DORAOptions // bucket, sprint length
	Since       string
	Until       string
	SprintStart string
	TZ          string
	Output      string
}

// doraFormats are the formats dora prints: the server renders JSON and
// CSV itself.
var doraFormats = []string{string(output.Table), string(output.JSON), string(output.CSV)}

const doraLong = `Show the DORA four keys, each with its performance band and a sparkline
of it over the period (its latest 60 buckets at most), from the recorded
deployments:

  deployment frequency    successful deployments per day of the period
  change failure rate     failed deployments out of finished ones
  time to restore         from the end of a failed deployment to the end of
                          the next successful one of the same component and
                          environment: p50 and p90, the restored failures
                          they come from, and the failures not yet restored
  lead time for changes   from the commit time (committed_at) to the end of
                          a successful deployment: p50 and p90, over the
                          deployments that carry one (their share is shown)

A note says how many restored failures the time to restore comes from
(-o json and -o csv give them as restored_failures), and says when a p90
comes from fewer than 10 restores or lead times: it is then about the
slowest of them.

The keys count changes: a version of a component reaching an environment
(or a version and its commit, when the steps give --revision: a moving
label such as main is one change per commit). A version's attempts are one
change:

  retried failures  a failed attempt followed by another attempt of the
                    same version (a flaky pipeline run again) is not a
                    deployment: the version failed only if no attempt of
                    it succeeded, from its first failed attempt's end
  redeployments     once a version has succeeded, its further attempts
                    until another version (a terminal step sent twice, a
                    redeploy of what runs, one that fails) are not
                    deployments either: they ship no change, add no lead
                    time and are no change failure

A deployment cancelled (status cancelled or canceled) because a newer
change's deployment started before it ended, or within 5 minutes after, as
a CI concurrency group cancels a superseded run, deployed nothing: it is
not a deployment, not a change failure and no restore. A cancel followed
by a rollback (to an older commit, or to a change deployed before), or by
nothing soon, is a failure.

A success of one of the latest 16 changes deployed, after failed
deployments (a failing deploy ended rolled-back, then the change before it
deployed again), is a rollback: it restores them but ships no change, so
it is not a deployment and adds no lead time.

A note under the keys counts them ("Not deployments: 2 failed attempts
retried with the same version, 1 redeployment of the version just
deployed, 1 cancelled deployment superseded by a newer change, 1 rollback
to a change deployed before."); -o json and -o csv give them as
retried_failures, redeployments, superseded_deployments and rollbacks.
Any other version deployed again after another one is a deployment.

Deployments are grouped by when they started, per day, week, month or
sprint (--by, the sprint calendar as in "stepsctl stats"), and a restore
counts in the bucket of its failure. Deployments in progress are not
counted. The period runs from --since (else the first deployment's bucket)
to --until (else now, and never past now), so quiet days count in the
frequency and days to come do not; a date given to either is a day of the
calendar's zone (--tz, else as in "stepsctl stats").

Bands, from the 2023 Accelerate State of DevOps Report (DORA), made
contiguous as Apache DevLake does:

               elite          high            medium           low
  frequency    ≥ 1 a day      ≥ 1 a week      ≥ 1 in 31 days   less
  failures     ≤ 5 %          ≤ 10 %          ≤ 15 %           more
  restore      < 1 hour       < 1 day         < 1 week         more
  lead time    < 1 day        < 1 week        < 30 days        more

Time to restore and lead time are banded by their p50. A key that cannot
be computed (no deployment, no restore, no commit time) shows "-".

The change failure rate comes with its 95 % interval (Wilson score):
"16.7 % (3.0–56.4; 1 of 6)" is 1 failure in 6 deployments, and a true rate
anywhere from 3 % to 56 % could give that. The band is the rate's own,
but with few deployments one more can move it (0 of 6 is elite, 1 of 6
low); a note says when the interval spans more than one band. It takes
about 300 deployments at a 5 % rate, 560 at 10 %, for the interval to be
narrower than one band (5 points). -o json and -o csv give it as
change_failure_rate_low_percent and change_failure_rate_high_percent.

Ask with --env production. Without --env every environment counts,
staging and test ones included: a staging pipeline deploying three times
as often and failing more makes the frequency, the failure rate and the
restore and lead times its own. A note says so when the server records
several environments. A GitHub matrix job records each leg in an
environment of its own ("production (eu-west-1)"), which --env production
does not count: a note names the legs (-o json: leg_environments), and
--env 'production (eu-west-1)' gives a leg's keys.

-o json and -o csv print the server's JSON and CSV as they are (the CSV
has a row per bucket and a last overall row).`

const doraExample = `  # The four keys of api in production, month by month since January
  stepsctl dora --component api --env production --since 2026-01-01 --by month

  # Every component in production, the last 90 days, per sprint
  stepsctl dora --env production --since 90d --by sprint

  # The bands only, for a dashboard
  stepsctl dora --env production --since 90d -o json | jq '.overall.bands'

  # Per week, into a spreadsheet
  stepsctl dora --env production --since 2026-01-01 -o csv > dora.csv`

// NewCmdDORA returns the dora command. runF replaces doraRun in tests of
// flag parsing.
func NewCmdDORA(f *Factory, runF func(context.Context, *DORAOptions) error) *cobra.Command {
	opts := &DORAOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "dora [--component C] [--env E] [--since T] [--until T] [--by day|week|month|sprint] [-o table|json|csv] [flags]",
		Aliases: []string{"four-keys"},
		Short:   "Show the DORA four keys with their bands",
		Long:    doraLong,
		Example: doraExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			markZeroSprintDays(cmd, &opts.DORA.SprintDays)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doraRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", "", "only deployments started at or after: a datetime or a span (90m, 36h, 7d); the period's start")
	fl.StringVar(&opts.Until, "until", "", "only deployments started at or before: a datetime or a span (90m, 36h, 7d); the period's end (default now)")
	addCalendarFlags(cmd, &opts.DORA.Bucket, &opts.DORA.SprintDays, &opts.SprintStart, &opts.TZ, "sprint length in days")
	output.AddFormatFlagOf(cmd, &opts.Output, doraFormats...)
	return cmd
}

func doraRun(ctx context.Context, opts *DORAOptions) error {
	f := opts.Factory
	format, err := output.ParseFormatOf(opts.Output, doraFormats...)
	if err != nil {
		return &UsageError{Err: err}
	}
	filter, err := listFilter(opts.Filter, opts.Since, opts.Until, f.Now(), "deployment")
	if err != nil {
		return err
	}
	// The sprint calendar is the one stats use: flags, else config, else
	// the server's.
	cal := model.StatsOptions{Bucket: opts.DORA.Bucket, SprintDays: opts.DORA.SprintDays}
	if err := sprintCalendar(&cal, opts.SprintStart, opts.TZ, f.Config, f.Getenv); err != nil {
		return err
	}
	do := model.DORAOptions{Bucket: cal.Bucket, SprintDays: cal.SprintDays, SprintStart: cal.SprintStart, Location: cal.Location}
	check := do
	if err := check.Validate(); err != nil {
		return statsUsageError(err)
	}

	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	if format != output.Table {
		return c.WriteDORA(ctx, f.IO.Out, filter, do, string(format))
	}
	d, err := c.DORA(ctx, filter, do)
	if err != nil {
		return err
	}
	return output.WriteDORA(f.IO.Out, check.Bucket, d, mixedEnvironments(ctx, c, filter, d.Environments)...)
}

// mixedEnvironments names the environments of the deployments measured
// (envs, from the answer) when filter picks none and there are several:
// they all count together then, staging beside production, and dora's and
// stats' notes say so. A server whose answer has no environments (older
// than the field) is asked for its own (/v1/values); any error there just
// goes without the note.
func mixedEnvironments(ctx context.Context, c *client.Client, filter model.Filter, envs []string) []string {
	if filter.Environment != "" {
		return nil
	}
	if envs == nil {
		var err error
		if envs, err = c.Values(ctx, "environment", "", output.MixedEnvironmentsMax+1); err != nil {
			return nil
		}
	}
	if len(envs) < 2 {
		return nil
	}
	return envs
}
