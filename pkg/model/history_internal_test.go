package model

import (
	"testing"
	"unsafe"
)

// TestDepRecordSize: the history holds a record per deployment, a million
// of them for a large request; the add order (seq) was fitted in without
// growing it.
func TestDepRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(depRecord{}); n != 48 {
		t.Errorf("depRecord is %d bytes, want 48 (docs/analysis.md counts on it)", n)
	}
}
