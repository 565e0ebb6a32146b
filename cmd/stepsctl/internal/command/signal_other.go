//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package command

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// keyboardSignalsReachChild reports whether a Ctrl-C reaches run's command
// without stepsctl: on Windows a console sends it to every process attached
// to the console, and stepsctl cannot forward it anyway.
func keyboardSignalsReachChild() bool { return true }

// signalName names a signal.
func signalName(sig syscall.Signal) string {
	return fmt.Sprintf("signal %d", int(sig))
}

// processGroups says that run cannot give its command a process group of
// its own here: it runs as it always has.
const processGroups = false

// startInOwnGroup leaves cmd as it is: processGroups is false.
func startInOwnGroup(*exec.Cmd) {}

// signalGroup sends sig to p alone.
func signalGroup(p *os.Process, sig os.Signal) error { return p.Signal(sig) }

// groupGuard does nothing: the command has no group of its own here.
type groupGuard struct{}

func startGroupGuard(int) *groupGuard { return nil }

func (*groupGuard) release() {}

// surviveBrokenPipe does nothing: there is no SIGPIPE here.
func surviveBrokenPipe() (stop func()) { return func() {} }

// dieOf does nothing: Exit then exits with the code.
func dieOf(syscall.Signal) {}
