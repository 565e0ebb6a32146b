package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// WatchOptions are the dependencies and flags of watch.
type WatchOptions struct {
	Factory *Factory

	Filter   model.Filter // component, version, environment, owner
	Since    string
	Interval time.Duration
	Once     bool
}

// Bounds of watch: the most deployments one refresh reads, and how long a
// deployment that finished stays on the screen (at least two refreshes).
const (
	watchScan    = 2000
	watchLinger  = 10 * time.Second
	watchDefault = 2 * time.Second
	watchSince   = "1d"
	// watchPatience is how long a refresh may take before the first line
	// says the server does not answer: a large history on a busy server
	// may take a few seconds, which is no outage to flash on every tick.
	watchPatience = 5 * time.Second
)

const watchLong = `Watch the deploys in progress, refreshed in place like watch(1) or
"kubectl get -w": for each, the component, version, environment and owner,
the step it is in and for how long, the time since it started, a progress
bar of that time against the expected duration, and the ETA: the time left
until the expected finish. Deployments that are stuck (no step for longer
than the server's threshold) are shown in red and marked STUCK. A
deployment that finishes stays on the screen for a moment with its outcome.
When the server cannot be reached, the first line says so over the last
rows, and watch keeps trying; while it does not answer, the first line
says for how long. Ctrl-C stops watching (exit 0). In a
terminal narrower than the table, the bar shortens to its percentage, then
the owner, environment and progress columns go, so that the ETA stays
where the rest leaves room (about 46 columns with short names); what
still does not fit is cut at the end of the line, the ETA first.

The expected duration and the ETA are the server's (GET /v1/deployments):
the median time left, from the step a deployment is in, of the latest 20
successful deployments of the same component and environment, outliers
left out (a test deploy of a second, a deploy stuck for hours: under a
tenth or over ten times the usual time, as in the stats). Without enough
history (5 deployments that went through that step) the bar and the ETA
are "-", and so they are for a STUCK deployment: the server's ETA of a
deploy silent for hours is its later steps' median, no finish to wait for.
A deployment whose current phase has run past its usual length shows
"overdue", in any phase (in the last, the server's ETA is 0 then; it never
puts the finish in the past). A deployment waiting for a person (a GitLab manual job, status
manual; a GitHub environment's reviewers, waiting) has the ETA of the past
waits that lasted at least as long, and "-" once fewer than 5 did.

The filters select deployments as for "stepsctl deployments"; --since
(default 1d) bounds how far back a deployment in progress may have started.
A refresh reads the latest 2000 deployments that match: past them, one in
progress that started earlier is not listed, and the title (piped: stderr)
says so; narrow with --component, --env or a shorter --since.

When stdout is not a terminal, watch prints one snapshot and exits, as
--once does in a terminal: tab-separated rows without a header, start
(RFC 3339 UTC), component, version, environment, owner, current step,
elapsed seconds, expected duration seconds, ETA seconds, expected finish
(RFC 3339 UTC; the three empty when unknown), stuck (true/false),
overdue (true/false: its phase has run past its usual length, which the
table shows as "overdue"). These are the server's figures as they are: a
stuck deployment's row keeps the server's ETA, which the table shows as
"-"; read the stuck column first.`

const watchExample = `  # Every deploy in progress, refreshed every 2 seconds
  stepsctl watch

  # Production deploys of api, every 5 seconds
  stepsctl watch --component api --env production --interval 5s

  # One snapshot for a script
  stepsctl watch --once | cut -f2,6,9`

// NewCmdWatch returns the watch command. runF replaces watchRun in tests
// of flag parsing.
func NewCmdWatch(f *Factory, runF func(context.Context, *WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{Factory: f}
	cmd := &cobra.Command{
		Use:        "watch [--component C] [--env E] [--owner O] [--interval D] [--once] [flags]",
		SuggestFor: []string{"eta", "top"},
		Short:      "Watch the deploys in progress, with their ETA",
		Long:       watchLong,
		Example:    watchExample,
		Args:       noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return watchRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Component, "component", "", "only this component")
	fl.StringVar(&opts.Filter.Version, "version", "", "only this version")
	fl.StringVar(&opts.Filter.Owner, "owner", "", "only deployments started by this owner")
	fl.StringVar(&opts.Filter.Environment, "env", "", "only this environment")
	fl.StringVar(&opts.Since, "since", watchSince, "only deployments started at or after: a datetime or a span (90m, 36h, 7d)")
	fl.DurationVar(&opts.Interval, "interval", watchDefault, "time between refreshes (at least 500ms)")
	fl.BoolVar(&opts.Once, "once", false, "print one snapshot and exit, as when stdout is not a terminal")
	return cmd
}

func watchRun(ctx context.Context, opts *WatchOptions) error {
	f := opts.Factory
	if opts.Interval < 500*time.Millisecond {
		return usageErrorf("--interval must be at least 500ms, not %s", opts.Interval)
	}
	// The time filter is read again at each refresh: --since 1d follows
	// the clock.
	if _, err := listFilter(opts.Filter, opts.Since, "", f.Now(), "deployment"); err != nil {
		return err
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	w := &watcher{opts: opts, client: c, seen: map[model.DeploymentKey]bool{}, ended: map[model.DeploymentKey]*endedDeployment{}}
	if opts.Once || !f.IO.IsTerminal {
		rows, err := w.refresh(ctx)
		if err != nil {
			return err
		}
		return w.snapshot(rows)
	}
	return w.loop(ctx)
}

// endedDeployment is a deployment seen in progress that has finished, kept
// on the screen until the refresh after until.
type endedDeployment struct {
	d     model.Deployment
	until time.Time
}

type watcher struct {
	opts   *WatchOptions
	client *client.Client
	// seen are the deployments in progress at the last refresh; ended
	// those of them that have finished since, while they stay on screen.
	seen  map[model.DeploymentKey]bool
	ended map[model.DeploymentKey]*endedDeployment
	// bounded reports that the last refresh read watchScan deployments,
	// so that running ones started before them may be left out.
	bounded bool
	// last is what the last good refresh showed, kept while a refresh
	// fails; nil until one has got through.
	last []output.WatchRow
}

// refresh reads the deployments of the last --since and returns the rows
// to show: those in progress, oldest first, then those that just ended.
func (w *watcher) refresh(ctx context.Context) ([]output.WatchRow, error) {
	f := w.opts.Factory
	now := f.Now()
	filter, err := listFilter(w.opts.Filter, w.opts.Since, "", now, "deployment")
	if err != nil {
		return nil, err
	}
	// Newest first, so that the bound keeps the recent ones.
	filter.Order, filter.Limit = model.OrderDesc, watchScan
	var running []model.Deployment
	seen := map[model.DeploymentKey]bool{}
	read := 0
	for d, err := range w.client.Deployments(ctx, model.DeploymentFilter{Filter: filter}) {
		if err != nil {
			return nil, err
		}
		read++
		k := d.Key()
		switch {
		case d.Outcome == model.OutcomeInProgress:
			running = append(running, d)
			seen[k] = true
		case w.seen[k]:
			w.ended[k] = &endedDeployment{d: d, until: now.Add(max(watchLinger, 2*w.opts.Interval))}
		}
	}
	w.seen, w.bounded = seen, read >= watchScan
	slices.SortFunc(running, func(a, b model.Deployment) int { return a.Key().Compare(b.Key()) })
	rows := make([]output.WatchRow, 0, len(running)+len(w.ended))
	for _, d := range running {
		rows = append(rows, output.WatchRow{Deployment: d})
	}
	var ended []output.WatchRow
	for k, e := range w.ended {
		if now.After(e.until) || seen[k] {
			delete(w.ended, k)
			continue
		}
		ended = append(ended, output.WatchRow{Deployment: e.d, Finished: true})
	}
	slices.SortFunc(ended, func(a, b output.WatchRow) int { return a.Key().Compare(b.Key()) })
	return append(rows, ended...), nil
}

// snapshot prints rows once: a table in a terminal, else tab-separated.
func (w *watcher) snapshot(rows []output.WatchRow) error {
	f := w.opts.Factory
	var buf bytes.Buffer
	if f.IO.IsTerminal {
		width, _ := w.size()
		for _, line := range output.WatchFrame(w.title(rows), rows, width, 0, output.UseColor(true, f.Getenv)) {
			buf.WriteString(line + "\n")
		}
	} else {
		for _, r := range rows {
			buf.WriteString(output.WatchPlainRow(r.Deployment) + "\n")
		}
		if w.bounded {
			fmt.Fprintf(f.IO.ErrOut, "stepsctl: only the latest %d deployments since --since %s were read: one in progress that started before them is not listed; narrow with --component, --env or a shorter --since\n", watchScan, w.opts.Since)
		}
	}
	_, err := f.IO.Out.Write(buf.Bytes())
	return err
}

func (w *watcher) title(rows []output.WatchRow) string {
	f := w.opts.Factory
	n := 0
	for _, r := range rows {
		if !r.Finished {
			n++
		}
	}
	bound := ""
	if w.bounded {
		// Said before the time, which a narrow terminal cuts first.
		bound = fmt.Sprintf(" in the latest %d deployments only", watchScan)
	}
	return fmt.Sprintf("Every %s: %d in progress%s, %s", w.opts.Interval, n, bound, f.Now().In(f.Loc).Format(model.TerminalTime))
}

// size is the terminal's, or 0 (no limit) when it cannot be read.
func (w *watcher) size() (width, height int) {
	if file, ok := w.opts.Factory.IO.Out.(*os.File); ok {
		if width, height, err := term.GetSize(int(file.Fd())); err == nil {
			return width, height
		}
	}
	return 0, 0
}

// The terminal control watch needs: hide and show the cursor, go home,
// clear to the end of the line and of the screen.
const (
	hideCursor  = "\x1b[?25l"
	showCursor  = "\x1b[?25h"
	cursorHome  = "\x1b[H"
	clearLine   = "\x1b[K"
	clearScreen = "\x1b[J"
)

// loop redraws the screen every --interval until ctx ends (Ctrl-C), then
// leaves the last frame and the cursor as they were: exit 0. A refresh
// runs beside the loop, so that one the server does not answer (hung, or
// its host gone: the client's retries hold it up to --timeout) leaves the
// screen ticking: past watchPatience, each tick says for how long.
// Waited for in the loop, it froze the last frame, clock included, for
// 30 s with nothing to tell it from a live one.
func (w *watcher) loop(ctx context.Context) error {
	out := w.opts.Factory.IO.Out
	if _, err := io.WriteString(out, hideCursor+cursorHome+"\x1b[2J"); err != nil {
		return err
	}
	// The last frame stays; the prompt comes back below it.
	defer io.WriteString(out, "\r\n"+showCursor) //nolint:errcheck // nothing to do about a closed terminal
	ticker := time.NewTicker(w.opts.Interval)
	defer ticker.Stop()
	type refreshed struct {
		rows []output.WatchRow
		err  error
	}
	// One refresh at a time: it alone touches the watcher's maps.
	done := make(chan refreshed, 1)
	var since time.Time // when the refresh in flight began; zero: none
	refresh := func() {
		since = time.Now()
		go func() {
			rows, err := w.refresh(ctx)
			done <- refreshed{rows, err}
		}()
	}
	refresh()
	for {
		var title string
		select {
		case <-ctx.Done():
			return nil
		case r := <-done:
			since = time.Time{}
			if ctx.Err() != nil {
				return nil
			}
			if r.err == nil {
				w.last = r.rows
				title = w.title(r.rows)
			} else {
				// First what happens, since the line is cut to the terminal.
				title = fmt.Sprintf("Retrying every %s: %s", w.opts.Interval, strings.ReplaceAll(message(shortNetError(r.err)), "\n", " "))
			}
		case <-ticker.C:
			if since.IsZero() {
				refresh()
				continue
			}
			if time.Since(since) < max(watchPatience, w.opts.Interval) {
				continue
			}
			title = fmt.Sprintf("No answer from the server for %s, still waiting", time.Since(since).Round(time.Second))
			if w.last != nil {
				// Started against a hung server, there are no rows to be
				// from before.
				title += "; the rows are from before"
			}
		}
		if err := w.draw(w.last, title); err != nil {
			return err
		}
	}
}

// shortNetError is err for a line cut to the terminal: a request that got
// no answer names the server alone, not the whole request URL with its
// query, and the connection's own error without its addresses. Whole, the
// URL of a refresh (130 characters) pushed why it failed (connection
// refused, no response in time) off any terminal.
func shortNetError(err error) error {
	var netErr *client.NetError
	if !errors.As(err, &netErr) {
		return err
	}
	short := *netErr
	if i := strings.LastIndex(netErr.URL, "/v1/"); i >= 0 {
		short.URL = netErr.URL[:i] // the server's, a prefix and all
	}
	if op, ok := errors.AsType[*net.OpError](netErr.Err); ok && op.Err != nil {
		short.Err = op.Err
	}
	return &short
}

// draw writes one frame in place, under title: after a failed refresh,
// its error over the last rows, and the watch goes on (a server
// restarting comes back).
func (w *watcher) draw(rows []output.WatchRow, title string) error {
	f := w.opts.Factory
	width, height := w.size()
	var buf bytes.Buffer
	buf.WriteString(cursorHome)
	lines := output.WatchFrame(title, rows, width, height, output.UseColor(true, f.Getenv))
	if rows == nil {
		// No refresh has got through yet: nothing is known of the
		// deployments, and "No deployment in progress." under the error
		// told a user who started watch during an outage that none was.
		lines = lines[:1]
	}
	for i, line := range lines {
		buf.WriteString(line + clearLine)
		if i < len(lines)-1 {
			buf.WriteString("\r\n")
		}
	}
	buf.WriteString(clearScreen)
	_, err := f.IO.Out.Write(buf.Bytes())
	return err
}
