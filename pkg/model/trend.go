package model

import (
	"cmp"
	"math"
	"slices"
)

// The robust trend is a Theil–Sen fit of log duration over time in weeks:
// the slope is the median of the slopes between every two deployments, so
// a point can move it only as much as it moves that median, and a few junk
// deployments barely at all (it tolerates up to 29 % of arbitrary points).
//
// Deployments of several components and environments are mixed in one
// request, and their levels differ: a 2-minute service deployed more
// often in the last month would otherwise read as deploys getting faster.
// So only pairs within the same component and environment are compared
// (Sen's slope blocked by series, the "seasonal Kendall" slope of Hirsch,
// Slack and Smith, 1982): the level of a series never enters a slope.
//
// The 95 % interval is the rank interval that goes with the estimator:
// Kendall's S, summed over the series, has variance
// Σ n(n−1)(2n+5)/18; the slopes of ranks (N ∓ 1.96·√Var S)/2 bound the
// interval. It assumes independent noise around the trend, nothing about
// its shape.
//
// Every pair is O(n²): with more pairs than trendMaxPairs, each series is
// first replaced by the medians of runs of k consecutive deployments (k
// the same for all series), which are themselves independent around the
// trend, so the estimator and its interval stay valid, on fewer points.

const (
	// MinTrendPoints is the fewest deployments (or phases) a trend is
	// computed from; with fewer the direction is flat.
	MinTrendPoints = 8
	// trendMaxPairs bounds the slopes computed: a few milliseconds, and
	// over 600 points (runs of deployments) to fit.
	trendMaxPairs = 200_000
	// TrendMethod names the estimator in RobustTrend.Method.
	TrendMethod = "theil-sen"
	z95         = 1.959964
)

// point is a deployment's (or phase's) time in weeks and log duration.
type point struct{ x, y float64 }

// sen is a fitted slope of log duration per week with its 95 % interval.
type sen struct {
	slope, low, high float64
	points           int
	ok               bool
	// gap says why the fit has no slope or no 95 % interval, or that
	// there was nothing to fit a slope to (gapNoSpread); the zero value
	// when it has both.
	gap trendGap
}

// trendGap is why a fit says nothing of the growth, so that the summary
// gives the reason that holds rather than one that reads about right.
type trendGap int

const (
	_ trendGap = iota // the zero value: the fit has a slope and its interval
	// gapFewPoints: fewer than MinTrendPoints in all.
	gapFewPoints
	// gapFewPerSeries: enough in all, but spread over series too short
	// for a slope (a deployment each) or for a 95 % interval.
	gapFewPerSeries
	// gapSameStart: the deployments of each series started at the same
	// time, so there is no time to measure growth over.
	gapSameStart
	// gapTiedStarts: enough pairs for a 95 % interval, had not so many
	// of them started at the same time (a pair at one time has no slope).
	gapTiedStarts
	// gapNoSpread: every deployment of each series took the same time:
	// the growth is 0, exactly, with nothing around it to fit.
	gapNoSpread
	// gapCloseStarts: the interval reaches the cap on slopes (maxSlope):
	// the deployments came so close together in time that a rate a week
	// is an extrapolation of a few minutes or hours.
	gapCloseStarts
)

// fitSen fits the blocked Theil–Sen slope to groups of points, each
// sorted by x.
func fitSen(groups [][]point) sen {
	fit, _, _ := fitSenOn(groups, nil)
	return fit
}

// fitSenOn is fitSen, also returning the points it fitted (groups, or
// the medians of their runs) and the block its slopes were in, for the
// next fit to reuse: buf, or a larger one.
func fitSenOn(groups [][]point, buf []float64) (sen, [][]point, []float64) {
	n, sq := 0, 0.0
	for _, g := range groups {
		n += len(g)
		sq += float64(len(g)) * float64(len(g))
	}
	if n < MinTrendPoints {
		return sen{points: n, gap: gapFewPoints}, groups, buf
	}
	k := 1
	if sq/2 > trendMaxPairs {
		k = int(math.Ceil(math.Sqrt(sq / 2 / trendMaxPairs)))
	}
	if k > 1 {
		buf := make([]float64, 0, k)
		reduced := make([][]point, len(groups))
		for i, g := range groups {
			reduced[i] = runMedians(g, k, buf)
		}
		groups = reduced
	}
	fit, buf := senOf(groups, buf)
	fit.points = n
	return fit, groups, buf
}

// senOf is the Theil–Sen slope of groups and its rank interval, however
// few their points, with the block its slopes were in (see pairSlopes).
func senOf(groups [][]point, buf []float64) (sen, []float64) {
	var fit sen
	slopes, varS, pairs, spread := pairSlopes(groups, buf)
	N := len(slopes)
	if N < 2 {
		fit.gap = gapFewPerSeries
		if pairs >= 2 {
			fit.gap = gapSameStart
		}
		return fit, slopes
	}
	fit.ok = true
	if N%2 == 1 {
		fit.slope = selectNth(slopes, N/2)
	} else {
		fit.slope = (selectNth(slopes, N/2-1) + selectNth(slopes, N/2)) / 2
	}
	c := z95 * math.Sqrt(varS)
	lo, hi := intervalRanks(N, c)
	fit.low, fit.high = math.Inf(-1), math.Inf(1)
	if lo >= 0 {
		fit.low = selectNth(slopes, lo)
	}
	if hi <= N-1 {
		fit.high = selectNth(slopes, hi)
	}
	switch {
	case lo < 0 || hi > N-1:
		// Would the pairs have bounded it, had they not started together?
		fit.gap = gapFewPerSeries
		if int(math.Floor((float64(pairs)-c)/2))-1 >= 0 {
			fit.gap = gapTiedStarts
		}
	case !spread:
		fit.gap = gapNoSpread
	}
	fit.slope = clampSlope(fit.slope)
	if !math.IsInf(fit.low, 0) {
		fit.low = clampSlope(fit.low)
	}
	if !math.IsInf(fit.high, 0) {
		fit.high = clampSlope(fit.high)
	}
	if fit.gap == 0 && (fit.low <= -maxSlope || fit.high >= maxSlope) {
		// Twelve deploys tried out within a second read "-100.0 % a week,
		// interval -100.0 to +1000000.0 %": figures of a week drawn from
		// pairs seconds apart. With an end at the cap, no rate is given.
		return sen{gap: gapCloseStarts}, slopes
	}
	return fit, slopes
}

// pairSlopes is the slopes of the pairs of points within each group (a
// pair at one x has none), the variance of the Kendall statistic they
// make, the number of pairs, and whether any group's values differ. The
// slopes are written over buf when it holds them: a trend's fits, one
// after the other, take one block of up to trendMaxPairs slopes (1.6 MB)
// instead of one each.
func pairSlopes(groups [][]point, buf []float64) (slopes []float64, varS float64, pairs int, spread bool) {
	for _, g := range groups {
		pairs += len(g) * (len(g) - 1) / 2
	}
	slopes = buf[:0]
	if cap(buf) < pairs {
		slopes = make([]float64, 0, pairs)
	}
	for _, g := range groups {
		m := float64(len(g))
		varS += m * (m - 1) * (2*m + 5) / 18
		for i := range g {
			spread = spread || g[i].y != g[0].y
			for j := i + 1; j < len(g); j++ {
				if dx := g[j].x - g[i].x; dx > 0 {
					slopes = append(slopes, (g[j].y-g[i].y)/dx)
				}
			}
		}
	}
	return slopes, varS, pairs, spread
}

// intervalRanks are the 0-based ranks among n slopes of the 95 % rank
// interval's ends, for C = z·√Var(S): out of [0, n-1] when the pairs
// cannot bound that end.
func intervalRanks(n int, c float64) (lo, hi int) {
	lo = int(math.Floor((float64(n)-c)/2)) - 1 // 1-based rank (N−C)/2
	hi = int(math.Ceil((float64(n) + c) / 2))  // 1-based rank (N+C)/2 + 1
	return lo, hi
}

// senNear is senOf's interval end nearer 0 for a slope of sign (its low
// end for a rise, else its high), or false when the pairs bound no
// interval: all fitTrend's refit needs, at a third of the selections.
// Its slopes are written over buf (pairSlopes), which it returns.
func senNear(groups [][]point, sign float64, buf []float64) (float64, bool, []float64) {
	slopes, varS, _, _ := pairSlopes(groups, buf)
	n := len(slopes)
	if n < 2 {
		return 0, false, slopes
	}
	lo, hi := intervalRanks(n, z95*math.Sqrt(varS))
	if lo < 0 || hi > n-1 {
		return 0, false, slopes
	}
	if sign > 0 {
		return clampSlope(selectNth(slopes, lo)), true, slopes
	}
	return clampSlope(selectNth(slopes, hi)), true, slopes
}

// trendJunk is how many points a trend's direction must hold without:
// the deployments (or runs) that favour its sign most.
const trendJunk = 3

// fitTrend is fitSen with an interval that a few junk deployments cannot
// make exclude 0. Deployments 2 to 8 times off their neighbours are no
// outliers (a deploy 3 times slower is what a trend is made of), yet 3
// of them at one end of a history are in many pairs, all steep: they
// moved a flat series of 20 deployments by 4 points a week and its
// interval off 0 in a third of the histories, 120 deployments in one in
// eight. So the end of the interval nearer 0 also holds the interval of
// the fit without the trendJunk points that favour the slope's sign most
// (by leverage × residual: the distance of a point from its series'
// mean time, times its distance from the fitted line); the direction,
// read from the interval, holds without them too. The slope itself is
// the plain fit's.
func fitTrend(groups [][]point) sen {
	fit, _, _ := fitTrendOn(groups)
	return fit
}

// fitTrendSeconds is fitTrend, also returning the points it fitted and
// the Theil–Sen slope of the durations in seconds a week (0 without a
// fit), on the points the log fit read: the same runs past trendMaxPairs
// pairs, each the median of its deployments (exp of a median log is the
// median seconds, or between the two middle ones), so no point is read
// twice from the history.
func fitTrendSeconds(groups [][]point) (sen, float64, [][]point) {
	fit, fitted, buf := fitTrendOn(groups)
	if !fit.ok {
		return fit, 0, fitted
	}
	return fit, secondsSlope(fitted, buf), fitted
}

// secondsSlope is the blocked Theil–Sen slope of groups of log durations
// taken back to seconds: the median of the slopes, in seconds a week,
// between every two points of a group. Its slopes are written over buf.
func secondsSlope(groups [][]point, buf []float64) float64 {
	secs := make([][]point, len(groups))
	for gi, g := range groups {
		secs[gi] = make([]point, len(g))
		for i, p := range g {
			secs[gi][i] = point{p.x, math.Exp(p.y)}
		}
	}
	slopes, _, _, _ := pairSlopes(secs, buf)
	if len(slopes) == 0 {
		return 0
	}
	return selectMedian(slopes)
}

// fitTrendOn is fitTrend, also returning the points it fitted and the
// block of its slopes (fitSenOn), for a next fit on them to reuse.
//
// Each series' own trend is fitted on the same points (fitSeries), at no
// more cost than the blend's.
func fitTrendOn(groups [][]point) (sen, [][]point, []float64) {
	fit, fitted, buf := fitSenOn(groups, nil)
	fit, buf = holdWithoutJunk(fit, fitted, buf)
	return fit, fitted, buf
}

// holdWithoutJunk is fitTrend's guard on fit, the fit of fitted: the end
// of its interval nearer 0 also holds the interval without the trendJunk
// points that favour its sign most. Its slopes are written over buf.
func holdWithoutJunk(fit sen, fitted [][]point, buf []float64) (sen, []float64) {
	if !fit.ok || fit.gap != 0 || fit.slope == 0 {
		return fit, buf
	}
	sign := 1.0
	if fit.slope < 0 {
		sign = -1
	}
	type pull struct {
		score float64
		g, i  int
	}
	var top []pull // the trendJunk strongest, strongest first
	for gi, g := range fitted {
		if len(g) == 0 {
			continue
		}
		var mx float64
		res := make([]float64, len(g))
		for i, p := range g {
			mx += p.x / float64(len(g))
			res[i] = p.y - fit.slope*p.x
		}
		a := selectMedian(slices.Clone(res))
		for i, p := range g {
			sc := sign * (p.x - mx) * (res[i] - a)
			if sc <= 0 || (len(top) == trendJunk && sc <= top[trendJunk-1].score) {
				continue
			}
			at, _ := slices.BinarySearchFunc(top, sc, func(q pull, v float64) int { return cmp.Compare(v, q.score) })
			top = slices.Insert(top, at, pull{sc, gi, i})
			if len(top) > trendJunk {
				top = top[:trendJunk]
			}
		}
	}
	if len(top) == 0 {
		return fit, buf
	}
	without := make([][]point, len(fitted))
	for gi, g := range fitted {
		without[gi] = make([]point, 0, len(g))
		for i, p := range g {
			if !slices.ContainsFunc(top, func(q pull) bool { return q.g == gi && q.i == i }) {
				without[gi] = append(without[gi], p)
			}
		}
	}
	near := fit.low // the end nearer 0
	if sign < 0 {
		near = fit.high
	}
	rest, ok, buf := senNear(without, sign, buf)
	switch {
	case !ok:
		// Too few left for an interval: the direction cannot be told.
		near = math.Inf(-int(sign))
		fit.gap = gapFewPerSeries
	case sign > 0:
		near = min(near, rest)
	default:
		near = max(near, rest)
	}
	if sign > 0 {
		fit.low = near
	} else {
		fit.high = near
	}
	return fit, buf
}

// maxSlope caps a log slope at ×10,001 a week either way. A burst of
// deploys in one hour has slopes of thousands per week, whose growth
// overflows a float64: JSON cannot carry an infinity.
var maxSlope = math.Log(10_001)

func clampSlope(s float64) float64 {
	return max(-maxSlope, min(maxSlope, s))
}

// runMedians replaces runs of k consecutive points (by time) with their
// median time and median log duration; a last run shorter than k/2 joins
// the one before.
func runMedians(g []point, k int, buf []float64) []point {
	var out []point
	for i := 0; i < len(g); {
		j := i + k
		if len(g)-j < k/2 {
			j = len(g)
		}
		buf = buf[:0]
		for _, p := range g[i:j] {
			buf = append(buf, p.y)
		}
		m := len(buf)
		y := selectNth(buf, m/2)
		if m%2 == 0 {
			// selectNth leaves the lower half below m/2: its largest is
			// the other middle.
			y = (y + slices.Max(buf[:m/2])) / 2
		}
		out = append(out, point{x: g[(i+j-1)/2].x, y: y})
		i = j
	}
	return out
}

// robust turns a fit into the API's figures: compound growth per week and
// per sprint, the interval, and the direction.
func (f sen) robust(sprintDays int, outliers int) RobustTrend {
	t := RobustTrend{Direction: DirectionFlat, Method: TrendMethod, Outliers: outliers, Points: f.points}
	if !f.ok {
		return t
	}
	pct := func(slope, weeks float64) float64 { return (math.Exp(slope*weeks) - 1) * 100 }
	t.GrowthPercentPerWeek = pct(f.slope, 1)
	t.GrowthPercentPerSprint = pct(f.slope, float64(sprintDays)/7)
	// An unbounded end (too few points for a 95 % interval) is reported
	// as the growth itself, and the direction is flat.
	t.GrowthPercentPerWeekLow, t.GrowthPercentPerWeekHigh = t.GrowthPercentPerWeek, t.GrowthPercentPerWeek
	if !math.IsInf(f.low, 0) {
		t.GrowthPercentPerWeekLow = pct(f.low, 1)
	}
	if !math.IsInf(f.high, 0) {
		t.GrowthPercentPerWeekHigh = pct(f.high, 1)
	}
	switch {
	case math.IsInf(f.low, 0) || math.IsInf(f.high, 0):
	case f.low > 0:
		t.Direction = DirectionGrowing
	case f.high < 0:
		t.Direction = DirectionShrinking
	}
	return t
}

// selectNth returns the k-th smallest of a (0-based), reordering a so
// that none before k is larger and none after it smaller: quickselect,
// with a median-of-three pivot and a sort when it degrades. NaN orders
// first, as slices.Sort puts it.
func selectNth(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for rounds := 0; lo < hi; rounds++ {
		if rounds > 64 {
			slices.Sort(a[lo : hi+1])
			return a[k]
		}
		mid := lo + (hi-lo)/2
		if cmp.Less(a[mid], a[lo]) {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if cmp.Less(a[hi], a[lo]) {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if cmp.Less(a[hi], a[mid]) {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for cmp.Less(a[i], pivot) {
				i++
			}
			for cmp.Less(pivot, a[j]) {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
