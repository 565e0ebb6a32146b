//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// keyboardSignalsReachChild reports whether stepsctl runs in the foreground
// of its terminal. A Ctrl-C there is sent by the terminal to the whole
// foreground process group, run's command included, so forwarding it would
// deliver it twice (and many programs take a second Ctrl-C to mean "stop
// now, skip the clean-up").
func keyboardSignalsReachChild() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: CI, cron, a service
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

// signalName names a signal as a person knows it: SIGTERM.
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// processGroups says that run can give its command a process group of its
// own.
const processGroups = true

// startInOwnGroup makes cmd the leader of a new process group when it
// starts: a signal sent to stepsctl's group (a CI runner cancelling a job)
// then reaches the command only as stepsctl forwards it, once. The command
// no longer dies with that group, so where the system can (Linux) it is
// killed when stepsctl dies, as a SIGKILL to the group would have killed
// it, and its group with it by startGroupGuard's guard.
func startInOwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
}

// signalGroup sends sig to the process group that p leads, so that what
// the command started (a pipeline of sh -c) gets it too, as it would from
// the group stepsctl is in.
func signalGroup(p *os.Process, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return p.Signal(sig)
	}
	if err := syscall.Kill(-p.Pid, s); err != nil {
		return fmt.Errorf("signal process group %d: %w", p.Pid, err)
	}
	return nil
}

// groupGuardScript reads a line from stepsctl; at end of input without one
// (stepsctl died: the kernel closed its end of the pipe) it kills the
// command's process group, $1.
const groupGuardScript = `read -r done; [ "$done" = ok ] || kill -s KILL -- "-$1"`

// groupGuard kills the command's process group when stepsctl dies, even by
// SIGKILL, before the command has ended: a runner's SIGKILL to the job's
// group, which no longer holds the command's, would otherwise leave what
// the command started (make's compilers, a script's kubectl) running after
// the job. The parent-death signal of Linux kills the command alone, and
// other systems have none.
type groupGuard struct {
	cmd *exec.Cmd
	w   io.WriteCloser
}

// startGroupGuard starts the guard of process group pgid: a shell in a
// group of its own (so the runner's signals to stepsctl's group do not
// reach it), which waits on a pipe only stepsctl holds. Without a shell,
// there is no guard: nil.
func startGroupGuard(pgid int) *groupGuard {
	sh, err := exec.LookPath("/bin/sh")
	if err != nil {
		return nil
	}
	g := &groupGuard{cmd: exec.Command(sh, "-c", groupGuardScript, "sh", strconv.Itoa(pgid))}
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if g.w, err = g.cmd.StdinPipe(); err != nil {
		return nil
	}
	if err := g.cmd.Start(); err != nil {
		_ = g.w.Close()
		return nil
	}
	return g
}

// release tells the guard that the command has ended, so that what it
// left running on purpose (a daemon) is left alone, and reaps it.
func (g *groupGuard) release() {
	if g == nil {
		return
	}
	_, _ = io.WriteString(g.w, "ok\n")
	_ = g.w.Close()
	_ = g.cmd.Wait()
}

// surviveBrokenPipe keeps stepsctl alive when its standard output or error
// is a pipe nobody reads any more (stepsctl run … 2>&1 | head, a CI log
// gone): a write there then fails, and the message is lost, where it would
// kill stepsctl by SIGPIPE before it recorded how the command ended. The
// command is not affected: a caught signal is reset to its default in a
// child, so it still dies of SIGPIPE as it would without stepsctl. It
// returns the undo.
func surviveBrokenPipe() (stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGPIPE)
	return func() { signal.Stop(c) }
}

// dieOf ends stepsctl by sig, with the system's default action for it,
// as the command it ran ended; it returns only if that failed.
func dieOf(sig syscall.Signal) {
	signal.Reset(sig)
	if syscall.Kill(syscall.Getpid(), sig) == nil {
		time.Sleep(time.Second) // the signal is on its way
	}
}
