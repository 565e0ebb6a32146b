package command_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestImportNewestFirst: steps of one deployment at the same instant are
// numbered in the order stored, so an export listed newest first
// (order=desc) would swap them: the rollout after the finished, the
// deployment left in progress and another opened. Import refuses such a
// file, naming the line, and takes the same export oldest first, which
// gives back the same deployment.
func TestImportNewestFirst(t *testing.T) {
	t.Parallel()
	src := newHarness(t)
	at := t0.Add(-time.Hour)
	src.recordAt("api", "1.0", "production", "build", at)
	src.recordAt("api", "1.0", "production", "rollout", at.Add(time.Minute))
	src.recordAt("api", "1.0", "production", "finished", at.Add(time.Minute))
	wantDeployments := src.serverSays(t, "/v1/deployments?format=csv")

	for format, line := range map[string]int{"csv": 3, "ndjson": 2} { // the header is line 1 of the CSV
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			desc := writeFile(t, "desc."+format, src.serverSays(t, "/v1/steps?order=desc&format="+format))
			r := h.run(false, "import", desc)
			want := fmt.Sprintf("%s:%d: id: this step has the time of the line before it and came before it (id 3, then 2)", desc, line)
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("newest first: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
			if n := len(h.stored()); n != 0 {
				t.Fatalf("newest first: %d steps stored, want none; their deployments\n%s\nwhere the source has\n%s",
					n, h.serverSays(t, "/v1/deployments?format=csv"), wantDeployments)
			}

			asc := writeFile(t, "asc."+format, src.serverSays(t, "/v1/steps?format="+format))
			h.mustRun(false, "import", asc)
			if got := h.serverSays(t, "/v1/deployments?format=csv"); got != wantDeployments {
				t.Errorf("deployments after the import\n%s\nwant\n%s", got, wantDeployments)
			}
		})
	}
}
