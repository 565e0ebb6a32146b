package command

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/client/spool"
)

// FlushOptions are the dependencies and flags of flush.
type FlushOptions struct {
	Factory *Factory
	Quiet   bool
	All     bool
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

Records are delivered to the server they were recorded for. Records for
other servers than --server stay in the spool: flush names those servers
and exits 1. Deliver them with --server URL (and that server's --token),
or with --all, which delivers every server's records, each to its own
server, all with the configured token; --timeout then applies to each
server. The spool keeps no password: a record for https://user:pass@host
is kept for https://host and matched by it, and delivered with the
credentials of the --server URL that delivers it.`

const flushExample = `  # After an outage
  stepsctl flush

  # At the end of a deploy script, without failing the deploy
  stepsctl flush -q || echo "steps: some records are still waiting in the spool" >&2

  # Records kept for an older server URL, or for a staging tracker
  stepsctl flush --server https://steps-staging.example.com --token "$STAGING_TOKEN"
  stepsctl flush --all

  # Where the spool is
  ls "${XDG_STATE_HOME:-$HOME/.local/state}/stepsctl"`

// NewCmdFlush returns the flush command. runF replaces flushRun in tests
// of flag parsing.
func NewCmdFlush(f *Factory, runF func(context.Context, *FlushOptions) error) *cobra.Command {
	opts := &FlushOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "flush [--all]",
		Short:   "Deliver the records kept in the spool",
		Long:    flushLong,
		Example: flushExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return flushRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing unless something fails")
	cmd.Flags().BoolVar(&opts.All, "all", false, "deliver the records of every server in the spool, each to its own server, with the configured token")
	return cmd
}

func flushRun(ctx context.Context, opts *FlushOptions) error {
	f := opts.Factory
	spools := f.spooled()
	if len(spools) == 0 {
		if !opts.Quiet {
			fmt.Fprintln(f.IO.Out, "Nothing to deliver: the spool is empty.")
		}
		return nil
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	var delivered, refused, remaining int
	var failures, waiting []error
	for _, sp := range spools {
		res, err := flushSpool(ctx, f, sp, c, opts.All)
		delivered, refused = delivered+res.Delivered, refused+len(res.Rejected)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		if len(res.Others) > 0 {
			var each []string
			for _, server := range sortedKeys(res.Others) {
				each = append(each, fmt.Sprintf("%d for %s", res.Others[server], shownServer(server)))
			}
			remaining += res.Remaining
			waiting = append(waiting, fmt.Errorf("%d record(s) for other servers still wait in %s (%s)", res.Remaining, sp.Path(), strings.Join(each, ", ")))
		}
	}
	if len(failures) > 0 {
		return errors.Join(failures...)
	}
	if !opts.Quiet {
		fmt.Fprintf(f.IO.Out, "Delivered %d record(s).\n", delivered)
	}
	for _, w := range waiting {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: %s; deliver them with \"stepsctl flush --server URL\" or \"stepsctl flush --all\"\n", w)
	}
	if remaining > 0 {
		return &silentError{err: fmt.Errorf("%d record(s) for other servers remain", remaining)}
	}
	if refused > 0 {
		return &silentError{err: fmt.Errorf("%d record(s) refused", refused)}
	}
	return nil
}

// flushSpool delivers sp's records for c's server and, with all, those of
// every other server to its own. The result's Others are what remains for
// other servers.
func flushSpool(ctx context.Context, f *Factory, sp *spool.Spool, c *client.Client, all bool) (spool.Result, error) {
	res, err := flushServer(ctx, f, sp, c)
	var failures []error
	if err != nil {
		failures = append(failures, err)
	}
	if !all {
		return res, errors.Join(failures...)
	}
	for _, server := range sortedKeys(res.Others) {
		oc, err := f.client(server, f.retryPolicy(), f.Config.Timeout)
		if err == nil {
			var ores spool.Result
			ores, err = flushServer(ctx, f, sp, oc)
			res.Delivered += ores.Delivered
			res.Rejected = append(res.Rejected, ores.Rejected...)
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("%s: %w", shownServer(server), err))
		}
	}
	res.Others = nil
	return res, errors.Join(failures...)
}

// flushServer delivers the spooled records for c's server, waiting for
// another stepsctl that holds the spool, and reports what it refused or
// dropped on stderr.
func flushServer(ctx context.Context, f *Factory, sp *spool.Spool, c *client.Client) (spool.Result, error) {
	res, err := sp.Deliver(ctx, c)
	for _, r := range res.Rejected {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: the server refused spooled record %s: %s; kept in %s\n", describe(r.Entry.Input), message(r.Err), sp.RejectedPath())
	}
	if res.Dropped > 0 {
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: dropped %d unreadable line(s) from %s (a write cut short by a crash)\n", res.Dropped, sp.Path())
	}
	if err != nil {
		return res, fmt.Errorf("delivered %d, %d still waiting in %s: %w", res.Delivered, res.Remaining, sp.Path(), err)
	}
	return res, nil
}

// shownServer is a spooled record's server URL for a message: a password
// in it (basic auth for a proxy) shows as "xxxxx", as in the client's
// errors, since stderr ends up in CI logs.
func shownServer(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	return u.Redacted()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
