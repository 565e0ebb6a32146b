package rowtext

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// deploymentRow joins a deployment's columns as the store's deploymentColumns does.
func deploymentRow(component string, attempt int, started time.Time, statuses []string) []byte {
	var phases []byte
	for i, st := range statuses {
		phases = AppendPhase(phases, int64(1000*attempt+i), time.Duration(i)*time.Minute, st)
	}
	return []byte(strings.Join([]string{component, "v" + fmt.Sprint(attempt), "prod", fmt.Sprint(attempt), "ana",
		FormatTime(started), string(phases), "", ""}, "\x1f"))
}

// Deployments kept by the caller stay whole although the reader cuts
// them and their steps from shared blocks: appending to one's steps
// leaves the next one's alone. Start times read on the day of the
// deployment before are those ParseTime reads, across midnights and
// back in time, and a damaged one is still an error.
func TestDeploymentReaderKeepsEachDeploymentWhole(t *testing.T) {
	start := time.Date(2026, 3, 1, 22, 0, 0, 123456000, time.UTC)
	rules := model.DefaultDeploymentRules()
	dr := NewDeploymentReader(model.DeploymentFilter{}, rules, start.Add(1000*time.Hour))
	var kept []*model.Deployment
	var starts []time.Time
	var wantSteps [][]string
	for i := range 300 {
		// Ten minutes apart, with a jump back a day now and then.
		at := start.Add(time.Duration(i)*10*time.Minute + time.Duration(i)*time.Microsecond)
		if i%50 == 7 {
			at = at.Add(-24 * time.Hour)
		}
		statuses := []string{"build", "tests", "rollout", "finished"}[:1+i%4]
		starts = append(starts, at)
		wantSteps = append(wantSteps, statuses)
		if err := dr.Read(deploymentRow("api", i, at, statuses), func(d *model.Deployment) error {
			kept = append(kept, d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range kept {
		d.Steps = append(d.Steps, model.Phase{Status: "appended"})
		if d.Steps[0].ID != int64(1000*i) {
			t.Fatalf("deployment %d: first step %d, want %d", i, d.Steps[0].ID, 1000*i)
		}
	}
	for i, d := range kept {
		if d.Attempt != i || !d.StartedAt.Equal(starts[i]) || d.StartedAt.Location() != time.UTC {
			t.Errorf("deployment %d: attempt %d started %s, want %d at %s", i, d.Attempt, d.StartedAt, i, starts[i])
		}
		if len(d.Steps) != len(wantSteps[i])+1 {
			t.Fatalf("deployment %d: %d steps, want %d and the appended one", i, len(d.Steps), len(wantSteps[i]))
		}
		for j, st := range wantSteps[i] {
			p := d.Steps[j]
			if p.Status != st || p.ID != int64(1000*i+j) || !p.Time.Equal(starts[i].Add(time.Duration(j)*time.Minute)) {
				t.Errorf("deployment %d step %d = %d %q %s", i, j, p.ID, p.Status, p.Time)
			}
		}
	}
	// Their durations and finishes are cut from blocks too: each has its
	// own.
	durations := map[*float64]bool{}
	for i, d := range kept {
		last := len(wantSteps[i]) - 1
		for j, p := range d.Steps[:last] {
			if p.DurationSeconds == nil || *p.DurationSeconds != 60 || durations[p.DurationSeconds] {
				t.Errorf("deployment %d step %d lasted %v, want its own 60 s", i, j, p.DurationSeconds)
			}
			durations[p.DurationSeconds] = true
		}
		end := starts[i].Add(time.Duration(last) * time.Minute)
		if finished := wantSteps[i][last] == "finished"; finished != (d.FinishedAt != nil) || finished && !d.FinishedAt.Equal(end) {
			t.Errorf("deployment %d finished at %v, want %v", i, d.FinishedAt, end)
		}
	}
	day := FormatTime(start)[:10]
	for _, clock := range []string{" 24:00:00.000000", " 23:60:00.000000", " 23:00:60.000000", " 2x:00:00.000000", "T23:00:00.000000"} {
		// A good start on that day first, for the bad one to be read
		// from the day before's midnight.
		if err := dr.Read(deploymentRow("api", 1, start, []string{"build"}), func(*model.Deployment) error { return nil }); err != nil {
			t.Fatal(err)
		}
		row := deploymentRow("api", 1, start, []string{"build"})
		row = []byte(strings.Replace(string(row), FormatTime(start), day+clock, 1))
		if err := dr.Read(row, func(*model.Deployment) error { return nil }); err == nil {
			t.Errorf("start %q read without an error", day+clock)
		}
	}
}
