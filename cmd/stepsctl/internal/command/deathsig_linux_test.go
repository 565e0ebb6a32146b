package command_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunCommandDiesWithStepsctl: outside a terminal the command is no
// longer in the process group a CI runner kills, so when stepsctl itself
// is killed by SIGKILL, which it cannot forward, the kernel kills the
// command too, rather than leave it running after its job.
func TestRunCommandDiesWithStepsctl(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd, out := stepsctlProcess(t, h, "run", "--component", "api", "--version", "1", "--step", "deploy", "--no-git", "--",
		"sh", "-c", `echo $$ > "$1.new"; mv "$1.new" "$1"; while :; do sleep 0.01; done`, "sh", ready)
	waitForFile(t, ready, out)
	pid, err := readPid(ready)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	if err := cmd.Process.Kill(); err != nil { // stepsctl alone, not its group
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command (pid %d) still runs after stepsctl was killed; stepsctl said %q", pid, out)
		}
	}
}

// alive reports whether process pid runs: it exists and is not a zombie
// waiting for a parent (init, once stepsctl is gone) to reap it.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return !strings.ContainsRune("ZX", rune(b[i+2]))
}
