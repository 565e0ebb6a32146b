package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// DORAConfig describes a history of deploys to production whose four keys
// are known, as steps a pipeline records, with the junk real pipelines
// send alongside.
type DORAConfig struct {
	Seed uint64
	// Start is the first day (UTC midnight, a Monday for weekly buckets).
	Start time.Time
	Weeks int
	// Components each deploy PerWeek changes a week to production.
	Components []string
	PerWeek    int
	// FailureRate is the share of changes that fail in production and are
	// restored by a fix (a new version) RestoreMin to RestoreMax later.
	FailureRate            float64
	RestoreMin, RestoreMax time.Duration
	// Junk adds what the truth must not see: failed attempts retried with
	// the same version, terminal steps sent twice, a burst of test deploys,
	// a deploy stuck in progress, a step recorded hours late, a commit time
	// from a clock ahead, deployments without a revision, and a staging
	// environment deploying three times as often and failing more.
	Junk bool
	// TestBurst is the number of test deploys (distinct versions, under a
	// second each, in production) in the burst Junk adds.
	TestBurst int
}

// DORATruth is the four keys of a DORA history's production deploys, by
// the DORA definitions: a deployment is a change (a version) reaching
// production; a change failure is a change that failed there and needed a
// fix; its restore runs from the failure to the fix running; lead time
// from the commit to the change running.
type DORATruth struct {
	// Since and Until bound the history (Until inclusive, to the microsecond).
	Since, Until time.Time
	Days         float64
	// Successes and Failures count changes deployed and changes failed.
	Successes, Failures int
	// Restores and Leads are the true times, in seconds; WithCommit the
	// successes whose commit time the tool can know.
	Restores, Leads []float64
	WithCommit      int
	// JunkSteps counts the steps that are junk.
	JunkSteps int
}

// FrequencyPerDay is the true deployment frequency.
func (t DORATruth) FrequencyPerDay() float64 { return float64(t.Successes) / t.Days }

// ChangeFailureRatePercent is the true change failure rate.
func (t DORATruth) ChangeFailureRatePercent() float64 {
	return float64(t.Failures) / float64(t.Successes+t.Failures) * 100
}

// RestoreP50Seconds is the true median time to restore.
func (t DORATruth) RestoreP50Seconds() float64 { return median(t.Restores) }

// LeadP50Seconds is the true median lead time.
func (t DORATruth) LeadP50Seconds() float64 { return median(t.Leads) }

// CoveragePercent is the true share of successes with a usable commit time.
func (t DORATruth) CoveragePercent() float64 {
	return float64(t.WithCommit) / float64(t.Successes) * 100
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return model.Percentile(s, 50)
}

// GenerateDORA builds the steps of cfg, in time order, and the truth of its
// production deploys. Junk comes from its own random stream, so the real
// deploys are the same with or without it.
func GenerateDORA(cfg DORAConfig) ([]model.StepInput, DORATruth) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 3))
	junk := rand.New(rand.NewPCG(cfg.Seed, 4))
	week := 7 * 24 * time.Hour
	end := cfg.Start.Add(time.Duration(cfg.Weeks) * week)
	truth := DORATruth{Since: cfg.Start, Until: end.Add(-time.Microsecond), Days: float64(cfg.Weeks) * 7}
	var out []model.StepInput
	add := func(in model.StepInput, isJunk bool) {
		out = append(out, in)
		if isJunk {
			truth.JunkSteps++
		}
	}
	// deploy records one deploy's steps: build, tests, rollout, then its
	// terminal status at the end.
	deploy := func(component, env, version string, start, finish time.Time, status string, committed time.Time, isJunk bool) {
		base := model.StepInput{Component: component, Version: version, Owner: "synth", Environment: env, CommittedAt: committed}
		if !committed.IsZero() {
			base.Revision = fmt.Sprintf("%x", committed.UnixNano())
		}
		d := finish.Sub(start)
		for i, s := range []string{"build", "tests", "rollout"} {
			in := base
			in.Status, in.Time = s, start.Add(d*time.Duration(i)/3)
			add(in, isJunk)
		}
		in := base
		in.Status, in.Time = status, finish
		add(in, isJunk)
	}
	duration := func(r *rand.Rand) time.Duration {
		return time.Duration((8 + 6*r.Float64()) * float64(time.Minute)).Truncate(time.Second)
	}
	lead := func(r *rand.Rand) time.Duration {
		// Lognormal around 5 hours: most changes within a day, a few older.
		return time.Duration(5 * float64(time.Hour) * math.Exp(0.8*r.NormFloat64())).Truncate(time.Second)
	}

	for ci, component := range cfg.Components {
		n := cfg.Weeks * cfg.PerWeek
		gap := week / time.Duration(cfg.PerWeek)
		stuck, late, ahead := -1, -1, -1
		if cfg.Junk {
			stuck, late, ahead = junk.IntN(n), junk.IntN(n), junk.IntN(n)
		}
		for i := range n {
			slot := cfg.Start.Add(time.Duration(i) * gap)
			start := slot.Add(time.Duration(0.05 * float64(gap) * (1 + rng.Float64()))).Truncate(time.Second)
			finish := start.Add(duration(rng))
			version := fmt.Sprintf("%d.%d.0", ci+1, i)
			committed := finish.Add(-lead(rng))
			fails := rng.Float64() < cfg.FailureRate
			restore := cfg.RestoreMin + time.Duration(rng.Float64()*float64(cfg.RestoreMax-cfg.RestoreMin)).Truncate(time.Second)
			fixDuration := duration(rng)
			fixLead := lead(rng)
			// Draws for junk come from the junk stream only.
			var retried, doubled, noRevision bool
			var retryAfter time.Duration
			if cfg.Junk {
				// Only changes that deploy are retried here: a change that
				// fails on its retry too fails from its first attempt, and
				// its truth would hang on that choice.
				retried = junk.Float64() < 0.1 && !fails
				doubled = junk.Float64() < 0.05
				noRevision = junk.Float64() < 0.1
				retryAfter = time.Duration(2+junk.IntN(8)) * time.Minute
			}
			if i == stuck {
				// A deploy stuck in progress for good: it never reached
				// production, so it is no deployment. The change goes out
				// with the next one.
				deploy(component, "production", version+"-stuck", start, start.Add(2*time.Minute), "rollout", time.Time{}, true)
				out = out[:len(out)-1] // no terminal step
				truth.JunkSteps--
				continue
			}
			if retried {
				// A flaky first attempt that fails at tests and is run again
				// with the same version a few minutes later: a pipeline
				// failure, not a change failure.
				deploy(component, "production", version, start, start.Add(3*time.Minute), "failed", committed, true)
				shift := 3*time.Minute + retryAfter
				start, finish = start.Add(shift), finish.Add(shift)
			}
			status := "deployed"
			if fails {
				status = "failed"
			}
			recorded := committed
			known := true
			if noRevision {
				recorded, known = time.Time{}, false
			}
			if i == ahead {
				// A commit stamped by a clock two hours ahead: after the
				// deploy ended, so no usable commit time.
				recorded, known = finish.Add(2*time.Hour), false
			}
			terminal := finish
			if i == late && !fails {
				// The terminal step sent three hours late, with no time:
				// the server stamps its receipt. Truth is when it ran.
				terminal = finish.Add(3 * time.Hour)
			}
			deploy(component, "production", version, start, terminal, status, recorded, false)
			if doubled {
				// The terminal step sent again by a retrying script.
				in := out[len(out)-1]
				in.Time = in.Time.Add(time.Second)
				add(in, true)
			}
			if !fails {
				truth.Successes++
				if known {
					truth.WithCommit++
					truth.Leads = append(truth.Leads, finish.Sub(committed).Seconds())
				}
				continue
			}
			// The fix: a new version ending restore after the failure.
			truth.Failures++
			fixEnd := finish.Add(restore)
			fixStart := fixEnd.Add(-fixDuration)
			fixCommitted := fixEnd.Add(-min(fixLead, restore))
			deploy(component, "production", version+"-fix", fixStart, fixEnd, "deployed", fixCommitted, false)
			truth.Successes++
			truth.WithCommit++
			truth.Leads = append(truth.Leads, fixEnd.Sub(fixCommitted).Seconds())
			truth.Restores = append(truth.Restores, restore.Seconds())
		}
		if !cfg.Junk {
			continue
		}
		// Staging deploys three times as often and fails a third of the
		// time: none of it is production.
		for i := range 3 * n {
			start := cfg.Start.Add(time.Duration(i) * gap / 3).Add(time.Duration(junk.IntN(3600)) * time.Second)
			status := "deployed"
			if junk.IntN(3) == 0 {
				status = "failed"
			}
			deploy(component, "staging", fmt.Sprintf("%d.%d.0-rc", ci+1, i), start, start.Add(duration(junk)), status, start, true)
		}
	}
	if cfg.Junk && len(cfg.Components) > 0 {
		// Someone tries the pipeline out: test deploys under a second,
		// twenty seconds apart, in production.
		at := cfg.Start.Add(time.Duration(junk.IntN(cfg.Weeks*7))*24*time.Hour + 13*time.Hour)
		for k := range cfg.TestBurst {
			s := at.Add(time.Duration(k) * 20 * time.Second)
			deploy(cfg.Components[0], "production", fmt.Sprintf("test-%d", k), s, s.Add(600*time.Millisecond), "deployed", time.Time{}, true)
		}
	}
	slices.SortStableFunc(out, func(a, b model.StepInput) int { return a.Time.Compare(b.Time) })
	return out, truth
}
