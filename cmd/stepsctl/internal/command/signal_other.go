//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package command

import (
	"fmt"
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
