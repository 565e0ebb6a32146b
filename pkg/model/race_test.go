//go:build race

package model_test

// raceEnabled: the race detector slows the estimators tenfold, so the
// accuracy tests score fewer histories.
const raceEnabled = true
