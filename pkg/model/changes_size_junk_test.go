package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestJunkMovesNoShiftSize: the size of a real shift (change_percent)
// must not turn on 3 junk deployments, too close to the usual for
// outliers (a fifth to five times as long as their neighbours), before
// the first deployment, after the last or in the middle. Histories as
// TestAccuracyChanges scores: 150 deployments over 26 weeks, `tests`
// jumping 50–125 % (the deployment 20–50 %), 25 % noise a step, 5 %
// junk; flat, and growing 1–2 % a week.
//
// The bound: a median is moved by 3 deployments joining its side by 1.5
// ranks, whatever their size; on a side of 20 or more at 14 % noise a
// deployment that is about 2.6 % on average, more where the ranks lie
// apart: 3 ordinary deployments added (×1, the reference) move the size
// by 2.7–3.1 points at p90. Junk may move it by 6 at p90. In flat
// histories the worst was 15.5 points (12.7 with 3 ordinary ones): the
// growth within the segments was taken out or not by a 95 % test that 3
// deployments tipped; it is weighed now (clearWeight), and the worst is
// 8.5 (bound 10). In growing histories the worst, 17 points with ×1 as
// with junk, is another change found next to the shift that cuts its
// segment short (the false changes of TestJunkMakesNoChange): not bounded
// here. With the junk as without, the size stays within the documented
// accuracy (TestAccuracyChanges: mean ≤ 8, p90 ≤ 12 points): mean 5.0,
// p90 11.2.
func TestJunkMovesNoShiftSize(t *testing.T) {
	t.Parallel()
	n := trials(40)
	places := []string{"first", "middle", "last"}
	factors := []float64{0.2, 0.5, 2, 5}
	type key struct {
		growing bool
		factor  float64
	}
	moves := map[key][]float64{}
	var sizeErrs []float64
	lost := 0
	for i := range n {
		for _, growing := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(i), 23))
			g := 0.0
			if growing {
				g = 1 + rng.Float64()
			}
			jump := synth.Jump{Series: 0, Step: "tests", At: 20 + rng.IntN(111), Percent: 50 + 75*rng.Float64()}
			ds, truth := synth.Generate(synth.Config{Seed: uint64(600 + i), Start: accuracyStart, Weeks: 26, PerSeries: 150,
				Series: growthSeries(g)[:1], Noise: 0.25, Jumps: []synth.Jump{jump}, JunkRate: 0.05})
			at := truth.Jumps[0].Index
			clean, ok := shiftAt(changes(t, ds), at)
			if !ok {
				continue // not found without junk: TestAccuracyChanges scores that
			}
			sizeErrs = append(sizeErrs, math.Abs(clean.ChangePercent-truth.Jumps[0].Percent))
			for _, where := range places {
				// 1 is the reference: 3 ordinary deployments added there.
				for _, factor := range append([]float64{1}, factors...) {
					c, ok := shiftAt(changes(t, withJunkAt(ds, where, factor)), at)
					if !ok {
						lost++
						t.Logf("history %d growing %.2f %% a week: the shift of %+.1f %% at %d lost with 3 at ×%g %s",
							i, g, truth.Jumps[0].Percent, at, factor, where)
						continue
					}
					move := math.Abs(c.ChangePercent - clean.ChangePercent)
					moves[key{growing, factor}] = append(moves[key{growing, factor}], move)
					if factor != 1 {
						sizeErrs = append(sizeErrs, math.Abs(c.ChangePercent-truth.Jumps[0].Percent))
					}
					if move > 4 {
						t.Logf("history %d growing %.2f %% a week, truth %+.1f %% at %d: %+.1f %% (%.0f s to %.0f s), with 3 at ×%g %s %+.1f %% (%.0f s to %.0f s)",
							i, g, truth.Jumps[0].Percent, at, clean.ChangePercent, clean.BeforeP50Seconds, clean.AfterP50Seconds,
							factor, where, c.ChangePercent, c.BeforeP50Seconds, c.AfterP50Seconds)
					}
				}
			}
		}
	}
	var junkMoves []float64
	for _, growing := range []bool{false, true} {
		for _, factor := range factors {
			junkMoves = append(junkMoves, moves[key{growing, factor}]...)
		}
		var line []string
		for _, factor := range append([]float64{1}, factors...) {
			m := moves[key{growing, factor}]
			over := 0
			for _, x := range m {
				if x > 4 {
					over++
				}
			}
			line = append(line, fmt.Sprintf("×%g p90 %.1f worst %.1f (%d of %d over 4)", factor, quantile(m, 0.9), quantile(m, 1), over, len(m)))
		}
		t.Logf("shift size moved by 3 deployments, growing %v: %s", growing, strings.Join(line, "; "))
	}
	t.Logf("shift size error with and without the junk: mean %.1f, p90 %.1f, worst %.1f points; %d shifts lost to the junk",
		mean(sizeErrs), quantile(sizeErrs, 0.9), quantile(sizeErrs, 1), lost)
	// The p90s of fewer histories (-short, -race) are measured too
	// loosely to hold to the full run's bounds; the worst of a subset of
	// the histories is no worse than the full run's.
	if p90 := quantile(junkMoves, 0.9); n == 40 && p90 > 6 {
		t.Errorf("3 junk deployments moved the shift size by %.1f points at p90, want ≤ 6", p90)
	}
	for _, factor := range factors {
		if worst := quantile(moves[key{false, factor}], 1); worst > 10 {
			t.Errorf("3 junk deployments at ×%g moved a flat history's shift size by %.1f points, want ≤ 10", factor, worst)
		}
	}
	if m := mean(sizeErrs); m > 8 {
		t.Errorf("size of the shifts off by %.1f points on average with and without junk, want ≤ 8", m)
	}
	if p90 := quantile(sizeErrs, 0.9); n == 40 && p90 > 12 {
		t.Errorf("size of the shifts off by %.1f points at p90 with and without junk, want ≤ 12", p90)
	}
}

// shiftAt is the change within ±3 deployments of real deployment at.
func shiftAt(cs []model.Change, at int) (model.Change, bool) {
	for _, c := range cs {
		if i, ok := realIndex(c.Version); ok && i-at >= -3 && i-at <= 3 {
			return c, true
		}
	}
	return model.Change{}, false
}

// withJunkAt returns ds and 3 deployments factor times as long as the
// real deployment nearest where they go: 20 minutes apart, an hour after
// the last deployment, 4 hours before the first, or 10 minutes after the
// middle one.
func withJunkAt(ds []*model.Deployment, where string, factor float64) []*model.Deployment {
	i, at := len(ds)-1, ds[len(ds)-1].StartedAt.Add(time.Hour)
	switch where {
	case "first":
		i, at = 0, ds[0].StartedAt.Add(-4*time.Hour)
	case "middle":
		i, at = len(ds)/2, ds[len(ds)/2].StartedAt.Add(10*time.Minute)
	}
	like := nearestReal(ds, i)
	var statuses []string
	var seconds []float64
	for _, p := range like.Steps[:len(like.Steps)-1] {
		statuses = append(statuses, p.Status)
		seconds = append(seconds, *p.DurationSeconds*factor)
	}
	out := slices.Clone(ds)
	for k := range 3 {
		out = append(out, synth.Deployment(like.Component, fmt.Sprintf("junk-%d", k), like.Environment,
			at.Add(time.Duration(k)*20*time.Minute), statuses, seconds))
	}
	slices.SortStableFunc(out, func(a, b *model.Deployment) int { return a.StartedAt.Compare(b.StartedAt) })
	return out
}

// nearestReal is the real deployment (not synth's junk) nearest ds[i].
func nearestReal(ds []*model.Deployment, i int) *model.Deployment {
	for d := 0; ; d++ {
		for _, j := range []int{i - d, i + d} {
			if j >= 0 && j < len(ds) && strings.HasPrefix(ds[j].Version, "1.") {
				return ds[j]
			}
		}
	}
}
