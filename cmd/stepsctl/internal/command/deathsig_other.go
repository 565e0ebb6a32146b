//go:build !linux

package command

import "syscall"

// dieWithParent does nothing: only Linux has a parent-death signal. The
// command of a stepsctl killed by SIGKILL outlives it.
func dieWithParent(*syscall.SysProcAttr) {}

// lockThreadForChild does nothing: nothing here is tied to a thread.
func lockThreadForChild() (unlock func()) { return func() {} }
