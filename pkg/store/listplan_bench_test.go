package store_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// BenchmarkNarrowLists times the lists whose answer does not grow with the
// history: a page of one component's steps, the deployments of one
// component and version, and of one version alone (20 components). Run it at two sizes and compare: each op should
// cost the same (STEPS_BENCH_VERSIONS, default 200: 20 components, five
// steps each, 20,000 steps; 2000 makes 200,000).
//
//	STEPS_BENCH_VERSIONS=2000 go test ./pkg/store -run '^$' -bench NarrowLists
func BenchmarkNarrowLists(b *testing.B) {
	versions := 200
	if v, err := strconv.Atoi(os.Getenv("STEPS_BENCH_VERSIONS")); err == nil && v > 0 {
		versions = v
	}
	at := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testdb.SQLite}, {"mysql", testdb.MySQL}} {
		b.Run("db="+db.name, func(b *testing.B) {
			s := testdb.Open(b, db.dsn(b))
			seedComponents(b, s, 20, versions, at)
			version := fmt.Sprintf("1.%d.0", versions/10) // early in the history
			b.Run("steps-of-a-component", func(b *testing.B) {
				f := model.Filter{Component: "c03", Limit: 100, Order: model.OrderDesc}
				for b.Loop() {
					n := 0
					if _, err := s.ListSteps(b.Context(), f, func(model.Step) error { n++; return nil }); err != nil || n != 100 {
						b.Fatalf("%d steps, %v", n, err)
					}
				}
			})
			b.Run("deployments-of-a-version", func(b *testing.B) {
				f := model.DeploymentFilter{Filter: model.Filter{Component: "c03", Version: version, Limit: 20, Order: model.OrderDesc}}
				for b.Loop() {
					n := 0
					if _, err := s.ListDeployments(b.Context(), f, model.DefaultDeploymentRules(), at, func(*model.Deployment) error { n++; return nil }); err != nil || n != 1 {
						b.Fatalf("%d deployments, %v", n, err)
					}
				}
			})
			b.Run("deployments-of-a-version-alone", func(b *testing.B) {
				f := model.DeploymentFilter{Filter: model.Filter{Version: version, Limit: 20, Order: model.OrderDesc}}
				for b.Loop() {
					n := 0
					if _, err := s.ListDeployments(b.Context(), f, model.DefaultDeploymentRules(), at, func(*model.Deployment) error { n++; return nil }); err != nil || n != 20 {
						b.Fatalf("%d deployments, %v", n, err)
					}
				}
			})
		})
	}
}
