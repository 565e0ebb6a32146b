package store_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/store"
)

// readOnly makes path unwritable: chmod for a normal user, chattr +i for
// root (whom permissions do not stop). The test is skipped where neither
// can be done.
func readOnly(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, 0o700) }) //nolint:errcheck // best effort
		return
	}
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() }) //nolint:errcheck // best effort
}

// TestReadOnlyDatabaseFailsFast: stepsd on a read-only SQLite file or
// directory stops at once and says so, where it used to fail a minute
// later with "migrations are locked".
func TestReadOnlyDatabaseFailsFast(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "steps.db")
	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()

	t.Run("File", func(t *testing.T) {
		readOnly(t, path, 0o444)
		start := time.Now()
		_, err := store.Open(ctx, "sqlite:"+path)
		if err == nil || !strings.Contains(err.Error(), "database file is read-only: "+path) {
			t.Fatalf("Open of a read-only file: %v, want \"database file is read-only: %s\"", err, path)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v to fail", took)
		}
	})

	// A -wal or -shm file another user left: SQLite could not open the
	// database, and stepsd waited for a minute as if it were an outage.
	for _, suffix := range []string{"-wal", "-shm"} {
		t.Run("Log"+suffix, func(t *testing.T) {
			log := path + suffix
			if err := os.WriteFile(log, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(log) })
			readOnly(t, log, 0o400)
			start := time.Now()
			_, err := store.Open(ctx, "sqlite:"+path)
			if err == nil || !strings.Contains(err.Error(), "database file is read-only: "+log) {
				t.Fatalf("Open beside a read-only %s: %v, want \"database file is read-only: %s\"", suffix, err, log)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v to fail", took)
			}
		})
	}

	// A -wal or -shm file that is a symbolic link (moved to another disk,
	// or planted in a shared directory): SQLite opens neither through a
	// link, and stepsd waited a minute on "unable to open database file"
	// as if it were an outage, then exited 1.
	for _, suffix := range []string{"-wal", "-shm"} {
		t.Run("LogLink"+suffix, func(t *testing.T) {
			log := path + suffix
			target := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.WriteFile(target, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, log); err != nil {
				t.Skipf("symlink: %v", err)
			}
			t.Cleanup(func() { os.Remove(log) })
			_, err := store.Open(ctx, "sqlite:"+path)
			if err == nil || !strings.Contains(err.Error(), "database file is a symbolic link: "+log) {
				t.Fatalf("Open beside a %s that is a link: %v, want \"database file is a symbolic link: %s\"", suffix, err, log)
			}
		})
	}

	// A database named through a symbolic link has its -wal and -shm
	// beside the file linked to, so that file's directory is the one
	// SQLite must write: the link's was probed instead, which refused a
	// link kept in a read-only directory (a mounted ConfigMap's) to a
	// writable volume, and let through a link to a read-only directory,
	// where stepsd then waited out "unable to open database file".
	t.Run("LinkFromReadOnlyDirectory", func(t *testing.T) {
		links := t.TempDir()
		link := filepath.Join(links, "steps.db")
		if err := os.Symlink(path, link); err != nil {
			t.Skipf("symlink: %v", err)
		}
		readOnly(t, links, 0o555)
		s, err := store.Open(ctx, "sqlite:"+link)
		if err != nil {
			t.Fatalf("Open through a link in a read-only directory to a writable one: %v", err)
		}
		s.Close()
	})
	t.Run("LinkToReadOnlyDirectory", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "steps.db")
		if err := os.Symlink(path, link); err != nil {
			t.Skipf("symlink: %v", err)
		}
		readOnly(t, dir, 0o555)
		start := time.Now()
		_, err := store.Open(ctx, "sqlite:"+link)
		if err == nil || !strings.Contains(err.Error(), "database directory is read-only: "+dir) {
			t.Fatalf("Open through a link to a read-only directory: %v, want \"database directory is read-only: %s\"", err, dir)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v to fail", took)
		}
	})

	t.Run("Directory", func(t *testing.T) {
		readOnly(t, dir, 0o555)
		_, err := store.Open(ctx, "sqlite:"+path)
		if err == nil || !strings.Contains(err.Error(), "database directory is read-only: "+dir) {
			t.Fatalf("Open in a read-only directory: %v, want \"database directory is read-only: %s\"", err, dir)
		}
	})
}
