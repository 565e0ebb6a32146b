package command

import (
	"runtime"
	"syscall"
)

// dieWithParent has the kernel send SIGKILL to the command when stepsctl
// dies, even by SIGKILL, which no handler sees.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

// lockThreadForChild keeps the goroutine that starts the command on its
// thread until the command has exited, and returns the unlock: Linux sends
// the parent-death signal when the thread that forked the child ends, not
// the process, and the Go runtime ends a thread when a goroutine that
// locked it exits.
func lockThreadForChild() (unlock func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
