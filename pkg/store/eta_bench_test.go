package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/history"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkRecentSuccesses is the history one ETA group costs a request:
// one query on a year of deploys (20 a day per component), which reads at
// most model.ETAScan of them however long the history.
func BenchmarkRecentSuccesses(b *testing.B) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	s := testdb.Open(b, testdb.SQLite(b))
	history.Seed(b, s, history.Spec{End: end, Days: 365, PerDay: 20, Components: []string{"api", "web", "worker"}})
	var d *model.Deployment
	if _, err := s.ListDeployments(context.Background(), model.DeploymentFilter{Filter: model.Filter{Component: "api", Limit: 1}},
		model.DefaultDeploymentRules(), end, func(x *model.Deployment) error { d = x; return nil }); err != nil || d == nil {
		b.Fatalf("no api deployment: %v", err)
	}
	rules := model.DefaultDeploymentRules()
	b.ReportAllocs()
	for b.Loop() {
		h, err := s.RecentSuccesses(context.Background(), d.Group(), rules, end)
		if err != nil || len(h) < model.ETAHistory || len(h) > model.ETAScan {
			b.Fatalf("%d deployments, %v", len(h), err)
		}
	}
}
