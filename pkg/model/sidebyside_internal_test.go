package model

import (
	"sync/atomic"
	"testing"
)

// TestSideBySideRunsAllAndRaisesAPanicOnTheCaller: every function runs,
// and a panic in one comes back from wait on the caller's goroutine, where
// the server recovers it, instead of ending the process.
func TestSideBySideRunsAllAndRaisesAPanicOnTheCaller(t *testing.T) {
	var ran atomic.Int32
	var sb sideBySide
	for i := range 20 {
		sb.run(func() {
			ran.Add(1)
			if i == 7 {
				panic("fit failed")
			}
		})
	}
	defer func() {
		if r := recover(); r != "fit failed" {
			t.Errorf("wait raised %v, want the fit's panic", r)
		}
		if n := ran.Load(); n != 20 {
			t.Errorf("%d of 20 ran", n)
		}
	}()
	sb.wait()
	t.Error("wait returned without the panic")
}
