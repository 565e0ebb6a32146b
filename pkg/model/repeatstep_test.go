package model_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// TestStepSentTwiceCountsOnce: a step met twice in a deployment is one
// sample of its step's figures, its seconds summed, as its trend, total
// and change already read it. A CSV imported twice without dedupe (each
// step twice at its instant, a phase of 0 s then the real one) made
// rollout's p50 162 s where every deploy's rollout took 150 or 390 s, and
// its count 95 over 80 deployments (a walk of the last 15 of 80 deploys sent
// twice; this test holds 40, with both kinds); a retried tests step read as two
// half-length ones.
func TestStepSentTwiceCountsOnce(t *testing.T) {
	names := []string{"build", "tests", "rollout"}
	var clean, twice []*model.Deployment
	for i := range 40 {
		at := accuracyStart.AddDate(0, 0, i*2).Add(9 * time.Hour)
		rollout := 150.0
		if i >= 20 {
			rollout = 390
		}
		secs := []float64{200 + float64(i%5), 250 + float64(i%7), rollout + float64(i%3)}
		v := fmt.Sprintf("2.%d.0", i)
		clean = append(clean, synth.Deployment("web", v, "production", at, names, secs))
		if i < 25 {
			twice = append(twice, synth.Deployment("web", v, "production", at, names, secs))
			continue
		}
		if i%2 == 0 { // imported twice: every step again at its instant
			twice = append(twice, synth.Deployment("web", v, "production", at,
				[]string{"build", "build", "tests", "tests", "rollout", "rollout"},
				[]float64{0, secs[0], 0, secs[1], 0, secs[2]}))
			continue
		}
		// tests retried: two runs that make the deploy's time in tests
		twice = append(twice, synth.Deployment("web", v, "production", at,
			[]string{"build", "tests", "tests", "rollout"}, []float64{secs[0], secs[1] / 3, secs[1] * 2 / 3, secs[2]}))
	}
	want, got := stats(t, clean), stats(t, twice)
	for i, c := range want.Steps {
		g := got.Steps[i]
		if g.Status != c.Status || g.Count != c.Count || math.Abs(*g.P50Seconds-*c.P50Seconds) > 1e-3 ||
			math.Abs(*g.P90Seconds-*c.P90Seconds) > 1e-3 || math.Abs(*g.MeanSeconds-*c.MeanSeconds) > 1e-3 {
			t.Errorf("step %s: count %d, p50 %.1f s, p90 %.1f s, mean %.1f s; want %s as each deploy's time in it: %d, %.1f s, %.1f s, %.1f s",
				g.Status, g.Count, *g.P50Seconds, *g.P90Seconds, *g.MeanSeconds, c.Status, c.Count, *c.P50Seconds, *c.P90Seconds, *c.MeanSeconds)
		}
		for j, cb := range c.Buckets {
			if gb := g.Buckets[j]; gb.Count != cb.Count || gb.Outliers != cb.Outliers {
				t.Errorf("step %s, bucket %s: count %d (%d outliers), want %d (%d)", g.Status, gb.Start.Format(time.DateOnly), gb.Count, gb.Outliers, cb.Count, cb.Outliers)
			}
		}
	}
}

// TestStepSentTwiceLongDeployment: in a deployment of more phases than
// are scanned for repeats (mergedAll sums them once), a step met twice is
// still one sample of its seconds summed, to the microsecond.
func TestStepSentTwiceLongDeployment(t *testing.T) {
	var names []string
	for i := range 70 {
		names = append(names, fmt.Sprintf("host%02d", i))
	}
	var clean, twice []*model.Deployment
	for i := range 30 {
		at := accuracyStart.AddDate(0, 0, i).Add(9 * time.Hour)
		secs := make([]float64, len(names))
		for k := range secs {
			secs[k] = 10 + float64((i+k)%7) + 0.000001*float64(k)
		}
		v := fmt.Sprintf("3.%d.0", i)
		clean = append(clean, synth.Deployment("api", v, "production", at, append([]string{"tests"}, names...), append([]float64{100.123457}, secs...)))
		twice = append(twice, synth.Deployment("api", v, "production", at, append([]string{"tests", "tests"}, names...), append([]float64{0.000001, 100.123456}, secs...)))
	}
	want, got := stats(t, clean), stats(t, twice)
	for i, c := range want.Steps {
		g := got.Steps[i]
		if g.Status != c.Status || g.Count != c.Count || math.Abs(*g.P50Seconds-*c.P50Seconds) > 1e-6 || math.Abs(*g.MeanSeconds-*c.MeanSeconds) > 1e-6 {
			t.Errorf("step %s: count %d, p50 %.6f s, mean %.6f s; want %s: %d, %.6f s, %.6f s",
				g.Status, g.Count, *g.P50Seconds, *g.MeanSeconds, c.Status, c.Count, *c.P50Seconds, *c.MeanSeconds)
		}
	}
}
