package model_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// sharesOf returns the steps' shares of growth by status (those without
// one left out) and their sum.
func sharesOf(t *testing.T, st model.Stats) (map[string]float64, float64) {
	t.Helper()
	shares := map[string]float64{}
	var sum float64
	for _, ss := range st.Steps {
		if ss.ShareOfGrowthPercent != nil {
			shares[ss.Status] = *ss.ShareOfGrowthPercent
			sum += *ss.ShareOfGrowthPercent
		}
	}
	return shares, sum
}

// TestShareOfGrowthKnownTruth: the shares of growth are the steps'
// seconds a week, each times the part of the deployments it ran in, over
// their sum; they sum to 100 %. Before, a share was the step's compound
// rate times its median seconds over the deployment's: a step growing by
// steady seconds read more than all of the growth, and the shares summed
// to 110 %.
func TestShareOfGrowthKnownTruth(t *testing.T) {
	week := 7 * 24 * time.Hour
	// wobble is a deterministic noise of ±3 %, different for each step.
	wobble := func(i, k int) float64 { return 1 + 0.03*math.Sin(float64(13*i+7*k)) }
	t.Run("a step in half the deployments counts half", func(t *testing.T) {
		// build grows 2 s a week in every deployment, migrate 1 s a week
		// in every other one, tests is flat: 2 and 0.5 s a week of the
		// deployments' growth, 80 % and 20 %.
		var ds []*model.Deployment
		for i := range 120 {
			w := float64(i) * 26 / 120
			statuses := []string{"build", "tests"}
			seconds := []float64{(100 + 2*w) * wobble(i, 0), 40 * wobble(i, 1)}
			if i%2 == 0 {
				statuses = append(statuses, "migrate")
				seconds = append(seconds, (60+w)*wobble(i, 2))
			}
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(w*float64(week))), statuses, seconds))
		}
		st := stats(t, ds)
		if st.Trend.Direction != model.DirectionGrowing {
			t.Fatalf("trend %+v, want growing", st.Trend.RobustTrend)
		}
		shares, sum := sharesOf(t, st)
		t.Logf("shares %v, sum %v; %s", shares, sum, st.Summary)
		for status, want := range map[string]float64{"build": 80, "migrate": 20, "tests": 0} {
			if got, ok := shares[status]; !ok || math.Abs(got-want) > 2 {
				t.Errorf("%s: share of growth %.2f %% (given: %v), want %.0f ± 2", status, got, ok, want)
			}
		}
		if math.Abs(sum-100) > 1e-9 {
			t.Errorf("shares sum to %v %%, want 100", sum)
		}
		if len(st.Trend.Blame) != 1 || st.Trend.Blame[0] != "build" {
			t.Errorf("blame %v, want build alone", st.Trend.Blame)
		}
	})
	t.Run("a step growing by steady seconds is all of the growth", func(t *testing.T) {
		// The deploy grows exactly 2 % a week from 600 s, all of it in
		// migrate, from 60 to 221 s in 12 weeks; the other steps are flat.
		// Before: migrate 111 %, the shares 110 % together.
		var ds []*model.Deployment
		for i := range 60 {
			w := float64(i) / 5
			total := 600 * math.Pow(1.02, w)
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(w*float64(week))),
				[]string{"build", "tests", "migrate", "rollout"}, []float64{300, 180, total - 540, 60}))
		}
		st := stats(t, ds)
		if st.Trend.Direction != model.DirectionGrowing || math.Abs(st.Trend.GrowthPercentPerWeek-2) > 0.01 {
			t.Fatalf("trend %+v, want growing 2 %% a week", st.Trend.RobustTrend)
		}
		shares, sum := sharesOf(t, st)
		t.Logf("shares %v, sum %v; %s", shares, sum, st.Summary)
		if math.Abs(shares["migrate"]-100) > 1e-9 || math.Abs(sum-100) > 1e-9 {
			t.Errorf("migrate's share of growth %v %%, the shares' sum %v %%, want 100 and 100 (%v)", shares["migrate"], sum, shares)
		}
		if want := "`migrate` accounts for 100 % of the growth"; !strings.Contains(st.Summary, want) {
			t.Errorf("summary %q, want %q", st.Summary, want)
		}
	})
	t.Run("a shrinking step has a negative share", func(t *testing.T) {
		// tests grows 3 s a week, build shrinks 1 s a week: +150 % and
		// −50 %, summing to 100 %.
		var ds []*model.Deployment
		for i := range 120 {
			w := float64(i) * 26 / 120
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(w*float64(week))),
				[]string{"build", "tests"}, []float64{(200 - w) * wobble(i, 0), (100 + 3*w) * wobble(i, 1)}))
		}
		st := stats(t, ds)
		shares, sum := sharesOf(t, st)
		t.Logf("shares %v, sum %v; %s", shares, sum, st.Summary)
		if math.Abs(shares["tests"]-150) > 5 || math.Abs(shares["build"]+50) > 5 || math.Abs(sum-100) > 1e-9 {
			t.Errorf("shares %v, sum %v, want tests 150 ± 5, build -50 ± 5, sum 100", shares, sum)
		}
	})
	t.Run("growth in the waits between steps falls back", func(t *testing.T) {
		// The steps are flat (±3 %), the wait after build grows 3 s a
		// week: the steps' seconds a week explain none of the deployment's
		// growth, and spread over them their noise would read as 100 %.
		// The shares fall back to the steps' rates times their seconds,
		// small, and no step is blamed.
		var ds []*model.Deployment
		for i := range 120 {
			w := float64(i) * 26 / 120
			d := synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(w*float64(week))),
				[]string{"build", "build-done", "tests", "rollout"}, []float64{200 * wobble(i, 0), 60 + 3*w, 200 * wobble(i, 1), 100 * wobble(i, 2)})
			for k := 1; k < len(d.Steps); k++ {
				d.Steps[k].Idle = model.EndsPhase(d.Steps[k-1].Status, d.Steps[k].Status)
			}
			ds = append(ds, d)
		}
		st := stats(t, ds)
		if st.Trend.Direction != model.DirectionGrowing {
			t.Fatalf("trend %+v, want growing", st.Trend.RobustTrend)
		}
		shares, sum := sharesOf(t, st)
		t.Logf("shares %v, sum %v; %s", shares, sum, st.Summary)
		for status, share := range shares {
			if math.Abs(share) > 10 {
				t.Errorf("%s: share of growth %.1f %%, want under 10 %% either way: the waits grow (%v)", status, share, shares)
			}
		}
		if len(shares) != 3 || len(st.Trend.Blame) != 0 {
			t.Errorf("shares %v, blame %v: want the three steps' shares and no step blamed", shares, st.Trend.Blame)
		}
	})
}
