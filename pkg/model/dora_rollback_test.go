package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestDORARollbacksAreNoChanges: the way docs/api.md asks a team to record
// a rollback, the failing deploy ended rolled-back and the change before
// it deployed again, restores the failure and ships no change. Before,
// the change deployed again was a deployment: its old commit's lead time
// counted a second time, and it added to the frequency and to the
// failure rate's deployments. Known truth: four weeks of one change a
// day, 6 of them rolled back two minutes after failing and fixed by a new
// change at 14:00. The keys count changes: 34 deployments, 6 failed
// (17.6 %, low), 34 in 28 days, lead time 70 minutes; each failure
// restored by its rollback 5 minutes after it.
func TestDORARollbacksAreNoChanges(t *testing.T) {
	day := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }
	now := day(30, 12, 0)
	opts := model.DORAOptions{Bucket: model.BucketMonth, Since: day(2, 0, 0), Until: day(29, 23, 59), Now: now}
	history := func(rollback bool) []model.StepInput {
		var steps []model.StepInput
		last := ""
		for d := 2; d <= 29; d++ {
			v := fmt.Sprintf("1.%d", d)
			if d%7 != 3 && d != 12 && d != 20 {
				steps = append(steps, supersededSteps("api", v, day(d, 10, 0), day(d, 10, 10), "deployed", day(d, 9, 0))...)
				last = v
				continue
			}
			steps = append(steps, supersededSteps("api", v, day(d, 10, 0), day(d, 10, 10), "rolled-back", day(d, 9, 0))...)
			if rollback {
				// The change before, deployed again: its commit is a day old.
				steps = append(steps, supersededSteps("api", last, day(d, 10, 12), day(d, 10, 15), "deployed", day(d-1, 9, 0))...)
			}
			steps = append(steps, supersededSteps("api", v+"-fix", day(d, 14, 0), day(d, 14, 10), "deployed", day(d, 13, 0))...)
		}
		return steps
	}
	show := func(f model.DORAFigures) string {
		return fmt.Sprintf("deployments %d, failed %d, rollbacks %d; frequency %s a day, failure rate %s %%, restore p50 %s s, lead time p50 %s s, p90 %s s; bands %v",
			f.Deployments, f.FailedDeployments, f.Rollbacks, fmtp(f.DeploymentFrequencyPerDay), fmtp(f.ChangeFailureRatePercent),
			fmtp(f.TimeToRestoreP50Seconds), fmtp(f.LeadTimeP50Seconds), fmtp(f.LeadTimeP90Seconds), f.Bands)
	}
	unrecorded := doraResult(t, opts, deploymentsOf(t, history(false), now)).Overall
	got := doraResult(t, opts, deploymentsOf(t, history(true), now)).Overall
	t.Logf("without the rollbacks recorded: %s", show(unrecorded.DORAFigures))
	t.Logf("with them: %s", show(got.DORAFigures))
	want := unrecorded.DORAFigures
	// The truth: what the history without the rollbacks reads, but each
	// failure restored 5 minutes after it, by its rollback.
	want.Rollbacks = 6
	want.TimeToRestoreP50Seconds, want.TimeToRestoreP90Seconds = f64(300), f64(300)
	want.Bands.TimeToRestore = model.BandElite
	if want.Deployments != 34 || want.FailedDeployments != 6 || *want.LeadTimeP90Seconds != 4200 {
		t.Fatalf("truth: %s; want 34 deployments, 6 failed, lead time 4200 s", show(want))
	}
	if g, w := doraJSONOf(t, got.DORAFigures), doraJSONOf(t, want); g != w {
		t.Errorf("rollbacks recorded:\n%s\nwant\n%s", g, w)
	}

	t.Run("not a rollback", func(t *testing.T) {
		// Two labels deployed in turn (no failure to restore), and a
		// change deployed again after more than 16 others: deployments.
		var steps []model.StepInput
		for d := 2; d <= 21; d++ {
			steps = append(steps, supersededSteps("api", []string{"blue", "green"}[d%2], day(d, 10, 0), day(d, 10, 10), "deployed", time.Time{})...)
			steps = append(steps, supersededSteps("web", fmt.Sprintf("2.%d", d), day(d, 11, 0), day(d, 11, 10), "deployed", time.Time{})...)
		}
		steps = append(steps, supersededSteps("web", "2.30", day(22, 11, 0), day(22, 11, 10), "failed", time.Time{})...)
		steps = append(steps, supersededSteps("web", "2.2", day(22, 12, 0), day(22, 12, 10), "deployed", time.Time{})...)
		got := doraResult(t, opts, deploymentsOf(t, steps, now)).Overall
		if got.Rollbacks != 0 || got.Deployments != 20+20+2 || got.FailedDeployments != 1 || got.RestoredFailures != 1 {
			t.Errorf("%s; want 42 deployments, 1 failed and restored, no rollback", show(got.DORAFigures))
		}
	})

	t.Run("a label's fix after its commit was named", func(t *testing.T) {
		// main deployed without its revision, then again naming it (a
		// redeploy that says which commit it was); a later commit fails
		// and the next one fixes it: a deployment, not a rollback to
		// main's first deploy, which could have been any commit.
		var ds []*model.Deployment
		for i, c := range []struct{ revision, outcome string }{
			{"", model.OutcomeSuccess}, {"a1", model.OutcomeSuccess}, {"b2", model.OutcomeFailure}, {"c3", model.OutcomeSuccess},
		} {
			start := day(3+i, 10, 0)
			end := start.Add(10 * time.Minute)
			ds = append(ds, &model.Deployment{Component: "api", Version: "main", Environment: "production", Revision: c.revision,
				StartedAt: start, FinishedAt: &end, Outcome: c.outcome, Steps: []model.Phase{{Status: "finished", Time: end}}})
		}
		got := doraResult(t, opts, ds).Overall
		if got.Rollbacks != 0 || got.Deployments != 3 || got.FailedDeployments != 1 || got.Redeployments != 1 || got.RestoredFailures != 1 {
			t.Errorf("%s, redeployments %d; want 3 deployments, 1 redeployment, 1 failed and restored, no rollback", show(got.DORAFigures), got.Redeployments)
		}
	})

	t.Run("a label with a newer commit is a fix", func(t *testing.T) {
		// Blue/green labels as versions, with no revision but their commit
		// times: the green deploy after a failed blue one ships a newer
		// commit than any green before it, so it is a deployment that
		// restores the failure, not a rollback to green.
		var steps []model.StepInput
		for d := 2; d <= 5; d++ {
			steps = append(steps, supersededSteps("api", []string{"blue", "green"}[d%2], day(d, 10, 0), day(d, 10, 10), "deployed", day(d, 9, 0))...)
		}
		steps = append(steps, supersededSteps("api", "blue", day(6, 10, 0), day(6, 10, 10), "failed", day(6, 9, 0))...)
		steps = append(steps, supersededSteps("api", "green", day(6, 11, 0), day(6, 11, 10), "deployed", day(6, 10, 30))...)
		got := doraResult(t, opts, deploymentsOf(t, steps, now)).Overall
		if got.Rollbacks != 0 || got.Deployments != 6 || got.FailedDeployments != 1 || got.RestoredFailures != 1 {
			t.Errorf("%s; want 6 deployments, 1 failed and restored, no rollback", show(got.DORAFigures))
		}
		// The same green deployed again, its commit the one of 5 days
		// before: a rollback.
		steps[len(steps)-3].CommittedAt, steps[len(steps)-2].CommittedAt, steps[len(steps)-1].CommittedAt = day(5, 9, 0), day(5, 9, 0), day(5, 9, 0)
		got = doraResult(t, opts, deploymentsOf(t, steps, now)).Overall
		if got.Rollbacks != 1 || got.Deployments != 5 || got.FailedDeployments != 1 || got.RestoredFailures != 1 {
			t.Errorf("green's own commit again: %s; want 5 deployments, 1 failed and restored, 1 rollback", show(got.DORAFigures))
		}
	})
}
