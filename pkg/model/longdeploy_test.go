package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// A deployment may hold model.MaxDeploymentSteps steps, each a step name
// of its own: the stats of one such deployment, a step repeated, cost
// 16 s of CPU when each phase was compared with those before it (to find
// repeats) and each step name's fit scanned every phase. The bound is far
// above the linear cost (about 1.3 s) and far below the quadratic one.
func TestStatsOfTheLongestDeploymentCostLittleCPU(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a CPU bound: not under the race detector or -short")
	}
	const n = model.MaxStatsSeries - 1 // the most step names one bucket allows
	args := make([]any, 0, 2*n)
	for i := range n {
		name := fmt.Sprintf("step-%05d", i)
		if i == n-1 {
			name = "step-00000" // a repeat: its seconds are summed
		}
		args = append(args, name, 1)
	}
	d := deploy(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), args...)
	start := cpuTime()
	acc := model.NewStatsAccumulator(model.StatsOptions{Bucket: "week", SprintDays: 14, SprintStart: model.DefaultSprintStart, Outcome: "success"})
	acc.Add(d)
	if err := acc.CheckSize(); err != nil {
		t.Fatal(err)
	}
	st := acc.Result()
	if used := cpuTime() - start; used > 6*time.Second {
		t.Errorf("stats of one deployment of %d steps took %v of CPU; want it linear in the steps (about 1.3 s)", n, used)
	}
	if len(st.Steps) != n-1 || st.Steps[0].Status != "step-00000" {
		t.Errorf("%d step names, slowest %q; want %d, step-00000 (2 s) first", len(st.Steps), st.Steps[0].Status, n-1)
	}
}

// The change points of a series of long deployments, each step name's
// growth and medians around the change among them, cost the statuses
// times every phase when each read its seconds by scanning the phases:
// 40 deployments of 10,000 step names took 7 s of CPU, now a third of one.
func TestChangesOfLongDeploymentsCostLittleCPU(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a CPU bound: not under the race detector or -short")
	}
	const names = 10_000
	acc := model.NewChangesAccumulator(model.ChangesOptions{Outcome: "success"})
	for k := range 40 {
		seconds := 1
		if k >= 20 {
			seconds = 3 // every step three times as long from the 21st on
		}
		args := make([]any, 0, 2*names)
		for i := range names {
			args = append(args, fmt.Sprintf("step-%05d", i), seconds)
		}
		d := deploy(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k), args...)
		d.Version = fmt.Sprint(k)
		acc.Add(d)
	}
	start := cpuTime()
	cs := acc.Result()
	if used := cpuTime() - start; used > 3*time.Second {
		t.Errorf("change points of 40 deployments of %d steps took %v of CPU; want it linear in the steps (about 0.3 s)", names, used)
	}
	if len(cs.Changes) != 1 || cs.Changes[0].Version != "20" || len(cs.Changes[0].Steps) != names {
		t.Fatalf("changes = %d; want one, at version 20, naming all %d steps", len(cs.Changes), names)
	}
	if s := cs.Changes[0].Steps[0]; s.BeforeP50Seconds != 1 || s.AfterP50Seconds != 3 {
		t.Errorf("step %s moved from %v s to %v s; want 1 s to 3 s", s.Status, s.BeforeP50Seconds, s.AfterP50Seconds)
	}
}
