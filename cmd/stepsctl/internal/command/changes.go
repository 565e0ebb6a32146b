package command

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

// ChangesOptions are the dependencies and flags of changes.
type ChangesOptions struct {
	Factory *Factory

	Filter  model.Filter         // component, environment
	Changes model.ChangesOptions // outcome
	Since   string
	Until   string
	Output  string
}

// changesFormats are the formats changes prints: the server renders JSON
// and CSV itself.
var changesFormats = []string{string(output.Table), string(output.JSON), string(output.CSV)}

const changesLong = `Show when deploy time shifted, by how much, and which steps moved: the
retrospective's "when did it get slower?", answered from the recorded steps.

The server looks at each component and environment's history of finished
deployments (successful ones by default; --outcome failure or all for the
others) and finds the moments its deploy time shifted: a change is reported
only when the deployments after it differ from those before by a test of
significance, with enough deployments on each side and a large enough
change, so that noise is not reported. Junk deployments (far from their
neighbours: under a tenth or over ten times their rolling median) are left
out.

One line per change, oldest first: the day of the first deployment after
it, that deployment, the change of the median deploy time, and the steps
that moved most with their share of the change:

  2026-10-19  api 1.20.0 → production  +38 % (9m02s → 12m28s)  tests +3m10s (92 %)

-o json and -o csv print the server's JSON and CSV as they are (the CSV has
one row per change and step that moved).`

const changesExample = `  # When did api's production deploys get slower or faster?
  stepsctl changes --component api --env production

  # Every component, this quarter
  stepsctl changes --since 2026-10-01

  # The first slow deployment of each change, for a script
  stepsctl changes --component api -o json | jq -r '.changes[] | "\(.version) \(.change_percent)"'

  # Into a spreadsheet, one row per change and step
  stepsctl changes -o csv > changes.csv`

// NewCmdChanges returns the changes command. runF replaces changesRun in
// tests of flag parsing.
func NewCmdChanges(f *Factory, runF func(context.Context, *ChangesOptions) error) *cobra.Command {
	opts := &ChangesOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "changes [--component C] [--env E] [--since T] [--until T] [--outcome O] [-o table|json|csv] [flags]",
		Aliases: []string{"shifts"},
		Short:   "Show when deploy time shifted and which step moved",
		Long:    changesLong,
		Example: changesExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return changesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", "", "only deployments started at or after: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Until, "until", "", "only deployments started at or before: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Changes.Outcome, "outcome", model.OutcomeSuccess, "deployments measured: success, failure or all")
	output.AddFormatFlagOf(cmd, &opts.Output, changesFormats...)
	_ = cmd.RegisterFlagCompletionFunc("outcome", cobra.FixedCompletions([]string{model.OutcomeSuccess, model.OutcomeFailure, "all"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func changesRun(ctx context.Context, opts *ChangesOptions) error {
	f := opts.Factory
	format, err := output.ParseFormatOf(opts.Output, changesFormats...)
	if err != nil {
		return &UsageError{Err: err}
	}
	filter, err := listFilter(opts.Filter, opts.Since, opts.Until, f.Now(), "deployment")
	if err != nil {
		return err
	}
	co := opts.Changes
	if err := co.Validate(); err != nil {
		return statsUsageError(err)
	}

	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	if format != output.Table {
		return c.WriteChanges(ctx, f.IO.Out, filter, opts.Changes, string(format))
	}
	cs, err := c.Changes(ctx, filter, opts.Changes)
	if err != nil {
		return err
	}
	o := output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: f.Now(), Location: f.Loc}
	return output.WriteChanges(f.IO.Out, o, cs)
}
