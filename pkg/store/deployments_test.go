package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/etatest"
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
				f := model.DeploymentFilter{Filter: model.Filter{Limit: 2, Order: order}}
				got := listPages(t, s, f, rules, now, func(d *model.Deployment) string {
					return fmt.Sprintf("%s/%s/%s#%d", d.Component, d.Version, d.Environment, d.Attempt)
				})
				var expect []string
				for _, w := range want {
					expect = append(expect, fmt.Sprintf("%s/%s/%s#%d", w.component, w.version, w.env, w.attempt))
				}
				if order == model.OrderDesc {
					slices.Reverse(expect)
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
		got := listPages(t, s, model.DeploymentFilter{}, model.DefaultDeploymentRules(), t0.Add(time.Hour), func(d *model.Deployment) string {
			return fmt.Sprintf("%s#%d:%d steps", d.Component, d.Attempt, len(d.Steps))
		})
		if fmt.Sprint(got) != "[pad#1:3 steps]" {
			t.Errorf("deployments %v, want one of three steps", got)
		}
	})
}

// seedBuilds stores n deployments of api to prod, versions 1.0 to 1.n-1,
// a minute apart, each a build and, lasting(i) later, finished.
func seedBuilds(t *testing.T, s *store.Store, n int, now time.Time, lasting func(i int) time.Duration) {
	t.Helper()
	var batch []model.StepInput
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Minute)
		v := fmt.Sprintf("1.%d", i)
		batch = append(batch,
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "build", Environment: "prod", Time: at},
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "finished", Environment: "prod", Time: at.Add(lasting(i))})
	}
	if _, _, err := s.CreateSteps(context.Background(), batch, model.RecordMeta{ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// A history of hundreds of deployments comes back whole and in order, and
// an error from the callback stops the read and is returned as it was.
func TestDeploymentsReadWholeOrStopped(t *testing.T) {
	const n = 700
	now := t0.Add(48 * time.Hour)
	rules := model.DefaultDeploymentRules()
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		seedBuilds(t, s, n, now, func(i int) time.Duration { return time.Duration(i%7+1) * time.Second })
		var listed []string
		if _, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			if want := float64(len(listed)%7 + 1); d.DurationSeconds != want {
				t.Errorf("%s lasted %v s, want %v", d.Version, d.DurationSeconds, want)
			}
			listed = append(listed, d.Version)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(listed) != n || listed[0] != "1.0" || listed[300] != "1.300" || listed[n-1] != fmt.Sprintf("1.%d", n-1) {
			t.Fatalf("%d deployments listed, want %d in time order: %v…", len(listed), n, listed[:min(3, len(listed))])
		}
		stop := fmt.Errorf("enough")
		seen := 0
		err := s.EachDeployment(ctx, model.DeploymentFilter{}, rules, now, func(*model.Deployment) error {
			if seen++; seen == 300 {
				return stop
			}
			return nil
		})
		if err != stop || seen != 300 {
			t.Errorf("stopped after %d with %v, want after 300 with %v", seen, err, stop)
		}
		// The store still answers: the stopped read let go of its rows.
		page, err := s.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 5}}, rules, now, func(*model.Deployment) error { return nil })
		if err != nil || page == nil {
			t.Errorf("a page after the stopped read: next %v, %v", page, err)
		}
	})
}

// The ETA's history comes from the store: the crafted history of
// internal/etatest, recorded, gives the ETAs computed by hand.
func TestRecentSuccessesGiveHandComputedETAs(t *testing.T) {
	rules := model.DefaultDeploymentRules()
	now := etatest.Now
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		for _, in := range etatest.Steps() {
			mustCreate(t, s, in, now)
		}
		history := map[model.ETAGroup][]*model.Deployment{}
		for _, w := range etatest.Wants() {
			d, err := s.FindDeployment(ctx, model.DeploymentKey{Component: w.Component, Version: w.Version, Environment: w.Environment, Attempt: 1}, rules, now)
			if err != nil {
				t.Fatal(err)
			}
			h, ok := history[d.Group()]
			if !ok {
				if h, err = s.RecentSuccesses(ctx, d.Group(), rules, now); err != nil {
					t.Fatal(err)
				}
				history[d.Group()] = h
			}
			d.SetETA(model.ETAPast(h, d.Group()), now)
			if !w.OK {
				if d.ETASeconds != nil {
					t.Errorf("%s %s: eta %v, want null", w.Component, w.Version, *d.ETASeconds)
				}
				continue
			}
			if d.ETASeconds == nil || *d.ETASeconds != w.ETASeconds || *d.ExpectedDurationSeconds != w.ExpectedDurationSeconds ||
				!d.ExpectedFinishAt.Equal(w.ExpectedFinishAt()) {
				t.Errorf("%s %s: eta %v, expected duration %v, finish %v; want %+v", w.Component, w.Version,
					d.ETASeconds, d.ExpectedDurationSeconds, d.ExpectedFinishAt, w)
			}
		}
		// Successes only, of the group only, newest first: the six and the
		// test deploy, which model.ETAPast leaves out.
		g := model.ETAGroup{Component: "api", Environment: "prod"}
		api := history[g]
		if len(api) != 7 {
			t.Fatalf("api prod history: %d deployments, want the 7 successes", len(api))
		}
		if past := model.ETAPast(api, g); len(past) != 6 || slices.ContainsFunc(past, func(d *model.Deployment) bool { return d.Version == "1.t" }) {
			t.Fatalf("model.ETAPast kept %d deployments, want the 6 but the test deploy", len(past))
		}
		for i, d := range api {
			if d.Outcome != model.OutcomeSuccess || d.Environment != "prod" || (i > 0 && !d.StartedAt.Before(api[i-1].StartedAt)) {
				t.Fatalf("history[%d] = %s %s %s %s", i, d.Component, d.Version, d.Environment, d.Outcome)
			}
		}
		// Beyond the lookback, nothing.
		old, err := s.RecentSuccesses(ctx, model.ETAGroup{Component: "api", Environment: "prod"}, rules, now.Add(model.ETALookback+24*time.Hour))
		if err != nil || len(old) != 0 {
			t.Fatalf("history a lookback later: %d deployments, %v; want none", len(old), err)
		}
	})
}

// A read over many deployments builds them in a goroutine of its own (see
// readDeployments). However the read ends, by fn's error, by the caller's
// context, by a damaged row or whole, that goroutine stops and lets go of
// its rows before the read returns, and the deployments before the end
// come in order.
func TestDeploymentReadEndsItsReader(t *testing.T) {
	const n = 2000
	now := t0.Add(96 * time.Hour)
	rules := model.DefaultDeploymentRules()
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		seedBuilds(t, s, n, now, func(int) time.Duration { return time.Second })
		list := func(ctx context.Context, fn func(i int) error) (int, error) {
			seen := 0
			_, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
				if want := fmt.Sprintf("1.%d", seen); d.Version != want {
					t.Fatalf("deployment %d is %s, want %s", seen, d.Version, want)
				}
				seen++
				return fn(seen)
			})
			// The reader has let go of its rows before the read returns:
			// no goroutine is still in readRows, not even for a moment.
			if n, stacks := readersRunning(); n != 0 {
				t.Errorf("%d reading goroutines left after a read:\n%s", n, stacks)
			}
			return seen, err
		}
		// A whole read first: the store's pool and its connections are
		// open before goroutines are counted.
		if seen, err := list(ctx, func(int) error { return nil }); err != nil || seen != n {
			t.Fatalf("read %d of %d deployments, %v", seen, n, err)
		}
		if n, _ := readersRunning(); n != 0 {
			t.Fatalf("%d reading goroutines after a whole read", n)
		}

		stop := errors.New("enough")
		if seen, err := list(ctx, func(i int) error {
			if i == 300 {
				return stop
			}
			return nil
		}); err != stop || seen != 300 {
			t.Errorf("fn's error: stopped after %d with %v, want after 300 with %v", seen, err, stop)
		}

		cctx, cancel := context.WithCancel(ctx)
		if seen, err := list(cctx, func(i int) error {
			if i == 300 {
				cancel()
			}
			return nil
		}); !errors.Is(err, context.Canceled) || seen >= n {
			t.Errorf("cancelled: stopped after %d with %v, want before %d with %v", seen, err, n, context.Canceled)
		}

		if err := store.WriteTx(ctx, s, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE deployments SET phases = 'damaged' WHERE version = '1.1500'")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		seen, err := list(ctx, func(int) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "deployment api 1.1500 prod #1: stored phases") || seen != 1500 {
			t.Errorf("damaged row: stopped after %d with %v, want after 1500 with its error", seen, err)
		}

		// And the connections are back: a page still reads, and a page
		// (an export reads 100 deployments a query) is read in the
		// caller's goroutine, not through the two-goroutine pipe.
		var during []string
		if page, err := s.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 100, Component: "api"}}, rules, now,
			func(*model.Deployment) error {
				stack := make([]byte, 64<<10)
				during = append(during, string(stack[:runtime.Stack(stack, false)]))
				return nil
			}); err != nil || page == nil || len(during) != 100 {
			t.Errorf("a page after the reads: next %v, %d deployments, %v", page, len(during), err)
		}
		for i, stack := range during {
			if strings.Contains(stack, "store.pipeDeployments(") {
				t.Errorf("deployment %d of a page was built beside a reading goroutine:\n%s", i, stack)
				break
			}
		}
	})
}

// readersRunning counts the goroutines in the store's row reader
// (readRows), with their stacks for a failure's message.
func readersRunning() (int, string) {
	var all strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&all, 2); err != nil {
		panic(err)
	}
	var readers []string
	for _, g := range strings.Split(all.String(), "\n\n") {
		if strings.Contains(g, "store.readRows(") {
			readers = append(readers, g)
		}
	}
	return len(readers), strings.Join(readers, "\n\n")
}

// A read that reuses its memory (EachDeploymentPassing) gives each
// deployment as EachDeployment does, whatever the one before it in the
// same memory was: longer or shorter, finished or not, with a revision
// or without.
func TestPassingReadGivesTheSameDeployments(t *testing.T) {
	const n = 500
	now := t0.Add(96 * time.Hour)
	rules := model.DefaultDeploymentRules()
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		var batch []model.StepInput
		for i := range n {
			at := t0.Add(time.Duration(i) * time.Minute)
			in := model.StepInput{Component: "api", Version: fmt.Sprintf("1.%d", i), Owner: "ana", Environment: "prod"}
			if i%3 == 0 {
				in.Revision = fmt.Sprintf("r%d", i)
				in.CommittedAt = at.Add(-time.Hour)
			}
			// One to three steps, then finished, failed or still running.
			statuses := append([]string{"build", "tests", "rollout"}[:1+i*7%3], []string{"finished", "failed", ""}[i%3])
			if statuses[len(statuses)-1] == "" {
				statuses = statuses[:len(statuses)-1]
			}
			for j, st := range statuses {
				in.Status, in.Time = st, at.Add(time.Duration(j*(i%11+1))*time.Second)
				batch = append(batch, in)
			}
		}
		if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: now}); err != nil {
			t.Fatal(err)
		}
		read := func(each func(context.Context, model.DeploymentFilter, model.DeploymentRules, time.Time, func(*model.Deployment) error) error) []string {
			var out []string
			if err := each(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
				line := describe(d) + fmt.Sprintf(" finished=%v", d.FinishedAt)
				for _, p := range d.Steps {
					line += fmt.Sprintf(" idle=%v", p.Idle)
				}
				out = append(out, line)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			sort.Strings(out)
			return out
		}
		want, got := read(s.EachDeployment), read(s.EachDeploymentPassing)
		if len(want) != n {
			t.Fatalf("%d deployments, want %d", len(want), n)
		}
		if !slices.Equal(got, want) {
			t.Errorf("reusing its memory, the read gave:\n%s", diff(got, want))
		}
	})
}
