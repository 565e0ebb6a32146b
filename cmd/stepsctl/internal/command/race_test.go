//go:build race

package command_test

// raceEnabled: the race detector slows the pure-Go SQLite under the test
// server some twentyfold, so the longest tests take less data.
const raceEnabled = true
