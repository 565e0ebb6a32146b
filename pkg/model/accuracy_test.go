package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// The accuracy of the robust trend, the blame and the change points,
// scored on synthetic histories whose truth is known (internal/synth).
// docs/analysis.md gives the scores; `go test ./pkg/model -run TestAccuracy
// -v` prints them.

var accuracyStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// trials is how many histories each score is measured on: fewer under the
// race detector or -short, where the point is the code, not the figure.
func trials(full int) int {
	if raceEnabled {
		return max(5, full/10)
	}
	if testing.Short() {
		return max(10, full/5)
	}
	return full
}

// reaches reports whether hits of n reach the target rate. On fewer
// histories than the full count (-race, -short) the rate is measured less
// exactly, so it may fall short by two standard errors: those runs check
// the code, the full run checks the figure.
func reaches(hits, n, full int, target float64) bool {
	want := target
	if n < full {
		want -= 2 * math.Sqrt(target*(1-target)/float64(n))
	}
	return float64(hits) >= want*float64(n)
}

// growthSeries is three series of one shape: four steps growing together
// at g % a week.
func growthSeries(g float64) []synth.Series {
	steps := func() []synth.Step {
		return []synth.Step{step("build", 0.3, g), step("tests", 0.4, g), step("migrate", 0.1, g), step("rollout", 0.2, g)}
	}
	return []synth.Series{
		{Component: "api", Environment: "production", BaseSeconds: 600, Steps: steps()},
		{Component: "api", Environment: "staging", BaseSeconds: 300, Steps: steps()},
		{Component: "web", Environment: "production", BaseSeconds: 900, Steps: steps()},
	}
}

func step(status string, share, growth float64) synth.Step {
	return synth.Step{Status: status, Share: share, GrowthPercentPerWeek: growth}
}

func stats(t testing.TB, ds []*model.Deployment) model.Stats {
	t.Helper()
	return statsWith(t, model.StatsOptions{SprintStart: accuracyStart}, ds)
}

// statsWith is the stats of ds under opts.
func statsWith(t testing.TB, opts model.StatsOptions, ds []*model.Deployment) model.Stats {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	for _, d := range ds {
		acc.Add(d)
	}
	return acc.Result()
}

func changes(t testing.TB, ds []*model.Deployment) []model.Change {
	t.Helper()
	opts := model.ChangesOptions{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewChangesAccumulator(opts)
	for _, d := range ds {
		acc.Add(d)
	}
	return acc.Result().Changes
}

// quantile returns the q-quantile of xs (sorted in place).
func quantile(xs []float64, q float64) float64 {
	slices.Sort(xs)
	return model.Percentile(xs, q*100)
}

// TestAccuracyGrowth: 26 weeks of three series of 120 deployments each,
// growing from -1 to +3 % a week, with 25 % lognormal noise per step and 5 %
// junk deployments (under a second, one stuck for hours).
func TestAccuracyGrowth(t *testing.T) {
	t.Parallel()
	n := trials(100)
	var errs, half, seriesErrs, seriesHalf []float64
	flipped, changed, covered, seriesCovered := 0, 0, 0, 0
	for i := range n {
		g := -1 + 4*rand.New(rand.NewPCG(uint64(i), 99)).Float64()
		cfg := synth.Config{Seed: uint64(i), Start: accuracyStart, Weeks: 26, PerSeries: 120, Series: growthSeries(g), Noise: 0.25, JunkRate: 0.05}
		ds, truth := synth.Generate(cfg)
		st := stats(t, ds)
		errs = append(errs, math.Abs(st.Trend.GrowthPercentPerWeek-truth.GrowthPercentPerWeek))
		half = append(half, (st.Trend.GrowthPercentPerWeekHigh-st.Trend.GrowthPercentPerWeekLow)/2)
		if st.Trend.GrowthPercentPerWeekLow <= truth.GrowthPercentPerWeek && truth.GrowthPercentPerWeek <= st.Trend.GrowthPercentPerWeekHigh {
			covered++
		}
		// Each series asked alone (component= and environment=), as a
		// team asks about its own: 120 deployments, not 360. Every step
		// of every series grows g, so g is each series' truth too.
		for _, s := range cfg.Series {
			var one []*model.Deployment
			for _, d := range ds {
				if d.Component == s.Component && d.Environment == s.Environment {
					one = append(one, d)
				}
			}
			tr := stats(t, one).Trend
			seriesErrs = append(seriesErrs, math.Abs(tr.GrowthPercentPerWeek-truth.GrowthPercentPerWeek))
			seriesHalf = append(seriesHalf, (tr.GrowthPercentPerWeekHigh-tr.GrowthPercentPerWeekLow)/2)
			if tr.GrowthPercentPerWeekLow <= truth.GrowthPercentPerWeek && truth.GrowthPercentPerWeek <= tr.GrowthPercentPerWeekHigh {
				seriesCovered++
			}
		}
		if st.Trend.Outliers < truth.Junk {
			t.Errorf("trial %d: %d outliers, want the %d junk deployments at least", i, st.Trend.Outliers, truth.Junk)
		}
		// Junk never turns the direction: the same history without junk
		// goes the same way, and never the opposite way of the truth.
		cfg.JunkRate = 0
		clean, _ := synth.Generate(cfg)
		if d := stats(t, clean).Trend.Direction; d != st.Trend.Direction {
			changed++
		}
		if (st.Trend.Direction == model.DirectionGrowing && truth.GrowthPercentPerWeek < 0) ||
			(st.Trend.Direction == model.DirectionShrinking && truth.GrowthPercentPerWeek > 0) {
			flipped++
		}
	}
	mean := 0.0
	for _, e := range errs {
		mean += e / float64(len(errs))
	}
	p90, worst := quantile(errs, 0.9), quantile(errs, 1)
	t.Logf("growth: %d histories, error mean %.3f, p90 %.3f, max %.3f points a week; 95 %% interval holds the truth in %d %%, ± %.2f points (median half-width); direction opposite to the truth %d, changed by junk %d",
		n, mean, p90, worst, covered*100/n, quantile(half, 0.5), flipped, changed)
	seriesMean := 0.0
	for _, e := range seriesErrs {
		seriesMean += e / float64(len(seriesErrs))
	}
	seriesP90, seriesWorst := quantile(seriesErrs, 0.9), quantile(seriesErrs, 1)
	t.Logf("growth of one series: %d series of 120 deployments, error mean %.3f, p90 %.3f, max %.3f points a week; 95 %% interval holds the truth in %d %%, ± %.2f points (median half-width)",
		len(seriesErrs), seriesMean, seriesP90, seriesWorst, seriesCovered*100/len(seriesErrs), quantile(seriesHalf, 0.5))
	if p90 > 0.3 {
		t.Errorf("growth error p90 %.3f points a week, want ≤ 0.3", p90)
	}
	if seriesP90 > 0.35 {
		t.Errorf("growth error of one series p90 %.3f points a week, want ≤ 0.35", seriesP90)
	}
	if !reaches(seriesCovered, len(seriesErrs), 300, 0.85) {
		t.Errorf("the 95 %% interval of one series held the truth in %d of %d series", seriesCovered, len(seriesErrs))
	}
	if flipped > 0 || changed > 0 {
		t.Errorf("junk flipped the direction %d times and changed it %d times, want 0", flipped, changed)
	}
	if !reaches(covered, n, 100, 0.85) {
		t.Errorf("the 95 %% interval held the truth in %d of %d histories", covered, n)
	}
}

// TestAccuracyBlame: one step, chosen at random, grows 3 to 5 % a week and
// the others 0 to 0.5 %; the first blamed step must be the one growing the
// most in seconds a week.
func TestAccuracyBlame(t *testing.T) {
	t.Parallel()
	n := trials(100)
	right, sums := 0, []float64{}
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		series := growthSeries(0)
		culprit := rng.IntN(4)
		rates := make([]float64, 4)
		for k := range rates {
			rates[k] = 0.5 * rng.Float64()
			if k == culprit {
				rates[k] = 3 + 2*rng.Float64()
			}
		}
		for s := range series {
			for k := range series[s].Steps {
				series[s].Steps[k].GrowthPercentPerWeek = rates[k]
			}
		}
		ds, truth := synth.Generate(synth.Config{Seed: uint64(1000 + i), Start: accuracyStart, Weeks: 26, PerSeries: 120,
			Series: series, Noise: 0.25, JunkRate: 0.05})
		st := stats(t, ds)
		if len(st.Trend.Blame) > 0 && st.Trend.Blame[0] == truth.Blamed {
			right++
		} else if testing.Verbose() {
			t.Logf("trial %d: blamed %v, want %s first (%v)", i, st.Trend.Blame, truth.Blamed, truth.StepGrowthSecondsPerWeek)
		}
		var sum float64
		for _, ss := range st.Steps {
			if ss.ShareOfGrowthPercent != nil {
				sum += *ss.ShareOfGrowthPercent
			}
		}
		sums = append(sums, sum)
	}
	t.Logf("blame: %d histories, the right step first in %d %%; shares of growth sum to %.0f–%.0f %% (p5–p95)",
		n, right*100/n, quantile(sums, 0.05), quantile(sums, 0.95))
	if !reaches(right, n, 100, 0.90) {
		t.Errorf("blamed the right step in %d of %d histories, want ≥ 90 %%", right, n)
	}
}

// TestAccuracyChanges: one series of 150 deployments over 26 weeks,
// growing 0 to 2 % a week, with 25 % noise per step and 5 % junk, where
// `tests` (40 % of the time) jumps so that the deployment shifts by 20 to
// 50 %, somewhere between its 20th and 130th deployment.
func TestAccuracyChanges(t *testing.T) {
	t.Parallel()
	n := trials(200)
	found, named, extra := 0, 0, 0
	var offsets, sizeErrs, others []float64
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		series := growthSeries(2 * rng.Float64())[:1]
		jump := synth.Jump{Series: 0, Step: "tests", At: 20 + rng.IntN(111), Percent: 50 + 75*rng.Float64()}
		ds, truth := synth.Generate(synth.Config{Seed: uint64(2000 + i), Start: accuracyStart, Weeks: 26, PerSeries: 150,
			Series: series, Noise: 0.25, Jumps: []synth.Jump{jump}, JunkRate: 0.05})
		hit := false
		cs := changes(t, ds)
		for _, c := range cs {
			at, ok := realIndex(c.Version)
			if !ok {
				t.Errorf("trial %d: a change at junk deployment %s", i, c.Version)
				continue
			}
			if off := at - truth.Jumps[0].Index; !hit && off >= -3 && off <= 3 {
				hit = true
				offsets = append(offsets, math.Abs(float64(off)))
				if len(c.Steps) > 0 && c.Steps[0].Status == "tests" {
					named++
				}
				// The size of the shift, growth apart: the figure a team
				// acts on, and the steps that did not jump barely move.
				sizeErrs = append(sizeErrs, math.Abs(c.ChangePercent-truth.Jumps[0].Percent))
				for _, sc := range c.Steps {
					if sc.Status != "tests" {
						others = append(others, math.Abs(sc.ShareOfChangePercent))
					}
				}
			} else {
				extra++
			}
		}
		if hit {
			found++
		} else if testing.Verbose() {
			t.Logf("trial %d: shift of %.0f %% at %d not found: %+v", i, truth.Jumps[0].Percent, truth.Jumps[0].Index, cs)
		}
	}
	t.Logf("changes: %d shifts of 20–50 %%, %d %% found within ±3 deployments (mean distance %.2f), %d %% of those naming `tests` first; %d other changes reported",
		n, found*100/n, mean(offsets), named*100/max(found, 1), extra)
	t.Logf("changes: size error mean %.1f, p90 %.1f, worst %.1f points; a step that did not jump %.1f %% of the change at p90, worst %.1f %%",
		mean(sizeErrs), quantile(sizeErrs, 0.9), quantile(sizeErrs, 1), quantile(others, 0.9), quantile(others, 1))
	if !reaches(found, n, 200, 0.90) {
		t.Errorf("found %d of %d shifts within ±3 deployments, want ≥ 90 %%", found, n)
	}
	// The p90 of fewer histories (-short, -race) is measured too loosely
	// to hold to the full run's target; their mean is not.
	if m := mean(sizeErrs); m > 8 {
		t.Errorf("size of the shifts off by %.1f points on average, want ≤ 8", m)
	}
	if p90 := quantile(sizeErrs, 0.9); n == 200 && p90 > 12 {
		t.Errorf("size of the shifts off by %.1f points at p90, want ≤ 12", p90)
	}
	if p90 := quantile(others, 0.9); p90 > 20 {
		t.Errorf("steps that did not jump make %.1f %% of the change at p90, want ≤ 20", p90)
	}
}

// TestAccuracyNoFalseChanges: flat series of 100 deployments with 25 % noise
// per step and 5 % junk, by tens: at most 1 change across 10 series.
// Growing series without a jump are scored too: growth is not a change.
func TestAccuracyNoFalseChanges(t *testing.T) {
	t.Parallel()
	rounds := trials(40)
	worstFlat, flat, growing := 0, 0, 0
	for r := range rounds {
		inRound, grew := falseChanges(t, r)
		flat += inRound
		growing += grew
		worstFlat = max(worstFlat, inRound)
	}
	t.Logf("false changes: %.2f per 10 flat series (worst %d, over %d sets of 10); %.2f per 10 growing series without a jump",
		float64(flat)/float64(rounds), worstFlat, rounds, float64(growing)/float64(rounds))
	if float64(flat)/float64(rounds) > 1 || worstFlat > 2 {
		t.Errorf("%d false changes over %d sets of 10 flat series (worst %d), want ≤ 1 per set", flat, rounds, worstFlat)
	}
	if float64(growing)/float64(rounds) > 1 {
		t.Errorf("%d changes over %d sets of 10 growing series without a jump, want ≤ 1 per set", growing, rounds)
	}
}

// falseChanges counts the changes found in round r of ten flat series and
// of ten growing ones, 100 deployments each with 25 % noise per step and 5
// % junk, none with a jump: every change found is a false one.
func falseChanges(t *testing.T, r int) (flat, growing int) {
	t.Helper()
	for i := range 10 {
		seed := uint64(3000 + 10*r + i)
		ds, _ := synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 100,
			Series: growthSeries(0)[:1], Noise: 0.25, JunkRate: 0.05})
		flat += len(changes(t, ds))
		g := 0.5 + 2.5*rand.New(rand.NewPCG(seed, 5)).Float64()
		ds, _ = synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 100,
			Series: growthSeries(g)[:1], Noise: 0.25, JunkRate: 0.05})
		growing += len(changes(t, ds))
	}
	return flat, growing
}

// TestTrendIgnoresTrivialDeploys is the failure that opened issue 12: six
// months of deploys growing 1.5 % a week, plus a quick-start deploy of
// another component and three test deploys under a second in the last
// sprint, read as "shrinks 4.9 % a week" by a least-squares fit.
func TestTrendIgnoresTrivialDeploys(t *testing.T) {
	steps := []synth.Step{step("build", 0.4, 1.5), step("tests", 0.5, 1.5), step("rollout", 0.1, 1.5)}
	ds, truth := synth.Generate(synth.Config{Seed: 12, Start: accuracyStart, Weeks: 26, PerSeries: 52, Noise: 0.1,
		Series: []synth.Series{{Component: "shop", Environment: "production", BaseSeconds: 540, Steps: steps}}})
	end := accuracyStart.AddDate(0, 0, 26*7)
	ds = append(ds, synth.Deployment("hello", "1.0.0", "", end.AddDate(0, 0, -6), []string{"deploy"}, []float64{0.04}))
	for i, at := range []int{-10, -5, -2} {
		ds = append(ds, synth.Deployment("shop", fmt.Sprintf("test-%d", i), "production", end.AddDate(0, 0, at),
			[]string{"build", "tests", "rollout"}, []float64{0.1, 0.3, 0.2}))
	}
	st := stats(t, ds)
	tr := st.Trend
	t.Logf("%s", st.Summary)
	if tr.Direction != model.DirectionGrowing || math.Abs(tr.GrowthPercentPerWeek-truth.GrowthPercentPerWeek) > 0.3 {
		t.Errorf("trend %+v, want growing %.2f %% a week ± 0.3", tr.RobustTrend, truth.GrowthPercentPerWeek)
	}
	if !(tr.GrowthPercentPerWeekLow < 1.5 && 1.5 < tr.GrowthPercentPerWeekHigh) {
		t.Errorf("interval %.2f–%.2f, want it to hold 1.5", tr.GrowthPercentPerWeekLow, tr.GrowthPercentPerWeekHigh)
	}
	if tr.Outliers != 3 || len(st.Outliers) != 3 || !strings.HasPrefix(st.Outliers[0].Version, "test-") {
		t.Errorf("outliers %d %+v, want the 3 test deploys", tr.Outliers, st.Outliers)
	}
	if !strings.HasPrefix(st.Summary, "Deploy time grows 1.") || !strings.Contains(st.Summary, "3 deployments left out as outliers") {
		t.Errorf("summary %q", st.Summary)
	}
	// The history does reproduce the failure: the old estimator, least
	// squares over the logs of all deployments, reads it as shrinking.
	var xs, ys []float64
	for _, d := range ds {
		xs = append(xs, d.StartedAt.Sub(accuracyStart).Hours()/(24*7))
		ys = append(ys, math.Log(d.DurationSeconds))
	}
	if old := (math.Exp(olsSlope(xs, ys)) - 1) * 100; old >= 0 {
		t.Errorf("least squares over logs gives %+.1f %% a week: the history does not show the failure", old)
	} else {
		t.Logf("least squares over logs: %+.1f %% a week", old)
	}
}

func olsSlope(xs, ys []float64) float64 {
	mx, my := mean(xs), mean(ys)
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	return sxy / sxx
}

// realIndex returns i of a real deployment's version 1.i.0.
func realIndex(version string) (int, bool) {
	v, ok := strings.CutPrefix(version, "1.")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSuffix(v, ".0"))
	return i, err == nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x / float64(len(xs))
	}
	return s
}

// TestAccuracyReduced scores the history reduced while streaming (runs of
// consecutive deployments, see history) on histories large enough for it:
// three series of 8,000 deployments over two years, growing from -1 to +3 %
// a week, `tests` of the first jumping so that the deployment shifts by 20
// to 50 % somewhere between its 1,000th and 7,000th deployment, 25 % noise
// and 5 % junk. Given in time order, each series is reduced; given
// shuffled, it is kept whole and analysed exactly: both are scored against
// the truth, and the outliers must be the same. (The truth leaves the jump
// out; over two years a fit reads part of it as growth, the exact one as
// much as the reduced one.)
func TestAccuracyReduced(t *testing.T) {
	if testing.Short() {
		t.Skip("24,000 deployments a history")
	}
	t.Parallel()
	n := trials(20)
	var errReduced, errExact, apart, offsets []float64
	covered, coveredExact, found, extra := 0, 0, 0, 0
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(i), 17))
		g := -1 + 4*rng.Float64()
		jump := synth.Jump{Series: 0, Step: "tests", At: 1000 + rng.IntN(6001), Percent: 50 + 75*rng.Float64()}
		ds, truth := synth.Generate(synth.Config{Seed: uint64(4000 + i), Start: accuracyStart, Weeks: 104, PerSeries: 8000,
			Series: growthSeries(g), Noise: 0.25, Jumps: []synth.Jump{jump}, JunkRate: 0.05})
		shuffled := slices.Clone(ds)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		st, ex := stats(t, ds), stats(t, shuffled)
		if st.Trend.Outliers != ex.Trend.Outliers || !slices.Equal(st.Outliers, ex.Outliers) {
			t.Errorf("trial %d: %d outliers reduced, %d exact (first %v, %v)", i, st.Trend.Outliers, ex.Trend.Outliers,
				st.Outliers[:min(3, len(st.Outliers))], ex.Outliers[:min(3, len(ex.Outliers))])
		}
		errReduced = append(errReduced, math.Abs(st.Trend.GrowthPercentPerWeek-truth.GrowthPercentPerWeek))
		errExact = append(errExact, math.Abs(ex.Trend.GrowthPercentPerWeek-truth.GrowthPercentPerWeek))
		apart = append(apart, math.Abs(st.Trend.GrowthPercentPerWeek-ex.Trend.GrowthPercentPerWeek))
		if st.Trend.GrowthPercentPerWeekLow <= truth.GrowthPercentPerWeek && truth.GrowthPercentPerWeek <= st.Trend.GrowthPercentPerWeekHigh {
			covered++
		}
		if ex.Trend.GrowthPercentPerWeekLow <= truth.GrowthPercentPerWeek && truth.GrowthPercentPerWeek <= ex.Trend.GrowthPercentPerWeekHigh {
			coveredExact++
		}
		hit := false
		for _, c := range changes(t, ds) {
			at, ok := realIndex(c.Version)
			if off := at - truth.Jumps[0].Index; ok && !hit && c.Component == "api" && c.Environment == "production" && off >= -50 && off <= 50 {
				hit = true
				offsets = append(offsets, math.Abs(float64(off)))
			} else {
				extra++
			}
		}
		if hit {
			found++
		} else {
			t.Logf("trial %d: shift of %.0f %% at %d not found", i, truth.Jumps[0].Percent, truth.Jumps[0].Index)
		}
	}
	t.Logf("reduced: %d histories of 24,000 deployments; growth error p90 %.3f (exact %.3f), max %.3f (exact %.3f) points a week; reduced and exact %.3f apart at p90; 95 %% interval holds the truth in %d %% (exact %d %%)",
		n, quantile(errReduced, 0.9), quantile(errExact, 0.9), quantile(errReduced, 1), quantile(errExact, 1), quantile(apart, 0.9), covered*100/n, coveredExact*100/n)
	t.Logf("reduced: %d %% of shifts found within ±50 deployments (distance p50 %.0f, max %.0f); %d other changes reported",
		found*100/n, quantile(offsets, 0.5), quantile(offsets, 1), extra)
	if p90 := quantile(errReduced, 0.9); p90 > 0.3 {
		t.Errorf("growth error p90 %.3f points a week, want ≤ 0.3", p90)
	}
	if p90 := quantile(apart, 0.9); p90 > 0.05 {
		t.Errorf("reduced and exact growth %.3f points a week apart at p90, want ≤ 0.05", p90)
	}
	if !reaches(found, n, 20, 0.90) {
		t.Errorf("found %d of %d shifts within ±50 deployments, want ≥ 90 %%", found, n)
	}
}
