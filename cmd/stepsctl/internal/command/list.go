package command

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/model"
)

// ListOptions are the dependencies and flags of list.
type ListOptions struct {
	Factory *Factory

	Filter model.Filter // the text filters, order and limit
	Since  string
	Until  string
	Output string
}

const listLong = `List recorded steps, oldest first, filtered by any of the flags (all must
match).

--since and --until take a datetime: "YYYY-MM-DD hh:mm:ss[.ffffff]" (UTC),
"YYYY-MM-DD" (a day of the server's time zone, stepsd --timezone, UTC unless
set), a time copied from the table, quoted ("2026-03-02 10:00:00 +01:00"),
or RFC 3339 ("2026-03-01T15:04:05+02:00"); or a span back from now:
90m, 36h, 7d, 2w. Both bounds are inclusive; a bare date as --until means
the whole of that day.

In a terminal the output is an aligned table with local times and ages, and
a REVISION column (the commit deployed, cut to 12 hex digits) when a step
listed has one; piped, it is tab-separated rows (id, time in RFC 3339 UTC, component, version,
environment, status, owner) for cut and awk. -o csv, json or ndjson give
every field. Steps are fetched page by page and printed as they arrive, so any
number of them can be listed.`

const listExample = `  # The last 7 days, as a table
  stepsctl list --since 7d

  # Production deploys of api in the last 36 hours, newest first
  stepsctl list --component api --env production --since 36h --order desc

  # The 20 most recent failures
  stepsctl list --status failed --order desc --limit 20

  # A month of steps for a spreadsheet
  stepsctl list --since 2026-03-01 --until 2026-03-31 -o csv > march.csv

  # Versions of api that reached rollout, with jq
  stepsctl list --component api --status rollout -o ndjson | jq -r .version`

// NewCmdList returns the list command. runF replaces listRun in tests of
// flag parsing.
func NewCmdList(f *Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "list [--since T] [--until T] [--component C] [--env E] [--status S] [--limit N] [-o FORMAT] [flags]",
		Aliases: []string{"ls"},
		// "export" is close to "import" by spelling; the export is list -o csv.
		SuggestFor: []string{"export"},
		Short:      "List recorded steps",
		Long:       listLong,
		Example:    listExample,
		Args:       noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLimit(cmd, opts.Filter.Limit, "step"); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Version, "version", "", "only this version")
	fl.StringVar(&opts.Filter.Owner, "owner", "", "only steps recorded by this owner")
	fl.StringVar(&opts.Filter.Status, "status", "", "only this status (step name)")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", "", "only steps at or after: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Until, "until", "", "only steps at or before: a datetime or a span (90m, 36h, 7d)")
	fl.StringVar(&opts.Filter.Order, "order", model.OrderAsc, "asc (oldest first) or desc (newest first)")
	fl.IntVar(&opts.Filter.Limit, "limit", 0, "print at most this many steps (default: all)")
	output.AddFormatFlag(cmd, &opts.Output)
	_ = cmd.RegisterFlagCompletionFunc("order", cobra.FixedCompletions([]string{model.OrderAsc, model.OrderDesc}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	f := opts.Factory
	format, err := output.ParseFormat(opts.Output)
	if err != nil {
		return &UsageError{Err: err}
	}
	now := f.Now()
	filter, err := listFilter(opts.Filter, opts.Since, opts.Until, now, "step")
	if err != nil {
		return err
	}
	deliverSpool(ctx, f) // first: the client gets what is left of --timeout
	c, err := f.Client()
	if err != nil {
		return err
	}

	w := output.NewStepWriter(f.IO.Out, output.Options{Format: format, Terminal: f.IO.IsTerminal, Now: now, Location: f.Loc})
	return printList(f, format, w.ListWriter, c.Steps(ctx, filter), "No steps match.")
}
