package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestCreateStepsDeduped: rows already stored (same content, same
// microsecond) are skipped and reported, whatever batch they come in;
// distinct steps are never merged; the batch stays all or nothing.
func TestCreateStepsDeduped(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		step := func(version, status string, at time.Time) model.StepInput {
			return model.StepInput{Component: "api", Version: version, Owner: "ana", Status: status, Environment: "production", Time: at}
		}
		export := []model.StepInput{
			step("1", "build", t0),
			step("1", "tests", t0.Add(time.Minute)),
			step("1", "finished", t0.Add(2*time.Minute)),
			step("2", "build", t0.Add(time.Hour)),
			step("2", "finished", t0.Add(time.Hour+time.Minute)),
		}

		t.Run("AnOverlappingExportIsNotStoredTwice", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			first, skipped, err := s.CreateStepsDeduped(ctx, export[:3], model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "import-a"})
			if err != nil || len(skipped) != 0 || len(first) != 3 {
				t.Fatalf("first import: %d steps, skipped %v, %v", len(first), skipped, err)
			}
			// Another export, cut otherwise, under another key: the first
			// three rows are there, the last two are new.
			steps, skipped, err := s.CreateStepsDeduped(ctx, export, model.RecordMeta{ReceivedAt: t0.Add(time.Hour), IdempotencyKey: "import-b"})
			if err != nil || !slices.Equal(skipped, []int{0, 1, 2}) || len(steps) != 5 {
				t.Fatalf("second import: %d steps, skipped %v, %v", len(steps), skipped, err)
			}
			for i := range 3 {
				if steps[i] != first[i] {
					t.Errorf("row %d answered %+v, want the stored %+v", i, steps[i], first[i])
				}
			}
			wantStored(t, s, 5)
			// The same again, without a key: nothing new.
			_, skipped, err = s.CreateStepsDeduped(ctx, export, model.RecordMeta{ReceivedAt: t0.Add(2 * time.Hour)})
			if err != nil || len(skipped) != 5 {
				t.Fatalf("third import: skipped %v, %v", skipped, err)
			}
			wantStored(t, s, 5)
			// Without dedupe, the same rows are stored again: the
			// contract of a batch is unchanged.
			if _, _, err := s.CreateSteps(ctx, export[:1], model.RecordMeta{ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
			wantStored(t, s, 6)
		})

		t.Run("DistinctStepsAreNeverMerged", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			if _, _, err := s.CreateStepsDeduped(ctx, export[:1], model.RecordMeta{ReceivedAt: t0}); err != nil {
				t.Fatal(err)
			}
			other := []model.StepInput{
				step("1", "build", t0.Add(time.Microsecond)), // a microsecond later
				step("1", "Build", t0),                       // another status
				{Component: "api", Version: "1", Owner: "bob", Status: "build", Environment: "production", Time: t0},
				{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "staging", Time: t0},
				{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "production"}, // no time: now
				{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "production", Time: t0, Revision: "abc123"},
				{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "production", Time: t0, CommittedAt: t0.Add(-time.Hour)},
				step("1", "build", t0), // stored: skipped
				step("1", "build", t0), // the batch's second copy: one more than stored
			}
			_, skipped, err := s.CreateStepsDeduped(ctx, other, model.RecordMeta{ReceivedAt: t0})
			if err != nil || !slices.Equal(skipped, []int{7}) {
				t.Fatalf("skipped %v, %v; want only row 7", skipped, err)
			}
			wantStored(t, s, 9)
			// The same with its revision and commit time is the same step.
			_, skipped, err = s.CreateStepsDeduped(ctx, other[5:7], model.RecordMeta{ReceivedAt: t0})
			if err != nil || !slices.Equal(skipped, []int{0, 1}) {
				t.Errorf("skipped %v, %v; want both", skipped, err)
			}
		})

		t.Run("AllOrNothing", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			bad := append(slices.Clone(export), model.StepInput{Component: "api", Version: "1", Owner: "ana"})
			_, _, err := s.CreateStepsDeduped(ctx, bad, model.RecordMeta{ReceivedAt: t0})
			var be *model.BatchError
			if !errors.As(err, &be) || be.Rows[0].Row != 6 {
				t.Fatalf("err = %v, want row 6 refused", err)
			}
			wantStored(t, s, 0)
		})

		t.Run("ManyRowsOfOneTarget", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			var many []model.StepInput
			for i := range 1200 { // more times than one read asks for
				many = append(many, step("1", fmt.Sprint("s", i%7), t0.Add(time.Duration(i)*time.Second)))
			}
			if _, skipped, err := s.CreateStepsDeduped(ctx, many[:700], model.RecordMeta{ReceivedAt: t0}); err != nil || len(skipped) != 0 {
				t.Fatalf("skipped %d, %v", len(skipped), err)
			}
			if _, skipped, err := s.CreateStepsDeduped(ctx, many, model.RecordMeta{ReceivedAt: t0}); err != nil || len(skipped) != 700 {
				t.Fatalf("skipped %d, %v; want the 700 stored", len(skipped), err)
			}
			wantStored(t, s, 1200)
		})

		t.Run("ManyTargetsAndCopies", func(t *testing.T) {
			// More instants than one statement reads, over many targets,
			// each stored twice (a batch without dedupe): an import of three
			// copies is answered with the two stored, oldest first, and
			// stores the third.
			s := testdb.Open(t, fresh(t))
			var rows []model.StepInput
			for i := range 150 {
				rows = append(rows, step(fmt.Sprint(i), "build", t0.Add(time.Duration(i)*time.Second)),
					step(fmt.Sprint(i), "finished", t0.Add(time.Duration(i)*time.Second+time.Millisecond)))
			}
			stored, _, err := s.CreateSteps(ctx, slices.Concat(rows, rows), model.RecordMeta{ReceivedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			again := slices.Concat(rows, rows, rows)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
			steps, skipped, err := s.CreateStepsDeduped(ctx, again, model.RecordMeta{ReceivedAt: t0})
			if err != nil || len(skipped) != 2*len(rows) {
				t.Fatalf("skipped %d of %d, %v; want the %d stored", len(skipped), len(again), err, 2*len(rows))
			}
			answered := map[model.StepInput][]model.Step{}
			for _, i := range skipped {
				answered[again[i]] = append(answered[again[i]], steps[i])
			}
			for i, in := range rows {
				first, second := stored[i], stored[len(rows)+i]
				if got := answered[in]; len(got) != 2 || got[0] != first || got[1] != second {
					t.Fatalf("%s %s answered with %+v, want the stored %+v then %+v", in.Version, in.Status, got, first, second)
				}
			}
			wantStored(t, s, 3*len(rows))
		})

		t.Run("ImportsAtOnceStoreOnce", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			var big []model.StepInput
			for i := range 100 {
				big = append(big, step(fmt.Sprint(i), "build", t0.Add(time.Duration(i)*time.Minute)),
					step(fmt.Sprint(i), "finished", t0.Add(time.Duration(i)*time.Minute+30*time.Second)))
			}
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for w := range errs {
				wg.Go(func() {
					_, _, errs[w] = s.CreateStepsDeduped(ctx, big, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: fmt.Sprintf("import-%d", w)})
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			wantStored(t, s, len(big))
		})
	})
}

// BenchmarkImportDeduped measures an import's batch (CreateStepsDeduped,
// the default of stepsctl import): 1,000 new rows over 200 targets, on a
// history of STEPS_BENCH_ROWS steps (default 20,000), none of them found:
//
//	go test ./pkg/store -run '^$' -bench ImportDeduped -benchtime 20x
func BenchmarkImportDeduped(b *testing.B) {
	rows := testdb.BenchRows(b, 20_000)
	ctx := context.Background()
	batch := func(n int) []model.StepInput {
		ins := make([]model.StepInput, 0, 1000)
		for i := range 1000 {
			ins = append(ins, model.StepInput{Component: fmt.Sprint("svc", i%40), Version: fmt.Sprint(n, ".", i%200/40), Owner: "ana",
				Environment: "production", Status: fmt.Sprint("s", i/200), Time: t0.Add(time.Duration(n*1000+i) * time.Second)})
		}
		return ins
	}
	for name, fresh := range testdb.Benched() {
		b.Run(fmt.Sprintf("db=%s/rows=%d", name, rows), func(b *testing.B) {
			s := testdb.Open(b, fresh(b))
			n := 0
			for ; n < rows/1000; n++ {
				if _, _, err := s.CreateSteps(ctx, batch(n), model.RecordMeta{ReceivedAt: t0}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				n++
				if _, skipped, err := s.CreateStepsDeduped(ctx, batch(n), model.RecordMeta{ReceivedAt: t0}); err != nil || len(skipped) != 0 {
					b.Fatalf("skipped %d, %v", len(skipped), err)
				}
			}
			b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
