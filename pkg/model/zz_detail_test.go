package model_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

func TestZZDetail(t *testing.T) {
	for _, seed := range []uint64{100, 101, 102} {
		cfg := synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 120, Series: growthSeries(0)[:1], Noise: 0.25}
		ds, _ := synth.Generate(cfg)
		st0 := stats(t, ds)
		t.Logf("seed %d clean: %s", seed, st0.Summary)
		for _, c := range changes(t, ds) {
			t.Logf("  clean change %s %s %.0f->%.0f %.0f%% p %.3f", c.Time.Format(time.DateTime), c.Version, c.BeforeP50Seconds, c.AfterP50Seconds, c.ChangePercent, c.PValue)
		}
		for _, f := range []float64{5, 3, 2} {
			bad := slices.Clone(ds)
			end := lastStart(ds)
			for i := range 3 {
				bad = append(bad, scaled(ds[len(ds)-1-i], fmt.Sprintf("junk-%d", i), end.Add(time.Duration(i+1)*time.Hour), f, nil))
			}
			st1 := stats(t, bad)
			t.Logf("seed %d 3x%.0f at end: %s", seed, f, st1.Summary)
			for _, c := range changes(t, bad) {
				t.Logf("  change %s %s %.0f->%.0f %.0f%% p %.3f", c.Time.Format(time.DateTime), c.Version, c.BeforeP50Seconds, c.AfterP50Seconds, c.ChangePercent, c.PValue)
			}
		}
	}
	_ = model.DirectionFlat
}
