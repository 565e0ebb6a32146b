package model_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// etaRequestHistory is what the store reads for one component and
// environment: model.ETAScan deployments of five steps, newest first, a
// tenth failing and one in twenty junk (a one-second test deploy), and
// one deployment in progress in its second step.
func etaRequestHistory() (scanned []*model.Deployment, running *model.Deployment, now time.Time) {
	r := rand.New(rand.NewPCG(7, 8))
	rules := model.DefaultDeploymentRules()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []string{"build", "tests", "migrate", "rollout", "finished"}
	mk := func(i int, last string, n int, scale float64) *model.Deployment {
		s := start.Add(time.Duration(i) * time.Hour)
		d := &model.Deployment{Component: "api", Version: "v" + string(rune('a'+i%26)) + time.Duration(i).String(), Environment: "production",
			Attempt: 1, Owner: "ana", StartedAt: s}
		t := s
		for k := range n {
			st := steps[k]
			if k == n-1 && last != "" {
				st = last
			}
			d.Steps = append(d.Steps, model.Phase{ID: int64(i*10 + k), Status: st, Time: t})
			t = t.Add(time.Duration(scale * float64(60+r.IntN(120)) * float64(time.Second)))
		}
		return d
	}
	now = start.Add(time.Duration(model.ETAScan)*time.Hour + 3*time.Minute)
	for i := model.ETAScan - 1; i >= 0; i-- {
		var d *model.Deployment
		switch {
		case r.IntN(10) == 0:
			d = mk(i, "failed", 4, 1)
		case r.IntN(20) == 0:
			d = mk(i, "", 5, 0.005)
		default:
			d = mk(i, "", 5, 1)
		}
		d.Complete(rules.Outcome, now, time.Hour)
		scanned = append(scanned, d)
	}
	running = mk(model.ETAScan, "", 2, 1)
	running.Complete(rules.Outcome, now, time.Hour)
	return scanned, running, now
}

// successes are the successful ones among scanned, at most n (0: all).
func successes(scanned []*model.Deployment, n int) []*model.Deployment {
	var out []*model.Deployment
	for _, d := range scanned {
		if d.Outcome == model.OutcomeSuccess && (n == 0 || len(out) < n) {
			out = append(out, d)
		}
	}
	return out
}

// BenchmarkETARequest is the ETA work of one request for one component
// and environment, as pkg/server does it: the successes the store
// returns judged once (model.ETAPast), then one running deployment's
// ETA from what is kept.
func BenchmarkETARequest(b *testing.B) {
	scanned, running, now := etaRequestHistory()
	h := successes(scanned, 0)
	b.ReportAllocs()
	for b.Loop() {
		running.SetETA(model.ETAPast(h, running.Group()), now)
		if running.ETASeconds == nil {
			b.Fatal("no ETA")
		}
	}
}
