//go:build !race

package command_test

// raceEnabled: see race_test.go.
const raceEnabled = false
