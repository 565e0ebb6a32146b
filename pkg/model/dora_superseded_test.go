package model_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// supersededSteps is one deploy's steps: build at start, tests halfway,
// then the terminal status at end, with the commit time when not zero.
func supersededSteps(component, version string, start, end time.Time, terminal string, committed time.Time) []model.StepInput {
	base := model.StepInput{Component: component, Version: version, Owner: "ana", Environment: "production", CommittedAt: committed}
	var out []model.StepInput
	for i, st := range []string{"build", "tests", terminal} {
		in := base
		in.Status, in.Time = st, start.Add(end.Sub(start)*time.Duration(i)/2)
		out = append(out, in)
	}
	return out
}

// supersede adds, before newer (the first step of a deploy), a run of
// an older change (committed 10 minutes before newer's, if it gives one)
// that a CI concurrency group cancelled for it: started four minutes
// earlier and cancelled at cancelAt from newer's start (after the newer
// run started, or, as GitHub's cancel-in-progress does, just before it).
func supersede(steps []model.StepInput, newer model.StepInput, cancelAt time.Duration, status string) []model.StepInput {
	var committed time.Time
	if !newer.CommittedAt.IsZero() {
		committed = newer.CommittedAt.Add(-10 * time.Minute)
	}
	return append(steps, supersededSteps(newer.Component, newer.Version+"-superseded", newer.Time.Add(-4*time.Minute),
		newer.Time.Add(cancelAt), status, committed)...)
}

// sentTwice sends the last step of steps again a second later, as a
// retrying script does with a terminal step.
func sentTwice(steps []model.StepInput) []model.StepInput {
	again := steps[len(steps)-1]
	again.Time = again.Time.Add(time.Second)
	return append(steps, again)
}

// doraJSONOf is the figures as GET /v1/dora writes them.
func doraJSONOf(t *testing.T, f model.DORAFigures) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDORASupersededCancelsAreNoChangeFailures: a pipeline that cancels
// the running deploy of a change when a newer one comes (GitHub Actions'
// cancel-in-progress, GitLab's interruptible jobs) deployed nothing with
// it. Each such run was a change failure restored by the newer change
// minutes later: 3 of them flipped the failure rate's band and pulled the
// restore p50 down to minutes. Known truth: they count in
// superseded_deployments and nowhere else; a cancel followed by a rollback
// to an older commit, by nothing, or by a fix half an hour later is still
// a failure.
func TestDORASupersededCancelsAreNoChangeFailures(t *testing.T) {
	day := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }
	opts := model.DORAOptions{Bucket: model.BucketWeek, Since: day(2, 0, 0), Until: day(29, 23, 59), Now: day(30, 12, 0)}
	now := day(30, 12, 0)

	t.Run("a small team", func(t *testing.T) {
		// Four weeks of one deploy a day at 10:00, 10 minutes each; the
		// deploy of the 10th fails and a fix deploys at 13:10 (restore 3
		// h). Truth: 29 deployments, 1 failed (3.4 %, elite), restore 3 h
		// (high), 28 successes in 28 days (1 a day, elite).
		var steps []model.StepInput
		for d := 2; d <= 29; d++ {
			v := fmt.Sprintf("1.%d", d)
			status := "deployed"
			if d == 10 {
				status = "failed"
			}
			steps = append(steps, supersededSteps("api", v, day(d, 10, 0), day(d, 10, 10), status, day(d, 8, 0))...)
		}
		steps = append(steps, supersededSteps("api", "1.10-fix", day(10, 13, 0), day(10, 13, 10), "deployed", day(10, 12, 30))...)
		// The junk: three superseded runs, cancelled 5 s after the newer
		// run started, or (GitHub) 30 s before it and its end sent twice,
		// as "cancelled" or GitLab's "canceled".
		junk := slicesClone(steps)
		for _, s := range steps {
			if s.Status != "build" {
				continue
			}
			switch s.Version {
			case "1.5":
				junk = supersede(junk, s, 5*time.Second, "cancelled")
			case "1.14":
				junk = sentTwice(supersede(junk, s, -30*time.Second, "cancelled"))
			case "1.22":
				junk = supersede(junk, s, 5*time.Second, "canceled")
			}
		}

		clean := doraResult(t, opts, deploymentsOf(t, steps, now)).Overall
		got := doraResult(t, opts, deploymentsOf(t, junk, now)).Overall
		t.Logf("truth: deployments %d, failed %d, rate %s %%, restore p50 %s s; bands %v",
			clean.Deployments, clean.FailedDeployments, fmtp(clean.ChangeFailureRatePercent), fmtp(clean.TimeToRestoreP50Seconds), clean.Bands)
		t.Logf("with 3 superseded runs: deployments %d, failed %d, superseded %d, rate %s %%, restore p50 %s s; bands %v",
			got.Deployments, got.FailedDeployments, got.SupersededDeployments, fmtp(got.ChangeFailureRatePercent), fmtp(got.TimeToRestoreP50Seconds), got.Bands)
		if clean.Deployments != 29 || clean.FailedDeployments != 1 || clean.SupersededDeployments != 0 {
			t.Fatalf("truth: deployments %d, failed %d, superseded %d; want 29, 1, 0", clean.Deployments, clean.FailedDeployments, clean.SupersededDeployments)
		}
		got.SupersededDeployments -= 4
		if g, w := doraJSONOf(t, got.DORAFigures), doraJSONOf(t, clean.DORAFigures); g != w {
			t.Errorf("with 3 superseded runs, the keys moved:\n%s\nwant the truth's (and superseded_deployments 4: one run's end sent twice):\n%s", g, w)
		}
	})

	t.Run("still failures", func(t *testing.T) {
		// Each case: a run of 2.0 (commit at 09:00) cancelled at 10:05,
		// then what follows. A cancel is a failure unless a newer change
		// superseded it.
		cancelled := supersededSteps("api", "2.0", day(3, 10, 0), day(3, 10, 5), "cancelled", day(3, 9, 0))
		before := supersededSteps("api", "1.0", day(2, 10, 0), day(2, 10, 10), "deployed", day(2, 9, 0))
		for _, c := range []struct {
			name                       string
			after                      []model.StepInput
			failed, unrestored, redone int
			restore                    float64 // seconds, 0: none
		}{
			{"rolled back to the older commit a minute later", supersededSteps("api", "1.0-rollback", day(3, 10, 6), day(3, 10, 10), "deployed", day(2, 9, 0)), 1, 0, 0, 300},
			{"the version before deployed again a minute later, without its commit time", supersededSteps("api", "1.0", day(3, 10, 6), day(3, 10, 10), "deployed", time.Time{}), 1, 0, 0, 300},
			{"nothing after", nil, 1, 1, 0, 0},
			{"a fix half an hour later", supersededSteps("api", "2.1", day(3, 10, 35), day(3, 10, 45), "deployed", day(3, 10, 20)), 1, 0, 0, 2400},
			{"retried with the same version", supersededSteps("api", "2.0", day(3, 10, 6), day(3, 10, 16), "deployed", day(3, 9, 0)), 0, 0, 0, 0},
			{"a fix started before the cancel, its commit older", supersededSteps("api", "2.1", day(3, 10, 4), day(3, 10, 14), "deployed", day(3, 8, 0)), 1, 0, 0, 540},
		} {
			steps := append(append(slicesClone(before), cancelled...), c.after...)
			got := doraResult(t, opts, deploymentsOf(t, steps, now)).Overall
			restore := 0.0
			if got.TimeToRestoreP50Seconds != nil {
				restore = *got.TimeToRestoreP50Seconds
			}
			if got.FailedDeployments != c.failed || got.UnrestoredFailures != c.unrestored || got.SupersededDeployments != 0 || restore != c.restore {
				t.Errorf("%s: failed %d, unrestored %d, superseded %d, restore %v s; want %d, %d, 0, %v s",
					c.name, got.FailedDeployments, got.UnrestoredFailures, got.SupersededDeployments, restore, c.failed, c.unrestored, c.restore)
			}
		}
	})

	t.Run("accuracy", func(t *testing.T) {
		// TestAccuracyDORA's 40 clean histories, with 3 superseded runs
		// before three of a component's successful deploys.
		n := trials(40)
		bandsRight, exact := 0, 0
		cfr := &doraScore{name: "change failure rate", unit: "points"}
		ttr := &doraScore{name: "time to restore p50", unit: "minutes"}
		for seed := range n {
			cfg := doraAccuracyConfig(uint64(seed), false)
			steps, truth := synth.GenerateDORA(cfg)
			end := truth.Until.Add(24 * time.Hour)
			o := model.DORAOptions{Bucket: model.BucketWeek, Since: truth.Since, Until: truth.Until, Now: end}
			clean := doraResult(t, o, deploymentsOf(t, steps, end)).Overall
			junk := slicesClone(steps)
			var starts []model.StepInput
			for _, s := range steps {
				if s.Status == "build" && s.Component == "api" {
					starts = append(starts, s)
				}
			}
			for k, at := range []int{len(starts) / 4, len(starts) / 2, 3 * len(starts) / 4} {
				junk = supersede(junk, starts[at], []time.Duration{5 * time.Second, -30 * time.Second, time.Second}[k], "cancelled")
				if k == 1 {
					junk = sentTwice(junk)
				}
			}
			got := doraResult(t, o, deploymentsOf(t, junk, end)).Overall
			cfr.add(*clean.ChangeFailureRatePercent, got.ChangeFailureRatePercent)
			ttr.add(*clean.TimeToRestoreP50Seconds/60, f64(*got.TimeToRestoreP50Seconds/60))
			if got.Bands == clean.Bands {
				bandsRight++
			}
			got.SupersededDeployments -= 4
			if doraJSONOf(t, got.DORAFigures) == doraJSONOf(t, clean.DORAFigures) {
				exact++
			}
			if seed == 0 {
				t.Logf("seed 0: rate %s %% (truth %s), restore p50 %s s (truth %s)", fmtp(got.ChangeFailureRatePercent), fmtp(clean.ChangeFailureRatePercent),
					fmtp(got.TimeToRestoreP50Seconds), fmtp(clean.TimeToRestoreP50Seconds))
			}
		}
		t.Logf("3 superseded runs in each of %d histories: all four bands right in %d, every figure exact in %d\n  %s\n  %s", n, bandsRight, exact, cfr, ttr)
		if bandsRight != n || exact != n {
			t.Errorf("bands right in %d of %d, figures exact in %d; want all", bandsRight, n, exact)
		}
	})
}

func slicesClone(s []model.StepInput) []model.StepInput { return append([]model.StepInput(nil), s...) }

func fmtp(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%.2f", *v)
}

// TestDORANotCountedSaysSuperseded: the note under the keys names the
// superseded runs and the rollbacks beside the retries and redeployments.
func TestDORANotCountedSaysSuperseded(t *testing.T) {
	for _, c := range []struct {
		f    model.DORAFigures
		want string
	}{
		{model.DORAFigures{RetriedFailures: 2, Redeployments: 1}, "2 failed attempts retried with the same version, 1 redeployment of the version just deployed"},
		{model.DORAFigures{SupersededDeployments: 1}, "1 cancelled deployment superseded by a newer change"},
		{model.DORAFigures{RetriedFailures: 1, SupersededDeployments: 3, Rollbacks: 2},
			"1 failed attempt retried with the same version, 3 cancelled deployments superseded by a newer change, 2 rollbacks to a change deployed before"},
		{model.DORAFigures{Rollbacks: 1}, "1 rollback to a change deployed before"},
		{model.DORAFigures{}, ""},
	} {
		if got := model.DORANotCountedOf(c.f); got != c.want {
			t.Errorf("DORANotCountedOf(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
	if got, want := model.DORANotCounted(2, 1), model.DORANotCountedOf(model.DORAFigures{RetriedFailures: 2, Redeployments: 1}); got != want {
		t.Errorf("DORANotCounted(2, 1) = %q, want %q", got, want)
	}
}
