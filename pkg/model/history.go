package model

import (
	"bytes"
	"cmp"
	"math"
	"slices"
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
	// outlierMinNeighbours: with fewer neighbours than this the median
	// says too little to call anything junk.
	outlierMinNeighbours = 4
)

// history keeps what the robust analysis needs of each deployment, compact
// (one record per deployment and one per step name in it), so that a
// million steps fit in a few tens of megabytes.
type history struct {
	seriesIndex map[seriesKey]int32
	series      []seriesKey
	statusIndex map[string]int32
	statuses    []string
	deps        []depRecord
	phases      []phaseRecord
	versions    []byte   // every deployment's version, end to end
	lastOrder   []int32  // the statuses of the last deployment added, in order
	lastSeries  int32    // the series of the last deployment added
	ranges      [][2]int // set by bySeries, once all are added
}

// seriesKey is a component and environment: the deployments compared with
// each other.
type seriesKey struct{ component, environment string }

// depRecord holds no pointer (times in Unix nanoseconds, the version in
// the history's arena): the garbage collector never scans the records.
type depRecord struct {
	start    int64
	duration float64
	version  int32 // offset of the version in history.versions
	series   int32
	attempt  int32
	// phases[ph0:ph1] are this deployment's step durations, one per
	// status (a status met twice is summed).
	ph0, ph1 int32
	median   float32 // the rolling median it was compared with
	// seq is the order it was added in: bySeries sorts the records, and
	// the stats accumulator finds its outliers by it.
	seq int32
	// vlen is 16 bits, so that seq costs no byte (48 in all): a version
	// is at most MaxVersionLen characters, 512 bytes.
	vlen    uint16
	outlier bool
}

// phaseRecord is 8 bytes: a million of them are 8 MB. Seven digits are
// plenty for a duration that is logged, ranked or averaged.
type phaseRecord struct {
	status  int32
	seconds float32
}

func newHistory() *history {
	return &history{seriesIndex: map[seriesKey]int32{}, statusIndex: map[string]int32{}}
}

// add records a measured deployment.
func (h *history) add(d *Deployment) {
	h.ranges = nil
	k := seriesKey{d.Component, d.Environment}
	s, ok := h.lastSeries, len(h.series) > 0 && h.series[h.lastSeries] == k
	if !ok {
		s, ok = h.seriesIndex[k]
	}
	if !ok {
		s = int32(len(h.series))
		h.seriesIndex[k] = s
		h.series = append(h.series, k)
	}
	h.lastSeries = s
	ph0 := int32(len(h.phases))
	vOff := int32(len(h.versions))
	version := d.Version
	if len(version) > math.MaxUint16 {
		version = version[:math.MaxUint16] // never stored: validation allows 512 bytes
	}
	h.versions = append(h.versions, version...)
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
		if j := len(h.phases) - int(ph0); j < len(h.lastOrder) && h.statuses[h.lastOrder[j]] == p.Status {
			st, ok = h.lastOrder[j], true
		} else {
			st, ok = h.statusIndex[p.Status]
		}
		if !ok {
			st = int32(len(h.statuses))
			h.statusIndex[p.Status] = st
			h.statuses = append(h.statuses, p.Status)
		}
		merged := false
		for i := ph0; i < int32(len(h.phases)); i++ {
			if h.phases[i].status == st {
				h.phases[i].seconds += float32(*p.DurationSeconds)
				merged = true
				break
			}
		}
		if !merged {
			h.phases = append(h.phases, phaseRecord{status: st, seconds: float32(*p.DurationSeconds)})
		}
	}
	h.lastOrder = h.lastOrder[:0]
	for _, p := range h.phases[ph0:] {
		h.lastOrder = append(h.lastOrder, p.status)
	}
	h.deps = append(h.deps, depRecord{series: s, attempt: int32(d.Attempt), version: vOff, vlen: uint16(len(version)), seq: int32(len(h.deps)),
		start:    d.StartedAt.UnixNano(),
		duration: d.DurationSeconds, ph0: ph0, ph1: int32(len(h.phases))})
}

// bySeries sorts the deployments by series, then time (then version and
// attempt, so equal times still give one order), and returns each series'
// index range in deps. It then marks the outliers. It does this once: a
// later call (the page's changes after its stats) returns the same ranges.
// The sort is in place: a sorted copy would hold every record twice.
func (h *history) bySeries() [][2]int {
	if h.ranges != nil {
		return h.ranges
	}
	slices.SortFunc(h.deps, func(a, b depRecord) int {
		if c := cmp.Compare(a.series, b.series); c != 0 {
			return c
		}
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		if c := bytes.Compare(h.versionBytes(&a), h.versionBytes(&b)); c != 0 {
			return c
		}
		return cmp.Compare(a.attempt, b.attempt)
	})
	ranges := make([][2]int, len(h.series))
	for i := 0; i < len(h.deps); {
		j := i
		for j < len(h.deps) && h.deps[j].series == h.deps[i].series {
			j++
		}
		ranges[h.deps[i].series] = [2]int{i, j}
		markOutliers(h.deps[i:j])
		i = j
	}
	h.ranges = ranges
	return ranges
}

// markOutliers flags the deployments of one series, in time order, that
// are far from the rolling median of their neighbours. A deployment
// without a positive duration is always an outlier: it has no logarithm,
// and a deploy of 0 s deployed nothing worth timing.
func markOutliers(deps []depRecord) {
	// window holds the durations of deps[lo:hi], sorted, kept up to date
	// as i moves on: one insertion and one removal per deployment.
	window := make([]float64, 0, 2*outlierWindow+1)
	lo, hi := 0, 0
	for i := range deps {
		for ; hi < len(deps) && hi <= i+outlierWindow; hi++ {
			v := deps[hi].duration
			at, _ := slices.BinarySearch(window, v)
			window = slices.Insert(window, at, v)
		}
		for ; lo < i-outlierWindow; lo++ {
			at, _ := slices.BinarySearch(window, deps[lo].duration)
			window = slices.Delete(window, at, at+1)
		}
		d := &deps[i]
		median := 0.0
		// The median of the neighbours: the window without d itself.
		if m := len(window) - 1; m >= outlierMinNeighbours {
			self, _ := slices.BinarySearch(window, d.duration)
			nth := func(k int) float64 {
				if k >= self {
					k++
				}
				return window[k]
			}
			median = (nth((m-1)/2) + nth(m/2)) / 2
		}
		d.median = float32(median)
		d.outlier = d.duration <= 0 || math.IsNaN(d.duration) ||
			(median > 0 && (d.duration < median/outlierFactor || d.duration > median*outlierFactor))
	}
}

func (h *history) versionBytes(d *depRecord) []byte {
	return h.versions[d.version : d.version+int32(d.vlen)]
}

// outliersBySeq says, for each deployment in the order it was added,
// whether it is an outlier; call it after bySeries.
func (h *history) outliersBySeq() []bool {
	out := make([]bool, len(h.deps))
	for i := range h.deps {
		out[h.deps[i].seq] = h.deps[i].outlier
	}
	return out
}

// versionOf returns the version of d.
func (h *history) versionOf(d *depRecord) string { return string(h.versionBytes(d)) }

// phaseSeconds returns the seconds of status st in deployment d, and
// whether d has it.
func (h *history) phaseSeconds(d *depRecord, st int32) (float64, bool) {
	for _, p := range h.phases[d.ph0:d.ph1] {
		if p.status == st {
			return float64(p.seconds), true
		}
	}
	return 0, false
}

// weeks returns the weeks from origin to a start in Unix nanoseconds.
func weeks(start int64, origin time.Time) float64 {
	return float64(start-origin.UnixNano()) / float64(7*24*time.Hour)
}
