package testdb

import (
	"net/url"
	"os"
	"strings"
	"testing"
)

// Variables of the Galera suite, as `.ci/galera start` prints them.
const (
	// EnvGalera lists one mysql:// DSN per node of a Galera cluster,
	// separated by commas.
	EnvGalera = "STEPS_TEST_GALERA_DSNS"
	// EnvGaleraDir is the cluster's directory: node N's pid file is
	// nN/mariadbd.pid there, which the crash test kills.
	EnvGaleraDir = "STEPS_TEST_GALERA_DIR"
)

// Galera returns one DSN per node of the Galera cluster named by
// STEPS_TEST_GALERA_DSNS, all naming the same new, empty database, created
// through the first node (Galera replicates it to the others) and dropped
// when the test ends. Without the variable the test is skipped with a
// message saying how to enable it, except under CI, where it fails.
func Galera(t testing.TB) []string {
	t.Helper()
	list := os.Getenv(EnvGalera)
	if list == "" {
		msg := "Galera tests skipped: run `.ci/galera start` and export the " + EnvGalera + " and " + EnvGaleraDir + " it prints"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run them)")
		}
		t.Skip(msg)
	}
	nodes := strings.Split(list, ",")
	if len(nodes) < 2 {
		t.Fatalf("%s names %d node; a cluster test needs at least two", EnvGalera, len(nodes))
	}
	first := freshDatabase(t, EnvGalera, strings.TrimSpace(nodes[0]))
	u, _ := url.Parse(first)
	dsns := []string{first}
	for _, n := range nodes[1:] {
		v, err := url.Parse(strings.TrimSpace(n))
		if err != nil || v.Scheme != "mysql" {
			t.Fatalf("%s: %q must look like mysql://USER:PASS@HOST:PORT/DB", EnvGalera, n)
		}
		v.Path = u.Path
		dsns = append(dsns, v.String())
	}
	return dsns
}

// GaleraDir returns the cluster's directory (STEPS_TEST_GALERA_DIR), with
// the same skip-or-fail rule as Galera.
func GaleraDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvGaleraDir)
	if dir == "" {
		msg := "Galera crash test skipped: set " + EnvGaleraDir + " as `.ci/galera start` prints it"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run it)")
		}
		t.Skip(msg)
	}
	return dir
}
