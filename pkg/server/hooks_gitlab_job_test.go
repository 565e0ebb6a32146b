package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
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

		// The mapping file's entry for the project's path applies too.
		m, err := hooks.ParseMapping([]byte("components:\n  acme/payments: payments-api\n"))
		if err != nil {
			t.Fatal(err)
		}
		mapped := newHookServer(t, fresh(t), m)
		r = mapped.gitlab(t, "Job Hook", "job_running_without_project.json")
		if a := r.hook(t); r.status != http.StatusCreated || a.Steps[0].Component != "payments-api" {
			t.Errorf("with components acme/payments: payments-api: %d %s", r.status, r.body)
		}
	})
}

// TestGitLabHookUserWithoutUsername: GitLab's documented Job Hook (its
// webhook events page) has a user without a username, and a job or
// pipeline whose user GitLab no longer has comes with "user": null. The
// owner is required, so the whole delivery answered 202 "owner is
// required" and the deploy job's step was lost. The owner falls back to
// the user's name, then the commit's author.
func TestGitLabHookUserWithoutUsername(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		r := ts.gitlab(t, "Job Hook", "job_running_user_without_username.json")
		a := r.hook(t)
		if r.status != http.StatusCreated || a.Stored != 1 {
			t.Fatalf("Job Hook = %d %s", r.status, r.body)
		}
		s := a.Steps[0]
		if s.Owner != "User" || s.Component != "gitlab-test" || s.Environment != "staging" || s.Status != "deploy" || s.Version != "2293ada6" ||
			!s.Time.Equal(time.Date(2021, 2, 23, 2, 59, 53, 475000000, time.UTC)) {
			t.Errorf("step %+v", s)
		}
		var p map[string]any
		if err := json.Unmarshal(fixture(t, "gitlab/pipeline_running.json"), &p); err != nil {
			t.Fatal(err)
		}
		p["user"] = nil
		body, _ := json.Marshal(p)
		r = ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), "Content-Type", "application/json",
			"X-Gitlab-Event", "Pipeline Hook", "X-Gitlab-Token", testGitLabToken)
		if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 || a.Steps[0].Owner != "Carol" {
			t.Errorf("Pipeline Hook with a null user = %d %s, want 2 steps owned by the commit's author", r.status, r.body)
		}
	})
}

// TestGitLabDeployJobThatFailedBeforeItStarted: GitLab fails a job that
// never ran — no runner took it in time (stuck_or_timeout_failure), its
// deployment was rejected or outdated (deployment_rejected,
// forward_deployment_failure) — with no build_started_at. Its Job Hook
// stored its end alone, a failed deployment of nothing, counted in the
// change failure rate, where the Pipeline Hook of a pipeline that started
// no job records nothing; and when the pipeline's other jobs did start,
// the Pipeline Hook brings the same end under the same key.
func TestGitLabDeployJobThatFailedBeforeItStarted(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		var p map[string]any
		if err := json.Unmarshal(fixture(t, "gitlab/job_failed.json"), &p); err != nil {
			t.Fatal(err)
		}
		p["build_started_at"], p["build_started_at_iso"], p["build_duration"] = nil, nil, nil
		p["build_failure_reason"] = "stuck_or_timeout_failure"
		body, _ := json.Marshal(p)
		r := ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), "Content-Type", "application/json",
			"X-Gitlab-Event", "Job Hook", "X-Gitlab-Token", testGitLabToken)
		if a := r.hook(t); r.status != http.StatusAccepted || a.Stored != 0 {
			t.Errorf("Job Hook = %d %s; want 202, the job never ran", r.status, r.body)
		}
		if ds := ts.deployments(t, "component=payments"); len(ds) != 0 {
			t.Errorf("deployments %+v; want none", ds)
		}
	})
}
