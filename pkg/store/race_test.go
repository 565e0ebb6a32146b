//go:build race

package store_test

// raceEnabled says the race detector is on: it slows the pure-Go SQLite
// tenfold, and adds nothing to a test of memory bounds.
const raceEnabled = true
