package server_test

import (
	"net/http"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestGitLabWaitForAManualJobIsAPhaseOfItsOwn: a pipeline whose
// production job is manual and may not fail (when: manual,
// allow_failure: false) stops after its test job, in status manual,
// until a person plays the job. That wait stood as the test job's phase:
// a test of 3 minutes was one of 38 (the phase now called manual, 34m55s, in it), and the step blame named it. The
// wait is now a phase of its own, manual, from the end of the last job
// that ran until the played job starts; the deployment lasts as long.
func TestGitLabWaitForAManualJobIsAPhaseOfItsOwn(t *testing.T) {
	const fixtureFile = "pipeline_success.json"
	at := func(status string, deploy map[string]any) []byte {
		return edited(t, fixtureFile, func(p map[string]any) {
			a := p["object_attributes"].(map[string]any)
			a["status"], a["finished_at"] = status, nil
			if status == "success" {
				a["finished_at"] = "2026-03-02 08:53:02 UTC"
			}
			jobs(p, func(name string, b map[string]any) {
				if name == "deploy production" {
					b["when"], b["manual"] = "manual", true
					for k, v := range deploy {
						b[k] = v
					}
				}
			})
		})
	}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for _, d := range []struct {
			status string
			deploy map[string]any
		}{
			{"manual", map[string]any{"status": "manual", "started_at": nil, "finished_at": nil}},
			{"manual", map[string]any{"status": "manual", "started_at": nil, "finished_at": nil}}, // sent again: a replay
			{"running", map[string]any{"status": "running", "started_at": "2026-03-02 08:50:00 UTC", "finished_at": nil}},
			{"success", map[string]any{"status": "success", "started_at": "2026-03-02 08:50:00 UTC", "finished_at": "2026-03-02 08:53:00 UTC"}},
		} {
			if r := ts.gitlabBody(t, "Pipeline Hook", at(d.status, d.deploy)); r.status != http.StatusCreated && r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", d.status, r.status, r.body)
			}
		}
		ds := ts.deployments(t, "component=payments")
		want := []string{"build 2m5s", "test 3m0s", "manual 34m55s", "deploy production 3m2s", "finished end"}
		if len(ds) != 1 || ds[0].Outcome != model.OutcomeSuccess || ds[0].DurationSeconds != 2582 || !equalStrings(phases(ds[0]), want) {
			for _, d := range ds {
				t.Logf("%s #%d %s %vs %q", d.Environment, d.Attempt, d.Outcome, d.DurationSeconds, phases(d))
			}
			t.Fatalf("want one deployment, success in 2582s, phases %q", want)
		}
	})
}
