package server_test

import (
	"net/http"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestGitLabJobHookWithoutProject: GitLab sent Job Hooks without their
// project object before it was added to them (project_name is the
// project's full name, "acme / Payments", and repository.homepage its
// URL). The job's step was recorded under component "Payments", the last
// part of the full name, where its pipeline's Pipeline Hook records
// "payments", the project's path: the deploy job's step stood in a
// deployment of its own, and the same step from the Pipeline Hook was
// taken for a replay and dropped from the pipeline's deployment.
func TestGitLabJobHookWithoutProject(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		r := ts.gitlab(t, "Job Hook", "job_running_without_project.json")
		a := r.hook(t)
		if r.status != http.StatusCreated || a.Stored != 1 {
			t.Fatalf("Job Hook = %d %s", r.status, r.body)
		}
		if got := a.Steps[0].Component; got != "payments" {
			t.Errorf("component %q, want payments (the project's path, as the Pipeline Hook records it)", got)
		}
		r = ts.gitlab(t, "Pipeline Hook", "pipeline_running.json")
		if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 {
			t.Fatalf("Pipeline Hook = %d %s", r.status, r.body)
		}
		ds := ts.deployments(t, "version=4f1c2b3a")
		if len(ds) != 1 {
			t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
		}
		want := []string{"build 2m5s", "test 3m5s", "deploy production end"}
		if got := phases(ds[0]); !equalStrings(got, want) {
			t.Errorf("phases\n got %q\nwant %q", got, want)
		}
	})
}
