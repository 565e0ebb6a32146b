package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestQueuedStepEndsWithItsContext: a step queued behind the lane's
// transaction, stuck on a table another session holds locked, returns
// when its own context ends, not when the stuck one does; Close waits for
// the stuck one, and it is stored once the lock goes.
func TestQueuedStepEndsWithItsContext(t *testing.T) {
	dsn := testdb.MySQL(t)
	s := testdb.Open(t, dsn)
	ctx := context.Background()
	in := model.StepInput{Component: "api", Version: "1.0.0", Owner: "ana", Status: "build", Environment: "production"}
	if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{}); err != nil { // prepares the statements
		t.Fatal(err)
	}
	lock := lockWrites(t, dsn)
	stuck := make(chan error, 1)
	go func() {
		in := in
		in.Version = "2.0.0"
		_, _, err := s.CreateStep(ctx, in, model.RecordMeta{})
		stuck <- err
	}()
	// Until the server shows it waiting for the lock: the steps after it
	// queue, rather than commit alone.
	var db string
	if err := lock.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	for n := 0; n == 0; time.Sleep(10 * time.Millisecond) {
		if err := lock.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.processlist WHERE db = ? AND state LIKE 'Waiting for table%'", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			in := in
			in.Version = fmt.Sprintf("3.0.%d", i)
			qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, _, err := s.CreateStep(qctx, in, model.RecordMeta{})
			if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 10*time.Second {
				t.Errorf("a step queued behind a stuck transaction returned after %v with %v; want %v soon after 300ms", took, err, context.DeadlineExceeded)
			}
		})
	}
	wg.Wait()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(100 * time.Millisecond)
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	for what, ch := range map[string]chan error{"the stuck step": stuck, "Close": closed} {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not return within 20 s of the lock's end", what)
		}
	}
	// The queued steps that gave up may be stored (see commit), once.
	rows, err := lock.QueryContext(ctx, "SELECT version, COUNT(*) FROM steps GROUP BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]int{}
	for rows.Next() {
		var v string
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		stored[v] = n
	}
	for v, n := range stored {
		if n > 1 || (v == "2.0.0" || v == "1.0.0") && n != 1 {
			t.Errorf("version %s stored %d times", v, n)
		}
	}
	if stored["2.0.0"] != 1 {
		t.Errorf("the stuck step, acknowledged, is stored %d times; want 1", stored["2.0.0"])
	}
}
