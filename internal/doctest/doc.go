// Package doctest keeps the README and docs/*.md true: its tests compile
// every Go snippet in them against this module, run every shell example
// that can run locally (curl, stepsctl) against a real stepsd on a temp
// SQLite file, run every stepsd command line (those that would serve as
// "stepsd config" with the same flags and variables), and compare the
// outputs the docs show for their example histories (readmeHistory,
// doraHistory) and for "stepsd config" with what the commands print
// today. It has no code of its own beyond the tests.
package doctest
