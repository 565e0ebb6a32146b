package model_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/etatest"
	"github.com/steps-dev/steps/pkg/model"
)

// buildDeployments builds deployments from steps, as the store would.
func buildDeployments(t *testing.T, inputs []model.StepInput, now time.Time) []*model.Deployment {
	t.Helper()
	steps := make([]model.StepInput, len(inputs))
	copy(steps, inputs)
	slices.SortStableFunc(steps, func(a, b model.StepInput) int {
		return strings.Compare(a.Component+"\x00"+a.Version+"\x00"+a.Environment, b.Component+"\x00"+b.Version+"\x00"+b.Environment)
	})
	var out []*model.Deployment
	b := model.NewDeploymentBuilder(model.DefaultDeploymentRules(), now, func(d *model.Deployment) error {
		out = append(out, d)
		return nil
	})
	for i, in := range steps {
		s := model.Step{ID: int64(i + 1), Component: in.Component, Version: in.Version, Owner: in.Owner, Status: in.Status,
			Environment: in.Environment, Time: in.Time}
		if err := b.Add(model.DeploymentStep{Step: s}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkETA holds d's ETA fields to w.
func checkETA(t *testing.T, d *model.Deployment, w etatest.Want) {
	t.Helper()
	if !w.OK {
		if d.ETASeconds != nil || d.ExpectedDurationSeconds != nil || d.ExpectedFinishAt != nil {
			t.Errorf("%s %s: ETA %v %v %v, want none (not enough history)", d.Component, d.Version, d.ETASeconds, d.ExpectedDurationSeconds, d.ExpectedFinishAt)
		}
		return
	}
	if d.ETASeconds == nil || d.ExpectedDurationSeconds == nil || d.ExpectedFinishAt == nil {
		t.Fatalf("%s %s: no ETA, want %v s", d.Component, d.Version, w.ETASeconds)
	}
	if *d.ETASeconds != w.ETASeconds || *d.ExpectedDurationSeconds != w.ExpectedDurationSeconds || !d.ExpectedFinishAt.Equal(w.ExpectedFinishAt()) {
		t.Errorf("%s %s: eta %v s, expected duration %v s, finish %v; want %v s, %v s, %v", d.Component, d.Version,
			*d.ETASeconds, *d.ExpectedDurationSeconds, d.ExpectedFinishAt, w.ETASeconds, w.ExpectedDurationSeconds, w.ExpectedFinishAt())
	}
	// A deploy 400 s into tests that take 115 s is late though its later
	// steps are still ahead (eta 40 s): it said nothing of it, and a
	// person read "40s", on time and nearly done.
	if d.Overdue != w.Overdue {
		t.Errorf("%s %s: overdue %v, want %v", d.Component, d.Version, d.Overdue, w.Overdue)
	}
}

func TestEstimateETAInEachStep(t *testing.T) {
	all := buildDeployments(t, etatest.Steps(), etatest.Now)
	history := slices.Clone(all)
	model.SortNewestFirst(history)
	for _, w := range etatest.Wants() {
		i := slices.IndexFunc(all, func(d *model.Deployment) bool {
			return d.Component == w.Component && d.Version == w.Version && d.Environment == w.Environment
		})
		if i < 0 {
			t.Fatalf("no deployment %+v", w)
		}
		d := all[i]
		// The whole history, failures, other environments and all: the
		// estimate keeps the successes of d's group alone.
		d.SetETA(model.ETAPast(history, d.Group()), etatest.Now)
		checkETA(t, d, w)
	}
}

func TestETAOfFinishedDeploymentIsNull(t *testing.T) {
	all := buildDeployments(t, etatest.Steps(), etatest.Now)
	model.SortNewestFirst(all)
	for _, d := range all {
		if d.Outcome == model.OutcomeInProgress {
			continue
		}
		d.SetETA(model.ETAPast(all, d.Group()), etatest.Now)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"expected_duration_seconds":null,"expected_finish_at":null,"eta_seconds":null`) {
			t.Fatalf("finished deployment as JSON: %s", b)
		}
	}
}

// deploy makes a successful deployment of api to prod starting at start
// whose phases last the given seconds, ending with "finished".
func deploy(start time.Time, statusSeconds ...any) *model.Deployment {
	d := &model.Deployment{Component: "api", Version: start.Format(time.TimeOnly), Environment: "prod", StartedAt: start}
	at := start
	for i := 0; i < len(statusSeconds); i += 2 {
		d.Steps = append(d.Steps, model.Phase{Status: statusSeconds[i].(string), Time: at})
		at = at.Add(time.Duration(statusSeconds[i+1].(int)) * time.Second)
	}
	d.Steps = append(d.Steps, model.Phase{Status: "finished", Time: at})
	d.Complete(model.DefaultDeploymentRules().Outcome, at, time.Hour)
	return d
}

// Only the newest model.ETAHistory successes count: older ones, however
// different, do not move the median.
func TestETAReadsTheLatestTwentyOnly(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var history []*model.Deployment
	for i := range 25 {
		seconds := 100
		switch {
		case i >= 20:
			seconds = 1000 // the oldest five
		case i >= 10:
			seconds = 200
		}
		history = append(history, deploy(now.Add(-time.Duration(i+1)*time.Hour), "build", seconds))
	}
	running := &model.Deployment{Component: "api", Version: "new", Environment: "prod", StartedAt: now, Steps: []model.Phase{{Status: "build", Time: now}}}
	running.Complete(model.DefaultDeploymentRules().Outcome, now, time.Hour)
	e, ok := model.EstimateETA(running, history, now)
	// Ten at 100 s and ten at 200 s: median 150. With the oldest five
	// counted it would be 200.
	if !ok || e.Seconds != 150 || e.Samples != 20 {
		t.Fatalf("EstimateETA = %+v, %v; want 150 s from 20 deployments", e, ok)
	}
}

// A step retried within a deployment is matched with the same retry in
// the past ones: the second deploy phase with past second deploy phases.
func TestETAOfRetriedStep(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var history []*model.Deployment
	for i := range 5 {
		// deploy 50 s, verify 10 s, deploy again 20 s.
		history = append(history, deploy(now.Add(-time.Duration(i+1)*time.Hour), "deploy", 50, "verify", 10, "deploy", 20))
	}
	// Five deployments that deployed once, 300 s: they have no second
	// deploy phase and do not count for it.
	for i := range 5 {
		history = append(history, deploy(now.Add(-time.Duration(i+10)*time.Hour), "deploy", 300))
	}
	start := now.Add(-65 * time.Second)
	running := &model.Deployment{Component: "api", Version: "new", Environment: "prod", StartedAt: start, Steps: []model.Phase{
		{Status: "deploy", Time: start}, {Status: "verify", Time: start.Add(50 * time.Second)}, {Status: "deploy", Time: start.Add(60 * time.Second)},
	}}
	running.Complete(model.DefaultDeploymentRules().Outcome, now, time.Hour)
	e, ok := model.EstimateETA(running, history, now)
	// Second deploy: remaining 20 s, 5 s of it gone: 15 s to go.
	if !ok || e.Seconds != 15 || e.ExpectedDurationSeconds != 80 || e.Samples != 5 {
		t.Fatalf("EstimateETA = %+v, %v; want 15 s, 80 s in all, from 5", e, ok)
	}
	// In its first deploy phase, all ten count: remaining 80 ×5 and 300
	// ×5, median 190; 10 s gone.
	running.Steps = running.Steps[:1]
	running.Complete(model.DefaultDeploymentRules().Outcome, start.Add(10*time.Second), time.Hour)
	e, ok = model.EstimateETA(running, history, start.Add(10*time.Second))
	if !ok || e.Seconds != 180 || e.Samples != 10 {
		t.Fatalf("EstimateETA (first deploy) = %+v, %v; want 180 s from 10", e, ok)
	}
}
