//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command_test

import (
	"encoding/json"
	"errors"
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
	"time"
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
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "USER" && k != "LOGNAME" && k != "USERNAME" && k != "HOME" && !strings.HasPrefix(k, "XDG_") && !strings.HasPrefix(k, "STEPSCTL_") {
			env = append(env, kv)
		}
	}
	env = append(env, "STEPSCTL_HELPER_ARGS="+string(args), "HOME=/nonexistent")
	var out []byte
	// A process another parallel test forked while the copy was open for
	// writing holds it open until it execs: running the copy then fails
	// with ETXTBSY ("text file busy"), for a moment.
	for try := 0; ; try++ {
		cmd := exec.Command(binary, "-test.run=^TestStepsctlHelperProcess$")
		cmd.Env, cmd.Dir = env, dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		out, err = cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
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
