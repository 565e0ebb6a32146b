package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// undoneHistory is a flat history of 100 deployments over 26 weeks whose
// tests (four tenths of the deploy) last 1.6 to 2 times as long for the
// deployments [at, at+length) and are back to usual after: a slowdown
// fixed some deploys on. Its truth is the two jumps.
func undoneHistory(seed uint64, noise float64) ([]*model.Deployment, []synth.JumpTruth) {
	rng := rand.New(rand.NewPCG(seed, 77))
	at := 30 + rng.IntN(20)
	length := 12 + rng.IntN(29)
	up := 60 + 40*rng.Float64()
	down := (1/(1+up/100) - 1) * 100
	ds, truth := synth.Generate(synth.Config{Seed: 9000 + seed, Start: accuracyStart, Weeks: 26, PerSeries: 100,
		Series: growthSeries(0)[:1], Noise: noise, JunkRate: 0.05,
		Jumps: []synth.Jump{{Series: 0, Step: "tests", At: at, Percent: up}, {Series: 0, Step: "tests", At: at + length, Percent: down}}})
	return ds, truth.Jumps
}

// foundEdges says which of the jumps cs finds within ±3 deployments, the
// same way (up, then down), and how many changes are at no jump.
func foundEdges(cs []model.Change, jumps []synth.JumpTruth) (hits []bool, other int) {
	hits = make([]bool, len(jumps))
	for _, c := range cs {
		at, _ := realIndex(c.Version)
		hit := false
		for j, jt := range jumps {
			if math.Abs(float64(at-jt.Index)) <= 3 && (c.ChangePercent > 0) == (jt.Percent > 0) {
				hits[j], hit = true, true
			}
		}
		if !hit {
			other++
		}
	}
	return hits, other
}

// TestChangesFindASlowdownUndone: a slowdown undone some deploys later
// splits a history weakly at any one place, since each side of the best
// cut holds both levels: the search stopped there and found neither edge.
// Through stepsd, tests 1.8 times as long for deployments 40 to 54 of 120
// (15 % noise a step) was found in 3 of 4 histories, and 3 deploys five
// times as slow added after the last took it from one of those. Here,
// both edges were found in 96 and 35 of 100 (10 and 25 % noise a step).
func TestChangesFindASlowdownUndone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		noise float64
		want  float64 // share of histories with both edges found
	}{
		{0.10, 0.97},
		{0.25, 0.42},
	} {
		n := trials(100)
		both, none, other := 0, 0, 0
		for i := range n {
			ds, jumps := undoneHistory(uint64(i), c.noise)
			hits, o := foundEdges(changes(t, ds), jumps)
			other += o
			switch {
			case hits[0] && hits[1]:
				both++
			case !hits[0] && !hits[1]:
				none++
			}
		}
		t.Logf("slowdown undone, noise %.2f: both edges found within ±3 deployments in %d of %d, neither in %d; %d other changes", c.noise, both, n, none, other)
		if !reaches(both, n, 100, c.want) {
			t.Errorf("noise %.2f: both edges found in %d of %d histories, want %.0f %%", c.noise, both, n, c.want*100)
		}
	}
}

// TestJunkHidesNoSlowdownUndone: 3 deploys five times as slow (no
// outliers) after the last of a history with a slowdown undone do not
// take its edges away, nor do 3 ordinary ones.
func TestJunkHidesNoSlowdownUndone(t *testing.T) {
	t.Parallel()
	n := trials(40)
	lost := 0
	for i := range n {
		ds, jumps := undoneHistory(uint64(i), 0.10)
		hits, _ := foundEdges(changes(t, ds), jumps)
		like := ds[len(ds)-1]
		bad := slices.Clone(ds)
		var statuses []string
		var seconds []float64
		for _, p := range like.Steps[:len(like.Steps)-1] {
			statuses = append(statuses, p.Status)
			seconds = append(seconds, *p.DurationSeconds*5)
		}
		for j := range 3 {
			bad = append(bad, synth.Deployment(like.Component, fmt.Sprintf("junk-%d", j), like.Environment,
				like.StartedAt.Add(time.Duration(j+1)*time.Hour), statuses, seconds))
		}
		with, _ := foundEdges(changes(t, bad), jumps)
		for j := range hits {
			if hits[j] && !with[j] {
				lost++
				t.Logf("history %d: edge %d found without the junk, lost with it", i, j)
			}
		}
	}
	t.Logf("3 deploys five times as slow after the last: %d edges lost of %d histories", lost, n)
	if lost > n/20 {
		t.Errorf("3 junk deploys took %d edges away in %d histories, want %d at most", lost, n, n/20)
	}
}
