//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestOwnerOfARealAccountWithoutAName is TestOwnerOfAnAccountWithoutAName
// with nothing faked: stepsctl runs as a process under a uid that has no
// passwd entry, with no USER or LOGNAME, as a container run under an
// arbitrary uid does.
func TestOwnerOfARealAccountWithoutAName(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("only root can run a process under a uid without a passwd entry")
	}
	uid := 4242
	for ; uid < 5000; uid++ {
		if _, err := user.LookupId(strconv.Itoa(uid)); err != nil {
			break
		}
	}
	h := newHarness(t)

	// A copy of this test binary that the uid can run: go test's own is
	// in a directory closed to others.
	dir := t.TempDir()
	for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()) && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	binary := filepath.Join(dir, "stepsctl")
	copyFile(t, os.Args[0], binary)

	args, err := json.Marshal([]string{"--server", h.url, "record", "--component", "api", "--version", "1", "--status", "build", "--no-git", "-q"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-test.run=^TestStepsctlHelperProcess$")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "USER" && k != "LOGNAME" && k != "USERNAME" && k != "HOME" && !strings.HasPrefix(k, "XDG_") && !strings.HasPrefix(k, "STEPSCTL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "STEPSCTL_HELPER_ARGS="+string(args), "HOME=/nonexistent")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stepsctl record as uid %d: %v; it said %q", uid, err, out)
	}
	want := fmt.Sprintf("uid-%d", uid)
	if !strings.Contains(string(out), fmt.Sprintf("stepsctl: warning: uid %d has no user name", uid)) {
		t.Errorf("stepsctl said %q, want the warning", out)
	}
	if steps := h.stored(); len(steps) != 1 || steps[0].Owner != want {
		t.Errorf("stored %+v, want one step owned by %s", steps, want)
	}
}

// copyFile copies the executable src to dst, mode 0755.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
