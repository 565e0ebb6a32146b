package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// matrixLeg is the completed workflow_job fixture as GitHub sends it for
// one leg of a matrix job: its own job id and name, its times shifted.
func matrixLeg(t *testing.T, id int, name string, shift time.Duration) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(fixture(t, "github/workflow_job_completed_success.json"), &p); err != nil {
		t.Fatal(err)
	}
	later := func(v any) string {
		at, err := time.Parse(time.RFC3339, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return at.Add(shift).Format(time.RFC3339)
	}
	j := p["workflow_job"].(map[string]any)
	j["id"], j["name"] = id, name
	for _, k := range []string{"created_at", "started_at", "completed_at"} {
		j[k] = later(j[k])
	}
	for _, s := range j["steps"].([]any) {
		s := s.(map[string]any)
		s["started_at"], s["completed_at"] = later(s["started_at"]), later(s["completed_at"])
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGitHubMatrixLegsAreDeploymentsOfTheirOwn: the legs of a matrix job
// (strategy.matrix, one leg per region) run at once, in one run of one
// workflow, and GitHub names each after its values: "deploy (eu-west-1)",
// "deploy (us-east-1)". With one environment, the workflow's, their steps
// interleaved in one deployment that the first leg's end closed: a 362 s
// deploy of both legs' steps, then a 2 s deployment of the second leg's
// last step and end. deploys.jobs cannot tell the legs apart (they share
// the job's name), so each leg is its environment's: "Deploy (eu-west-1)".
func TestGitHubMatrixLegsAreDeploymentsOfTheirOwn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for _, leg := range []struct {
			id    int
			name  string
			shift time.Duration
		}{
			{29679501, "deploy (eu-west-1)", 0},
			{29679502, "deploy (us-east-1)", time.Minute},
		} {
			if r := ts.githubBody(t, "workflow_job", matrixLeg(t, leg.id, leg.name, leg.shift)); r.status != http.StatusCreated {
				t.Fatalf("%s: %d %s", leg.name, r.status, r.body)
			}
		}
		deps := ts.deployments(t, "component=api")
		want := []string{"Set up job 5s", "Checkout 5s", "Build 2m0s", "Migrate 50s", "Roll out 3m0s", "Complete job 2s", "finished end"}
		if len(deps) != 2 {
			for _, d := range deps {
				t.Logf("%s #%d %s %vs %v", d.Environment, d.Attempt, d.Outcome, d.DurationSeconds, phases(d))
			}
			t.Fatalf("deployments: got %d, want 2, one per leg", len(deps))
		}
		for i, env := range []string{"Deploy (eu-west-1)", "Deploy (us-east-1)"} {
			d := deps[i]
			if d.Environment != env || d.Attempt != 1 || d.Outcome != "success" || d.DurationSeconds != 362 || !equalStrings(phases(d), want) {
				t.Errorf("deployment %d: got %q #%d %s %vs %v, want %q #1 success 362s %v", i+1, d.Environment, d.Attempt, d.Outcome, d.DurationSeconds, phases(d), env, want)
			}
		}
	})
}
