package model_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// withStepJunk returns ds and 3 deployments like the last (or first)
// three, an hour apart after the last (or before the first), whose step
// status lasts factor times as long (every step, with status ""): the
// rest of the deployment as usual.
func withStepJunk(ds []*model.Deployment, atEnd bool, status string, factor float64) []*model.Deployment {
	out := slices.Clone(ds)
	for i := range 3 {
		like, at := ds[len(ds)-1-i], ds[len(ds)-1].StartedAt.Add(time.Duration(i+1)*time.Hour)
		if !atEnd {
			like, at = ds[i], ds[0].StartedAt.Add(-time.Duration(i+1)*time.Hour)
		}
		var statuses []string
		var seconds []float64
		for _, p := range like.Steps[:len(like.Steps)-1] {
			v := *p.DurationSeconds
			if status == "" || p.Status == status {
				v *= factor
			}
			statuses = append(statuses, p.Status)
			seconds = append(seconds, v)
		}
		out = append(out, synth.Deployment(like.Component, fmt.Sprintf("junk-%d", i), like.Environment, at, statuses, seconds))
	}
	return out
}

// TestJunkBlamesNoStep: one step grows 3 to 5 % a week, the others 0 to
// 0.5 %, over 40 deployments. 3 deployments whose one other step lasted
// 3 to 40 times as long, at one end, moved that step's slope and its
// share of growth, not its interval: it was blamed first, in place of
// the step that grew, in 7 to 11 of 100 histories, and a step whose own
// growth did not hold was blamed in 15 to 22. A blamed step's own growth
// must hold, and the steps blamed must make half the growth.
func TestJunkBlamesNoStep(t *testing.T) {
	names := []string{"build", "tests", "migrate", "rollout"}
	const histories = 50
	for _, junk := range []struct {
		atEnd  bool
		factor float64
	}{{true, 3}, {true, 8}, {true, 40}, {false, 1.0 / 8}} {
		t.Run(fmt.Sprintf("3 with one step ×%g", junk.factor), func(t *testing.T) {
			wrong := 0
			for seed := range histories {
				rng := rand.New(rand.NewPCG(uint64(seed), 7))
				series := growthSeries(0)[:1]
				culprit := rng.IntN(4)
				for k := range series[0].Steps {
					series[0].Steps[k].GrowthPercentPerWeek = 0.5 * rng.Float64()
					if k == culprit {
						series[0].Steps[k].GrowthPercentPerWeek = 3 + 2*rng.Float64()
					}
				}
				other := names[(culprit+1+rng.IntN(3))%4]
				ds, _ := synth.Generate(synth.Config{Seed: uint64(1000 + seed), Start: accuracyStart, Weeks: 10, PerSeries: 40,
					Series: series, Noise: 0.25})
				st := stats(t, withStepJunk(ds, junk.atEnd, other, junk.factor))
				var sum float64
				for _, name := range st.Trend.Blame {
					i := slices.IndexFunc(st.Steps, func(s model.StepStats) bool { return s.Status == name })
					ss := st.Steps[i]
					if ss.Trend.Direction != model.DirectionGrowing {
						t.Errorf("history %d: blamed %s, whose own growth does not hold (%+.2f %%, %+.2f to %+.2f)", seed, name,
							ss.Trend.GrowthPercentPerWeek, ss.Trend.GrowthPercentPerWeekLow, ss.Trend.GrowthPercentPerWeekHigh)
					}
					sum += *ss.ShareOfGrowthPercent
				}
				if len(st.Trend.Blame) > 0 && sum < 50 {
					t.Errorf("history %d: blamed %v, %.0f %% of the growth, want at least half", seed, st.Trend.Blame, sum)
				}
				if len(st.Trend.Blame) > 0 && st.Trend.Blame[0] != names[culprit] {
					wrong++
					t.Logf("history %d: blamed %v first, want %s (junk in %s)", seed, st.Trend.Blame, names[culprit], other)
				}
			}
			if wrong > 1 {
				t.Errorf("3 junk deployments had the wrong step blamed first in %d of %d histories, want 1 at most", wrong, histories)
			}
		})
	}
}

// TestJunkInflatesNoShare: tests (four tenths of the deploy) and migrate
// (a tenth) grow 3 % a week over 40 deployments; tests grows four times
// as many seconds. 3 deployments whose migrate lasted 20 or 40 times as
// long, at the end, are no outliers (3 to 5 times the deploy) and made
// migrate's mean, and its share of growth, up to 4 times as large:
// migrate was blamed first in 6 and 13 of 50 histories.
func TestJunkInflatesNoShare(t *testing.T) {
	for _, factor := range []float64{8, 20, 40} {
		t.Run(fmt.Sprintf("migrate ×%g", factor), func(t *testing.T) {
			wrong := 0
			for seed := range 50 {
				series := growthSeries(0)[:1]
				for k, rate := range []float64{0.2, 3, 3, 0.2} {
					series[0].Steps[k].GrowthPercentPerWeek = rate
				}
				ds, _ := synth.Generate(synth.Config{Seed: uint64(2000 + seed), Start: accuracyStart, Weeks: 10, PerSeries: 40,
					Series: series, Noise: 0.25})
				st := stats(t, withStepJunk(ds, true, "migrate", factor))
				if st.Trend.Outliers != 0 {
					t.Fatalf("history %d: %d outliers: the junk must be under the outlier cut", seed, st.Trend.Outliers)
				}
				if len(st.Trend.Blame) > 0 && st.Trend.Blame[0] != "tests" {
					wrong++
					t.Logf("history %d: blamed %v", seed, st.Trend.Blame)
				}
			}
			if wrong > 1 {
				t.Errorf("migrate ×%g in 3 deployments had %d of 50 histories blame another step than tests first, want 1 at most", factor, wrong)
			}
		})
	}
}
