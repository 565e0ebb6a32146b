package model_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// The accuracy of the ETA of a deployment in progress (docs/api.md, "ETA
// of a deployment in progress"), scored on synthetic histories whose truth
// is known. docs/api.md gives the scores; `go test ./pkg/model -run
// TestAccuracyETA -v` prints them.

// etaNoise is the lognormal noise of each step: about ±25 %.
const etaNoise = 0.25

// etaSeries is the one series of an ETA history: api to production, 10
// minutes at first, four steps growing together g % a week.
func etaSeries(g float64) []synth.Series {
	return []synth.Series{{Component: "api", Environment: "production", BaseSeconds: 600,
		Steps: []synth.Step{step("build", 0.3, g), step("tests", 0.4, g), step("migrate", 0.1, g), step("rollout", 0.2, g)}}}
}

// etaConfig is trial i's history: 120 real deployments over 12 weeks
// (within the ETA's 90 days), growing 0 to 2 % a week; with junk, 5 % test
// deploys under a second (the first stuck for 8 to 24 hours), a burst of
// ten one-second test deploys and 10 % failed deployments. Either way 5 %
// of the real ones retry a step, and the real deployments are the same.
func etaConfig(i int, junk bool) synth.Config {
	g := 2 * rand.New(rand.NewPCG(uint64(i), 23)).Float64()
	cfg := synth.Config{Seed: uint64(5000 + i), Start: accuracyStart, Weeks: 12, PerSeries: 120, Series: etaSeries(g), Noise: etaNoise,
		RetryRate: 0.05}
	if junk {
		cfg.JunkRate, cfg.Bursts, cfg.FailRate = 0.05, 1, 0.1
	}
	return cfg
}

// etaTruth is the rule of the ETA applied to the generating distribution
// itself rather than to a history: the medians of remaining and rest of a
// deployment started weeks into the history, from 20,001 noisy draws of
// its steps. It is what the estimate would be with endless clean history.
type etaTruth struct {
	remaining, rest []float64 // by phase, at week 0
	growth          float64   // % a week, of every step
}

func newETATruth(s synth.Series) etaTruth {
	const draws = 20001
	rng := rand.New(rand.NewPCG(1, 1))
	n := len(s.Steps)
	rem := make([][]float64, n)
	for range draws {
		sum := 0.0
		sums := make([]float64, n+1)
		for k := n - 1; k >= 0; k-- {
			sum += s.BaseSeconds * s.Steps[k].Share * math.Exp(rng.NormFloat64()*etaNoise)
			sums[k] = sum
		}
		for k := range n {
			rem[k] = append(rem[k], sums[k])
		}
	}
	t := etaTruth{growth: s.Steps[0].GrowthPercentPerWeek}
	for k := range n {
		t.remaining = append(t.remaining, quantile(rem[k], 0.5))
	}
	t.rest = append(t.remaining[1:n:n], 0)
	return t
}

// eta is the truth's ETA of a deployment started at start, in its k-th
// phase for inPhase seconds.
func (t etaTruth) eta(start time.Time, k int, inPhase float64) float64 {
	f := math.Pow(1+t.growth/100, start.Sub(accuracyStart).Hours()/(24*7))
	return max(t.remaining[k]*f-inPhase, t.rest[k]*f, 0)
}

// etaHistory is what the store gives the estimate of a deployment of
// group g at now (see store.RecentSuccesses): of the latest model.ETAScan
// deployments of the group started within model.ETALookback, newest
// first, the successful ones. A deployment that ends after now is in
// progress then: it is read but not a success.
func etaHistory(all []*model.Deployment, g model.ETAGroup, now time.Time) []*model.Deployment {
	var out []*model.Deployment
	scanned := 0
	for i := len(all) - 1; i >= 0 && scanned < model.ETAScan; i-- {
		d := all[i]
		if d.Group() != g || d.StartedAt.After(now) {
			continue
		}
		if d.StartedAt.Before(now.Add(-model.ETALookback)) {
			break
		}
		scanned++
		if d.Outcome == model.OutcomeSuccess && !d.FinishedAt.After(now) {
			out = append(out, d)
		}
	}
	return out
}

// inProgress is target as it was frac of the way into its k-th phase: its
// steps up to that phase, and when.
func inProgress(target *model.Deployment, k int, frac float64) (*model.Deployment, time.Time, float64) {
	inPhase := frac * target.Steps[k+1].Time.Sub(target.Steps[k].Time).Seconds()
	now := target.Steps[k].Time.Add(time.Duration(inPhase * float64(time.Second)))
	d := &model.Deployment{Component: target.Component, Version: target.Version, Environment: target.Environment,
		Attempt: 1, StartedAt: target.StartedAt, Steps: slices.Clone(target.Steps[:k+1])}
	d.Complete(model.DefaultDeploymentRules().Outcome, now, time.Hour)
	return d, now, inPhase
}

// retried says whether d runs a step twice.
func retried(d *model.Deployment) bool {
	seen := map[string]bool{}
	for _, p := range d.Steps {
		if seen[p.Status] {
			return true
		}
		seen[p.Status] = true
	}
	return false
}

// etaScore gathers the errors of the estimates of one kind of history.
type etaScore struct {
	errSeconds, errPercent, durPercent, truthSeconds, truthPercent []float64
	within25, none                                                 int
}

// add scores the estimate e of a deployment in progress at now that ended
// at finish after lasting duration, whose true ETA was truth (seconds).
func (s *etaScore) add(e model.ETA, ok bool, now, finish time.Time, duration, truth float64) {
	if !ok {
		s.none++
		return
	}
	remaining := finish.Sub(now).Seconds()
	err := math.Abs(e.ExpectedFinishAt.Sub(finish).Seconds())
	s.errSeconds = append(s.errSeconds, err)
	s.errPercent = append(s.errPercent, 100*err/remaining)
	if err <= 0.25*remaining {
		s.within25++
	}
	s.durPercent = append(s.durPercent, 100*math.Abs(e.ExpectedDurationSeconds-duration)/duration)
	s.truthSeconds = append(s.truthSeconds, math.Abs(e.Seconds-truth))
	elapsed := now.Sub(finish).Seconds() + duration
	s.truthPercent = append(s.truthPercent, 100*math.Abs(e.Seconds-truth)/(elapsed+truth))
}

func (s *etaScore) String() string {
	n := len(s.errSeconds)
	return fmt.Sprintf("%d estimates (%d null): finish off by median %.0f s, p90 %.0f s; %.1f %%, p90 %.1f %% of the time left; within ±25 %% of it %.0f %%; "+
		"expected duration off by median %.1f %%, p90 %.1f %%; off the truth by median %.0f s, p90 %.0f s (%.1f %%, p90 %.1f %% of the expected duration)",
		n, s.none, quantile(s.errSeconds, 0.5), quantile(s.errSeconds, 0.9), quantile(s.errPercent, 0.5), quantile(s.errPercent, 0.9),
		100*float64(s.within25)/float64(max(n, 1)), quantile(s.durPercent, 0.5), quantile(s.durPercent, 0.9),
		quantile(s.truthSeconds, 0.5), quantile(s.truthSeconds, 0.9), quantile(s.truthPercent, 0.5), quantile(s.truthPercent, 0.9))
}

// etaJunk is junk added to a history just before a deployment starts at
// start: what a team sees in its latest deployments.
type etaJunk struct {
	name string
	add  func(start time.Time, statuses []string) []*model.Deployment
}

var etaJunks = []etaJunk{
	{"3 test deploys under a second", func(start time.Time, statuses []string) []*model.Deployment {
		var out []*model.Deployment
		for k := range 3 {
			out = append(out, synth.Deployment("api", fmt.Sprintf("quick-%d", k), "production", start.Add(-time.Duration(30-10*k)*time.Minute),
				statuses, fill(len(statuses), 0.6/float64(len(statuses)))))
		}
		return out
	}},
	{"3 deploys stuck for 10 hours", func(start time.Time, statuses []string) []*model.Deployment {
		var out []*model.Deployment
		for k := range 3 {
			out = append(out, synth.Deployment("api", fmt.Sprintf("stuck-%d", k), "production", start.Add(-time.Duration(12-k)*time.Hour),
				statuses, fill(len(statuses), float64(10+k)*3600/float64(len(statuses)))))
		}
		return out
	}},
	{"a burst of 10 one-second deploys", func(start time.Time, statuses []string) []*model.Deployment {
		var out []*model.Deployment
		for k := range 10 {
			out = append(out, synth.Deployment("api", fmt.Sprintf("burst-%d", k), "production", start.Add(-time.Duration(20-k)*time.Minute),
				statuses, fill(len(statuses), 1/float64(len(statuses)))))
		}
		return out
	}},
	{"3 failed deployments", func(start time.Time, statuses []string) []*model.Deployment {
		var out []*model.Deployment
		for k := range 3 {
			d := synth.Deployment("api", fmt.Sprintf("failed-%d", k), "production", start.Add(-time.Duration(30-10*k)*time.Minute),
				statuses[:1], []float64{5})
			d.Steps[1].Status = "failed"
			d.Outcome = model.OutcomeFailure
			out = append(out, d)
		}
		return out
	}},
}

func fill(n int, v float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = v
	}
	return xs
}

// etaFracs are how far into a phase the estimates are asked for: early
// and late.
var etaFracs = []float64{0.1, 0.9}

// TestAccuracyETA scores the ETA of deployments in progress, at the start
// and near the end of each of their four phases, against when they did
// finish and against the truth (the rule applied to the generating
// distribution), on 40 histories of 120 real deployments with 25 % noise a
// step and junk (test deploys under a second, one stuck for hours, a burst
// of ten one-second test deploys, failed deployments, retried steps), and
// on the same histories without junk. Then 3 junk deployments, or a burst
// of ten, are added just before a deployment starts: its ETA must not
// move.
func TestAccuracyETA(t *testing.T) {
	t.Parallel()
	n := trials(40)
	var withJunk, clean, best etaScore
	byPhase := map[string]*etaScore{}
	mostlyJunk := 0
	moves := make([][]float64, len(etaJunks))
	var apart []float64 // junk against no junk, % of the time left
	group := model.ETAGroup{Component: "api", Environment: "production"}
	for i := range n {
		cfg := etaConfig(i, true)
		truth := newETATruth(cfg.Series[0])
		all, _ := synth.Generate(cfg)
		cleanAll, _ := synth.Generate(etaConfig(i, false))
		// The real deployments from the 41st on, but those that retried a
		// step: the truth does not know retries.
		var targets []*model.Deployment
		for _, d := range cleanAll[40:] {
			if !retried(d) {
				targets = append(targets, d)
			}
		}
		for ti, target := range targets {
			for k := range len(target.Steps) - 1 {
				for _, frac := range etaFracs {
					d, now, inPhase := inProgress(target, k, frac)
					want := truth.eta(target.StartedAt, k, inPhase)
					e, ok := model.EstimateETA(d, etaHistory(all, group, now), now)
					withJunk.add(e, ok, now, *target.FinishedAt, target.DurationSeconds, want)
					ce, cok := model.EstimateETA(d, etaHistory(cleanAll, group, now), now)
					clean.add(ce, cok, now, *target.FinishedAt, target.DurationSeconds, want)
					elapsed := now.Sub(target.StartedAt).Seconds()
					best.add(model.ETA{Seconds: want, ExpectedDurationSeconds: elapsed + want, ExpectedFinishAt: now.Add(time.Duration(want * float64(time.Second)))},
						true, now, *target.FinishedAt, target.DurationSeconds, want)
					at := fmt.Sprintf("%s at %2.0f %%", target.Steps[k].Status, 100*frac)
					if byPhase[at] == nil {
						byPhase[at] = &etaScore{}
					}
					byPhase[at].add(e, ok, now, *target.FinishedAt, target.DurationSeconds, want)
					remaining := target.FinishedAt.Sub(now).Seconds()
					if ok && cok {
						apart = append(apart, 100*math.Abs(e.Seconds-ce.Seconds)/remaining)
					}
					// Junk just before the latest ten targets.
					if ti < len(targets)-10 || !ok {
						continue
					}
					statuses := make([]string, len(target.Steps)-1)
					for j := range statuses {
						statuses[j] = target.Steps[j].Status
					}
					for ji, junk := range etaJunks {
						more := append(slices.Clone(all), junk.add(target.StartedAt, statuses)...)
						slices.SortStableFunc(more, func(a, b *model.Deployment) int { return a.StartedAt.Compare(b.StartedAt) })
						je, jok := model.EstimateETA(d, etaHistory(more, group, now), now)
						if !jok {
							moves[ji] = append(moves[ji], math.Inf(1))
							continue
						}
						moves[ji] = append(moves[ji], 100*math.Abs(je.Seconds-e.Seconds)/remaining)
						if m := 100 * math.Abs(je.Seconds-e.Seconds) / remaining; m > 1 {
							if j := latestJunk(more, group, now); j < 15 {
								t.Errorf("trial %d, %s in phase %d at %.0f %%: %s moved the ETA %.0f s to %.0f s (%d of the latest 20 successes junk)",
									i, target.Version, k, 100*frac, junk.name, e.Seconds, je.Seconds, j)
							} else {
								mostlyJunk++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("ETA with junk: %v", &withJunk)
	t.Logf("ETA without junk: %v", &clean)
	t.Logf("the truth itself (the rule on the generating distribution): %v", &best)
	if testing.Verbose() {
		for _, at := range slices.Sorted(maps.Keys(byPhase)) {
			t.Logf("  with junk, in %s: %v", at, byPhase[at])
		}
	}
	t.Logf("ETA with junk against without: moved by median %.1f %%, p90 %.1f %%, max %.1f %% of the time left",
		quantile(apart, 0.5), quantile(apart, 0.9), quantile(apart, 1))
	for ji, junk := range etaJunks {
		t.Logf("ETA with %s just before: moved by median %.1f %%, p90 %.1f %%, max %.1f %% of the time left (%d estimates)",
			junk.name, quantile(moves[ji], 0.5), quantile(moves[ji], 0.9), quantile(moves[ji], 1), len(moves[ji]))
	}
	t.Logf("ETA moved by junk where 15 or more of the latest 20 successes were junk (the history's own burst just before): %d estimates", mostlyJunk)

	if withJunk.none > 0 || clean.none > 0 {
		t.Errorf("%d and %d estimates null, want none", withJunk.none, clean.none)
	}
	// Junk in the history does not move the ETA: the same histories
	// without it give the same, but a few estimates in a hundred.
	if p90 := quantile(apart, 0.9); p90 > 1 {
		t.Errorf("the history's junk moved the ETA by %.1f %% of the time left at p90, want ≤ 1 %%", p90)
	}
	for ji, junk := range etaJunks {
		if p90 := quantile(moves[ji], 0.9); p90 > 1 {
			t.Errorf("%s moved the ETA by %.1f %% of the time left at p90, want ≤ 1 %%", junk.name, p90)
		}
	}
	// Against the truth and the actual finish. The noise of the
	// deployment itself (25 % a step) is most of the error against the
	// finish: the truth's own is that far off too.
	if p90 := quantile(withJunk.truthPercent, 0.9); p90 > 6 {
		t.Errorf("ETA off the truth by %.1f %% of the expected duration at p90, want ≤ 6 %%", p90)
	}
	if p90 := quantile(withJunk.durPercent, 0.9); p90 > 18 {
		t.Errorf("expected duration off the actual one by %.1f %% at p90, want ≤ 18 %%", p90)
	}
	if in := float64(withJunk.within25) / float64(len(withJunk.errSeconds)); in < 0.65 {
		t.Errorf("the actual finish within ±25 %% of the time left of the expected one in %.0f %% of the estimates, want ≥ 65 %%", 100*in)
	}
}

// latestJunk is how many of the latest 20 successes of g at now are junk:
// not real deployments, whose versions are 1.i.0.
func latestJunk(all []*model.Deployment, g model.ETAGroup, now time.Time) int {
	n := 0
	h := etaHistory(all, g, now)
	for _, d := range h[:min(20, len(h))] {
		if _, ok := realIndex(d.Version); !ok {
			n++
		}
	}
	return n
}
