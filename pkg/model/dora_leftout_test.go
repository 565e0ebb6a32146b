package model_test

import (
	"math"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// leftOutNow is the now of the histories below: a Tuesday.
var leftOutNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// everyDay is a successful deployment at 10:00 on each of days days
// from from, each its own version.
func everyDay(days int, from time.Time) []*model.Deployment {
	var deps []*model.Deployment
	for i := range days {
		start := time.Date(from.Year(), from.Month(), from.Day()+i, 10, 0, 0, 0, time.UTC)
		d := doraDep("api", start, start.Add(10*time.Minute), model.OutcomeSuccess, nil)
		d.Version = "v" + start.Format("20060102")
		deps = append(deps, d)
	}
	return deps
}

// junk is n stray records a year back, the first a failure: an import
// test, a typo in a year.
func junk(n int) []*model.Deployment {
	var deps []*model.Deployment
	for i := range n {
		start := leftOutNow.AddDate(-1, 0, i).Add(-7 * time.Hour)
		outcome := model.OutcomeSuccess
		if i == 0 {
			outcome = model.OutcomeFailure
		}
		d := doraDep("api", start, start.Add(time.Minute), outcome, nil)
		d.Version = "junk" + start.Format("20060102")
		deps = append(deps, d)
	}
	return deps
}

// TestDORALeavesOutIsolatedEarlyDeployments checks against histories of
// known frequency that a few stray deployments long before the rest do
// not move the period without since: 3 months of daily deploys read about
// 1 a day, elite, with 1 to 3 records a year back (before, one made it
// 0.25, band high), while a sparse team, a team that paused and a
// request with since keep their whole period.
func TestDORALeavesOutIsolatedEarlyDeployments(t *testing.T) {
	opts := model.DORAOptions{Bucket: "week", Now: leftOutNow}
	// From Monday 31 August to today, 10:00, before now: 93 deploys in
	// 92.5 days of weeks from a Monday.
	daily := everyDay(93, leftOutNow.AddDate(0, 0, -92))
	clean := doraResult(t, opts, daily)
	if clean.Overall.LeftOutEarlyDeployments != 0 {
		t.Fatalf("clean history: %d left out, want 0", clean.Overall.LeftOutEarlyDeployments)
	}
	for n := 1; n <= 3; n++ {
		got := doraResult(t, opts, append(junk(n), daily...))
		o := got.Overall
		if o.LeftOutEarlyDeployments != n {
			t.Errorf("%d junk: left out %d, want %d", n, o.LeftOutEarlyDeployments, n)
		}
		if f := *o.DeploymentFrequencyPerDay; math.Abs(f-1) > 0.05 || o.Bands.DeploymentFrequency != model.BandElite {
			t.Errorf("%d junk: frequency %.3f a day (%s), want 1 ± 5 %%, elite", n, f, o.Bands.DeploymentFrequency)
		}
		// The junk counts in no figure: the same answer as without it.
		if !o.Start.Equal(*clean.Overall.Start) || o.Deployments != 93 || o.FailedDeployments != 0 || o.UnrestoredFailures != 0 ||
			*o.DeploymentFrequencyPerDay != *clean.Overall.DeploymentFrequencyPerDay || len(got.Buckets) != len(clean.Buckets) {
			t.Errorf("%d junk: start %s, %d deployments, %d failed, %d unrestored, %d buckets; want %s, 93, 0, 0, %d",
				n, o.Start, o.Deployments, o.FailedDeployments, o.UnrestoredFailures, len(got.Buckets), clean.Overall.Start, len(clean.Buckets))
		}
		// With since, the request's period: nothing is left out.
		since := leftOutNow.AddDate(-1, 0, -7)
		withSince := opts
		withSince.Since = since
		got = doraResult(t, withSince, append(junk(n), daily...))
		o = got.Overall
		days := leftOutNow.Sub(since).Hours() / 24
		if o.LeftOutEarlyDeployments != 0 || !o.Start.Equal(since) || o.Deployments != 93+n ||
			math.Abs(*o.DeploymentFrequencyPerDay-float64(93+n-1)/days) > 1e-9 {
			t.Errorf("%d junk, since: left out %d, start %s, %d deployments, frequency %.4f; want 0, %s, %d, %.4f",
				n, o.LeftOutEarlyDeployments, o.Start, o.Deployments, *o.DeploymentFrequencyPerDay, since, 93+n, float64(93+n-1)/days)
		}
	}

	// Histories whose earliest deployments are the team's own.
	monthly := func(months int, from time.Time) []*model.Deployment {
		var deps []*model.Deployment
		for i := range months {
			start := from.AddDate(0, i, 0)
			d := doraDep("api", start, start.Add(10*time.Minute), model.OutcomeSuccess, nil)
			d.Version = "v" + start.Format("20060102")
			deps = append(deps, d)
		}
		return deps
	}
	weekly := func(weeks int, from time.Time) []*model.Deployment {
		var deps []*model.Deployment
		for i := range weeks {
			start := from.AddDate(0, 0, 7*i)
			d := doraDep("api", start, start.Add(10*time.Minute), model.OutcomeSuccess, nil)
			d.Version = "v" + start.Format("20060102")
			deps = append(deps, d)
		}
		return deps
	}
	for _, c := range []struct {
		name string
		deps []*model.Deployment
	}{
		{"monthly for 2 years", monthly(24, time.Date(2024, 12, 2, 10, 0, 0, 0, time.UTC))},
		// 60 days, a 3-month pause, 60 days.
		{"paused 3 months", append(everyDay(60, leftOutNow.AddDate(0, 0, -210)), everyDay(60, leftOutNow.AddDate(0, 0, -60))...)},
		// 2 weekly deploys, a 3-month pause, a year of weekly ones.
		{"weekly, 2 before a pause", append(weekly(2, leftOutNow.AddDate(-1, -4, 0)), weekly(52, leftOutNow.AddDate(-1, 0, 0))...)},
	} {
		got := doraResult(t, opts, c.deps)
		first := c.deps[0].StartedAt
		for _, d := range c.deps {
			if d.StartedAt.Before(first) {
				first = d.StartedAt
			}
		}
		want := time.Date(first.Year(), first.Month(), first.Day()-(int(first.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
		if o := got.Overall; o.LeftOutEarlyDeployments != 0 || !o.Start.Equal(want) || o.Deployments != len(c.deps) {
			t.Errorf("%s: left out %d, start %s, %d deployments; want 0, %s, %d", c.name,
				o.LeftOutEarlyDeployments, o.Start, o.Deployments, want, len(c.deps))
		}
	}
}
