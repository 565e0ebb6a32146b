package model

import (
	"math"
	"slices"
)

// Durations are summarised exactly up to exactDurations of them; beyond,
// from a sketch: a histogram of 64 bins an octave, read from a float's
// exponent and top six bits of mantissa (no logarithm), so that a
// percentile read from it (a bin's middle) is within 0.8 % of the exact
// one, in a few kilobytes however many durations it holds. The count, the
// maximum and the mean stay exact.
const (
	exactDurations = 1024
	sketchShift    = 52 - 6
	// sketchTiny is the smallest duration given its own bin: shorter ones
	// (and 0) share one.
	sketchTiny = 1e-6
)

// sketchIndex is the bin of a duration of at least sketchTiny: positive
// floats order as their bits do.
func sketchIndex(v float64) int { return int(math.Float64bits(v) >> sketchShift) }

// sketchMiddle is the middle of bin i.
func sketchMiddle(i int) float64 {
	return (math.Float64frombits(uint64(i)<<sketchShift) + math.Float64frombits(uint64(i+1)<<sketchShift)) / 2
}

// samples are the durations of one bucket that are not outliers, exactly
// while few, then in a sketch, and the number of outliers left out.
type samples struct {
	idx  int32 // in StatsAccumulator.bucketList
	secs []float64
	sk   *sketch
	junk int
}

func (s *samples) add(seconds float64) {
	if s.sk != nil {
		s.sk.add(seconds)
		return
	}
	s.secs = append(s.secs, seconds)
	if len(s.secs) > exactDurations {
		s.sk = &sketch{}
		for _, v := range s.secs {
			s.sk.add(v)
		}
		s.secs = nil
	}
}

func (s *samples) count() int {
	if s.sk != nil {
		return s.sk.n
	}
	return len(s.secs)
}

// durations summarises s.
func (s *samples) durations() Durations {
	if s.sk != nil {
		return s.sk.durations()
	}
	return summarise(s.secs)
}

// sketch is a log-binned histogram of durations.
type sketch struct {
	bins     []uint32 // bins[i] counts durations in bin lo+i (sketchIndex)
	lo       int
	tiny     int // durations under sketchTiny
	n        int
	sum      float64
	min, max float64
}

func (k *sketch) add(v float64) {
	if k.n == 0 || v < k.min {
		k.min = v
	}
	if k.n == 0 || v > k.max {
		k.max = v
	}
	k.n++
	k.sum += v
	if !(v >= sketchTiny) {
		k.tiny++
		return
	}
	i := sketchIndex(v)
	switch {
	case len(k.bins) == 0:
		k.bins, k.lo = make([]uint32, 1, 64), i
	case i < k.lo:
		k.bins = slices.Insert(k.bins, 0, make([]uint32, k.lo-i)...)
		k.lo = i
	case i >= k.lo+len(k.bins):
		k.bins = append(k.bins, make([]uint32, i-k.lo-len(k.bins)+1)...)
	}
	k.bins[i-k.lo]++
}

// merge adds o's durations to k.
func (k *sketch) merge(o *sketch) {
	if o.n == 0 {
		return
	}
	if k.n == 0 || o.min < k.min {
		k.min = o.min
	}
	if k.n == 0 || o.max > k.max {
		k.max = o.max
	}
	k.n += o.n
	k.sum += o.sum
	k.tiny += o.tiny
	if len(o.bins) == 0 {
		return
	}
	if len(k.bins) == 0 {
		k.bins, k.lo = slices.Clone(o.bins), o.lo
		return
	}
	if o.lo < k.lo {
		k.bins = slices.Insert(k.bins, 0, make([]uint32, k.lo-o.lo)...)
		k.lo = o.lo
	}
	if end := o.lo + len(o.bins); end > k.lo+len(k.bins) {
		k.bins = append(k.bins, make([]uint32, end-k.lo-len(k.bins))...)
	}
	for i, c := range o.bins {
		k.bins[o.lo+i-k.lo] += c
	}
}

// nth returns the duration of rank r (0-based): the middle of its bin,
// within the minimum and maximum.
func (k *sketch) nth(r int) float64 {
	v := k.max
	if r < k.tiny {
		v = 0
	} else {
		r -= k.tiny
		for i, c := range k.bins {
			if r < int(c) {
				v = sketchMiddle(k.lo + i)
				break
			}
			r -= int(c)
		}
	}
	return max(k.min, min(k.max, v))
}

// percentile interpolates between the closest ranks, as Percentile does.
func (k *sketch) percentile(p float64) float64 {
	rank := p / 100 * float64(k.n-1)
	lo, hi := int(math.Floor(rank)), int(math.Ceil(rank))
	a, b := k.nth(lo), k.nth(hi)
	return a + (b-a)*(rank-float64(lo))
}

func (k *sketch) durations() Durations {
	if k.n == 0 {
		return Durations{}
	}
	mean := roundMicro(k.sum / float64(k.n))
	p50, p90, maxD := roundMicro(k.percentile(50)), roundMicro(k.percentile(90)), k.max
	return Durations{Count: k.n, P50Seconds: &p50, P90Seconds: &p90, MaxSeconds: &maxD, MeanSeconds: &mean}
}
