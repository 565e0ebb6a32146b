package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// lockWrites holds the tables a step's write takes locked for writing, in
// a session of its own on dsn, as a write would find a hung database; it
// returns the session, which ends with the test (UNLOCK TABLES frees them).
func lockWrites(t *testing.T, dsn string) *sql.Conn {
	t.Helper()
	lock, err := testdb.Open(t, dsn).DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if _, err := lock.ExecContext(context.Background(), "LOCK TABLES steps WRITE, deployments WRITE, targets WRITE"); err != nil {
		t.Fatal(err)
	}
	return lock
}

// TestWriteEndsWithItsContext: the write pool watches a transaction's
// context once, not each statement (the driver's watch costs two wake-ups
// a statement). A write whose statement waits on a table another session
// holds locked still ends when its context does, with the context's
// error, not when the lock goes or the driver's 30 s read timeout fires;
// the connection it held is not used again, and the writes after it,
// through every connection of the pool, succeed.
func TestWriteEndsWithItsContext(t *testing.T) {
	dsn := testdb.MySQL(t)
	s := testdb.Open(t, dsn)
	ctx := context.Background()
	in := model.StepInput{Component: "api", Version: "1.0.0", Owner: "ana", Status: "build", Environment: "production"}
	if _, _, err := s.CreateSteps(ctx, []model.StepInput{in}, model.RecordMeta{}); err != nil {
		t.Fatal(err)
	}
	lock := lockWrites(t, dsn)
	for _, end := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 300*time.Millisecond) }, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			c, cancel := context.WithCancel(ctx)
			time.AfterFunc(300*time.Millisecond, cancel)
			return c, cancel
		}, context.Canceled},
	} {
		wctx, cancel := end.ctx()
		start := time.Now()
		_, _, err := s.CreateSteps(wctx, []model.StepInput{in}, model.RecordMeta{})
		cancel()
		if took := time.Since(start); !errors.Is(err, end.want) || took > 10*time.Second {
			t.Errorf("%s: a write waiting on a lock ended after %v with %v; want %v soon after 300ms", end.name, took, err, end.want)
		}
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // more than the pool's connections
		if _, _, err := s.CreateSteps(ctx, []model.StepInput{in}, model.RecordMeta{}); err != nil {
			t.Fatalf("write %d after the lock: %v", i, err)
		}
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM steps").Scan(&n); err != nil || n != 13 {
		t.Errorf("%d steps stored (%v), want 13: the writes that ended stored nothing", n, err)
	}
}

// TestBatchEndedByItsContextIsStoredIffItSucceeded: a batch whose context
// ends at any moment of its transaction, its COMMIT included, either
// returns nil and is stored, or returns the context's error and stored
// nothing. With the database answering, a context's end is no reason for
// an outcome left unknown: before its COMMIT is sent it rolls the
// transaction back, after it, the COMMIT's answer counts.
func TestBatchEndedByItsContextIsStoredIffItSucceeded(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		s := testdb.Open(t, fresh(t))
		ctx := context.Background()
		batch := func(component string) []model.StepInput {
			ins := make([]model.StepInput, 20)
			for i := range ins {
				ins[i] = model.StepInput{Component: component, Version: fmt.Sprintf("1.0.%d", i), Owner: "ana", Status: "build", Environment: "production"}
			}
			return ins
		}
		start := time.Now()
		for i := range 3 {
			if _, _, err := s.CreateSteps(ctx, batch(fmt.Sprintf("warm%d", i)), model.RecordMeta{}); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start) / 3
		results := map[string]error{}
		for i := range 150 {
			component := fmt.Sprintf("b%d", i)
			// From before the transaction begins to after it ends.
			wctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(rand.N(took*3/2)+1, cancel)
			_, _, err := s.CreateSteps(wctx, batch(component), model.RecordMeta{})
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("batch %d: %v; want nil or context.Canceled", i, err)
			}
			results[component] = err
		}
		ended := 0
		for component, err := range results {
			var n int
			if err := s.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM steps WHERE component = ?", component).Scan(&n); err != nil {
				t.Fatal(err)
			}
			want := 20
			if err != nil {
				want, ended = 0, ended+1
			}
			if n != want {
				t.Errorf("batch %s returned %v and stored %d steps; want %d", component, err, n, want)
			}
		}
		t.Logf("%d of %d batches ended by their context (a batch took %v)", ended, len(results), took)
		if ended == 0 {
			t.Errorf("no batch of %d was ended by its context: the cancels all came too late to test anything", len(results))
		}
	})
}
