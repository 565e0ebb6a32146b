package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
)

// githubBody sends body as GitHub does: JSON, signed, with its event name.
func (ts *testServer) githubBody(t *testing.T, event string, body []byte) response {
	t.Helper()
	return ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body),
		"Content-Type", "application/json", "X-GitHub-Event", event,
		"X-GitHub-Delivery", "9a1c4e2e-cc78-11e3-81ab-4c9367dc0958",
		"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body),
		"User-Agent", "GitHub-Hookshot/044aadd")
}

// deploymentStatus is the deployment_status fixture as GitHub sends it for
// status id of deployment dep, in state at time at.
func deploymentStatus(t *testing.T, id, dep int, state, at string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, "github/deployment_status_success.json"), &p); err != nil {
		t.Fatal(err)
	}
	ds := p["deployment_status"].(map[string]any)
	ds["id"], ds["state"], ds["created_at"], ds["updated_at"] = id, state, at, at
	p["deployment"].(map[string]any)["id"] = dep
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGitHubInactiveDeploymentStatusRecordsNothing: GitHub's inactive
// marks a deployment that has been superseded (a newer deployment to its
// environment) or whose environment went away, after it ended: it is not a
// phase of a deploy. A deploy tool that sets it on the deployment before
// (as one keeping one active deployment per environment does) stored it
// as a step after that deployment's success, a deployment of nothing but
// "inactive", in progress and stuck for good.
func TestGitHubInactiveDeploymentStatusRecordsNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for _, d := range []struct {
			id, dep int
			state   string
			at      string
		}{
			{1, 4411, "queued", "2026-03-02T08:00:00Z"},
			{2, 4411, "in_progress", "2026-03-02T08:00:10Z"},
			{3, 4411, "success", "2026-03-02T08:04:10Z"},
			{4, 4412, "queued", "2026-03-02T08:30:00Z"},
			{5, 4412, "in_progress", "2026-03-02T08:30:05Z"},
			{6, 4412, "success", "2026-03-02T08:33:05Z"},
		} {
			if r := ts.githubBody(t, "deployment_status", deploymentStatus(t, d.id, d.dep, d.state, d.at)); r.status != http.StatusCreated {
				t.Fatalf("%s of %d: %d %s", d.state, d.dep, r.status, r.body)
			}
		}
		before := ts.count(t)
		r := ts.githubBody(t, "deployment_status", deploymentStatus(t, 7, 4411, "inactive", "2026-03-02T08:33:06Z"))
		if r.status != http.StatusAccepted || !strings.Contains(r.hook(t).Ignored, "inactive") {
			t.Errorf("inactive: got %d %s, want 202 saying inactive records nothing", r.status, r.body)
		}
		if got := ts.count(t); got != before {
			t.Errorf("steps: got %d, want %d (nothing stored)", got, before)
		}
		deps := ts.deployments(t, "component=web")
		if len(deps) != 2 {
			t.Fatalf("deployments: got %d, want 2", len(deps))
		}
		for i, want := range []float64{250, 185} {
			if d := deps[i]; d.Outcome != "success" || d.DurationSeconds != want {
				t.Errorf("deployment %d: got %s %v %v, want success in %vs", i+1, d.Outcome, d.DurationSeconds, phases(d), want)
			}
		}
	})
}
