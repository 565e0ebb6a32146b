package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// readAll reads f through EachDeployment and EachDeploymentPassing, in
// the order they hand deployments over, and checks that each series comes
// in start order in both.
func readAll(t *testing.T, s *store.Store, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time) (each []*model.Deployment, passing []string) {
	t.Helper()
	ctx := context.Background()
	inOrder := func(name string) func(d *model.Deployment) {
		last := map[[2]string]time.Time{}
		return func(d *model.Deployment) {
			key := [2]string{d.Component, d.Environment}
			if prev, ok := last[key]; ok && d.StartedAt.Before(prev) {
				t.Errorf("%s, filter %+v: series %q/%q goes back from %s to %s", name, f.Filter, d.Component, d.Environment, prev, d.StartedAt)
			}
			last[key] = d.StartedAt
		}
	}
	check := inOrder("EachDeployment")
	if err := s.EachDeployment(ctx, f, rules, now, func(d *model.Deployment) error {
		check(d)
		each = append(each, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	check = inOrder("EachDeploymentPassing")
	if err := s.EachDeploymentPassing(ctx, f, rules, now, func(d *model.Deployment) error {
		check(d)
		passing = append(passing, describe(d))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return each, passing
}

// TestBlocksFitAPageOnSQLite: by default a block holds 64 deployments on
// MySQL and 16 on SQLite, where a block of 64 (12 KB) overflows a 4 KiB
// page and its every read cost an mmap and a munmap in modernc's
// allocator, three times the CPU of stats over 1M steps.
func TestBlocksFitAPageOnSQLite(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		if err := s.UseRules(ctx, model.DefaultDeploymentRules(), slog.Default()); err != nil {
			t.Fatal(err)
		}
		var batch []model.StepInput
		for j := range 64 {
			for i, st := range []string{"build", "tests", "rollout", "finished"} {
				batch = append(batch, model.StepInput{Component: "api", Version: fmt.Sprint("1.", j), Environment: "prod", Owner: "ana",
					Status: st, Time: t0.Add(time.Duration(j)*time.Hour + time.Duration(i)*time.Minute)})
			}
		}
		if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// Past the hour every deployment waits, within the week after
		// which a quiet tail is sealed short: only full blocks.
		if _, err := s.Seal(ctx, t0.Add(66*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		var entries, most int
		if err := s.DB().QueryRow(`SELECT COUNT(*), MAX(entries) FROM deployment_blocks`).Scan(&entries, &most); err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int{store.KindMySQL: {1, 64}, store.KindSQLite: {4, 16}}[s.Kind()]
		if entries != want[0] || most != want[1] {
			t.Errorf("%s: %d blocks of at most %d deployments, want %d of %d", s.Kind(), entries, most, want[0], want[1])
		}
	})
}

// sealCounts are the blocks and the sealed and unsealed deployments.
func sealCounts(t *testing.T, s *store.Store) (blocks, sealed, unsealed int) {
	t.Helper()
	err := s.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM deployment_blocks), (SELECT COUNT(*) FROM deployments WHERE sealed <> 0),
(SELECT COUNT(*) FROM deployments WHERE sealed = 0)`).Scan(&blocks, &sealed, &unsealed)
	if err != nil {
		t.Fatal(err)
	}
	return blocks, sealed, unsealed
}

// TestSealedBlocksReadAsTheRows: a history of several series, with
// redeploys, failures, deployments left unended, late steps that renumber
// sealed deployments and batches of old steps, is sealed into small
// blocks at random points, by two stores at once and while steps arrive.
// After each round, every read over blocks must give exactly the
// deployments the row-by-row read gives (deep-equal, as a multiset, each
// series in start order), for filters that blocks serve (none, component,
// environment, since and until cutting through blocks), that go row by
// row (version, owner, status), and when the unsealed rows are too many
// to hold. They must even come in the same order, ties on the start
// included: the stats' sums depend on it in their last digits.
func TestSealedBlocksReadAsTheRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		sealers := []*store.Store{testdb.Open(t, dsn), testdb.Open(t, dsn)}
		rows := testdb.Open(t, dsn) // the truth: row by row
		small := testdb.Open(t, dsn)
		rules := model.DefaultDeploymentRules()
		for _, s := range append([]*store.Store{rows, small}, sealers...) {
			if err := s.UseRules(ctx, rules, slog.Default()); err != nil {
				t.Fatal(err)
			}
		}
		sealers[0].TuneSealing(4, 0, false)
		sealers[1].TuneSealing(5, 0, false)
		rows.TuneSealing(0, 0, true)
		small.TuneSealing(4, 3, false) // holds at most 3 unsealed rows: falls back

		rng := rand.New(rand.NewPCG(13, 3))
		statuses := []string{"build", "tests", "rollout", "finished", "failed", "finished", "Done"}
		var clock time.Duration // steps in order, a minute or so apart
		times := []time.Time{t0}
		input := func() model.StepInput {
			in := model.StepInput{
				Component:   []string{"api", "web", "db"}[rng.IntN(3)],
				Version:     fmt.Sprintf("1.%d", rng.IntN(5)),
				Environment: []string{"prod", "staging", ""}[rng.IntN(3)],
				Owner:       []string{"ana", "bob"}[rng.IntN(2)],
				Status:      statuses[rng.IntN(len(statuses))],
			}
			if rng.IntN(5) > 0 {
				// Else at the time of the step before: deployments of
				// one series start together, and tie.
				clock += time.Duration(1+rng.IntN(90)) * time.Second
			}
			in.Time = t0.Add(clock)
			if rng.IntN(8) == 0 {
				// Late: lands anywhere before, inside sealed deployments,
				// or at the time of a step before: the deployment it
				// starts ties with sealed ones.
				in.Time = t0.Add(time.Duration(rng.Int64N(int64(clock))))
				if rng.IntN(2) == 0 {
					in.Time = times[rng.IntN(len(times))]
				}
			}
			times = append(times, in.Time)
			if rng.IntN(3) == 0 {
				in.Revision = fmt.Sprintf("r%d", rng.IntN(100))
			}
			return in
		}
		// Far ahead: every ended deployment is past the horizon.
		future := t0.Add(1000 * time.Hour)
		now := t0.Add(30 * time.Hour)
		seal := func(s *store.Store) {
			if _, err := s.Seal(ctx, future, nil); err != nil {
				t.Error(err)
			}
		}
		compare := func(round int) {
			t.Helper()
			span := clock
			for _, flt := range []model.Filter{
				{}, {Component: "api"}, {Environment: "prod"}, {Component: "web", Environment: "staging"},
				{Since: t0.Add(span / 3), Until: t0.Add(2 * span / 3)},
				{Component: "db", Since: t0.Add(span / 5)},
				{Until: t0.Add(span / 2)},
				{Owner: "ana"}, {Version: "1.2"}, {Status: "failed"}, {Component: "api", Owner: "bob", Since: t0.Add(span / 4)},
			} {
				f := model.DeploymentFilter{Filter: flt}
				wantEach, wantPassing := readAll(t, rows, f, rules, now)
				if len(wantEach) == 0 {
					t.Fatalf("round %d, filter %+v finds nothing: the test proves nothing", round, flt)
				}
				for _, s := range []*store.Store{sealers[0], small} {
					gotEach, gotPassing := readAll(t, s, f, rules, now)
					if !reflect.DeepEqual(gotEach, wantEach) {
						var got, want []string
						for _, d := range gotEach {
							got = append(got, describe(d))
						}
						for _, d := range wantEach {
							want = append(want, describe(d))
						}
						t.Errorf("round %d, EachDeployment over blocks, filter %+v:\n%s", round, flt, diff(got, want))
					}
					if !slices.Equal(gotPassing, wantPassing) {
						t.Errorf("round %d, EachDeploymentPassing over blocks, filter %+v:\n%s", round, flt, diff(gotPassing, wantPassing))
					}
				}
			}
		}

		write := func(s *store.Store) {
			var err error
			if rng.IntN(4) == 0 {
				batch := make([]model.StepInput, 1+rng.IntN(15))
				for i := range batch {
					batch[i] = input()
				}
				_, _, err = s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0})
			} else {
				_, _, err = s.CreateStep(ctx, input(), model.RecordMeta{ReceivedAt: t0})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		sawBlocks, sawUnsealed, sawTies, sawShort := false, false, false, false
		for round := range 6 {
			// Steps arrive while both stores seal.
			var wg sync.WaitGroup
			for _, s := range sealers {
				wg.Go(func() {
					for range 3 {
						seal(s)
					}
				})
			}
			for i := range 150 {
				write(sealers[i%2])
				if rng.IntN(40) == 0 {
					seal(sealers[rng.IntN(2)])
				}
			}
			wg.Wait()
			if round%2 == 1 {
				seal(sealers[0]) // caught up, then late steps unseal
				for range 10 {
					in := input()
					in.Time = times[rng.IntN(len(times))]
					if _, _, err := sealers[1].CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// New targets start deployments at the very start of sealed
			// ones of their series.
			var tied []model.StepInput
			q, err := rows.DB().Query(`SELECT component, environment, started_at FROM deployments WHERE sealed <> 0 ORDER BY version, attempt LIMIT 5`)
			if err != nil {
				t.Fatal(err)
			}
			for q.Next() {
				var in model.StepInput
				var started []byte
				if err := q.Scan(&in.Component, &in.Environment, &started); err != nil {
					t.Fatal(err)
				}
				if in.Time, err = store.ParseDBTime(started); err != nil {
					t.Fatal(err)
				}
				in.Version, in.Owner, in.Status = fmt.Sprintf("0-tie-%d-%d", round, len(tied)), "ana", "finished" // before 1.x: on InnoDB, first of a tie
				tied = append(tied, in)
			}
			if err := q.Err(); err != nil {
				t.Fatal(err)
			}
			q.Close()
			if _, _, err := sealers[0].CreateSteps(ctx, tied, model.RecordMeta{ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
			blocks, sealed, unsealed := sealCounts(t, rows)
			var ties int
			if err := rows.DB().QueryRow(`SELECT COUNT(*) FROM deployments a JOIN deployments b ON a.component = b.component
AND a.environment = b.environment AND a.started_at = b.started_at AND a.sealed = 0 AND b.sealed <> 0`).Scan(&ties); err != nil {
				t.Fatal(err)
			}
			sawTies = sawTies || ties > 0
			t.Logf("round %d: %d blocks, %d deployments sealed, %d not, %d unsealed tie with sealed ones", round, blocks, sealed, unsealed, ties)
			sawBlocks = sawBlocks || blocks > 3
			var short int
			if err := rows.DB().QueryRow(`SELECT COUNT(*) FROM deployment_blocks WHERE entries < 4`).Scan(&short); err != nil {
				t.Fatal(err)
			}
			sawShort = sawShort || short > 0
			sawUnsealed = sawUnsealed || unsealed > 3
			compare(round)
		}
		if !sawTies {
			t.Error("no unsealed deployment ever tied with a sealed one: the order of ties is not tested")
		}
		if !sawShort {
			t.Error("no block was shorter than the blocks of a full series (a quiet tail): they are not tested")
		}
		if !sawBlocks || !sawUnsealed {
			t.Error("the reads never merged blocks with unsealed rows: the test proves nothing")
		}
		// A change of terminal statuses renumbers everything: no block
		// may outlive it.
		other := rules
		other.SuccessStatuses = append([]string{"rollout"}, rules.SuccessStatuses...)
		rules = other
		for _, s := range []*store.Store{rows, small, sealers[0], sealers[1]} {
			if err := s.UseRules(ctx, rules, slog.Default()); err != nil {
				t.Fatal(err)
			}
		}
		compare(6)
		seal(sealers[1])
		compare(7)
	})
}

// TestSealingKeepsGroupsWhole: with blocks of 4 (8 candidate rows a
// query), deployments of one start are sealed all in one block or not at
// all, even when the 8 rows end inside their group: 3 deployments at one
// start, 7 at the next, then 5 at starts of their own give one block of
// the 7 and one of 4 of the 5, and leave the 3 unsealed (too few for a
// block of their own, and they cannot be joined to part of the 7).
func TestSealingKeepsGroupsWhole(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := testdb.Open(t, fresh(t))
		if err := s.UseRules(ctx, model.DefaultDeploymentRules(), slog.Default()); err != nil {
			t.Fatal(err)
		}
		s.TuneSealing(4, 0, false)
		var batch []model.StepInput
		step := func(version string, at time.Duration) {
			batch = append(batch, model.StepInput{Component: "api", Version: version, Environment: "prod", Owner: "ana",
				Status: "finished", Time: t0.Add(at)})
		}
		for i := range 3 {
			step(fmt.Sprintf("a%d", i), time.Minute)
		}
		for i := range 7 {
			step(fmt.Sprintf("b%d", i), 2*time.Minute)
		}
		for i := range 5 {
			step(fmt.Sprintf("c%d", i), time.Duration(3+i)*time.Minute)
		}
		if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// Past the horizon, not yet quiet: no shorter block for the tail.
		if _, err := s.Seal(ctx, t0.Add(2*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{} // version's first letter: its deployments sealed
		rows, err := s.DB().Query(`SELECT b.entries, d.version FROM deployments d JOIN deployment_blocks b ON b.id = d.sealed`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var entries int
			var version string
			if err := rows.Scan(&entries, &version); err != nil {
				t.Fatal(err)
			}
			got[fmt.Sprintf("%s in a block of %d", version[:1], entries)]++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"b in a block of 7": 7, "c in a block of 4": 4}; !reflect.DeepEqual(got, want) {
			t.Errorf("sealed: %v, want %v", got, want)
		}
	})
}

// TestSealingSealsQuietTails: series too quiet to fill a block of 64 have
// their ended tail sealed in a shorter one once it has waited a week, so
// that a read over many such series holds few unsealed rows and does not
// go row by row; a tail younger than a week, and a deployment not ended,
// stay rows. The read gives what the row-by-row read gives.
func TestSealingSealsQuietTails(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		dsn := fresh(t)
		s, rows := testdb.Open(t, dsn), testdb.Open(t, dsn)
		rules := model.DefaultDeploymentRules()
		for _, st := range []*store.Store{s, rows} {
			if err := st.UseRules(ctx, rules, slog.Default()); err != nil {
				t.Fatal(err)
			}
		}
		s.TuneSealing(64, 100, false) // blocks of 64; a read holds at most 100 unsealed rows
		rows.TuneSealing(0, 0, true)
		now := t0.Add(30 * 24 * time.Hour)
		var batch []model.StepInput
		deploy := func(component, environment, version, status string, at time.Time) {
			for i, st := range []string{"build", "rollout", status} {
				batch = append(batch, model.StepInput{Component: component, Version: version, Environment: environment, Owner: "ana",
					Status: st, Time: at.Add(time.Duration(i) * time.Second)})
			}
		}
		for i := range 60 { // 60 quiet series of 5
			for j := range 5 {
				deploy(fmt.Sprintf("c%02d", i/2), []string{"prod", "staging"}[i%2], fmt.Sprint("1.", j), []string{"finished", "failed"}[j%4/3],
					t0.Add(time.Duration(j*60+i)*time.Minute))
			}
		}
		for j := range 100 { // a block of 64 and a tail of 36
			deploy("busy", "prod", fmt.Sprint("1.", j), "finished", t0.Add(time.Duration(j)*time.Hour))
		}
		for j := range 5 { // too recent
			deploy("fresh", "prod", fmt.Sprint("1.", j), "finished", now.Add(-time.Duration(48+j)*time.Hour))
		}
		// Not ended: the series' other deployments are sealed around it.
		batch = append(batch, model.StepInput{Component: "c00", Version: "open", Environment: "prod", Owner: "ana", Status: "build", Time: t0.Add(90 * time.Minute)})
		if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Seal(ctx, now, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, unsealed := sealCounts(t, s); unsealed != 6 {
			t.Errorf("%d deployments unsealed, want 6: the recent tail of 5 and the one not ended", unsealed)
		}
		got := map[string]int{} // series: the entries of its blocks
		q, err := s.DB().Query(`SELECT component, entries FROM deployment_blocks WHERE component IN ('busy', 'fresh', 'c00', 'c29') ORDER BY first_start`)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var blocks []string
		for q.Next() {
			var component string
			var entries int
			if err := q.Scan(&component, &entries); err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, fmt.Sprint(component, ":", entries))
			got[component] += entries
		}
		if err := q.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(blocks)
		if want := []string{"busy:36", "busy:64", "c00:5", "c00:5", "c29:5", "c29:5"}; !slices.Equal(blocks, want) {
			t.Errorf("blocks %v, want %v", blocks, want)
		}
		f := model.DeploymentFilter{}
		wantEach, wantPassing := readAll(t, rows, f, rules, now)
		gotEach, gotPassing := readAll(t, s, f, rules, now)
		if !reflect.DeepEqual(gotEach, wantEach) || !slices.Equal(gotPassing, wantPassing) {
			t.Errorf("the read over blocks differs from the rows:\n%s", diff(gotPassing, wantPassing))
		}
		if n := store.RowByRowReads(s); n != 0 {
			t.Errorf("%d reads went row by row: the unsealed tails of quiet series were past the bound", n)
		}
	})
}

// TestSealingWaitsAfterAnUpgrade: the migration that adds blocks to a
// database with its tables already there keeps sealing off for an hour, so
// that an older stepsd still serving during a rolling upgrade cannot leave
// a block stale; a new database seals at once.
func TestSealingWaitsAfterAnUpgrade(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		s := openAt(t, fresh(t), "20261130190000")
		migrated := time.Now()
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.UseRules(ctx, model.DefaultDeploymentRules(), slog.Default()); err != nil {
			t.Fatal(err)
		}
		s.TuneSealing(4, 0, false)
		var batch []model.StepInput
		for i := range 12 {
			batch = append(batch, model.StepInput{Component: "api", Version: fmt.Sprint(i), Environment: "prod", Owner: "ana",
				Status: "finished", Time: t0.Add(time.Duration(i) * time.Minute)})
		}
		if _, _, err := s.CreateSteps(ctx, batch, model.RecordMeta{ReceivedAt: t0}); err != nil {
			t.Fatal(err)
		}
		from, err := s.SealableFrom(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := from.Sub(migrated); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("sealable from %v, %v after the upgrade; want an hour", from, d)
		}
		if blocks, err := s.Seal(ctx, time.Now(), nil); err != nil || blocks != 0 {
			t.Errorf("sealed %d blocks right after the upgrade (%v); want none for an hour", blocks, err)
		}
		if blocks, err := s.Seal(ctx, time.Now().Add(61*time.Minute), nil); err != nil || blocks != 3 {
			t.Errorf("sealed %d blocks an hour after the upgrade (%v); want 3", blocks, err)
		}

		created := testdb.Open(t, fresh(t))
		if from, err := created.SealableFrom(ctx); err != nil || !from.IsZero() {
			t.Errorf("a new database is sealable from %v (%v); want at once", from, err)
		}
	})
}

// openAt opens a store on dsn with the schema of an older release: the
// migrations up to upTo.
func openAt(t *testing.T, dsn, upTo string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := store.MigrateTo(ctx, s, upTo); err != nil {
		t.Fatal(err)
	}
	return s
}
