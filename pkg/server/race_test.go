//go:build race

package server_test

// raceEnabled says the race detector is on: tests that measure under load
// use smaller sizes, since it slows the pure-Go SQLite tenfold.
const raceEnabled = true
