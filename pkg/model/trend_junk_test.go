package model_test

import (
	"fmt"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// withJunk returns ds and 3 deployments like the last (or first) three,
// factor times as long, an hour apart after the last (or before the
// first): too close to the usual for outliers.
func withJunk(ds []*model.Deployment, atEnd bool, factor float64) []*model.Deployment {
	return withStepJunk(ds, atEnd, "", factor)
}

// TestJunkTurnsNoDirection: 3 deployments 3 or 5 times as slow at the end
// of a flat history (or a seventh as long at its start) are no outliers,
// and pulled the trend's interval above 0: "growing" in 27 to 31 of 100
// histories of 20 deployments, 18 of 100 of 120. The direction must hold
// without the 3 deployments that favour it most.
func TestJunkTurnsNoDirection(t *testing.T) {
	const histories = 40
	for _, per := range []int{20, 40, 120} {
		for _, junk := range []struct {
			atEnd  bool
			factor float64
		}{{true, 3}, {true, 5}, {false, 0.15}} {
			t.Run(fmt.Sprintf("%d deployments, 3 at ×%g", per, junk.factor), func(t *testing.T) {
				turned := 0
				for seed := range histories {
					weeks := float64(per) / 4
					if per == 120 {
						weeks = 26
					}
					ds, _ := synth.Generate(synth.Config{Seed: uint64(100 + seed), Start: accuracyStart, Weeks: weeks, PerSeries: per,
						Series: growthSeries(0)[:1], Noise: 0.25})
					clean := stats(t, ds).Trend
					bad := stats(t, withJunk(ds, junk.atEnd, junk.factor)).Trend
					if bad.Outliers != 0 {
						t.Fatalf("history %d: %d outliers: the junk must be under the outlier cut", seed, bad.Outliers)
					}
					if bad.Direction == model.DirectionGrowing && clean.Direction != model.DirectionGrowing {
						turned++
						t.Logf("history %d: %s with the junk (%+.2f %%, %+.2f to %+.2f), %s without", seed, bad.Direction,
							bad.GrowthPercentPerWeek, bad.GrowthPercentPerWeekLow, bad.GrowthPercentPerWeekHigh, clean.Direction)
					}
				}
				if turned > 1 {
					t.Errorf("3 junk deployments turned a flat history growing in %d of %d, want 1 at most", turned, histories)
				}
			})
		}
	}
}
