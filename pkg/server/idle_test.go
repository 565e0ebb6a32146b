package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestRunDonePhasesAreIdle: a deploy recorded by stepsctl run (build,
// build-done, tests, tests-done, finished). The waits after build-done and
// tests-done are idle: marked in the deployment, in its duration, and in no
// step's stats; the page shows them as idle.
func TestRunDonePhasesAreIdle(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	at := time.Duration(0)
	for _, s := range []struct {
		status string
		after  time.Duration
	}{{"build", 0}, {"build-done", 2 * time.Minute}, {"tests", 30 * time.Second}, {"tests-done", 5 * time.Minute}, {"finished", 10 * time.Second}} {
		at += s.after
		ts.clock.Set(t0.Add(at))
		ts.mustPost(t, "component=api&version=1&owner=ana&environment=prod&status="+s.status)
	}

	r := ts.do(t, "GET", "/v1/deployments?format=json", nil)
	var res struct{ Deployments []model.Deployment }
	if r.status != 200 || json.Unmarshal(r.body, &res) != nil || len(res.Deployments) != 1 {
		t.Fatalf("GET /v1/deployments = %d %s", r.status, r.body)
	}
	var idle []string
	for _, p := range res.Deployments[0].Steps {
		if p.Idle {
			idle = append(idle, p.Status)
		}
	}
	if got := strings.Join(idle, ","); got != "build-done,tests-done" {
		t.Errorf("idle phases %q, want build-done,tests-done in %s", got, r.body)
	}
	if got := res.Deployments[0].DurationSeconds; got != 460 {
		t.Errorf("duration %v s, want 460 (waits included)", got)
	}

	r = ts.do(t, "GET", "/v1/stats?outcome=all", nil)
	var st model.Stats
	if r.status != 200 || json.Unmarshal(r.body, &st) != nil {
		t.Fatalf("GET /v1/stats = %d %s", r.status, r.body)
	}
	var names []string
	for _, s := range st.Steps {
		names = append(names, s.Status)
	}
	if got := strings.Join(names, ","); got != "tests,build" {
		t.Errorf("stats steps %q, want tests,build (no -done phase)", got)
	}

	p := getPage(t, ts.Client(), ts.URL, "/ui/deployment?component=api&version=1&environment=prod")
	if p.status != 200 || !strings.Contains(p.body, `build-done <span class="note">idle</span>`) || !strings.Contains(p.body, `class="idle"`) {
		t.Errorf("deployment page %d does not show build-done as idle:\n%s", p.status, p.body)
	}
	p = getPage(t, ts.Client(), ts.URL, "/?component=api&since=2020-01-01")
	if p.status != 200 || strings.Contains(p.body, "build-done 0") || !strings.Contains(p.body, "idle 30s (build-done)") {
		t.Errorf("dashboard %d lists build-done as a step, or not as idle:\n%s", p.status, p.body)
	}
}
