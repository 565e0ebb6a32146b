package model

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Outlier rule: a deployment is junk when its duration is under
// 1/outlierFactor or over outlierFactor times the median of its
// outlierWindow neighbours on each side, in the same component and
// environment. Ten times either way is far beyond the spread of real
// deploys (a lognormal noise of 30 % puts 1 deploy in 10^14 that far),
// yet catches a test deploy of a second and a deploy stuck for hours.
const (
	outlierFactor = 10
	outlierWindow = 10
	// outlierWide is the wider view: the neighbours of outlierWindow that
	// are junk by the median of outlierWide on each side do not vote, so
	// a burst of test deploys (a dozen in an hour) cannot outvote the
	// real ones around it.
	outlierWide = 32
	// outlierMinNeighbours: with fewer neighbours than this the median
	// says too little to call anything junk.
	outlierMinNeighbours = 4
	// outlierLevelRun: at either end of a series, a run of this many
	// deployments ten times off the rest is a level, not junk: the first
	// or latest deployments of a lasting shift. A run of 17 last was junk
	// by the neighbours alone, and stays junk.
	outlierLevelRun = 18
)

// The history's memory is bounded per series when each series' deployments
// come in time order (or nearly: seriesSlack), as they do from a read in
// start order or in component, environment and start order. A series keeps
// its deployments as they are up to seriesRaw of them; past that, if the
// latest came in order, all but the newest are judged (outlier or not) and
// reduced to runs of consecutive deployments, each run a point of the trend
// and the change points, as fitSen and eDivisive would reduce them anyway.
// A series whose deployments keep coming out of order keeps them all, as
// before, and is analysed exactly. Below seriesRaw deployments a series
// gives the same figures either way.
const (
	// seriesRaw is the most deployments a series holds before it is
	// reduced: above the ~630 points of one series at which fitSen already
	// works on runs, and the 256 of eDivisive.
	seriesRaw = 2048
	// seriesSlack is the newest deployments of a reduced series kept
	// unjudged, so that one arriving out of order by up to this many still
	// takes its place in time. At least outlierWindow: a verdict needs the
	// neighbours after.
	seriesSlack = 256
	// seriesMaxRuns bounds the runs of a reduced series; beyond, adjacent
	// runs merge two by two and later runs are twice as long.
	seriesMaxRuns = 1024
	// firstRun is the deployments in a run when a series is first reduced:
	// 256 runs of the first 2,048, the points eDivisive searches.
	firstRun = 8
	// recentSeries: up to this many series, a deployment's is found by
	// comparing keys rather than by the map.
	recentSeries = 32
	// seriesDisorder: a series is reduced only if at most 1/seriesDisorder
	// of its latest seriesRaw deployments came over seriesSlack/2 places
	// after their place in time; if not, it is looked at again when it
	// holds twice as many.
	seriesDisorder = 16
)

// history keeps what the robust analysis needs of the deployments, by
// series (component and environment).
type history struct {
	seriesIndex map[seriesKey]int32
	series      []*seriesHist
	statusIndex map[string]int32
	statuses    []string
	lastOrder   []int32 // the statuses of the last deployment added, in order
	lastSeries  int32   // the series of the last deployment added
	// seen[st] is the number (added) of the last deployment with a phase
	// of status st: a repeat is found in one look, where a scan of the
	// phases before made a deployment of 50,000 steps cost 1.25 billion
	// comparisons, seconds of CPU on every stats request.
	seen  []uint64
	added uint64
	// judged, when set, receives each deployment once it is known whether
	// it is an outlier: each series' in time order, the series in the order
	// they were met once all are in (finish).
	judged   func(s *seriesHist, d *depRecord, phases []phaseRecord)
	finished bool
}

// MaxEnvironmentsListed bounds the environments a stats or DORA answer
// lists (Stats.Environments, DORA.Environments).
const MaxEnvironmentsListed = 100

// environmentSet gathers the environments of deployments for an answer
// (Stats.Environments, DORA.Environments): those without one add none,
// and it stops growing at MaxEnvironmentsListed.
type environmentSet map[string]bool

func (es environmentSet) add(env string) {
	if env != "" && len(es) < MaxEnvironmentsListed {
		es[env] = true
	}
}

// sorted lists the set's environments in order; [], not null, for none.
func (es environmentSet) sorted() []string {
	out := slices.AppendSeq(make([]string, 0, len(es)), maps.Keys(es))
	slices.Sort(out)
	return out
}

// seriesKey is a component and environment: the deployments compared with
// each other.
type seriesKey struct{ component, environment string }

// seriesHist is one series' deployments: recs as they are, and, once
// reduced, runs of the older ones.
type seriesHist struct {
	key seriesKey
	// added counts the deployments added; outliers those judged outliers.
	added, outliers int
	// recs[:judged] are judged already, kept as the neighbours of the next
	// ones; recs[judged:] are waiting, in time order up to the last sort.
	recs   []depRecord
	phases []phaseRecord // recs' phases
	judged int
	// retryAt, when set, is the number of deployments at which s, found out
	// of order, is looked at again: a history's first deployments may have
	// come out of order (a backfill) and the rest in order.
	retryAt int
	reduced bool
	// late counts the deployments of a reduced series that came after
	// later ones were judged: they are taken as the earliest waiting.
	late int
	runs []run
	k    int // deployments a run holds
	cur  runBuilder
	// points are what the trend and the change points read once all are
	// in (finish): the deployments in time order, outliers marked, or one
	// per run with firsts the runs' first deployments.
	points      []depRecord
	pointPhases []phaseRecord
	firsts      []runFirst
}

// depRecord is a deployment as the analysis needs it: times in Unix
// nanoseconds, its phases in its series' arena.
type depRecord struct {
	start    int64
	duration float64
	version  string
	attempt  int32
	// phases[ph0:ph1] are its measured phases, in order.
	ph0, ph1 int32
	median   float32 // the median of its neighbours, when an outlier
	// bucket is the stats bucket it falls in (StatsAccumulator.bucketList).
	bucket  int32
	outlier bool
	// repeats says a status is met twice among its phases: merged and
	// phaseSeconds must then sum them.
	repeats bool
}

// phaseRecord is a measured phase: its status (history.statuses) and
// seconds. A status met twice in a deployment is two records; phaseSeconds
// sums them. In a run's point, n is the phases it stands for.
type phaseRecord struct {
	status  int32
	n       int32
	seconds float64
}

// run stands for n consecutive deployments of a series that are not
// outliers: the start of the middle one, the median log duration, and each
// status' median log seconds.
type run struct {
	n      int32
	x      int64
	y      float64
	first  runFirst
	phases []runPhase
}

type runPhase struct {
	status int32
	n      int32
	y      float64
}

// runFirst is the first deployment of a run: where a change found between
// runs is placed.
type runFirst struct {
	start   int64
	version string
	attempt int32
	n       int32 // the deployments of the run (set in its point)
}

// runBuilder gathers the deployments of the run being filled: their
// starts, durations, and each status' seconds (by history status).
type runBuilder struct {
	xs       []int64
	ds       []float64
	first    runFirst
	byStatus [][]float64
}

func newHistory() *history {
	return &history{seriesIndex: map[seriesKey]int32{}, statusIndex: map[string]int32{}}
}

// add records a measured deployment, in stats bucket bucket.
func (h *history) add(d *Deployment, bucket int32) {
	k := seriesKey{d.Component, d.Environment}
	si, ok := h.lastSeries, len(h.series) > 0 && h.series[h.lastSeries].key == k
	switch {
	case ok:
	case len(h.series) <= recentSeries:
		// A stream in start order takes the series in turns: comparing
		// their texts (the store's, the same strings each time) beats
		// hashing them.
		for i, s := range h.series {
			if s.key == k {
				si, ok = int32(i), true
				break
			}
		}
	default:
		si, ok = h.seriesIndex[k]
	}
	if !ok {
		si = int32(len(h.series))
		h.seriesIndex[k] = si
		h.series = append(h.series, &seriesHist{key: k})
	}
	h.lastSeries = si
	s := h.series[si]
	s.added++
	ph0 := int32(len(s.phases))
	repeats := false
	h.added++
	for _, p := range d.Steps {
		// Idle time is in the deployment's duration, but no step's: no
		// step is blamed for it, nor shown to move.
		if p.DurationSeconds == nil || p.Idle {
			continue
		}
		// Deployments repeat the same steps in the same order: guess the
		// index from the last deployment's phase at this place before
		// hashing the name.
		var st int32
		ok := false
		if j := len(s.phases) - int(ph0); j < len(h.lastOrder) && h.statuses[h.lastOrder[j]] == p.Status {
			st, ok = h.lastOrder[j], true
		} else {
			st, ok = h.statusIndex[p.Status]
		}
		if !ok {
			st = int32(len(h.statuses))
			h.statusIndex[p.Status] = st
			h.statuses = append(h.statuses, p.Status)
		}
		for int(st) >= len(h.seen) {
			h.seen = append(h.seen, 0)
		}
		repeats = repeats || h.seen[st] == h.added
		h.seen[st] = h.added
		s.phases = append(s.phases, phaseRecord{status: st, seconds: *p.DurationSeconds})
	}
	h.lastOrder = h.lastOrder[:0]
	for _, p := range s.phases[ph0:] {
		h.lastOrder = append(h.lastOrder, p.status)
	}
	s.recs = append(s.recs, depRecord{start: d.StartedAt.UnixNano(), duration: d.DurationSeconds, version: d.Version, attempt: int32(d.Attempt),
		ph0: ph0, ph1: int32(len(s.phases)), bucket: bucket, repeats: repeats})
	if len(s.recs) >= max(seriesRaw+s.judged, s.retryAt) {
		h.judge(s, false)
	}
}

// compareRecs orders a series' deployments: by start, then version and
// attempt, so equal times still give one order.
func compareRecs(a, b *depRecord) int {
	return cmp.Or(cmp.Compare(a.start, b.start), strings.Compare(a.version, b.version), cmp.Compare(a.attempt, b.attempt))
}

// judge decides the outliers among the waiting deployments of s but the
// last seriesSlack (all of them when final), passes them on, and keeps
// the last outlierWindow judged as the neighbours of the next ones. Until
// then, s is reduced only if its latest deployments came in order (or
// nearly); if not, it keeps them all and looks again later.
func (h *history) judge(s *seriesHist, final bool) {
	if !s.reduced {
		if s.disordered() {
			// Twice as many before the next look: the looks cost
			// O(seriesRaw log seriesRaw) each, a handful in all.
			s.retryAt = 2 * len(s.recs)
			return
		}
		s.reduced, s.k, s.retryAt = true, firstRun, 0
	}
	waiting := s.recs[s.judged:]
	if s.judged > 0 {
		last := &s.recs[s.judged-1]
		for i := range waiting {
			if waiting[i].start <= last.start && compareRecs(&waiting[i], last) < 0 {
				s.late++
			}
		}
	}
	// Most often they came in order already: a pass over the starts says so.
	sorted := true
	for i := 1; i < len(waiting) && sorted; i++ {
		sorted = waiting[i-1].start < waiting[i].start
	}
	if !sorted {
		slices.SortFunc(waiting, func(a, b depRecord) int { return compareRecs(&a, &b) })
	}
	markOutliers(s.recs)
	end := len(s.recs)
	if !final {
		end -= seriesSlack
	}
	for i := s.judged; i < end; i++ {
		d := &s.recs[i]
		if d.outlier {
			s.outliers++
		}
		phases := s.phases[d.ph0:d.ph1]
		if h.judged != nil {
			h.judged(s, d, phases)
		}
		if !d.outlier {
			h.addToRun(s, d, phases)
		}
	}
	// Keep recs[from:], their phases moved to the front of the arena: the
	// judged ones are the next ones' neighbours.
	from := max(0, end-outlierWide)
	n := 0
	for i := from; i < len(s.recs); i++ {
		d := s.recs[i]
		ph := copy(s.phases[n:], s.phases[d.ph0:d.ph1])
		d.ph0, d.ph1 = int32(n), int32(n+ph)
		n += ph
		s.recs[i-from] = d
	}
	clear(s.recs[len(s.recs)-from:]) // drop the versions
	s.recs = s.recs[:len(s.recs)-from]
	s.phases = s.phases[:n]
	s.judged = end - from
}

// disordered says whether too many of the last seriesRaw deployments came
// far after their place in time (seriesDisorder): those before are sorted
// when s is reduced, the later ones are expected to come as these did.
func (s *seriesHist) disordered() bool {
	recent := s.recs[len(s.recs)-seriesRaw:]
	order := make([]int32, len(recent))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareRecs(&recent[a], &recent[b]) })
	far := 0
	for place, came := range order {
		if int(came)-place > seriesSlack/2 {
			far++
		}
	}
	return far > seriesRaw/seriesDisorder
}

// addToRun adds a deployment that is not an outlier to the run being
// filled, and closes the run when it is full.
func (h *history) addToRun(s *seriesHist, d *depRecord, phases []phaseRecord) {
	c := &s.cur
	if len(c.xs) == 0 {
		c.first = runFirst{start: d.start, version: d.version, attempt: d.attempt}
	}
	c.xs = append(c.xs, d.start)
	c.ds = append(c.ds, d.duration)
	merged := mergedAll(d, phases)
	for i, p := range phases {
		if v, first := merged.at(i); first {
			if v > 0 {
				for int(p.status) >= len(c.byStatus) {
					c.byStatus = append(c.byStatus, nil)
				}
				c.byStatus[p.status] = append(c.byStatus[p.status], v)
			}
		}
	}
	if len(c.xs) >= s.k {
		h.closeRun(s)
	}
}

// closeRun turns the deployments gathered into a run, and merges runs two
// by two when there are too many.
func (h *history) closeRun(s *seriesHist) {
	c := &s.cur
	if len(c.xs) == 0 {
		return
	}
	r := run{n: int32(len(c.xs)), x: c.xs[(len(c.xs)-1)/2], y: logMedian(c.ds), first: c.first,
		phases: make([]runPhase, 0, len(c.byStatus))}
	for st, vs := range c.byStatus {
		if len(vs) > 0 {
			r.phases = append(r.phases, runPhase{status: int32(st), n: int32(len(vs)), y: logMedian(vs)})
			c.byStatus[st] = vs[:0]
		}
	}
	s.runs = append(s.runs, r)
	c.xs, c.ds = c.xs[:0], c.ds[:0]
	if len(s.runs) <= seriesMaxRuns {
		return
	}
	// Two runs' medians make the merged one's, weighted: not the median of
	// their deployments, but as robust, and nothing more is kept.
	merged := s.runs[:0]
	for i := 0; i < len(s.runs); i += 2 {
		if i+1 == len(s.runs) {
			merged = append(merged, s.runs[i])
			break
		}
		merged = append(merged, mergeRuns(s.runs[i], s.runs[i+1]))
	}
	clear(s.runs[len(merged):])
	s.runs = merged
	s.k *= 2
}

func mergeRuns(a, b run) run {
	n := a.n + b.n
	r := run{n: n, x: a.x + (b.x-a.x)/2, y: (a.y*float64(a.n) + b.y*float64(b.n)) / float64(n), first: a.first,
		phases: make([]runPhase, 0, max(len(a.phases), len(b.phases)))}
	i, j := 0, 0
	for i < len(a.phases) || j < len(b.phases) {
		switch {
		case j == len(b.phases) || (i < len(a.phases) && a.phases[i].status < b.phases[j].status):
			r.phases = append(r.phases, a.phases[i])
			i++
		case i == len(a.phases) || b.phases[j].status < a.phases[i].status:
			r.phases = append(r.phases, b.phases[j])
			j++
		default:
			p, q := a.phases[i], b.phases[j]
			m := p.n + q.n
			r.phases = append(r.phases, runPhase{status: p.status, n: m, y: (p.y*float64(p.n) + q.y*float64(q.n)) / float64(m)})
			i++
			j++
		}
	}
	return r
}

// logMedian returns the median of the logarithms of xs (all positive),
// reordering xs: the logarithm of the median, or the mean of the two
// middle ones' logarithms, so that only one or two are taken.
func logMedian(xs []float64) float64 {
	m := len(xs)
	if m <= 16 {
		// Short runs are most: a sort of a few beats a selection's setup.
		slices.Sort(xs)
		if m%2 == 1 {
			return math.Log(xs[m/2])
		}
		return (math.Log(xs[m/2-1]) + math.Log(xs[m/2])) / 2
	}
	y := selectNth(xs, m/2)
	if m%2 == 1 {
		return math.Log(y)
	}
	// selectNth leaves the lower half below m/2: its largest is the other
	// middle.
	return (math.Log(y) + math.Log(slices.Max(xs[:m/2]))) / 2
}

// finish judges every deployment still waiting, series by series, and
// sets each series' points. It does this once: a later call (the page's
// changes after its stats) finds them set.
func (h *history) finish() {
	if h.finished {
		return
	}
	h.finished = true
	for _, s := range h.series {
		if s.reduced {
			h.judge(s, true)
			h.closeRun(s)
			s.recs, s.phases = nil, nil
			s.points = make([]depRecord, len(s.runs))
			s.firsts = make([]runFirst, len(s.runs))
			for i, r := range s.runs {
				ph0 := int32(len(s.pointPhases))
				for _, p := range r.phases {
					s.pointPhases = append(s.pointPhases, phaseRecord{status: p.status, n: p.n, seconds: math.Exp(p.y)})
				}
				s.points[i] = depRecord{start: r.x, duration: math.Exp(r.y), version: r.first.version, attempt: r.first.attempt,
					ph0: ph0, ph1: int32(len(s.pointPhases))}
				s.firsts[i] = r.first
				s.firsts[i].n = r.n
			}
			s.runs = nil
			continue
		}
		slices.SortFunc(s.recs, func(a, b depRecord) int { return compareRecs(&a, &b) })
		markOutliers(s.recs)
		for i := range s.recs {
			d := &s.recs[i]
			if d.outlier {
				s.outliers++
			}
			if h.judged != nil {
				h.judged(s, d, s.phases[d.ph0:d.ph1])
			}
		}
		s.points, s.pointPhases = s.recs, s.phases
		s.recs, s.phases = nil, nil
	}
}

// markOutliers flags the deployments of one series, in time order, that
// are far from the median of their neighbours. A deployment without a
// positive duration is always an outlier: it has no logarithm, and a
// deploy of 0 s deployed nothing worth timing. The median is needed only
// when the deployment is not within ten times of all its neighbours but
// the lowest and the highest, which is rare: only then are they sorted.
//
// Neighbours that are junk themselves do not vote: those off by ten times
// from the median of the wider view (outlierWide on each side) are left
// out of the median, when at least outlierMinNeighbours remain. Without
// this, a burst of a dozen test deploys in an hour passed (each has mostly
// test deploys for neighbours) and the real deploys next to it did not.
// When too few remain (the middle of a burst longer than the window, or
// the deployments after a lasting shift of ten times), the plain median
// judges, and a deployment within ten times of the wider median is kept;
// one ten times off it is junk all the same when the series is back at
// that median on both sides (comesBack): the middle of a burst of up to
// outlierWide deployments.
//
// A lasting shift is no junk: on its edge, where half the neighbours are
// at the other level and outvote it, a deployment is kept when one side
// of it holds its level and none of the other (comesBackAround). At
// either end of the series, where nothing says whether the series comes
// back, a run of fewer than outlierLevelRun at a new level is junk, a
// longer one the series' level.
func markOutliers(deps []depRecord) {
	var buf [2 * outlierWide]float64
	// A block's neighbours together hold each one's: their second lowest
	// and second highest bound each one's, so most deployments are judged
	// by two comparisons.
	const block = 64
	var blockLow, blockHigh float64
	off := func(v, median float64) bool {
		return median > 0 && (v < median/outlierFactor || v > median*outlierFactor)
	}
	medianOf := selectMedian
	for i := range deps {
		d := &deps[i]
		lo, hi := window(i, outlierWindow, len(deps))
		wlo, whi := window(i, outlierWide, len(deps))
		if i%block == 0 {
			// The block's neighbours, and the wider view of its last
			// deployments when it is the last block: then a wider view
			// may reach further back than the neighbours. Elsewhere at
			// most 22 of a wider view are outside, too few to move its
			// median ten times away (offMost).
			from := min(lo, max(0, len(deps)-2*outlierWide-1))
			if i+block+outlierWide < len(deps) {
				from = lo
			}
			_, blockLow, _, blockHigh = lowHigh(deps[from:min(len(deps), i+block+outlierWindow)], -1)
		}
		m := hi - lo - 1
		v := d.duration
		if v > 0 && m >= outlierMinNeighbours {
			if v >= blockHigh/outlierFactor && v <= blockLow*outlierFactor {
				d.median, d.outlier = 0, false
				continue
			}
			// The median of four or more lies between the second lowest
			// and the second highest (of all the neighbours, or of those
			// that vote): when v is within ten times of both, so is it of
			// the median, one junk neighbour or not. Unless v, with its
			// neighbours, is ten times off most of the wider view: the
			// middle of a burst (comesBack below).
			_, low2, _, high2 := lowHigh(deps[lo:hi], i-lo)
			if v >= high2/outlierFactor && v <= low2*outlierFactor && !offMost(deps[wlo:whi], i-wlo, v) {
				d.median, d.outlier = 0, false
				continue
			}
		}
		median, outlier := 0.0, false
		if m >= outlierMinNeighbours {
			wide := buf[:0]
			for j := wlo; j < whi; j++ {
				if j != i {
					wide = append(wide, deps[j].duration)
				}
			}
			wideMedian := medianOf(wide)
			voters := buf[:0]
			for j := lo; j < hi; j++ {
				if j != i && !off(deps[j].duration, wideMedian) {
					voters = append(voters, deps[j].duration)
				}
			}
			if len(voters) >= outlierMinNeighbours {
				median = medianOf(voters)
				outlier = off(v, median)
				if outlier && !comesBackAround(deps, i, wlo, whi, v, median) {
					// On the edge of a lasting shift, half the neighbours are
					// at the other level and outvote v.
					outlier = false
				}
			} else {
				others := buf[:0]
				for j := lo; j < hi; j++ {
					if j != i {
						others = append(others, deps[j].duration)
					}
				}
				median = medianOf(others)
				outlier = off(v, median) && off(v, wideMedian)
				if !outlier && off(v, wideMedian) && comesBack(deps[wlo:whi], i-wlo, wideMedian) {
					// Most neighbours are as far off as v, but the series
					// is back at the wider median on both sides: a burst
					// of junk, not a lasting shift.
					median, outlier = wideMedian, true
				}
			}
		}
		d.median = float32(median)
		d.outlier = outlier || v <= 0 || math.IsNaN(v)
	}
}

// offMost says whether v may be ten times off the median of wide but
// wide[self]: the median can be only if half of them are.
func offMost(wide []depRecord, self int, v float64) bool {
	low, high := 0, 0
	for j := range wide {
		if j == self {
			continue
		}
		switch x := wide[j].duration; {
		case x > v*outlierFactor:
			high++
		case x < v/outlierFactor:
			low++
		}
	}
	return 2*max(low, high) >= len(wide)-1
}

// comesBack says whether wide has at least outlierMinNeighbours
// deployments within ten times of median on each side of wide[self]: the
// series is at that level before and after it.
func comesBack(wide []depRecord, self int, median float64) bool {
	return near(wide[:self], median) >= outlierMinNeighbours && near(wide[self+1:], median) >= outlierMinNeighbours
}

// comesBackAround says whether the series comes back around deps[i] (of
// duration v) to median, the level v is ten times off, or whether v is on
// the edge of a lasting shift instead. It does not come back when the
// deployments on one side of v are at v's level (their median within ten
// times of v) and none at median's: a side tells when it is a full wider
// view (outlierWide, from wlo to i or from i to whi), or, for one of the
// first or last outlierWide deployments of the series, when v's run off
// median reaches that end (fewer than outlierMinNeighbours back at the
// level between them) and is outlierLevelRun or more long. A shorter run
// at an end may as well be a burst of junk.
func comesBackAround(deps []depRecord, i, wlo, whi int, v, median float64) bool {
	if i-wlo >= outlierWide && near(deps[wlo:i], median) == 0 && !farFromMedian(deps[wlo:i], v) ||
		whi-i-1 >= outlierWide && near(deps[i+1:whi], median) == 0 && !farFromMedian(deps[i+1:whi], v) {
		return false
	}
	atStart, atEnd := i < outlierWide, len(deps)-1-i < outlierWide
	if !atStart && !atEnd {
		return true
	}
	// v's run of deployments off median, as far as the wider view goes.
	start, end := i, i+1
	for start > max(0, i-outlierWide) && near(deps[start-1:start], median) == 0 {
		start--
	}
	for end < min(len(deps), i+1+outlierWide) && near(deps[end:end+1], median) == 0 {
		end++
	}
	reaches := atStart && near(deps[:start], median) < outlierMinNeighbours ||
		atEnd && near(deps[end:], median) < outlierMinNeighbours
	if !reaches || end-start < outlierLevelRun {
		return true
	}
	var buf [2 * outlierWide]depRecord
	return farFromMedian(append(append(buf[:0], deps[start:i]...), deps[i+1:end]...), v)
}

// farFromMedian says whether v is ten times off the median of ds.
func farFromMedian(ds []depRecord, v float64) bool {
	var buf [2 * outlierWide]float64
	xs := buf[:0]
	for _, d := range ds {
		xs = append(xs, d.duration)
	}
	slices.Sort(xs)
	m := (xs[(len(xs)-1)/2] + xs[len(xs)/2]) / 2
	return v < m/outlierFactor || v > m*outlierFactor
}

// near counts the deployments of ds within ten times of median.
func near(ds []depRecord, median float64) int {
	n := 0
	for _, d := range ds {
		if d.duration >= median/outlierFactor && d.duration <= median*outlierFactor {
			n++
		}
	}
	return n
}

// window returns the neighbours [lo, hi) of deployment i of n: w on each
// side, or, near an end of the series, as many more on the other side as
// that end lacks. The last deployments are judged by as many as the others
// (a burst of test deploys on the last day has real ones before it to be
// judged by), which the store's start order gives a reduced series too:
// it keeps outlierWide judged ones, and judges only once seriesSlack newer
// ones have come.
func window(i, w, n int) (lo, hi int) {
	lo, hi = i-w, i+w+1
	if lo < 0 {
		hi -= lo
	}
	if hi > n {
		lo -= hi - n
	}
	return max(0, lo), min(n, hi)
}

// lowHigh returns the two lowest and two highest durations of deps but
// deps[self].
func lowHigh(deps []depRecord, self int) (low1, low2, high1, high2 float64) {
	low1, low2, high1, high2 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for j := range deps {
		if j == self {
			continue
		}
		x := deps[j].duration
		if x < low2 {
			low1, low2 = min(low1, x), max(low1, x)
		}
		if x > high2 {
			high1, high2 = max(high1, x), min(high1, x)
		}
	}
	return low1, low2, high1, high2
}

// phaseSeconds returns the seconds of status st among phases, summed (to
// seven digits: a float32, as the history always kept them), and whether
// it is there.
func phaseSeconds(phases []phaseRecord, st int32) (float64, bool) {
	var sum float32
	ok := false
	for _, p := range phases {
		if p.status == st {
			sum += float32(p.seconds)
			ok = true
		}
	}
	return float64(sum), ok
}

// merged returns the seconds of phases[i]'s status in deployment d, summed
// as phaseSeconds does, and whether phases[i] is its status' first (if not,
// the seconds are not given: they were with the first).
func merged(d *depRecord, phases []phaseRecord, i int) (float64, bool) {
	if !d.repeats {
		return float64(float32(phases[i].seconds)), true
	}
	if !firstOfStatus(phases, i) {
		return 0, false
	}
	v, _ := phaseSeconds(phases[i:], phases[i].status)
	return v, true
}

// shortScan is the most phases a deployment's repeats are found by
// scanning them (merged); beyond, mergedAll sums them once.
const shortScan = 64

// phaseMerger gives merged for each of a deployment's phases (mergedAll).
// It is a value, not a closure: a closure escaped to the heap, one
// allocation for every deployment judged, twice.
type phaseMerger struct {
	d       *depRecord
	phases  []phaseRecord
	firstAt map[int32]int // nil: merged scans
	sums    []float32
	exact   []float64 // sums in float64, for seconds
}

// mergedAll returns merged for each of d's phases. A deployment of many
// phases with a repeat has its statuses summed in one pass: merged on each
// of them scanned them all, quadratic in its length.
func mergedAll(d *depRecord, phases []phaseRecord) phaseMerger {
	m := phaseMerger{d: d, phases: phases}
	if !d.repeats || len(phases) <= shortScan {
		return m
	}
	m.firstAt = make(map[int32]int, len(phases))
	m.sums = make([]float32, len(phases))
	m.exact = make([]float64, len(phases))
	for i, p := range phases {
		at, ok := m.firstAt[p.status]
		if !ok {
			at = i
			m.firstAt[p.status] = i
		}
		m.sums[at] += float32(p.seconds) // in order, as phaseSeconds sums
		m.exact[at] += p.seconds
	}
	return m
}

// seconds is the sum of at(i), for phases[i] first of its status, kept
// in float64: the figures of stats are given to the microsecond, where
// the history's float32 is for the fits. A short deployment's phases are
// scanned, not put in a map: a map of its statuses for every deployment
// with a repeat cost 4 % of the CPU of stats where every deployment
// retried a step (BenchmarkStatsRepeats).
func (m *phaseMerger) seconds(i int) float64 {
	if !m.d.repeats {
		return m.phases[i].seconds
	}
	if m.firstAt != nil {
		return m.exact[i]
	}
	var sum float64
	for _, p := range m.phases[i:] { // from the first, in order: as summed before
		if p.status == m.phases[i].status {
			sum += p.seconds
		}
	}
	return sum
}

// at is merged(d, phases, i).
func (m *phaseMerger) at(i int) (float64, bool) {
	if m.firstAt == nil {
		return merged(m.d, m.phases, i)
	}
	if m.firstAt[m.phases[i].status] != i {
		return 0, false
	}
	return float64(m.sums[i]), true
}

// firstOfStatus says whether phases[i] is the first of its status: a
// deployment's statuses, each once, are those. Deployments have a handful
// of phases: a scan beats a set.
func firstOfStatus(phases []phaseRecord, i int) bool {
	for _, p := range phases[:i] {
		if p.status == phases[i].status {
			return false
		}
	}
	return true
}

// weeks returns the weeks from origin to a start in Unix nanoseconds.
func weeks(start int64, origin time.Time) float64 {
	return float64(start-origin.UnixNano()) / float64(7*24*time.Hour)
}

// selectMedian returns the median of xs as sorting them would give it
// (the mean of the two middle values; NaN first, as slices.Sort puts it),
// reordering xs: a selection in linear time, as markOutliers takes a
// median of up to 2*outlierWide values for each deployment it judges the
// slow way.
func selectMedian(xs []float64) float64 {
	n := len(xs)
	k := (n - 1) / 2
	low := selectNth(xs, k)
	if n%2 == 1 {
		return low
	}
	// The upper middle is the least of those after k.
	high := xs[k+1]
	for _, x := range xs[k+2:] {
		if cmp.Less(x, high) {
			high = x
		}
	}
	return (low + high) / 2
}
