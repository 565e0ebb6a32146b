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

// seriesGrowing is a component in production whose four steps all grow g
// a week, so its deployments grow exactly g a week (before noise).
func seriesGrowing(component string, base, g float64) synth.Series {
	return synth.Series{Component: component, Environment: "production", BaseSeconds: base, Steps: growthSeries(g)[0].Steps}
}

// seriesOf returns the entry of stats for component in production.
func seriesOf(t *testing.T, st model.Stats, component string) model.SeriesStats {
	t.Helper()
	for _, s := range st.Series {
		if s.Component == component && s.Environment == "production" {
			return s
		}
	}
	t.Fatalf("no series %s in production among %+v", component, st.Series)
	return model.SeriesStats{}
}

// TestSummarySaysWhatTheBlendCovers: with no component or environment
// asked for, the trend blends the series. Two series of known rates, one
// growing 3 % a week and one shrinking 2 % a week: each series' entry
// carries its own rate, its interval holds the truth, and the summary
// names both, with the figures of their entries. One series alone adds
// nothing to the summary, and its entry is the trend itself.
func TestSummarySaysWhatTheBlendCovers(t *testing.T) {
	const grow, shrink = 3.0, -2.0
	for seed := range uint64(5) {
		ds, _ := synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 120, Noise: 0.25,
			Series: []synth.Series{seriesGrowing("api", 600, grow), seriesGrowing("web", 900, shrink)}})
		st := stats(t, ds)
		if len(st.Series) != 2 || st.SeriesNotListed != 0 {
			t.Fatalf("seed %d: %d series listed, %d not: want 2 and 0", seed, len(st.Series), st.SeriesNotListed)
		}
		for _, c := range []struct {
			component, direction string
			truth                float64
		}{{"api", model.DirectionGrowing, grow}, {"web", model.DirectionShrinking, shrink}} {
			s := seriesOf(t, st, c.component)
			tr := s.Trend
			if s.Deployments != 120 || tr.Points != 120 || tr.Method != model.TrendMethod {
				t.Errorf("seed %d: %s: %d deployments, %d points, method %q; want 120, 120, %s", seed, c.component, s.Deployments, tr.Points, tr.Method, model.TrendMethod)
			}
			if tr.Direction != c.direction || tr.GrowthPercentPerWeekLow > c.truth || c.truth > tr.GrowthPercentPerWeekHigh {
				t.Errorf("seed %d: %s grows %+.2f %% a week (%+.2f to %+.2f), %s; the truth is %+.1f, %s",
					seed, c.component, tr.GrowthPercentPerWeek, tr.GrowthPercentPerWeekLow, tr.GrowthPercentPerWeekHigh, tr.Direction, c.truth, c.direction)
			}
		}
		api, web := seriesOf(t, st, "api").Trend, seriesOf(t, st, "web").Trend
		want := fmt.Sprintf(" The trend blends 2 series (component and environment); api in production grows %.1f %% a week while web in production shrinks %.1f %% a week.",
			api.GrowthPercentPerWeek, -web.GrowthPercentPerWeek)
		if !strings.Contains(st.Summary, want) {
			t.Errorf("seed %d: summary lacks %q:\n%s", seed, want, st.Summary)
		}
	}

	// One series: nothing new in the sentence, and its entry is the trend.
	ds, _ := synth.Generate(synth.Config{Seed: 1, Start: accuracyStart, Weeks: 26, PerSeries: 120, Noise: 0.25, JunkRate: 0.03,
		Series: []synth.Series{seriesGrowing("api", 600, grow)}})
	st := stats(t, ds)
	if strings.Contains(st.Summary, "series") {
		t.Errorf("one series: the summary speaks of series: %s", st.Summary)
	}
	if len(st.Series) != 1 || st.Series[0].Trend != st.Trend.RobustTrend || st.Series[0].Deployments != st.Deployments {
		t.Errorf("one series: %+v; want its trend %+v over %d deployments", st.Series, st.Trend.RobustTrend, st.Deployments)
	}
}

// TestSummaryNamesALargeSeriesApart: one series grows 4 % a week, the
// other, as large, is flat. The blend grows; the summary names the one
// that grows and the flat one, with its part of the deployments. Three
// flat series of the same size: the summary says what the trend blends,
// and names none.
func TestSummaryNamesALargeSeriesApart(t *testing.T) {
	ds, _ := synth.Generate(synth.Config{Seed: 3, Start: accuracyStart, Weeks: 26, PerSeries: 120, Noise: 0.25,
		Series: []synth.Series{seriesGrowing("api", 600, 4), seriesGrowing("web", 900, 0)}})
	st := stats(t, ds)
	api, web := seriesOf(t, st, "api").Trend, seriesOf(t, st, "web").Trend
	if st.Trend.Direction != model.DirectionGrowing || api.Direction != model.DirectionGrowing || web.Direction != model.DirectionFlat {
		t.Fatalf("blend %s, api %s, web %s: want growing, growing, flat", st.Trend.Direction, api.Direction, web.Direction)
	}
	want := fmt.Sprintf(" The trend blends 2 series (component and environment); api in production grows %.1f %% a week while web in production (50 %% of the deployments) shows no clear trend (%+.1f %% a week).",
		api.GrowthPercentPerWeek, web.GrowthPercentPerWeek)
	if !strings.Contains(st.Summary, want) {
		t.Errorf("summary lacks %q:\n%s", want, st.Summary)
	}

	ds, _ = synth.Generate(synth.Config{Seed: 3, Start: accuracyStart, Weeks: 26, PerSeries: 120, Noise: 0.25,
		Series: []synth.Series{seriesGrowing("api", 600, 0), seriesGrowing("web", 900, 0), seriesGrowing("worker", 300, 0)}})
	st = stats(t, ds)
	if want := " The trend blends 3 series (component and environment)."; !strings.Contains(st.Summary, want) {
		t.Errorf("three flat series: summary lacks %q:\n%s", want, st.Summary)
	}
}

// TestSeriesTrendHoldsAgainstJunk: three absurd deployments after the
// last of a series turn neither its direction nor the sentence: a
// thousand times as long (outliers, left out), or five times as long (no
// outliers: the fit's guard, fitTrend). Junk in a flat series of 40
// would read growing in about a quarter of the histories without the
// guard; in a shrinking one, it must not read growing.
func TestSeriesTrendHoldsAgainstJunk(t *testing.T) {
	junk := func(ds []*model.Deployment, component string, seconds float64) []*model.Deployment {
		end := accuracyStart.Add(26 * 7 * 24 * time.Hour)
		for k := range 3 {
			s := seconds / 4
			ds = append(ds, synth.Deployment(component, fmt.Sprintf("junk-%d", k), "production", end.Add(time.Duration(k)*time.Hour),
				[]string{"build", "tests", "migrate", "rollout"}, []float64{s, s, s, s}))
		}
		return ds
	}
	for _, factor := range []float64{1000, 5} {
		turned := 0
		for seed := range uint64(40) {
			ds, _ := synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 40, Noise: 0.25,
				Series: []synth.Series{seriesGrowing("api", 600, 0), seriesGrowing("web", 900, -2)}})
			clean := stats(t, ds)
			ds = junk(ds, "api", 600*factor)
			ds = junk(ds, "web", 900*math.Pow(0.98, 26)*factor)
			st := stats(t, ds)
			for _, c := range []string{"api", "web"} {
				s, was := seriesOf(t, st, c), seriesOf(t, clean, c)
				if s.Deployments != 43 {
					t.Errorf("×%g, seed %d: %s has %d deployments, want 43", factor, seed, c, s.Deployments)
				}
				if factor == 1000 && (s.Trend.Outliers != 3 || s.Trend != withOutliers(was.Trend, 3)) {
					t.Errorf("×%g, seed %d: %s's trend %+v; want its own without the junk, %+v, 3 outliers", factor, seed, c, s.Trend, was.Trend)
				}
				if s.Trend.Direction == model.DirectionGrowing && was.Trend.Direction != model.DirectionGrowing {
					turned++
					t.Logf("×%g, seed %d: 3 junk deployments turn %s from %s to growing: %+v\n%s", factor, seed, c, was.Trend.Direction, s.Trend, st.Summary)
				}
			}
			if web := seriesOf(t, st, "web"); web.Trend.Direction == model.DirectionGrowing || strings.Contains(st.Summary, "web in production grows") {
				t.Errorf("×%g, seed %d: 3 junk deployments flip web, shrinking 2 %% a week: %+v\n%s", factor, seed, web.Trend, st.Summary)
			}
		}
		// About as often as a flat history reads growing without junk:
		// the guard's own figure is 1 of 100 (docs/analysis.md).
		if t.Logf("×%g: a series turned growing in %d of 80", factor, turned); turned > 2 {
			t.Errorf("×%g: 3 junk deployments turned a series growing in %d of 80", factor, turned)
		}
	}
}

// withOutliers is t counting n outliers.
func withOutliers(t model.RobustTrend, n int) model.RobustTrend {
	t.Outliers = n
	return t
}

// TestSeriesListIsBounded: 105 series, series i with i%9+2 deployments:
// the 100 with the most are listed, most first, and the 5 others counted.
func TestSeriesListIsBounded(t *testing.T) {
	var ds []*model.Deployment
	for i := range 105 {
		for k := range i%9 + 2 {
			ds = append(ds, synth.Deployment(fmt.Sprintf("c%03d", i), fmt.Sprintf("1.%d", k), "production",
				accuracyStart.Add(time.Duration(k)*24*time.Hour), []string{"build"}, []float64{60}))
		}
	}
	st := stats(t, ds)
	if len(st.Series) != model.MaxSeriesListed || st.SeriesNotListed != 5 {
		t.Fatalf("%d series listed, %d not; want %d and 5", len(st.Series), st.SeriesNotListed, model.MaxSeriesListed)
	}
	for i := 1; i < len(st.Series); i++ {
		a, b := st.Series[i-1], st.Series[i]
		if a.Deployments < b.Deployments || a.Deployments == b.Deployments && a.Component > b.Component {
			t.Errorf("series %d (%s, %d) before %d (%s, %d)", i-1, a.Component, a.Deployments, i, b.Component, b.Deployments)
		}
	}
	if last := st.Series[len(st.Series)-1]; last.Deployments != 2 {
		t.Errorf("the last listed has %d deployments; the 5 left out should be among those of 2", last.Deployments)
	}
	if !strings.Contains(st.Summary, "The trend blends 105 series") {
		t.Errorf("summary: %s", st.Summary)
	}
}
