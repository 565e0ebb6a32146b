package server_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// gitlab sends a fixture as GitLab does, with its token and event name;
// extra headers follow.
func (ts *testServer) gitlab(t *testing.T, event, file string, headers ...string) response {
	t.Helper()
	body := fixture(t, filepath.Join("gitlab", file))
	return ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), append([]string{
		"Content-Type", "application/json", "X-Gitlab-Event", event, "X-Gitlab-Token", testGitLabToken,
		"User-Agent", "GitLab/18.2.0", "X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e"}, headers...)...)
}

func TestGitLabHook(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		t.Run("PipelineJobsBecomeTheStepsOfOneDeployment", func(t *testing.T) {
			r := ts.gitlab(t, "Pipeline Hook", "pipeline_running.json")
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 {
				t.Fatalf("running = %d %s", r.status, r.body)
			}
			r = ts.gitlab(t, "Pipeline Hook", "pipeline_success.json", "Idempotency-Key", "6f0b2f0e-4b8b-4a4e-9c1e-0d9e5b1c2a77")
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 || a.Replayed != 2 {
				t.Fatalf("success = %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=4f1c2b3a")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			d := ds[0]
			want := []string{"build 2m5s", "test 3m5s", "deploy production 3m2s", "finished end"}
			if got := phases(d); !equalStrings(got, want) {
				t.Errorf("phases\n got %q\nwant %q", got, want)
			}
			if d.Environment != "production" || d.Outcome != model.OutcomeSuccess || d.DurationSeconds != 492 || d.Owner != "carol" {
				t.Errorf("deployment %+v", d)
			}
			// The pipeline's commit, and its time from the pipeline's end.
			if d.Revision != "4f1c2b3a9d8e7f6051a2b3c4d5e6f708192a3b4c" || d.CommittedAt == nil || !d.CommittedAt.Equal(time.Date(2026, 3, 2, 7, 55, 0, 0, time.UTC)) {
				t.Errorf("revision %q committed_at %v", d.Revision, d.CommittedAt)
			}
		})

		t.Run("RetryWithItsIdempotencyKeyStoresNothing", func(t *testing.T) {
			before := ts.count(t)
			r := ts.gitlab(t, "Pipeline Hook", "pipeline_success.json", "Idempotency-Key", "6f0b2f0e-4b8b-4a4e-9c1e-0d9e5b1c2a77")
			if a := r.hook(t); r.status != http.StatusOK || a.Stored != 0 || a.Replayed != 4 {
				t.Errorf("retry = %d %s", r.status, r.body)
			}
			if n := ts.count(t); n != before {
				t.Errorf("a retry stored %d steps", n-before)
			}
			r = ts.gitlab(t, "Pipeline Hook", "pipeline_success.json", "Idempotency-Key", "not a key")
			if _, _, field := r.errorBody(t); r.status != http.StatusBadRequest || field != "Idempotency-Key" {
				t.Errorf("bad Idempotency-Key = %d %s", r.status, r.body)
			}
		})

		t.Run("FailedPipelineOfATag", func(t *testing.T) {
			if r := ts.gitlab(t, "Pipeline Hook", "pipeline_failed.json"); r.status != http.StatusCreated {
				t.Fatalf("= %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=v3.0.0")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			if got, want := phases(ds[0]), []string{"build 1m35s", "test 1m26s", "failed end"}; !equalStrings(got, want) || ds[0].Outcome != model.OutcomeFailure || ds[0].Owner != "dee" {
				t.Errorf("phases %q outcome %s owner %s", got, ds[0].Outcome, ds[0].Owner)
			}
		})

		t.Run("FailedJobEndsItsDeployment", func(t *testing.T) {
			if r := ts.gitlab(t, "Job Hook", "job_failed.json"); r.status != http.StatusCreated {
				t.Fatalf("= %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&environment=staging")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			if got, want := phases(ds[0]), []string{"deploy staging 2m30s", "failed end"}; !equalStrings(got, want) || ds[0].Version != "c0ffee00" ||
				ds[0].Revision != "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00" {
				t.Errorf("phases %q version %s revision %s", got, ds[0].Version, ds[0].Revision)
			}
		})

		t.Run("DeploymentStatusChangesWithTheirOffsets", func(t *testing.T) {
			for _, f := range []string{"deployment_running.json", "deployment_success.json"} {
				if r := ts.gitlab(t, "Deployment Hook", f); r.status != http.StatusCreated {
					t.Fatalf("%s = %d %s", f, r.status, r.body)
				}
			}
			ds := ts.deployments(t, "component=payments&version=9a8b7c6d")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			d := ds[0]
			if got, want := phases(d), []string{"running 4m45s", "finished end"}; !equalStrings(got, want) ||
				d.Environment != "production" || d.Owner != "eve" || !d.StartedAt.Equal(t0.Add(-30*60e9)) ||
				d.Revision != "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" { // the full id, from commit_url
				t.Errorf("deployment %+v", d)
			}
		})

		t.Run("UnusedEventIs202", func(t *testing.T) {
			r := ts.gitlab(t, "Push Hook", "push.json")
			if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" {
				t.Errorf("push = %d %s", r.status, r.body)
			}
			r = ts.gitlab(t, "Pipeline Hook", "push.json")
			if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" {
				t.Errorf("unmappable = %d %s", r.status, r.body)
			}
		})

		t.Run("WrongTokenIs401AndStoresNothing", func(t *testing.T) {
			before := ts.count(t)
			body := bytes.Replace(fixture(t, "gitlab/job_failed.json"), []byte("5023"), []byte("5024"), -1)
			for _, tok := range []string{"", "gl-hook-token-123", testGitLabToken + "5", "Bearer " + testGitLabToken} {
				headers := []string{"Content-Type", "application/json", "X-Gitlab-Event", "Job Hook"}
				if tok != "" {
					headers = append(headers, "X-Gitlab-Token", tok)
				}
				r := ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), headers...)
				if _, code, _ := r.errorBody(t); r.status != http.StatusUnauthorized || code != model.EUNAUTHORIZED {
					t.Errorf("token %q: %d %s", tok, r.status, r.body)
				}
			}
			if n := ts.count(t); n != before {
				t.Errorf("refused deliveries stored %d steps", n-before)
			}
		})
	})
}

func TestGitLabHookWithoutTokenIs404(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	r := ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(fixture(t, "gitlab/push.json")),
		"Content-Type", "application/json", "X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "")
	if r.status != http.StatusNotFound {
		t.Errorf("gitlab without a token = %d %s", r.status, r.body)
	}
}

// TestGitLabCommitTimeInTheFuture: a committer's clock ahead leaves the
// commit time out, and the steps are stored with their revision.
func TestGitLabCommitTimeInTheFuture(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		body := bytes.Replace(fixture(t, "gitlab/pipeline_success.json"), []byte("2026-03-02T07:55:00+00:00"), []byte("2026-03-03T07:55:00+00:00"), 1)
		r := ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body),
			"Content-Type", "application/json", "X-Gitlab-Event", "Pipeline Hook", "X-Gitlab-Token", testGitLabToken)
		if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 4 {
			t.Fatalf("= %d %s", r.status, r.body)
		}
		ds := ts.deployments(t, "component=payments")
		if len(ds) != 1 || ds[0].Revision != "4f1c2b3a9d8e7f6051a2b3c4d5e6f708192a3b4c" || ds[0].CommittedAt != nil {
			t.Errorf("deployments %+v", ds)
		}
	})
}
