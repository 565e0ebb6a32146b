package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// smallDisk mounts a tmpfs of size bytes and returns its directory; the
// test is skipped where mounting is not allowed (not root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) }) //nolint:errcheck // best effort
	return dir
}

// fill writes path until its disk has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
}

// TestDiskFullIsSaid: SQLite on a full disk. Writes were 503 "the
// database is unavailable; try again shortly", which sent operators and
// deploy scripts looking for an outage when a disk needed room; they now
// say the disk is full. Reads and readiness go on answering (an unready
// single replica would only stop its reads too, docs/operations.md), and
// writes come back once space is freed, with no restart.
func TestDiskFullIsSaid(t *testing.T) {
	ctx := context.Background()
	dir := smallDisk(t, "2m")
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "steps.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build"}
	if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{}); err != nil {
		t.Fatalf("a step on a disk with room: %v", err)
	}

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	in.Status = "tests"
	_, _, err = s.CreateStep(ctx, in, model.RecordMeta{})
	if code, msg := model.ErrorCode(err), model.ErrorMessage(err); code != model.EUNAVAILABLE || !strings.Contains(msg, "disk is full") {
		t.Errorf("a step on a full disk: code %q, message %q; want %q saying the disk is full", code, msg, model.EUNAVAILABLE)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping on a full disk: %v; want nil, reads are answered", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateStep(ctx, in, model.RecordMeta{}); err != nil {
		t.Errorf("a step once space is freed: %v", err)
	}
}
