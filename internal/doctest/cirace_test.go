package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCIRunsTheVolumeTestsRaceSkips: a test that skips itself under -race
// (skipVolumeUnderRace) runs in CI only if .ci/run's step without -race
// names it; one left off that list would never run in CI, and pass.
func TestCIRunsTheVolumeTestsRaceSkips(t *testing.T) {
	root := repoRoot(t)
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`go test -count=1 -run '\^\(([A-Za-z0-9_|]+)\)\$'`).FindAllStringSubmatch(string(ci), -1) {
		listed = append(listed, strings.Split(m[1], "|")...)
	}
	funcName := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	var skipping []string
	for _, dir := range []string{"pkg/server", "pkg/store"} {
		files, err := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range regexp.MustCompile(`\n\tskipVolumeUnderRace\(t, `).FindAllIndex(src, -1) {
				names := funcName.FindAllSubmatch(src[:at[0]], -1)
				if len(names) == 0 {
					t.Fatalf("%s: skipVolumeUnderRace outside a test", f)
				}
				skipping = append(skipping, string(names[len(names)-1][1]))
			}
		}
	}
	if len(skipping) == 0 {
		t.Fatal("no test calls skipVolumeUnderRace: the check reads nothing")
	}
	for _, name := range skipping {
		if !slices.Contains(listed, name) {
			t.Errorf("%s skips under -race but .ci/run's step without -race does not run it: add it to that step's -run list", name)
		}
	}
}
