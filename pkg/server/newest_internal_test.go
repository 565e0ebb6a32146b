package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// The page's newest deployments are copies: the store passes every
// deployment in the same memory (EachDeploymentPassing), and what was kept
// must not change when the next one is written there.
func TestNewestDeploymentsKeepCopies(t *testing.T) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var passed model.Deployment
	var durations [3]float64
	var finished, committed time.Time
	newest := newestDeployments{max: 5}
	for i := range 100 {
		// Out of order now and then, as a read of the table may be.
		at := start.Add(time.Duration(i*37%100) * time.Hour)
		durations = [3]float64{float64(i), float64(i) + 0.5, 0}
		finished, committed = at.Add(time.Duration(i)*time.Second), at.Add(-time.Hour)
		passed = model.Deployment{Component: "api", Version: fmt.Sprint(i), StartedAt: at, FinishedAt: &finished, CommittedAt: &committed,
			Steps: append(passed.Steps[:0],
				model.Phase{ID: int64(i), Status: "build", Time: at, DurationSeconds: &durations[0]},
				model.Phase{ID: int64(i), Status: "tests", Time: at, DurationSeconds: &durations[1]},
				model.Phase{ID: int64(i), Status: "finished", Time: at})}
		newest.add(&passed)
	}
	kept := newest.deployments()
	if len(kept) != 5 {
		t.Fatalf("%d kept, want 5", len(kept))
	}
	for j, d := range kept {
		// The deployment that started (99-j) hours after start.
		i := 0
		for i*37%100 != 99-j {
			i++
		}
		at := start.Add(time.Duration(99-j) * time.Hour)
		if d.Version != fmt.Sprint(i) || !d.StartedAt.Equal(at) || !d.FinishedAt.Equal(at.Add(time.Duration(i)*time.Second)) ||
			!d.CommittedAt.Equal(at.Add(-time.Hour)) || len(d.Steps) != 3 || d.Steps[0].ID != int64(i) ||
			*d.Steps[0].DurationSeconds != float64(i) || *d.Steps[1].DurationSeconds != float64(i)+0.5 || d.Steps[2].DurationSeconds != nil {
			t.Errorf("kept %d: %s started %s finished %s, steps %+v; want version %d started %s", j, d.Version, d.StartedAt, d.FinishedAt, d.Steps, i, at)
		}
	}
}
