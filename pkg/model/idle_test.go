package model_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestEndsPhase(t *testing.T) {
	for _, c := range []struct {
		prev, status string
		want         bool
	}{
		{"build", "build-done", true},
		{"build", "tests-done", false},  // closes another phase
		{"build", "build-done2", false}, // not the suffix
		{"build", "Build-done", false},  // matched exactly, as run records it
		{"build-done", "build", false},  // the other way round
		{"tests", "tests-done-done", false},
	} {
		if got := model.EndsPhase(c.prev, c.status); got != c.want {
			t.Errorf("EndsPhase(%q, %q) = %v, want %v", c.prev, c.status, got, c.want)
		}
	}
}

// TestDonePhasesAreIdle: deployments recorded by stepsctl run (NAME, then
// NAME-done when its command ends) whose waits between commands grow from
// 10 s to 10 minutes while build and tests stay the same. The waits count
// in each deployment's duration and growth, but are no step: not in the
// step stats, not blamed, not a step that moved.
func TestDonePhasesAreIdle(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var deps []*model.Deployment
	b := model.NewDeploymentBuilder(model.DefaultDeploymentRules(), t0.AddDate(1, 0, 0), func(d *model.Deployment) error {
		deps = append(deps, d)
		return nil
	})
	const n = 60
	var id int64
	for i := range n {
		start := t0.Add(time.Duration(i) * 3 * 24 * time.Hour)
		wait := 10 * time.Second
		if i >= n/2 {
			wait = 10 * time.Minute
		}
		// A few seconds either way, as real runs vary.
		jitter := time.Duration(i*7%11-5) * time.Second
		at := start
		for _, s := range []struct {
			status string
			after  time.Duration
		}{
			{"build", 0}, {"build-done", 2*time.Minute + jitter}, {"tests", wait + jitter}, {"tests-done", 5*time.Minute - jitter}, {"finished", wait - jitter},
		} {
			at = at.Add(s.after)
			id++
			step := model.Step{ID: id, Component: "api", Version: fmt.Sprintf("1.%d", i), Environment: "production", Status: s.status, Time: at}
			if err := b.Add(model.DeploymentStep{Step: step}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(deps) != n {
		t.Fatalf("built %d deployments, want %d", len(deps), n)
	}
	var idle []string
	for _, p := range deps[0].Steps {
		if p.Idle {
			idle = append(idle, p.Status)
		}
	}
	if got, want := strings.Join(idle, ","), "build-done,tests-done"; got != want {
		t.Errorf("idle phases %s, want %s", got, want)
	}
	if got, want := deps[n-1].DurationSeconds, (27 * time.Minute).Seconds(); got != want {
		t.Errorf("last deployment lasts %v s, want %v (idle time included)", got, want)
	}

	opts := model.StatsOptions{Bucket: model.BucketWeek}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	copts := model.ChangesOptions{}
	if err := copts.Validate(); err != nil {
		t.Fatal(err)
	}
	changes := model.NewChangesAccumulator(copts)
	for _, d := range deps {
		acc.Add(d)
		changes.Add(d)
	}
	st := acc.Result()
	var names []string
	for _, s := range st.Steps {
		names = append(names, s.Status)
	}
	if got, want := strings.Join(names, ","), "tests,build"; got != want {
		t.Errorf("step stats for %s, want %s (no -done phase)", got, want)
	}
	if st.Trend.GrowthPercentPerWeek <= 0 {
		t.Errorf("deploy time growth %v, want > 0: the waits grew", st.Trend.GrowthPercentPerWeek)
	}
	for _, name := range st.Trend.Blame {
		if strings.HasSuffix(name, model.DoneSuffix) {
			t.Errorf("blamed %q: a wait is no step", name)
		}
	}
	cs := changes.Result()
	if len(cs.Changes) == 0 {
		t.Fatalf("no change found where every wait grew from 10 s to 10 minutes; trend %+v", st.Trend)
	}
	for _, c := range cs.Changes {
		for _, s := range c.Steps {
			if strings.HasSuffix(s.Status, model.DoneSuffix) {
				t.Errorf("change at %s names %q as a step that moved", c.Version, s.Status)
			}
		}
	}
}

// TestPhaseSeconds: a phase's time, the running time of the last phase of
// a deployment in progress, and no time for the end of a finished one.
func TestPhaseSeconds(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sec := 62.0
	d := &model.Deployment{Outcome: model.OutcomeInProgress, StartedAt: t0, Steps: []model.Phase{
		{Status: "build", Time: t0, DurationSeconds: &sec},
		{Status: "tests", Time: t0.Add(62 * time.Second)},
	}}
	now := t0.Add(5 * time.Minute)
	if s, running, ok := d.PhaseSeconds(0, now); s != 62 || running || !ok {
		t.Errorf("build: %v %v %v, want 62 s, done", s, running, ok)
	}
	if s, running, ok := d.PhaseSeconds(1, now); s != 238 || !running || !ok {
		t.Errorf("tests: %v %v %v, want 238 s so far", s, running, ok)
	}
	if s, _, ok := d.PhaseSeconds(1, t0); s != 0 || !ok {
		t.Errorf("tests seen before it started: %v %v, want 0 (a clock behind is not negative time)", s, ok)
	}
	d.Outcome = model.OutcomeSuccess
	if _, _, ok := d.PhaseSeconds(1, now); ok {
		t.Error("the end of a finished deployment has a duration")
	}
}
