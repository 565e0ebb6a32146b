package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func mustCreate(t *testing.T, s *store.Store, in model.StepInput, at time.Time) model.Step {
	t.Helper()
	step, _, err := s.CreateStep(context.Background(), in, model.RecordMeta{ReceivedAt: at})
	if err != nil {
		t.Fatalf("CreateStep(%+v): %v", in, err)
	}
	return step
}

func mustList(t *testing.T, s *store.Store, f model.Filter) ([]model.Step, *model.Cursor) {
	t.Helper()
	var got []model.Step
	next, err := s.ListSteps(context.Background(), f, func(st model.Step) error {
		got = append(got, st)
		return nil
	})
	if err != nil {
		t.Fatalf("ListSteps(%+v): %v", f, err)
	}
	return got, next
}

// wantStored fails t unless s holds n steps.
func wantStored(t *testing.T, s *store.Store, n int) {
	t.Helper()
	if got, _ := mustList(t, s, model.Filter{}); len(got) != n {
		t.Errorf("%d steps stored, want %d", len(got), n)
	}
}

func ids(steps []model.Step) []int64 {
	out := make([]int64, len(steps))
	for i, s := range steps {
		out[i] = s.ID
	}
	return out
}

// TestStore runs the same suite on every database.
func TestStore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		t.Run("CreateStepStampsReceiptTimeInUTCWithMicroseconds", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			at := time.Date(2026, 3, 2, 11, 0, 0, 123456789, time.FixedZone("CET", 3600))
			got := mustCreate(t, s, model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Status: "build"}, at)
			want := time.Date(2026, 3, 2, 10, 0, 0, 123456000, time.UTC)
			if got.ID < 1 || !got.Time.Equal(want) || !got.ReceivedAt.Equal(want) {
				t.Fatalf("got %+v, want id>0 and time %v", got, want)
			}
			found, err := s.FindStep(context.Background(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found != got {
				t.Errorf("FindStep = %+v, want %+v", found, got)
			}
			if found.Time.Location() != time.UTC {
				t.Errorf("time location %v, want UTC", found.Time.Location())
			}
		})

		t.Run("ExplicitTimeKeptReceiptTimeStamped", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			explicit := time.Date(2025, 12, 31, 23, 59, 59, 999999000, time.UTC)
			got := mustCreate(t, s, model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Status: "build", Time: explicit}, t0)
			if !got.Time.Equal(explicit) || !got.ReceivedAt.Equal(t0) {
				t.Errorf("got time %v received %v, want %v and %v", got.Time, got.ReceivedAt, explicit, t0)
			}
		})

		t.Run("FindMissingIsNotFound", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			_, err := s.FindStep(context.Background(), 999)
			if model.ErrorCode(err) != model.ENOTFOUND {
				t.Errorf("FindStep(999) = %v, want ENOTFOUND", err)
			}
		})

		t.Run("InvalidInputStoresNothing", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			for _, in := range []model.StepInput{
				{Component: string(make([]byte, 129)), Version: "1", Owner: "o", Status: "s"},
				{Component: "api", Version: "v\xff", Owner: "o", Status: "s"},
				{Component: "api", Version: "1", Owner: "o\x07", Status: "s"},
				{Component: "api", Version: "1", Owner: "o"},
			} {
				if _, _, err := s.CreateStep(context.Background(), in, model.RecordMeta{ReceivedAt: t0}); model.ErrorCode(err) != model.EINVALID {
					t.Errorf("CreateStep(%q) = %v, want EINVALID", in, err)
				}
			}
			wantStored(t, s, 0)
		})

		t.Run("LongestValuesFitExactly", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			long := func(n int) string {
				r := make([]rune, n)
				for i := range r {
					r[i] = '😀' // four bytes in UTF-8: the worst case for utf8mb4
				}
				return string(r)
			}
			in := model.StepInput{Component: long(128), Version: long(128), Owner: long(128), Status: long(64), Environment: long(64)}
			got := mustCreate(t, s, in, t0)
			found, err := s.FindStep(context.Background(), got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.Component != in.Component || found.Status != in.Status || found.Environment != in.Environment {
				t.Error("a value of maximum length came back changed")
			}
		})

		t.Run("SQLMetacharactersStoredAndFoundLiterally", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			evil := "x' OR '1'='1"
			mustCreate(t, s, model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}, t0)
			want := mustCreate(t, s, model.StepInput{Component: evil, Version: `"; DROP TABLE steps; --`, Owner: `\`, Status: "%"}, t0)
			got, _ := mustList(t, s, model.Filter{Component: evil})
			if len(got) != 1 || got[0] != want {
				t.Fatalf("filter by %q = %+v, want only %+v", evil, got, want)
			}
			if got, _ := mustList(t, s, model.Filter{Status: "%"}); len(got) != 1 {
				t.Errorf("status %% matched %d rows, want 1 (no LIKE semantics)", len(got))
			}
		})

		t.Run("FiltersAloneAndCombined", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			mk := func(c, v, o, st, env string, at time.Time) model.Step {
				return mustCreate(t, s, model.StepInput{Component: c, Version: v, Owner: o, Status: st, Environment: env, Time: at}, t0)
			}
			a := mk("api", "1", "ana", "build", "prod", t0)
			b := mk("api", "2", "bob", "tests", "staging", t0.Add(time.Hour))
			c := mk("web", "1", "ana", "build", "prod", t0.Add(2*time.Hour))
			d := mk("Api", "1", "ana", "build", "prod", t0.Add(3*time.Hour))
			tests := []struct {
				name string
				f    model.Filter
				want []int64
			}{
				{"all", model.Filter{}, []int64{a.ID, b.ID, c.ID, d.ID}},
				{"component is exact and case-sensitive", model.Filter{Component: "api"}, []int64{a.ID, b.ID}},
				{"version", model.Filter{Version: "2"}, []int64{b.ID}},
				{"owner", model.Filter{Owner: "ana"}, []int64{a.ID, c.ID, d.ID}},
				{"status", model.Filter{Status: "tests"}, []int64{b.ID}},
				{"environment", model.Filter{Environment: "prod"}, []int64{a.ID, c.ID, d.ID}},
				{"since inclusive", model.Filter{Since: t0.Add(time.Hour)}, []int64{b.ID, c.ID, d.ID}},
				{"until inclusive", model.Filter{Until: t0.Add(time.Hour)}, []int64{a.ID, b.ID}},
				{"since and until", model.Filter{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}, []int64{b.ID, c.ID}},
				{"combined", model.Filter{Component: "api", Owner: "ana", Environment: "prod"}, []int64{a.ID}},
				{"nothing matches", model.Filter{Component: "api", Version: "9"}, []int64{}},
				{"descending", model.Filter{Order: model.OrderDesc}, []int64{d.ID, c.ID, b.ID, a.ID}},
			}
			for _, tt := range tests {
				got, next := mustList(t, s, tt.f)
				if !slices.Equal(ids(got), tt.want) || next != nil {
					t.Errorf("%s: got %v next %v, want %v", tt.name, ids(got), next, tt.want)
				}
			}
		})

		t.Run("OrderIsTimeThenIDEvenWhenSentOutOfOrder", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			late := mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: "late", Time: t0.Add(time.Minute)}, t0)
			early := mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: "early", Time: t0}, t0)
			tie := mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: "tie", Time: t0}, t0)
			got, _ := mustList(t, s, model.Filter{})
			if want := []int64{early.ID, tie.ID, late.ID}; !slices.Equal(ids(got), want) {
				t.Errorf("order %v, want %v", ids(got), want)
			}
		})

		t.Run("PagesReturnEveryRowExactlyOnce", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			var want []int64
			for i := range 23 {
				// Groups of three share a time, so the cursor must break ties by id.
				at := t0.Add(time.Duration(i/3) * time.Second)
				want = append(want, mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: fmt.Sprint(i), Time: at}, t0).ID)
			}
			for _, order := range []string{model.OrderAsc, model.OrderDesc} {
				var got []int64
				f := model.Filter{Limit: 5, Order: order}
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("pagination does not end")
					}
					page, next := mustList(t, s, f)
					if len(page) > 5 {
						t.Fatalf("page of %d rows, limit 5", len(page))
					}
					got = append(got, ids(page)...)
					if next == nil {
						break
					}
					f.After = next
				}
				expect := slices.Clone(want)
				if order == model.OrderDesc {
					slices.Reverse(expect)
				}
				if !slices.Equal(got, expect) {
					t.Errorf("%s pages gave %v, want %v", order, got, expect)
				}
			}
		})

		t.Run("LastFullPageHasNoNextCursor", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			for i := range 4 {
				mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: fmt.Sprint(i)}, t0)
			}
			page, next := mustList(t, s, model.Filter{Limit: 4})
			if len(page) != 4 || next != nil {
				t.Errorf("got %d rows, next %v; want 4 and no next page", len(page), next)
			}
		})

		t.Run("IdempotencyKeyReplaysAndRejectsADifferentPayload", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			ctx := context.Background()
			in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}
			first, replayed, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "k-1"})
			if err != nil || replayed {
				t.Fatalf("first: %v replayed=%v", err, replayed)
			}
			again, replayed, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0.Add(time.Second), IdempotencyKey: "k-1"})
			if err != nil || !replayed || again != first {
				t.Fatalf("replay = %+v, %v, %v; want the first step, replayed", again, replayed, err)
			}
			other := in
			other.Status = "tests"
			if _, _, err := s.CreateStep(ctx, other, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "k-1"}); model.ErrorCode(err) != model.EUNPROCESSABLE {
				t.Errorf("different payload, same key = %v, want EUNPROCESSABLE", err)
			}
			wantStored(t, s, 1)
		})

		t.Run("ConcurrentRetriesWithOneKeyStoreOneRow", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}
			var wg sync.WaitGroup
			results := make([]int64, 16)
			for i := range results {
				wg.Go(func() {
					st, _, err := s.CreateStep(context.Background(), in, model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "same"})
					if err != nil {
						t.Errorf("CreateStep: %v", err)
						return
					}
					results[i] = st.ID
				})
			}
			wg.Wait()
			for _, id := range results {
				if id != results[0] {
					t.Fatalf("ids %v, want all equal", results)
				}
			}
			wantStored(t, s, 1)
		})

		for _, readBack := range []bool{false, true} {
			t.Run(fmt.Sprintf("ConcurrentWritesGroupCommitted/readBack=%v", readBack), func(t *testing.T) {
				s := testdb.Open(t, fresh(t))
				if readBack {
					store.ForceReadBackIDs(s)
				}
				var wg sync.WaitGroup
				got := make([]model.Step, 200)
				for i := range got {
					wg.Go(func() {
						in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: fmt.Sprint(i)}
						meta := model.RecordMeta{ReceivedAt: time.Now()}
						if i%10 == 0 {
							meta.IdempotencyKey = "shared" // some requests of a group reuse one key
							in.Status = "shared"
						}
						st, _, err := s.CreateStep(context.Background(), in, meta)
						if err != nil {
							t.Errorf("CreateStep %d: %v", i, err)
						}
						got[i] = st
					})
				}
				wg.Wait()
				batch, _, err := s.CreateSteps(context.Background(), []model.StepInput{
					{Component: "b", Version: "1", Owner: "o", Status: "x"}, {Component: "b", Version: "1", Owner: "o", Status: "y"}}, model.RecordMeta{ReceivedAt: t0})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, batch...)
				for i, st := range got {
					found, err := s.FindStep(context.Background(), st.ID)
					if err != nil || found != st {
						t.Errorf("step %d answered %+v, stored under its id: %+v (%v)", i, st, found, err)
					}
				}
				wantStored(t, s, 183) // 180 + 1 shared + 2 in a batch
			})
		}

		t.Run("RecordSurvivesReopen", func(t *testing.T) {
			ctx := context.Background()
			dsn := fresh(t)
			s := testdb.Open(t, dsn)
			want := mustCreate(t, s, model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}, t0)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := testdb.Open(t, dsn) // migrating again must be a no-op
			got, err := s2.FindStep(ctx, want.ID)
			if err != nil || got != want {
				t.Errorf("after reopen: %+v, %v; want %+v", got, err, want)
			}
		})

		t.Run("CloseWhileWritingLosesNoAcknowledgedStep", func(t *testing.T) {
			// Steps committed alone by their requests and steps committed
			// in groups race with Close: each is either acknowledged and
			// stored, or refused; none waits forever, and Close twice
			// returns.
			ctx := context.Background()
			dsn := fresh(t)
			s := testdb.Open(t, dsn)
			var mu sync.Mutex
			var acked []model.Step
			var wg sync.WaitGroup
			started := make(chan struct{})
			var once sync.Once
			for w := range 8 {
				wg.Go(func() {
					for i := 0; ; i++ {
						in := model.StepInput{Component: fmt.Sprintf("c%d", w%3), Version: "1", Owner: "o", Status: "build"}
						step, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: t0.Add(time.Duration(i) * time.Second)})
						if err != nil {
							return
						}
						mu.Lock()
						acked = append(acked, step)
						if len(acked) == 40 {
							once.Do(func() { close(started) })
						}
						mu.Unlock()
					}
				})
			}
			<-started
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s.Close() //nolint:errcheck // only that it returns
			wg.Wait()
			s2 := testdb.Open(t, dsn)
			for _, want := range acked {
				if got, err := s2.FindStep(ctx, want.ID); err != nil || got != want {
					t.Errorf("acknowledged step %d: %+v, %v; want %+v", want.ID, got, err, want)
				}
			}
		})

		t.Run("CallbackErrorStopsTheList", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			for range 3 {
				mustCreate(t, s, model.StepInput{Component: "c", Version: "1", Owner: "o", Status: "s"}, t0)
			}
			stop := errors.New("stop")
			n := 0
			_, err := s.ListSteps(context.Background(), model.Filter{}, func(model.Step) error { n++; return stop })
			if !errors.Is(err, stop) || n != 1 {
				t.Errorf("err %v after %d rows, want stop after 1", err, n)
			}
		})
	})
}

func TestOpenRejectsBadDSNsWithoutEchoingSecrets(t *testing.T) {
	for _, dsn := range []string{"", "postgres://u:hunter2@h/db", "mysql://u:hunter2@/db", "mysql://u:hunter2@h:3306/", "sqlite:", "sqlite::memory:"} {
		_, err := store.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2") {
			t.Errorf("Open(%q) error %q leaks the password", dsn, msg)
		}
	}
}

// A password with a character that ends a URL's user part (/ ? #) makes
// a DSN that does not parse, or parses into another host or database: the
// error says to percent-encode, and the encoded DSN is taken.
func TestBadMySQLDSNSaysToPercentEncode(t *testing.T) {
	for _, tt := range []struct{ raw, encoded string }{
		{"mysql://steps:hun/ter2@db:3306/steps", "mysql://steps:hun%2Fter2@db:3306/steps"},
		{"mysql://steps:12/ter2@db:3306/steps", "mysql://steps:12%2Fter2@db:3306/steps"},
		{"mysql://steps:hun#ter2@db:3306/steps", "mysql://steps:hun%23ter2@db:3306/steps"},
		{"mysql://steps:hun?ter2@db:3306/steps", "mysql://steps:hun%3Fter2@db:3306/steps"},
	} {
		err := store.CheckDSN(tt.raw)
		if err == nil || !strings.Contains(err.Error(), "percent-encoded") {
			t.Errorf("CheckDSN(%q) = %v, want an error that says to percent-encode", tt.raw, err)
		} else if strings.Contains(err.Error(), "ter2") {
			t.Errorf("CheckDSN(%q) error %q shows the password", tt.raw, err)
		}
		if err := store.CheckDSN(tt.encoded); err != nil {
			t.Errorf("CheckDSN(%q) = %v, want nil", tt.encoded, err)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"mysql://steps:hunter2@db:3306/steps": "mysql://steps:xxxxx@db:3306/steps",
		// DSNs stepsd refuses, shown in the error that says so.
		"steps:hunter2@tcp(db:3306)/steps":       "xxxxx@tcp(db:3306)/steps",
		"mysql:steps:hunter2@tcp(db:3306)/steps": "xxxxx@tcp(db:3306)/steps",
		"mariadb://steps:hunter2@db:3306/steps":  "mariadb://steps:xxxxx@db:3306/steps",
		"MYSQL://steps:hunter2@db:3306/steps":    "mysql://steps:xxxxx@db:3306/steps",
		"sqlite:/var/lib/steps/steps.db":         "sqlite:/var/lib/steps/steps.db",
		"postgres://db/steps":                    "postgres://db/steps",
	} {
		if got := store.RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestMySQLUnreachableIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "mysql://root@127.0.0.1:1/steps?timeout=1s")
	if model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Errorf("Open on a closed port = %v, want EUNAVAILABLE", err)
	}
}

func TestCreateSteps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()

		t.Run("StoresAllWithTheirIDs", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			mustCreate(t, s, model.StepInput{Component: "before", Version: "1", Owner: "o", Status: "s"}, t0)
			ins := make([]model.StepInput, 1234) // more than one INSERT chunk
			for i := range ins {
				ins[i] = model.StepInput{Component: "api", Version: "1", Owner: "o", Status: fmt.Sprint(i), Time: t0.Add(time.Duration(i) * time.Second)}
			}
			steps, replayed, err := s.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0})
			if err != nil || replayed || len(steps) != len(ins) {
				t.Fatalf("CreateSteps = %d steps, %v, %v", len(steps), replayed, err)
			}
			for _, i := range []int{0, 499, 500, 1233} {
				found, err := s.FindStep(ctx, steps[i].ID)
				if err != nil || found != steps[i] {
					t.Errorf("row %d: returned %+v, stored %+v (%v)", i, steps[i], found, err)
				}
			}
		})

		t.Run("OneInvalidRowStoresNothingAndAllAreReported", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			ins := []model.StepInput{
				{Component: "api", Version: "1", Owner: "o", Status: "ok"},
				{Component: "api", Version: "1", Owner: "o"},
				{Component: "api", Version: "1", Owner: "o", Status: "ok"},
				{Component: "a\npi", Version: "1", Owner: "o", Status: "ok"},
			}
			_, _, err := s.CreateSteps(ctx, ins, model.RecordMeta{ReceivedAt: t0})
			var be *model.BatchError
			if !errors.As(err, &be) || model.ErrorCode(err) != model.EINVALID {
				t.Fatalf("err = %v, want a BatchError", err)
			}
			if len(be.Rows) != 2 || be.Rows[0].Row != 2 || be.Rows[0].Field != "status" || be.Rows[1].Row != 4 || be.Rows[1].Field != "component" {
				t.Errorf("rows %+v", be.Rows)
			}
			wantStored(t, s, 0)
		})

		t.Run("IdempotentReplay", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			ins := []model.StepInput{
				{Component: "api", Version: "1", Owner: "o", Status: "build"},
				{Component: "api", Version: "1", Owner: "o", Status: "tests"},
			}
			meta := model.RecordMeta{ReceivedAt: t0, IdempotencyKey: "import-1"}
			first, _, err := s.CreateSteps(ctx, ins, meta)
			if err != nil {
				t.Fatal(err)
			}
			again, replayed, err := s.CreateSteps(ctx, ins, meta)
			if err != nil || !replayed || fmt.Sprint(again) != fmt.Sprint(first) {
				t.Fatalf("replay = %v, %v, %v; want %v", again, replayed, err, first)
			}
			ins[1].Status = "rollout"
			if _, _, err := s.CreateSteps(ctx, ins, meta); model.ErrorCode(err) != model.EUNPROCESSABLE {
				t.Errorf("changed batch, same key = %v, want EUNPROCESSABLE", err)
			}
			// A single step may use the same key: batch rows do not collide.
			if _, replayed, err := s.CreateStep(ctx, ins[0], meta); err != nil || replayed {
				t.Errorf("single step with a batch's key = %v, replayed %v", err, replayed)
			}
			wantStored(t, s, 3)
		})

		t.Run("LimitsAreExplicit", func(t *testing.T) {
			s := testdb.Open(t, fresh(t))
			if _, _, err := s.CreateSteps(ctx, nil, model.RecordMeta{ReceivedAt: t0}); model.ErrorCode(err) != model.EINVALID {
				t.Errorf("empty batch = %v", err)
			}
			big := make([]model.StepInput, store.MaxBatch+1)
			if _, _, err := s.CreateSteps(ctx, big, model.RecordMeta{ReceivedAt: t0}); model.ErrorCode(err) != model.EINVALID {
				t.Errorf("oversized batch = %v", err)
			}
		})
	})
}

func TestParseDBTimeAgreesWithTimeParse(t *testing.T) {
	for _, s := range []string{"2026-03-02 09:00:00.000000", "1970-01-01 00:00:00.000001", "9999-12-31 23:59:59.999999", "2024-02-29 12:34:56.5", "2026-03-02 09:00:00"} {
		want, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.ParseDBTime([]byte(s))
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDBTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"2026-13-02 09:00:00.000000", "2026-03-02T09:00:00.000000", "x"} {
		if _, err := store.ParseDBTime([]byte(bad)); err == nil {
			t.Errorf("ParseDBTime(%q) accepted", bad)
		}
	}
}

func TestMissingMySQLDatabaseIsNotAnOutage(t *testing.T) {
	base := testdb.MySQL(t) // skips without MySQL
	u := base[:strings.LastIndex(base, "/")] + "/steps_no_such_database_here"
	_, err := store.Open(context.Background(), u)
	if err == nil || model.ErrorCode(err) == model.EUNAVAILABLE || !strings.Contains(err.Error(), "CREATE DATABASE") {
		t.Errorf("Open of a missing database = %v; want a non-temporary error saying to create it", err)
	}
}

// TestSQLiteDriverIsModernc: the SQLite file is opened with modernc's
// pure-Go driver whether cgo is on or not (the tests run with cgo, as -race
// needs it), because the store translates modernc's error codes only; a
// shim would pick cgo's mattn driver here.
func TestSQLiteDriverIsModernc(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	if got, want := fmt.Sprintf("%T", st.DB().Driver()), "*sqlite.Driver"; got != want {
		t.Errorf("SQLite driver = %s, want modernc.org/sqlite's %s", got, want)
	}
}

// TestSQLiteLogIsTruncated: every connection of the SQLite file truncates
// the write-ahead log back to store.SQLiteWALLimit after a checkpoint, so a
// log grown during a long read does not keep its size for good.
func TestSQLiteLogIsTruncated(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	ctx := context.Background()
	for range 3 { // several connections of the pool, each with its pragmas
		conn, err := st.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var limit int64
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_size_limit").Scan(&limit); err != nil {
			t.Fatal(err)
		}
		if limit != store.SQLiteWALLimit {
			t.Errorf("journal_size_limit = %d, want %d", limit, store.SQLiteWALLimit)
		}
	}
}

// TestSQLitePageSize: a SQLite file stepsd creates has 16 KiB pages,
// fixed by WAL before the first table; a file made before keeps its own
// (only VACUUM changes them) and opens as ever.
func TestSQLitePageSize(t *testing.T) {
	ctx := context.Background()
	pageSize := func(t *testing.T, st *store.Store) (size int, mode string) {
		t.Helper()
		if err := st.DB().QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return size, mode
	}
	t.Run("a new file has 16 KiB pages", func(t *testing.T) {
		dsn := testdb.SQLite(t)
		st := testdb.Open(t, dsn)
		mustCreate(t, st, model.StepInput{Component: "api", Version: "1", Owner: "o", Status: "build"}, t0)
		if size, mode := pageSize(t, st); size != 16384 || mode != "wal" {
			t.Errorf("page_size, journal_mode = %d, %s; want 16384, wal", size, mode)
		}
	})
	t.Run("an empty file has 16 KiB pages", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "steps.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		st := testdb.Open(t, "sqlite:"+path)
		if size, mode := pageSize(t, st); size != 16384 || mode != "wal" {
			t.Errorf("page_size, journal_mode = %d, %s; want 16384, wal", size, mode)
		}
	})
	t.Run("a file made before keeps its pages", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "steps.db")
		old, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.ExecContext(ctx, "CREATE TABLE before_us (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		st := testdb.Open(t, "sqlite:"+path)
		mustCreate(t, st, model.StepInput{Component: "api", Version: "1", Owner: "o", Status: "build"}, t0)
		if size, mode := pageSize(t, st); size != 4096 || mode != "wal" {
			t.Errorf("page_size, journal_mode = %d, %s; want 4096, wal", size, mode)
		}
	})
}

// TestValues: the distinct values of a field by prefix, in byte order,
// bounded by the limit, without the empty environment, on every database.
func TestValues(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := testdb.Open(t, fresh(t))
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		var ins []model.StepInput
		for i, c := range []string{"web", "api", "api-gateway", "api", "Api", "worker", "api"} {
			env := ""
			if i%2 == 0 {
				env = "production"
			}
			ins = append(ins, model.StepInput{Component: c, Version: "1", Owner: "ana", Status: "build", Environment: env, Time: at.Add(time.Duration(i) * time.Minute)})
		}
		if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: at}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			q    model.ValuesQuery
			want string
		}{
			{model.ValuesQuery{Field: "component"}, "Api api api-gateway web worker"},
			{model.ValuesQuery{Field: "component", Prefix: "api"}, "api api-gateway"},
			{model.ValuesQuery{Field: "component", Prefix: "w", Limit: 1}, "web"},
			{model.ValuesQuery{Field: "component", Prefix: "zzz"}, ""},
			{model.ValuesQuery{Field: "environment"}, "production"},
			{model.ValuesQuery{Field: "owner"}, "ana"},
			{model.ValuesQuery{Field: "status", Prefix: "b"}, "build"},
		} {
			got, err := st.Values(t.Context(), tt.q)
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Errorf("Values(%+v) = %q, %v; want %q", tt.q, got, err, tt.want)
			}
		}
		for q, field := range map[model.ValuesQuery]string{
			{Field: "version"}:                    "field",
			{}:                                    "field",
			{Field: "component", Limit: 1001}:     "limit",
			{Field: "component", Prefix: "a\x00"}: "prefix",
		} {
			_, err := st.Values(t.Context(), q)
			var e *model.Error
			if !errors.As(err, &e) || e.Field != field {
				t.Errorf("Values(%+v) = %v, want an error naming %s", q, err, field)
			}
		}
	})
}

// TestValuesSeekTheIndex: on SQLite, each value is one seek in an index
// that leads with the column, never a scan of the table.
func TestValuesSeekTheIndex(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	for _, col := range []string{"component", "environment", "owner", "status"} {
		rows, err := st.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN SELECT "+col+" FROM steps WHERE "+col+" > ? ORDER BY "+col+" LIMIT 1", "a")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, "USING COVERING INDEX") || !strings.Contains(got, col+">?") {
			t.Errorf("%s: plan %q, want a covering index seek on %s", col, got, col)
		}
	}
}

// TestFindDeployment: one deployment by its key, as ListDeployments shows
// it, or ENOTFOUND; on every database.
func TestFindDeployment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		st := testdb.Open(t, fresh(t))
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		var ins []model.StepInput
		for i, status := range []string{"build", "finished", "build", "tests"} {
			ins = append(ins, model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: status, Environment: "production", Time: at.Add(time.Duration(i) * time.Minute)})
		}
		if _, _, err := st.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: at}); err != nil {
			t.Fatal(err)
		}
		rules, now := model.DefaultDeploymentRules(), at.Add(time.Hour)
		var listed []*model.Deployment
		if _, err := st.ListDeployments(t.Context(), model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
			listed = append(listed, d)
			return nil
		}); err != nil || len(listed) != 2 {
			t.Fatalf("ListDeployments: %d, %v", len(listed), err)
		}
		for _, want := range listed {
			got, err := st.FindDeployment(t.Context(), want.Key(), rules, now)
			if err != nil {
				t.Fatalf("FindDeployment(%+v): %v", want.Key(), err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("FindDeployment(%+v) = %s, want %s", want.Key(), g, w)
			}
		}
		for _, key := range []model.DeploymentKey{
			{Component: "api", Version: "1", Environment: "production", Attempt: 3},
			{Component: "api", Version: "1", Environment: "", Attempt: 1},
		} {
			if _, err := st.FindDeployment(t.Context(), key, rules, now); model.ErrorCode(err) != model.ENOTFOUND {
				t.Errorf("FindDeployment(%+v) = %v, want not found", key, err)
			}
		}
	})
}

// A server left non-strict (an empty sql_mode) would cut a value that does not
// fit, with a warning: the store's sessions add strict mode to whatever
// the server or the DSN sets, on both pools.
func TestMySQLSessionsAreStrict(t *testing.T) {
	dsn := testdb.MySQL(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s := testdb.Open(t, dsn+sep+"sql_mode=%27%27")
	ctx := context.Background()
	var mode string
	if err := s.DB().QueryRowContext(ctx, `SELECT @@SESSION.sql_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "STRICT_ALL_TABLES" {
		t.Errorf("read pool sql_mode = %q, want STRICT_ALL_TABLES added to the DSN's empty mode", mode)
	}
	tx, err := s.WriteDB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // nothing to keep
	if err := tx.QueryRowContext(ctx, `SELECT @@SESSION.sql_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "STRICT_ALL_TABLES" {
		t.Errorf("write pool sql_mode = %q, want STRICT_ALL_TABLES", mode)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO steps (component, version, owner, status, environment, time, received_at)
VALUES (?, '1', 'o', 's', '', ?, ?)`, strings.Repeat("c", model.MaxComponentLen+1), t0, t0)
	if err == nil {
		t.Error("a component longer than its column was stored (cut short), not refused")
	}
}

// TestMissingMySQLDatabaseNamesItself: a DSN naming a database the server
// does not have fails with the statement that creates it, naming that
// database, so that it can be run as printed (it said "CREATE DATABASE
// name").
func TestMissingMySQLDatabaseNamesItself(t *testing.T) {
	dsn := testdb.MySQL(t)
	for _, name := range []string{"_missing", "-missing"} {
		s, err := store.Open(context.Background(), dsn+name)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) of a database that does not exist succeeded", dsn+name)
		}
		db := dsn[strings.LastIndex(dsn, "/")+1:] + name
		want := "create it first: CREATE DATABASE " + db + " CHARACTER SET utf8mb4"
		if name == "-missing" {
			want = "create it first: CREATE DATABASE `" + db + "` CHARACTER SET utf8mb4"
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %v\nwant it to contain %q", err, want)
		}
	}
}

// A DSN copied from another tool is refused with the line to use instead,
// written out, so that a new user need not translate it from the pattern;
// the password never appears in it.
func TestUnsupportedDSNSaysHowToWriteIt(t *testing.T) {
	for _, tt := range []struct{ dsn, want string }{
		{"root@tcp(127.0.0.1:3306)/steps", "mysql://root@127.0.0.1:3306/steps"},
		{"steps:hunter2@tcp(db.internal:3306)/steps?parseTime=true", "mysql://steps:PASS@db.internal:3306/steps"},
		{"mariadb://steps:hunter2@db:3306/steps", "write it as mysql://steps:PASS@db:3306/steps"},
		{"jdbc:mysql://db:3306/steps?user=steps&password=hunter2", "write it as mysql://db:3306/steps"},
		{"MYSQL://root@127.0.0.1/steps", "write it as mysql://root@127.0.0.1/steps"},
		{"steps.db", "write it as sqlite:steps.db"},
		{"file:/var/lib/steps/steps.db?cache=shared", "write it as sqlite:/var/lib/steps/steps.db"},
		{"sqlite3://steps.db", "write it as sqlite:steps.db"},
	} {
		err := store.CheckDSN(tt.dsn)
		if err == nil {
			t.Errorf("CheckDSN(%q) = nil, want unsupported", tt.dsn)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "unsupported database DSN") || !strings.Contains(msg, tt.want) {
			t.Errorf("CheckDSN(%q) error:\n%s\nwant it to say %q", tt.dsn, msg, tt.want)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("CheckDSN(%q) error %q shows the password", tt.dsn, msg)
		}
	}
	// A scheme stepsd has no driver for gets no rewrite: there is none.
	if err := store.CheckDSN("postgres://u@h/db"); err == nil || strings.Contains(err.Error(), "write it as") {
		t.Errorf("CheckDSN(postgres://…) = %v, want unsupported without a rewrite", err)
	}
}
