//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

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
// it.
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
