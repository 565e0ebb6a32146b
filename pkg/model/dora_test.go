package model_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// doraAt is a time in the crafted history: day d of November 2026 (the
// 2nd is a Monday), at hh:mm UTC.
func doraAt(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }

func doraDep(component string, start, end time.Time, outcome string, committed *time.Time) *model.Deployment {
	d := &model.Deployment{Component: component, Version: start.Format("0102-1504"), Environment: "production",
		Attempt: 1, Owner: "ana", StartedAt: start, Outcome: outcome, CommittedAt: committed}
	if outcome != model.OutcomeInProgress {
		d.FinishedAt = &end
		d.DurationSeconds = end.Sub(start).Seconds()
	}
	return d
}

func tp(t time.Time) *time.Time { return &t }

// doraHistory is a history whose keys are worked out by hand in
// TestDORAHandComputed.
func doraHistory() []*model.Deployment {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	return []*model.Deployment{
		// api, week of the 2nd
		doraDep("api", doraAt(2, 10, 0), doraAt(2, 10, 10), S, tp(doraAt(2, 9, 10))),  // lead 1 h
		doraDep("api", doraAt(3, 10, 0), doraAt(3, 10, 10), F, nil),                   // restored by the next, 1 h
		doraDep("api", doraAt(3, 11, 0), doraAt(3, 11, 10), S, nil),                   // no commit time
		doraDep("api", doraAt(4, 10, 0), doraAt(4, 10, 20), S, tp(doraAt(3, 10, 20))), // lead 1 day
		doraDep("api", doraAt(5, 10, 0), doraAt(5, 10, 10), F, nil),                   // restored next week, 4 days later
		// api, week of the 9th
		doraDep("api", doraAt(9, 10, 0), doraAt(9, 10, 10), S, tp(doraAt(9, 10, 30))), // commit after the end: no commit time
		doraDep("api", doraAt(10, 10, 0), doraAt(10, 10, 10), F, nil),                 // never restored
		// web: its failure is restored by web's success, not api's
		doraDep("web", doraAt(2, 12, 0), doraAt(2, 12, 30), F, nil),
		doraDep("web", doraAt(2, 13, 0), doraAt(2, 13, 30), S, tp(doraAt(2, 12, 0))), // lead 1 h 30 m; restores in 1 h
		doraDep("web", doraAt(10, 9, 0), time.Time{}, model.OutcomeInProgress, nil),  // not finished: counted nowhere
	}
}

func doraResult(t *testing.T, opts model.DORAOptions, deps []*model.Deployment) model.DORA {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewDORAAccumulator(opts)
	for _, d := range deps {
		acc.Add(d)
	}
	if err := acc.CheckSize(); err != nil {
		t.Fatal(err)
	}
	return acc.Result()
}

type doraWant struct {
	deployments, failed, unrestored int
	freq, cfr, ttr50, ttr90         *float64
	lt50, lt90, coverage            *float64
	bands                           [4]string
}

func checkFigures(t *testing.T, name string, got model.DORAFigures, want doraWant) {
	t.Helper()
	eq := func(field string, g, w *float64) {
		t.Helper()
		switch {
		case g == nil && w == nil:
		case g == nil || w == nil:
			t.Errorf("%s %s = %v, want %v", name, field, show(g), show(w))
		case math.Abs(*g-*w) > 1e-9*math.Max(1, math.Abs(*w)):
			t.Errorf("%s %s = %v, want %v", name, field, *g, *w)
		}
	}
	if got.Deployments != want.deployments || got.FailedDeployments != want.failed || got.UnrestoredFailures != want.unrestored {
		t.Errorf("%s deployments/failed/unrestored = %d/%d/%d, want %d/%d/%d", name,
			got.Deployments, got.FailedDeployments, got.UnrestoredFailures, want.deployments, want.failed, want.unrestored)
	}
	eq("frequency", got.DeploymentFrequencyPerDay, want.freq)
	eq("change failure rate", got.ChangeFailureRatePercent, want.cfr)
	eq("restore p50", got.TimeToRestoreP50Seconds, want.ttr50)
	eq("restore p90", got.TimeToRestoreP90Seconds, want.ttr90)
	eq("lead p50", got.LeadTimeP50Seconds, want.lt50)
	eq("lead p90", got.LeadTimeP90Seconds, want.lt90)
	eq("coverage", got.LeadTimeCoveragePercent, want.coverage)
	b := got.Bands
	if g := [4]string{string(b.DeploymentFrequency), string(b.ChangeFailureRate), string(b.TimeToRestore), string(b.LeadTime)}; g != want.bands {
		t.Errorf("%s bands = %q, want %q", name, g, want.bands)
	}
}

func show(v *float64) any {
	if v == nil {
		return "null"
	}
	return *v
}

func f64(v float64) *float64 { return &v }

// DORAHandWeek1 … are the answers for doraHistory over the two weeks from
// November 2 to 15 (inclusive), worked out by hand:
//
// Week of the 2nd: finished api 5 + web 2 = 7, failed 3 (api on the 3rd and
// 5th, web on the 2nd), successes 4 over 7 days. Restores: api 3rd → 1 h,
// api 5th 10:10 → 9th 10:10 = 4 days = 345600 s (counted in the failure's
// week), web → 1 h: sorted 3600, 3600, 345600, p50 3600, p90 at rank 1.8 =
// 3600 + 0.8 × 342000 = 277200. Leads 3600 (api 2nd), 86400 (api 4th),
// 5400 (web): sorted 3600, 5400, 86400, p50 5400, p90 = 5400 + 0.8 × 81000
// = 70200; 3 of 4 successes carry a commit time: 75 %.
//
// Week of the 9th: api success (its commit time is after its end: none)
// and api failure never restored; web's running deployment not counted.
func TestDORAHandComputed(t *testing.T) {
	opts := model.DORAOptions{Bucket: model.BucketWeek, Since: doraAt(2, 0, 0),
		Until: time.Date(2026, 11, 15, 23, 59, 59, 999999000, time.UTC)}
	got := doraResult(t, opts, doraHistory())
	if len(got.Buckets) != 2 {
		t.Fatalf("%d buckets, want 2: %+v", len(got.Buckets), got.Buckets)
	}
	if !got.Buckets[0].Start.Equal(doraAt(2, 0, 0)) || !got.Buckets[1].End.Equal(doraAt(16, 0, 0)) {
		t.Errorf("buckets run %v to %v, want Nov 2 to Nov 16", got.Buckets[0].Start, got.Buckets[1].End)
	}
	week1 := doraWant{deployments: 7, failed: 3, unrestored: 0,
		freq: f64(4.0 / 7), cfr: f64(3.0 / 7 * 100), ttr50: f64(3600), ttr90: f64(277200),
		lt50: f64(5400), lt90: f64(70200), coverage: f64(75),
		bands: [4]string{"high", "low", "high", "elite"}} // restore p50 exactly 1 h: high, not elite
	checkFigures(t, "week 1", got.Buckets[0].DORAFigures, week1)
	week2 := doraWant{deployments: 2, failed: 1, unrestored: 1,
		freq: f64(1.0 / 7), cfr: f64(50), coverage: f64(0),
		bands: [4]string{"high", "low", "", ""}} // one a week exactly: high
	checkFigures(t, "week 2", got.Buckets[1].DORAFigures, week2)
	overall := doraWant{deployments: 9, failed: 4, unrestored: 1,
		freq: f64(5.0 / 14), cfr: f64(4.0 / 9 * 100), ttr50: f64(3600), ttr90: f64(277200),
		lt50: f64(5400), lt90: f64(70200), coverage: f64(60),
		bands: [4]string{"high", "low", "high", "elite"}}
	checkFigures(t, "overall", got.Overall.DORAFigures, overall)
	if got.Overall.Start == nil || !got.Overall.Start.Equal(doraAt(2, 0, 0)) || got.Overall.End == nil || !got.Overall.End.Equal(doraAt(16, 0, 0)) {
		t.Errorf("overall runs %v to %v, want Nov 2 to Nov 16", got.Overall.Start, got.Overall.End)
	}

	t.Run("any order gives the same answer", func(t *testing.T) {
		deps := doraHistory()
		r := rand.New(rand.NewPCG(1, 2))
		for range 5 {
			r.Shuffle(len(deps), func(i, j int) { deps[i], deps[j] = deps[j], deps[i] })
			again := doraResult(t, opts, deps)
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(again)
			if string(a) != string(b) {
				t.Fatalf("shuffled:\n%s\nwant\n%s", b, a)
			}
		}
	})

	t.Run("the current bucket is measured to now", func(t *testing.T) {
		o := model.DORAOptions{Bucket: model.BucketWeek, Now: doraAt(11, 0, 0)}
		got := doraResult(t, o, doraHistory())
		// Week 2 runs from the 9th to now, the 11th: 2 days, 1 success.
		checkFigures(t, "week 2 to now", got.Buckets[1].DORAFigures, doraWant{deployments: 2, failed: 1, unrestored: 1,
			freq: f64(0.5), cfr: f64(50), coverage: f64(0), bands: [4]string{"high", "low", "", ""}})
		if f := got.Overall.DeploymentFrequencyPerDay; f == nil || math.Abs(*f-5.0/9) > 1e-12 {
			t.Errorf("overall frequency %v, want 5/9 (5 successes from the 2nd to the 11th)", show(f))
		}
	})

	t.Run("a restore after the range is not seen", func(t *testing.T) {
		o := model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(5, 0, 0), Until: doraAt(5, 23, 0)}
		var deps []*model.Deployment
		for _, d := range doraHistory() {
			if !d.StartedAt.Before(o.Since) && !d.StartedAt.After(o.Until) {
				deps = append(deps, d)
			}
		}
		got := doraResult(t, o, deps)
		if len(got.Buckets) != 1 || got.Overall.UnrestoredFailures != 1 || got.Overall.TimeToRestoreP50Seconds != nil {
			t.Errorf("got %+v, want one day with its failure unrestored", got)
		}
	})
}

func TestDORANothingToCompute(t *testing.T) {
	got := doraResult(t, model.DORAOptions{}, nil)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"overall":{"start":null,"end":null,"left_out_early_deployments":0,"deployments":0,"failed_deployments":0,"retried_failures":0,"redeployments":0,"superseded_deployments":0,"rollbacks":0,"deployment_frequency_per_day":null,` +
		`"change_failure_rate_percent":null,"change_failure_rate_low_percent":null,"change_failure_rate_high_percent":null,"time_to_restore_p50_seconds":null,"time_to_restore_p90_seconds":null,"unrestored_failures":0,"restored_failures":0,` +
		`"lead_time_p50_seconds":null,"lead_time_p90_seconds":null,"lead_time_coverage_percent":null,` +
		`"bands":{"deployment_frequency":null,"change_failure_rate":null,"time_to_restore":null,"lead_time":null}},"buckets":[],"environments":[],"leg_environments":[],"fitted_since":null}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}

	// A range with no deployment deploys 0 times a day: a figure, not null.
	got = doraResult(t, model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(2, 0, 0), Until: doraAt(3, 23, 0)}, nil)
	if len(got.Buckets) != 2 || got.Overall.DeploymentFrequencyPerDay == nil || *got.Overall.DeploymentFrequencyPerDay != 0 ||
		got.Overall.Bands.DeploymentFrequency != model.BandLow || got.Overall.ChangeFailureRatePercent != nil {
		t.Errorf("empty range: %+v", got)
	}
}

func TestDORABandEdges(t *testing.T) {
	const day, week = 86400.0, 7 * 86400.0
	tests := []struct {
		name string
		band func(*float64) model.DORABand
		v    float64
		want string
	}{
		{"frequency once a day", model.FrequencyBand, 1, "elite"},
		{"frequency just under once a day", model.FrequencyBand, math.Nextafter(1, 0), "high"},
		{"frequency once a week", model.FrequencyBand, 1.0 / 7, "high"},
		{"frequency just under once a week", model.FrequencyBand, math.Nextafter(1.0/7, 0), "medium"},
		{"frequency once in 31 days", model.FrequencyBand, 1.0 / 31, "medium"},
		{"frequency just under once in 31 days", model.FrequencyBand, math.Nextafter(1.0/31, 0), "low"},
		{"frequency zero", model.FrequencyBand, 0, "low"},
		{"failure rate 0", model.FailureRateBand, 0, "elite"},
		{"failure rate 5", model.FailureRateBand, 5, "elite"},
		{"failure rate just over 5", model.FailureRateBand, math.Nextafter(5, 6), "high"},
		{"failure rate 10", model.FailureRateBand, 10, "high"},
		{"failure rate just over 10", model.FailureRateBand, math.Nextafter(10, 11), "medium"},
		{"failure rate 15", model.FailureRateBand, 15, "medium"},
		{"failure rate just over 15", model.FailureRateBand, math.Nextafter(15, 16), "low"},
		{"restore just under an hour", model.RestoreBand, math.Nextafter(3600, 0), "elite"},
		{"restore an hour", model.RestoreBand, 3600, "high"},
		{"restore a day", model.RestoreBand, day, "medium"},
		{"restore just under a week", model.RestoreBand, math.Nextafter(week, 0), "medium"},
		{"restore a week", model.RestoreBand, week, "low"},
		{"lead just under a day", model.LeadTimeBand, math.Nextafter(day, 0), "elite"},
		{"lead a day", model.LeadTimeBand, day, "high"},
		{"lead a week", model.LeadTimeBand, week, "medium"},
		{"lead just under 30 days", model.LeadTimeBand, math.Nextafter(30*day, 0), "medium"},
		{"lead 30 days", model.LeadTimeBand, 30 * day, "low"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if got := tt.band(&v); string(got) != tt.want {
				t.Errorf("band(%v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
	if got := model.FrequencyBand(nil); got != "" {
		t.Errorf("band of no figure = %q, want none", got)
	}
}

// TestDORAFrequencyEdgesThroughBuckets checks the frequency edges as a team
// meets them: one success in a week bucket is weekly (high), one in a
// 31-day month is monthly (medium).
func TestDORAFrequencyEdgesThroughBuckets(t *testing.T) {
	one := []*model.Deployment{doraDep("api", doraAt(3, 10, 0), doraAt(3, 10, 5), model.OutcomeSuccess, nil)}
	week := doraResult(t, model.DORAOptions{Bucket: model.BucketWeek}, one)
	if b := week.Buckets[0].Bands.DeploymentFrequency; b != model.BandHigh {
		t.Errorf("once in a week: %q, want high", b)
	}
	oct := []*model.Deployment{doraDep("api", time.Date(2026, 10, 3, 10, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 10, 5, 0, 0, time.UTC), model.OutcomeSuccess, nil)}
	month := doraResult(t, model.DORAOptions{Bucket: model.BucketMonth}, oct)
	if b := month.Buckets[0].Bands.DeploymentFrequency; b != model.BandMedium {
		t.Errorf("once in October (31 days): %q, want medium", b)
	}
}

func TestDORASprintBuckets(t *testing.T) {
	// Sprints of 10 days from October 28: the 2nd to the 5th are in the
	// sprint of October 28, the 9th and 10th in the one of November 7.
	o := model.DORAOptions{Bucket: model.BucketSprint, SprintDays: 10, SprintStart: time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)}
	got := doraResult(t, o, doraHistory())
	if len(got.Buckets) != 2 || !got.Buckets[0].Start.Equal(time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)) ||
		!got.Buckets[1].Start.Equal(doraAt(7, 0, 0)) || got.Buckets[0].Deployments != 7 || got.Buckets[1].Deployments != 2 {
		t.Errorf("sprints: %+v", got.Buckets)
	}
}

func TestDORATooManyBuckets(t *testing.T) {
	// A deployment back-dated to 1970 costs a gap, not 20,000 days.
	deps := append(doraHistory(), doraDep("api", time.Date(1970, 1, 1, 10, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 10, 5, 0, 0, time.UTC), model.OutcomeSuccess, nil))
	got := doraResult(t, model.DORAOptions{Bucket: model.BucketDay}, deps)
	if len(got.Buckets) > 20 || got.Buckets[1].Gap == 0 || *got.Buckets[1].DeploymentFrequencyPerDay != 0 {
		t.Errorf("%d buckets, the second %+v: want the empty years as one gap deploying 0 a day", len(got.Buckets), got.Buckets[1])
	}

	// 1001 days with deployments are too many buckets.
	o := model.DORAOptions{Bucket: model.BucketDay}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewDORAAccumulator(o)
	for i := range model.MaxStatsBuckets + 1 {
		start := time.Date(2020, 1, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		acc.Add(doraDep("api", start, start.Add(time.Minute), model.OutcomeSuccess, nil))
	}
	err := acc.CheckSize()
	var me *model.Error
	if !errors.As(err, &me) || me.Field != "bucket" || !strings.Contains(err.Error(), "larger bucket") {
		t.Errorf("CheckSize = %v, want an invalid bucket with advice", err)
	}
}

// BenchmarkDORA measures the four keys over 100,000 deployments of 20
// components, a tenth failing, in weekly buckets, in start order and
// shuffled.
func BenchmarkDORA(b *testing.B) {
	const n = 100000
	deps := make([]*model.Deployment, n)
	r := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range deps {
		s := start.Add(time.Duration(i) * 10 * time.Minute)
		outcome := model.OutcomeSuccess
		if r.IntN(10) == 0 {
			outcome = model.OutcomeFailure
		}
		var c *time.Time
		if r.IntN(4) != 0 {
			c = tp(s.Add(-time.Duration(r.IntN(48)) * time.Hour))
		}
		deps[i] = doraDep(string(rune('a'+i%20)), s, s.Add(8*time.Minute), outcome, c)
	}
	opts := model.DORAOptions{Bucket: model.BucketWeek}
	if err := opts.Validate(); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			acc := model.NewDORAAccumulator(opts)
			for _, d := range deps {
				acc.Add(d)
			}
			if err := acc.CheckSize(); err != nil {
				b.Fatal(err)
			}
			_ = acc.Result()
		}
	}
	// In start order, as the store reads them: paired as they come.
	b.Run("order=start", run)
	// Shuffled: each series kept whole and sorted at the end.
	r.Shuffle(n, func(i, j int) { deps[i], deps[j] = deps[j], deps[i] })
	b.Run("order=shuffled", run)
}

// TestDORARetriesAndRedeploys: a version is one change. A failed attempt
// retried with the same version is no change failure if a retry deploys
// it, and one failure (from its first attempt) if none does; the same
// version succeeding again right after its success (a terminal step sent
// twice, a redeploy) is no deployment and adds no lead time.
func TestDORARetriesAndRedeploys(t *testing.T) {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	dep := func(version string, start, end time.Time, outcome string, committed *time.Time) *model.Deployment {
		d := doraDep("api", start, end, outcome, committed)
		d.Version = version
		return d
	}
	history := []*model.Deployment{
		dep("1.0", doraAt(2, 10, 0), doraAt(2, 10, 10), F, nil),                   // flaky: retried
		dep("1.0", doraAt(2, 10, 15), doraAt(2, 10, 25), S, tp(doraAt(2, 9, 25))), // deploys it, lead 1 h
		dep("1.0", doraAt(2, 10, 30), doraAt(2, 10, 31), S, tp(doraAt(2, 9, 25))), // sent again: a redeploy
		dep("1.1", doraAt(2, 12, 0), doraAt(2, 12, 10), F, nil),                   // the change fails…
		dep("1.1", doraAt(2, 12, 20), doraAt(2, 12, 30), F, nil),                  // …and on its retry
		dep("1.2", doraAt(2, 14, 0), doraAt(2, 14, 10), S, tp(doraAt(2, 13, 10))), // the fix: 2 h after 1.1's first failure
		dep("1.3", doraAt(2, 15, 0), doraAt(2, 15, 10), F, nil),                   // fails, retried, never restored
		dep("1.3", doraAt(2, 15, 20), doraAt(2, 15, 30), F, nil),
	}
	opts := model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(2, 0, 0), Until: doraAt(3, 0, 0).Add(-time.Microsecond)}
	got := doraResult(t, opts, history).Overall.DORAFigures
	checkFigures(t, "overall", got, doraWant{deployments: 4, failed: 2, unrestored: 1,
		freq: f64(2), cfr: f64(50), ttr50: f64(7200), ttr90: f64(7200),
		lt50: f64(3600), lt90: f64(3600), coverage: f64(100),
		bands: [4]string{"elite", "low", "high", "elite"}})
	if got.RetriedFailures != 3 || got.Redeployments != 1 {
		t.Errorf("retried %d, redeployments %d; want 3 and 1", got.RetriedFailures, got.Redeployments)
	}
}

// TestDORAFailedRedeploys: once a version has deployed, its further
// attempts until another version are no deployment whatever their
// outcome. A redeploy that fails and is retried is a retried failure and
// a redeployment, not a second deployment with its old commit's lead time
// again; a redeploy that fails and is left so, or is followed by another
// version, is a redeployment, not a change failure: the change had
// reached production.
func TestDORAFailedRedeploys(t *testing.T) {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	dep := func(component, version string, start, end time.Time, outcome string, committed *time.Time) *model.Deployment {
		d := doraDep(component, start, end, outcome, committed)
		d.Version = version
		return d
	}
	history := []*model.Deployment{
		dep("jobs", "3.0", doraAt(2, 9, 0), doraAt(2, 9, 10), S, tp(doraAt(2, 8, 10))),    // deploys 3.0, lead 1 h
		dep("jobs", "3.0", doraAt(2, 10, 0), doraAt(2, 10, 3), F, nil),                    // its redeploy fails…
		dep("jobs", "3.0", doraAt(2, 10, 5), doraAt(2, 10, 8), F, nil),                    // …and again…
		dep("jobs", "3.0", doraAt(2, 10, 10), doraAt(2, 10, 20), S, tp(doraAt(2, 8, 10))), // …then works: no deployment
		dep("jobs", "3.1", doraAt(2, 11, 0), doraAt(2, 11, 10), S, tp(doraAt(2, 10, 10))), // a change, lead 1 h
		dep("cron", "5.0", doraAt(2, 9, 0), doraAt(2, 9, 10), S, tp(doraAt(2, 8, 10))),
		dep("cron", "5.0", doraAt(2, 12, 0), doraAt(2, 12, 3), F, nil), // a redeploy fails, left so
		dep("web", "7.0", doraAt(2, 9, 0), doraAt(2, 9, 10), S, tp(doraAt(2, 8, 10))),
		dep("web", "7.0", doraAt(2, 12, 0), doraAt(2, 12, 3), F, nil),                    // a redeploy fails…
		dep("web", "7.1", doraAt(2, 13, 0), doraAt(2, 13, 10), S, tp(doraAt(2, 12, 10))), // …a new version: no restore
		dep("web", "7.2", doraAt(2, 14, 0), doraAt(2, 14, 10), F, nil),                   // a change that fails,
		dep("web", "7.3", doraAt(2, 15, 0), doraAt(2, 15, 10), S, tp(doraAt(2, 14, 10))), // restored in 1 h
	}
	opts := model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(2, 0, 0), Until: doraAt(3, 0, 0).Add(-time.Microsecond)}
	// In start order, as the store hands them over, and reversed: each
	// series is then kept whole and paired at the end.
	reversed := slices.Clone(history)
	slices.Reverse(reversed)
	for name, deps := range map[string][]*model.Deployment{"start order": history, "reversed": reversed} {
		got := doraResult(t, opts, deps).Overall.DORAFigures
		checkFailedRedeploys(t, name, got)
	}
}

func checkFailedRedeploys(t *testing.T, name string, got model.DORAFigures) {
	t.Helper()
	if got.Deployments != 7 || got.FailedDeployments != 1 || got.RetriedFailures != 2 || got.Redeployments != 3 || got.UnrestoredFailures != 0 {
		t.Errorf("%s: deployments %d, failed %d, retried %d, redeployments %d, unrestored %d; want 7, 1, 2, 3, 0", name,
			got.Deployments, got.FailedDeployments, got.RetriedFailures, got.Redeployments, got.UnrestoredFailures)
	}
	if v := got.TimeToRestoreP90Seconds; v == nil || *v != 3600 {
		t.Errorf("%s: time to restore p90 = %s, want 3600 s (7.2's failure alone)", name, ptrString(v))
	}
	if v := got.LeadTimeP90Seconds; v == nil || *v != 3600 {
		t.Errorf("%s: lead time p90 = %s, want 3600 s (3.0's redeploy adds none)", name, ptrString(v))
	}
}

// ptrString says a figure: its value, or null.
func ptrString(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// TestDORAMovingLabelWithRevisions: a version label deployed again and
// again (main) with the commit given is a new change each time its commit
// differs: a success is a deployment, not a redeploy, and a failure
// followed by a fix with another commit is a change failure restored, not
// a retry. The same commit again is still a redeploy or a retry.
func TestDORAMovingLabelWithRevisions(t *testing.T) {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	dep := func(revision string, start, end time.Time, outcome string) *model.Deployment {
		d := doraDep("api", start, end, outcome, nil)
		d.Version, d.Revision = "main", revision
		return d
	}
	history := []*model.Deployment{
		dep("a1", doraAt(2, 10, 0), doraAt(2, 10, 10), S),
		dep("b2", doraAt(2, 11, 0), doraAt(2, 11, 10), S),  // a new commit: a deployment
		dep("b2", doraAt(2, 11, 20), doraAt(2, 11, 21), S), // the same again: a redeploy
		dep("c3", doraAt(2, 12, 0), doraAt(2, 12, 10), F),  // fails…
		dep("c3", doraAt(2, 12, 20), doraAt(2, 12, 30), F), // …retried with its commit: a retry
		dep("d4", doraAt(2, 13, 0), doraAt(2, 13, 10), S),  // the fix, 1 h after c3's first failure
	}
	opts := model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(2, 0, 0), Until: doraAt(3, 0, 0).Add(-time.Microsecond)}
	got := doraResult(t, opts, history).Overall.DORAFigures
	if got.Deployments != 4 || got.FailedDeployments != 1 || got.RetriedFailures != 1 || got.Redeployments != 1 {
		t.Errorf("deployments %d, failed %d, retried %d, redeployments %d; want 4, 1, 1, 1",
			got.Deployments, got.FailedDeployments, got.RetriedFailures, got.Redeployments)
	}
	if got.TimeToRestoreP50Seconds == nil || *got.TimeToRestoreP50Seconds != 3600 {
		t.Errorf("time to restore p50 = %v, want 3600 s", got.TimeToRestoreP50Seconds)
	}
}

// TestDORAMovingLabelFromBeforeRevisions: a label deployed without its
// commit (before the pipeline gave revision) and then with one commit
// after another. An attempt without a commit may be any commit, so the
// first one given after it is the same change; but the commits after
// that differ from it, and each is a change, as docs/api.md says: the
// label deployed once without a commit does not make every later commit
// a redeploy, nor every later failure a retry.
func TestDORAMovingLabelFromBeforeRevisions(t *testing.T) {
	S, F := model.OutcomeSuccess, model.OutcomeFailure
	dep := func(component, revision string, start, end time.Time, outcome string) *model.Deployment {
		d := doraDep(component, start, end, outcome, nil)
		d.Version, d.Revision = "main", revision
		return d
	}
	history := []*model.Deployment{
		dep("api", "", doraAt(2, 9, 0), doraAt(2, 9, 10), S),     // before revisions were given
		dep("api", "a1", doraAt(2, 10, 0), doraAt(2, 10, 10), S), // may be what ran: a redeploy
		dep("api", "b2", doraAt(2, 11, 0), doraAt(2, 11, 10), S), // another commit: a deployment
		dep("api", "c3", doraAt(2, 12, 0), doraAt(2, 12, 10), S), // and another
		dep("web", "", doraAt(2, 9, 0), doraAt(2, 9, 10), F),     // fails without its commit…
		dep("web", "a1", doraAt(2, 10, 0), doraAt(2, 10, 10), F), // …retried: the same change
		dep("web", "b2", doraAt(2, 11, 0), doraAt(2, 11, 10), F), // another commit, failing too
		dep("web", "c3", doraAt(2, 12, 0), doraAt(2, 12, 10), S), // the fix of both
	}
	opts := model.DORAOptions{Bucket: model.BucketDay, Since: doraAt(2, 0, 0), Until: doraAt(3, 0, 0).Add(-time.Microsecond)}
	got := doraResult(t, opts, history).Overall.DORAFigures
	if got.Deployments != 6 || got.FailedDeployments != 2 || got.RetriedFailures != 1 || got.Redeployments != 1 {
		t.Errorf("deployments %d, failed %d, retried %d, redeployments %d; want 6, 2, 1, 1",
			got.Deployments, got.FailedDeployments, got.RetriedFailures, got.Redeployments)
	}
}
