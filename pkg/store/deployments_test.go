package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

type sentStep struct {
	component, version, env, status string
	at                              time.Duration // after t0
}

type wantDeployment struct {
	component, version, env string
	attempt                 int
	statuses                []string
	phases                  []float64 // seconds; the last phase has none
	total                   float64
	outcome                 string
	stuck                   bool
}

func TestDeployments(t *testing.T) {
	now := t0.Add(10 * time.Hour)
	rules := model.DefaultDeploymentRules()
	sent := []sentStep{
		// A four-step deploy that succeeds.
		{"api", "1.0", "prod", "build", 0},
		{"api", "1.0", "prod", "tests", 2 * time.Minute},
		{"api", "1.0", "prod", "rollout", 5 * time.Minute},
		{"api", "1.0", "prod", "Finished", 8*time.Minute + 500*time.Millisecond},
		// A failed deploy.
		{"web", "7", "prod", "build", time.Hour},
		{"web", "7", "prod", "failed", time.Hour + 90*time.Second},
		// The same version deployed again: a second attempt.
		{"web", "7", "prod", "build", 2 * time.Hour},
		{"web", "7", "prod", "done", 2*time.Hour + time.Minute},
		// The same version to another environment is another deployment.
		{"web", "7", "staging", "build", 30 * time.Minute},
		{"web", "7", "staging", "success", 31 * time.Minute},
		// Sent out of order, with explicit times: ordered by time.
		{"db", "3", "prod", "finished", 3*time.Hour + 10*time.Minute},
		{"db", "3", "prod", "build", 3 * time.Hour},
		{"db", "3", "prod", "migrate", 3*time.Hour + 4*time.Minute},
		// In progress, recent: not stuck.
		{"api", "2.0", "prod", "build", 9*time.Hour + 50*time.Minute},
		{"api", "2.0", "prod", "tests", 9*time.Hour + 55*time.Minute},
		// In progress with no step for over an hour: stuck.
		{"queue", "5", "prod", "rollout", 7 * time.Hour},
	}
	want := []wantDeployment{
		{"api", "1.0", "prod", 1, []string{"build", "tests", "rollout", "Finished"}, []float64{120, 180, 180.5}, 480.5, model.OutcomeSuccess, false},
		{"web", "7", "staging", 1, []string{"build", "success"}, []float64{60}, 60, model.OutcomeSuccess, false},
		{"web", "7", "prod", 1, []string{"build", "failed"}, []float64{90}, 90, model.OutcomeFailure, false},
		{"web", "7", "prod", 2, []string{"build", "done"}, []float64{60}, 60, model.OutcomeSuccess, false},
		{"db", "3", "prod", 1, []string{"build", "migrate", "finished"}, []float64{240, 360}, 600, model.OutcomeSuccess, false},
		{"queue", "5", "prod", 1, []string{"rollout"}, nil, 3 * 3600, model.OutcomeInProgress, true},
		{"api", "2.0", "prod", 1, []string{"build", "tests"}, []float64{300}, 600, model.OutcomeInProgress, false},
	}

	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		for _, st := range sent {
			mustCreate(t, s, model.StepInput{Component: st.component, Version: st.version, Owner: "ana", Status: st.status,
				Environment: st.env, Time: t0.Add(st.at)}, now)
		}

		var listed []*model.Deployment
		next, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			listed = append(listed, d)
			return nil
		})
		if err != nil || next != nil {
			t.Fatalf("ListDeployments: %v, next %v", err, next)
		}
		checkDeployments(t, listed, want)

		// The unordered pass finds the same deployments.
		var each []*model.Deployment
		if err := s.EachDeployment(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			each = append(each, d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sort.Slice(each, func(i, j int) bool { return each[i].StartedAt.Before(each[j].StartedAt) })
		checkDeployments(t, each, want)

		t.Run("Filters", func(t *testing.T) {
			count := func(f model.DeploymentFilter) int {
				n := 0
				if _, err := s.ListDeployments(ctx, f, rules, now, func(*model.Deployment) error { n++; return nil }); err != nil {
					t.Fatal(err)
				}
				return n
			}
			tests := []struct {
				name string
				f    model.Filter
				want int
			}{
				{"component", model.Filter{Component: "web"}, 3},
				{"component and environment", model.Filter{Component: "web", Environment: "prod"}, 2},
				{"version", model.Filter{Version: "1.0"}, 1},
				{"status: any step", model.Filter{Status: "failed"}, 1},
				{"owner", model.Filter{Owner: "ana"}, 7},
				{"owner nobody", model.Filter{Owner: "bob"}, 0},
				{"since bounds the start", model.Filter{Since: t0.Add(time.Hour + time.Second)}, 4},
				{"until bounds the start", model.Filter{Until: t0.Add(time.Hour)}, 3},
			}
			for _, tt := range tests {
				if got := count(model.DeploymentFilter{Filter: tt.f}); got != tt.want {
					t.Errorf("%s: %d deployments, want %d", tt.name, got, tt.want)
				}
			}
		})

		t.Run("PagesInBothOrders", func(t *testing.T) {
			for _, order := range []string{model.OrderAsc, model.OrderDesc} {
				var got []string
				f := model.DeploymentFilter{Filter: model.Filter{Limit: 2, Order: order}}
				for pages := 0; pages < 10; pages++ {
					next, err := s.ListDeployments(ctx, f, rules, now, func(d *model.Deployment) error {
						got = append(got, fmt.Sprintf("%s/%s/%s#%d", d.Component, d.Version, d.Environment, d.Attempt))
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if next == nil {
						break
					}
					f.After = next
				}
				var expect []string
				for _, w := range want {
					expect = append(expect, fmt.Sprintf("%s/%s/%s#%d", w.component, w.version, w.env, w.attempt))
				}
				if order == model.OrderDesc {
					for i, j := 0, len(expect)-1; i < j; i, j = i+1, j-1 {
						expect[i], expect[j] = expect[j], expect[i]
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(expect) {
					t.Errorf("%s pages: %v\nwant %v", order, got, expect)
				}
			}
		})
	})
}

func checkDeployments(t *testing.T, got []*model.Deployment, want []wantDeployment) {
	t.Helper()
	if len(got) != len(want) {
		for _, d := range got {
			t.Logf("got %s %s %s #%d %d steps", d.Component, d.Version, d.Environment, d.Attempt, len(d.Steps))
		}
		t.Fatalf("%d deployments, want %d", len(got), len(want))
	}
	for i, w := range want {
		d := got[i]
		name := fmt.Sprintf("deployment %d (%s %s #%d)", i, w.component, w.version, w.attempt)
		if d.Component != w.component || d.Version != w.version || d.Environment != w.env || d.Attempt != w.attempt {
			t.Errorf("%s: got %s %s #%d", name, d.Component, d.Version, d.Attempt)
			continue
		}
		if d.Outcome != w.outcome || d.Stuck != w.stuck || d.DurationSeconds != w.total {
			t.Errorf("%s: outcome %s stuck %v total %v; want %s %v %v", name, d.Outcome, d.Stuck, d.DurationSeconds, w.outcome, w.stuck, w.total)
		}
		if (d.FinishedAt == nil) != (w.outcome == model.OutcomeInProgress) {
			t.Errorf("%s: finished_at %v with outcome %s", name, d.FinishedAt, d.Outcome)
		}
		if len(d.Steps) != len(w.statuses) {
			t.Errorf("%s: %d steps, want %d", name, len(d.Steps), len(w.statuses))
			continue
		}
		for j, p := range d.Steps {
			if p.Status != w.statuses[j] {
				t.Errorf("%s: step %d is %q, want %q", name, j, p.Status, w.statuses[j])
			}
			last := j == len(d.Steps)-1
			switch {
			case last && p.DurationSeconds != nil:
				t.Errorf("%s: last step has duration %v, want none", name, *p.DurationSeconds)
			case !last && (p.DurationSeconds == nil || *p.DurationSeconds != w.phases[j]):
				t.Errorf("%s: phase %d lasts %v, want %v", name, j, p.DurationSeconds, w.phases[j])
			}
		}
	}
}

// TestDerivedDeploymentsMatchTheSteps checks the derived columns that
// lists read (see derive.go) against deployments built from the steps
// alone. Two stores on the same database stand for two stepsd replicas:
// they write concurrently, steps arrive out of time order (late steps land
// inside deployments already derived and must renumber what follows), both
// derive while the other writes, and the terminal statuses change between
// checks. Every page of every list must then match the steps, in both
// orders and with every filter.
func TestDerivedDeploymentsMatchTheSteps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		a, b := testdb.Open(t, dsn), testdb.Open(t, dsn)
		rules := model.DefaultDeploymentRules()
		now := t0.Add(6 * time.Hour)

		rng := rand.New(rand.NewPCG(3, 4))
		statuses := []string{"build", "tests", "rollout", "rollout", "finished", "failed", "Done"}
		var ins []model.StepInput
		for range 400 {
			ins = append(ins, model.StepInput{
				Component:   []string{"api", "web", "db", "Api"}[rng.IntN(4)],
				Version:     fmt.Sprintf("1.%d", rng.IntN(8)),
				Environment: []string{"prod", "staging", ""}[rng.IntN(3)],
				Owner:       []string{"ana", "bob"}[rng.IntN(2)],
				Status:      statuses[rng.IntN(len(statuses))],
				// Minutes collide often, so deployments tie on their start.
				Time: t0.Add(time.Duration(rng.IntN(300)) * time.Minute),
			})
		}
		for round := range 4 {
			part := ins[round*100 : (round+1)*100]
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			wg.Go(func() { // replica a: one step per request
				for _, in := range part[:50] {
					if _, _, err := a.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: now}); err != nil {
						errs <- err
						return
					}
				}
			})
			wg.Go(func() { // replica b: batches
				for i := 50; i < 100; i += 7 {
					if _, _, err := b.CreateSteps(ctx, part[i:min(i+7, 100)], model.RecordMeta{ReceivedAt: now}); err != nil {
						errs <- err
						return
					}
				}
			})
			for _, s := range []*store.Store{a, b} {
				wg.Go(func() { // both derive while the other writes
					for range 5 {
						if _, err := s.DeriveDeployments(ctx, rules); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			checkDerivedPages(t, a, rules, now)
		}
		checkDerivedPages(t, b, rules, now)

		// "rollout" becomes terminal: deployments split, and join again
		// when it stops being terminal.
		other := rules
		other.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
		checkDerivedPages(t, b, other, now)
		checkDerivedPages(t, a, rules, now)
	})
}

// checkDerivedPages lists deployments page by page with several filters
// and page sizes and compares them with those built from the steps.
func checkDerivedPages(t *testing.T, s *store.Store, rules model.DeploymentRules, now time.Time) {
	t.Helper()
	ctx := context.Background()
	line := func(d *model.Deployment) string {
		return fmt.Sprintf("%s %s/%s/%s#%d %s %d %s %.1f", d.StartedAt.Format(time.RFC3339), d.Component, d.Version, d.Environment,
			d.Attempt, d.Owner, len(d.Steps), d.Outcome, d.DurationSeconds)
	}
	for _, limit := range []int{0, 1, 7, 500} {
		for _, flt := range []model.Filter{
			{}, {Order: model.OrderDesc}, {Owner: "ana"}, {Status: "failed", Order: model.OrderDesc},
			{Component: "api", Since: t0.Add(time.Hour), Until: t0.Add(4 * time.Hour)},
			{Component: "web", Version: "1.3", Environment: "prod", Order: model.OrderDesc},
		} {
			// What the steps say, from the pass that numbers attempts itself.
			var all []*model.Deployment
			if err := s.EachDeployment(ctx, model.DeploymentFilter{Filter: flt}, rules, now, func(d *model.Deployment) error {
				all = append(all, d)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			sort.Slice(all, func(i, j int) bool {
				c := all[i].Key().Compare(all[j].Key())
				if flt.Order == model.OrderDesc {
					return c > 0
				}
				return c < 0
			})
			var want []string
			for i, d := range all {
				want = append(want, line(d))
				if limit > 0 && (i+1)%limit == 0 && i+1 < len(all) {
					want = append(want, "next="+d.Key().String())
				}
			}

			flt.Limit = limit
			f := model.DeploymentFilter{Filter: flt}
			var got []string
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatal("pages do not end")
				}
				next, err := s.ListDeployments(ctx, f, rules, now, func(d *model.Deployment) error {
					got = append(got, line(d))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if next == nil {
					break
				}
				got = append(got, "next="+next.String())
				f.After = next
			}
			if len(all) == 0 && flt.Owner == "" {
				t.Errorf("filter %+v finds no deployment: the test proves nothing", flt)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("limit %d, filter %+v:\nlisted\n%s\nbuilt from the steps\n%s", limit, flt, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
}

// TestWritesAreDerivedInTheBackground: with the background deriver
// running, steps become listable without a list having to derive them,
// and the deriver stops with its context.
func TestWritesAreDerivedInTheBackground(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			s.KeepDeploymentsDerived(ctx, model.DefaultDeploymentRules(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		}()
		for i := range 30 {
			mustCreate(t, s, model.StepInput{Component: "api", Version: fmt.Sprint(i / 3), Owner: "ana",
				Status: []string{"build", "rollout", "finished"}[i%3], Time: t0.Add(time.Duration(i) * time.Minute)}, t0)
		}
		if _, _, err := s.CreateSteps(context.Background(), []model.StepInput{
			{Component: "web", Version: "1", Owner: "bob", Status: "build", Time: t0},
			{Component: "web", Version: "1", Owner: "bob", Status: "done", Time: t0.Add(time.Minute)},
		}, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := s.Underived(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d steps still underived after 30 s", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("the deriver did not stop with its context")
		}
	})
}

// TestBatchesInTimeOrderAreDerivedOnInsert: an import of history, steps in
// time order in batches, is numbered as it is inserted — nothing is left
// for the deriver — and lists the same deployments as the steps build.
func TestBatchesInTimeOrderAreDerivedOnInsert(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		rules := model.DefaultDeploymentRules()
		if _, err := s.DeriveDeployments(ctx, rules); err != nil { // records the rules
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		statuses := []string{"build", "tests", "rollout", "finished", "failed", "Done"}
		var ins []model.StepInput
		for i := range 300 {
			ins = append(ins, model.StepInput{
				Component:   []string{"api", "web"}[rng.IntN(2)],
				Version:     fmt.Sprintf("1.%d", rng.IntN(5)),
				Environment: "prod",
				Owner:       "ana",
				Status:      statuses[rng.IntN(len(statuses))],
				Time:        t0.Add(time.Duration(i/2) * time.Minute), // pairs tie
			})
		}
		for i := 0; i < len(ins); i += 40 {
			if _, _, err := s.CreateSteps(ctx, ins[i:min(i+40, len(ins))], model.RecordMeta{ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Underived(ctx); err != nil || n != 0 {
				t.Fatalf("after a batch in time order: %d steps underived (%v), want 0", n, err)
			}
		}
		checkDerivedPages(t, s, rules, t0.Add(4*time.Hour))
	})
}

// BenchmarkDeriveHistory measures numbering a whole history at once, as
// after the upgrade that adds the derived columns or a change of terminal
// statuses: STEPS_BENCH_ROWS steps (default 100,000), five a deploy.
//
//	STEPS_BENCH_ROWS=1000000 go test ./pkg/store -run '^$' -bench DeriveHistory -benchtime 1x
func BenchmarkDeriveHistory(b *testing.B) {
	rows := testdb.BenchRows(b, 100_000)
	dbs := testdb.Benched()
	statuses := []string{"build", "tests", "migrate", "rollout", "finished"}
	for name, fresh := range dbs {
		b.Run(fmt.Sprintf("db=%s/rows=%d", name, rows), func(b *testing.B) {
			ctx := context.Background()
			s := testdb.Open(b, fresh(b))
			batch := make([]model.StepInput, 0, store.MaxBatch)
			for i := range rows {
				batch = append(batch, model.StepInput{Component: fmt.Sprintf("component-%d", (i/5)%5), Version: fmt.Sprintf("1.%d.0", i/25),
					Owner: "deploy-bot", Status: statuses[i%5], Environment: "production", Time: t0.Add(time.Duration(i) * time.Minute)})
				if len(batch) == cap(batch) || i == rows-1 {
					if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			rules := model.DefaultDeploymentRules()
			for i := 0; b.Loop(); i++ {
				// Alternate the terminal statuses so that every round
				// numbers the whole history again.
				r := rules
				if i%2 == 1 {
					r.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
				}
				n, err := s.DeriveDeployments(ctx, r)
				if err != nil || n != rows {
					b.Fatalf("derived %d of %d steps: %v", n, rows, err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}

// TestUnpackRefusesWhatItCannotSplitExactly: SQLite rows of deployments
// come as texts joined by U+001F; a stored value holding one (written
// around stepsd's validation) must fail the list, not shift the fields.
func TestUnpackRefusesWhatItCannotSplitExactly(t *testing.T) {
	parts := make([]sql.RawBytes, 3)
	if err := store.Unpack([]byte("api\x1f1.0\x1fprod"), parts); err != nil || string(parts[0]) != "api" || string(parts[1]) != "1.0" || string(parts[2]) != "prod" {
		t.Errorf("three parts: %q, %v", parts, err)
	}
	if err := store.Unpack([]byte("api\x1f\x1f"), parts); err != nil || string(parts[1]) != "" || string(parts[2]) != "" {
		t.Errorf("empty parts: %q, %v", parts, err)
	}
	for _, bad := range []string{"api\x1f1.0", "api", "api\x1f1.0\x1fprod\x1fextra"} {
		if err := store.Unpack([]byte(bad), parts); err == nil {
			t.Errorf("%q split into %q without an error", bad, parts)
		}
	}
}

// TestListsAnswerUnavailableWhileHistoryIsNumbered: a list derives a
// bounded number of steps itself and waits a bounded time for a deriver
// elsewhere; past either it answers EUNAVAILABLE (503) at once, saying how
// many steps are left, instead of hanging until the client gives up. Lists
// that keep coming finish the job, a chunk at a time, with the same result
// as deriving in one go — also when the terminal statuses change.
func TestListsAnswerUnavailableWhileHistoryIsNumbered(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		s, other := testdb.Open(t, dsn), testdb.Open(t, dsn)
		store.SetDeriveLimits(s, 200*time.Millisecond, 50, 30)
		rules := model.DefaultDeploymentRules()
		now := t0.Add(6 * time.Hour)
		rng := rand.New(rand.NewPCG(7, 8))
		var ins []model.StepInput
		for range 300 {
			ins = append(ins, model.StepInput{Component: []string{"api", "web"}[rng.IntN(2)], Version: fmt.Sprintf("1.%d", rng.IntN(10)),
				Environment: "prod", Owner: "ana", Status: []string{"build", "rollout", "finished", "failed"}[rng.IntN(4)], Time: t0.Add(time.Duration(rng.IntN(300)) * time.Minute)})
		}
		// Written before anything was ever derived: the whole history is
		// pending, as after the upgrade.
		if _, _, err := s.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		list := func(r model.DeploymentRules) error {
			_, err := s.ListDeployments(ctx, model.DeploymentFilter{}, r, now, func(*model.Deployment) error { return nil })
			return err
		}
		untilListed := func(r model.DeploymentRules) int {
			for tries := 1; tries <= 50; tries++ {
				err := list(r)
				if err == nil {
					return tries
				}
				if model.ErrorCode(err) != model.EUNAVAILABLE || !strings.Contains(err.Error(), "steps to go") {
					t.Fatalf("list while numbering: %v (code %s)", err, model.ErrorCode(err))
				}
			}
			t.Fatal("lists never finished numbering")
			return 0
		}
		if tries := untilListed(rules); tries < 3 {
			t.Errorf("300 pending steps listed after %d tries with 50 a list: the bound does not hold", tries)
		}
		checkDerivedPages(t, s, rules, now)

		other2 := rules
		other2.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
		if tries := untilListed(other2); tries < 3 {
			t.Errorf("renumbering 300 steps took %d lists with 50 a list: the bound does not hold", tries)
		}
		checkDerivedPages(t, s, other2, now)

		// A deriver elsewhere holds the lock: the list answers within its
		// wait. On SQLite the lock is the process's own.
		holder := other
		if s.Kind() == store.KindSQLite {
			holder = s
		}
		release, err := store.HoldDerivation(ctx, holder)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateSteps(ctx, ins[:1], model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		err = list(other2)
		release()
		if model.ErrorCode(err) != model.EUNAVAILABLE || time.Since(began) > 10*time.Second {
			t.Errorf("list while another deriver runs: %v after %s, want EUNAVAILABLE within the wait", err, time.Since(began))
		}
		untilListed(other2)
	})
}

// TestSurroundingSpacesAreOneDeployment: "pad " and "pad" are the same
// component on MySQL (its collations ignore trailing spaces) and were two
// on SQLite; trimmed on the way in, they are one deployment on both.
func TestSurroundingSpacesAreOneDeployment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		for i, c := range []string{"pad ", " pad", "pad"} {
			st := mustCreate(t, s, model.StepInput{Component: c, Version: "1 ", Owner: "ana", Status: []string{"build", "tests", "finished"}[i],
				Environment: " prod", Time: t0.Add(time.Duration(i) * time.Minute)}, t0)
			if st.Component != "pad" || st.Version != "1" || st.Environment != "prod" {
				t.Errorf("stored %q %q %q, want the values trimmed", st.Component, st.Version, st.Environment)
			}
		}
		var got []string
		if _, err := s.ListDeployments(context.Background(), model.DeploymentFilter{}, model.DefaultDeploymentRules(), t0.Add(time.Hour),
			func(d *model.Deployment) error {
				got = append(got, fmt.Sprintf("%s#%d:%d steps", d.Component, d.Attempt, len(d.Steps)))
				return nil
			}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[pad#1:3 steps]" {
			t.Errorf("deployments %v, want one of three steps", got)
		}
	})
}
