package output

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mattn/go-runewidth"

	"github.com/steps-dev/steps/pkg/model"
)

// The few ANSI sequences stepsctl watch uses: colours, and in Frame's
// caller, the cursor.
const (
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
)

// WatchRow is one deployment on stepsctl watch's screen: one in progress,
// or one that finished since the previous refresh, shown a moment longer.
type WatchRow struct {
	model.Deployment
	// Finished is set for a deployment seen in progress that has ended.
	Finished bool
}

// progressWidth is the width of the progress bar, in cells.
const progressWidth = 20

// WatchHeader is the header of stepsctl watch's table.
var WatchHeader = []string{"COMPONENT", "VERSION", "ENV", "OWNER", "STEP", "ELAPSED", "PROGRESS", "ETA"}

// WatchCells is the table row of r, for a person: the current step with
// its time so far, the elapsed time, a bar of the elapsed time against the
// expected duration, and the time left. Without an ETA the bar and the
// time left are "-", and so for a stuck deployment: silent for days, it is
// not 99 % done with minutes left, as the server's ETA (its later steps'
// median) would draw it. A finished deployment shows its outcome instead.
func WatchCells(r WatchRow) []string {
	return watchCells(r, progressWidth)
}

// watchCells is WatchCells with a progress bar of bar cells (0: its
// percentage alone).
func watchCells(r WatchRow, bar int) []string {
	d := r.Deployment
	step, elapsed, progress, eta := "-", model.HumanDuration(d.DurationSeconds), "-", "-"
	if n := len(d.Steps); n > 0 {
		last := d.Steps[n-1]
		step = last.Status
		if !r.Finished && d.Outcome == model.OutcomeInProgress {
			step += " " + model.HumanDuration(max(0, d.DurationSeconds-model.Seconds(last.Time.Sub(d.StartedAt))))
		}
	}
	switch {
	case r.Finished || d.Outcome != model.OutcomeInProgress:
		step = d.Outcome + " (" + step + ")"
		progress = ProgressBar(1, bar)
		eta = "done"
	case d.ExpectedDurationSeconds != nil && d.ShownETA() != nil:
		progress = ProgressBar(d.DurationSeconds / *d.ExpectedDurationSeconds, bar)
		// Late in any phase is overdue, as in the last one: "40s", the
		// later steps' median, read as on time and nearly done for a
		// deploy five minutes into a two-minute step. The cell stays
		// short (a terminal 60 cells wide keeps it whole); stepsctl
		// deployments and the page add the time still ahead.
		eta = model.ETAWords(*d.ETASeconds)
		if d.Overdue {
			eta = model.ETAOverdue
		}
	}
	if d.Stuck && d.Outcome == model.OutcomeInProgress {
		step += " STUCK"
	}
	return []string{screenText(d.Component), screenText(d.Version), screenText(d.Environment), screenText(d.Owner),
		screenText(step), elapsed, progress, eta}
}

// screenText replaces control characters in a user's text, so that no
// value recorded can move the cursor or recolour the screen.
func screenText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// ProgressBar draws fraction (0 to 1, clamped) as width cells and a
// percentage: "█████░░░░░  50%"; width 0 gives the percentage alone.
func ProgressBar(fraction float64, width int) string {
	if math.IsNaN(fraction) {
		fraction = 0
	}
	fraction = min(1, max(0, fraction))
	percent := padLeft(strconv.Itoa(int(math.Floor(fraction*100)))+"%", 4)
	if width <= 0 {
		return percent
	}
	full := int(math.Round(fraction * float64(width)))
	return strings.Repeat("█", full) + strings.Repeat("░", width-full) + " " + percent
}

func padLeft(s string, n int) string {
	if w := runewidth.StringWidth(s); w < n {
		return strings.Repeat(" ", n-w) + s
	}
	return s
}

// WatchFrame lays out one screen of stepsctl watch: a title line, then
// the table, each line cut to width cells, at most height lines in all
// (the rest counted in a last line). colour paints stuck deployments red
// and outcomes green or red.
func WatchFrame(title string, rows []WatchRow, width, height int, colour bool) []string {
	cells, widths := watchTable(rows, width)
	lines := []string{cut(title, width)}
	if len(rows) == 0 {
		lines = append(lines, "", "No deployment in progress.")
	}
	for i, row := range cells {
		if len(rows) == 0 {
			break
		}
		if height > 0 && len(lines) == height-1 && i < len(cells)-1 {
			lines = append(lines, cut("… "+strconv.Itoa(len(cells)-i)+" more", width))
			break
		}
		var b strings.Builder
		for j, c := range row {
			if j > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if j < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-runewidth.StringWidth(c)))
			}
		}
		line := cut(b.String(), width)
		if colour && i > 0 {
			line = paint(rows[i-1], line)
		}
		lines = append(lines, line)
	}
	return lines
}

// Columns of the table that a narrow terminal goes without, in order:
// the owner, the environment, then the progress.
const (
	ownerColumn    = 3
	envColumn      = 2
	progressColumn = 6
)

// watchTable returns the header and rows of the table and its column
// widths, fitted to width cells (0: no limit): a shorter progress bar
// first, down to its percentage alone, then no owner, no environment, no
// progress. Cut at the end as they were, the lines of a terminal 60
// cells wide lost the elapsed time, the progress and the ETA, the figures
// watch is for, to the bar's 20 cells. A table that still does not fit is
// cut by WatchFrame.
func watchTable(rows []WatchRow, width int) ([][]string, []int) {
	type layout struct {
		bar  int   // cells of the progress bar
		drop []int // columns left out
	}
	var layouts []layout
	for bar := progressWidth; bar >= 0; bar-- {
		layouts = append(layouts, layout{bar: bar})
	}
	layouts = append(layouts, layout{0, []int{ownerColumn}}, layout{0, []int{ownerColumn, envColumn}},
		layout{0, []int{ownerColumn, envColumn, progressColumn}})
	var cells [][]string
	var widths []int
	for _, l := range layouts {
		keep := func(row []string) []string {
			out := make([]string, 0, len(row))
			for i, c := range row {
				if !slices.Contains(l.drop, i) {
					out = append(out, c)
				}
			}
			return out
		}
		cells = [][]string{keep(WatchHeader)}
		for _, r := range rows {
			cells = append(cells, keep(watchCells(r, l.bar)))
		}
		widths = make([]int, len(cells[0]))
		for _, row := range cells {
			for i, c := range row {
				widths[i] = max(widths[i], runewidth.StringWidth(c))
			}
		}
		total := 2 * (len(widths) - 1)
		for _, w := range widths {
			total += w
		}
		if width <= 0 || total <= width {
			break
		}
	}
	return cells, widths
}

func paint(r WatchRow, line string) string {
	switch {
	case r.Finished && r.Outcome == model.OutcomeSuccess:
		return ansiGreen + line + ansiReset
	case r.Finished || r.Stuck:
		return ansiRed + line + ansiReset
	}
	return line
}

// cut keeps the first width cells of s, so that a line never wraps and
// the frame redraws in place; width 0 keeps all.
func cut(s string, width int) string {
	if width <= 0 {
		return s
	}
	return runewidth.Truncate(s, width, "")
}

// WatchPlainRow is a deployment of stepsctl watch's snapshot for a
// program, tab-separated: start (RFC 3339 UTC), component, version,
// environment, owner, current step, elapsed seconds, expected duration
// seconds, ETA seconds, expected finish (RFC 3339 UTC; the last three
// empty when unknown), stuck, overdue (added last, so that scripts reading
// the columns by position keep working).
func WatchPlainRow(d model.Deployment) string {
	step := ""
	if n := len(d.Steps); n > 0 {
		step = d.Steps[n-1].Status
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return model.FormatSeconds(*v)
	}
	finish := ""
	if d.ExpectedFinishAt != nil {
		finish = d.ExpectedFinishAt.UTC().Format(time.RFC3339Nano)
	}
	return strings.Join([]string{d.StartedAt.UTC().Format(time.RFC3339Nano), tsvCell(d.Component), tsvCell(d.Version),
		tsvCell(d.Environment), tsvCell(d.Owner), tsvCell(step), model.FormatSeconds(d.DurationSeconds),
		opt(d.ExpectedDurationSeconds), opt(d.ETASeconds), finish, strconv.FormatBool(d.Stuck),
		strconv.FormatBool(d.Overdue)}, "\t")
}

// tsvCell keeps a user's text on its line and in its column.
func tsvCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
