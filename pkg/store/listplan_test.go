package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// seedComponents stores components × versions deployments of five steps,
// one version a day from at, in batches.
func seedComponents(tb testing.TB, s *store.Store, components, versions int, at time.Time) {
	tb.Helper()
	var ins []model.StepInput
	flush := func() {
		if _, _, err := s.CreateSteps(tb.Context(), ins, model.RecordMeta{ReceivedAt: at}); err != nil {
			tb.Fatal(err)
		}
		ins = ins[:0]
	}
	for v := range versions {
		for c := range components {
			t := at.Add(time.Duration(v)*24*time.Hour + time.Duration(c)*time.Minute)
			for i, status := range []string{"build", "tests", "migrate", "rollout", "finished"} {
				ins = append(ins, model.StepInput{Component: fmt.Sprintf("c%02d", c), Version: fmt.Sprintf("1.%d.0", v),
					Owner: "ana", Status: status, Environment: "production", Time: t.Add(time.Duration(i) * time.Second)})
			}
		}
		if len(ins) >= 1000 {
			flush()
		}
	}
	if len(ins) > 0 {
		flush()
	}
}

// TestListOfAComponentSeeksItsTime: a page of one component's steps (the
// whole history, or one week of it) reads the index in time order. Before
// steps_component, the list read every step the component ever had
// through steps_deployment and sorted them for the page: a page cost more
// with each year of history. With a version, steps_deployment holds only
// that version's steps and is the one read.
func TestListOfAComponentSeeksItsTime(t *testing.T) {
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	week := model.Filter{Component: "c03", Since: at.AddDate(0, 0, 30), Until: at.AddDate(0, 0, 37), Limit: 100}
	cases := []struct {
		name        string
		f           model.Filter
		index, sort string // the index the plan names; "" where no sort is wanted
	}{
		{"component", model.Filter{Component: "c03", Limit: 100}, "steps_component", ""},
		{"component, descending", model.Filter{Component: "c03", Limit: 100, Order: "desc"}, "steps_component", ""},
		{"component and a week", week, "steps_component", ""},
		{"component and version", model.Filter{Component: "c03", Version: "1.7.0", Limit: 100}, "steps_deployment", "sorted"},
	}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		seedComponents(t, s, 20, 60, at)
		if s.Kind() == store.KindMySQL {
			if _, err := s.DB().ExecContext(t.Context(), "ANALYZE TABLE steps"); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			query, args := store.ListQuery(s, tc.f)
			explain := "EXPLAIN QUERY PLAN "
			if s.Kind() == store.KindMySQL {
				explain = "EXPLAIN "
			}
			plan := strings.Join(queryRows(t, s.DB(), explain+query, args...), " ")
			sorted := strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "filesort")
			if !strings.Contains(plan, tc.index) || (tc.sort == "" && sorted) {
				t.Errorf("%s: plan %q, want %s read in time order", tc.name, plan, tc.index)
			}
		}
	})
}

// TestDeploymentsOfAVersionSeekThem: the deployments of one version, with
// its component (stepsctl deployments --component C --version V) or alone
// (a release of several components), are read through
// deployments_version, in the list's order. MySQL was made to read
// deployments_start, in start order, from one end of the history to them:
// 2-3 s over a million steps for one deployment.
func TestDeploymentsOfAVersionSeekThem(t *testing.T) {
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		seedComponents(t, s, 20, 60, at)
		explain := "EXPLAIN QUERY PLAN "
		if s.Kind() == store.KindMySQL {
			explain = "EXPLAIN "
		}
		for _, component := range []string{"c03", ""} {
			for _, order := range []string{"", model.OrderDesc} {
				f := model.DeploymentFilter{Filter: model.Filter{Component: component, Version: "1.7.0", Limit: 20, Order: order}}
				query, args := store.ListDeploymentsQuery(s, f)
				plan := strings.Join(queryRows(t, s.DB(), explain+query, args...), " ")
				// SQLite may sort the ties of one start by their last terms
				// ("FOR LAST 2 TERMS"), as it reads: not a sort of them all.
				sorted := strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") || strings.Contains(plan, "filesort")
				if !strings.Contains(plan, "deployments_version") || sorted {
					t.Errorf("component %q, order %q: plan %q, want deployments_version read in order", component, order, plan)
				}
			}
		}
	})
}
