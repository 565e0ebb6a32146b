package server

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// The charts are SVG drawn on the server. Their width follows the page
// (x in percent, or in a viewBox stretched with preserveAspectRatio="none"
// for bars and lines) while their height and text stay in pixels, so the
// same markup reads on a laptop and a phone. Positioning must use SVG
// attributes: the page's Content-Security-Policy allows no inline style.

// Geometry of the trend chart, in pixels (height) and percent (width).
const (
	trendHeight  = 280.0 // the whole SVG
	trendTop     = 14.0  // room for the top tick's label
	trendPlot    = 226.0 // height of the plotting area
	trendLeftPct = 3.0   // plot starts at this % of the width…
	trendWPct    = 94.0  // …and spans this % of it
	// Count bars use at most this part of the plot's height, below the lines.
	trendBarShare = 0.45
	// viewBox width of the stretched layers.
	stretchWidth = 1000.0
)

// formatCoord writes a coordinate briefly: the page carries hundreds.
func formatCoord(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func pct(v float64) string {
	return formatCoord(v) + "%"
}

// dashboardView is the data of the dashboard's lower part.
type dashboardView struct {
	Stats      model.Stats
	Total      int
	Running    int
	Stuck      int
	BucketWord string // "week", "sprint", …
	Latest     *model.BucketStats
	// LatestName names Latest when it is not the bucket the range ends
	// in ("Week of 2026-11-23"): "Latest week" above a figure of weeks
	// ago read as this week's.
	LatestName string
	Growth     string // "+1.9 %", signed, or "no clear trend"
	GrowthNote string // the 95 % interval, in words
	Sprint     string
	TrendClass string // worse (growing), better (shrinking) or "" (flat)
	Trend      trendChart
	Steps      []stepRow
	// StepsNote says how many step names the table leaves out, past the
	// first uiStepRows, and how much of deploy time they take.
	StepsNote string
	// Blame says which steps account for the growth; BlameNote that they
	// lead the table.
	Blame string
	// Outliers link to the deployments left out of the trend (the first
	// few); OutlierCount counts them all.
	Outliers     []outlierLink
	OutlierCount int
	MoreOutliers int
	// Changes are the shifts of deploy time, numbered as on the chart;
	// ShiftNote says under the growth sentence that the rate counts them.
	Changes   []changeRow
	ShiftNote string
	// EnvNote says, with no environment picked, that the trend blends
	// the environments it measured.
	EnvNote string
	// DORA is the four keys' panel.
	DORA   doraPanel
	Recent []recentRow
	// Components and Environments are suggestions for the filter form.
	Components   []string
	Environments []string
	// APIPath is the same stats from the API, for scripts.
	APIPath string
	Range   string
	// Zone is the calendar's zone, in which the deployments' times read.
	Zone *time.Location
}

// shiftNote says that the growth rate counts n shifts of deploy time in,
// as if steady: a flat history that jumped once reads "grows 2 % a week".
// A summary that gives a rate says so itself, naming them (named): the
// note then only points at them. It is "" without a shift.
func shiftNote(n int, named bool) string {
	switch {
	case n == 0:
		return ""
	case named && n == 1:
		return "The shift is numbered on the chart and listed below it."
	case named:
		return fmt.Sprintf("The %d shifts are numbered on the chart and listed below it.", n)
	case n == 1:
		return "Deploy time shifted at once (numbered on the chart, listed below it): the rate counts the shift in, as if it were steady."
	}
	return fmt.Sprintf("Deploy time shifted at once %d times (numbered on the chart, listed below it): the rate counts the shifts in, as if they were steady.", n)
}

// envNote says that the trend and the chart count several environments
// together: production flat next to staging growing 3 % a week read
// "grows 2.5 % a week" with no word of it, a rate true of neither. It is
// "" with one environment or none.
func envNote(envs []string) string {
	if len(envs) < 2 {
		return ""
	}
	return "Every environment counts in this trend and chart (" + strings.Join(envs, ", ") +
		"): the rate blends theirs, and one may grow while another does not; pick one under Environment."
}

// uiOutliersListed is how many outliers the page names; it counts them all.
const uiOutliersListed = 10

func newDashboardView(d dashboard, q uiQuery, f model.Filter, opts model.StatsOptions, now time.Time) *dashboardView {
	st := d.stats
	view := q.values().Encode()
	v := &dashboardView{
		Zone:         opts.Location,
		Stats:        st,
		Total:        d.total,
		Running:      d.running,
		Stuck:        d.stuck,
		BucketWord:   opts.Bucket,
		Components:   d.components,
		Environments: d.environments,
	}
	v.Growth, v.GrowthNote, v.Sprint, v.TrendClass = headline(st.Trend)
	if opts.Bucket == model.BucketSprint {
		v.BucketWord = fmt.Sprintf("%d-day sprint", opts.SprintDays)
	}
	for i := len(st.Buckets) - 1; i >= 0; i-- {
		if st.Buckets[i].Count > 0 {
			v.Latest = &st.Buckets[i]
			end := now
			if !f.Until.IsZero() && f.Until.Before(now) {
				end = f.Until
			}
			if !end.Before(v.Latest.End) {
				v.LatestName = bucketName(*v.Latest, opts)
			}
			break
		}
	}
	v.Trend = newTrendChart(st.Buckets, opts)
	slowest := make([]string, len(st.Steps))
	for i, s := range st.Steps {
		slowest[i] = s.Status
	}
	colours := stepColours(slowest)
	rows := blamedFirst(st)
	shown := min(len(rows), max(uiStepRows, len(st.Trend.Blame)))
	for _, s := range rows[:shown] {
		v.Steps = append(v.Steps, newStepRow(s, colours[s.Status], opts, slices.Contains(st.Trend.Blame, s.Status)))
	}
	v.StepsNote = stepsNote(rows[shown:], st.StepsNotListed)
	v.Blame = model.BlamePhrase(st)
	var mixed []string
	if f.Environment == "" && len(d.environments) > 1 {
		mixed = d.environments
	}
	v.DORA = newDORAPanel(d.dora, v.BucketWord, mixed...)
	if f.Environment == "" {
		v.EnvNote = envNote(st.Environments)
	}

	outliers := map[model.DeploymentKey]bool{}
	v.OutlierCount = max(st.Trend.Outliers, len(st.Outliers))
	for i, o := range st.Outliers {
		key := model.DeploymentKey{Component: o.Component, Version: o.Version, Environment: o.Environment, Attempt: o.Attempt}
		outliers[key] = true
		if i < uiOutliersListed {
			v.Outliers = append(v.Outliers, outlierLink{OutlierRef: o, Link: timelineLink(key, view, q.TZ)})
		}
	}
	v.MoreOutliers = v.OutlierCount - len(v.Outliers)
	for i, c := range d.changes.Changes {
		row := newChangeRow(i+1, c, view, q.TZ)
		v.Changes = append(v.Changes, row)
		if m, ok := v.Trend.marker(st.Buckets, row); ok {
			v.Trend.Markers = append(v.Trend.Markers, m)
		}
	}
	v.ShiftNote = shiftNote(len(v.Changes), st.Trend.GivesRate())
	// Phase bars share one scale, the longest finished deployment listed, so
	// rows compare; a deployment stuck for hours is cut at the edge.
	longest := 0.0
	for _, dep := range d.recent {
		if dep.Outcome != model.OutcomeInProgress {
			longest = max(longest, dep.DurationSeconds)
		}
	}
	for _, dep := range d.recent {
		row := newRecentRow(dep, colours, longest, now, view, q.TZ)
		// Component, version, environment and attempt name a deployment.
		row.Outlier = outliers[model.DeploymentKey{Component: dep.Component, Version: dep.Version, Environment: dep.Environment, Attempt: dep.Attempt}]
		v.Recent = append(v.Recent, row)
	}
	api := url.Values{}
	for _, kv := range [][2]string{{"component", f.Component}, {"environment", f.Environment}, {"bucket", opts.Bucket}} {
		if kv[1] != "" {
			api.Set(kv[0], kv[1])
		}
	}
	if opts.Bucket == model.BucketSprint || q.SprintDays != "" {
		api.Set("sprint_days", strconv.Itoa(opts.SprintDays))
	}
	if q.SprintStart != "" {
		api.Set("sprint_start", sprintStartParam(opts))
	}
	if q.TZ != "" {
		api.Set("tz", model.ZoneName(opts.Location))
	}
	// The range reads in the calendar's zone, where a date typed in the
	// form starts and ends; the link carries the instants, which mean the
	// same whatever tz the API is asked with.
	loc := zoneOrUTC(opts.Location)
	from, to := "the first deployment", "now"
	if !f.Since.IsZero() {
		api.Set("since", boundParam(f.Since, loc, false))
		from = f.Since.In(loc).Format("2006-01-02 15:04")
	} else if st.FittedSince != nil {
		// The history did not fit and its latest part is shown (the
		// summary says so): "the first deployment" would claim it all.
		// The API, asked without since, fits the same.
		from = st.FittedSince.In(loc).Format("2006-01-02 15:04")
	}
	if !f.Until.IsZero() {
		api.Set("until", boundParam(f.Until, loc, true))
		to = f.Until.In(loc).Format("2006-01-02 15:04")
	}
	v.APIPath = "/v1/stats?" + api.Encode()
	v.Range = from + " to " + to + " " + model.ZoneName(opts.Location)
	return v
}

// boundParam writes a bound of the page's range so that the API, asked in
// the same zone loc, reads it back as the same instant: a date when the
// bound is where a date there starts (since) or ends (until), as a date
// typed in the form gives, else the instant itself (a span, a clock time).
func boundParam(t time.Time, loc *time.Location, until bool) string {
	edge := t
	if until {
		edge = t.Add(time.Microsecond)
	}
	e := edge.In(loc)
	day := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	if model.SameClock(day, loc).Equal(edge) {
		if until {
			day = day.AddDate(0, 0, -1)
		}
		return day.Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// sprintStartParam writes the sprint start of opts so that the API reads
// it back as the same instant: a date when it is the start of its day in
// the calendar's zone, as a date there is read, else the instant itself
// (a sprint_start typed with a clock time, or as a UTC instant).
func sprintStartParam(opts model.StatsOptions) string {
	loc := zoneOrUTC(opts.Location)
	s := opts.SprintStart.In(loc)
	day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)
	if model.SameClock(day, loc).Equal(opts.SprintStart) {
		return s.Format(time.DateOnly)
	}
	return s.Format(time.RFC3339Nano)
}

// headline gives the page's growth figures from the robust trend: the
// growth a week and its interval, a sprint's, and the colour they read in.
// A flat trend says "no clear trend" rather than a figure that only noise
// made. A trend without a direction (a fit that names no method) shows its
// figures as they are.
func headline(t model.Trend) (growth, note, sprint, class string) {
	growth = fmt.Sprintf("%+.1f %%", model.PrintRound(t.GrowthPercentPerWeek, 1))
	sprint = fmt.Sprintf("%+.1f %%", model.PrintRound(t.GrowthPercentPerSprint, 1))
	interval := fmt.Sprintf("95 %% interval %+.1f to %+.1f %%", model.PrintRound(t.GrowthPercentPerWeekLow, 1), model.PrintRound(t.GrowthPercentPerWeekHigh, 1))
	switch t.Direction {
	case model.DirectionGrowing:
		return growth, interval, sprint, "worse"
	case model.DirectionShrinking:
		return growth, interval, sprint, "better"
	case model.DirectionFlat:
		if t.GrowthPercentPerWeekLow < t.GrowthPercentPerWeekHigh {
			note = interval
		}
		return "no clear trend", note, "–", ""
	}
	if t.GrowthPercentPerWeek > 0 {
		return growth, "", sprint, "worse"
	}
	return growth, "", sprint, "better"
}

// uiStepRows is how many step names the slowest-steps table lists (and
// more when more are blamed). A pipeline that names a step after each
// run (job-4711) has as many names as deployments: 3,000 rows, each with
// its sparkline, made a 2.8 MB page that took a browser 15 s to show.
const uiStepRows = 20

// stepsNote says what the slowest-steps table leaves out: the steps past
// its rows, slowest first, and those GET /v1/stats does not list either
// (notListed); "" when it leaves out none.
func stepsNote(rest []model.StepStats, notListed int) string {
	if len(rest) == 0 && notListed == 0 {
		return ""
	}
	n := len(rest) + notListed
	note := formatCount(n) + " more step " + pluralWord(n, "name is", "names are") + " not listed here"
	if len(rest) == 0 {
		return note + ", nor by GET /v1/stats (steps_not_listed)."
	}
	var share, most float64
	for _, s := range rest {
		share += s.SharePercent
		most = max(most, s.SharePercent)
	}
	each := "none more than " + onePlace(most)
	if model.PrintRound(most, 1) == 0 {
		each = "each under 0.1 %"
	}
	if notListed == 0 {
		return note + ", " + onePlace(share) + " of deploy time together (" + each + "); GET /v1/stats lists every one."
	}
	return note + ": " + formatCount(len(rest)) + " of them take " + onePlace(share) + " of deploy time together (" + each +
		"), and GET /v1/stats leaves out the other " + formatCount(notListed) + " too."
}

// onePlace writes a percentage to one decimal place: "66.6 %".
func onePlace(v float64) string {
	return strconv.FormatFloat(model.PrintRound(v, 1), 'f', 1, 64) + " %"
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// blamedFirst orders the steps for the table: the blamed ones first, in
// the order of blame, then the others slowest first.
func blamedFirst(st model.Stats) []model.StepStats {
	out := make([]model.StepStats, 0, len(st.Steps))
	for _, name := range st.Trend.Blame {
		for _, s := range st.Steps {
			if s.Status == name {
				out = append(out, s)
			}
		}
	}
	for _, s := range st.Steps {
		if !slices.Contains(st.Trend.Blame, s.Status) {
			out = append(out, s)
		}
	}
	return out
}

// outlierLink is a deployment left out of the trend, and its timeline.
type outlierLink struct {
	model.OutlierRef
	Link string
}

// changeRow is one shift of deploy time, listed under the chart and
// marked on it with its number.
type changeRow struct {
	model.Change
	N     int
	Link  string // the timeline of the first deployment after it
	Shift string // "+38 % (9m02s → 12m28s)"
	Moved string // "tests +3m10s (92 %)"
	Worse bool
}

func newChangeRow(n int, c model.Change, view, tz string) changeRow {
	r := changeRow{Change: c, N: n, Worse: c.ChangePercent > 0,
		Link: timelineLink(model.DeploymentKey{Component: c.Component, Version: c.Version, Environment: c.Environment, Attempt: c.Attempt}, view, tz),
		Shift: fmt.Sprintf("%+.0f %% (%s → %s)", model.PrintRound(c.ChangePercent, 0), model.HumanDuration(c.BeforeP50Seconds),
			model.HumanDuration(c.AfterP50Seconds))}
	var moved []string
	for _, s := range model.MovedSteps(c) {
		moved = append(moved, model.StepChangePhrase(s))
	}
	r.Moved = strings.Join(moved, ", ")
	return r
}

// changeMarker is a change drawn on the chart: a vertical line at its
// time, numbered as in the list under the chart.
type changeMarker struct {
	X     string // in percent
	N     int
	Title string
	Worse bool
}

// marker places a change on the chart, within its bucket by time; false
// when it falls outside the chart's buckets.
func (c *trendChart) marker(buckets []model.BucketStats, r changeRow) (changeMarker, bool) {
	n := len(buckets)
	for i, b := range buckets {
		if r.Time.Before(b.Start) || !r.Time.Before(b.End) {
			continue
		}
		frac := float64(r.Time.Sub(b.Start)) / float64(b.End.Sub(b.Start))
		// Named as in the list under the chart, environment included: a
		// version shifting in staging and then in production made two
		// markers that read the same but for their percent.
		title := fmt.Sprintf("Change %d: %s %s → %s, %s", r.N, r.Component, r.Version, r.Environment, r.Shift)
		return changeMarker{X: pct(trendLeftPct + trendWPct*(float64(i)+frac)/float64(n)), N: r.N, Title: title, Worse: r.Worse}, true
	}
	return changeMarker{}, false
}

// trendChart is the deploy-duration chart: p50 and p90 lines over count
// bars, one column per bucket.
type trendChart struct {
	Height                   float64
	PlotX, PlotW             string // the stretched layer's place, in percent
	PlotY, PlotH             float64
	Grid                     []tick
	Bars                     []bar // in the stretched layer
	P50Path, P90Path         string
	Buckets                  []trendBucket
	LabelsWide, LabelsNarrow []xLabel
	LabelY, YearY            float64
	MaxCount                 int
	R                        float64 // the points' radius: smaller when they crowd
	Label                    string  // the chart's accessible summary
	Markers                  []changeMarker
}

type tick struct {
	Y     float64
	Label string
}

type bar struct {
	X, Y, W, H float64
}

// trendBucket is one column: a transparent area that shows the bucket's
// numbers on hover, and its p50 and p90 points.
type trendBucket struct {
	Name       string
	Start      time.Time
	Durations  model.Durations
	X, W       string // the column, in percent
	CX         string // its centre
	P50Y, P90Y float64
	Empty      bool
	Title      string
}

type xLabel struct {
	X, Text, Year string
}

func newTrendChart(buckets []model.BucketStats, opts model.StatsOptions) trendChart {
	c := trendChart{Height: trendHeight, PlotX: pct(trendLeftPct), PlotW: pct(trendWPct), PlotY: trendTop, PlotH: trendPlot,
		LabelY: trendTop + trendPlot + 18, YearY: trendTop + trendPlot + 33}
	n := len(buckets)
	if n == 0 {
		c.Label = "No finished deployments in this range."
		return c
	}
	top := 0.0
	for _, b := range buckets {
		if b.P90Seconds != nil {
			top = max(top, *b.P90Seconds)
		}
		c.MaxCount = max(c.MaxCount, b.Count+b.Outliers)
	}
	c.R = math.Max(1, math.Min(3, 300/float64(n)))
	top, values := durationTicks(top, 4)
	y := func(v float64) float64 { return trendTop + trendPlot - v/top*trendPlot }
	for _, v := range values {
		c.Grid = append(c.Grid, tick{Y: y(v), Label: tickLabel(v)})
	}
	colW := stretchWidth / float64(n)
	var p50, p90 pathBuilder
	for i, b := range buckets {
		tb := trendBucket{Name: bucketName(b, opts), Start: b.Start, Durations: b.Durations,
			X:  pct(trendLeftPct + trendWPct*float64(i)/float64(n)),
			W:  pct(trendWPct / float64(n)),
			CX: pct(trendLeftPct + trendWPct*(float64(i)+0.5)/float64(n))}
		cx := colW * (float64(i) + 0.5)
		// The bars count every deployment, the lines leave the outliers
		// out as the trend does.
		if n := b.Count + b.Outliers; n > 0 && c.MaxCount > 0 {
			h := float64(n) / float64(c.MaxCount) * trendPlot * trendBarShare
			w := colW * 0.7
			c.Bars = append(c.Bars, bar{X: cx - w/2, Y: trendTop + trendPlot - h, W: w, H: h})
		}
		if b.P50Seconds == nil {
			tb.Empty = true
			tb.Title = tb.Name + ": no deployments"
			if b.Outliers > 0 {
				tb.Title = fmt.Sprintf("%s: %s, left out as %s", tb.Name, plural(b.Outliers, "deployment"), plural(b.Outliers, "outlier"))
			}
			p50.gap()
			p90.gap()
		} else {
			tb.P50Y, tb.P90Y = y(*b.P50Seconds), y(*b.P90Seconds)
			p50.to(cx, tb.P50Y)
			p90.to(cx, tb.P90Y)
			tb.Title = fmt.Sprintf("%s: %s, p50 %s, p90 %s", tb.Name, plural(b.Count, "deployment"),
				model.HumanDuration(*b.P50Seconds), model.HumanDuration(*b.P90Seconds))
			if b.Outliers > 0 {
				tb.Title += fmt.Sprintf(" (and %s left out)", plural(b.Outliers, "outlier"))
			}
		}
		c.Buckets = append(c.Buckets, tb)
	}
	c.P50Path, c.P90Path = p50.String(), p90.String()
	// Labels every few columns, so that they never overlap: densely when
	// the page is wide, sparsely on a phone (CSS shows one set).
	c.LabelsWide = xLabels(buckets, opts, int(math.Ceil(72*float64(n)/900)))
	c.LabelsNarrow = xLabels(buckets, opts, int(math.Ceil(64*float64(n)/330)))
	c.Label = trendSummary(buckets, opts)
	return c
}

func xLabels(buckets []model.BucketStats, opts model.StatsOptions, every int) []xLabel {
	every = max(every, 1)
	n := len(buckets)
	var out []xLabel
	year := 0
	for i := 0; i < n; i += every {
		b := buckets[i]
		l := xLabel{X: pct(trendLeftPct + trendWPct*(float64(i)+0.5)/float64(n))}
		if opts.Bucket == model.BucketMonth {
			l.Text = b.Start.Format("Jan")
		} else {
			l.Text = b.Start.Format("Jan 2")
		}
		if y := b.Start.Year(); y != year {
			l.Year, year = strconv.Itoa(y), y
		}
		out = append(out, l)
	}
	return out
}

// trendSummary describes the chart in words, for screen readers.
func trendSummary(buckets []model.BucketStats, opts model.StatsOptions) string {
	var first, last *model.BucketStats
	for i := range buckets {
		if buckets[i].P50Seconds != nil {
			if first == nil {
				first = &buckets[i]
			}
			last = &buckets[i]
		}
	}
	word := opts.Bucket // the bucket names are the words: day, week, sprint…
	s := fmt.Sprintf("Deploy duration per %s, %s from %s: ", word, plural(len(buckets), word), buckets[0].Start.Format("2006-01-02"))
	if first == nil {
		return s + "no finished deployments."
	}
	return s + fmt.Sprintf("p50 went from %s to %s, p90 from %s to %s.",
		model.HumanDuration(*first.P50Seconds), model.HumanDuration(*last.P50Seconds),
		model.HumanDuration(*first.P90Seconds), model.HumanDuration(*last.P90Seconds))
}

// bucketName names a bucket for people: "Week of 2026-01-05", and
// "Week of 2026-01-05 (partial)" when the range or now cuts it (its count
// is no whole week's).
func bucketName(b model.BucketStats, opts model.StatsOptions) string {
	if b.Partial {
		b.Partial = false
		return bucketName(b, opts) + " (partial)"
	}
	start := b.Start
	if b.Gap > 0 {
		// A run of empty buckets given as one column.
		return fmt.Sprintf("%s to %s (%d %ss)", start.Format("2006-01-02"), b.End.AddDate(0, 0, -1).Format("2006-01-02"), b.Gap, opts.Bucket)
	}
	switch opts.Bucket {
	case model.BucketDay:
		return start.Format("Mon 2006-01-02")
	case model.BucketWeek:
		return "Week of " + start.Format("2006-01-02")
	case model.BucketMonth:
		return start.Format("January 2006")
	}
	return "Sprint " + start.Format("2006-01-02") + " to " + b.End.AddDate(0, 0, -1).Format("2006-01-02")
}

// pathBuilder draws a line through points, broken where data is missing.
type pathBuilder struct {
	b    strings.Builder
	open bool
}

func (p *pathBuilder) to(x, y float64) {
	if p.open {
		p.b.WriteString("L")
	} else {
		if p.b.Len() > 0 {
			p.b.WriteString(" ")
		}
		p.b.WriteString("M")
	}
	p.b.WriteString(formatCoord(x) + " " + formatCoord(y))
	p.open = true
}

func (p *pathBuilder) gap() { p.open = false }

func (p *pathBuilder) String() string { return p.b.String() }

// durationSteps are the tick spacings people read easily.
var durationSteps = []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
	2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400}

// durationTicks returns the top of an axis from 0 that holds v, and the
// ticks on it: at most want of them, above zero, at a readable spacing.
func durationTicks(v float64, want int) (top float64, ticks []float64) {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		v = 1
	}
	step := durationSteps[len(durationSteps)-1]
	for _, s := range durationSteps {
		if math.Ceil(v/s) <= float64(want) {
			step = s
			break
		}
	}
	n := math.Ceil(v / step)
	if n*step < v*1.05 {
		n++ // headroom, so the top point does not touch the edge
	}
	for i := 1.0; i <= n; i++ {
		ticks = append(ticks, i*step)
	}
	return n * step, ticks
}

// tickLabel labels an axis tick (a whole number of seconds) with
// model.HumanDuration, the one duration format, less its zero tail: an axis
// wants round labels, 5m rather than 5m00s, 2d rather than 2d00h.
func tickLabel(s float64) string {
	h := model.HumanDuration(s)
	switch {
	case strings.HasSuffix(h, ".0s"):
		return strings.TrimSuffix(h, ".0s") + "s"
	case strings.HasSuffix(h, "m00s"), strings.HasSuffix(h, "h00m"), strings.HasSuffix(h, "d00h"):
		return h[:len(h)-3]
	}
	return h
}

// stepColours gives each step name a colour class, slowest first, so a
// step has the same colour in every chart of the page.
func stepColours(slowest []string) map[string]string {
	const palette = 8
	out := map[string]string{}
	for i, status := range slowest {
		if i < palette {
			out[status] = "c" + strconv.Itoa(i)
		} else {
			out[status] = "cx"
		}
	}
	return out
}

// stepRow is one line of the slowest-steps table.
type stepRow struct {
	model.StepStats
	Blamed bool
	// Growth is the step's own growth a week, "–" without a robust fit;
	// GrowthClass colours it. ShareOfGrowth is its part of the
	// deployment's growth, "–" when the deployment does not grow.
	Growth        string
	GrowthClass   string
	ShareOfGrowth string
	Colour        string
	ShareW        float64 // bar width, of 100
	P50Path       string
	P90Path       string
	First         string // p50 in the first bucket with data
	Last          string // …and in the last
	SparkText     string
}

// Sparkline geometry: a stretched viewBox, in units.
const (
	sparkW = 100.0
	sparkH = 30.0
)

func newStepRow(s model.StepStats, colour string, opts model.StatsOptions, blamed bool) stepRow {
	r := stepRow{StepStats: s, Colour: colour, ShareW: math.Max(s.SharePercent, 0.3), Blamed: blamed, Growth: "–", ShareOfGrowth: "–"}
	switch {
	case s.Trend.Direction == model.DirectionFlat && s.Trend.Points < model.MinTrendPoints:
		// Too few phases for a fit: "+0.0 % (flat)" would read as measured.
		r.Growth = "too few"
	case s.Trend.Direction == model.DirectionGrowing:
		r.Growth, r.GrowthClass = fmt.Sprintf("%+.1f %%", model.PrintRound(s.Trend.GrowthPercentPerWeek, 1)), "worse"
	case s.Trend.Direction == model.DirectionShrinking:
		r.Growth, r.GrowthClass = fmt.Sprintf("%+.1f %%", model.PrintRound(s.Trend.GrowthPercentPerWeek, 1)), "better"
	case s.Trend.Direction == model.DirectionFlat:
		r.Growth = fmt.Sprintf("%+.1f %% (flat)", model.PrintRound(s.Trend.GrowthPercentPerWeek, 1))
	}
	if s.ShareOfGrowthPercent != nil {
		r.ShareOfGrowth = fmt.Sprintf("%.0f %%", model.PrintRound(*s.ShareOfGrowthPercent, 0))
	}
	// A sparkline shows the shape, so it spans the step's own range rather
	// than starting at zero; the numbers beside it say how far it moved.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range s.Buckets {
		if b.P50Seconds != nil {
			lo = min(lo, *b.P50Seconds)
			hi = max(hi, *b.P90Seconds)
		}
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	n := len(s.Buckets)
	var p50, p90 pathBuilder
	var first, last *model.BucketStats
	for i, b := range s.Buckets {
		x := sparkW * (float64(i) + 0.5) / float64(n)
		if b.P50Seconds == nil {
			p50.gap()
			p90.gap()
			continue
		}
		if first == nil {
			first = &s.Buckets[i]
		}
		last = &s.Buckets[i]
		y := func(v float64) float64 { return 2 + (sparkH-4)*(hi-v)/(hi-lo) }
		p50.to(x, y(*b.P50Seconds))
		p90.to(x, y(*b.P90Seconds))
	}
	// A single point would draw nothing: make it a short flat line.
	r.P50Path, r.P90Path = widenDot(p50.String()), widenDot(p90.String())
	if first != nil {
		r.First, r.Last = model.HumanDuration(*first.P50Seconds), model.HumanDuration(*last.P50Seconds)
		r.SparkText = fmt.Sprintf("%s per %s: p50 from %s to %s, p90 from %s to %s", s.Status, opts.Bucket,
			r.First, r.Last, model.HumanDuration(*first.P90Seconds), model.HumanDuration(*last.P90Seconds))
	}
	return r
}

// widenDot turns a one-point path "Mx y" into a short horizontal line.
func widenDot(d string) string {
	if d == "" || strings.ContainsAny(d, "L") {
		return d
	}
	var out []string
	for _, seg := range strings.Split(d, " M") {
		seg = strings.TrimPrefix(seg, "M")
		out = append(out, "M"+seg+"h1")
	}
	return strings.Join(out, " ")
}

// recentRow is one line of the recent-deployments table.
type recentRow struct {
	*model.Deployment
	Link    string
	Outlier bool       // left out of the trend
	Phases  []phaseBar // stacked, in the stretched layer
	Label   string     // the phases in words
}

type phaseBar struct {
	X, W    float64
	Colour  string
	Title   string
	Running bool
}

func newRecentRow(d *model.Deployment, colours map[string]string, longest float64, now time.Time, view, tz string) recentRow {
	r := recentRow{Deployment: d, Link: timelineLink(d.Key(), view, tz)}
	if longest <= 0 {
		longest = 1
	}
	x := 0.0
	var words []string
	for i, p := range d.Steps {
		sec, running, ok := d.PhaseSeconds(i, now)
		if !ok {
			continue
		}
		w := min(sec/longest*stretchWidth, stretchWidth-x)
		colour := colours[p.Status]
		if colour == "" {
			colour = "cx"
		}
		if p.Idle {
			colour = "idle"
		}
		title := p.Status + " " + model.HumanDuration(sec)
		if p.Idle {
			title = "idle " + model.HumanDuration(sec) + " (" + p.Status + ")"
		}
		if running {
			title += " so far"
		}
		words = append(words, title)
		r.Phases = append(r.Phases, phaseBar{X: x, W: w, Colour: colour, Title: title, Running: running})
		x += w
	}
	r.Label = strings.Join(words, ", ")
	return r
}

// timelineLink is the URL of a deployment's timeline. view is the
// dashboard's query, carried along so that the timeline's back link
// returns to the same view (filters, bucket and sprint). tz, the page's
// zone when the URL names one, is written beside it too, so that the
// timeline's times read in the zone of the page it came from, and a
// timeline bookmarked or shared says in which.
func timelineLink(k model.DeploymentKey, view, tz string) string {
	v := url.Values{}
	v.Set("component", k.Component)
	v.Set("version", k.Version)
	v.Set("environment", k.Environment)
	v.Set("attempt", strconv.Itoa(k.Attempt))
	if tz != "" {
		v.Set("tz", tz)
	}
	if view != "" {
		v.Set("view", view)
	}
	return "/ui/deployment?" + v.Encode()
}

// timelineView is one deployment's page: a bar per phase, in order.
type timelineView struct {
	D        *model.Deployment
	Phases   []timelinePhase
	Back     string
	BackText string // what Back leads to: the view's filters, not the deployment's
	Duration float64
	// Zone is the zone the times read in: the page's, as the link gave it.
	Zone *time.Location
	// Steps counts all the deployment's steps. With more than
	// uiTimelineRows, Phases holds the first and last uiTimelineRows/2
	// and the Hidden ones between them, from HiddenFrom to HiddenTo
	// (numbered from 1), are not shown: StepsCSV and DeploymentJSON give
	// them all.
	Steps                int
	Hidden               int
	HiddenFrom, HiddenTo int
	StepsCSV             string
	DeploymentJSON       string
}

// uiTimelineRows is the most rows a timeline shows. A deployment holds up
// to 50,000 steps, and its every row made a page of 25 MB that cost a
// second and a half of CPU to render and more to lay out; nobody reads
// past a few hundred rows, and those of a deployment that long are a
// script's loop. 1,000 rows keep the page near half a megabyte (50 KB
// gzipped), like the longest dashboards, and show the first 500 phases
// (how it started) and the last 500 (how it ended, or where it is now).
const uiTimelineRows = 1000

type timelinePhase struct {
	N       int
	Status  string
	Time    time.Time
	Offset  float64 // seconds from the start
	Seconds *float64
	Running bool
	End     bool // the terminal step: a moment, not a phase
	Idle    bool // waiting after the phase before (model.Phase.Idle)
	X, W    float64
	Colour  string
}

// backText names the page view a timeline's back link returns to: a link
// that said "web in production" and led to every component would mislead.
func backText(view uiQuery) string {
	switch {
	case view.Component != "" && view.Environment != "":
		return view.Component + " in " + view.Environment
	case view.Component != "":
		return view.Component
	case view.Environment != "":
		return "all components in " + view.Environment
	default:
		return "all deployments"
	}
}

// viewColours gives the steps the colours the dashboard of view gives
// them (stepColours over the same stats), so that a step keeps its colour
// from the page to a timeline. It reads the view's deployments as the
// dashboard does; if that fails, the steps share one colour.
func (s *Server) viewColours(ctx context.Context, view uiQuery, now time.Time) map[string]string {
	_, f, opts, err := dashboardQuery(view.values(), now, s.sprintDefaults(s.location))
	if err != nil {
		return nil
	}
	// The same analysis as the dashboard's, under the same bound; a busy
	// server leaves the colours out rather than keep the timeline waiting.
	leave, ok := s.tryAnalysis()
	if !ok {
		return nil
	}
	acc, err := s.statsOf(ctx, f, opts, now)
	leave()
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "timeline colours left out", "err", err)
		}
		return nil
	}
	// The order is all the colours need: no fit, no percentiles.
	return stepColours(acc.SlowestSteps())
}

// newTimelineView lays out d's phases; colours are the dashboard's
// (viewColours), nil for one colour.
func newTimelineView(d *model.Deployment, colours map[string]string, now time.Time, view uiQuery, zone *time.Location) *timelineView {
	v := &timelineView{D: d, Duration: d.DurationSeconds, Zone: zone}
	total := d.DurationSeconds
	if total <= 0 {
		total = 1
	}
	v.Back = "/?" + view.values().Encode()
	v.BackText = backText(view)
	v.Steps = len(d.Steps)
	head, tail := len(d.Steps), 0
	if len(d.Steps) > uiTimelineRows {
		head, tail = uiTimelineRows/2, uiTimelineRows/2
		v.Hidden = len(d.Steps) - head - tail
		v.HiddenFrom, v.HiddenTo = head+1, head+v.Hidden
		v.StepsCSV, v.DeploymentJSON = deploymentLinks(d)
	}
	for i, p := range d.Steps {
		if i >= head && i < len(d.Steps)-tail {
			continue
		}
		tp := timelinePhase{N: i + 1, Status: p.Status, Time: p.Time, Offset: p.Time.Sub(d.StartedAt).Seconds(),
			Seconds: p.DurationSeconds, Colour: colours[p.Status], Idle: p.Idle}
		switch {
		case p.Idle:
			tp.Colour = "idle"
		case colours == nil:
			tp.Colour = "phase"
		case tp.Colour == "":
			tp.Colour = "cx" // beyond the palette, or not in the view's stats
		}
		tp.X = tp.Offset / total * stretchWidth
		sec, running, ok := d.PhaseSeconds(i, now)
		switch {
		case ok:
			tp.Seconds, tp.Running = &sec, running
			tp.W = sec / total * stretchWidth
		default:
			tp.End = true
			tp.X = min(tp.X, stretchWidth-4)
			tp.W = 4
			tp.Colour = "end"
		}
		v.Phases = append(v.Phases, tp)
	}
	return v
}

// deploymentLinks gives the API's lists of every step of d: its steps as
// CSV (GET /v1/steps), and d with each phase's duration as JSON (GET
// /v1/deployments, whose since and until bound a deployment's start).
// The bounds are instants in UTC, read the same whatever the API's zone.
// An environment left empty matches every environment in the API: the
// instants keep the list to this deployment's time, where another
// environment's deploy of the same version is rare, and the CSV names
// each step's environment.
func deploymentLinks(d *model.Deployment) (stepsCSV, deploymentJSON string) {
	q := url.Values{}
	q.Set("component", d.Component)
	q.Set("version", d.Version)
	if d.Environment != "" {
		q.Set("environment", d.Environment)
	}
	first, last := d.Steps[0].Time, d.Steps[len(d.Steps)-1].Time
	q.Set("since", first.UTC().Format(time.RFC3339Nano))
	q.Set("until", last.UTC().Format(time.RFC3339Nano))
	q.Set("format", "csv")
	stepsCSV = "/v1/steps?" + q.Encode()
	q.Set("until", first.UTC().Format(time.RFC3339Nano))
	q.Set("format", "json")
	deploymentJSON = "/v1/deployments?" + q.Encode()
	return stepsCSV, deploymentJSON
}

// plural says "1 outlier", "2 outliers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
