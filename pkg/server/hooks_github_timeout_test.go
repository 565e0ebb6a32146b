package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// TestGitHubJobTimedOutEndsTimedOut: a job that hit its timeout-minutes
// (conclusion timed_out) ends its deployment with timed-out, a failure by
// the default rules, not failed: its duration is the timeout, not the
// work's, and a team that reads its failures (and the traces' result,
// timeout) must tell a hung rollout from a failed test.
func TestGitHubJobTimedOutEndsTimedOut(t *testing.T) {
	ts := newHookServer(t, testdb.SQLite(t), nil)
	body := fixture(t, "github/workflow_job_completed_failure.json")
	body = bytes.Replace(body, []byte(`"conclusion": "failure",`), []byte(`"conclusion": "timed_out",`), 1)
	if !bytes.Contains(body, []byte(`"timed_out"`)) {
		t.Fatal("the fixture's job conclusion was not replaced")
	}
	r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body),
		"Content-Type", "application/json", "X-GitHub-Event", "workflow_job",
		"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body))
	if r.status != http.StatusCreated {
		t.Fatalf("completed timed_out = %d %s", r.status, r.body)
	}
	ds := ts.deployments(t, "component=api&version=v1.4.0")
	if len(ds) != 1 {
		t.Fatalf("%d deployments, want 1", len(ds))
	}
	got := phases(ds[0])
	if last := got[len(got)-1]; last != "timed-out end" || ds[0].Outcome != model.OutcomeFailure {
		t.Errorf("phases %s, outcome %s; want the timed-out end, a failure", strings.Join(got, ", "), ds[0].Outcome)
	}
}
