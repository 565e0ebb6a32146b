//go:build !linux

package main

import "syscall"

// childAttr is empty where the kernel cannot stop children with the harness.
func childAttr() *syscall.SysProcAttr {
	return nil
}
