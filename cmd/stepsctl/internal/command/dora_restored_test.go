package command_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestDORASaysHowManyRestores checks that the notes under stepsctl dora's
// keys say how many restored failures the time to restore comes from, and
// that a p90 of fewer than 10 restores or lead times is about the slowest
// of them: db fails and is fixed 12 times, cache 4 times and then fails
// once more, unfixed; every fix carries its commit time.
func TestDORASaysHowManyRestores(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	start := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var ins []model.StepInput
	step := func(component, version, status string, at, committed time.Time) {
		ins = append(ins, model.StepInput{Component: component, Version: version, Owner: "ana", Status: status,
			Environment: "production", Time: at, CommittedAt: committed})
	}
	var none time.Time
	fixes := func(component string, n int, unfixed bool) {
		for i := range n {
			at := start.Add(time.Duration(i) * 6 * time.Hour)
			step(component, fmt.Sprintf("%d.0", i), "build", at, none)
			step(component, fmt.Sprintf("%d.0", i), "failed", at.Add(10*time.Minute), none)
			step(component, fmt.Sprintf("%d.1", i), "build", at.Add(30*time.Minute), at.Add(-time.Hour))
			step(component, fmt.Sprintf("%d.1", i), "deployed", at.Add(40*time.Minute), at.Add(-time.Hour))
		}
		if unfixed {
			at := start.Add(time.Duration(n) * 6 * time.Hour)
			step(component, "unfixed", "build", at, none)
			step(component, "unfixed", "failed", at.Add(10*time.Minute), none)
		}
	}
	fixes("db", 12, false)
	fixes("cache", 4, true)
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	h.server.Set(now)
	h.cli.Set(now)
	h.recordAll(ins)

	for _, tc := range []struct {
		component string
		want      []string
		not       []string
	}{
		{"cache", []string{
			"Time to restore from 4 restored failures (fewer than 10, so its p90 is about the slowest); 1 failure not yet restored.",
			"Lead time from 4 of 4 successful deployments (100 %) carrying a commit time (fewer than 10, so its p90 is about the slowest).",
		}, nil},
		{"db", []string{
			"Time to restore from 12 restored failures. ",
			"Lead time from 12 of 12 successful deployments (100 %) carrying a commit time.\n",
		}, []string{"fewer than 10", "not yet restored"}},
	} {
		r := h.mustRun(false, "dora", "--component", tc.component, "--since", "2026-11-02", "--until", "2026-11-15")
		for _, want := range tc.want {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", tc.component, want, r.stdout)
			}
		}
		for _, not := range tc.not {
			if strings.Contains(r.stdout, not) {
				t.Errorf("%s: stdout says %q:\n%s", tc.component, not, r.stdout)
			}
		}
		// The value column stays p50 and p90 alone.
		if !strings.Contains(r.stdout, "time to restore        p50 ") {
			t.Errorf("%s: the time to restore row changed:\n%s", tc.component, r.stdout)
		}
	}
}
