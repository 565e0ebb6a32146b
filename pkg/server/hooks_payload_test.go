package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
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
