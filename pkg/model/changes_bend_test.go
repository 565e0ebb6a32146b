package model_test

import (
	"fmt"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
)

// bendingSeries is a series whose log duration curves up without a
// shift: build shrinks 2 % a week while tests grows 5 % a week.
func bendingSeries() []synth.Series {
	return []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 600, Steps: []synth.Step{
		step("build", 0.5, -2), step("tests", 1.0/3, 5), step("rollout", 1.0/6, 0)}}}
}

// TestChangesReadNoShiftInABend: a deployment whose steps grow and shrink
// at steady rates, none at once, speeds up or slows down; it does not
// shift. One slope for the series left its latest deployments above it,
// and /v1/changes cut them off as a shift of +12 to +27 % ("Deploy time
// shifted at once on …" in the summary) in 13 of 40 such histories, at
// 10 % and at 25 % noise a step, against 0 or 1 of 40 flat or steadily
// growing ones. A shift in the same bending histories is found as often
// as before: rollout taking 2.5 times as long (a 16 to 25 % shift of the
// deployment), within ±3 deployments in 40 of 40 at 10 % noise, 22 of 40
// at 25 %.
func TestChangesReadNoShiftInABend(t *testing.T) {
	const histories = 40
	for _, c := range []struct {
		noise float64
		found int // at least, of histories
	}{{0.10, 39}, {0.25, 20}} {
		noise := c.noise
		t.Run(fmt.Sprintf("noise %.2f", noise), func(t *testing.T) {
			bent, found := 0, 0
			for seed := range histories {
				cfg := synth.Config{Seed: uint64(500 + seed), Start: accuracyStart, Weeks: 26, PerSeries: 120,
					Series: bendingSeries(), Noise: noise}
				ds, _ := synth.Generate(cfg)
				if cs := changes(t, ds); len(cs) > 0 {
					bent++
					t.Logf("history %d: %d changes, the first %+.1f %% at %s", seed, len(cs), cs[0].ChangePercent, cs[0].Version)
				}
				cfg.Jumps = []synth.Jump{{Series: 0, Step: "rollout", At: 20 + seed*2, Percent: 150}}
				ds, truth := synth.Generate(cfg)
				for _, c := range changes(t, ds) {
					if j := truth.Jumps[0]; abs(versionIndex(c.Version)-j.Index) <= 3 {
						found++
						break
					}
				}
			}
			t.Logf("noise %.2f: a change in %d of %d bending histories without a shift; a shift of rollout found within ±3 in %d of %d",
				noise, bent, histories, found, histories)
			if bent > 4 {
				t.Errorf("a change in %d of %d bending histories without a shift, want 4 at most", bent, histories)
			}
			if found < c.found {
				t.Errorf("a shift in a bending history found in %d of %d, want %d at least", found, histories, c.found)
			}
		})
	}
}

// versionIndex is the index of a synth version "1.i.0".
func versionIndex(v string) int {
	var i int
	if _, err := fmt.Sscanf(v, "1.%d.0", &i); err != nil {
		return -1 << 20
	}
	return i
}
