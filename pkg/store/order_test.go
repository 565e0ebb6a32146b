package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// commitVersion is a version named like a commit: versions in time order
// are in no order as text, as in a table whose key starts with them.
func commitVersion(i int) string {
	return fmt.Sprintf("%x", sha256.Sum256(fmt.Append(nil, i)))[:12]
}

// seedSeries stores n deployments of component in each environment, one an
// hour, each a build and a finish whose duration wanders; version(i) names
// the i-th.
func seedSeries(t testing.TB, s *store.Store, component string, envs []string, n int, version func(int) string) {
	t.Helper()
	batch := make([]model.StepInput, 0, store.MaxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, _, err := s.CreateSteps(context.Background(), batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		for e, env := range envs {
			start := t0.Add(time.Duration(i)*time.Hour + time.Duration(e)*time.Minute)
			took := time.Duration(60+i%17*7+e) * time.Second
			batch = append(batch,
				model.StepInput{Component: component, Version: version(i), Owner: "ana", Environment: env, Status: "build", Time: start},
				model.StepInput{Component: component, Version: version(i), Owner: "ana", Environment: env, Status: "finished", Time: start.Add(took)})
			if len(batch)+2 > cap(batch) {
				flush()
			}
		}
	}
	flush()
}

// TestEachDeploymentGivesEachSeriesInStartOrder: whatever the filter,
// EachDeployment hands each series (component and environment) over in
// start order, however its versions sort as text (1.10 before 1.9, commit
// hashes): the analysis of stats and the page keeps a long series in
// bounded memory only then.
func TestEachDeploymentGivesEachSeriesInStartOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		const n = 120
		seedSeries(t, s, "api", []string{"prod", "staging"}, n, func(i int) string { return fmt.Sprintf("1.%d", i) })
		seedSeries(t, s, "web", []string{"prod", "staging"}, n, commitVersion)
		rules := model.DefaultDeploymentRules()
		now := t0.Add(n * time.Hour)
		for _, f := range []model.Filter{
			{},
			{Component: "api"},
			{Component: "web", Environment: "prod"},
			{Environment: "staging"},
			{Owner: "ana"},
			{Since: t0.Add(10 * time.Hour)},
			{Since: t0.Add(10 * time.Hour), Until: t0.Add(100 * time.Hour)},
			{Since: t0.Add(50 * time.Hour), Until: t0.Add(70 * time.Hour)}, // narrow: by start
			{Component: "web", Since: t0.Add(10 * time.Hour)},
		} {
			last := map[string]time.Time{}
			count, late := 0, 0
			err := s.EachDeployment(ctx, model.DeploymentFilter{Filter: f}, rules, now, func(d *model.Deployment) error {
				key := d.Component + " " + d.Environment
				if d.StartedAt.Before(last[key]) {
					late++
				}
				last[key] = d.StartedAt
				count++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if count == 0 || late > 0 {
				t.Errorf("filter %+v: %d of %d deployments came before one of their series that started later", f, late, count)
			}
		}
	})
}

// TestStatsOverALongSeriesStayBounded: stats over a long series read
// through EachDeployment keep about as much memory as when the same
// deployments are handed over in start order, which the analysis reduces
// to a bounded summary; handed over in another order (as the table's key
// gives them), it keeps every deployment, three times as much here.
func TestStatsOverALongSeriesStayBounded(t *testing.T) {
	skipVolumeUnderRace(t, "seeds 40,000 steps")
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		const n = 20_000
		seedSeries(t, s, "api", []string{"prod"}, n, commitVersion)
		rules := model.DefaultDeploymentRules()
		now := t0.Add(n * time.Hour)
		var inOrder []*model.Deployment
		if _, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			inOrder = append(inOrder, d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// kept is the memory stats keep once every deployment is added.
		kept := func(each func(func(*model.Deployment) error) error) uint64 {
			opts := model.StatsOptions{Bucket: model.BucketMonth}
			if err := opts.Validate(); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			acc := model.NewStatsAccumulator(opts)
			if err := each(func(d *model.Deployment) error { acc.Add(d); return nil }); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// What each hands over is not counted: it stays.
			runtime.KeepAlive(each)
			if st := acc.Result(); st.Deployments != n {
				t.Fatalf("stats over %d deployments, want %d", st.Deployments, n)
			}
			return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
		}
		bounded := kept(func(fn func(*model.Deployment) error) error {
			for _, d := range inOrder {
				if err := fn(d); err != nil {
					return err
				}
			}
			return nil
		})
		read := kept(func(fn func(*model.Deployment) error) error {
			return s.EachDeployment(ctx, model.DeploymentFilter{}, rules, now, fn)
		})
		t.Logf("stats over %d deployments keep %d bytes read through EachDeployment, %d given in start order", n, read, bounded)
		if read > bounded*3/2 {
			t.Errorf("stats over %d deployments of one series keep %d bytes read through EachDeployment, %d given in start order: it keeps them all",
				n, read, bounded)
		}
	})
}
