package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSQLiteOnlineBackupUnderWrites: the online backup docs/operations.md
// gives for SQLite, VACUUM INTO from another connection, finishes while
// writers go on and holds every step acknowledged before it started.
// The backup API the sqlite3 shell's .backup uses starts over each time
// another connection writes: over a 250 MB file under three writers it
// had copied 96 MB after 11 minutes, again and again, and never finished.
func TestSQLiteOnlineBackupUnderWrites(t *testing.T) {
	dsn := testdb.SQLite(t)
	path := strings.TrimPrefix(dsn, "sqlite:")
	s := testdb.Open(t, dsn)
	ctx := t.Context()

	// A history of some pages, so that the copy takes a while.
	var hist []model.StepInput
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := range 5000 {
		hist = append(hist, model.StepInput{Component: fmt.Sprintf("svc-%d", i%20), Version: fmt.Sprintf("1.%d", i/5), Owner: "ana", Status: []string{"build", "tests", "migrate", "rollout", "finished"}[i%5], Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	if _, _, err := s.CreateSteps(ctx, hist, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	type ack struct {
		id int64
		at time.Time
	}
	var (
		mu    sync.Mutex
		acks  []ack
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		fails []error
	)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				in := model.StepInput{Component: fmt.Sprintf("load-%d", w), Version: fmt.Sprintf("v%d", i/5), Owner: "ops", Status: "build"}
				st, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()})
				done := time.Now()
				mu.Lock()
				if err != nil {
					fails = append(fails, err)
				} else {
					acks = append(acks, ack{st.ID, done})
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(200 * time.Millisecond)

	backup := filepath.Join(t.TempDir(), "backup.db")
	src, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	started := time.Now()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
		t.Fatalf("VACUUM INTO under writes: %v", err)
	}
	took := time.Since(started)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("writes beside the backup failed: %v", fails[0])
	}

	copyDB, err := sql.Open("sqlite", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the backup = %q, %v; want ok", check, err)
	}
	var before, missing, after int
	for _, a := range acks {
		if !a.at.Before(started) {
			after++
			continue
		}
		before++
		var n int
		if err := copyDB.QueryRowContext(ctx, "SELECT count(*) FROM steps WHERE id = ?", a.id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			missing++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("acknowledged %d steps before the backup and %d after; want writes on both sides of it", before, after)
	}
	if missing > 0 {
		t.Errorf("%d of the %d steps acknowledged before the backup started are not in it", missing, before)
	}
	t.Logf("backup in %v under 3 writers: %d steps acknowledged before it, all in it; %d after", took, before, after)

	// The copy serves: a store opened on it lists the history.
	restored := testdb.Open(t, "sqlite:"+backup)
	var n int
	if _, err := restored.ListSteps(ctx, model.Filter{Component: "svc-3"}, func(model.Step) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 250 {
		t.Errorf("steps of svc-3 in the restored copy = %d; want 250", n)
	}
}
