package store_test

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// oracle builds the deployments matching f from the stored steps alone,
// with model.DeploymentBuilder: the rule stated from scratch, which the
// numbering stored by the writes must equal.
func oracle(t *testing.T, s *store.Store, rules model.DeploymentRules, now time.Time, f model.Filter) []*model.Deployment {
	t.Helper()
	steps, _ := mustList(t, s, model.Filter{})
	slices.SortStableFunc(steps, func(a, b model.Step) int {
		return cmp.Or(strings.Compare(a.Component, b.Component), strings.Compare(a.Version, b.Version),
			strings.Compare(a.Environment, b.Environment), a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	var out []*model.Deployment
	df := model.DeploymentFilter{Filter: f}
	b := model.NewDeploymentBuilder(rules, now, func(d *model.Deployment) error {
		if (f.Component == "" || d.Component == f.Component) && (f.Version == "" || d.Version == f.Version) &&
			(f.Environment == "" || d.Environment == f.Environment) && df.Matches(d) {
			out = append(out, d)
		}
		return nil
	})
	for _, st := range steps {
		if err := b.Add(model.DeploymentStep{Step: st}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	// A deployment's revision and commit time: each the latest given on
	// its steps, in the order of its phases (time, then id).
	byID := make(map[int64]model.Step, len(steps))
	for _, st := range steps {
		byID[st.ID] = st
	}
	for _, d := range out {
		for _, p := range d.Steps {
			if st := byID[p.ID]; st.Revision != "" {
				d.Revision = st.Revision
			}
			if st := byID[p.ID]; st.CommittedAt != nil {
				d.CommittedAt = st.CommittedAt
			}
		}
	}
	slices.SortFunc(out, func(a, b *model.Deployment) int {
		c := a.Key().Compare(b.Key())
		if f.Descending() {
			return -c
		}
		return c
	})
	return out
}

// describe is everything a deployment says, on one line.
func describe(d *model.Deployment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s/%s#%d by %s %s %.6f stuck=%v:", d.StartedAt.Format(time.RFC3339Nano), d.Component, d.Version,
		d.Environment, d.Attempt, d.Owner, d.Outcome, d.DurationSeconds, d.Stuck)
	for _, p := range d.Steps {
		fmt.Fprintf(&b, " %d:%s@%s", p.ID, p.Status, p.Time.Format("15:04:05.999999"))
		if p.DurationSeconds != nil {
			fmt.Fprintf(&b, "+%.6f", *p.DurationSeconds)
		}
	}
	if d.Revision != "" {
		fmt.Fprintf(&b, " revision=%s", d.Revision)
	}
	if d.CommittedAt != nil {
		fmt.Fprintf(&b, " committed=%s", d.CommittedAt.Format(time.RFC3339Nano))
	}
	return b.String()
}

// checkAgainstOracle lists deployments page by page, in both orders, with
// several filters and page sizes, and the unordered pass of stats, and
// compares both with the oracle.
func checkAgainstOracle(t *testing.T, s *store.Store, rules model.DeploymentRules, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, flt := range []model.Filter{
		{}, {Order: model.OrderDesc}, {Owner: "ana"}, {Status: "failed", Order: model.OrderDesc},
		{Component: "api", Since: t0.Add(time.Hour), Until: t0.Add(4 * time.Hour)},
		{Component: "web", Version: "1.3", Environment: "prod", Order: model.OrderDesc},
	} {
		var want []string
		for _, d := range oracle(t, s, rules, now, flt) {
			want = append(want, describe(d))
		}
		if len(want) == 0 && flt.Owner == "" {
			t.Errorf("filter %+v finds no deployment: the test proves nothing", flt)
		}
		var each []string
		if err := s.EachDeployment(ctx, model.DeploymentFilter{Filter: flt}, rules, now, func(d *model.Deployment) error {
			each = append(each, describe(d))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if slices.Sort(each); !slices.Equal(each, slices.Sorted(slices.Values(want))) {
			t.Errorf("EachDeployment, filter %+v:\n%s", flt, diff(each, slices.Sorted(slices.Values(want))))
		}
		for _, limit := range []int{0, 1, 7} {
			f := model.DeploymentFilter{Filter: flt}
			f.Limit = limit
			if got := listPages(t, s, f, rules, now, describe); !slices.Equal(got, want) {
				t.Errorf("ListDeployments, limit %d, filter %+v:\n%s", limit, flt, diff(got, want))
			}
		}
	}
}

// listPages lists the deployments of f page after page, each as show
// tells.
func listPages(t *testing.T, s *store.Store, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time,
	show func(*model.Deployment) string) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pages do not end")
		}
		next, err := s.ListDeployments(context.Background(), f, rules, now, func(d *model.Deployment) error {
			got = append(got, show(d))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next == nil {
			return got
		}
		f.After = next
	}
}

// diff shows the lines only one of got and want has.
func diff(got, want []string) string {
	var b strings.Builder
	for _, g := range got {
		if !slices.Contains(want, g) {
			b.WriteString("stored: " + g + "\n")
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			b.WriteString("oracle: " + w + "\n")
		}
	}
	if b.Len() == 0 {
		return "the same deployments in another order"
	}
	return b.String()
}

// TestStoredNumberingMatchesTheOracle: three stores on one database stand
// for three stepsd replicas. They write the same few targets at once, as
// single steps (gathered into group commits), as batches, with late steps
// landing inside numbered deployments and redeploys after terminal
// statuses, while lists run. Every list must answer, and the numbering the
// writes stored must equal the oracle's; after a change of terminal
// statuses, too.
func TestStoredNumberingMatchesTheOracle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		stores := []*store.Store{testdb.Open(t, dsn), testdb.Open(t, dsn), testdb.Open(t, dsn)}
		rules := model.DefaultDeploymentRules()
		now := t0.Add(6 * time.Hour)
		for _, s := range stores { // as each stepsd does at start-up
			if err := s.UseRules(ctx, rules, slog.Default()); err != nil {
				t.Fatal(err)
			}
		}

		rng := rand.New(rand.NewPCG(3, 4))
		statuses := []string{"build", "tests", "rollout", "rollout", "finished", "failed", "Done"}
		input := func(late bool) model.StepInput {
			minute := 0
			if late {
				minute = rng.IntN(300) // anywhere: lands inside numbered deployments
			}
			in := model.StepInput{
				Component:   []string{"api", "web", "Api"}[rng.IntN(3)],
				Version:     fmt.Sprintf("1.%d", rng.IntN(4)),
				Environment: []string{"prod", "staging", ""}[rng.IntN(3)],
				Owner:       []string{"ana", "bob"}[rng.IntN(2)],
				Status:      statuses[rng.IntN(len(statuses))],
			}
			if late {
				// Minutes collide often, so deployments tie on their start.
				in.Time = t0.Add(time.Duration(minute) * time.Minute)
			}
			// Some steps name a commit, some its time, some both: a
			// deployment's are the latest given, whichever step gave them.
			switch rng.IntN(4) {
			case 0:
				in.Revision = fmt.Sprintf("r%d", rng.IntN(1000))
			case 1:
				in.CommittedAt = t0.Add(-time.Duration(rng.IntN(10000)) * time.Second)
			case 2:
				in.Revision = fmt.Sprintf("r%d", rng.IntN(1000))
				in.CommittedAt = t0.Add(-time.Duration(rng.IntN(10000)) * time.Second)
			}
			return in
		}
		var clock atomic.Int64 // receipt times that only grow: steps in order
		receipt := func() time.Time { return t0.Add(5*time.Hour + time.Duration(clock.Add(1))*time.Millisecond) }

		for round := range 3 {
			var work [][]model.StepInput // one slice per request: a single step, or a batch
			for range 120 {
				work = append(work, []model.StepInput{input(rng.IntN(4) == 0)})
			}
			for range 10 {
				var batch []model.StepInput
				for range 1 + rng.IntN(12) {
					batch = append(batch, input(rng.IntN(2) == 0))
				}
				work = append(work, batch)
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(work)+10)
			for i, ins := range work {
				s := stores[i%len(stores)]
				wg.Go(func() {
					var err error
					if len(ins) == 1 && i%5 != 0 {
						_, _, err = s.CreateStep(ctx, ins[0], model.RecordMeta{ReceivedAt: receipt()})
					} else {
						_, _, err = s.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: receipt()})
					}
					if err != nil {
						errs <- err
					}
				})
			}
			for _, s := range stores {
				wg.Go(func() { // lists during the writes always answer
					for range 3 {
						if _, err := s.ListDeployments(ctx, model.DeploymentFilter{Filter: model.Filter{Limit: 50}}, rules, now,
							func(*model.Deployment) error { return nil }); err != nil {
							errs <- fmt.Errorf("list during writes: %w", err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("round %d: %v", round, err)
			}
			checkAgainstOracle(t, stores[round%len(stores)], rules, now)
		}
		// One at a time, each step is a lone request, numbered from the
		// target's cached state when this store wrote it last.
		for i := range 150 {
			if _, _, err := stores[i%len(stores)].CreateStep(ctx, input(rng.IntN(4) == 0), model.RecordMeta{ReceivedAt: receipt()}); err != nil {
				t.Fatal(err)
			}
		}
		checkAgainstOracle(t, stores[0], rules, now)

		// "rollout" becomes terminal: deployments split; they join again
		// when it stops being terminal.
		other := rules
		other.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
		var log bytes.Buffer
		if err := stores[1].UseRules(ctx, other, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "terminal statuses changed") {
			t.Errorf("renumbering was not logged:\n%s", log.String())
		}
		checkAgainstOracle(t, stores[1], other, now)
		if err := stores[2].UseRules(ctx, rules, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
			t.Fatal(err)
		}
		checkAgainstOracle(t, stores[0], rules, now)
	})
}

// TestUpgradeFromAttemptColumns starts from the schema of the release
// before (steps with attempt and started_at columns), with a history in
// it, migrates, and checks that the first start numbers it all as the
// oracle does, saying so in the log.
func TestUpgradeFromAttemptColumns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		s := openAt(t, dsn, "20261127000002")
		// As the old release stored them: some numbered, the rest not yet.
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range 300 {
			attempt, started := 0, any(nil)
			if i < 150 {
				attempt, started = 1, "2026-03-02 09:00:00.000000"
			}
			if _, err := s.DB().ExecContext(ctx, `INSERT INTO steps (component, version, owner, status, environment, time, received_at, attempt, started_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, []string{"api", "web"}[rng.IntN(2)], fmt.Sprint(rng.IntN(5)), "ana",
				[]string{"build", "tests", "finished", "failed"}[rng.IntN(4)], "prod",
				t0.Add(time.Duration(rng.IntN(600))*time.Minute).Format("2006-01-02 15:04:05.000000"), "2026-03-02 09:00:00.000000",
				attempt, started); err != nil {
				t.Fatal(err)
			}
		}
		if strings.HasPrefix(dsn, "sqlite:") {
			// An upgrade cut midway (here a statement that fails, as a
			// kill -9 during the table's rewrite would) leaves the old
			// schema whole, so the next start migrates. SQLite only:
			// MySQL's DDL commits statement by statement.
			if _, err := s.DB().ExecContext(ctx, `CREATE TABLE deployments (x INTEGER)`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err == nil {
				t.Fatal("migrate with a deployments table in the way succeeded")
			}
			if _, err := s.DB().ExecContext(ctx, `DROP TABLE deployments`); err != nil {
				t.Fatal(err)
			}
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) == 0 || applied[0] != "20261130000001_number_on_write" {
			t.Fatalf("migrate from the old schema: %v, applied %v", err, applied)
		}
		var log bytes.Buffer
		rules := model.DefaultDeploymentRules()
		if err := s.UseRules(ctx, rules, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), "first start after the upgrade") || !strings.Contains(log.String(), "numbered every deployment") {
			t.Errorf("the upgrade's numbering was not logged:\n%s", log.String())
		}
		now := t0.Add(12 * time.Hour)
		var n int
		if err := s.EachDeployment(ctx, model.DeploymentFilter{}, rules, now, func(*model.Deployment) error { n++; return nil }); err != nil || n == 0 {
			t.Fatalf("no deployments after the upgrade (%v)", err)
		}
		if got, want := n, len(oracle(t, s, rules, now, model.Filter{})); got != want {
			t.Errorf("%d deployments after the upgrade, oracle %d", got, want)
		}
		// Writes go on from the numbered history: a late step, a new one.
		mustCreate(t, s, model.StepInput{Component: "api", Version: "1", Owner: "bob", Status: "finished", Environment: "prod", Time: t0.Add(3 * time.Hour)}, now)
		mustCreate(t, s, model.StepInput{Component: "api", Version: "1", Owner: "bob", Status: "build", Environment: "prod"}, now)
		for _, flt := range []model.Filter{{}, {Component: "api", Version: "1", Environment: "prod"}} {
			var got, want []string
			for _, d := range oracle(t, s, rules, now, flt) {
				want = append(want, describe(d))
			}
			if _, err := s.ListDeployments(ctx, model.DeploymentFilter{Filter: flt}, rules, now, func(d *model.Deployment) error {
				got = append(got, describe(d))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("after the upgrade, filter %+v:\n%s\noracle:\n%s", flt, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
		// A second start has nothing to renumber.
		log.Reset()
		if err := s.UseRules(ctx, rules, slog.New(slog.NewTextHandler(&log, nil))); err != nil || log.Len() != 0 {
			t.Errorf("second start: %v, log %q", err, log.String())
		}
	})
}

// TestReplayedKeyIsTheStoredRow: one idempotency key sent at the same
// moment through several stores stores one row, and every answer is that
// row, with one answer a first write and the others replays.
func TestReplayedKeyIsTheStoredRow(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		stores := []*store.Store{testdb.Open(t, dsn), testdb.Open(t, dsn), testdb.Open(t, dsn)}
		seen := map[int64]bool{}
		for round := range 5 {
			key := fmt.Sprintf("key-%d", round)
			in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}
			type answer struct {
				step     model.Step
				replayed bool
			}
			answers := make([]answer, 9)
			var wg sync.WaitGroup
			for i := range answers {
				wg.Go(func() {
					// Each request was received at its own moment.
					st, replayed, err := stores[i%3].CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0.Add(time.Duration(i) * time.Second), IdempotencyKey: key})
					if err != nil {
						t.Errorf("request %d: %v", i, err)
					}
					answers[i] = answer{st, replayed}
				})
			}
			wg.Wait()
			stored, _ := mustList(t, stores[0], model.Filter{})
			if len(stored) != round+1 {
				t.Fatalf("round %d: %d rows stored, want %d", round, len(stored), round+1)
			}
			var row model.Step
			for _, st := range stored {
				if !seen[st.ID] {
					row = st
				}
				seen[st.ID] = true
			}
			firsts := 0
			for i, a := range answers {
				if !a.replayed {
					firsts++
				}
				if a.step != row {
					t.Errorf("round %d: answer %d is %+v, stored %+v", round, i, a.step, row)
				}
			}
			if firsts != 1 {
				t.Errorf("round %d: %d answers were first writes, want 1", round, firsts)
			}
		}
	})
}

// TestDeadlocksAreRetried provokes a real deadlock on MySQL: two
// transactions lock two rows in opposite orders. InnoDB rolls one back;
// the store runs it again, and both succeed.
func TestDeadlocksAreRetried(t *testing.T) {
	dsn := testdb.MySQL(t)
	ctx := context.Background()
	// A conflict is the database answering: it is no outage to log (on
	// Galera, certification conflicts come by the hundred under load).
	var logs testdb.LogBuffer
	s, err := store.Open(ctx, dsn, store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Writes run under READ COMMITTED: under REPEATABLE READ, locking
	// targets not there yet would also lock the gaps around them.
	var level string
	err = s.DB().QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&level)
	if err != nil { // MariaDB before 11.1
		err = s.DB().QueryRowContext(ctx, `SELECT @@tx_isolation`).Scan(&level)
	}
	if err != nil || level != "READ-COMMITTED" {
		t.Errorf("isolation %q (%v), want READ-COMMITTED", level, err)
	}
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO pair VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	var arrived atomic.Int32
	lockBoth := func(first, second int) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			tries.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE pair SET n = n + 1 WHERE id = ?`, first); err != nil {
				return err
			}
			// The first time round, wait until both hold their first row.
			if arrived.Add(1) == 2 {
				once.Do(func() { close(both) })
			}
			select {
			case <-both:
			case <-time.After(5 * time.Second):
			}
			_, err := tx.ExecContext(ctx, `UPDATE pair SET n = n + 1 WHERE id = ?`, second)
			return store.Translate(err) // as the store's own statements do
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = store.WriteTx(ctx, s, lockBoth(1, 2)) })
	wg.Go(func() { errs[1] = store.WriteTx(ctx, s, lockBoth(2, 1)) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("a deadlock reached the caller: %v", err)
	}
	if n := tries.Load(); n < 3 {
		t.Errorf("%d attempts: the deadlock did not happen, or was not retried", n)
	}
	var sum int
	if err := s.DB().QueryRowContext(ctx, `SELECT SUM(n) FROM pair`).Scan(&sum); err != nil || sum != 4 {
		t.Errorf("sum %d (%v), want 4: each transaction committed once", sum, err)
	}
	if strings.Contains(logs.String(), "database unavailable") {
		t.Errorf("a retried deadlock was logged as an outage:\n%s", logs.String())
	}
}

// TestTransactionEndedByTheServerIsRetried: a Galera node rolls back a
// local transaction that a replicated write conflicts with, and MariaDB
// does not always report it to the client; in autocommit the statements
// after it would each commit alone, and COMMIT succeed with nothing to
// commit. A ROLLBACK sent as a plain statement leaves the connection in
// that same state on any MariaDB: the store (run as on a Galera node)
// must commit nothing of that attempt, and run the transaction again.
func TestTransactionEndedByTheServerIsRetried(t *testing.T) {
	dsn := testdb.MySQL(t)
	s := testdb.Open(t, dsn)
	store.GuardTx(s)
	ctx := context.Background()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE tried (try INT NOT NULL, part CHAR(1) NOT NULL, PRIMARY KEY (try, part))`); err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int32
	err := store.WriteTx(ctx, s, func(tx *sql.Tx) error {
		try := tries.Add(1)
		if _, err := tx.ExecContext(ctx, `INSERT INTO tried VALUES (?, 'a')`, try); err != nil {
			return err
		}
		if try == 1 {
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tried VALUES (?, 'b')`, try)
		return err
	})
	if err != nil {
		t.Fatalf("WriteTx: %v", err)
	}
	if n := tries.Load(); n != 2 {
		t.Errorf("%d attempts, want 2: a transaction the server ended was reported committed", n)
	}
	var stored []string
	rows, err := s.DB().QueryContext(ctx, `SELECT CONCAT(try, part) FROM tried ORDER BY try, part`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"2a", "2b"}; !slices.Equal(stored, want) {
		t.Errorf("stored %q, want %q: only the attempt that committed, whole", stored, want)
	}
	// Reads still run in autocommit: write transactions have their own pool.
	var autocommit int
	if err := s.DB().QueryRowContext(ctx, `SELECT @@autocommit`).Scan(&autocommit); err != nil || autocommit != 1 {
		t.Errorf("@@autocommit %d (%v) on the read pool after a guarded transaction, want 1", autocommit, err)
	}
}

// importHistory stores a history of rows steps through batches of
// store.MaxBatch steps in time order, as stepsctl import and stepsbench's
// seeding send them: five steps a deploy, five components.
func importHistory(b *testing.B, s *store.Store, rows int) {
	statuses := []string{"build", "tests", "migrate", "rollout", "finished"}
	batch := make([]model.StepInput, 0, store.MaxBatch)
	for i := range rows {
		batch = append(batch, model.StepInput{Component: fmt.Sprint("component-", i/5%5), Version: fmt.Sprint("1.", i/25),
			Owner: "bot", Status: statuses[i%5], Environment: "production", Time: t0.Add(time.Duration(i) * time.Minute)})
		if len(batch) == cap(batch) || i == rows-1 {
			if _, _, err := s.CreateSteps(context.Background(), batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkImportHistory measures storing and numbering a history
// (importHistory). STEPS_BENCH_ROWS sets the size (default 100,000):
//
//	go test ./pkg/store -run '^$' -bench ImportHistory -benchtime 1x
func BenchmarkImportHistory(b *testing.B) {
	rows := testdb.BenchRows(b, 100_000)
	for name, fresh := range testdb.Benched() {
		b.Run(fmt.Sprintf("db=%s/rows=%d", name, rows), func(b *testing.B) {
			for b.Loop() {
				importHistory(b, testdb.Open(b, fresh(b)), rows)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestReplicasStartTogether: replicas started at once with new terminal
// statuses all renumber, none fails, and the numbering is the oracle's.
func TestReplicasStartTogether(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		stores := []*store.Store{testdb.Open(t, dsn), testdb.Open(t, dsn), testdb.Open(t, dsn)}
		var ins []model.StepInput
		for i := range 200 {
			ins = append(ins, model.StepInput{Component: []string{"api", "web"}[i%2], Version: fmt.Sprintf("1.%d", i%4/2*2+i%2), Owner: "ana",
				Environment: "prod", Status: []string{"build", "rollout", "finished", "failed", "tests"}[i%5], Time: t0.Add(time.Duration(i) * time.Minute)})
		}
		if _, _, err := stores[0].CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		rules := model.DefaultDeploymentRules()
		rules.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { errs[i] = s.UseRules(ctx, rules, slog.New(slog.DiscardHandler)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkAgainstOracle(t, stores[2], rules, t0.Add(5*time.Hour))
	})
}

// BenchmarkRenumberHistory measures numbering a whole history again at
// start-up, as after an upgrade or a change of terminal statuses.
// STEPS_BENCH_ROWS sets the size (default 100,000):
//
//	go test ./pkg/store -run '^$' -bench RenumberHistory -benchtime 1x
func BenchmarkRenumberHistory(b *testing.B) {
	rows := testdb.BenchRows(b, 100_000)
	for name, fresh := range testdb.Benched() {
		b.Run(fmt.Sprintf("db=%s/rows=%d", name, rows), func(b *testing.B) {
			s := testdb.Open(b, fresh(b))
			importHistory(b, s, rows)
			rules := []model.DeploymentRules{model.DefaultDeploymentRules(), model.DefaultDeploymentRules()}
			rules[1].SuccessStatuses = append([]string{"rollout"}, rules[1].SuccessStatuses...)
			b.ResetTimer()
			n := 0
			for b.Loop() {
				n++
				if err := s.UseRules(context.Background(), rules[n%2], slog.New(slog.DiscardHandler)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkLateStep measures a late step landing in an early deployment
// of one target with a long history (a version such as "main" deployed
// for years): ten steps a deployment, STEPS_BENCH_ROWS steps in all
// (default 100,000). late=inside and late=between end nothing, inside a
// deployment or after its end, and rewrite one deployment; late=terminal
// is a failed status inside one, which splits it and renumbers every
// later deployment. Each late step lands in another deployment, so none
// grows past the bound on its steps:
//
//	go test ./pkg/store -run '^$' -bench LateStep -benchtime 200x
func BenchmarkLateStep(b *testing.B) {
	rows := testdb.BenchRows(b, 100_000)
	ctx := context.Background()
	for name, fresh := range testdb.Benched() {
		b.Run(fmt.Sprintf("db=%s/rows=%d", name, rows), func(b *testing.B) {
			s := testdb.Open(b, fresh(b))
			batch := make([]model.StepInput, 0, 10_000)
			for i := range rows {
				status := "build"
				if i%10 == 9 {
					status = "finished"
				}
				batch = append(batch, model.StepInput{Component: "api", Version: "main", Environment: "production", Owner: "bot",
					Status: status, Time: t0.Add(time.Duration(i) * time.Minute)})
				if len(batch) == cap(batch) || i == rows-1 {
					if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			deployments := rows / 10
			for _, where := range []struct {
				name   string
				after  time.Duration // into a deployment of ten minutes
				status string
			}{{"inside", 30 * time.Second, "tests"}, {"between", 9*time.Minute + 30*time.Second, "tests"},
				{"terminal", 30 * time.Second, "failed"}} {
				b.Run("late="+where.name, func(b *testing.B) {
					n := 0
					for b.Loop() {
						// Inside deployment n, after its first step; or after
						// its end, before the next one's start.
						at := t0.Add(time.Duration(n%(deployments-1)*10)*time.Minute + where.after)
						n++
						in := model.StepInput{Component: "api", Version: "main", Environment: "production", Owner: "bot", Status: where.status, Time: at}
						if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// TestNumberingRulesTableRenamed: the migration that renames steps_derived
// keeps the stored terminal statuses, so an upgraded stepsd does not number
// its history again.
func TestNumberingRulesTableRenamed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := openAt(t, fresh(t), "20261130000001")
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO steps_derived (name, value) VALUES ('terminal_statuses', 'kept')`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := s.DB().QueryRowContext(ctx, `SELECT value FROM steps_numbering WHERE name = 'terminal_statuses'`).Scan(&v); err != nil || v != "kept" {
			t.Errorf("steps_numbering after the migration: %q, %v; want the stored value", v, err)
		}
		if _, err := s.DB().ExecContext(ctx, `SELECT 1 FROM steps_derived`); err == nil {
			t.Errorf("steps_derived is still there")
		}
	})
}

// TestStaleCachedTargetIsNotContinued: two stores stand for two replicas.
// Each remembers the state of the targets it wrote last and numbers their
// next steps from it, lone or in a batch, without reading their rows; the
// write of each row is checked against the count of writes the store
// remembers. Here the other store ends the deployments meanwhile, so the
// first one's next steps must start attempt 2, not continue attempt 1
// from its stale state; and each store's writes must make the other's
// state stale in turn. Any path that numbers from the cache must write
// and check every target's row: one that does not (writeTargets without
// its check, on either database; a multi-table UPDATE, tried for issue
// 13, without its write of the row) fails this test.
func TestStaleCachedTargetIsNotContinued(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		a, b := testdb.Open(t, dsn), testdb.Open(t, dsn)
		rules := model.DefaultDeploymentRules()
		for i, w := range []struct {
			s        *store.Store
			status   string
			versions []string // one: a lone step; more: a batch, a step each
		}{
			{a, "build", []string{"1.0"}}, {a, "tests", []string{"1.0"}}, {b, "finished", []string{"1.0"}},
			{a, "rollout", []string{"1.0"}}, {b, "tests", []string{"1.0"}}, {a, "migrate", []string{"1.0"}},
			{a, "failed", []string{"1.0"}}, {b, "build", []string{"1.0"}},
			{a, "build", []string{"2.0", "2.1"}}, {a, "tests", []string{"2.0", "2.1"}}, {b, "finished", []string{"2.0", "2.1"}},
			{a, "rollout", []string{"2.0", "2.1"}}, {b, "tests", []string{"2.0", "2.1"}}, {a, "failed", []string{"2.0", "2.1"}},
		} {
			var ins []model.StepInput
			for _, v := range w.versions {
				ins = append(ins, model.StepInput{Component: "api", Version: v, Environment: "prod", Owner: "ana", Status: w.status,
					Time: t0.Add(time.Duration(i) * time.Minute)})
			}
			var err error
			if len(ins) == 1 {
				_, _, err = w.s.CreateStep(ctx, ins[0], model.RecordMeta{ReceivedAt: t0})
			} else {
				_, _, err = w.s.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(time.Hour)
		var want, got []string
		for _, d := range oracle(t, a, rules, now, model.Filter{}) {
			want = append(want, describe(d))
		}
		if _, err := a.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			got = append(got, describe(d))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(want) != 7 {
			t.Fatalf("the oracle finds %d deployments, want 7: the test proves nothing", len(want))
		}
		if !slices.Equal(got, want) {
			t.Errorf("stored numbering differs from the oracle's:\n%s", diff(got, want))
		}
	})
}

// TestFailedWriteLeavesNothingOpen: MySQL's write transactions run on
// connections with autocommit off, begun by their first statement and
// ended by COMMIT or ROLLBACK. A transaction that fails after a write must
// roll it back: else the connection goes back to the pool with the write
// pending, and the next transaction on it commits it.
func TestFailedWriteLeavesNothingOpen(t *testing.T) {
	dsn := testdb.MySQL(t)
	s := testdb.Open(t, dsn)
	ctx := context.Background()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE tried (try INT NOT NULL PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for try := range 3 {
		err := store.WriteTx(ctx, s, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tried VALUES (?)`, try); err != nil {
				return err
			}
			if try < 2 {
				return boom
			}
			return nil
		})
		if (try < 2) != errors.Is(err, boom) {
			t.Fatalf("try %d: WriteTx: %v", try, err)
		}
	}
	var tries []int
	rows, err := s.DB().QueryContext(ctx, `SELECT try FROM tried ORDER BY try`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var try int
		if err := rows.Scan(&try); err != nil {
			t.Fatal(err)
		}
		tries = append(tries, try)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tries, []int{2}) {
		t.Errorf("stored tries %v, want [2]: a failed transaction's write was committed", tries)
	}
}

// A late step that ends nothing and lands inside an ended deployment,
// before its last step, rewrites that deployment only: the ones after it
// keep their rows (a mark put on them survives), including one that
// starts at the very instant the deployment ended. A late step that ends
// a deployment, or lands after one ended, renumbers from there on (the
// marks go). The numbering equals the oracle's either way.
func TestLateStepRewritesOnlyItsDeployment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		rules := model.DefaultDeploymentRules()
		now := t0.Add(time.Hour)
		record := func(status string, at time.Duration) {
			t.Helper()
			in := model.StepInput{Component: "api", Version: "main", Environment: "prod", Owner: "ana", Status: status, Time: t0.Add(at)}
			if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		exec := func(query string) {
			t.Helper()
			if err := store.WriteTx(ctx, s, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, query)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		// The marked deployments, after checking against the oracle with
		// the marks taken off.
		kept := func() (attempts []int) {
			t.Helper()
			var got []string
			if _, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
				if d.Owner == "mark" {
					attempts = append(attempts, d.Attempt)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			exec("UPDATE deployments SET owner = 'ana' WHERE owner = 'mark'")
			if _, err := s.ListDeployments(ctx, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
				got = append(got, describe(d))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, d := range oracle(t, s, rules, now, model.Filter{}) {
				want = append(want, describe(d))
			}
			if !slices.Equal(got, want) {
				t.Errorf("stored deployments:\n%s\nthe oracle's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			return attempts
		}
		// #1 0–1m, #2 from 1m (the instant #1 ended) to 2m, #3 3–4m, #4 from 5m, unended.
		for _, st := range []struct {
			status string
			at     time.Duration
		}{{"build", 0}, {"finished", time.Minute}, {"build", time.Minute}, {"finished", 2 * time.Minute},
			{"build", 3 * time.Minute}, {"finished", 4 * time.Minute}, {"build", 5 * time.Minute}} {
			record(st.status, st.at)
		}
		if got := kept(); len(got) != 0 {
			t.Fatalf("marked before marking: %v", got)
		}
		for _, tc := range []struct {
			status string
			at     time.Duration
			kept   []int // of the marked deployments, those left as they were
		}{
			{"tests", 30 * time.Second, []int{2, 3, 4}},                     // inside #1; #2 starts at #1's end
			{"tests", time.Minute, []int{1, 3, 4}},                          // at #1's end, after it: inside #2
			{"tests", 3*time.Minute + time.Second, []int{1, 2, 4}},          // inside #3
			{"tests", 4 * time.Minute, []int{1, 2, 3}},                      // at #3's end, after it: starts #4, which takes in #4
			{"failed", 5*time.Minute - time.Second, []int{1, 2, 3}},         // ends #4 (the latest): #5 begins
			{"failed", time.Minute + 30*time.Second, []int{1}},              // ends #2 inside it: renumbering on
			{"tests", 2*time.Minute + 30*time.Second, []int{1, 2, 3, 5, 6}}, // after #3 ended (#2 split in two): starts #4, which takes it in
			{"tests", -time.Minute, []int{2, 3, 4, 5, 6}},                   // before the first: starts #1, which takes it in
			{"failed", -2 * time.Minute, nil},                               // before the first, ending: a deployment of its own, the rest renumbered
		} {
			exec("UPDATE deployments SET owner = 'mark'")
			record(tc.status, tc.at)
			if got := kept(); !slices.Equal(got, tc.kept) {
				t.Errorf("%s at %s: deployments %v kept, want %v", tc.status, tc.at, got, tc.kept)
			}
		}
	})
}
