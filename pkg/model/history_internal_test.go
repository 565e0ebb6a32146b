package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// TestDepRecordSize: a series holds up to seriesRaw records as they came
// (all of them when they come out of order), and docs/analysis.md counts
// their bytes.
func TestDepRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(depRecord{}); n != 56 {
		t.Errorf("depRecord is %d bytes, want 56 (docs/analysis.md counts on it)", n)
	}
}

// historyDeployments is n deployments of one series, a minute apart, of
// two steps around 300 s, one in 50 under a second (junk); one in three
// runs its build twice (a status met twice).
func historyDeployments(n int) []*Deployment {
	rng := rand.New(rand.NewPCG(3, 5))
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	ds := make([]*Deployment, n)
	for i := range ds {
		at := start.Add(time.Duration(i) * time.Minute)
		a, b := 150*math.Exp(0.2*rng.NormFloat64()), 150*math.Exp(0.2*rng.NormFloat64())
		if rng.IntN(50) == 0 {
			a, b = 0.2, 0.3
		}
		end := at.Add(time.Duration((a + b) * float64(time.Second)))
		ds[i] = &Deployment{Component: "api", Version: fmt.Sprintf("v%06d", i), Environment: "production", Attempt: 1,
			StartedAt: at, Outcome: OutcomeSuccess, FinishedAt: &end, DurationSeconds: a + b,
			Steps: []Phase{{Status: "build", Time: at, DurationSeconds: &a}, {Status: "rollout", Time: at.Add(time.Duration(a * float64(time.Second))), DurationSeconds: &b},
				{Status: "finished", Time: end}}}
		if i%3 == 0 {
			half := a / 2
			ds[i].Steps = slices.Insert(ds[i].Steps, 1, Phase{Status: "build", Time: at.Add(time.Duration(half * float64(time.Second))), DurationSeconds: &half})
			ds[i].Steps[0].DurationSeconds = &half
		}
	}
	return ds
}

func historyStats(t *testing.T, ds []*Deployment) (*StatsAccumulator, Stats) {
	t.Helper()
	opts := StatsOptions{}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := NewStatsAccumulator(opts)
	for _, d := range ds {
		acc.Add(d)
		if s := acc.hist.series[0]; s.reduced && len(s.recs) > seriesRaw+outlierWide || len(s.runs) > seriesMaxRuns {
			t.Fatalf("a series holds %d deployments and %d runs", len(s.recs), len(s.runs))
		}
	}
	return acc, acc.Result()
}

// TestHistoryReduces: a series given in time order, or nearly (pairs
// swapped), is reduced and holds at most seriesRaw deployments as they
// are, and finds the same outliers as when it is given shuffled, kept whole
// and analysed exactly; one with deployments far out of order is kept
// whole, one whose first ones only were is reduced later; late deployments
// of a reduced one are counted.
func TestHistoryReduces(t *testing.T) {
	ds := historyDeployments(30_000)
	shuffled := slices.Clone(ds)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	exactAcc, exact := historyStats(t, shuffled)
	if s := exactAcc.hist.series[0]; s.reduced || len(s.points) != len(ds) {
		t.Fatalf("shuffled: reduced %v, %d points, want the %d deployments whole", s.reduced, len(s.points), len(ds))
	}
	swapped := slices.Clone(ds)
	for i := 0; i+1 < len(swapped); i += 7 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	// The first 3,000 out of order (a backfill), then in order: reduced at
	// a later look.
	backfill := slices.Clone(ds)
	rand.New(rand.NewPCG(3, 4)).Shuffle(3000, func(i, j int) { backfill[i], backfill[j] = backfill[j], backfill[i] })
	for name, in := range map[string][]*Deployment{"in order": ds, "pairs swapped": swapped, "backfill first": backfill} {
		acc, st := historyStats(t, in)
		s := acc.hist.series[0]
		if !s.reduced || s.late != 0 || len(s.points) > seriesMaxRuns+1 {
			t.Errorf("%s: reduced %v, %d late, %d points; want reduced, none late, at most %d points", name, s.reduced, s.late, len(s.points), seriesMaxRuns+1)
		}
		if st.Trend.Outliers != exact.Trend.Outliers || st.Trend.Outliers < len(ds)/60 || !slices.Equal(st.Outliers, exact.Outliers) {
			t.Errorf("%s: %d outliers, exactly %d", name, st.Trend.Outliers, exact.Trend.Outliers)
		}
		for i := range st.Buckets {
			b, e := st.Buckets[i], exact.Buckets[i]
			if b.Count != e.Count || b.Outliers != e.Outliers || *b.P50Seconds != *e.P50Seconds || *b.MaxSeconds != *e.MaxSeconds {
				t.Errorf("%s: bucket %v: %+v, exactly %+v", name, b.Start, b.Durations, e.Durations)
			}
		}
		for i, ss := range st.Steps {
			es := exact.Steps[i]
			if ss.Status != es.Status || ss.Count != es.Count || ss.Trend.Outliers != es.Trend.Outliers || ss.Trend.Points != es.Trend.Points ||
				math.Abs(ss.Trend.GrowthPercentPerWeek-es.Trend.GrowthPercentPerWeek) > 0.5 {
				t.Errorf("%s: step %s: %d durations, trend %+v; exactly %s: %d, %+v", name, ss.Status, ss.Count, ss.Trend, es.Status, es.Count, es.Trend)
			}
		}
		if st.Trend.Points != exact.Trend.Points || math.Abs(st.Trend.GrowthPercentPerWeek-exact.Trend.GrowthPercentPerWeek) > 0.5 {
			t.Errorf("%s: trend %+v, exactly %+v", name, st.Trend.RobustTrend, exact.Trend.RobustTrend)
		}
	}
	// A few back-dated deployments read after the others.
	late := append(slices.Clone(ds[100:]), ds[:100]...)
	acc, st := historyStats(t, late)
	if s := acc.hist.series[0]; !s.reduced || s.late != 100 || st.Deployments != len(ds) {
		t.Errorf("late: reduced %v, %d late, %d deployments; want reduced, 100 late of %d", s.reduced, s.late, st.Deployments, len(ds))
	}
}

// mergedAll gives what merged gives, phase by phase, on a deployment long
// enough to be summed in one pass.
func TestMergedAllIsMerged(t *testing.T) {
	var phases []phaseRecord
	for i := range 3 * shortScan {
		phases = append(phases, phaseRecord{status: int32(i*7%50 + i%3), seconds: float64(i%11) + 0.1})
	}
	d := &depRecord{repeats: true}
	all := mergedAll(d, phases)
	for i := range phases {
		wantV, wantFirst := merged(d, phases, i)
		if v, first := all.at(i); v != wantV || first != wantFirst {
			t.Fatalf("phase %d: mergedAll = %v, %v; merged = %v, %v", i, v, first, wantV, wantFirst)
		}
	}
}
