package command

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/pkg/client/spool"
)

// FlushOptions are the dependencies and flags of flush.
type FlushOptions struct {
	Factory *Factory
	Quiet   bool
}

const flushLong = `Deliver the records that "stepsctl record" kept in the spool while the server
could not be reached, oldest first, each with its original time and
idempotency key: a record is stored once however often it is sent. Each one
leaves the spool only once the server has stored it.

Every stepsctl command that talks to the server delivers the spool first
anyway; flush does it on purpose, waits for another stepsctl that is
delivering at the same time, and fails (exit 1) if records remain
undelivered. A record the server refuses for good (an invalid value) is
moved to rejected.ndjson beside the spool and reported.

Records are delivered to the server they were recorded for; records for
other servers stay in the spool.`

const flushExample = `  # After an outage
  stepsctl flush

  # At the end of a deploy script, without failing the deploy
  stepsctl flush -q || echo "steps: some records are still waiting in the spool" >&2

  # Where the spool is
  ls "${XDG_STATE_HOME:-$HOME/.local/state}/stepsctl"`

// NewCmdFlush returns the flush command. runF replaces flushRun in tests
// of flag parsing.
func NewCmdFlush(f *Factory, runF func(context.Context, *FlushOptions) error) *cobra.Command {
	opts := &FlushOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "flush",
		Short:   "Deliver the records kept in the spool",
		Long:    flushLong,
		Example: flushExample,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return flushRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing unless something fails")
	return cmd
}

func flushRun(ctx context.Context, opts *FlushOptions) error {
	f := opts.Factory
	if _, err := os.Stat(filepath.Join(f.SpoolDir(), spool.FileName)); os.IsNotExist(err) {
		if !opts.Quiet {
			fmt.Fprintln(f.IO.Out, "Nothing to deliver: the spool is empty.")
		}
		return nil
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	sp, err := f.Spool()
	if err != nil {
		return err
	}
	res, err := sp.Deliver(ctx, c)
	for _, r := range res.Rejected {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: the server refused spooled record %s: %s; kept in %s\n", describe(r.Entry.Input), message(r.Err), sp.RejectedPath())
	}
	if res.Dropped > 0 {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: dropped %d unreadable line(s) from %s (a write cut short by a crash)\n", res.Dropped, sp.Path())
	}
	if err != nil {
		return fmt.Errorf("delivered %d, %d still waiting in %s: %w", res.Delivered, res.Remaining, sp.Path(), err)
	}
	if !opts.Quiet {
		fmt.Fprintf(f.IO.Out, "Delivered %d record(s).", res.Delivered)
		if res.Remaining > 0 {
			fmt.Fprintf(f.IO.Out, " %d record(s) for other servers wait in %s.", res.Remaining, sp.Path())
		}
		fmt.Fprintln(f.IO.Out)
	}
	if len(res.Rejected) > 0 {
		return &silentError{err: fmt.Errorf("%d record(s) refused", len(res.Rejected))}
	}
	return nil
}
