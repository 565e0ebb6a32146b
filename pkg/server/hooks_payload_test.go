package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestHookPayloadsStoredAsSentOrNotAtAll: a delivery whose steps cannot be
// stored exactly as the payload gives them is answered 202 with the reason
// and stores nothing. encoding/json read invalid UTF-8 and lone surrogate
// escapes as U+FFFD, which were stored as the step's name; a member given
// twice was read as its last value; and two steps under one key (the same
// step number, a job without an id) stored the first and dropped the
// others as "replayed", with a 201 for the delivery.
func TestHookPayloadsStoredAsSentOrNotAtAll(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		success := string(fixture(t, "github/workflow_job_completed_success.json"))
		pipeline := string(fixture(t, "gitlab/pipeline_success.json"))
		tests := []struct {
			name, provider, body, reason string
		}{
			{"InvalidUTF8InAStepName", "github", strings.Replace(success, `"Build"`, "\"Bu\xffild\"", 1), "invalid UTF-8"},
			{"LoneSurrogateInAJobName", "gitlab", strings.Replace(pipeline, `"name": "deploy production"`, `"name": "deploy \ud800production"`, 1), "surrogate"},
			{"MemberGivenTwice", "github", strings.Replace(success, `"action": "completed",`, `"action": "completed", "action": "in_progress",`, 1), "given twice"},
			{"TwoStepsWithOneNumber", "github", strings.Replace(success, `"number": 2,`, `"number": 1,`, 1), "same id or number"},
			{"StepWithoutNumber", "github", strings.Replace(success, `"number": 2,`, ``, 1), "number is missing"},
			{"JobWithoutID", "gitlab", strings.Replace(pipeline, `"id": 5003,`, `"id": 0,`, 1), "builds.id is missing"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.body == success || tt.body == pipeline {
					t.Fatal("the fixture did not change: the test would prove nothing")
				}
				before := ts.count(t)
				r := ts.hookDelivery(t, tt.provider, []byte(tt.body))
				if a := r.hook(t); r.status != http.StatusAccepted || !strings.Contains(a.Ignored, tt.reason) {
					t.Errorf("= %d %s; want 202 ignored with %q", r.status, r.body, tt.reason)
				}
				if n := ts.count(t); n != before {
					t.Errorf("stored %d steps, want none", n-before)
				}
			})
		}
	})
}

// TestAPIKeysCannotTakeTheWebhooksKeys: an API client may not store a step
// under a key the webhooks use (hooks.IsHookKey). One that did, before the
// job ran, made the webhook's record under that key a "replay": the job's
// failed end was dropped and its deployment stayed in progress for good,
// out of the change failure rate. Anyone who may write could do it for
// job ids to come; on an open server, anyone.
func TestAPIKeysCannotTakeTheWebhooksKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		write := []string{"Authorization", "Bearer write-secret-123"}
		// The failure fixture's job 29680112, attempt 2: its end.
		for _, key := range []string{"github:job:29680112:2:end", "github:deployment_status:1", "gitlab:build:1:start",
			"gitlab:pipeline:1:failed", "gitlab:deployment:1:success"} {
			before := ts.count(t)
			r := ts.do(t, "POST", "/v1/steps?component=decoy&version=1&owner=mallory&status=finished", nil,
				append([]string{"Idempotency-Key", key}, write...)...)
			refused(t, ts, "POST /v1/steps with key "+key, before, r, http.StatusBadRequest, "Idempotency-Key")
			r = ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status\ndecoy,1,mallory,finished\n"),
				append([]string{"Idempotency-Key", key, "Content-Type", "text/csv"}, write...)...)
			refused(t, ts, "POST /v1/steps/batch with key "+key, before, r, http.StatusBadRequest, "Idempotency-Key")
		}
		// A key of a client's own that starts like them is taken.
		r := ts.do(t, "POST", "/v1/steps?component=api&version=1&owner=ana&status=build", nil,
			append([]string{"Idempotency-Key", "github:run:42:build"}, write...)...)
		if r.status != http.StatusCreated {
			t.Errorf("key github:run:42:build = %d %s, want 201", r.status, r.body)
		}
		r = ts.github(t, "workflow_job", "workflow_job_completed_failure.json")
		if a := r.hook(t); r.status != http.StatusCreated || a.Replayed != 0 {
			t.Fatalf("delivery = %d %s", r.status, r.body)
		}
		ds := ts.deployments(t, "component=api&version=v1.4.0")
		if len(ds) != 1 || ds[0].Outcome != model.OutcomeFailure {
			t.Errorf("deployments %+v, want one that failed", ds)
		}
	})
}
