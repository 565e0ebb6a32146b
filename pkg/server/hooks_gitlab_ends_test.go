package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// edited is a GitLab fixture with some of its members changed, as GitLab
// would send the same event at another moment of the pipeline.
func edited(t *testing.T, file string, edit func(p map[string]any)) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, "gitlab/"+file), &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gitlabBody sends body as GitLab does.
func (ts *testServer) gitlabBody(t *testing.T, event string, body []byte) response {
	t.Helper()
	return ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), "Content-Type", "application/json",
		"X-Gitlab-Event", event, "X-Gitlab-Token", testGitLabToken, "User-Agent", "GitLab/18.2.0")
}

func build(id int, name, stage, status, started, finished string, env any) map[string]any {
	b := map[string]any{"id": id, "stage": stage, "name": name, "status": status, "created_at": "2026-03-02 08:19:58 UTC",
		"started_at": nil, "finished_at": nil, "allow_failure": false, "environment": env}
	if started != "" {
		b["started_at"] = started
	}
	if finished != "" {
		b["finished_at"] = finished
	}
	return b
}

func TestGitLabEnds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		// With Job events on, as docs/integrations.md suggests, GitLab
		// reports the build job before the pipeline that deploys it. The
		// Job Hook does not know the pipeline's environment (its deploy
		// job's): recorded from it, the build step stood in a deployment
		// of its own, in progress for good.
		t.Run("JobWithoutEnvironmentIsLeftToItsPipeline", func(t *testing.T) {
			job := edited(t, "job_failed.json", func(p map[string]any) {
				p["build_id"], p["build_name"], p["build_stage"], p["build_status"] = 5001, "build", "build", "running"
				p["build_started_at"], p["build_finished_at"], p["environment"] = "2026-03-02 08:10:00 UTC", nil, nil
				p["sha"], p["pipeline_id"] = "4f1c2b3a9d8e7f6051a2b3c4d5e6f708192a3b4c", 1201
			})
			r := ts.gitlabBody(t, "Job Hook", job)
			if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" {
				t.Errorf("job without environment = %d %s", r.status, r.body)
			}
			if r := ts.gitlab(t, "Pipeline Hook", "pipeline_success.json"); r.status != http.StatusCreated {
				t.Fatalf("pipeline = %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=4f1c2b3a")
			if len(ds) != 1 {
				t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
			}
			want := []string{"build 2m5s", "test 3m5s", "deploy production 3m2s", "finished end"}
			if got := phases(ds[0]); !equalStrings(got, want) || ds[0].Environment != "production" {
				t.Errorf("phases %q in %q, want %q in production", got, ds[0].Environment, want)
			}
		})

		// A deploy job that fails ends its deployment from its Job Hook;
		// the pipeline's failure that follows is the same end, not a
		// second deployment of nothing but "failed".
		t.Run("FailedJobAndItsPipelineEndOneDeployment", func(t *testing.T) {
			if r := ts.gitlab(t, "Job Hook", "job_failed.json"); r.status != http.StatusCreated {
				t.Fatalf("job = %d %s", r.status, r.body)
			}
			pipeline := edited(t, "pipeline_failed.json", func(p map[string]any) {
				a := p["object_attributes"].(map[string]any)
				a["id"], a["ref"], a["tag"], a["sha"], a["finished_at"] = 1203, "main", false, "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", "2026-03-02 08:27:31 UTC"
				p["builds"] = []any{build(5023, "deploy staging", "deploy", "failed", "2026-03-02 08:25:00 UTC", "2026-03-02 08:27:30 UTC",
					map[string]any{"name": "staging", "action": "start", "deployment_tier": "staging"})}
			})
			r := ts.gitlabBody(t, "Pipeline Hook", pipeline)
			if a := r.hook(t); r.status != http.StatusOK || a.Stored != 0 {
				t.Errorf("pipeline = %d %s, want 200 and nothing stored", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&environment=staging")
			if len(ds) != 1 {
				t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
			}
			if got, want := phases(ds[0]), []string{"deploy staging 2m30s", "failed end"}; !equalStrings(got, want) || ds[0].Outcome != model.OutcomeFailure {
				t.Errorf("phases %q outcome %s", got, ds[0].Outcome)
			}
		})

		// A failed job retried, and failing again, ends the pipeline a
		// second time with the same status: that end was taken for a
		// replay of the first, and the retry stayed in progress for good.
		t.Run("RetriedPipelineEndsAgain", func(t *testing.T) {
			if r := ts.gitlab(t, "Pipeline Hook", "pipeline_failed.json"); r.status != http.StatusCreated {
				t.Fatalf("first failure = %d %s", r.status, r.body)
			}
			retried := edited(t, "pipeline_failed.json", func(p map[string]any) {
				p["object_attributes"].(map[string]any)["finished_at"] = "2026-03-02 08:31:01 UTC"
				builds := p["builds"].([]any)
				builds[1] = build(5014, "test", "test", "failed", "2026-03-02 08:30:00 UTC", "2026-03-02 08:31:00 UTC", nil)
			})
			r := ts.gitlabBody(t, "Pipeline Hook", retried)
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 {
				t.Fatalf("second failure = %d %s, want the retried job and its end stored", r.status, r.body)
			}
			ds := ts.deployments(t, "component=payments&version=v3.0.0")
			if len(ds) != 2 {
				t.Fatalf("%d deployments, want 2: %+v", len(ds), ds)
			}
			if got, want := phases(ds[1]), []string{"test 1m1s", "failed end"}; !equalStrings(got, want) || ds[1].Outcome != model.OutcomeFailure {
				t.Errorf("retry: phases %q outcome %s", got, ds[1].Outcome)
			}
		})
	})
}
