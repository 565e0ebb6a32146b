package store_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestStaleMigrationLockOnSQLite: a stepsd killed while it migrated a
// SQLite file (a kill -9, a liveness probe restarting a slow upgrade) left
// the migrations' lock row, and every later start waited a minute and
// exited, until someone deleted the row by hand. No process holds the
// file's flock then, so the next start clears the row, says so, and
// migrates.
func TestStaleMigrationLockOnSQLite(t *testing.T) {
	dsn := testdb.SQLite(t)
	testdb.Open(t, dsn)
	s, logs := openWithLockRow(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate with a lock row no stepsd holds: %v; want the row cleared", err)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"cleared the migrations' lock that a stepsd stopped while migrating left`) {
		t.Errorf("the stale lock was cleared without a word; log:\n%s", logs.String())
	}
	var rows int
	if err := s.DB().QueryRow(`SELECT count(*) FROM bun_migration_locks`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("lock rows after Migrate: %d (%v); want 0", rows, err)
	}
}

// holdFlock holds the file's flock as a stepsd migrating it does, until
// the test ends.
func holdFlock(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}
