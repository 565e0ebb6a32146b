package model

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Change points are found per component and environment, on the log
// durations of the deployments that are not outliers, in time order, by
// E-Divisive means (Matteson and James, 2014; as in MongoDB's CI and
// Apache Otava): the split of a run of deployments that maximises the
// energy distance between the two sides is a candidate; a permutation
// test says how often shuffled deployments split as well; a significant
// split is kept and both sides are searched again.
//
// Three rules keep noise out: a side has at least ChangeMinSegment
// deployments besides the changeJunk that favour the change most, the
// typical duration moves by at least ChangeMinPercent without them too,
// and the permutation p-value is at most ChangeAlpha (or at most
// changeLookAlpha for a cut looked past, one of whose sides then splits
// at changeLookSideAlpha: a slowdown undone later). The permutations use
// a fixed seed, so the same history always gives the same changes.
//
// A steady growth is not a change: a series growing 1.5 % a week differs
// from one half to the other, and E-Divisive would cut it anywhere. So the
// detector runs on what is left once the series' growth is removed. A
// line fitted across a step takes much of the step for growth, so the
// first growth removed is the slope of a line with one step (least
// squares over every place of the step), or of a line alone when no step
// stands out; then the search and a Theil–Sen
// fit within the segments found alternate until the cuts stay put (three
// rounds at most). Changes are then the shifts on top of the growth.
//
// Cost: the energy statistic of every split of n points is computed in
// O(n log n) (rank-ordered Fenwick sums of distances, 1-D), and a series
// longer than changeMaxPoints is searched on the medians of runs of
// consecutive deployments, each change then placed to the deployment
// within its two runs.

const (
	// ChangeMinSegment is the fewest deployments on each side of a change
	// besides the changeJunk that favour it most: 8 on each side in all.
	ChangeMinSegment = 5
	// ChangeMinPercent is the smallest move of the typical duration, in
	// percent, reported as a change.
	ChangeMinPercent = 10
	// ChangeAlpha is the significance level of the permutation test.
	ChangeAlpha = 0.01
	// ChangePermutations is the number of shuffles of the test.
	ChangePermutations = 199
	// changeJunk is how many deployments of a side a change must hold
	// without (robustMove): a few junk deploys make no change.
	changeJunk = 3
	// changeMaxPoints bounds the points the search works on.
	changeMaxPoints = 256
	// changeLookAlpha is the p-value up to which a cut that fails the
	// test is looked past (eDivisive), and changeLookSideAlpha the level
	// its sides must then reach: the smallest p-value the shuffles give,
	// none of them splitting as well.
	changeLookAlpha     = 0.05
	changeLookSideAlpha = 1.0 / (ChangePermutations + 1)
	changeSeed          = 0x57e95
)

// ChangesAccumulator gathers deployments, in any order, and finds change
// points per component and environment.
type ChangesAccumulator struct {
	opts ChangesOptions
	hist *history
}

// NewChangesAccumulator returns an accumulator for validated options.
func NewChangesAccumulator(opts ChangesOptions) *ChangesAccumulator {
	return &ChangesAccumulator{opts: opts, hist: newHistory()}
}

// Add counts a deployment if it matches the options' outcome and has a
// duration.
func (a *ChangesAccumulator) Add(d *Deployment) {
	if d.Outcome == OutcomeInProgress || (a.opts.Outcome != "all" && a.opts.Outcome != d.Outcome) || len(d.Steps) < 2 {
		return
	}
	a.hist.add(d, 0)
}

// Result finds the change points, ordered by time.
func (a *ChangesAccumulator) Result() Changes { return a.hist.changes() }

// Changes finds the change points of the deployments a stats accumulator
// measured, as a ChangesAccumulator with the same outcome would: both
// measure the same deployments. The page shows both, from one history.
func (a *StatsAccumulator) Changes() Changes {
	if a.changes == nil {
		cs := a.hist.changes()
		a.changes = &cs
	}
	return *a.changes
}

// changes finds the change points, ordered by time.
func (h *history) changes() Changes {
	h.finish()
	out := Changes{Changes: []Change{}}
	for _, s := range h.series {
		var deps []*depRecord
		var firsts []runFirst
		for i := range s.points {
			if !s.points[i].outlier {
				deps = append(deps, &s.points[i])
				if s.firsts != nil {
					firsts = append(firsts, s.firsts[i])
				}
			}
		}
		var sv statusValues
		built := false
		stepJumps := func(from, at, to int) bool {
			if !built {
				sv, built = newStatusValues(s, deps), true
			}
			return sv.jumps(deps, from, at, to)
		}
		cps, slope := findChanges(deps, stepJumps)
		if len(cps) == 0 {
			continue
		}
		if !built {
			sv = newStatusValues(s, deps)
		}
		g := s.growth(h, deps, cps, slope, sv)
		for _, cp := range cps {
			out.Changes = append(out.Changes, s.change(h, deps, firsts, cp, g, sv))
		}
	}
	slices.SortFunc(out.Changes, func(x, y Change) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.Component, y.Component), cmp.Compare(x.Environment, y.Environment))
	})
	return out
}

// changePoint is a change at deps[at] (the first deployment after it),
// between the segments [from, at) and [at, to).
type changePoint struct {
	from, at, to int
	p            float64
}

// findChanges finds the change points of one series in time order, and
// the growth (log seconds a week) their sizes are read with.
func findChanges(deps []*depRecord, stepJumps func(from, at, to int) bool) ([]changePoint, float64) {
	n := len(deps)
	if n < 2*ChangeMinSegment {
		return nil, 0
	}
	x := make([]float64, n)
	y := make([]float64, n)
	for i, d := range deps {
		x[i] = float64(d.start-deps[0].start) / float64(7*24*time.Hour)
		y[i] = math.Log(d.duration)
	}
	r := make([]float64, n)
	detrend := func(slope float64) {
		for i := range r {
			r[i] = y[i] - slope*x[i]
		}
	}
	// The least-squares fits below read the durations with junk under
	// ten times damped (hampel): 3 deploys 2 to 5 times as slow in the
	// middle of a flat history made a step there, whose slope (−1.9 % a
	// week) left a ramp the search cut, a change of 12–22 % in 11 to 15
	// of 50 histories.
	damped := hampel(y)
	slope, _ := stepAndSlope(x, damped, true)
	// A change is placed where a line with one step fits best between its
	// neighbours: on the log durations, slope free, so that a growth
	// misread near the step cannot move it.
	place := func(from, to int) int {
		_, at := stepAndSlope(x[from:to], damped[from:to], false)
		return at
	}
	// search alternates between the changes found on the series with a
	// growth removed and the growth within the segments they cut, from a
	// first growth, until the cuts stay put.
	search := func(slope float64) []changePoint {
		detrend(slope)
		found := eDivisive(r, place)
		for round := 0; round < 3 && len(found) > 0; round++ {
			var groups [][]point
			from := 0
			for _, f := range append(found, changePoint{at: n}) {
				g := make([]point, 0, f.at-from)
				for i := from; i < f.at; i++ {
					g = append(g, point{x[i], y[i]})
				}
				groups = append(groups, g)
				from = f.at
			}
			fit := fitSen(groups)
			if !fit.ok {
				break
			}
			detrend(fit.slope)
			again := eDivisive(r, place)
			same := len(again) == len(found)
			for i := 0; same && i < len(again); i++ {
				same = again[i].at == found[i].at
			}
			found = again
			if same {
				break
			}
		}
		return found
	}
	found := search(slope)
	// A line with one step reads a second shift the same way as growth:
	// two shifts of +25 % a month apart fit as one and a slope, which,
	// removed, leaves a ramp with no step where the other one was. Both
	// were found in 11 of 100 such histories. The search from no growth
	// cuts both, and the growth within its segments is then that of the
	// series; it is taken when it finds as many changes or more that
	// explain the series better for what they cost (segmentsBIC): on a
	// steady growth, its cuts of the ramp do not. As many: a cut looked
	// past (eDivisive) may give the first search a second change where
	// the growth it removed hid the other shift, and the one that fits
	// the series better is the one to keep.
	if alt := search(0); len(alt) >= len(found) && len(alt) > 0 && segmentsBIC(x, damped, alt) < segmentsBIC(x, damped, found) {
		found = alt
	}
	// The sizes reported (change) are read with the growth within the
	// final segments, when it is clear (sizeSlope); the search's last
	// slope may differ, and a change whose move passed the rule on the
	// search's values read 4 % or −7 % reported. So the rule is checked
	// again on the values the sizes are read from, until every change
	// passes it there: each change reported moves ChangeMinPercent or
	// more.
	for len(found) > 0 {
		slope := sizeSlope(x, y, found)
		detrend(slope)
		kept := dropBends(settle(found, r, place), x, damped, stepJumps)
		if len(kept) == len(found) {
			return kept, slope
		}
		found = kept
	}
	return nil, 0
}

// jumpF is the F statistic a change's jump must reach on top of a smooth
// curve (jumpOnCurve), in the deployments or in one of their steps, to be
// a shift. F(1, 100) is 6.9 at p = 0.01; the change's place was searched
// for, and noise placed there reaches more. With 6, 5 bending histories
// of 40 kept a change (TestChangesReadNoShiftInABend); with 8, 3, and no
// shift of TestAccuracyChanges is lost.
const jumpF = 8

// dropBends drops the changes that are a bend, not a shift. A step
// shrinking 2 % a week beside one growing 5 % makes a deployment whose
// log duration curves up with no shift at all: one slope for the series
// leaves the latest deployments above it, and the search cut them off as
// a shift of +12 to +27 % in 13 of 40 such histories of 120 (6 of 40 with
// the 5 % step alone; 0 or 1 of 40 flat or steadily growing). So a change
// is kept only if its two segments' log durations jump at it on top of
// a parabola (jumpOnCurve ≥ jumpF), or one of its steps' do on top of
// its own: a step that grows at its own steady rate is no curve, and a
// shift is most often one step's (a shift near the end of a growing
// series, which a parabola may bend to, is found by its step). The
// change that jumps least is dropped first, until all that are left
// jump.
func dropBends(found []changePoint, x, y []float64, stepJumps func(from, at, to int) bool) []changePoint {
	for {
		worst, worstF := -1, 0.0
		for i, cp := range found {
			from, to := 0, len(x)
			if i > 0 {
				from = found[i-1].at
			}
			if i+1 < len(found) {
				to = found[i+1].at
			}
			f := jumpOnCurve(x[from:to], y[from:to], cp.at-from)
			if f < jumpF && (worst < 0 || f < worstF) && !stepJumps(from, cp.at, to) {
				worst, worstF = i, f
			}
		}
		if worst < 0 {
			return found
		}
		found = slices.Delete(found, worst, worst+1)
	}
}

// jumpOnCurve is how clearly the points (x, y) jump at at on top of a
// smooth curve: the parabola through them by least squares, and the same
// parabola with a jump at at; the F statistic of the jump (its residual
// sum of squares saved, over the variance left).
func jumpOnCurve(x, y []float64, at int) float64 {
	n := len(x)
	if at < 1 || at >= n || n < 6 {
		return math.Inf(1)
	}
	mx := (x[0] + x[n-1]) / 2
	one := make([]float64, n)
	jump := make([]float64, n)
	xs := make([]float64, n)
	sq := make([]float64, n)
	for i := range x {
		one[i] = 1
		xs[i] = x[i] - mx
		sq[i] = xs[i] * xs[i]
		if i >= at {
			jump[i] = 1
		}
	}
	f := func(smooth, jumped float64) float64 {
		if jumped <= 0 {
			return math.Inf(1)
		}
		return (smooth - jumped) / (jumped / float64(n-4))
	}
	return f(residualSS(y, one, xs, sq), residualSS(y, one, xs, sq, jump))
}

// residualSS is the residual sum of squares of y regressed on cols by
// least squares (modified Gram–Schmidt; a column that adds nothing is
// skipped).
func residualSS(y []float64, cols ...[]float64) float64 {
	r := slices.Clone(y)
	basis := make([][]float64, 0, len(cols))
	for _, c := range cols {
		v := slices.Clone(c)
		for _, q := range basis {
			var d float64
			for i := range v {
				d += v[i] * q[i]
			}
			for i := range v {
				v[i] -= d * q[i]
			}
		}
		var norm float64
		for _, e := range v {
			norm += e * e
		}
		if norm < 1e-12 {
			continue
		}
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] /= norm
		}
		var d float64
		for i := range r {
			d += r[i] * v[i]
		}
		for i := range r {
			r[i] -= d * v[i]
		}
		basis = append(basis, v)
	}
	var ss float64
	for _, e := range r {
		ss += e * e
	}
	return ss
}

// segmentsBIC is the Bayesian information criterion of the points (x, y)
// read as segments cut at cps, each at its own level, on one common
// slope (least squares): lower is better. Each change costs bicPerChange
// parameters: its place and its level, and one more for having been
// searched for among many places.
func segmentsBIC(x, y []float64, cps []changePoint) float64 {
	n := len(x)
	var sxx, sxy, syy float64
	from := 0
	for _, cp := range append(slices.Clone(cps), changePoint{at: n}) {
		m := float64(cp.at - from)
		var mx, my float64
		for i := from; i < cp.at; i++ {
			mx += x[i] / m
			my += y[i] / m
		}
		for i := from; i < cp.at; i++ {
			sxx += (x[i] - mx) * (x[i] - mx)
			sxy += (x[i] - mx) * (y[i] - my)
			syy += (y[i] - my) * (y[i] - my)
		}
		from = cp.at
	}
	rss := syy
	if sxx > 0 {
		rss -= sxy * sxy / sxx
	}
	k := bicPerChange*float64(len(cps)) + 2
	return float64(n)*math.Log(max(rss, 1e-300)/float64(n)) + k*math.Log(float64(n))
}

// bicPerChange is what a change costs in segmentsBIC. Measured on
// TestAccuracyNoFalseChanges, 2 let the search from no growth cut
// growing series without a shift: 0.62 false changes per 10, against
// 0.17 with 3, as without that search.
const bicPerChange = 3

// sizeSlope is the growth within the segments that cps cut the points
// (x, y) into, as log seconds a week (clearSlope).
func sizeSlope(x, y []float64, cps []changePoint) float64 {
	return clearSlope(len(x), cps, func(i int) (point, bool) { return point{x[i], y[i]}, true })
}

// clearSlope is the Theil–Sen slope of n points cut into segments at cps
// (pointOf gives point i, or false for none), weighed by how clearly it
// is there (clearWeight): a slope whose 95 % interval holds 0 well is
// noise, and carried over weeks it would move a flat series' figures by
// a few percent.
func clearSlope(n int, cps []changePoint, pointOf func(i int) (point, bool)) float64 {
	var groups [][]point
	from := 0
	for _, cp := range append(slices.Clone(cps), changePoint{at: n}) {
		g := make([]point, 0, cp.at-from)
		for i := from; i < cp.at; i++ {
			if p, ok := pointOf(i); ok {
				g = append(g, p)
			}
		}
		groups = append(groups, g)
		from = cp.at
	}
	f := fitSen(groups)
	if !f.ok {
		return 0
	}
	return f.slope * clearWeight(f)
}

// clearWeight is how much of a segments' growth the sizes take out, from
// 0 to 1: r is the slope over its distance to the end of the interval
// nearer 0 (1 where that end is 0, the 95 % test; about z/1.96), and the
// weight rises from 0 at r = 0.5 to 1 at r = 1.5. It was all (r > 1) or
// nothing: then 3 deployments that moved the interval across 0 moved the
// size by the slope times the weeks between the segments' middles, a
// flat history's +37 % shift read +28 % until 3 fast deploys came after
// it (TestJunkMovesNoShiftSize: up to 15.5 points in flat histories, 8.5
// now). Measured on TestAccuracyChanges, the ramp is also nearer the
// truth than the switch: size error p90 10.4 points, 11.7 with it.
func clearWeight(f sen) float64 {
	slope, near := f.slope, f.low
	if slope < 0 {
		slope, near = -slope, -f.high
	}
	switch {
	case slope == 0 || math.IsInf(near, 0):
		return 0
	case near >= slope:
		return 1 // an interval of no width: no noise
	}
	return max(0, min(1, slope/(slope-near)-0.5))
}

// Hampel filter (Hampel, 1974) of the durations the least-squares fits
// read: a log duration more than hampelCut robust standard deviations
// (1.4826 × the median absolute deviation, over the series) from the
// median of its hampelWindow neighbours on each side is read as that
// median. A shift lasting more than hampelWindow deployments is kept
// whole: past its first one, most of each one's neighbours are at its
// level.
const (
	hampelWindow = 5
	hampelCut    = 4
)

// hampel returns y with the values far from their neighbours' median
// replaced by it.
func hampel(y []float64) []float64 {
	n := len(y)
	med := make([]float64, n)
	dev := make([]float64, n)
	buf := make([]float64, 0, 2*hampelWindow+1)
	for i := range y {
		lo, hi := window(i, hampelWindow, n)
		buf = append(buf[:0], y[lo:hi]...)
		med[i] = selectMedian(buf)
		dev[i] = math.Abs(y[i] - med[i])
	}
	cut := hampelCut * 1.4826 * selectMedian(slices.Clone(dev))
	out := slices.Clone(y)
	for i := range out {
		if dev[i] > cut {
			out[i] = med[i]
		}
	}
	return out
}

// stepAndSlope fits log duration as a line with one step, y = a + b·x +
// δ·[i ≥ τ], by least squares for every τ, and returns the slope b of the
// best. Unlike a line alone, it does not read a step as growth; and on a
// steady growth, the step it fits is small and b the growth. The outliers
// are out, and the junk under ten times damped (hampel), so least squares
// on logs is safe here.
//
// It also returns where the best step is (-1 if nowhere, each side at least
// ChangeMinSegment long). When onlyClear, the slope returned is the
// line's unless the step is clearly there.
func stepAndSlope(x, y []float64, onlyClear bool) (float64, int) {
	n := len(x)
	var mx, my float64
	for i := range x {
		mx += x[i] / float64(n)
		my += y[i] / float64(n)
	}
	// Centred sums of the whole series, and running ones of the right side.
	var sxx, sxy, syy float64
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx <= 0 {
		return 0, -1
	}
	line, lineRSS := sxy/sxx, syy-sxy*sxy/sxx
	best, bestRSS, bestAt := line, lineRSS, -1
	var cR, xR, yR float64 // count and centred sums of x and y over [τ, n)
	for t := n - 1; t >= 1; t-- {
		cR++
		xR += x[t] - mx
		yR += y[t] - my
		// Normal equations in (b, δ) once the intercept is profiled out:
		// the indicator's centred sums are xR and yR, its variance
		// cR·(n−cR)/n.
		sdd := cR * (float64(n) - cR) / float64(n)
		det := sxx*sdd - xR*xR
		if det <= 1e-12*sxx*sdd || t < ChangeMinSegment || n-t < ChangeMinSegment {
			continue
		}
		b := (sxy*sdd - xR*yR) / det
		d := (sxx*yR - xR*sxy) / det
		if rss := syy - b*sxy - d*yR; rss < bestRSS {
			best, bestRSS, bestAt = b, rss, t
		}
	}
	// The step's slope is far noisier than the line's (the two are
	// entangled), and a slope misread leaves a ramp the search takes for a
	// change: keep it only when the step is clearly there, the F statistic
	// of the best step over a line above stepMinF, about the 1 % point of
	// its largest value over all τ on a series without a step (Andrews,
	// 1993). Measured: 15 misses steps near the ends, 9 lets 0.8 false
	// changes through per 10 flat series.
	// Residuals within rounding of 0 are a fit without noise (durations
	// exactly equal within each side, as a scripted pipeline timed to the
	// second gives): a step that fits so, where a line does not, is as
	// clear as a step gets, though its F statistic cannot be computed.
	exact := 1e-12 * syy
	if onlyClear && (lineRSS <= exact || (bestRSS > exact && (lineRSS-bestRSS)/(bestRSS/float64(n-3)) < stepMinF)) {
		return line, bestAt
	}
	return best, bestAt
}

// stepMinF is the F statistic a step must pass in stepAndSlope.
const stepMinF = 13

// eDivisive segments z and returns the change points, in order, that pass
// the three rules.
func eDivisive(z []float64, place func(from, to int) int) []changePoint {
	n := len(z)
	// Work on runs of k consecutive points when there are many: w[i] is the
	// median of z[starts[i]:starts[i+1]].
	k := max(1, int(math.Ceil(float64(n)/changeMaxPoints)))
	w, starts := z, []int(nil)
	minSeg := ChangeMinSegment
	if k > 1 {
		w, starts = nil, nil
		buf := make([]float64, 0, k)
		for i := 0; i < n; i += k {
			j := min(n, i+k)
			buf = append(buf[:0], z[i:j]...)
			slices.Sort(buf)
			w = append(w, Percentile(buf, 50))
			starts = append(starts, i)
		}
		starts = append(starts, n)
		minSeg = max(3, int(math.Ceil(float64(ChangeMinSegment)/float64(k))))
	}
	// place1 is the deployment a cut at w[at] is placed to: within the
	// two runs around it, when the search works on runs.
	place1 := func(at int) int {
		if k == 1 {
			return at
		}
		a, b := starts[at-1], starts[min(at+1, len(starts)-1)]
		if t, _ := newEnergy(z[a:b]).best(1); t > 0 {
			return a + t
		}
		return starts[at]
	}
	var found []changePoint
	var split func(lo, hi int, alpha float64) bool
	split = func(lo, hi int, alpha float64) bool {
		if hi-lo < 2*minSeg {
			return false
		}
		seg := newEnergy(w[lo:hi])
		tau, q := seg.best(minSeg)
		if tau < 0 {
			return false
		}
		bound := alpha
		if alpha >= ChangeAlpha {
			bound = changeLookAlpha
		}
		p := seg.pValue(q, minSeg, bound, rand.New(rand.NewPCG(changeSeed, uint64(lo)<<32|uint64(hi))))
		at := lo + tau
		if p > alpha {
			// A slowdown undone some deploys later splits the run weakly
			// at any one place (each side of the best cut holds both
			// levels), though each side, searched alone, splits clearly
			// at the block's edges. So a cut that nearly passes is
			// looked past: its sides are searched at the strictest level
			// (no shuffle splitting as well), and if either splits, the
			// cut is kept too, with its own p; settle and dropBends then
			// judge it as any other.
			if p > changeLookAlpha || alpha < ChangeAlpha {
				return false
			}
			// Both sides are searched, whether or not the left splits:
			// a second slowdown to the right of the first was missed.
			left := split(lo, at, changeLookSideAlpha)
			right := split(at, hi, changeLookSideAlpha)
			if !left && !right {
				return false
			}
			found = append(found, changePoint{at: place1(at), p: p})
			return true
		}
		found = append(found, changePoint{at: place1(at), p: p})
		split(lo, at, ChangeAlpha)
		split(at, hi, ChangeAlpha)
		return true
	}
	split(0, len(w), ChangeAlpha)
	slices.SortFunc(found, func(a, b changePoint) int { return cmp.Compare(a.at, b.at) })
	return settle(found, z, place)
}

// settle places the changes found on z and keeps those that pass the
// rules of size and length.
func settle(found []changePoint, z []float64, place func(from, to int) int) []changePoint {
	n := len(z)
	// Drop the changes whose final segments are too short or moved too
	// little, one at a time (the smallest first), until all pass; place
	// the others where the mean shifts most between their neighbours.
	for passes := 0; ; passes++ {
		placed := false
		for i := range found {
			if passes >= 8 {
				break // placing one change moves its neighbours' sides: bound the dance
			}
			from, to := 0, n
			if i > 0 {
				from = found[i-1].at
			}
			if i+1 < len(found) {
				to = found[i+1].at
			}
			if at := place(from, to); at >= 0 && from+at != found[i].at {
				found[i].at, placed = from+at, true
			}
		}
		if placed {
			continue
		}
		weakest, weakestMove := -1, math.Inf(1)
		for i := range found {
			from, to := 0, n
			if i > 0 {
				from = found[i-1].at
			}
			if i+1 < len(found) {
				to = found[i+1].at
			}
			found[i].from, found[i].to = from, to
			move := robustMove(z[from:found[i].at], z[found[i].at:to])
			if move*100 < ChangeMinPercent && move < weakestMove {
				weakest, weakestMove = i, move
			}
		}
		if weakest < 0 {
			return found
		}
		found = slices.Delete(found, weakest, weakest+1)
	}
}

// median returns the median of xs without reordering it.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return Percentile(s, 50)
}

// logP50 is the logarithm of the p50 of the seconds whose logarithms are
// sorted: of an even count, the mean of the two middle ones in seconds,
// as change reports before_p50_seconds and after_p50_seconds, so that
// the move checked is the change_percent reported.
func logP50(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	lo, hi := sorted[n/2-1], sorted[n/2]
	return lo + math.Log((1+math.Exp(hi-lo))/2)
}

// energy holds a run of points for the E-Divisive statistic: each point's
// value, its rank among them, and its summed distance to all the others.
type energy struct {
	items []energyItem
	whole float64 // the sum of distances over all pairs
	cnt   []float64
	sum   []float64
}

type energyItem struct {
	v, total float64
	rank     int
}

func newEnergy(z []float64) *energy {
	n := len(z)
	e := &energy{items: make([]energyItem, n), cnt: make([]float64, n+1), sum: make([]float64, n+1)}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Or(cmp.Compare(z[a], z[b]), cmp.Compare(a, b)) })
	prefix := make([]float64, n+1)
	for r, i := range order {
		prefix[r+1] = prefix[r] + z[i]
	}
	for r, i := range order {
		v := z[i]
		total := v*float64(r) - prefix[r] + (prefix[n] - prefix[r+1]) - v*float64(n-r-1)
		e.items[i] = energyItem{v: v, total: total, rank: r}
		e.whole += total / 2
	}
	return e
}

// best returns the split τ (the left side is items[:τ]) maximising the
// scaled energy distance Q between the sides, each side at least minSeg
// (and 2) long; τ is -1 when none is.
func (e *energy) best(minSeg int) (int, float64) {
	n := len(e.items)
	minSeg = max(minSeg, 2)
	clear(e.cnt)
	clear(e.sum)
	var within, between, leftSum float64
	bestTau, bestQ := -1, math.Inf(-1)
	for t := 1; t < n; t++ {
		it := e.items[t-1]
		// Sums over the left points ranked below this one.
		var cBelow, sBelow float64
		for i := it.rank; i > 0; i -= i & -i {
			cBelow += e.cnt[i]
			sBelow += e.sum[i]
		}
		left := float64(t - 1)
		toLeft := it.v*cBelow - sBelow + (leftSum - sBelow) - it.v*(left-cBelow)
		within += toLeft
		between += it.total - 2*toLeft
		for i := it.rank + 1; i <= n; i += i & -i {
			e.cnt[i]++
			e.sum[i] += it.v
		}
		leftSum += it.v
		m := n - t
		if t < minSeg || m < minSeg {
			continue
		}
		tl, tr := float64(t), float64(m)
		right := e.whole - within - between
		q := tl * tr / float64(n) * (2*between/(tl*tr) - within/(tl*(tl-1)/2) - right/(tr*(tr-1)/2))
		if q > bestQ {
			bestTau, bestQ = t, q
		}
	}
	return bestTau, bestQ
}

// pValue is the share of shuffles of the points whose best split is at
// least as strong as q, counting the unshuffled order. It stops as soon
// as the answer is above bound: past it, how far past says nothing.
func (e *energy) pValue(q float64, minSeg int, bound float64, rng *rand.Rand) float64 {
	saved := slices.Clone(e.items)
	defer copy(e.items, saved)
	atLeast := 1
	for range ChangePermutations {
		rng.Shuffle(len(e.items), func(i, j int) { e.items[i], e.items[j] = e.items[j], e.items[i] })
		if _, qp := e.best(minSeg); qp >= q {
			atLeast++
			if float64(atLeast)/(ChangePermutations+1) > bound {
				break
			}
		}
	}
	return float64(atLeast) / (ChangePermutations + 1)
}

// segmentGrowth is the growth of a series within the segments its
// changes cut, as log seconds a week: of its deployments' durations, and
// of each status' phases (by history status; 0 where too few to fit).
type segmentGrowth struct {
	deployment float64
	byStatus   map[int32]float64
}

// growth fits the Theil–Sen slope within the segments that cps cut deps
// into, for each step; the deployments' is the one their sizes were
// checked with (findChanges).
func (s *seriesHist) growth(h *history, deps []*depRecord, cps []changePoint, deployment float64, sv statusValues) segmentGrowth {
	fit := func(value func(i int) (float64, bool)) float64 {
		return clearSlope(len(deps), cps, func(i int) (point, bool) {
			v, ok := value(i)
			if !ok || v <= 0 {
				return point{}, false
			}
			return point{float64(deps[i].start) / float64(7*24*time.Hour), math.Log(v)}, true
		})
	}
	g := segmentGrowth{deployment: deployment, byStatus: map[int32]float64{}}
	for _, st := range sv.order {
		g.byStatus[st] = fit(sv.value(st))
	}
	return g
}

// statusValues are the seconds of each status in each of a series'
// deployments (deps), as phaseSeconds sums them, read in one pass: each
// status' fit and medians scanning every phase of every deployment cost
// statuses × phases, minutes of CPU for 40 deployments of 50,000 steps.
type statusValues struct {
	order []int32 // the statuses in the order deps first meet them
	// byStatus[st] are the deployments with a phase of status st, by
	// index in deps, ascending.
	byStatus map[int32][]depValue
}

type depValue struct {
	i int
	v float32
}

func newStatusValues(s *seriesHist, deps []*depRecord) statusValues {
	sv := statusValues{byStatus: map[int32][]depValue{}}
	for i, d := range deps {
		for _, p := range s.pointPhases[d.ph0:d.ph1] {
			vs, ok := sv.byStatus[p.status]
			if !ok {
				sv.order = append(sv.order, p.status)
			}
			if n := len(vs); n > 0 && vs[n-1].i == i {
				vs[n-1].v += float32(p.seconds) // in order, as phaseSeconds sums
				continue
			}
			sv.byStatus[p.status] = append(vs, depValue{i: i, v: float32(p.seconds)})
		}
	}
	return sv
}

// jumps says whether a step of deps[from:to] jumps at at on top of a
// smooth curve of its own (jumpOnCurve, on its log seconds in the
// deployments it ran in, 4 or more on each side, read through hampel: 3
// deployments with that step 5 times as long lost 9 more shifts of 1,080
// in TestJunkMovesNoShiftSize without it, 2 with it).
func (sv statusValues) jumps(deps []*depRecord, from, at, to int) bool {
	var x, y []float64
	for _, st := range sv.order {
		x, y = x[:0], y[:0]
		cut := 0
		for _, dv := range sv.byStatus[st] {
			if dv.i < from || dv.i >= to || dv.v <= 0 {
				continue
			}
			if dv.i < at {
				cut++
			}
			x = append(x, float64(deps[dv.i].start-deps[from].start)/float64(7*24*time.Hour))
			y = append(y, math.Log(float64(dv.v)))
		}
		if cut >= 4 && len(x)-cut >= 4 && jumpOnCurve(x, hampel(y), cut) >= jumpF {
			return true
		}
	}
	return false
}

func compareDepValue(dv depValue, i int) int { return cmp.Compare(dv.i, i) }

// value returns status st's seconds in deps[i], and whether it ran there.
func (sv statusValues) value(st int32) func(i int) (float64, bool) {
	vs := sv.byStatus[st]
	return func(i int) (float64, bool) {
		j, ok := slices.BinarySearchFunc(vs, i, compareDepValue)
		if !ok {
			return 0, false
		}
		return float64(vs[j].v), true
	}
}

// change describes a change point of a series: the first deployment after
// it, the typical durations just before and just after it, and how each
// step moved. On a reduced series, deps are its runs and firsts their
// first deployments.
//
// "Just before" is the median of the segment before the change with the
// segments' growth (g) taken out, carried to the change's time; "just
// after" the same of the segment after. On a growing series the plain
// medians of the segments sit at their middles, weeks apart, and their
// ratio adds that growth to the shift: 2 % a week around a 20 % shift read
// +45 %, and steps that only grew read as moved.
func (s *seriesHist) change(h *history, deps []*depRecord, firsts []runFirst, cp changePoint, g segmentGrowth, sv statusValues) Change {
	first := runFirst{start: deps[cp.at].start, version: deps[cp.at].version, attempt: deps[cp.at].attempt}
	if firsts != nil {
		first = firsts[cp.at]
	}
	at := float64(deps[cp.at].start) / float64(7*24*time.Hour)
	p50 := func(from, to int, slope float64, value func(i int) (float64, bool)) (float64, int) {
		var xs []float64
		for i := from; i < to; i++ {
			d := deps[i]
			if v, ok := value(i); ok {
				xs = append(xs, v*math.Exp(slope*(at-float64(d.start)/float64(7*24*time.Hour))))
			}
		}
		slices.Sort(xs)
		return Percentile(xs, 50), len(xs)
	}
	total := func(i int) (float64, bool) { return deps[i].duration, true }
	before, _ := p50(cp.from, cp.at, g.deployment, total)
	after, _ := p50(cp.at, cp.to, g.deployment, total)
	before, after = roundMicro(before), roundMicro(after)
	c := Change{Component: s.key.component, Environment: s.key.environment, Time: time.Unix(0, first.start).UTC(), Version: first.version,
		Attempt: int(first.attempt), BeforeP50Seconds: before, AfterP50Seconds: after, PValue: cp.p, Steps: []StepChange{}}
	if before > 0 {
		c.ChangePercent = (after/before - 1) * 100
	}
	// The statuses met in [cp.from, cp.to); their order does not matter,
	// c.Steps is sorted.
	var statuses []int32
	for _, st := range sv.order {
		vs := sv.byStatus[st]
		if j, _ := slices.BinarySearchFunc(vs, cp.from, compareDepValue); j < len(vs) && vs[j].i < cp.to {
			statuses = append(statuses, st)
		}
	}
	// The part of each side's deployments each status ran in, counted in
	// one pass a side: a pass a status was the statuses squared, 2 % of
	// the instructions of changes over deployments of 40 steps.
	var ranBefore, ranAfter []float64
	if after != before {
		ranBefore = s.ranIn(deps, firsts, cp.from, cp.at, len(h.statuses))
		ranAfter = s.ranIn(deps, firsts, cp.at, cp.to, len(h.statuses))
	}
	for _, st := range statuses {
		value := sv.value(st)
		sb, nb := p50(cp.from, cp.at, g.byStatus[st], value)
		sa, na := p50(cp.at, cp.to, g.byStatus[st], value)
		if nb == 0 || na == 0 {
			// A step new (or gone) at the change moved from (or to) nothing.
			if nb == 0 {
				sb = 0
			}
			if na == 0 {
				sa = 0
			}
		}
		// Phases are kept to 7 digits (history): shown to the microsecond.
		sb, sa = roundMicro(sb), roundMicro(sa)
		sc := StepChange{Status: h.statuses[st], BeforeP50Seconds: sb, AfterP50Seconds: sa, ChangeSeconds: roundMicro(sa - sb)}
		if after != before {
			// A step adds to a deployment's time only where it runs: its
			// seconds on each side count for the part of that side's
			// deployments it ran in (a step new at the change, all of
			// them after it). Taken whole, rollout named after the host
			// it ran on, a third of the deploys each, read 88 to 103 %
			// of the change three times over.
			moved := sa*ranAfter[st] - sb*ranBefore[st]
			sc.ShareOfChangePercent = moved / (after - before) * 100
		}
		c.Steps = append(c.Steps, sc)
	}
	// The largest share of the change first: at a speed-up, the step that
	// shrank most (by change_seconds it came last, and the words of
	// stepsctl and the page named a step that barely moved), and a step
	// that ran in every deployment before one that moved as much in few.
	slices.SortFunc(c.Steps, func(x, y StepChange) int {
		return cmp.Or(cmp.Compare(y.ShareOfChangePercent, x.ShareOfChangePercent), cmp.Compare(x.Status, y.Status))
	})
	return c
}

// ranIn returns, for each of the n statuses, the part of the
// deployments of deps[from:to) that it ran in. On a reduced series deps
// are runs, of firsts[i].n deployments each, and a run's phase counts
// those of them it ran in: a step in a third of the deploys is in nearly
// every run. A status counts once a deployment, by its first phase.
func (s *seriesHist) ranIn(deps []*depRecord, firsts []runFirst, from, to, n int) []float64 {
	in := make([]float64, n)
	seen := make([]int, n) // the last deployment (i+1) that counted it
	var all float64
	for i := from; i < to; i++ {
		w := 1.0
		if firsts != nil {
			w = float64(firsts[i].n)
		}
		all += w
		for _, p := range s.pointPhases[deps[i].ph0:deps[i].ph1] {
			if seen[p.status] == i+1 {
				continue
			}
			seen[p.status] = i + 1
			if firsts != nil {
				in[p.status] += float64(p.n)
			} else {
				in[p.status]++
			}
		}
	}
	for st := range in {
		if all == 0 {
			in[st] = 0
		} else {
			in[st] /= all
		}
	}
	return in
}

func roundMicro(s float64) float64 { return math.Round(s*1e6) / 1e6 }

// robustMove is the move between the typical (median) values of the
// deployments before and after a change, as a fraction, or -1 when a
// side is too short to tell.
//
// The median of a side of 5 is anything 3 of them say: 3 slow deploys at
// the end of a flat history made a segment of the last 5 and a change of
// +300 % at the first of the 2 normal deploys before them (in almost
// every history, even at 2 times as slow; at the start alike). So the
// move must hold when the changeJunk deployments of either side that
// favour it most are left out, and each side keep ChangeMinSegment
// deployments without them: the smallest of the three moves is the
// change's.
func robustMove(before, after []float64) float64 {
	if len(before)-changeJunk < ChangeMinSegment || len(after)-changeJunk < ChangeMinSegment {
		return -1
	}
	sb, sa := slices.Clone(before), slices.Clone(after)
	slices.Sort(sb)
	slices.Sort(sa)
	b, a := logP50(sb), logP50(sa)
	up := a > b
	// A rise is favoured by the lowest before it and the highest after.
	tb, ta := sb[changeJunk:], sa[:len(sa)-changeJunk]
	if !up {
		tb, ta = sb[:len(sb)-changeJunk], sa[changeJunk:]
	}
	m1, m2 := logP50(ta)-b, a-logP50(tb)
	if up != (m1 > 0) || up != (m2 > 0) {
		return 0
	}
	return min(math.Abs(math.Expm1(a-b)), math.Abs(math.Expm1(m1)), math.Abs(math.Expm1(m2)))
}
