package model_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// day returns deployments of component at 9:00 on each of days, lasting
// seconds(i) split over build (40 %) and tests (60 %).
func daily(component string, days []int, seconds func(i int) float64) []*model.Deployment {
	var ds []*model.Deployment
	for i, d := range days {
		s := seconds(i)
		ds = append(ds, synth.Deployment(component, fmt.Sprintf("1.%d.0", i), "production",
			accuracyStart.AddDate(0, 0, d).Add(9*time.Hour), []string{"build", "tests"}, []float64{0.4 * s, 0.6 * s}))
	}
	return ds
}

func span(from, to int) []int {
	var out []int
	for d := from; d < to; d++ {
		out = append(out, d)
	}
	return out
}

func TestOutliers(t *testing.T) {
	// 30 deployments of 100 s (± 5 %), with one at 1/11, one at 1/9, one at
	// 9× and one at 11× the others.
	odd := map[int]float64{5: 100.0 / 11, 10: 100.0 / 9, 15: 900, 20: 1100}
	ds := daily("api", span(0, 30), func(i int) float64 {
		if v, ok := odd[i]; ok {
			return v
		}
		return 100 * (1 + 0.05*math.Sin(float64(i)))
	})
	st := stats(t, ds)
	if st.Trend.Outliers != 2 || len(st.Outliers) != 2 {
		t.Fatalf("%d outliers %+v, want 2: under a tenth and over ten times the rolling median", st.Trend.Outliers, st.Outliers)
	}
	for i, want := range []string{"1.5.0", "1.20.0"} {
		o := st.Outliers[i]
		if o.Version != want || o.Component != "api" || o.Environment != "production" || o.Attempt != 1 || o.MedianSeconds < 95 || o.MedianSeconds > 105 {
			t.Errorf("outlier %d: %+v, want %s against a median near 100 s", i, o, want)
		}
	}
	if st.Trend.Points != 28 || st.Deployments != 30 {
		t.Errorf("%d points of %d deployments, want 28 of 30: outliers are counted, never dropped", st.Trend.Points, st.Deployments)
	}
	if len(st.Steps) != 2 || st.Steps[0].Trend.Outliers != 2 {
		t.Errorf("steps %+v, want each step's trend to leave the 2 outlier deployments out", st.Steps)
	}

	t.Run("the list is bounded, the count is not", func(t *testing.T) {
		ds := daily("api", span(0, 2*model.MaxOutlierRefs+40), func(i int) float64 {
			if i%2 == 1 && i > 20 {
				return 0.5
			}
			return 600
		})
		st := stats(t, ds)
		if len(st.Outliers) != model.MaxOutlierRefs || st.Trend.Outliers <= model.MaxOutlierRefs {
			t.Errorf("%d listed, %d counted; want %d listed and more counted", len(st.Outliers), st.Trend.Outliers, model.MaxOutlierRefs)
		}
		if !st.Outliers[0].StartedAt.Before(st.Outliers[1].StartedAt) {
			t.Errorf("outliers not in time order: %v then %v", st.Outliers[0].StartedAt, st.Outliers[1].StartedAt)
		}
	})
}

// TestOutliersInABurst: someone tries the pipeline out with twelve
// one-second deploys in an hour, in a history of daily 10-minute ones.
// Judged by its 10 neighbours on each side alone, a test deploy in the
// middle of the burst has mostly test deploys for neighbours and passes,
// and the real deploys after it have them for neighbours and are thrown
// out: the last week read p50 1 s. Neighbours that are junk by the wider
// view (32 on each side) do not vote.
func TestOutliersInABurst(t *testing.T) {
	ds := daily("api", span(0, 60), func(i int) float64 { return 600 * (1 + 0.05*math.Sin(float64(i))) })
	at := accuracyStart.AddDate(0, 0, 56).Add(14 * time.Hour)
	for k := range 12 {
		ds = append(ds, synth.Deployment("api", fmt.Sprintf("test-%d", k), "production", at.Add(time.Duration(k)*5*time.Minute),
			[]string{"build", "tests"}, []float64{0.4, 0.6}))
	}
	st := stats(t, ds)
	var got []string
	for _, o := range st.Outliers {
		got = append(got, o.Version)
	}
	if st.Trend.Outliers != 12 || len(got) != 12 || !strings.HasPrefix(got[0], "test-") || !strings.HasPrefix(got[11], "test-") {
		t.Errorf("%d outliers %v, want the 12 test deploys and no real one", st.Trend.Outliers, got)
	}
	last := st.Buckets[len(st.Buckets)-1]
	if last.P50Seconds == nil || *last.P50Seconds < 550 || last.Outliers != 12 {
		t.Errorf("last week: p50 %s, %d outliers; want about 600 s with the 12 test deploys left out", seconds(last.P50Seconds), last.Outliers)
	}

	t.Run("in time order, read in a stream", func(t *testing.T) {
		// The same verdicts when the history is reduced as it streams
		// (past seriesRaw deployments): the burst in the 3,000th place.
		var ds []*model.Deployment
		for i := range 3000 {
			s := 600 * (1 + 0.05*math.Sin(float64(i)))
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(i)*6*time.Hour),
				[]string{"build", "tests"}, []float64{0.4 * s, 0.6 * s}))
			if i == 2500 {
				for k := range 12 {
					ds = append(ds, synth.Deployment("api", fmt.Sprintf("test-%d", k), "production",
						accuracyStart.Add(time.Duration(i)*6*time.Hour+time.Hour+time.Duration(k)*time.Minute), []string{"build", "tests"}, []float64{0.4, 0.6}))
				}
			}
		}
		st := stats(t, ds)
		if st.Trend.Outliers != 12 || !strings.HasPrefix(st.Outliers[0].Version, "test-") || !strings.HasPrefix(st.Outliers[11].Version, "test-") {
			t.Errorf("%d outliers %+v, want the 12 test deploys", st.Trend.Outliers, st.Outliers)
		}
	})
}

// TestOutliersInALongBurst scores the outlier rule on histories whose
// truth is known, both ways. A burst of 20 or 32 one-second test deploys,
// three minutes apart, in the middle of 120 real deploys of 10 minutes
// (growing -1 to +3 % a week, 25 % noise a step) is junk: every test deploy
// must be left out, and no real one, so the growth and the burst's week
// read as without the burst. Judged by 10 neighbours on each side, the
// middle of a burst over 16 long had only test deploys for neighbours and
// passed: the week's p50 read 1 s. A lasting shift of ten or twenty times,
// up or down, is no junk: no real deploy may be left out, and /v1/changes
// must find it. Half the neighbours of the deploys on either side of the
// shift are at the other level, and they were outvoted (17 of 20 histories
// of a ×20 shift lost the last deploy before it).
func TestOutliersInALongBurst(t *testing.T) {
	history := func(seed uint64, g float64, jumps []synth.Jump) ([]*model.Deployment, synth.Truth) {
		return synth.Generate(synth.Config{Seed: seed, Start: accuracyStart, Weeks: 26, PerSeries: 120,
			Series: growthSeries(g)[:1], Noise: 0.25, Jumps: jumps})
	}
	weekOf := func(st model.Stats, at time.Time) model.BucketStats {
		for _, b := range st.Buckets {
			if !at.Before(b.Start) && at.Before(b.End) {
				return b
			}
		}
		t.Fatalf("no bucket holds %v", at)
		return model.BucketStats{}
	}
	for _, size := range []int{20, 32} {
		t.Run(fmt.Sprintf("a burst of %d test deploys is junk", size), func(t *testing.T) {
			for i := range 10 {
				g := -1 + 4*rand.New(rand.NewPCG(uint64(i), 99)).Float64()
				clean, _ := history(uint64(i), g, nil)
				ds := slices.Clone(clean)
				at := clean[40+5*i].StartedAt.Add(time.Hour)
				for k := range size {
					ds = append(ds, synth.Deployment("api", fmt.Sprintf("test-%d", k), "production", at.Add(time.Duration(k)*3*time.Minute),
						[]string{"build", "tests", "migrate", "rollout"}, []float64{0.3, 0.3, 0.2, 0.2}))
				}
				st, want := stats(t, ds), stats(t, clean)
				junk := 0
				for _, o := range st.Outliers {
					if strings.HasPrefix(o.Version, "test-") {
						junk++
					}
				}
				got, wantWeek := weekOf(st, at), weekOf(want, at)
				if junk != size || st.Trend.Outliers != size || st.Trend.GrowthPercentPerWeek != want.Trend.GrowthPercentPerWeek ||
					got.Outliers != size || *got.P50Seconds != *wantWeek.P50Seconds {
					t.Errorf("history %d: %d of %d test deploys and %d real ones left out; growth %.3f, p50 of the burst's week %s (%d outliers); want all %d, none, %.3f and %s",
						i, junk, size, st.Trend.Outliers-junk, st.Trend.GrowthPercentPerWeek, seconds(got.P50Seconds), got.Outliers,
						size, want.Trend.GrowthPercentPerWeek, seconds(wantWeek.P50Seconds))
				}
			}
		})
	}
	t.Run("in time order, read in a stream", func(t *testing.T) {
		// The same verdicts when the history is reduced as it streams
		// (past seriesRaw deployments) as when it is kept whole (given
		// shuffled): a burst of 24 in the 2,500th place, and deploy time
		// twenty times longer for the last 20, a level, not junk.
		var ds []*model.Deployment
		for i := range 3000 {
			s := 600 * (1 + 0.05*math.Sin(float64(i)))
			if i >= 2980 {
				s *= 20
			}
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(i)*6*time.Hour),
				[]string{"build", "tests"}, []float64{0.4 * s, 0.6 * s}))
			if i == 2500 {
				for k := range 24 {
					ds = append(ds, synth.Deployment("api", fmt.Sprintf("test-%d", k), "production",
						accuracyStart.Add(time.Duration(i)*6*time.Hour+time.Hour+time.Duration(k)*time.Minute), []string{"build", "tests"}, []float64{0.4, 0.6}))
				}
			}
		}
		shuffled := slices.Clone(ds)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		st, exact := stats(t, ds), stats(t, shuffled)
		if st.Trend.Outliers != 24 || !slices.Equal(st.Outliers, exact.Outliers) || !strings.HasPrefix(st.Outliers[0].Version, "test-") || !strings.HasPrefix(st.Outliers[23].Version, "test-") {
			t.Errorf("%d outliers (%d kept whole), first %v; want the 24 test deploys, the same either way", st.Trend.Outliers, exact.Trend.Outliers, st.Outliers[:min(3, len(st.Outliers))])
		}
	})
	t.Run("a burst of 17 test deploys last is junk", func(t *testing.T) {
		// Nothing after it says whether the series comes back: at an end,
		// a run of 17 or fewer is junk, and 18 or more a new level.
		for i := range 10 {
			ds, _ := history(uint64(i), 1, nil)
			at := ds[len(ds)-1].StartedAt.Add(time.Hour)
			for k := range 17 {
				ds = append(ds, synth.Deployment("api", fmt.Sprintf("test-%d", k), "production", at.Add(time.Duration(k)*3*time.Minute),
					[]string{"build", "tests", "migrate", "rollout"}, []float64{0.3, 0.3, 0.2, 0.2}))
			}
			if st := stats(t, ds); st.Trend.Outliers != 17 || !strings.HasPrefix(st.Outliers[0].Version, "test-") {
				t.Errorf("history %d: %d outliers, first %v; want the 17 test deploys", i, st.Trend.Outliers, st.Outliers[:min(1, len(st.Outliers))])
			}
		}
	})
	for _, shift := range []struct {
		factor float64
		at     int // of 120, in the 20 histories from at to at+19
	}{{10, 50}, {20, 50}, {0.1, 50}, {0.05, 50}, {20, 101}, {0.05, 101}} {
		factor := shift.factor
		name := fmt.Sprintf("a lasting shift of ×%v is kept", factor)
		if shift.at > 100 {
			name = fmt.Sprintf("a lasting shift of ×%v in the last 18 or 19 deployments is kept", factor)
		}
		t.Run(name, func(t *testing.T) {
			for i := range 20 {
				var jumps []synth.Jump
				for _, s := range []string{"build", "tests", "migrate", "rollout"} {
					jumps = append(jumps, synth.Jump{Series: 0, Step: s, At: min(shift.at+i, 102), Percent: (factor - 1) * 100})
				}
				ds, truth := history(uint64(100+i), 2*rand.New(rand.NewPCG(uint64(i), 98)).Float64(), jumps)
				st := stats(t, ds)
				found := false
				for _, c := range changes(t, ds) {
					at, ok := realIndex(c.Version)
					found = found || ok && at >= truth.Jumps[0].Index-3 && at <= truth.Jumps[0].Index+3
				}
				if st.Trend.Outliers != 0 || !found {
					t.Errorf("history %d, shift at %s: %d real deploys left out (%+v), shift found %v; want none left out, and the shift found",
						i, truth.Jumps[0].Version, st.Trend.Outliers, st.Outliers, found)
				}
			}
		})
	}
}

// TestOutliersLeaveTheBuckets: the outliers the trend leaves out are out
// of the buckets' figures too (the chart and the latest week), yet counted
// there; the deployments' count keeps them.
func TestOutliersLeaveTheBuckets(t *testing.T) {
	// Four weeks of daily deploys of 100 s; in the last week, one stuck
	// for 5000 s and one test deploy of 2 s.
	odd := map[int]float64{23: 5000, 25: 2}
	ds := daily("api", span(0, 28), func(i int) float64 {
		if v, ok := odd[i]; ok {
			return v
		}
		return 100
	})
	st := stats(t, ds)
	if st.Trend.Outliers != 2 || st.Deployments != 28 {
		t.Fatalf("%d outliers of %d deployments, want 2 of 28", st.Trend.Outliers, st.Deployments)
	}
	last := st.Buckets[len(st.Buckets)-1]
	if last.Count+last.Outliers != 7 || last.Outliers != 2 {
		t.Errorf("the last week counts %d and %d outliers, want 5 and 2", last.Count, last.Outliers)
	}
	for _, b := range st.Buckets {
		if *b.P50Seconds != 100 || *b.P90Seconds != 100 || *b.MaxSeconds != 100 || *b.MeanSeconds != 100 {
			t.Errorf("week of %s: p50 %v p90 %v max %v mean %v, want 100 s: the outliers are in", b.Start.Format(time.DateOnly),
				*b.P50Seconds, *b.P90Seconds, *b.MaxSeconds, *b.MeanSeconds)
		}
	}
	for _, step := range st.Steps {
		want := map[string]float64{"build": 40, "tests": 60}[step.Status]
		sb := step.Buckets[len(step.Buckets)-1]
		if *step.MaxSeconds != want || *sb.MaxSeconds != want || sb.Outliers != 2 || step.Count != 26 {
			t.Errorf("step %s: max %v, last week max %v with %d outliers, count %d; want %v, 2 outliers, 26 counted",
				step.Status, *step.MaxSeconds, *sb.MaxSeconds, sb.Outliers, step.Count, want)
		}
	}
}

func TestTrendDirection(t *testing.T) {
	grow := func(pct float64) func(int) float64 {
		return func(i int) float64 { return 300 * math.Pow(1+pct/100, float64(i)/7) * (1 + 0.1*math.Sin(float64(7*i))) }
	}
	for _, c := range []struct {
		name string
		ds   []*model.Deployment
		want string
	}{
		{"growing", daily("api", span(0, 90), grow(2)), model.DirectionGrowing},
		{"shrinking", daily("api", span(0, 90), grow(-2)), model.DirectionShrinking},
		{"noise alone", daily("api", span(0, 90), grow(0)), model.DirectionFlat},
		{"too few deployments", daily("api", span(0, model.MinTrendPoints-1), grow(10)), model.DirectionFlat},
		// Composition: a fast component deployed only lately must not read
		// as deploys getting faster.
		{"mixed components", append(daily("slow", span(0, 90), grow(0)), daily("fast", span(60, 90), func(int) float64 { return 20 })...), model.DirectionFlat},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := stats(t, c.ds)
			tr := st.Trend
			if tr.Direction != c.want || tr.Method != "theil-sen" {
				t.Errorf("direction %q by %q, want %q: %+v", tr.Direction, tr.Method, c.want, tr.RobustTrend)
			}
			if tr.Points >= model.MinTrendPoints && !(tr.GrowthPercentPerWeekLow <= tr.GrowthPercentPerWeek && tr.GrowthPercentPerWeek <= tr.GrowthPercentPerWeekHigh) {
				t.Errorf("growth %.2f outside its interval %.2f–%.2f", tr.GrowthPercentPerWeek, tr.GrowthPercentPerWeekLow, tr.GrowthPercentPerWeekHigh)
			}
			if c.want == model.DirectionFlat {
				if !strings.HasPrefix(st.Summary, "No clear trend") || tr.Blame == nil || len(tr.Blame) != 0 {
					t.Errorf("summary %q, blame %#v; want no clear trend and an empty blame", st.Summary, tr.Blame)
				}
				for _, ss := range st.Steps {
					if ss.ShareOfGrowthPercent != nil {
						t.Errorf("%s has a share of growth %v while the deployment is not growing", ss.Status, *ss.ShareOfGrowthPercent)
					}
				}
			}
		})
	}
}

func TestBlame(t *testing.T) {
	// build grows 0.5 % a week, tests 4 %: tests is to blame.
	var ds []*model.Deployment
	for i := range 120 {
		w := float64(i) / 5
		noise := 1 + 0.05*math.Sin(float64(13*i))
		ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.Add(time.Duration(w*7*24)*time.Hour),
			[]string{"build", "tests"}, []float64{300 * math.Pow(1.005, w) * noise, 200 * math.Pow(1.04, w) / noise}))
	}
	st := stats(t, ds)
	if st.Trend.Direction != model.DirectionGrowing || len(st.Trend.Blame) != 1 || st.Trend.Blame[0] != "tests" {
		t.Fatalf("trend %+v blame %v, want tests alone to blame", st.Trend.RobustTrend, st.Trend.Blame)
	}
	var sum float64
	for _, ss := range st.Steps {
		sum += *ss.ShareOfGrowthPercent
		if ss.Status == "tests" && (math.Abs(ss.Trend.GrowthPercentPerWeek-4) > 0.2 || ss.Trend.Direction != model.DirectionGrowing) {
			t.Errorf("tests trend %+v, want growing 4 %% a week", ss.Trend)
		}
	}
	if math.Abs(sum-100) > 10 {
		t.Errorf("shares of growth sum to %.1f %%, want about 100", sum)
	}
	if !strings.Contains(st.Summary, "`tests` accounts for") {
		t.Errorf("summary %q does not name tests", st.Summary)
	}
}

// TestChangeSizeLeavesGrowthOut: deploys growing 2 % a week for 26 weeks,
// tests jumping by half in the middle (+25 % on the deployment). The
// segments' plain medians sit 13 weeks apart and read +62 %, with build
// and rollout "moved" by their growth alone; the change is the shift. A
// flat series with 10 % noise keeps its plain medians: a slope of noise
// carried over 13 weeks would move them.
func TestChangeSizeLeavesGrowthOut(t *testing.T) {
	for _, tc := range []struct {
		growth, noise float64
	}{{2, 0.05}, {0, 0.1}} {
		t.Run(fmt.Sprintf("growing %.0f %% a week", tc.growth), func(t *testing.T) {
			steps := []synth.Step{step("build", 0.3, tc.growth), step("tests", 0.5, tc.growth), step("rollout", 0.2, tc.growth)}
			ds, truth := synth.Generate(synth.Config{Seed: 7, Start: accuracyStart, Weeks: 26, PerSeries: 130, Noise: tc.noise,
				Series: []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 600, Steps: steps}},
				Jumps:  []synth.Jump{{Series: 0, Step: "tests", At: 65, Percent: 50}}})
			cs := changes(t, ds)
			if len(cs) != 1 {
				t.Fatalf("%d changes %+v, want 1", len(cs), cs)
			}
			c, want := cs[0], truth.Jumps[0].Percent
			if c.Version != truth.Jumps[0].Version {
				t.Errorf("change at %s, want %s", c.Version, truth.Jumps[0].Version)
			}
			if math.Abs(c.ChangePercent-want) > 2 {
				t.Errorf("change %+.1f %% (%.0f s → %.0f s), want %+.1f %% ± 2", c.ChangePercent, c.BeforeP50Seconds, c.AfterP50Seconds, want)
			}
			if got := (c.AfterP50Seconds/c.BeforeP50Seconds - 1) * 100; math.Abs(got-c.ChangePercent) > 1e-4 {
				t.Errorf("before %.3f s and after %.3f s are %+.2f %% apart, change_percent says %+.2f %%", c.BeforeP50Seconds, c.AfterP50Seconds, got, c.ChangePercent)
			}
			for _, sc := range c.Steps {
				if sc.Status != "tests" && math.Abs(sc.ShareOfChangePercent) > 5 {
					t.Errorf("%s moved %+.1f s, %.0f %% of the change, want under 5 %%: it only grew", sc.Status, sc.ChangeSeconds, sc.ShareOfChangePercent)
				}
			}
		})
	}
}

func TestChanges(t *testing.T) {
	// 60 flat deployments of 100 s, then tests takes 40 s more from the
	// 31st on; a second component stays flat.
	var ds []*model.Deployment
	for i := range 60 {
		noise := 1 + 0.04*math.Sin(float64(5*i))
		tests := 60 * noise
		if i >= 30 {
			tests += 40
		}
		ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", accuracyStart.AddDate(0, 0, i).Add(9*time.Hour),
			[]string{"build", "tests"}, []float64{40 / noise, tests}))
	}
	ds = append(ds, daily("web", span(0, 60), func(i int) float64 { return 50 * (1 + 0.04*math.Sin(float64(3*i))) })...)
	cs := changes(t, ds)
	if len(cs) != 1 {
		t.Fatalf("%d changes %+v, want 1", len(cs), cs)
	}
	c := cs[0]
	if c.Component != "api" || c.Environment != "production" || c.Version != "1.30.0" || c.Attempt != 1 || !c.Time.Equal(accuracyStart.AddDate(0, 0, 30).Add(9*time.Hour)) {
		t.Errorf("change at %s %s %s #%d %v, want api production 1.30.0 #1", c.Component, c.Environment, c.Version, c.Attempt, c.Time)
	}
	if math.Abs(c.ChangePercent-40) > 5 || c.PValue > model.ChangeAlpha || c.PValue <= 0 {
		t.Errorf("change %+.1f %% p=%.3f, want about +40 %% and p ≤ %v", c.ChangePercent, c.PValue, model.ChangeAlpha)
	}
	if len(c.Steps) != 2 || c.Steps[0].Status != "tests" || c.Steps[0].ChangeSeconds < c.Steps[1].ChangeSeconds || c.Steps[0].ShareOfChangePercent < 80 {
		t.Errorf("steps %+v, want tests first with most of the change", c.Steps)
	}

	t.Run("the same history gives the same changes", func(t *testing.T) {
		first, _ := json.Marshal(cs)
		for range 3 {
			again, _ := json.Marshal(changes(t, ds))
			if string(again) != string(first) {
				t.Fatalf("changes differ between two runs:\n%s\n%s", first, again)
			}
		}
	})
	t.Run("a stats accumulator finds the same changes after its stats", func(t *testing.T) {
		// The page takes both from one accumulator; its stats sort the
		// shared history before the changes read it. Deployments given
		// newest first, series interleaved, must not change the answer.
		opts := model.StatsOptions{SprintStart: accuracyStart}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		for i := len(ds) - 1; i >= 0; i-- {
			acc.Add(ds[i])
		}
		acc.Result()
		want, _ := json.Marshal(cs)
		if got, _ := json.Marshal(acc.Changes().Changes); string(got) != string(want) {
			t.Errorf("stats accumulator's changes\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("changes under the minimum are not reported", func(t *testing.T) {
		ds := daily("api", span(0, 60), func(i int) float64 {
			if i >= 30 {
				return 105 // +5 %: real, but under ChangeMinPercent
			}
			return 100
		})
		if cs := changes(t, ds); len(cs) != 0 {
			t.Errorf("a 5 %% step gave %+v", cs)
		}
	})
	t.Run("outcome and in-progress deployments", func(t *testing.T) {
		opts := model.ChangesOptions{Outcome: "meh"}
		if err := opts.Validate(); err == nil {
			t.Error("outcome meh accepted")
		}
		opts = model.ChangesOptions{Outcome: model.OutcomeFailure}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewChangesAccumulator(opts)
		for _, d := range ds {
			acc.Add(d) // all successful
		}
		if got := acc.Result().Changes; got == nil || len(got) != 0 {
			t.Errorf("failures only: %#v, want an empty, non-nil list", got)
		}
	})
}

// TestTrendOfABurst: a new component deployed twelve times in an hour
// (or a team trying stepsd out, twelve deploys in a second) has pairwise
// slopes of thousands per week, capped; with its interval at the cap the
// figures of a week are extrapolations of minutes, so none is given and
// the summary says why, and they stay finite for JSON.
func TestTrendOfABurst(t *testing.T) {
	for _, every := range []time.Duration{5 * time.Minute, 50 * time.Millisecond} {
		var ds []*model.Deployment
		for i := range 12 {
			s := 10.0
			if i%2 == 1 {
				s = 40
			}
			if i > 8 {
				s = 90
			}
			if every < time.Second {
				s /= 1000
			}
			ds = append(ds, synth.Deployment("new", fmt.Sprint(i), "", accuracyStart.Add(time.Duration(i)*every), []string{"deploy"}, []float64{s}))
		}
		st := stats(t, ds)
		if _, err := json.Marshal(st); err != nil {
			t.Fatalf("stats of a burst do not encode: %v (%+v)", err, st.Trend)
		}
		tr := st.Trend.RobustTrend
		if tr.Direction != model.DirectionFlat || tr.GrowthPercentPerWeek != 0 || tr.GrowthPercentPerWeekLow != 0 || tr.GrowthPercentPerWeekHigh != 0 {
			t.Errorf("deploys %s apart: trend %+v, want flat with no rate", every, tr)
		}
		if want := "came too close together in time to give a rate a week"; !strings.Contains(st.Summary, want) || strings.Contains(st.Summary, "%") {
			t.Errorf("deploys %s apart: summary %q, want one saying it %s, with no rate", every, st.Summary, want)
		}
		if step := st.Steps[0].Trend; step.GrowthPercentPerWeekHigh != 0 || step.Direction != model.DirectionFlat {
			t.Errorf("deploys %s apart: step trend %+v, want flat with no rate", every, step)
		}
	}
}

// TestSummaryWithoutAnInterval: enough deployments for a fit, spread over
// series too short for a 95 % interval (four components deployed twice).
// The interval's ends are then the growth itself, and the summary must say
// there is no interval rather than print "interval -50.0 to -50.0 %" next
// to "no clear trend", which reads as a certain figure.
func TestSummaryWithoutAnInterval(t *testing.T) {
	var ds []*model.Deployment
	for i, c := range []string{"a", "b", "c", "d"} {
		ds = append(ds, daily(c, span(2*i, 2*i+2), func(j int) float64 { return 300 * float64(1+j) })...)
	}
	st := stats(t, ds)
	tr := st.Trend
	if tr.Points < model.MinTrendPoints || tr.Direction != model.DirectionFlat || tr.GrowthPercentPerWeekLow != tr.GrowthPercentPerWeekHigh {
		t.Fatalf("trend %+v: want %d points or more, flat, without an interval (low = high)", tr.RobustTrend, model.MinTrendPoints)
	}
	if strings.Contains(st.Summary, "interval +") || strings.Contains(st.Summary, "interval -") || !strings.HasPrefix(st.Summary, "No clear trend in deploy time") ||
		!strings.Contains(st.Summary, "too few") {
		t.Errorf("summary %q: want no clear trend, too few deployments for an interval, and no interval printed", st.Summary)
	}
}

// TestSummarySaysWhyNoTrend: when the fit has no slope or no interval, the
// summary gives the reason that holds. Thirty deployments of one series
// that all took 10 minutes, or all started in the same second (a client
// sending times to the second), read "too few deployments per component
// and environment", which was not the reason.
func TestSummarySaysWhyNoTrend(t *testing.T) {
	at := func(n int, start func(i int) time.Time, seconds func(i int) float64) []*model.Deployment {
		var ds []*model.Deployment
		for i := range n {
			ds = append(ds, synth.Deployment("api", fmt.Sprintf("1.%d.0", i), "production", start(i), []string{"build"}, []float64{seconds(i)}))
		}
		return ds
	}
	daily := func(i int) time.Time { return accuracyStart.AddDate(0, 0, i) }
	oneSecond := func(int) time.Time { return accuracyStart }
	varied := func(i int) float64 { return 500 + 10*float64(i%7) }
	for _, tc := range []struct {
		name string
		ds   []*model.Deployment
		want string
	}{
		{"every deployment took the same time", at(30, daily, func(int) float64 { return 600 }),
			"No growth in deploy time: every deployment of each component and environment took the same time; mean 10m00s over 30 deployments."},
		{"every deployment started in the same second", at(30, oneSecond, varied),
			"No clear trend in deploy time: the deployments of each component and environment all started at the same time, so there is no time to measure growth over;"},
		{"most deployments started in the same second", at(30, func(i int) time.Time { return daily(max(0, i-25)) }, varied),
			"No clear trend in deploy time: too many deployments of the same component and environment started at the same time for a 95 % interval;"},
		{"too few deployments", at(model.MinTrendPoints-1, daily, varied),
			"No clear trend in deploy time: too few deployments to tell (a trend takes at least 8); mean 8m50s over 7 deployments."},
		// Not "…; mean 0.0s over 12 deployments. 12 deployments left out
		// as outliers.": nothing was measured.
		{"every deployment lasted 0 s", at(12, daily, func(int) float64 { return 0 }),
			"No deploy time to measure: all 12 deployments were left out as outliers (a deployment of 0 s always is one, as when its steps are sent with times to the second)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := stats(t, tc.ds)
			if !strings.HasPrefix(st.Summary, tc.want) || st.Trend.Direction != model.DirectionFlat || strings.Count(st.Summary, "outlier") > 1 {
				t.Errorf("summary %q, %s\nwant %q…, flat", st.Summary, st.Trend.Direction, tc.want)
			}
		})
	}
	t.Run("durations that mostly repeat still have an interval", func(t *testing.T) {
		// Whole seconds, most of them the same: the interval is 0 to 0,
		// a figure, not a missing one.
		st := stats(t, at(60, daily, func(i int) float64 { return 600 + float64(i%9/8) }))
		if want := "No clear trend in deploy time (+0.0 % a week, interval +0.0 to +0.0 %);"; !strings.HasPrefix(st.Summary, want) {
			t.Errorf("summary %q, want %q…", st.Summary, want)
		}
	})
}

// TestJunkFlipsNoFigure: a flat history of 10-minute deploys (tests half
// of it, rollout a third, build a sixth), then the same with three junk
// deployments: a build stuck for 9 hours, a deploy of 0 s, and one whose
// build step was sent with last year's date, so that it lasts a year. The
// junk is named as outliers; no figure a team reads may move: not the
// sentence's mean, not the slowest step, not the steps' shares.
func TestJunkFlipsNoFigure(t *testing.T) {
	steps := []synth.Step{step("build", 1.0/6, 0), step("tests", 0.5, 0), step("rollout", 1.0/3, 0)}
	cfg := synth.Config{Seed: 4, Start: accuracyStart, Weeks: 24, PerSeries: 120, Noise: 0.1,
		Series: []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 600, Steps: steps}}}
	ds, _ := synth.Generate(cfg)
	clean := stats(t, ds)
	names := []string{"build", "tests", "rollout"}
	late := accuracyStart.AddDate(0, 0, 22*7)
	junk := append(ds[:len(ds):len(ds)],
		synth.Deployment("api", "junk-9h", "production", late, names, []float64{9 * 3600, 300, 200}),
		synth.Deployment("api", "junk-0s", "production", late.AddDate(0, 0, 1), names, []float64{0, 0, 0}),
		synth.Deployment("api", "junk-year", "production", late.AddDate(-1, 0, 2), names, []float64{365 * 24 * 3600, 300, 200}))
	st := stats(t, junk)

	if st.Trend.Outliers != 3 || st.Deployments != clean.Deployments+3 {
		t.Fatalf("%d outliers of %d deployments, want the 3 junk ones of %d", st.Trend.Outliers, st.Deployments, clean.Deployments+3)
	}
	if want := clean.Summary + " 3 deployments left out as outliers."; st.Summary != want {
		t.Errorf("summary\n%q\nwant the clean history's\n%q", st.Summary, want)
	}
	for i, ss := range st.Steps {
		c := clean.Steps[i]
		if ss.Status != c.Status || math.Abs(ss.SharePercent-c.SharePercent) > 1e-9 || math.Abs(ss.TotalSeconds-c.TotalSeconds) > 1e-6 {
			t.Errorf("step %d: %s %.1f %% of the time (%.0f s), want %s %.1f %% (%.0f s) as without the junk",
				i, ss.Status, ss.SharePercent, ss.TotalSeconds, c.Status, c.SharePercent, c.TotalSeconds)
		}
	}
	if strings.Contains(st.Summary, "-0.0") {
		t.Errorf("summary %q: a rate that rounds to 0 reads +0.0", st.Summary)
	}
	if clean.Steps[0].Status != "tests" {
		t.Errorf("slowest step %s, want tests", clean.Steps[0].Status)
	}

	opts := model.StatsOptions{SprintStart: accuracyStart}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	for _, d := range junk {
		acc.Add(d)
	}
	if got := acc.SlowestSteps(); got[0] != "tests" || got[1] != "rollout" || got[2] != "build" {
		t.Errorf("SlowestSteps %v, want the order of the stats: tests, rollout, build", got)
	}
}

// TestSummarySaysWhatWasLeftOut: a range with only failed deployments is
// not "no finished deployments" when the stats measure successful ones.
func TestSummarySaysWhatWasLeftOut(t *testing.T) {
	ds := daily("api", span(0, 30), func(int) float64 { return 300 })
	for _, d := range ds {
		d.Outcome = model.OutcomeFailure
	}
	result := func(outcome string) model.Stats {
		return statsWith(t, model.StatsOptions{SprintStart: accuracyStart, Outcome: outcome}, ds)
	}
	want := "No successful deployments in this range: 30 deployments failed (outcome failure or all measures them)."
	if st := result("success"); st.Summary != want {
		t.Errorf("summary %q, want %q", st.Summary, want)
	}
	if st := result("failure"); st.Deployments != 30 || !strings.HasSuffix(st.Summary, "mean 5m00s over 30 deployments.") {
		t.Errorf("outcome failure: %d deployments, summary %q; want the 30 measured", st.Deployments, st.Summary)
	}
	if st := stats(t, nil); st.Summary != "No finished deployments in this range." {
		t.Errorf("no deployments: summary %q", st.Summary)
	}
}

// seconds prints an optional figure.
func seconds(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%.1f s", *v)
}
