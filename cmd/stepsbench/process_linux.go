package main

import "syscall"

// childAttr makes the kernel stop a server if the harness dies first, so an
// interrupted run leaves no stepsd behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
