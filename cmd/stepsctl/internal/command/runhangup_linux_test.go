package command_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: its master, and its slave, which a
// process takes as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// TestRunRecordsTheEndWhenItsTerminalHangsUp: an engineer's ssh session
// drops while `stepsctl run` deploys from a terminal. The hangup killed
// stepsctl at once (its default action), before the command's end was
// recorded, and the deployment stayed in progress for good; now stepsctl
// passes the hangup on, waits for the command, and records its failure.
func TestRunRecordsTheEndWhenItsTerminalHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	master, slave := openPTY(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, said := stepsctlCommand(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--",
		"sh", "-c", `echo $$ > "$1.new"; mv "$1.new" "$1"; sleep 1000`, "sh", ready)
	// The terminal is stepsctl's standard input and controlling terminal,
	// as a login shell's is: stepsctl leads the session it hangs up.
	cmd.Stdin = slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	startStepsctl(t, cmd)
	slave.Close()
	waitForFile(t, ready, said)
	pid, err := readPid(ready)
	if err != nil {
		t.Fatal(err)
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != cmd.Process.Pid {
		t.Fatalf("the command is in process group %d (%v), want stepsctl's %d, as in a terminal", pgid, err, cmd.Process.Pid)
	}
	// The start is recorded while the command runs; wait for it, so that
	// only the end is in question.
	for deadline := time.Now().Add(10 * time.Second); len(h.stored()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the start was never recorded; stepsctl said %q", said)
		}
	}

	master.Close() // the ssh session drops
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("stepsctl did not end after the hangup; it said %q", said)
	}
	if got := statuses(h.stored()); !reflect.DeepEqual(got, []string{"deploy", "failed"}) {
		t.Errorf("recorded %q, want deploy then failed; stepsctl said %q", got, said)
	}
}
