package model_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestJunkMakesNoChange: three junk deployments, too close to the usual
// for outliers (a fifth to five times as long), are no change point. At
// either end of a history they made a segment of the last (or first) 5
// deployments, 3 of them junk, and a change of +80 to +450 % at a normal
// deployment next to them, in 49 of 50 flat histories.
func TestJunkMakesNoChange(t *testing.T) {
	const histories = 20
	junk := func(ds []*model.Deployment, where string, factor float64) []*model.Deployment {
		at := ds[len(ds)-1].StartedAt.Add(time.Hour)
		if where == "first" {
			at = ds[0].StartedAt.Add(-4 * time.Hour)
		}
		out := slices.Clone(ds)
		like := ds[len(ds)/2]
		var statuses []string
		var seconds []float64
		for _, p := range like.Steps[:len(like.Steps)-1] {
			statuses = append(statuses, p.Status)
			seconds = append(seconds, *p.DurationSeconds*factor)
		}
		for i := range 3 {
			out = append(out, synth.Deployment(like.Component, fmt.Sprintf("junk-%d", i), like.Environment,
				at.Add(time.Duration(i)*20*time.Minute), statuses, seconds))
		}
		return out
	}
	for _, where := range []string{"last", "first"} {
		for _, factor := range []float64{0.2, 0.5, 2, 5} {
			t.Run(fmt.Sprintf("%s 3 at ×%g", where, factor), func(t *testing.T) {
				made := 0
				for seed := range histories {
					ds, _ := synth.Generate(synth.Config{Seed: uint64(500 + seed), Start: accuracyStart, Weeks: 26, PerSeries: 120,
						Series: growthSeries(0)[:1], Noise: 0.25})
					before := len(changes(t, ds))
					if cs := changes(t, junk(ds, where, factor)); len(cs) > before {
						made++
						t.Logf("history %d: %d changes, %d without the junk: %+v", seed, len(cs), before, cs[len(cs)-1])
					}
				}
				if made > 1 {
					t.Errorf("3 junk deployments made a change in %d of %d histories, want 1 at most", made, histories)
				}
			})
		}
	}
	// In the middle of a history, 3 deploys 2 to 5 times as slow (or half
	// as long) made a step for the least-squares fit that first removes
	// the growth: its slope left a ramp the search cut, a change of 12 to
	// 22 % in 11 to 15 of 50 histories.
	for _, factor := range []float64{0.3, 0.5, 2, 3, 5} {
		t.Run(fmt.Sprintf("middle 3 at ×%g", factor), func(t *testing.T) {
			made := 0
			for seed := range histories {
				for _, g := range []float64{0, 1.5} {
					ds, _ := synth.Generate(synth.Config{Seed: uint64(500 + seed), Start: accuracyStart, Weeks: 26, PerSeries: 120,
						Series: growthSeries(g)[:1], Noise: 0.25})
					before := len(changes(t, ds))
					bad := slices.Clone(ds)
					for i, like := range ds[60:63] {
						var statuses []string
						var seconds []float64
						for _, p := range like.Steps[:len(like.Steps)-1] {
							statuses = append(statuses, p.Status)
							seconds = append(seconds, *p.DurationSeconds*factor)
						}
						bad = append(bad, synth.Deployment(like.Component, fmt.Sprintf("junk-%d", i), like.Environment,
							ds[60].StartedAt.Add(time.Duration(i+1)*10*time.Minute), statuses, seconds))
					}
					if cs := changes(t, bad); len(cs) > before {
						made++
						t.Logf("history %d growing %g %%: %d changes, %d without the junk: %+v", seed, g, len(cs), before, cs[len(cs)-1])
					}
				}
			}
			if made > 2 {
				t.Errorf("3 junk deployments made a change in %d of %d histories, want 2 at most", made, 2*histories)
			}
		})
	}
	t.Run("a shift 8 deployments old is found", func(t *testing.T) {
		var ds []*model.Deployment
		for i := range 60 {
			s := 100 * (1 + 0.04*float64(i%5-2))
			if i >= 52 {
				s *= 1.5
			}
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.AddDate(0, 0, i),
				[]string{"build", "tests"}, []float64{s / 2, s / 2}))
		}
		cs := changes(t, ds)
		if len(cs) != 1 || cs[0].Version != "1.52.0" {
			t.Fatalf("changes %+v, want one at 1.52.0", cs)
		}
		if len(changes(t, ds[:59])) != 0 {
			t.Errorf("a shift 7 deployments old found: 8 on each side are needed")
		}
	})
}

// TestChangesMoveTheMinimum: every change reported moves the typical
// duration by ChangeMinPercent or more. The rule was checked on the
// values the search used (growth removed by its last slope), the size
// reported read with another growth: changes of 8.6 % and 9.3 % were
// reported in these histories (shifts of 27 to 36 % of tests, 40 % of the
// time, on series growing ±0.3 % a week).
func TestChangesMoveTheMinimum(t *testing.T) {
	reported := 0
	for i := range 120 {
		for _, g := range []float64{0, 0.3, -0.3} {
			seed := 9000 + i
			if i == 118 {
				seed = 9176
			} else if i == 119 {
				seed = 9227
			}
			at, pct := 20+(seed-9000)%81, 20+float64((seed-9000)%20)
			ds, _ := synth.Generate(synth.Config{Seed: uint64(seed), Start: accuracyStart, Weeks: 26, PerSeries: 120,
				Series: growthSeries(g)[:1], Noise: 0.25, JunkRate: 0.05,
				Jumps: []synth.Jump{{Series: 0, Step: "tests", At: at, Percent: pct}}})
			for _, c := range changes(t, ds) {
				reported++
				if c.ChangePercent > -model.ChangeMinPercent && c.ChangePercent < model.ChangeMinPercent {
					t.Errorf("history %d growing %+g %% a week: a change of %+.2f %% at %s (%.0f s to %.0f s), want %d %% at least",
						seed, g, c.ChangePercent, c.Version, c.BeforeP50Seconds, c.AfterP50Seconds, model.ChangeMinPercent)
				}
			}
		}
	}
	t.Logf("%d changes reported", reported)
}
