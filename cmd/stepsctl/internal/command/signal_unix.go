//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package command

import (
	"fmt"
	"os"
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
