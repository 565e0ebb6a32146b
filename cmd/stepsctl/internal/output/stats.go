package output

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/steps-dev/steps/pkg/model"
)

// Chart sizes of stats.
const (
	barWidth   = 30 // cells of the longest bar
	stepsShown = 10 // slowest steps listed in a table
)

// blocks are the characters of Unicode bars.
const blocks = "█▉▊▋▌▍▎▏"

// ANSI styles, used only when Options.Color is set.
const (
	ansiBold  = "\x1b[1m"
	ansiCyan  = "\x1b[36m"
	ansiReset = "\x1b[0m"
)

// WriteStats prints stats for a person: a table of the buckets with a bar
// of each one's p50 (and the outliers each left out, when any did), the
// slowest steps with their share of deploy time, and
// the trend in one sentence. In a terminal the bars are drawn with Unicode
// blocks (and a sparkline of the p50 follows); piped, the output is plain
// ASCII without colours.
//
// notes adds what the stats alone do not tell (see StatsNotes).
func WriteStats(w io.Writer, o Options, st model.Stats, notes StatsNotes) error {
	var buf bytes.Buffer
	style := func(code, s string) string {
		if o.Color && o.Terminal {
			return code + s + ansiReset
		}
		return s
	}
	if st.Deployments == 0 || len(st.Buckets) == 0 {
		fmt.Fprintln(&buf, st.Summary)
		_, err := w.Write(buf.Bytes())
		return err
	}

	fmt.Fprintf(&buf, "%s\n\n", style(ansiBold, fmt.Sprintf("Deploy durations by %s (%s)", st.Bucket, outcomeNoun(st.Outcome))))
	var maxP50 float64
	for _, b := range st.Buckets {
		if b.P50Seconds != nil {
			maxP50 = max(maxP50, *b.P50Seconds)
		}
	}
	// COUNT and the figures leave the outliers out: a week that held
	// only a test deploy of a second read "0 -", as if nobody deployed.
	// OUTLIERS says what was left out, when anything was.
	outliers := false
	for _, b := range st.Buckets {
		outliers = outliers || b.Outliers > 0
	}
	header := []string{bucketHeader(st.Bucket), "COUNT", "P50", "P90", "MAX", "MEAN", "P50 CHART"}
	if outliers {
		header = slices.Insert(header, 2, "OUTLIERS")
	}
	rows := make([][]string, 0, len(st.Buckets))
	partial := false
	for _, b := range st.Buckets {
		label := bucketLabel(st.Bucket, b)
		if b.Partial {
			label += "*"
			partial = true
		}
		row := []string{
			label, fmt.Sprint(b.Count),
			seconds(b.P50Seconds), seconds(b.P90Seconds), seconds(b.MaxSeconds), seconds(b.MeanSeconds),
		}
		if outliers {
			row = slices.Insert(row, 2, fmt.Sprint(b.Outliers))
		}
		rows = append(rows, row)
	}
	width := chartWidth(o.Width, header, rows)
	for i, b := range st.Buckets {
		bar := ""
		if b.P50Seconds != nil {
			bar = Bar(*b.P50Seconds, maxP50, width, o.Terminal)
		}
		rows[i] = append(rows[i], bar)
	}
	var table bytes.Buffer
	if err := renderTable(&table, header, rows); err != nil {
		return err
	}
	for line := range strings.Lines(table.String()) {
		// The bars end the lines; colour them after the table is laid out,
		// as escape codes would upset its widths.
		if i := strings.IndexAny(line, blocks); i >= 0 && o.Color && o.Terminal {
			line = line[:i] + ansiCyan + strings.TrimSuffix(line[i:], "\n") + ansiReset + "\n"
		}
		buf.WriteString(line)
	}
	if partial {
		fmt.Fprintf(&buf, "* part of a %s only: the range (--since, --until) or today cuts it, so its count is no whole %s's.\n",
			bucketWord(st.Bucket), bucketWord(st.Bucket))
	}

	if len(st.Steps) > 0 {
		buf.WriteByte('\n')
		rows = rows[:0]
		for i, s := range st.Steps {
			if i == stepsShown {
				break
			}
			rows = append(rows, []string{
				s.Status, fmt.Sprintf("%.1f%%", s.SharePercent), fmt.Sprint(s.Count),
				seconds(s.P50Seconds), seconds(s.P90Seconds), seconds(s.MeanSeconds), model.HumanDuration(s.TotalSeconds),
				stepGrowth(s.Trend), percentOrDash(s.ShareOfGrowthPercent),
			})
		}
		if err := renderTable(&buf, []string{"SLOWEST STEPS", "SHARE", "COUNT", "P50", "P90", "MEAN", "TOTAL", "GROWTH/WEEK", "OF GROWTH"}, rows); err != nil {
			return err
		}
		// The server lists only the slowest past its points' bound
		// (steps_not_listed): -o json then does not hold them all.
		switch n := len(st.Steps) + st.StepsNotListed - len(rows); {
		case n > 0 && st.StepsNotListed > 0:
			fmt.Fprintf(&buf, "… and %d more step(s); -o json lists the %d slowest.\n", n, len(st.Steps))
		case n > 0:
			fmt.Fprintf(&buf, "… and %d more step(s); -o json lists them all.\n", n)
		}
	}

	if err := writeSeries(&buf, st, o.Width); err != nil {
		return err
	}

	buf.WriteByte('\n')
	if o.Terminal && len(st.Buckets) > 1 {
		label, buckets := sparklineFitted(st.Bucket, st.Buckets, o.Width)
		fmt.Fprintf(&buf, "%s%s\n", label, style(ansiCyan, Sparkline(buckets)))
	}
	if line := TrendLine(st); line != "" {
		fmt.Fprintln(&buf, line)
	}
	fmt.Fprintln(&buf, style(ansiBold, st.Summary))
	writeShifts(&buf, o, notes.Shifts, st.Trend.GivesRate())
	if len(notes.Mixed) > 1 {
		prod := ProductionOf(notes.Mixed)
		fmt.Fprintf(&buf, "\nNo --env: every environment counts in each %s's figures (these deployments ran in %s); ask with --env %s for %s's deploys alone.\n",
			bucketWord(st.Bucket), EnvironmentList(notes.Mixed), prod, prod)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// minBarWidth is the shortest P50 CHART a narrow terminal gets: shorter,
// the bars could not tell a bucket 10 % slower from another.
const minBarWidth = 10

// chartWidth is the length of the longest bar of the buckets' table: 30
// cells, fewer when the terminal (width cells; 0 when unknown) would
// otherwise wrap every row, but never under minBarWidth. A sprint of 10m
// deploys made rows of 87 cells, which an 80-column terminal broke in two.
func chartWidth(width int, header []string, rows [][]string) int {
	if width <= 0 {
		return barWidth
	}
	used := columnsWidth(header, rows, 0, len(header)-1)
	return min(barWidth, max(minBarWidth, width-1-used))
}

// minNameWidth is the narrowest a name column is cut to: a narrower
// terminal wraps the rows rather than leave names that say nothing.
const minNameWidth = 24

// nameRoom is the width rows' first column may take for the table to fit
// a terminal of width cells, not under minNameWidth; 0 when width is 0
// (unknown: no cut).
func nameRoom(header []string, rows [][]string, width int) int {
	if width <= 0 {
		return 0
	}
	others := columnsWidth(header, rows, 1, len(header))
	return max(minNameWidth, width-1-others)
}

// columnsWidth is the width, in cells, that renderTable gives the columns
// from to to (not included) of a table: each its widest cell, header
// included, and the two spaces that pad it.
func columnsWidth(header []string, rows [][]string, from, to int) int {
	total := 0
	for j := from; j < to; j++ {
		w := runewidth.StringWidth(header[j])
		for _, r := range rows {
			w = max(w, runewidth.StringWidth(r[j]))
		}
		total += w + 2
	}
	return total
}

// seriesName names s in room cells (0: no limit), cutting the middle of
// its component, then of its environment: cut at the end, api-worker-01
// and api-worker-02 in perf-eu-west-1 and perf-us-east-1 all read
// "api-worker-… in perf-…".
func seriesName(s model.SeriesStats, room int) string {
	name := s.Name()
	if room <= 0 || runewidth.StringWidth(name) <= room {
		return name
	}
	if s.Environment == "" {
		return cutMiddle(name, room)
	}
	const in = " in "
	env := cutMiddle(s.Environment, max((room-len(in))/2, room-len(in)-runewidth.StringWidth(s.Component)))
	return cutMiddle(s.Component, room-len(in)-runewidth.StringWidth(env)) + in + env
}

// cutMiddle fits s in width cells, putting "…" for its middle: the start
// and the end of a name are what tell it from its neighbours.
func cutMiddle(s string, width int) string {
	if runewidth.StringWidth(s) <= width {
		return s
	}
	if width < 3 {
		return runewidth.Truncate(s, width, "…")
	}
	head := runewidth.Truncate(s, (width-1)/2, "")
	tail := []rune(s)
	w := 0
	i := len(tail)
	for i > 0 && w+runewidth.RuneWidth(tail[i-1]) <= width-1-runewidth.StringWidth(head) {
		i--
		w += runewidth.RuneWidth(tail[i])
	}
	return head + "…" + string(tail[i:])
}

// sparklineFitted is the label and the buckets of the sparkline: all of
// them when they fit on one line of width cells (0: unknown, no limit),
// else the latest that do, which the label says. 712 daily buckets drew a
// line of 712 cells that an 80-column terminal broke into nine.
func sparklineFitted(bucket string, buckets []model.BucketStats, width int) (string, []model.BucketStats) {
	label := fmt.Sprintf("P50 by %s: ", bucket)
	if width <= 0 || runewidth.StringWidth(label)+len(buckets) < width {
		return label, buckets
	}
	label = fmt.Sprintf("P50 by %s, the latest %%d of %d: ", bucket, len(buckets))
	n := max(1, width-1-runewidth.StringWidth(fmt.Sprintf(label, len(buckets))))
	n = min(n, len(buckets))
	return fmt.Sprintf(label, n), buckets[len(buckets)-n:]
}

// seriesShown is the most series listed in a table; -o json has them all.
const seriesShown = 10

// writeSeries lists the series the trend blends, with their own growth,
// when there are several: the sentence names those that diverge, the table
// gives each one's figure. In a terminal of width cells (0: unknown) long
// names are cut to fit it (seriesName).
func writeSeries(buf *bytes.Buffer, st model.Stats, width int) error {
	if len(st.Series) < 2 {
		return nil
	}
	buf.WriteByte('\n')
	var rows [][]string
	for i, s := range st.Series {
		if i == seriesShown {
			break
		}
		interval := "-"
		if s.Trend.Method != "" && s.Trend.Points >= model.MinTrendPoints {
			interval = fmt.Sprintf("%+.1f to %+.1f%%", model.PrintRound(s.Trend.GrowthPercentPerWeekLow, 1), model.PrintRound(s.Trend.GrowthPercentPerWeekHigh, 1))
		}
		rows = append(rows, []string{s.Name(), fmt.Sprint(s.Deployments), stepGrowth(s.Trend), interval})
	}
	header := []string{"SERIES", "DEPLOYMENTS", "GROWTH/WEEK", "95% INTERVAL"}
	if room := nameRoom(header, rows, width); room > 0 {
		for i := range rows {
			rows[i][0] = seriesName(st.Series[i], room)
		}
	}
	if err := renderTable(buf, header, rows); err != nil {
		return err
	}
	switch n := len(st.Series) + st.SeriesNotListed - len(rows); {
	case n > 0 && st.SeriesNotListed > 0:
		fmt.Fprintf(buf, "… and %d more series; -o json lists the %d with the most deployments.\n", n, len(st.Series))
	case n > 0:
		fmt.Fprintf(buf, "… and %d more series; -o json lists them all.\n", n)
	}
	return nil
}

// StatsNotes are what WriteStats says under the stats' sentence.
type StatsNotes struct {
	// Shifts are the changes of the same deployments (GET /v1/changes),
	// listed since a one-time shift reads as growth too ("grows 2.3 % a
	// week" of a history flat but for one jump of 40 %), a rate not to
	// extrapolate, which the sentence alone does not tell.
	Shifts []model.Change
	// Mixed lists the environments of the deployments measured when the
	// request named none and there are several: a staging deploy then
	// counts in each bucket's p50 beside production's.
	Mixed []string
}

// bucketWord names a bucket in a sentence: "week", "sprint", ….
func bucketWord(bucket string) string {
	if bucket == "" {
		return "bucket"
	}
	return bucket
}

// shiftsShown is the most shifts stats lists; stepsctl changes has all.
const shiftsShown = 5

// writeShifts lists the shifts of deploy time under the stats' sentence,
// which, when it gives a rate (named), says itself that the rate counts
// them in.
func writeShifts(buf *bytes.Buffer, o Options, shifts []model.Change, named bool) {
	if len(shifts) == 0 {
		return
	}
	head := "Deploy time shifted at once; the rate above counts the shift in, as if it were steady (stepsctl changes):"
	switch {
	case named:
		head = "Shifts of deploy time (stepsctl changes):"
	case len(shifts) > 1:
		head = fmt.Sprintf("Deploy time shifted at once %d times; the rate above counts the shifts in, as if they were steady (stepsctl changes):", len(shifts))
	}
	fmt.Fprintf(buf, "\n%s\n", head)
	for _, c := range shifts[:min(len(shifts), shiftsShown)] {
		fmt.Fprintf(buf, "  %s\n", ChangeLine(o, c))
	}
	if n := len(shifts) - shiftsShown; n > 0 {
		fmt.Fprintf(buf, "  and %d more\n", n)
	}
}

// TrendLine says how the trend was fitted and names the deployments it
// left out as junk — the summary that follows counts them, this line says
// which: "Robust fit (theil-sen) over 88 deployments; left out as
// outliers: api 0.0.1 (1.4s), api 0.0.2 (1.4s)." It is "" from a server
// without the robust fit.
func TrendLine(st model.Stats) string {
	t := st.Trend.RobustTrend
	if t.Method == "" {
		return ""
	}
	line := fmt.Sprintf("Robust fit (%s) over %s", t.Method, countOf(t.Points, "deployment"))
	if len(st.Outliers) > 0 {
		var names []string
		for i, o := range st.Outliers {
			if i == outliersNamed {
				break
			}
			name := o.Component + " " + o.Version
			if o.Attempt > 1 {
				name += fmt.Sprintf(" (attempt %d)", o.Attempt)
			}
			names = append(names, fmt.Sprintf("%s (%s)", name, model.HumanDuration(o.DurationSeconds)))
		}
		line += "; left out as outliers: " + strings.Join(names, ", ")
		if more := max(t.Outliers, len(st.Outliers)) - len(names); more > 0 {
			line += fmt.Sprintf(" and %d more", more)
		}
	}
	return line + "."
}

// outliersNamed is how many outliers the report names; -o json lists
// them.
const outliersNamed = 5

// stepGrowth is a step's own growth a week, "-" when the server gave none,
// "too few" when the step has too few phases for a fit (a "+0.0% (flat)"
// there would read as a measured flat step).
func stepGrowth(t model.RobustTrend) string {
	if t.Method == "" {
		return "-"
	}
	if t.Direction == model.DirectionFlat && t.Points < model.MinTrendPoints {
		return "too few"
	}
	s := fmt.Sprintf("%+.1f%%", model.PrintRound(t.GrowthPercentPerWeek, 1))
	if t.Direction == model.DirectionFlat {
		s += " (flat)"
	}
	return s
}

func percentOrDash(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", model.PrintRound(*v, 0))
}

// countOf says "1 outlier", "3 outliers".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Bar draws v as a horizontal bar, full at top, width cells long. Unicode
// draws eighths of a cell (█▉▊▋▌▍▎▏); ASCII whole cells of '#'. A value
// above zero always gets a sliver.
func Bar(v, top float64, width int, unicode bool) string {
	if v <= 0 || top <= 0 {
		return ""
	}
	frac := min(v/top, 1)
	if !unicode {
		n := max(1, int(math.Round(frac*float64(width))))
		return strings.Repeat("#", n)
	}
	eighths := max(1, int(math.Round(frac*float64(width*8))))
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// Sparkline draws the p50 of each bucket as one of ▁▂▃▄▅▆▇█, from the
// lowest p50 to the highest; a bucket without deployments is a space.
func Sparkline(buckets []model.BucketStats) string {
	values := make([]*float64, len(buckets))
	for i, b := range buckets {
		values[i] = b.P50Seconds
	}
	return SparklineOf(values)
}

// SparklineOf draws each value as one of ▁▂▃▄▅▆▇█, from the lowest to the
// highest; a nil value is a space, and equal values are all ▅, or all ▁
// when they are all 0 (no deployment in any bucket).
func SparklineOf(values []*float64) string {
	return sparkline(values, false)
}

// sparklineFromZero draws values of 0 or more as SparklineOf does, from 0
// to the highest, for a line with no figure per bucket beside it: from the
// lowest, 0.74 then 0.69 deployments a day drew as █▁, a collapse that
// was a 7 % dip.
func sparklineFromZero(values []*float64) string {
	return sparkline(values, true)
}

func sparkline(values []*float64, fromZero bool) string {
	levels := []rune("▁▂▃▄▅▆▇█")
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v != nil {
			lo, hi = min(lo, *v), max(hi, *v)
		}
	}
	if fromZero && hi > 0 {
		lo = min(lo, 0)
	}
	var sb strings.Builder
	for _, v := range values {
		switch {
		case v == nil:
			sb.WriteRune(' ')
		case hi == lo && hi == 0:
			sb.WriteRune(levels[0])
		case hi == lo:
			sb.WriteRune(levels[len(levels)/2])
		default:
			i := int(math.Round((*v - lo) / (hi - lo) * float64(len(levels)-1)))
			sb.WriteRune(levels[i])
		}
	}
	return sb.String()
}

func seconds(v *float64) string {
	if v == nil {
		return "-"
	}
	return model.HumanDuration(*v)
}

func outcomeNoun(outcome string) string {
	switch outcome {
	case model.OutcomeFailure:
		return "failed deployments"
	case "all":
		return "all finished deployments"
	}
	return "successful deployments"
}

func bucketHeader(bucket string) string {
	switch bucket {
	case model.BucketDay:
		return "DAY"
	case model.BucketMonth:
		return "MONTH"
	case model.BucketSprint:
		return "SPRINT FROM"
	}
	return "WEEK OF"
}

// bucketLabel names a bucket by its first day, in the zone the server cut
// it in: its start and end carry that zone's offset.
func bucketLabel(bucket string, b model.BucketStats) string {
	if b.Gap > 0 {
		// A run of empty buckets given as one row: its first and last day.
		return b.Start.Format("2006-01-02") + ".." + b.End.AddDate(0, 0, -1).Format("2006-01-02")
	}
	if bucket == model.BucketMonth {
		return b.Start.Format("2006-01")
	}
	return b.Start.Format("2006-01-02")
}
