package model_test

import (
	"testing"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkEstimateETA is one ETA from the most history the store gives:
// the successes among model.ETAScan deployments, junk among them. "judge"
// judges the outliers among them (model.ETAPast), as a request does once
// per component and environment; "estimate" is the estimate from what it
// keeps, as for each running deployment.
func BenchmarkEstimateETA(b *testing.B) {
	all, _ := synth.Generate(etaConfig(0, true))
	target := all[len(all)-1]
	for i := len(all) - 1; i >= 0; i-- {
		if _, ok := realIndex(all[i].Version); ok {
			target = all[i]
			break
		}
	}
	d, now, _ := inProgress(target, 1, 0.5)
	h := etaHistory(all, model.ETAGroup{Component: "api", Environment: "production"}, now)
	b.Run("judge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if past := model.ETAPast(h, d.Group()); len(past) != model.ETAHistory {
				b.Fatalf("%d past deployments", len(past))
			}
		}
		b.ReportMetric(float64(len(h)), "history")
	})
	past := model.ETAPast(h, d.Group())
	b.Run("estimate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := model.EstimateETAFrom(d, past, now); !ok {
				b.Fatal("no ETA")
			}
		}
	})
}
