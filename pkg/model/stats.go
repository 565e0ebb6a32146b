package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Bucket sizes of stats.
const (
	BucketDay    = "day"
	BucketWeek   = "week"
	BucketMonth  = "month"
	BucketSprint = "sprint"
)

// Defaults of StatsOptions.
const (
	DefaultSprintDays = 14
	DefaultBucket     = BucketWeek
)

// DefaultSprintStart is the first day of sprint 1 when none is given: a
// Monday, so two-week sprints line up with ISO weeks.
var DefaultSprintStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// nearSprintStarts bound the sprint starts taken as given; one further
// away is moved by whole sprints (Validate).
var nearSprintStarts = [2]time.Time{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}

// StatsOptions shape a stats request.
type StatsOptions struct {
	Bucket     string // day, week (default), month or sprint
	SprintDays int    // sprint length; also the "per sprint" of the trend
	// SprintStart is when a sprint starts, an instant; sprints repeat from
	// it both ways, at its clock time in Location (at midnight when it is
	// the first instant of its day there). SameClock turns a date
	// (midnight UTC, as ParseTime reads one) into midnight in Location.
	SprintStart time.Time
	// Location is the calendar's time zone (nil: UTC): days, weeks,
	// months and sprints are its calendar days, starting at its midnight.
	// Rates per week and per sprint stay in elapsed time.
	Location *time.Location
	// Outcome selects the deployments measured: success (default), failure
	// or all. In-progress deployments are never measured: they have no
	// duration yet.
	Outcome string
	// FittedSince, when not zero, is where the range starts because the
	// request named no since and the history held more buckets with
	// deployments than MaxStatsBuckets (FittingSince): Stats.FittedSince
	// and the summary then say what was left out.
	FittedSince time.Time
}

// MaxSprintDays is the longest sprint: a year, leap or not.
const MaxSprintDays = 366

// Validate checks the options and fills in defaults.
func (o *StatsOptions) Validate() error {
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	switch o.Bucket {
	case BucketDay, BucketWeek, BucketMonth, BucketSprint:
	default:
		return Invalid("bucket", "bucket must be day, week, month or sprint, not %s", Quote(o.Bucket))
	}
	if o.SprintDays == 0 {
		o.SprintDays = DefaultSprintDays
	}
	if o.SprintDays < 1 || o.SprintDays > MaxSprintDays {
		return Invalid("sprint_days", "sprint_days must be from 1 to %d", MaxSprintDays)
	}
	if o.SprintStart.IsZero() {
		o.SprintStart = atWallClock(DefaultSprintStart, o.zone())
	}
	if o.SprintStart.Before(nearSprintStarts[0]) || !o.SprintStart.Before(nearSprintStarts[1]) {
		// The same calendar from its sprint nearest DefaultSprintStart:
		// times are measured from it as a time.Duration (the trend's
		// weeks), which holds only 292 years.
		o.SprintStart = StatsOptions{Bucket: BucketSprint, SprintDays: o.SprintDays, SprintStart: o.SprintStart, Location: o.Location}.bucketStart(DefaultSprintStart)
	}
	switch o.Outcome {
	case "":
		o.Outcome = OutcomeSuccess
	case OutcomeSuccess, OutcomeFailure, "all":
	default:
		return Invalid("outcome", "outcome must be success, failure or all, not %s", Quote(o.Outcome))
	}
	return nil
}

// zone is the calendar's time zone: nil is UTC.
func (o StatsOptions) zone() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// bucketStart returns the start of the bucket holding t: midnight in the
// calendar's zone (for sprints, SprintStart's clock time there).
func (o StatsOptions) bucketStart(t time.Time) time.Time {
	return atWallClock(o.wallBucketStart(wallClock(t, o.zone())), o.zone())
}

// nextBucket returns the start of the bucket after the one starting at start.
// Buckets are calendar days in the zone: a week across a change of clocks
// lasts 167 or 169 hours.
func (o StatsOptions) nextBucket(start time.Time) time.Time {
	b := o.wallBucketStart(wallClock(start, o.zone()))
	switch o.Bucket {
	case BucketDay:
		b = b.AddDate(0, 0, 1)
	case BucketWeek:
		b = b.AddDate(0, 0, 7)
	case BucketMonth:
		b = b.AddDate(0, 1, 0)
	default:
		b = b.AddDate(0, 0, o.SprintDays)
	}
	return atWallClock(b, o.zone())
}

// wallBucketStart returns the start of the bucket holding w, both as the
// zone's clock reads them (wallClock).
func (o StatsOptions) wallBucketStart(w time.Time) time.Time {
	day := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	switch o.Bucket {
	case BucketDay:
		return day
	case BucketWeek:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // back to Monday
	case BucketMonth:
		return time.Date(w.Year(), w.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	// In whole seconds and days: a time.Duration holds only 292 years,
	// and sprint_start may lie centuries away.
	start := o.sprintWallStart()
	sec := w.Unix() - start.Unix()
	if w.Nanosecond() < start.Nanosecond() {
		sec--
	}
	length := int64(o.SprintDays) * 24 * 60 * 60
	n := sec / length
	if sec%length < 0 {
		n--
	}
	return start.AddDate(0, 0, int(n)*o.SprintDays)
}

// sprintWallStart is SprintStart as the zone's clock reads it, but for a
// sprint that starts when its day does: that one repeats at midnight. A
// date is the first instant of its day, which is 01:00 where the clock
// skips midnight (Santiago in September); read as a clock time, every
// later sprint would start at 01:00 and its first hour would fall in the
// sprint before.
func (o StatsOptions) sprintWallStart() time.Time {
	w := wallClock(o.SprintStart, o.zone())
	day := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	if !w.Equal(day) && atWallClock(day, o.zone()).Equal(o.SprintStart) {
		return day
	}
	return w
}

// Stats answers the retrospective's questions about deploy durations.
type Stats struct {
	Bucket      string        `json:"bucket"`
	SprintDays  int           `json:"sprint_days"`
	Outcome     string        `json:"outcome"`
	Deployments int           `json:"deployments"`
	Buckets     []BucketStats `json:"buckets"`
	// Steps lists each step name, slowest first: by its share of the total
	// deploy time. Each has its figures per bucket, a point each: past
	// MaxStatsSeries points in all, only the slowest steps are listed
	// (see StepsNotListed).
	Steps []StepStats `json:"steps"`
	// StepsNotListed counts the step names that Steps leaves out, the
	// fastest, so that buckets × (listed step names + 1) stay within
	// MaxStatsSeries (their time is in every other figure, and in the
	// listed steps' shares). One deployment of thousands of step names
	// made every request over its time a 400 before.
	StepsNotListed int    `json:"steps_not_listed"`
	Trend          Trend  `json:"trend"`
	Summary        string `json:"summary"`
	// Outliers names the deployments left out of the trend as junk, at
	// most MaxOutlierRefs of them; Trend.Outliers counts them all.
	Outliers []OutlierRef `json:"outliers"`
	// Environments lists the environments of the deployments measured
	// (sorted, at most MaxEnvironmentsListed; none for those without
	// one): with several, each bucket's figures count them together,
	// staging beside production, and a request with environment= asks
	// for one.
	Environments []string `json:"environments"`
	// Series lists the series (component and environment) the trend
	// blends, each with its own trend: those with the most deployments
	// first, at most MaxSeriesListed of them.
	Series []SeriesStats `json:"series"`
	// SeriesNotListed counts the series beyond MaxSeriesListed that
	// Series leaves out (their deployments are in every other figure).
	SeriesNotListed int `json:"series_not_listed"`
	// FittedSince is where the range starts when the server chose it: a
	// request without since over a history of more than MaxStatsBuckets
	// buckets with deployments reads the latest that fit (and the summary
	// says so) instead of being refused. Null otherwise.
	FittedSince *time.Time `json:"fitted_since"`
}

// Durations summarises a set of durations. The percentiles interpolate
// linearly between the nearest ranks; all are nil when Count is 0.
type Durations struct {
	Count       int      `json:"count"`
	P50Seconds  *float64 `json:"p50_seconds"`
	P90Seconds  *float64 `json:"p90_seconds"`
	MaxSeconds  *float64 `json:"max_seconds"`
	MeanSeconds *float64 `json:"mean_seconds"`
}

// BucketStats are the deploy durations of deployments started in
// [Start, End). The durations leave the outliers out, as the trend does:
// one deploy stuck for hours would otherwise be the week's p90, and a
// week of few deploys its p50. Outliers counts those left out.
type BucketStats struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Durations
	Outliers int `json:"outliers"`
	// Gap, when not 0, says this is a run of Gap empty buckets given as
	// one: a range longer than MaxStatsBuckets buckets (a deployment
	// back-dated to 1970) has its longest runs of empty buckets collapsed.
	Gap int `json:"gap,omitempty"`
	// Partial says the range measured holds only part of [Start, End):
	// since is after Start, or until, or the time of the answer (the
	// bucket in progress), before End (MarkPartial). Its count is not a
	// whole bucket's: a sprint cut to its last day by since read 1
	// deployment beside sprints of 15, with nothing to say why.
	Partial bool `json:"partial,omitempty"`
}

// MarkPartial marks the buckets, the deployments' and the steps', that
// the range [since, until] (each zero when open, until inclusive to the
// microsecond) or now, when the answer was computed (zero: not known),
// cuts (BucketStats.Partial). A run of empty buckets (Gap) is never one.
func (st *Stats) MarkPartial(since, until, now time.Time) {
	mark := func(bs []BucketStats) {
		for i := range bs {
			b := &bs[i]
			b.Partial = b.Gap == 0 && (since.After(b.Start) ||
				!until.IsZero() && until.Add(time.Microsecond).Before(b.End) ||
				!now.IsZero() && now.Before(b.End))
		}
	}
	mark(st.Buckets)
	for i := range st.Steps {
		mark(st.Steps[i].Buckets)
	}
}

// StepStats are the durations of one step name across deployments.
type StepStats struct {
	Status string `json:"status"`
	Durations
	// TotalSeconds is this step's time in the deployments that are not
	// outliers, as its other figures.
	TotalSeconds float64 `json:"total_seconds"`
	// SharePercent is this step's part of that time over all steps.
	SharePercent float64 `json:"share_percent"`
	// Buckets is this step's own trend, bucket by bucket.
	Buckets []BucketStats `json:"buckets"`
	// Trend is this step's own growth.
	Trend RobustTrend `json:"trend"`
	// ShareOfGrowthPercent is the part of the deployment's growth, in
	// seconds a week, that this step's growth accounts for: its Theil–Sen
	// slope in seconds a week times the part of the deployments it ran
	// in, over the sum of all steps' (so the shares sum to 100; see
	// shareRule for when they do not). nil when the deployment is not
	// growing.
	ShareOfGrowthPercent *float64 `json:"share_of_growth_percent"`
}

// Trend is how deploy time changes over time. Its growth figures (from
// the embedded RobustTrend) come from a robust fit; the slope fields are a
// plain least-squares fit over all deployments, kept for continuity and
// swung by outliers: do not bring them to a retrospective.
type Trend struct {
	RobustTrend
	// Blame lists the statuses whose own growth holds (their own
	// direction growing), largest share of growth first, that together
	// account for at least half of the deployment's growth; empty when
	// the deployment is not growing or those steps make less than half.
	Blame []string `json:"blame"`
	// SlopeSecondsPerWeek is the least-squares slope of deploy duration
	// over start time.
	SlopeSecondsPerWeek float64 `json:"slope_seconds_per_week"`
	// SlopePercentOfMeanPerWeek is that slope as a percentage of the mean
	// duration.
	SlopePercentOfMeanPerWeek float64 `json:"slope_percent_of_mean_per_week"`
	MeanSeconds               float64 `json:"mean_seconds"`
}

// GivesRate reports whether the trend has a direction, growing or
// shrinking: the summary then gives a rate, and names the shifts of deploy
// time (GET /v1/changes) it counts in.
func (t Trend) GivesRate() bool {
	return t.Direction == DirectionGrowing || t.Direction == DirectionShrinking
}

// StatsAccumulator gathers deployments one at a time. A bucket keeps the
// durations of its deployments and phases that are not outliers, exactly
// while few and then in a sketch (samples); the robust trend, the outliers
// and the change points come from the history, bounded per series when
// each series' deployments come in time order.
type StatsAccumulator struct {
	opts       StatsOptions
	origin     time.Time
	buckets    map[time.Time]*samples
	bucketList []*samples
	steps      map[string]*stepAcc
	byStatus   []*stepAcc // by history status
	linear     regression
	hist       *history
	// series are the fits of the series Stats.Series lists, in its
	// order (robust, fitSeries).
	series []seriesFit
	// changes caches the change points once found (Changes): the page
	// asks for them after Result, which needed them for its sentence.
	changes *Changes
	n       int
	// otherOutcome counts the finished deployments (with a duration) that
	// the outcome option leaves out: "no successful deployments" should
	// say that thirty failed.
	otherOutcome int
	// What the judged deployments add up to (judged): the outliers, and
	// the time measured in the others.
	outliers     int
	refs         []OutlierRef // the first MaxOutlierRefs, and some more
	measured     float64
	total        float64
	stepTotal    []float64 // by history status
	stepOutliers []int
	// The bucket of the last deployment added, [start, end), and its
	// measured steps in order: the next deployment is most likely in the
	// same bucket with the same steps, found without hashing a time or a
	// name.
	last struct {
		start, end time.Time
		samples    *samples
		steps      []*stepAcc
	}
}

type stepAcc struct {
	name    string
	buckets map[time.Time]*samples
	byIdx   []*samples // by bucket index
}

// bucketStats summarises the samples of bucket span sp (nil: none).
func (o StatsOptions) bucketStats(sp bucketSpan, s *samples) BucketStats {
	b := BucketStats{Start: sp.start, End: sp.end, Gap: sp.gap}
	if s != nil {
		b.Durations, b.Outliers = s.durations(), s.junk
	}
	return b
}

// NewStatsAccumulator returns an accumulator for validated options.
func NewStatsAccumulator(opts StatsOptions) *StatsAccumulator {
	a := &StatsAccumulator{
		opts: opts,
		// One instant whatever the calendar: the trend is in elapsed
		// time, and an origin that moved with the zone or the sprint
		// start would move its last digits too.
		origin:  DefaultSprintStart,
		buckets: map[time.Time]*samples{},
		steps:   map[string]*stepAcc{},
		hist:    newHistory(),
	}
	a.hist.judged = a.judged
	return a
}

// Add counts a deployment if it matches the options' outcome and has a
// duration (two steps or more).
func (a *StatsAccumulator) Add(d *Deployment) {
	if d.Outcome == OutcomeInProgress {
		return
	}
	if a.opts.Outcome != "all" && a.opts.Outcome != d.Outcome {
		if len(d.Steps) >= 2 {
			a.otherOutcome++
		}
		return
	}
	if len(d.Steps) < 2 {
		// A lone terminal step says a deploy ended, not how long it took:
		// counting it as 0 s would drag every figure down.
		return
	}
	a.n++
	if d.StartedAt.Before(a.last.start) || !d.StartedAt.Before(a.last.end) {
		b := a.opts.bucketStart(d.StartedAt)
		bs := a.buckets[b]
		if bs == nil {
			bs = &samples{idx: int32(len(a.bucketList))}
			a.buckets[b] = bs
			a.bucketList = append(a.bucketList, bs)
		}
		a.last.start, a.last.end, a.last.samples = b, a.opts.nextBucket(b), bs
	}
	b, bi := a.last.start, a.last.samples.idx
	weeks := d.StartedAt.Sub(a.origin).Hours() / (24 * 7)
	a.linear.add(weeks, d.DurationSeconds)
	j := 0 // measured steps so far
	for _, p := range d.Steps {
		// Idle time is in the deployment's duration, but no step's.
		if p.DurationSeconds == nil || p.Idle {
			continue
		}
		var s *stepAcc
		if j < len(a.last.steps) && a.last.steps[j].name == p.Status {
			s = a.last.steps[j]
		} else {
			if s = a.steps[p.Status]; s == nil {
				s = &stepAcc{name: p.Status, buckets: map[time.Time]*samples{}}
				a.steps[p.Status] = s
			}
			a.last.steps = append(a.last.steps[:j], s)
		}
		j++
		if int(bi) >= len(s.byIdx) || s.byIdx[bi] == nil {
			if int(bi) >= len(s.byIdx) {
				s.byIdx = append(s.byIdx, make([]*samples, int(bi)+1-len(s.byIdx))...)
			}
			sb := &samples{idx: bi}
			s.byIdx[bi] = sb
			s.buckets[b] = sb
		}
	}
	a.last.steps = a.last.steps[:j]
	a.hist.add(d, bi)
}

// judged takes in a deployment once the history knows whether it is an
// outlier: its durations go to its buckets, or it is counted out.
func (a *StatsAccumulator) judged(s *seriesHist, d *depRecord, phases []phaseRecord) {
	h := a.hist
	for len(a.byStatus) < len(h.statuses) {
		st := len(a.byStatus)
		a.byStatus = append(a.byStatus, a.steps[h.statuses[st]])
		a.stepTotal = append(a.stepTotal, 0)
		a.stepOutliers = append(a.stepOutliers, 0)
	}
	bucket := a.bucketList[d.bucket]
	if d.outlier {
		a.outliers++
		a.refs = append(a.refs, OutlierRef{Component: s.key.component, Version: d.version, Environment: s.key.environment,
			Attempt: int(d.attempt), StartedAt: time.Unix(0, d.start).UTC(), DurationSeconds: d.duration, MedianSeconds: float64(d.median)})
		if len(a.refs) >= 4*MaxOutlierRefs {
			a.refs = firstOutliers(a.refs)
		}
		bucket.junk++
		merged := mergedAll(d, phases)
		for i, p := range phases {
			if _, first := merged.at(i); first {
				a.stepOutliers[p.status]++
				a.byStatus[p.status].byIdx[d.bucket].junk++
			}
		}
		return
	}
	a.measured++
	a.total += d.duration
	bucket.add(d.duration)
	merged := mergedAll(d, phases)
	// A step met twice in a deployment (a retried job, an import sent
	// twice: a phase of 0 s then the real one) is one sample of its
	// figures, its seconds summed, as its trend, total and changes read
	// it: per phase, its p50 halved and its count passed the deployments'.
	// The sum is kept in float64 here, so that figures stay to the
	// microsecond; the history's float32 is for the fits (merged.seconds).
	for i, p := range phases {
		v, first := merged.at(i)
		if !first {
			continue
		}
		a.stepTotal[p.status] += v
		a.byStatus[p.status].byIdx[d.bucket].add(merged.seconds(i))
	}
}

// firstOutliers sorts refs by time (then series, version and attempt) and
// keeps the first MaxOutlierRefs.
func firstOutliers(refs []OutlierRef) []OutlierRef {
	slices.SortFunc(refs, func(x, y OutlierRef) int {
		return cmp.Or(x.StartedAt.Compare(y.StartedAt), cmp.Compare(x.Component, y.Component),
			cmp.Compare(x.Environment, y.Environment), cmp.Compare(x.Version, y.Version), cmp.Compare(x.Attempt, y.Attempt))
	})
	return refs[:min(len(refs), MaxOutlierRefs)]
}

// SlowestSteps names the steps measured, slowest first: by their time in
// the deployments that are not outliers, then by name. It is the order of
// Stats.Steps, without the fits that Result makes, for a view that needs
// only the order; call it once every deployment is added.
func (a *StatsAccumulator) SlowestSteps() []string {
	a.hist.finish()
	names := make([]string, 0, len(a.steps))
	for name := range a.steps {
		names = append(names, name)
	}
	slices.SortFunc(names, func(x, y string) int {
		if c := cmp.Compare(a.stepSeconds(y), a.stepSeconds(x)); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	return names
}

// stepSeconds is the time measured in step name over the deployments that
// are not outliers, once they are judged (history.finish). Like every
// other figure of a step, it leaves the outliers out: a deploy whose first
// step was sent with last year's date lasts a year, and would otherwise
// make that step 99.8 % of all deploy time and the slowest.
func (a *StatsAccumulator) stepSeconds(name string) float64 {
	if st, ok := a.hist.statusIndex[name]; ok && int(st) < len(a.stepTotal) {
		return a.stepTotal[st]
	}
	return 0
}

// Result computes the stats. Buckets run from the first deployment's to
// the last's, empty ones included, so a chart has one point per bucket
// (beyond MaxStatsBuckets, long runs of empty ones as one: bucketSpans).
// Their durations, and the steps' (totals and shares included), leave the
// outliers out (see BucketStats).
func (a *StatsAccumulator) Result() Stats {
	st := Stats{Bucket: a.opts.Bucket, SprintDays: a.opts.SprintDays, Outcome: a.opts.Outcome, Deployments: a.n,
		Buckets: []BucketStats{}, Steps: []StepStats{}}
	if !a.opts.FittedSince.IsZero() {
		since := a.opts.FittedSince
		st.FittedSince = &since
	}
	a.hist.finish()
	spans, _ := bucketSpans(a.opts, a.buckets)
	for _, sp := range spans {
		st.Buckets = append(st.Buckets, a.opts.bucketStats(sp, a.buckets[sp.start]))
	}
	// Summed in name order: floating-point sums depend on the order, and
	// the same request must give the same figures to the last digit.
	names := make([]string, 0, len(a.steps))
	for name := range a.steps {
		names = append(names, name)
	}
	sort.Strings(names)
	var all float64
	for _, name := range names {
		all += a.stepSeconds(name)
	}
	// Each step's buckets are a point each: the slowest steps are listed
	// while the answer stays within MaxStatsSeries points.
	listed := len(a.steps)
	if len(spans) > 0 {
		// At least none: past MaxStatsSeries spans (a Result without
		// CheckSize) the slice below would otherwise panic.
		listed = max(0, min(listed, MaxStatsSeries/len(spans)-1))
	}
	st.StepsNotListed = len(a.steps) - listed
	for _, name := range a.SlowestSteps()[:listed] {
		s := a.steps[name]
		total := a.stepSeconds(name)
		ss := StepStats{Status: name, Durations: s.durations(), TotalSeconds: total, Buckets: []BucketStats{}}
		if all > 0 {
			ss.SharePercent = total / all * 100
		}
		for _, sp := range spans {
			ss.Buckets = append(ss.Buckets, a.opts.bucketStats(sp, s.buckets[sp.start]))
		}
		st.Steps = append(st.Steps, ss)
	}

	st.Trend.MeanSeconds = a.linear.meanY
	if slope, ok := a.linear.slope(); ok {
		st.Trend.SlopeSecondsPerWeek = slope
		if a.linear.meanY > 0 {
			st.Trend.SlopePercentOfMeanPerWeek = slope / a.linear.meanY * 100
		}
	}
	gap := a.robust(&st)
	var shifts []Change
	if st.Trend.GivesRate() {
		// A one-time shift reads as a rate too ("grows 2.3 % a week" of a
		// history flat but for one jump of 40 %): where the sentence gives
		// a rate, it names the shifts it counts in.
		shifts = a.Changes().Changes
	}
	a.listSeries(&st)
	st.Summary = a.summary(st, gap, shifts)
	envs := environmentSet{}
	for _, s := range a.hist.series {
		envs.add(s.key.environment)
	}
	st.Environments = envs.sorted()
	return st
}

// durations summarises the step's durations: its buckets' together,
// gathered here rather than kept twice for the whole request; from a
// sketch of them all when there are many.
func (s *stepAcc) durations() Durations {
	all := mergeSamples(s.byIdx)
	return all.durations()
}

// mergeSamples gathers parts (nil ones are none) into one, exact while
// they are all exact and few.
func mergeSamples(parts []*samples) samples {
	n, sketched := 0, false
	for _, sb := range parts {
		if sb != nil {
			n += sb.count()
			sketched = sketched || sb.sk != nil
		}
	}
	if !sketched && n <= exactDurations {
		all := make([]float64, 0, n)
		for _, sb := range parts {
			if sb != nil {
				all = append(all, sb.secs...)
			}
		}
		return samples{secs: all}
	}
	k := &sketch{}
	for _, sb := range parts {
		switch {
		case sb == nil:
		case sb.sk != nil:
			k.merge(sb.sk)
		default:
			for _, v := range sb.secs {
				k.add(v)
			}
		}
	}
	return samples{sk: k}
}

// countDeployments says "1 deployment", "2 deployments".
func countDeployments(n int) string {
	if n == 1 {
		return "1 deployment"
	}
	return fmt.Sprintf("%d deployments", n)
}

// bucketSpan is one bucket of an answer, or a run of gap empty buckets
// given as one.
type bucketSpan struct {
	start, end time.Time
	gap        int
}

// bucketSpans returns the buckets of an answer: every bucket from the
// first with data to the last, empty ones included, so that a chart has one
// point per bucket. When that is more than MaxStatsBuckets, the longest
// runs of empty buckets are each given as one span until it is not (or
// none is left): one deployment back-dated to 1970 costs one bucket and one
// gap, not 3,000 weeks. The spans' number is that of the buckets with data
// and the runs between them, bounded by the deployments, so memory stays
// bounded whatever the range. total is the number of spans.
func bucketSpans(o StatsOptions, buckets map[time.Time]*samples) (spans []bucketSpan, total int) {
	if len(buckets) == 0 {
		return nil, 0
	}
	starts := make([]time.Time, 0, len(buckets))
	for b := range buckets {
		starts = append(starts, b)
	}
	slices.SortFunc(starts, time.Time.Compare)
	// gaps[i] is the number of empty buckets between starts[i] and
	// starts[i+1].
	gaps := make([]int, len(starts)-1)
	total = len(starts)
	for i := range gaps {
		gaps[i] = o.bucketsBetween(o.nextBucket(starts[i]), starts[i+1])
		total += gaps[i]
	}
	collapse := make([]bool, len(gaps))
	if total > MaxStatsBuckets {
		order := make([]int, len(gaps))
		for i := range order {
			order[i] = i
		}
		// Longest first; of equal ones, the earliest.
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(gaps[y], gaps[x]) })
		for _, i := range order {
			if total <= MaxStatsBuckets || gaps[i] < 2 {
				break
			}
			collapse[i] = true
			total -= gaps[i] - 1
		}
	}
	if total > MaxStatsBuckets {
		return nil, total // the caller refuses it (CheckSize)
	}
	spans = make([]bucketSpan, 0, total)
	for i, b := range starts {
		next := o.nextBucket(b)
		spans = append(spans, bucketSpan{start: b, end: next})
		if i == len(gaps) || gaps[i] == 0 {
			continue
		}
		if collapse[i] {
			spans = append(spans, bucketSpan{start: next, end: starts[i+1], gap: gaps[i]})
			continue
		}
		for e := next; e.Before(starts[i+1]); e = o.nextBucket(e) {
			spans = append(spans, bucketSpan{start: e, end: o.nextBucket(e)})
		}
	}
	return spans, total
}

// bucketsBetween counts the buckets from the start of one (from) to the
// start of a later one (to), without walking them: thousands of years of
// days are three million.
func (o StatsOptions) bucketsBetween(from, to time.Time) int {
	// Counted on the zone's clock, where every day has 86,400 s: a week
	// across a change of clocks is 167 or 169 hours.
	from, to = o.wallBucketStart(wallClock(from, o.zone())), o.wallBucketStart(wallClock(to, o.zone()))
	days := func() int64 { return (to.Unix() - from.Unix()) / 86400 }
	switch o.Bucket {
	case BucketDay:
		return int(days())
	case BucketWeek:
		return int(days() / 7)
	case BucketMonth:
		return (to.Year()-from.Year())*12 + int(to.Month()) - int(from.Month())
	}
	return int(days() / int64(o.SprintDays))
}

// summarise sorts ds in place and summarises it.
func summarise(ds []float64) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += d
	}
	// Durations are stored to the microsecond; so are their summaries,
	// rather than carry interpolation's float noise (474.84142099999997)
	// into JSON and spreadsheets.
	mean := roundMicro(sum / float64(len(ds)))
	p50, p90, maxD := roundMicro(Percentile(ds, 50)), roundMicro(Percentile(ds, 90)), ds[len(ds)-1]
	return Durations{Count: len(ds), P50Seconds: &p50, P90Seconds: &p90, MaxSeconds: &maxD, MeanSeconds: &mean}
}

// Percentile returns the p-th percentile of sorted values, interpolating
// linearly between the closest ranks.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(rank-float64(lo))
}

// regression is an online least-squares fit (Welford's method, stable
// whatever the magnitudes).
type regression struct {
	n            float64
	meanX, meanY float64
	sxx, sxy     float64
}

func (r *regression) add(x, y float64) {
	r.n++
	dx := x - r.meanX
	r.meanX += dx / r.n
	r.meanY += (y - r.meanY) / r.n
	r.sxx += dx * (x - r.meanX)
	r.sxy += dx * (y - r.meanY)
}

func (r *regression) slope() (float64, bool) {
	if r.n < 2 || r.sxx <= 1e-12 {
		return 0, false
	}
	return r.sxy / r.sxx, true
}

// HumanDuration formats seconds as people read them: 32ms, 45s, 3m12s,
// 2h05m, 3d04h.
func HumanDuration(seconds float64) string {
	if seconds < 0 {
		return "-" + HumanDuration(-seconds)
	}
	if seconds > 0 && seconds < 0.1 {
		// A first try of the tool, steps sent one after the other by hand
		// or by a script, makes phases of milliseconds: "0.0s" for each
		// would read as nothing measured.
		return fmt.Sprintf("%dms", max(1, int64(math.Round(seconds*1000))))
	}
	if seconds < 10 {
		return fmt.Sprintf("%.1fs", seconds)
	}
	s := int64(math.Round(seconds))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// MaxStatsBuckets is the most buckets stats are computed over. Every step
// name gets its own series of them, so one back-dated deployment (a time in
// 1970, say) with many step names would otherwise make an answer of
// hundreds of megabytes.
const MaxStatsBuckets = 1000

// MaxStatsSeries bounds buckets × (step names + 1), the points of an
// answer: a thousand buckets for fifty step names, fewer for more names.
// The fastest step names past it are left out of Stats.Steps (and counted
// in Stats.StepsNotListed), not refused: one deployment of thousands of
// step names, which anyone who may write can send, would otherwise make
// every request over its time a 400, the page's included.
const MaxStatsSeries = 50000

// CheckSize fails with advice when the answer would have more than
// MaxStatsBuckets buckets once long runs of empty ones are collapsed (that
// is, when the buckets with deployments and the runs between them are too
// many); call it before Result. Many step names are not refused: past
// MaxStatsSeries points the slowest steps alone are listed.
//
// The advice names the API's parameters as "name=" and lists them in the
// error's Params, so that a client with other names for them (stepsctl's
// flags) can say it in its own.
func (a *StatsAccumulator) CheckSize() error {
	n := 0
	if len(a.buckets) > 0 {
		_, n = bucketSpans(a.opts, a.buckets)
	}
	if n <= MaxStatsBuckets {
		return nil
	}
	larger, params := a.opts.largerBuckets()
	var first, last time.Time
	for b := range a.buckets {
		if first.IsZero() || b.Before(first) {
			first = b
		}
		if b.After(last) {
			last = b
		}
	}
	e := Invalid("bucket", "the deployments run from %s to %s: more than %d %s buckets with deployments, the most stats are computed over; narrow the range with since= and until=%s",
		first.Format(time.DateOnly), a.opts.nextBucket(last).Format(time.DateOnly), MaxStatsBuckets, a.opts.Bucket, larger)
	e.Params = append([]string{"since", "until"}, params...)
	return e
}

// FittingSince returns where a request that named no since may start
// for CheckSize to accept it: the start of the oldest of the newest
// buckets with deployments that fit. Call it when CheckSize fails. One
// batch of a thousand deployments a week apart, back-dated, would
// otherwise make the default request a 400 for every reader, and a team
// with three years of daily deploys would get advice instead of figures.
func (a *StatsAccumulator) FittingSince() time.Time {
	starts := make([]time.Time, 0, len(a.buckets))
	for b := range a.buckets {
		starts = append(starts, b)
	}
	return fittingSince(a.opts, starts)
}

// fittingSince returns the start of the oldest bucket that keeps the
// newest of starts (bucket starts with deployments, in any order) within
// MaxStatsBuckets once runs of empty buckets are collapsed: each bucket
// counts one, and so does each run between two, as if collapsed. Two
// buckets are left spare for the period's end that DORA adds (its bucket
// of now, and the run before it), so that one start fits stats and the
// four keys alike.
func fittingSince(o StatsOptions, starts []time.Time) time.Time {
	if len(starts) == 0 {
		return time.Time{}
	}
	slices.SortFunc(starts, time.Time.Compare)
	used := 0
	for i := len(starts) - 1; i >= 0; i-- {
		cost := 1
		if i < len(starts)-1 && o.nextBucket(starts[i]).Before(starts[i+1]) {
			cost++
		}
		if used+cost > MaxStatsBuckets-2 {
			return starts[i+1]
		}
		used += cost
	}
	return starts[0]
}

// largerBuckets is the end of CheckSize's advice: the buckets larger than
// the one asked for, if any, and the parameter it names ("bucket", or
// none). Advising "week" to a request for weeks sends the reader round in
// a circle.
func (o StatsOptions) largerBuckets() (string, []string) {
	var larger []string
	switch o.Bucket {
	case BucketDay:
		larger = []string{BucketWeek, BucketMonth, BucketSprint}
	case BucketWeek:
		larger = []string{BucketMonth}
		if o.SprintDays > 7 {
			larger = append(larger, BucketSprint)
		}
	case BucketSprint:
		if o.SprintDays < 28 {
			larger = []string{BucketMonth}
		}
	}
	for i, b := range larger {
		larger[i] = "bucket=" + b
	}
	switch len(larger) {
	case 0:
		return "", nil
	case 1:
		return ", or use a larger bucket (" + larger[0] + ")", []string{"bucket"}
	default:
		return ", or use a larger bucket (" + strings.Join(larger[:len(larger)-1], ", ") + " or " + larger[len(larger)-1] + ")", []string{"bucket"}
	}
}
