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

// TestGitLabSecondWaitForAManualJobIsAPhaseOfItsOwn: a pipeline blocked
// on two manual jobs (deploy eu and deploy us, both allow_failure: false)
// waits twice when a person plays one, then, later, the other. Keyed by
// the job it waits for, the second wait (for deploy eu, still unplayed,
// both times) was a replay of the first and stood as deploy us's phase:
// 20m0s for a job of 3 minutes. Each wait is keyed by the job whose end
// began it.
func TestGitLabSecondWaitForAManualJobIsAPhaseOfItsOwn(t *testing.T) {
	const prod = "production"
	env := map[string]any{"name": prod, "action": "start"}
	at := func(status, finished string, eu, us map[string]any) []byte {
		return edited(t, "pipeline_success.json", func(p map[string]any) {
			a := p["object_attributes"].(map[string]any)
			a["status"], a["finished_at"] = status, nil
			if finished != "" {
				a["finished_at"] = finished
			}
			p["builds"] = []any{
				build(5001, "build", "build", "success", "2026-03-02 08:10:00 UTC", "2026-03-02 08:12:00 UTC", nil),
				build(5002, "test", "test", "success", "2026-03-02 08:12:05 UTC", "2026-03-02 08:15:05 UTC", nil),
				eu, us,
			}
		})
	}
	manual := func(id int, name string) map[string]any {
		b := build(id, name, "deploy", "manual", "", "", env)
		b["when"], b["manual"] = "manual", true
		return b
	}
	const us0, us1 = "2026-03-02 08:25:00 UTC", "2026-03-02 08:28:00 UTC"
	const eu0, eu1 = "2026-03-02 08:45:00 UTC", "2026-03-02 08:48:00 UTC"
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for i, body := range [][]byte{
			at("manual", "", manual(5003, "deploy eu"), manual(5005, "deploy us")),
			at("running", "", manual(5003, "deploy eu"), build(5005, "deploy us", "deploy", "running", us0, "", env)),
			at("manual", "", manual(5003, "deploy eu"), build(5005, "deploy us", "deploy", "success", us0, us1, env)),
			at("running", "", build(5003, "deploy eu", "deploy", "running", eu0, "", env), build(5005, "deploy us", "deploy", "success", us0, us1, env)),
			at("success", eu1, build(5003, "deploy eu", "deploy", "success", eu0, eu1, env), build(5005, "deploy us", "deploy", "success", us0, us1, env)),
		} {
			if r := ts.gitlabBody(t, "Pipeline Hook", body); r.status != http.StatusCreated && r.status != http.StatusOK {
				t.Fatalf("event %d: %d %s", i+1, r.status, r.body)
			}
		}
		ds := ts.deployments(t, "component=payments")
		want := []string{"build 2m5s", "test 3m0s", "manual 9m55s", "deploy us 3m0s", "manual 17m0s", "deploy eu 3m0s", "finished end"}
		if len(ds) != 1 || ds[0].Environment != prod || ds[0].Outcome != model.OutcomeSuccess || !equalStrings(phases(ds[0]), want) {
			for _, d := range ds {
				t.Logf("%s #%d %s %vs %q", d.Environment, d.Attempt, d.Outcome, d.DurationSeconds, phases(d))
			}
			t.Fatalf("want one production deployment, success, phases %q", want)
		}
	})
}
