package server_test

import "testing"

// skipVolumeUnderRace skips a test of large volumes that writes or asks
// one request or batch at a time, under -short or -race: the race detector
// slows it sixfold and finds nothing there to check. .ci/run runs each
// such test in its step without -race (TestCIRunsTheVolumeTestsRaceSkips,
// in internal/doctest, keeps that step's list whole).
func skipVolumeUnderRace(t *testing.T, what string) {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skipf("%s: not under -short or -race (.ci/run runs it without -race)", what)
	}
}
