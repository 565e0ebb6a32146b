package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestGitHubHookOctokitExamples sends GitHub's own example deliveries
// (octokit/webhooks' payload-examples, cut down to the fields a step
// needs) as GitHub signs them: queued steps and skipped ones are left
// out, the job's end is at its completed_at, and a redelivery stores
// nothing again.
func TestGitHubHookOctokitExamples(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		t.Run("InProgressWithQueuedSteps", func(t *testing.T) {
			r := ts.github(t, "workflow_job", "octokit_workflow_job_in_progress_queued_steps.json")
			a := r.hook(t)
			if r.status != http.StatusCreated || a.Stored != 3 {
				t.Fatalf("= %d %s; want the 3 started steps", r.status, r.body)
			}
			want := []string{"Set up job", "Run actions/checkout@2541b1294d2704b0964813337f33b291d3f8596b", "Run actions/setup-node@2fddd8803e2f5c9604345a0b591c3020ee971a93"}
			for i, s := range a.Steps {
				if s.Status != want[i] || s.Component != "github-events-schemas" || s.Version != "eeeb91c" || s.Owner != "renovate[bot]" || s.Environment != "Test" {
					t.Errorf("step %d = %+v, want %q", i, s, want[i])
				}
			}
		})

		t.Run("CompletedFailure", func(t *testing.T) {
			r := ts.github(t, "workflow_job", "octokit_workflow_job_completed_failure.json")
			a := r.hook(t)
			// 12 steps, 2 of them skipped, and the end.
			if r.status != http.StatusCreated || a.Stored != 11 {
				t.Fatalf("= %d %s", r.status, r.body)
			}
			for _, s := range a.Steps {
				if s.Status == "Post Run actions/cache@v2" || s.Status == "Post Run actions/setup-node@v2" {
					t.Errorf("skipped step %q stored", s.Status)
				}
			}
			end := a.Steps[len(a.Steps)-1]
			if end.Status != "failed" || !end.Time.Equal(time.Date(2021, 8, 5, 10, 38, 16, 0, time.UTC)) || end.Environment != "CodeQL" || end.Version != "3484a3f" {
				t.Errorf("end %+v, want failed at completed_at", end)
			}
			ds := ts.deployments(t, "component=Hello-World")
			if len(ds) != 1 || ds[0].Outcome != "failure" || len(ds[0].Steps) != 11 {
				t.Errorf("deployments %+v", ds)
			}
			r = ts.github(t, "workflow_job", "octokit_workflow_job_completed_failure.json")
			if a := r.hook(t); r.status != http.StatusOK || a.Stored != 0 || a.Replayed != 11 {
				t.Errorf("redelivery = %d %s", r.status, r.body)
			}
		})
	})
}
