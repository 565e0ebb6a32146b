package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
)

// TestAccuracyTwoChanges: two shifts of deploy time the same way, a
// month or so apart (migrate twice to three times as long, a tenth of
// the deploy: +20 to +30 %; then tests half again to twice as long, four
// tenths: +20 to +40 %), in 130 deployments over 12 weeks, flat or
// growing 1.5 % a week. A line with one step fitted the two shifts as one
// and a growth; that growth, taken out, left no step where the other
// shift was: at 10 % noise a step both were found in 11 of 100 histories
// (the first in 71, the second in 29); at 25 %, in 2.
func TestAccuracyTwoChanges(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		noise, growth float64
		want          float64 // share of histories with both found
	}{
		{0.10, 0, 0.90},
		{0.10, 1.5, 0.90},
		{0.25, 0, 0.30},
	} {
		n := trials(100)
		both, extra := 0, 0
		for i := range n {
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			a := 30 + rng.IntN(20)
			b := a + 30 + rng.IntN(20)
			jumps := []synth.Jump{
				{Series: 0, Step: "migrate", At: a, Percent: 200 + 100*rng.Float64()},
				{Series: 0, Step: "tests", At: b, Percent: 50 + 50*rng.Float64()},
			}
			ds, truth := synth.Generate(synth.Config{Seed: uint64(5000 + i), Start: accuracyStart, Weeks: 12, PerSeries: 130,
				Series: growthSeries(c.growth)[:1], Noise: c.noise, Jumps: jumps})
			var hits [2]bool
			for _, ch := range changes(t, ds) {
				at, _ := realIndex(ch.Version)
				hit := false
				for j, jt := range truth.Jumps {
					if math.Abs(float64(at-jt.Index)) <= 3 && len(ch.Steps) > 0 && ch.Steps[0].Status == jumps[j].Step {
						hits[j], hit = true, true
					}
				}
				if !hit {
					extra++
				}
			}
			if hits[0] && hits[1] {
				both++
			}
		}
		t.Logf("two changes, noise %.2f, growth %.1f %% a week: both found within ±3 deployments, naming their step, in %d of %d; %d other changes",
			c.noise, c.growth, both, n, extra)
		if !reaches(both, n, 100, c.want) {
			t.Errorf("noise %.2f, growth %.1f: both shifts found in %d of %d histories, want ≥ %.0f %%", c.noise, c.growth, both, n, c.want*100)
		}
		if c.noise == 0.10 && extra > n/10 {
			t.Errorf("noise %.2f, growth %.1f: %d other changes in %d histories, want ≤ 1 in 10", c.noise, c.growth, extra, n)
		}
	}
}
