package command

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/client/spool"
	"github.com/steps-dev/steps/pkg/model"
)

// deliverSpool sends the spooled records for the configured server before
// a command talks to it, so records kept during an outage arrive as soon as
// the server is back. It tries each record once, stops after half of what
// is left of --timeout so that the command keeps the other half, and never
// fails the command: it says on stderr what it delivered, or why it could
// not when the command itself will not say so.
func deliverSpool(ctx context.Context, f *Factory) {
	spools := f.spooled()
	if len(spools) == 0 {
		return
	}
	share := f.remaining() / 2
	ctx, cancel := context.WithTimeout(ctx, share)
	defer cancel()
	c, err := f.client(f.Config.Server, client.NoRetry(), share)
	if err != nil {
		return
	}
	for _, sp := range spools {
		res, err := sp.TryDeliver(ctx, c)
		reportDelivery(f.IO.ErrOut, sp, res)
		var netErr *client.NetError
		switch {
		case err == nil, errors.Is(err, spool.ErrBusy):
			// Busy: another stepsctl is delivering.
		case errors.As(err, &netErr), ctx.Err() != nil:
			return // unreachable: the command is about to say so itself
		default:
			fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: %d spooled record(s) not delivered: %s\n", res.Remaining, message(err))
		}
	}
}

// reportDelivery prints one line per thing a delivery did.
func reportDelivery(w io.Writer, sp *spool.Spool, res spool.Result) {
	if res.Delivered > 0 {
		fmt.Fprintf(w, "stepsctl: delivered %d spooled record(s)\n", res.Delivered)
	}
	for _, r := range res.Rejected {
		fmt.Fprintf(w, "stepsctl: the server refused spooled record %s: %s; kept in %s\n", describe(r.Entry.Input), message(r.Err), sp.RejectedPath())
	}
	if res.Dropped > 0 {
		fmt.Fprintf(w, "stepsctl: warning: dropped %d unreadable line(s) from %s (a write cut short by a crash)\n", res.Dropped, sp.Path())
	}
}

// describe names a step input in a message.
func describe(in model.StepInput) string {
	s := fmt.Sprintf("%s %s %s", in.Component, in.Version, in.Status)
	if in.Environment != "" {
		s += " in " + in.Environment
	}
	if !in.Time.IsZero() {
		s += " at " + model.FormatSpreadsheetTime(in.Time) + " UTC"
	}
	return s
}
