package model

import (
	"testing"
	"unsafe"
)

// TestDepRecordSize: a series holds up to seriesRaw records as they came
// (all of them when they come out of order), and docs/analysis.md counts
// their bytes.
func TestDepRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(depRecord{}); n != 56 {
		t.Errorf("depRecord is %d bytes, want 56 (docs/analysis.md counts on it)", n)
	}
}
