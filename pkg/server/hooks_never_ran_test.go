package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestHookRunThatNeverRanRecordsNothing: a GitHub job or a GitLab pipeline
// that ended without starting a step or job never ran, and nothing was
// deployed. GitHub sends such a job as completed with no steps when a
// concurrency group cancels a superseded run while it is queued, or a
// spending limit refuses it; GitLab cancels redundant pending pipelines on
// its own. Each stored its end alone, a deployment of nothing but
// "cancelled" or "failed": three superseded runs beside five deploys made
// a change failure rate of 37.5 % for a team whose every deploy succeeded.
func TestHookRunThatNeverRanRecordsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		job := func(t *testing.T, id int, conclusion string, steps int) []byte {
			t.Helper()
			var p map[string]any
			if err := json.Unmarshal(fixture(t, "github/workflow_job_completed_success.json"), &p); err != nil {
				t.Fatal(err)
			}
			j := p["workflow_job"].(map[string]any)
			j["id"], j["conclusion"] = id, conclusion
			j["steps"] = j["steps"].([]any)[:steps]
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var p map[string]any
		if err := json.Unmarshal(fixture(t, "gitlab/pipeline_failed.json"), &p); err != nil {
			t.Fatal(err)
		}
		p["object_attributes"].(map[string]any)["status"] = "canceled"
		for _, b := range p["builds"].([]any) {
			b.(map[string]any)["status"], b.(map[string]any)["started_at"], b.(map[string]any)["finished_at"] = "canceled", nil, nil
		}
		pending, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, provider string
			body           []byte
		}{
			{"GitHubJobCancelledWhileQueued", "github", job(t, 41, "cancelled", 0)},
			{"GitHubJobRefusedBeforeItStarted", "github", job(t, 42, "failure", 0)},
			{"GitLabPipelineCanceledWhilePending", "gitlab", pending},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.hookDelivery(t, tt.provider, tt.body)
				if a := r.hook(t); r.status != http.StatusAccepted || !strings.Contains(a.Ignored, "without starting") {
					t.Errorf("= %d %s; want 202 ignored, the run never started", r.status, r.body)
				}
				if n := ts.count(t); n != before {
					t.Errorf("stored %d steps, want none", n-before)
				}
			})
		}
		t.Run("AJobCancelledAfterItStartedIsACancelledDeploy", func(t *testing.T) {
			r := ts.hookDelivery(t, "github", job(t, 43, "cancelled", 1))
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 2 {
				t.Fatalf("= %d %s; want 201 with its step and its end", r.status, r.body)
			}
			ds := ts.deployments(t, "component=api")
			if len(ds) != 1 || ds[0].Outcome != model.OutcomeFailure || len(ds[0].Steps) != 2 {
				t.Errorf("deployments %+v; want the cancelled one alone, with its step and end", ds)
			}
		})
	})
}
