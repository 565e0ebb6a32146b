package store_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestSQLiteReaderBesideStepsdLeavesItsLog: an operator's sqlite3 reading
// the file of a running stepsd (a count, a .backup) deleted its -wal and
// -shm as it exited, and every write after was refused (503) until
// stepsd restarted. A process closing its last connection deletes them
// when it can lock the whole file, which every other process with a
// connection open prevents by its SHARED lock; stepsd dropped its own by
// closing the descriptor of the migrations' flock, as closing any
// descriptor of a file drops the fcntl locks its process holds on it.
func TestSQLiteReaderBesideStepsdLeavesItsLog(t *testing.T) {
	dsn := testdb.SQLite(t)
	path := strings.TrimPrefix(dsn, "sqlite:")
	s := testdb.Open(t, dsn)
	ctx := t.Context()
	in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}
	if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// SQLite's own test, from another process, of whether it is the last.
	probe := exec.Command(os.Args[0], "-test.run=^TestSQLiteLastConnectionProbe$")
	probe.Env = append(os.Environ(), "STEPS_TEST_PROBE_DB="+path)
	if out, err := probe.CombinedOutput(); err != nil {
		t.Errorf("another process could lock the whole file: %v\n%s", err, out)
	}
	// And the operator's sqlite3, where there is one.
	if _, err := exec.LookPath("sqlite3"); err == nil {
		if out, err := exec.Command("sqlite3", path, "SELECT count(*) FROM steps").CombinedOutput(); err != nil {
			t.Fatalf("sqlite3: %v\n%s", err, out)
		}
	}

	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err != nil {
			t.Errorf("after another process read the file: %v; want the file stepsd has open kept", err)
		}
	}
	in.Status = "tests"
	if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
		t.Errorf("a write after another process read the file: %v; want it stored", err)
	}
}

// TestSQLiteLastConnectionProbe is the other process of
// TestSQLiteReaderBesideStepsdLeavesItsLog: it fails when it can take the
// write lock on the SHARED bytes of the file named by STEPS_TEST_PROBE_DB,
// as SQLite closing its last connection does before it deletes the -wal
// and -shm files.
func TestSQLiteLastConnectionProbe(t *testing.T) {
	path := os.Getenv("STEPS_TEST_PROBE_DB")
	if path == "" {
		t.Skip("run by TestSQLiteReaderBesideStepsdLeavesItsLog")
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const sharedFirst, sharedSize = 0x40000000 + 2, 510 // SQLite's os_unix.c
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: sharedFirst, Len: sharedSize}
	if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err == nil {
		t.Fatal("no other process holds a SHARED lock on the file: one closing its last connection would delete its -wal and -shm")
	}
}
