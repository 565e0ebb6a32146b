package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestGitHubBranchNamedAfterAnIssueIsNotAVersion: GitHub names the branch
// it creates for an issue after the issue, "123-fix-login-bug", which
// the hook took for a version: every commit deployed from it was an
// attempt of version "123-fix-login-bug" (1, 2, …), not a version of its
// own (its short commit), as a branch's deploys are.
func TestGitHubBranchNamedAfterAnIssueIsNotAVersion(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for i, sha := range []string{"1a2b3c4d5e6f708192a3b9f4e2c1a7b3d5e6f809", "2b3c4d5e6f708192a3b9f4e2c1a7b3d5e6f8091a"} {
			// The first commit's run an hour before the second.
			var p map[string]any
			if err := json.Unmarshal(matrixLeg(t, 29679600+i, "deploy", time.Duration(i-1)*time.Hour), &p); err != nil {
				t.Fatal(err)
			}
			j := p["workflow_job"].(map[string]any)
			j["head_branch"], j["head_sha"] = "123-fix-login-bug", sha
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if r := ts.githubBody(t, "workflow_job", b); r.status != http.StatusCreated {
				t.Fatalf("job %d: %d %s", i, r.status, r.body)
			}
		}
		deps := ts.deployments(t, "component=api")
		if len(deps) != 2 {
			t.Fatalf("deployments: got %d, want 2", len(deps))
		}
		for i, want := range []string{"1a2b3c4", "2b3c4d5"} {
			if d := deps[i]; d.Version != want || d.Attempt != 1 {
				t.Errorf("deployment %d: got version %q attempt %d, want %q attempt 1 (its short commit)", i+1, d.Version, d.Attempt, want)
			}
		}
	})
}
