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

type attack struct {
	name string
	f    func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment
}

func lastStart(ds []*model.Deployment) time.Time {
	t := ds[0].StartedAt
	for _, d := range ds {
		if d.StartedAt.After(t) {
			t = d.StartedAt
		}
	}
	return t
}

func scaled(d *model.Deployment, version string, at time.Time, f float64, stepF map[string]float64) *model.Deployment {
	var sts []string
	var secs []float64
	for _, p := range d.Steps[:len(d.Steps)-1] {
		sts = append(sts, p.Status)
		m := f
		if v, ok := stepF[p.Status]; ok {
			m = v
		}
		secs = append(secs, *p.DurationSeconds*m)
	}
	return synth.Deployment(d.Component, version, d.Environment, at, sts, secs)
}

func TestZZAttack(t *testing.T) {
	nTrials := 100
	for _, per := range []int{20, 40, 120} {
		for _, g := range []float64{0, 0.5, 1.5} {
			attacks := []attack{
				{"3x5 slow at end", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					end := lastStart(ds)
					for i := range 3 {
						ds = append(ds, scaled(ds[len(ds)-1-i], fmt.Sprintf("junk-%d", i), end.Add(time.Duration(i+1)*time.Hour), 5, nil))
					}
					return ds
				}},
				{"3x8 slow at end", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					end := lastStart(ds)
					for i := range 3 {
						ds = append(ds, scaled(ds[len(ds)-1-i], fmt.Sprintf("junk-%d", i), end.Add(time.Duration(i+1)*time.Hour), 8, nil))
					}
					return ds
				}},
				{"3x0.15 fast at end", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					end := lastStart(ds)
					for i := range 3 {
						ds = append(ds, scaled(ds[len(ds)-1-i], fmt.Sprintf("junk-%d", i), end.Add(time.Duration(i+1)*time.Hour), 0.15, nil))
					}
					return ds
				}},
				{"3x0.15 fast at start", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					st := ds[0].StartedAt
					for i := range 3 {
						ds = append(ds, scaled(ds[i], fmt.Sprintf("junk-%d", i), st.Add(-time.Duration(i+1)*time.Hour), 0.15, nil))
					}
					return ds
				}},
				{"3 clock skew -1y", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					for i := range 3 {
						d := ds[len(ds)-1-i]
						ds = append(ds, scaled(d, fmt.Sprintf("junk-%d", i), d.StartedAt.AddDate(-1, 0, 0), 1, nil))
					}
					return ds
				}},
				{"3 clock skew +1y", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					for i := range 3 {
						d := ds[i]
						ds = append(ds, scaled(d, fmt.Sprintf("junk-%d", i), d.StartedAt.AddDate(1, 0, 0), 1, nil))
					}
					return ds
				}},
				{"3 migrate x40 at end", func(ds []*model.Deployment, rng *rand.Rand) []*model.Deployment {
					end := lastStart(ds)
					for i := range 3 {
						ds = append(ds, scaled(ds[len(ds)-1-i], fmt.Sprintf("junk-%d", i), end.Add(time.Duration(i+1)*time.Hour), 1, map[string]float64{"migrate": 40}))
					}
					return ds
				}},
			}
			for _, a := range attacks {
				dirChanged, blameChanged, cpChanged, wrongSign := 0, 0, 0, 0
				var shift []float64
				for i := range nTrials {
					cfg := synth.Config{Seed: uint64(i + 100), Start: accuracyStart, Weeks: 26 * float64(per) / 120, PerSeries: per, Series: growthSeries(g)[:1], Noise: 0.25}
					if per < 120 {
						cfg.Weeks = float64(per) / 4
					}
					ds, _ := synth.Generate(cfg)
					st0 := stats(t, ds)
					c0 := changes(t, ds)
					bad := a.f(slices.Clone(ds), rand.New(rand.NewPCG(uint64(i), 1)))
					st1 := stats(t, bad)
					c1 := changes(t, bad)
					if st0.Trend.Direction != st1.Trend.Direction {
						dirChanged++
					}
					if (st1.Trend.Direction == model.DirectionShrinking && g > 0) || (st1.Trend.Direction == model.DirectionGrowing && g <= 0) {
						wrongSign++
					}
					if !slices.Equal(st0.Trend.Blame, st1.Trend.Blame) && len(st0.Trend.Blame) > 0 {
						blameChanged++
					}
					if len(c0) != len(c1) {
						cpChanged++
					}
					shift = append(shift, st1.Trend.GrowthPercentPerWeek-st0.Trend.GrowthPercentPerWeek)
				}
				ab := make([]float64, len(shift))
				for i, s := range shift {
					if s < 0 {
						s = -s
					}
					ab[i] = s
				}
				t.Logf("per=%d g=%.1f %-22s dir changed %3d wrongSign %3d blame changed %3d changes count changed %3d | growth shift p50 %.2f p90 %.2f max %.2f",
					per, g, a.name, dirChanged, wrongSign, blameChanged, cpChanged, quantile(slices.Clone(ab), 0.5), quantile(slices.Clone(ab), 0.9), quantile(ab, 1))
			}
		}
	}
}
