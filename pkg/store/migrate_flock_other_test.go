//go:build !linux

package store_test

import "testing"

// holdFlock does nothing where the store takes no flock
// (fileflags_other.go): a lock row is then always another stepsd's.
func holdFlock(t *testing.T, path string) {}
