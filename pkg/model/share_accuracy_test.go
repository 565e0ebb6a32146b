package model_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// shareTrials is how many histories each case of TestAccuracyShares
// scores: STEPS_ACCURACY_TRIALS when set, else a quick count (fewer under
// -short and -race).
func shareTrials() int {
	if n, err := strconv.Atoi(os.Getenv("STEPS_ACCURACY_TRIALS")); err == nil && n > 0 {
		return n
	}
	return trials(shareFull)
}

// shareFull is TestAccuracyShares' count of histories a case without
// -race or -short: the count its figures are checked on.
const shareFull = 60

// oldShares is the rule the shares of growth had before they were seconds
// a week, recomputed from what the stats give: a step's compound rate
// times its typical seconds (its median where it ran times the part of
// the measured deployments it ran in), over the deployment's rate times
// the steps' typical seconds summed; and the blame it made (the steps
// whose own growth holds, largest share first, until half the growth).
// The median is the p50 of its phases: the same figure where no step runs
// twice in a deployment, as in these histories.
func oldShares(st model.Stats) (map[string]float64, string) {
	measured := float64(st.Trend.Points)
	typical := map[string]float64{}
	var sum float64
	for _, ss := range st.Steps {
		if ss.P50Seconds == nil || measured == 0 {
			continue
		}
		typical[ss.Status] = *ss.P50Seconds * float64(ss.Count) / measured
		sum += typical[ss.Status]
	}
	depGrowth := st.Trend.GrowthPercentPerWeek / 100 * sum
	if st.Trend.Direction != model.DirectionGrowing || depGrowth <= 0 {
		return nil, ""
	}
	shares := map[string]float64{}
	var order []model.StepStats
	for _, ss := range st.Steps {
		if _, ok := typical[ss.Status]; !ok {
			continue
		}
		shares[ss.Status] = ss.Trend.GrowthPercentPerWeek / 100 * typical[ss.Status] / depGrowth * 100
		if shares[ss.Status] > 0 && ss.Trend.Direction == model.DirectionGrowing {
			order = append(order, ss)
		}
	}
	slices.SortStableFunc(order, func(x, y model.StepStats) int {
		return cmp.Or(cmp.Compare(shares[y.Status], shares[x.Status]), cmp.Compare(x.Status, y.Status))
	})
	var held float64
	for _, ss := range order {
		if held += shares[ss.Status]; held >= 50 {
			return shares, order[0].Status
		}
	}
	return shares, ""
}

// shareScore gathers one rule's scores over the histories of a case.
type shareScore struct {
	errs       []float64 // |share − truth| of every step, points
	sums       []float64
	right, non int // most-blamed step the true one; no step blamed
}

// add scores one history, returning its mean share error.
func (s *shareScore) add(shares map[string]float64, first string, truth map[string]float64) float64 {
	var sum, err float64
	for status, want := range truth {
		e := math.Abs(shares[status] - want)
		s.errs = append(s.errs, e)
		err += e / float64(len(truth))
		sum += shares[status]
	}
	s.sums = append(s.sums, sum)
	switch {
	case first == "":
		s.non++
	case truth[first] == slices.Max(mapValues(truth)):
		s.right++
	}
	return err
}

func mapValues(m map[string]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestAccuracyShares scores the shares of growth and the step blamed
// first against the truth of synthetic histories: each step's growth in
// seconds a week, averaged over the deployments (0 in those it did not
// run in), over their sum. The old rule (oldShares) is scored on the same
// histories. Each history is one component in one environment (a team
// asking about its own; the last case three), 120 deployments over 26
// weeks, four steps (30, 40, 10 and 20 % of 10 minutes) with 25 %
// lognormal noise a step; one step, at random, grows fast and the others
// little or shrink. With junk: 5 % test deploys under a second (one of
// them stuck for hours), a burst of 10 one-second deploys (all outliers),
// and 3 deploys at one end whose one step lasted 20 times as long (no
// outliers: absurd points the fits must live with).
//
//	STEPS_ACCURACY_TRIALS=1000 go test ./pkg/model -run TestAccuracyShares -count=1 -v
func TestAccuracyShares(t *testing.T) {
	t.Parallel()
	n := shareTrials()
	names := []string{"build", "tests", "migrate", "rollout"}
	type shape int
	const (
		compound shape = iota // every step grows like interest
		steady                // every step by steady seconds a week
		mixed                 // each step one way or the other
	)
	cases := []struct {
		name     string
		shape    shape
		partTime bool // two steps run in 30 to 80 % of the deployments
		junk     bool
		series   int
		// maxErr bounds the new rule's mean share error, points: what it
		// scores over 1,000 histories, with room for the quick count.
		maxErr float64
	}{
		{"compound growth, no junk", compound, false, false, 1, 8},
		{"compound growth, junk", compound, false, true, 1, 8},
		{"steady seconds a week, junk", steady, false, true, 1, 12},
		{"mixed, two steps in 30–80 % of deployments, junk", mixed, true, true, 1, 11},
		{"mixed, three series together, junk", mixed, false, true, 3, 7},
	}
	t.Logf("shares of growth, %d histories a case: old rule → new", n)
	t.Logf("| Case | Read growing | Mean share error, points | p90 | Blamed first is the true one | None blamed | Shares sum, p5–p95 | New worse by over 2 points | New fell back |")
	t.Logf("|---|---|---|---|---|---|---|---|---|")
	for ci, c := range cases {
		var old, now shareScore
		growing, worse, fellBack := 0, 0, 0
		for i := range n {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(100+ci)))
			culprit := rng.IntN(4)
			steps := make([]synth.Step, 4)
			for k, share := range []float64{0.3, 0.4, 0.1, 0.2} {
				steps[k] = step(names[k], share, 0)
				form := c.shape
				if form == mixed {
					form = shape(rng.IntN(2))
				}
				// Fast: 2 to 5 % a week of its seconds, or 1.5 to 6 s a
				// week; slow: −0.5 to +1 % a week, or −0.5 to +1 s a week.
				fast := k == culprit
				switch {
				case form == compound && fast:
					steps[k].GrowthPercentPerWeek = 2 + 3*rng.Float64()
				case form == compound:
					steps[k].GrowthPercentPerWeek = -0.5 + 1.5*rng.Float64()
				case fast:
					steps[k].SecondsPerWeek = 1.5 + 4.5*rng.Float64()
				default:
					steps[k].SecondsPerWeek = -0.5 + 1.5*rng.Float64()
				}
			}
			if c.partTime {
				for _, k := range rng.Perm(4)[:2] {
					steps[k].Runs = 0.3 + 0.5*rng.Float64()
				}
			}
			series := []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 600, Steps: steps}}
			if c.series == 3 {
				series = append(series,
					synth.Series{Component: "api", Environment: "staging", BaseSeconds: 300, Steps: steps},
					synth.Series{Component: "web", Environment: "production", BaseSeconds: 900, Steps: steps})
			}
			cfg := synth.Config{Seed: uint64(5000 + i), Start: accuracyStart, Weeks: 26, PerSeries: 120, Series: series, Noise: 0.25}
			if c.junk {
				cfg.JunkRate, cfg.Bursts = 0.05, 1
			}
			ds, truth := synth.Generate(cfg)
			if c.junk {
				ds = withStepJunk(ds, rng.IntN(2) == 0, names[rng.IntN(4)], 20)
			}
			var total float64
			for _, g := range truth.StepGrowthSecondsPerWeek {
				total += g
			}
			want := map[string]float64{}
			for status, g := range truth.StepGrowthSecondsPerWeek {
				want[status] = g / total * 100
			}
			st := stats(t, ds)
			if st.Trend.Direction != model.DirectionGrowing {
				continue
			}
			growing++
			shares, sum := map[string]float64{}, 0.0
			for _, ss := range st.Steps {
				if ss.ShareOfGrowthPercent != nil {
					shares[ss.Status] = *ss.ShareOfGrowthPercent
					sum += *ss.ShareOfGrowthPercent
				}
			}
			first := ""
			if len(st.Trend.Blame) > 0 {
				first = st.Trend.Blame[0]
			}
			nowErr := now.add(shares, first, want)
			if math.Abs(sum-100) > 1e-6 {
				// The steps' seconds a week explain under a quarter of the
				// deployment's: the old rule (shareRule).
				fellBack++
				t.Logf("%s, history %d: shares of growth sum to %.2f %%: fell back (%v)", c.name, i, sum, shares)
			}
			oldShare, oldFirst := oldShares(st)
			if nowErr > old.add(oldShare, oldFirst, want)+2 {
				worse++
			}
		}
		if growing == 0 {
			t.Errorf("%s: no history read growing", c.name)
			continue
		}
		pct := func(k int) string { return fmt.Sprintf("%.0f %%", float64(k)*100/float64(growing)) }
		oldErr, nowErr := mean(old.errs), mean(now.errs)
		t.Logf("| %s | %d of %d | %.1f → %.1f | %.1f → %.1f | %s → %s | %s → %s | %.0f–%.0f → %.0f–%.0f | %s | %s |",
			c.name, growing, n, oldErr, nowErr, quantile(old.errs, 0.9), quantile(now.errs, 0.9),
			pct(old.right), pct(now.right), pct(old.non), pct(now.non),
			quantile(old.sums, 0.05), quantile(old.sums, 0.95), quantile(now.sums, 0.05), quantile(now.sums, 0.95), pct(worse), pct(fellBack))
		if fellBack*50 > growing {
			t.Errorf("%s: fell back to the old rule in %d of %d growing histories, want 2 %% at most: the steps are all the deployment", c.name, fellBack, growing)
		}
		// The figures are checked on the full count only: under -race a
		// case scores 6 histories, of which as few as one may read growing,
		// and one history's error or blame is no rate. Fewer histories check
		// the code (shares sum to 100 %, the fallback stays rare).
		if n < shareFull {
			continue
		}
		if nowErr > c.maxErr || nowErr > oldErr+0.5 {
			t.Errorf("%s: mean share error %.1f points (old rule %.1f), want ≤ %.0f and no worse than the old rule", c.name, nowErr, oldErr, c.maxErr)
		}
		if !reaches(now.right, growing, n, 0.85) {
			t.Errorf("%s: the true step blamed first in %d of %d growing histories, want ≥ 85 %%", c.name, now.right, growing)
		}
	}
}
