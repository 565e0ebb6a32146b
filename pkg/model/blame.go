package model

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// blameHalf is the part of the growth the blamed steps account for
// together, at least.
const blameHalf = 50

// robust fills the robust trend of the deployments and of each step, the
// steps' shares of growth, the blame and the outliers, from the history's
// series and what the judged deployments added up to (judged). It
// returns why the deployments' fit says nothing of the growth, if it does
// not, for the summary.
//
// A step's share of growth is its contribution over the sum of all
// steps' contributions, so the shares sum to 100 % (a shrinking step's is
// negative). Its contribution is the Theil–Sen slope of its durations in
// seconds a week, on the deployments that are not outliers, times the
// part of the measured deployments it ran in: a step that runs in half
// of them adds half its slope to the deployment's growth. The shares
// were the step's compound rate times its median seconds, over the
// deployment's rate times the steps' summed medians: those add up only
// when every step grows like interest, and a step whose seconds grew by a
// steady amount (migrate from 60 to 221 s in 12 weeks, the others flat)
// read 107 to 111 % of the growth (shareRule).
func (a *StatsAccumulator) robust(st *Stats) trendGap {
	h := a.hist
	measured := a.measured
	// groups returns the points of the deployments that are not outliers
	// (or of their runs), by series: their durations (status -1) or one
	// status' phases. They are built for one fit at a time. The fit's
	// Points are the deployments or phases, not the runs that stand for
	// them. A status' points come from an index built in one pass:
	// scanning every phase of every point for each step name cost names ×
	// phases, minutes of CPU for one deployment of 50,000 steps among a
	// million.
	index := h.statusPoints()
	groups := func(status int32) ([][]point, int) {
		if status >= 0 {
			return indexedGroups(h, index[status], a.origin)
		}
		out := make([][]point, len(h.series))
		represented := 0
		for si, s := range h.series {
			g := make([]point, 0, len(s.points))
			for i := range s.points {
				d := &s.points[i]
				if d.outlier {
					continue
				}
				g = append(g, point{weeks(d.start, a.origin), math.Log(d.duration)})
				if s.firsts == nil {
					represented++
				} else {
					represented += int(s.firsts[i].n)
				}
			}
			out[si] = g
		}
		return out, represented
	}
	a.refs = firstOutliers(a.refs)
	st.Outliers = append([]OutlierRef{}, a.refs...)

	// The fits are independent of each other and most of a stats
	// request's time (the page at a million steps spends three quarters
	// of its CPU in them): they run side by side, GOMAXPROCS at a time.
	// Each also gives its slope in seconds a week, on the points it
	// fitted, for the shares of growth: no second pass over the history.
	var (
		depFit     sen
		depSeconds float64 // the deployments' slope, seconds a week
		growths    = make([]stepGrowth, len(st.Steps))
	)
	var fitting sideBySide
	fitting.run(func() {
		g, represented := groups(-1)
		var fitted [][]point
		depFit, depSeconds, fitted = fitTrendSeconds(g)
		depFit.points = represented
		a.series = a.fitSeries(fitted)
	})
	for i := range st.Steps {
		ss := &st.Steps[i]
		sti, ok := h.statusIndex[ss.Status]
		if !ok {
			ss.Trend = RobustTrend{Direction: DirectionFlat, Method: TrendMethod}
			continue
		}
		fitting.run(func() {
			g, represented := groups(sti)
			fit, seconds, _ := fitTrendSeconds(g)
			fit.points = represented
			ss.Trend = fit.robust(a.opts.SprintDays, a.stepOutliers[sti])
			sg := stepGrowth{measured: true, ok: fit.ok, slope: fit.slope, seconds: seconds}
			if measured > 0 {
				sg.ran = float64(represented) / measured
			}
			// The old rule's typical seconds (shareRule's fallback) are the
			// step's median where it ran, not its mean: 3 deployments whose
			// migrate (a tenth of the deploy) lasted 40 times as long are no
			// outliers (5 times the deploy) and made migrate's mean 4 times
			// as large in a history of 40, and its share of growth with it.
			var ys []float64
			for _, s := range g {
				for _, p := range s {
					ys = append(ys, p.y)
				}
			}
			if len(ys) > 0 {
				sg.typical = math.Exp(selectMedian(ys)) * sg.ran
			}
			growths[i] = sg
		})
	}
	fitting.wait()
	st.Trend.RobustTrend = depFit.robust(a.opts.SprintDays, a.outliers)
	st.Trend.Blame = []string{}
	growing := st.Trend.Direction == DirectionGrowing
	if !growing {
		return depFit.gap
	}
	shares := shareRule(growths, depFit.slope, depSeconds)
	for i, share := range shares {
		if growths[i].measured {
			st.Steps[i].ShareOfGrowthPercent = &share
		}
	}
	// Only a step whose own growth holds is to blame: its own interval
	// above 0, so that it too holds without the 3 deployments that favour
	// it most. A share is the step's slope, whatever its interval: 3
	// deployments with one step 3 to 8 times as long at one end of a
	// history of 40 moved that step's slope enough to be blamed first,
	// in place of the step that grew, in a fifth of the histories.
	order := make([]*StepStats, 0, len(st.Steps))
	for i := range st.Steps {
		if p := st.Steps[i].ShareOfGrowthPercent; p != nil && *p > 0 && st.Steps[i].Trend.Direction == DirectionGrowing {
			order = append(order, &st.Steps[i])
		}
	}
	slices.SortStableFunc(order, func(x, y *StepStats) int {
		return cmp.Or(cmp.Compare(*y.ShareOfGrowthPercent, *x.ShareOfGrowthPercent), cmp.Compare(x.Status, y.Status))
	})
	// Those that hold must make half of the growth between them, or none
	// is named: a step that holds, with a tenth of the growth, named
	// alone, reads as the cause.
	var sum float64
	for _, ss := range order {
		st.Trend.Blame = append(st.Trend.Blame, ss.Status)
		if sum += *ss.ShareOfGrowthPercent; sum >= blameHalf {
			return depFit.gap
		}
	}
	st.Trend.Blame = st.Trend.Blame[:0]
	return depFit.gap
}

// stepGrowth is what a step's share of growth is computed from.
type stepGrowth struct {
	// measured: the step has phases in the deployments that are not
	// outliers; a step seen only in outliers has no share.
	measured bool
	// ok: the step's log durations have a fit; slope is its log slope a
	// week.
	ok    bool
	slope float64
	// seconds is the Theil–Sen slope of its durations, seconds a week.
	seconds float64
	// ran is the part of the measured deployments it ran in; typical is
	// its median seconds where it ran times ran.
	ran, typical float64
}

// contributionShare is the least part of the deployment's own growth, in
// seconds a week, that the steps' contributions must add up to for the
// shares to be read from them.
const contributionShare = 0.25

// shareRule returns each step's share of the deployment's growth, in
// percent, given the deployment's log slope a week (growing) and its
// Theil–Sen slope in seconds a week; nil when there is none to give.
//
// A step's contribution is its slope in seconds a week times the part of
// the deployments it ran in, and its share its contribution over the sum
// of all steps' (see robust): they sum to 100 %. When the steps' growth
// does not explain the deployment's, that is no share of it: deploys
// that grow in the waits between steps (idle time is in a deployment's
// duration and no step's) while every step is flat would have their
// steps' noise, a few tenths of a second a week, blown up to 100 %. So
// when the contributions sum to less than a quarter of the deployment's
// own growth in seconds a week, or shrink while it grows, the shares fall
// back to the old rule: a step's compound rate times its typical seconds,
// over the deployment's rate times the steps' typical seconds summed.
// Those do not sum to 100 % (the waits' growth is no step's, and a step
// growing by steady seconds has a falling rate), but they stay as small
// as the steps' growth is, and no step is blamed for the waits.
func shareRule(steps []stepGrowth, depSlope, depSeconds float64) []float64 {
	var sum float64
	for _, s := range steps { // in step order: the same sum to the last digit
		if s.ok {
			sum += s.seconds * s.ran
		}
	}
	shares := make([]float64, len(steps))
	if sum > 0 && sum >= contributionShare*depSeconds {
		for i, s := range steps {
			if s.ok {
				shares[i] = s.seconds * s.ran / sum * 100
			}
		}
		return shares
	}
	var typical float64
	for _, s := range steps {
		typical += s.typical
	}
	depGrowth := (math.Exp(depSlope) - 1) * typical // seconds a week
	if !(depGrowth > 0) {
		return nil
	}
	for i, s := range steps {
		if s.ok {
			shares[i] = (math.Exp(s.slope) - 1) * s.typical / depGrowth * 100
		}
	}
	return shares
}

// statusPoint is a point of a series with a phase of one status (its
// first, weighing n), and the seconds of all its phases of that status,
// summed as phaseSeconds sums them.
type statusPoint struct {
	series, point int32
	n             int32
	seconds       float32
}

// statusPoints lists, for each status, the points that are not outliers
// with a phase of it, in series then point order: what groups reads with
// phaseSeconds, for every status in one pass.
func (h *history) statusPoints() [][]statusPoint {
	index := make([][]statusPoint, len(h.statuses))
	// at[st] is where the point being read has status st in index[st],
	// valid when stamp[st] is that point's number.
	at := make([]int32, len(h.statuses))
	stamp := make([]int, len(h.statuses))
	number := 0
	for si, s := range h.series {
		for i := range s.points {
			d := &s.points[i]
			if d.outlier {
				continue
			}
			number++
			for _, p := range s.pointPhases[d.ph0:d.ph1] {
				if stamp[p.status] == number {
					index[p.status][at[p.status]].seconds += float32(p.seconds)
					continue
				}
				stamp[p.status], at[p.status] = number, int32(len(index[p.status]))
				index[p.status] = append(index[p.status], statusPoint{series: int32(si), point: int32(i), n: p.n, seconds: float32(p.seconds)})
			}
		}
	}
	return index
}

// indexedGroups is robust's groups for one status, read from its
// statusPoints: the same points in the same order.
func indexedGroups(h *history, sps []statusPoint, origin time.Time) ([][]point, int) {
	out := make([][]point, len(h.series))
	represented := 0
	for _, sp := range sps {
		if sp.seconds <= 0 {
			continue
		}
		s := h.series[sp.series]
		if s.firsts == nil {
			represented++
		} else {
			represented += int(sp.n)
		}
		out[sp.series] = append(out[sp.series], point{weeks(s.points[sp.point].start, origin), math.Log(float64(sp.seconds))})
	}
	return out, represented
}

// summary is the sentence a retrospective reads: the robust growth with
// its interval, or "no clear trend", then the steps to blame and the
// outliers left out. gap is why the deployments' fit says nothing of the
// growth, if it does not: the sentence gives that reason, not another.
// shifts are the one-time shifts the rate counts in (see shiftSentence).
func (a *StatsAccumulator) summary(st Stats, gap trendGap, shifts []Change) string {
	if st.Deployments == 0 {
		switch {
		case a.otherOutcome == 0:
			return "No finished deployments in this range."
		case a.opts.Outcome == OutcomeFailure:
			return fmt.Sprintf("No failed deployments in this range: %s succeeded (outcome success or all measures them).", countDeployments(a.otherOutcome))
		default:
			return fmt.Sprintf("No successful deployments in this range: %s failed (outcome failure or all measures them).", countDeployments(a.otherOutcome))
		}
	}
	t := st.Trend
	var b strings.Builder
	// The mean of the deployments the fit read, as every figure of the
	// sentence: with the outliers in, a deploy stuck for 9 hours in a
	// history of 10-minute ones made it "mean 20m44s".
	mean := fmt.Sprintf("mean %s over %s", HumanDuration(t.MeanSeconds), countDeployments(st.Deployments))
	if a.measured > 0 {
		mean = fmt.Sprintf("mean %s over %s", HumanDuration(a.total/a.measured), countDeployments(int(a.measured)))
	}
	allOut := a.measured == 0 && t.Outliers > 0
	switch {
	case allOut:
		// Not "mean 0.0s over 12 deployments. 12 deployments left out":
		// no deployment was measured, and the sentence says why.
		which := fmt.Sprintf("all %d deployments were", t.Outliers)
		if t.Outliers == 1 {
			which = "the deployment was"
		}
		fmt.Fprintf(&b, "No deploy time to measure: %s left out as outliers (a deployment of 0 s always is one, as when its steps are sent with times to the second).", which)
	case gap == gapFewPoints:
		// The figure it takes, so that a team trying the tool out with a
		// handful of deploys knows when to come back.
		fmt.Fprintf(&b, "No clear trend in deploy time: too few deployments to tell (a trend takes at least %d); %s.", MinTrendPoints, mean)
	case gap == gapFewPerSeries:
		// Enough deployments for a fit, but spread over series too short
		// for a 95 % interval: its ends are the growth itself (robust), and
		// printing them would read as a certain figure.
		fmt.Fprintf(&b, "No clear trend in deploy time: too few deployments per component and environment for a 95 %% interval; %s.", mean)
	case gap == gapSameStart:
		// Deployments sent with times to the second (or no finer) that
		// share one: no time passed between them to grow in.
		fmt.Fprintf(&b, "No clear trend in deploy time: the deployments of each component and environment all started at the same time, so there is no time to measure growth over; %s.", mean)
	case gap == gapTiedStarts:
		fmt.Fprintf(&b, "No clear trend in deploy time: too many deployments of the same component and environment started at the same time for a 95 %% interval; %s.", mean)
	case gap == gapCloseStarts:
		fmt.Fprintf(&b, "No clear trend in deploy time: the deployments of each component and environment came too close together in time to give a rate a week; %s.", mean)
	case gap == gapNoSpread:
		fmt.Fprintf(&b, "No growth in deploy time: every deployment of each component and environment took the same time; %s.", mean)
	case t.Direction == DirectionFlat:
		fmt.Fprintf(&b, "No clear trend in deploy time (%+.1f %% a week, interval %+.1f to %+.1f %%); %s.",
			PrintRound(t.GrowthPercentPerWeek, 1), PrintRound(t.GrowthPercentPerWeekLow, 1), PrintRound(t.GrowthPercentPerWeekHigh, 1), mean)
	default:
		verb := "grows"
		lo, hi := t.GrowthPercentPerWeekLow, t.GrowthPercentPerWeekHigh
		if t.Direction == DirectionShrinking {
			verb, lo, hi = "shrinks", -hi, -lo
		}
		fmt.Fprintf(&b, "Deploy time %s %.1f %% a week (%.1f–%.1f %%), %+.1f %% a sprint of %d days; %s.",
			verb, math.Abs(t.GrowthPercentPerWeek), lo, hi, PrintRound(t.GrowthPercentPerSprint, 1), st.SprintDays, mean)
	}
	if len(t.Blame) > 0 {
		byStatus := map[string]StepStats{}
		for _, ss := range st.Steps {
			byStatus[ss.Status] = ss
		}
		names := make([]string, len(t.Blame))
		rates := make([]string, len(t.Blame))
		var share float64
		for i, name := range t.Blame {
			ss := byStatus[name]
			names[i] = "`" + name + "`"
			rates[i] = fmt.Sprintf("%+.1f %%", PrintRound(ss.Trend.GrowthPercentPerWeek, 1))
			share += *ss.ShareOfGrowthPercent
		}
		if len(names) == 1 {
			fmt.Fprintf(&b, " %s accounts for %.0f %% of the growth, %s a week.", names[0], share, rates[0])
		} else {
			fmt.Fprintf(&b, " %s account for %.0f %% of the growth (%s a week).", joinAnd(names), share, joinAnd(rates))
		}
	}
	b.WriteString(a.seriesSentence(st))
	b.WriteString(shiftSentence(shifts))
	b.WriteString(alikeSentence(st.Steps))
	switch {
	case t.Outliers == 0 || allOut:
	case t.Outliers == 1:
		b.WriteString(" 1 deployment left out as an outlier.")
	default:
		fmt.Fprintf(&b, " %d deployments left out as outliers.", t.Outliers)
	}
	if since := a.opts.FittedSince; !since.IsZero() {
		fmt.Fprintf(&b, " Deployments before %s are left out: the history holds more than %d %s buckets with deployments, the most stats are computed over, and these are the latest; a range with a since reaches the older ones.",
			since.In(a.opts.zone()).Format(time.DateOnly), MaxStatsBuckets, a.opts.Bucket)
	}
	return b.String()
}

// shiftsNamed is the most shifts the summary names; GET /v1/changes (and
// stepsctl changes) lists them all.
const shiftsNamed = 2

// shiftSentence says that the rate counts shifts in, naming them: " Deploy
// time shifted at once on 2026-10-12 (api in production, +40 %): the rate
// counts the shift in, as if it were steady." It is "" without a shift.
func shiftSentence(shifts []Change) string {
	if len(shifts) == 0 {
		return ""
	}
	name := func(c Change, dated bool) string {
		s := c.Component
		if c.Environment != "" {
			s += " in " + c.Environment
		}
		if dated {
			s += " on " + c.Time.UTC().Format(time.DateOnly)
		}
		return fmt.Sprintf("%s, %+.0f %%", s, PrintRound(c.ChangePercent, 0))
	}
	if len(shifts) == 1 {
		c := shifts[0]
		return fmt.Sprintf(" Deploy time shifted at once on %s (%s): the rate counts the shift in, as if it were steady.",
			c.Time.UTC().Format(time.DateOnly), name(c, false))
	}
	named := make([]string, 0, shiftsNamed+1)
	for _, c := range shifts[:min(len(shifts), shiftsNamed)] {
		named = append(named, name(c, true))
	}
	if more := len(shifts) - shiftsNamed; more > 0 {
		named = append(named, fmt.Sprintf("and %d more", more))
	}
	return fmt.Sprintf(" Deploy time shifted at once %d times (%s): the rate counts the shifts in, as if they were steady.",
		len(shifts), strings.Join(named, "; "))
}

// alikeGroupsNamed is the most groups of step names alike but for case
// the summary names, and the most names of each.
const alikeGroupsNamed = 3

// alikeSentence warns of step names that differ only in ASCII case
// ("Tests", "tests"): each is a step of its own, so the time of one step
// is split between them, and the slowest-step table ranks it too low. It
// is "" when there are none.
func alikeSentence(steps []StepStats) string {
	groups := map[string][]string{}
	var order []string
	for _, ss := range steps {
		k := FoldStatus(ss.Status)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], "`"+ss.Status+"`")
	}
	var named []string
	for _, k := range order {
		if g := groups[k]; len(g) > 1 && len(named) < alikeGroupsNamed {
			if len(g) > alikeGroupsNamed {
				// A status of n letters has 2^n spellings.
				g = append(g[:alikeGroupsNamed:alikeGroupsNamed], fmt.Sprintf("%d more", len(g)-alikeGroupsNamed))
			}
			named = append(named, joinAnd(g))
		}
	}
	if len(named) == 0 {
		return ""
	}
	return fmt.Sprintf(" Steps named alike but for case are counted apart: %s; a deploy script should send one spelling.", strings.Join(named, "; "))
}

// joinAnd says "a", "a and b", "a, b and c".
func joinAnd(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// sideBySide runs functions on goroutines, GOMAXPROCS at a time, and wait
// waits for them all. A panic in one is raised again by wait, on the
// caller's goroutine, where the server's recovery answers it with a 500
// instead of the process dying.
type sideBySide struct {
	wg      sync.WaitGroup
	slots   chan struct{}
	mu      sync.Mutex
	panicky any
}

func (sb *sideBySide) run(f func()) {
	if sb.slots == nil {
		sb.slots = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	sb.slots <- struct{}{}
	sb.wg.Add(1)
	go func() {
		defer sb.wg.Done()
		defer func() { <-sb.slots }()
		defer func() {
			if r := recover(); r != nil {
				sb.mu.Lock()
				if sb.panicky == nil {
					sb.panicky = r
				}
				sb.mu.Unlock()
			}
		}()
		f()
	}()
}

func (sb *sideBySide) wait() {
	sb.wg.Wait()
	if sb.panicky != nil {
		panic(sb.panicky)
	}
}
