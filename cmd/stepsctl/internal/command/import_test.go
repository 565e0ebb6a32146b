package command_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sameSteps compares steps as an import keeps them: everything but the
// id and the receipt time, which the importing server assigns.
func sameSteps(t *testing.T, got, want []model.Step) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d steps, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		g.ID, g.ReceivedAt, w.ID, w.ReceivedAt = 0, time.Time{}, 0, time.Time{}
		if !g.Time.Equal(w.Time) {
			t.Errorf("step %d: time %v, want %v", i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if (g.CommittedAt == nil) != (w.CommittedAt == nil) || g.CommittedAt != nil && !g.CommittedAt.Equal(*w.CommittedAt) {
			t.Errorf("step %d: committed_at %v, want %v", i, g.CommittedAt, w.CommittedAt)
		}
		g.CommittedAt, w.CommittedAt = nil, nil
		if g != w {
			t.Errorf("step %d:\ngot  %+v\nwant %+v", i, g, w)
		}
	}
}

// TestImportFormats imports each format, then again: the second time
// stores nothing.
func TestImportFormats(t *testing.T) {
	t.Parallel()
	// The source: steps with explicit times, an environment or none, and
	// values a spreadsheet would take for formulas.
	src := newHarness(t)
	src.recordAt("api", "1.2.0", "production", "build", t0.Add(-2*time.Hour+123456*time.Microsecond))
	src.recordAt("api", "=HYPERLINK(\"x\")", "production", "tests", t0.Add(-time.Hour))
	src.recordAt("web", "'quoted", "", "-rollback", t0.Add(-30*time.Minute))
	want := src.stored()

	for _, tc := range []struct {
		name   string
		export []string // stepsctl list arguments
		stdin  bool
		format string
	}{
		{"csv", []string{"list", "-o", "csv"}, false, "CSV export"},
		{"ndjson from stdin", []string{"list", "-o", "ndjson"}, true, "NDJSON export"},
	} {
		// Exported before the subtests run in parallel: a harness runs
		// one stepsctl at a time (it keeps the last run's factory).
		export := src.mustRun(false, tc.export...).stdout
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			arg, name := "-", "stdin"
			if tc.stdin {
				h.stdin = export
			} else {
				arg = writeFile(t, "export.csv", export)
				name = arg
			}
			r := h.mustRun(false, "import", arg)
			if want := fmt.Sprintf("%s (%s): 3 step(s) imported, 0 already there.\n", name, tc.format); r.stdout != want {
				t.Errorf("stdout %q, want %q", r.stdout, want)
			}
			if r.stderr != "" {
				t.Errorf("stderr %q", r.stderr)
			}
			sameSteps(t, h.stored(), want)

			r = h.mustRun(false, "import", arg)
			if want := fmt.Sprintf("%s (%s): 0 step(s) imported, 3 already there.\n", name, tc.format); r.stdout != want {
				t.Errorf("again: stdout %q, want %q", r.stdout, want)
			}
			sameSteps(t, h.stored(), want)
		})
	}

	t.Run("the original service's CSV", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		// A guard ('=1) is undone here too, as POST /v1/steps/batch
		// undoes it (TestImportFiveColumnsAsTheServer).
		path := writeFile(t, "old.csv", "component,version,owner,status,ts\r\n"+
			"api,1.0,ana,build,2025-11-20 09:00:00\r\n"+
			"api,1.0,ana,finished,2025-11-20 09:07:30\r\n"+
			"\r\n"+
			"api,'=1,bo,build,2025-11-21 10:00:00\r\n")
		r := h.mustRun(false, "import", path)
		if want := path + " (original service's CSV): 3 step(s) imported, 0 already there.\n"; r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
		steps := h.stored()
		wantSteps := []model.Step{
			{Component: "api", Version: "1.0", Owner: "ana", Status: "build", Time: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)},
			{Component: "api", Version: "1.0", Owner: "ana", Status: "finished", Time: time.Date(2025, 11, 20, 9, 7, 30, 0, time.UTC)},
			{Component: "api", Version: "=1", Owner: "bo", Status: "build", Time: time.Date(2025, 11, 21, 10, 0, 0, 0, time.UTC)},
		}
		sameSteps(t, steps, wantSteps)
		r = h.mustRun(false, "deployments")
		if !strings.HasPrefix(r.stdout, "2025-11-20T09:00:00Z\tapi\t1.0\t\t1\tana\t450\tsuccess\tfalse\tfalse\n") {
			t.Errorf("deployments of the import: %q", r.stdout)
		}
		if r := h.mustRun(false, "import", "-q", path); r.stdout != "" || len(h.stored()) != 3 {
			t.Errorf("import -q again: stdout %q, %d steps", r.stdout, len(h.stored()))
		}
	})
}

// TestImportWithAReadToken: an import the server refuses for its token
// says to fix the token, not to run the same command again.
func TestImportWithAReadToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withTokens("write:ci-secret-1,read:dash-secret-1"))
	path := writeFile(t, "old.csv", "component,version,owner,status,ts\napi,1.0,ana,build,2025-11-20 09:00:00\n")
	for _, token := range []string{"dash-secret-1", "wrong-secret"} {
		r := h.run(false, "--token", token, "import", path)
		if r.code != 1 || !strings.Contains(r.stderr, "again with a write token (--token or STEPSCTL_TOKEN)") || strings.Contains(r.stderr, "run the same command again") {
			t.Errorf("import with token %q: exit %d, stderr %q; want 1 and the advice to use a write token", token, r.code, r.stderr)
		}
	}
	if r := h.run(false, "--token", "ci-secret-1", "import", path); r.code != 0 || len(h.stored()) != 1 {
		t.Errorf("import with the write token: exit %d, stderr %q, %d stored", r.code, r.stderr, len(h.stored()))
	}
}

// TestImportBadLines: every bad line is reported with its line number, and
// nothing is stored.
func TestImportBadLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "old.csv", "component,version,owner,status,ts\n"+
		"api,1.0,ana,build,2025-11-20 09:00:00\n"+
		"api,,ana,tests,2025-11-20 09:01:00\n"+
		"api,1.0,ana,rollout,2025-11-20 09:02:00\n"+
		"api,1.0,ana,finished,yesterday\n"+
		"api,1.0,ana\n"+
		"api,1.0,ana,build,2030-01-01 00:00:00\n")
	r := h.run(false, "import", path)
	want := "" +
		path + ":3: version: version is required\n" +
		path + ":5: ts: \"yesterday\" is not a datetime; use \"YYYY-MM-DD hh:mm[:ss[.ffffff]]\" (UTC), \"YYYY-MM-DD hh:mm:ss +hh:mm\", or RFC 3339 (\"2026-01-02T15:04:05Z\", \"2026-01-02T17:04:05+02:00\"); an offset may also be written +hhmm (\"2026-01-02T17:04:05+0200\", as git and date +%z print it)\n" +
		path + ":6: the row has 3 fields; the header has 5\n" +
		path + ":7: ts: 2030-01-01 00:00:00 is in the future\n" +
		"stepsctl: " + path + ": 4 bad line(s) of 6; nothing was imported\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("%d steps stored, want none", n)
	}

	t.Run("ndjson", func(t *testing.T) {
		h.stdin = `{"component":"api","version":"1","owner":"ana","status":"build","time":"2025-11-20T09:00:00Z"}` + "\n" +
			`{"component":"api","version":"1","owner":"ana","status":"build"}` + "\n" +
			`{"component":"api","version":1,"owner":"ana","status":"build","time":"2025-11-20T09:00:00Z"}` + "\n" +
			`{"component":"api","version":"1","owner":"ana","status":"build","time":"2025-11-20T09:00:00Z","colour":"red"}` + "\n"
		r := h.run(false, "import", "-")
		want := "" +
			"stdin:2: time: the time is missing; an import keeps each step's time, so every row needs one\n" +
			"stdin:3: version: version must be a JSON string\n" +
			"stdin:4: colour: unknown field \"colour\"; a step has component, version, owner, status, environment, time, revision and committed_at\n" +
			"stepsctl: stdin: 3 bad line(s) of 4; nothing was imported\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
		}
	})
	t.Run("ndjson text that is not UTF-8", func(t *testing.T) {
		// encoding/json reads both as U+FFFD; imported so, the steps
		// would be stored other than exported, where CSV refuses them.
		h.stdin = `{"component":"api","version":"1","owner":"ana","status":"build","time":"2025-11-20T09:00:00Z"}` + "\n" +
			"{\"component\":\"api\",\"version\":\"1\",\"owner\":\"an\xffa\",\"status\":\"build\",\"time\":\"2025-11-20T09:00:00Z\"}\n" +
			`{"component":"api","version":"1","owner":"ana","status":"build\ud800","time":"2025-11-20T09:00:00Z"}` + "\n"
		r := h.run(false, "import", "-")
		want := "" +
			"stdin:2: owner: owner must be valid UTF-8, with no lone surrogate escapes such as \\ud800\n" +
			"stdin:3: status: status must be valid UTF-8, with no lone surrogate escapes such as \\ud800\n" +
			"stepsctl: stdin: 2 bad line(s) of 3; nothing was imported\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
		}
		if n := len(h.stored()); n != 0 {
			t.Errorf("%d steps stored, want none", n)
		}
	})
	t.Run("ndjson field given twice", func(t *testing.T) {
		// encoding/json keeps the last; the server refuses such a line.
		h.stdin = `{"component":"api","version":"1","owner":"ana","status":"build","status":"tests","time":"2025-11-20T09:00:00Z"}` + "\n"
		r := h.run(false, "import", "-")
		want := "stdin:1: status: status is given twice in the JSON object; give it once\n" +
			"stepsctl: stdin: 1 bad line(s) of 1; nothing was imported\n"
		if r.code != 1 || r.stderr != want {
			t.Errorf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
		}
		if n := len(h.stored()); n != 0 {
			t.Errorf("%d steps stored, want none", n)
		}
	})
	t.Run("several unknown fields", func(t *testing.T) {
		// A line of "stepsctl deployments -o ndjson", not a step: the
		// same field is named on every run, not one picked at random.
		h.stdin = `{"component":"api","version":"1","environment":"","started_at":"2025-11-20T09:00:00Z","finished_at":null,"attempt":1,"owner":"ana","outcome":"success","steps":[],"stuck":false,"duration_seconds":1,"expected_duration_seconds":null}` + "\n"
		want := "stdin:1: attempt: unknown field \"attempt\"; a step has component, version, owner, status, environment, time, revision and committed_at\n" +
			"stepsctl: stdin: 1 bad line(s) of 1; nothing was imported\n"
		for range 20 {
			if r := h.run(false, "import", "-"); r.code != 1 || r.stderr != want {
				t.Fatalf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
			}
		}
	})
	t.Run("not an export", func(t *testing.T) {
		for content, msg := range map[string]string{
			`[{"component":"api"}]`:                     "the file is a JSON array",
			`{"steps":[{"component":"api"}],"next":""}`: "the file is a JSON list",
			"name,age\nana,3\n":                         `line 1: unknown CSV column "name"`,
			strings.Join(model.DeploymentCSVHeader, ",") + "\napi,1,,1,ana,2026-03-01 10:00:00,,60,success,false,build=60;finished,,,,,,false\n": "line 1: the CSV is a list of deployments (GET /v1/deployments, stepsctl deployments -o csv), not of steps; import an export of steps",
			"component,version,owner,status\n": "the CSV header has no ts column",
		} {
			r := h.run(false, "import", writeFile(t, "x", content))
			if r.code != 1 || !strings.Contains(r.stderr, msg) || len(lines(r.stderr)) != 1 {
				t.Errorf("%q: exit %d, stderr %q; want 1 and one line with %q", content, r.code, r.stderr, msg)
			}
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{{"import"}, {"import", "a", "b"}, {"import", "--batch-size", "0", "f"}, {"import", "--batch-size", "10001", "f"}, {"import", "--format", "xml", "f"}} {
			if r := h.run(false, args...); r.code != 2 {
				t.Errorf("%v: exit %d, want 2", args, r.code)
			}
		}
		if r := h.run(false, "import", filepath.Join(t.TempDir(), "missing.csv")); r.code != 1 || !strings.Contains(r.stderr, "no such file") {
			t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// originalExport returns n lines of the original service's CSV: deploys
// of four steps a minute apart.
func originalExport(n int) string {
	var b strings.Builder
	b.WriteString("component,version,owner,status,ts\n")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&b, "api,%d,ana,%s,%s\n", i/4, []string{"build", "tests", "rollout", "finished"}[i%4],
			start.Add(time.Duration(i)*time.Minute).Format(model.SpreadsheetTime))
	}
	return b.String()
}

// TestImportInterrupted: an import of 100,000 lines of the original
// service's CSV, killed in the middle of a batch after the server stored
// it but before the answer arrived, is run again and stores every line
// exactly once. (10,000 lines with -short or -race.)
func TestImportInterrupted(t *testing.T) {
	t.Parallel()
	// Under the race detector a deduped batch of 1,000 rows takes seconds,
	// and more than a request's 15 s when the whole suite runs beside it:
	// smaller batches keep the test about interruption, not about speed.
	n, batch := 100000, 1000
	if testing.Short() || raceEnabled {
		n, batch = 2500, 250
	}
	cutAt := int32(n / batch * 3 / 10) // the batch during which the import is killed
	var batches atomic.Int32
	var mu sync.Mutex
	var kill context.CancelFunc
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/steps/batch" || batches.Add(1) != cutAt {
				next.ServeHTTP(w, r)
				return
			}
			// Store the batch, then the client dies and its connection with it.
			next.ServeHTTP(httptest.NewRecorder(), r)
			mu.Lock()
			kill()
			mu.Unlock()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
		})
	}))
	path := writeFile(t, "history.csv", originalExport(n))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mu.Lock()
	kill = cancel
	mu.Unlock()
	r := h.runContext(ctx, false, "import", "--batch-size", strconv.Itoa(batch), path)
	if want := fmt.Sprintf("interrupted; import stopped after %d step(s) imported and 0 already there: run the same command again", (cutAt-1)*int32(batch)); r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("interrupted import: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := len(h.stored()); got != int(cutAt)*batch {
		t.Errorf("%d steps stored after the interruption, want %d", got, int(cutAt)*batch)
	}

	r = h.mustRun(false, "import", "--batch-size", strconv.Itoa(batch), path)
	want := fmt.Sprintf("%s (original service's CSV): %d step(s) imported, %d already there.\n", path, n-int(cutAt)*batch, int(cutAt)*batch)
	if r.stdout != want {
		t.Errorf("re-run: stdout %q, want %q", r.stdout, want)
	}
	steps := h.stored()
	if len(steps) != n {
		t.Errorf("%d steps stored, want %d", len(steps), n)
	}
	seen := map[time.Time]bool{}
	for _, s := range steps {
		if seen[s.Time] {
			t.Fatalf("stored twice: %+v", s)
		}
		seen[s.Time] = true
	}
}

// TestImportBatchSizeIsRemembered: batches are keyed by their lines, so a
// re-run with another --batch-size would cut other batches; stepsctl uses
// the first size again.
func TestImportBatchSizeIsRemembered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "history.csv", originalExport(10))
	h.mustRun(false, "import", "--batch-size", "3", path)
	r := h.mustRun(false, "import", path)
	if want := path + " (original service's CSV): 0 step(s) imported, 10 already there.\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "was imported before in batches of 3: using them again instead of the default batch size") {
		t.Errorf("stderr %q", r.stderr)
	}
	if n := len(h.stored()); n != 10 {
		t.Errorf("%d steps stored, want 10", n)
	}
}

// TestImportProgressBar: a progress bar on a terminal's stderr; nothing
// when stderr is piped, nor with -q.
func TestImportProgressBar(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "history.csv", originalExport(50))
	h.errTerminal = true
	r := h.mustRun(false, "import", "--batch-size", "10", path)
	if !strings.Contains(r.stderr, "importing "+path) || !strings.Contains(r.stderr, "/50") {
		t.Errorf("no progress bar on a terminal: %q", r.stderr)
	}
	h.errTerminal = false
	if r := h.mustRun(false, "import", "--batch-size", "10", path); r.stderr != "" {
		t.Errorf("stderr piped: %q", r.stderr)
	}
	h.errTerminal = true
	if r := h.mustRun(false, "import", "-q", "--batch-size", "10", path); r.stderr != "" || r.stdout != "" {
		t.Errorf("-q: stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// TestImportServerRefusal: a row the server refuses though the file passed
// the check (here, a time ahead of a server clock that runs behind) is
// reported at its line; its batch is not stored, those before it are.
func TestImportServerRefusal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.server.Set(t0.Add(-time.Hour))
	soon := t0.Add(-30 * time.Minute).Format(model.SpreadsheetTime) // ahead of the server, not of stepsctl
	path := writeFile(t, "old.csv", "component,version,owner,status,ts\n"+
		"api,1,ana,build,2026-03-01 09:00:00\n"+
		"api,1,ana,finished,2026-03-01 09:05:00\n"+
		"api,2,ana,build,2026-03-01 10:00:00\n"+
		"api,2,ana,finished,"+soon+"\n"+
		"api,3,ana,build,2026-03-01 11:00:00\n")
	r := h.run(false, "import", "--batch-size", "2", path)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	out := lines(r.stderr)
	if len(out) != 2 || !strings.HasPrefix(out[0], path+":5: time: time ") || !strings.Contains(out[0], "is in the future") ||
		!strings.Contains(out[1], "the server refused 1 line(s) of lines 4–5, and stored none of them; import stopped after 2 step(s) imported and 0 already there: fix the file") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if got := statuses(h.stored()); len(got) != 2 {
		t.Errorf("stored %q, want the first batch only", got)
	}
}

// TestImportOverlappingExports: an export imported, then another export
// that holds it and more (our own NDJSON, from a list of the server: ids
// and receipt times differ), stores only the new steps; --no-dedupe stores
// every row.
func TestImportOverlappingExports(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := strings.Split(strings.TrimSuffix(originalExport(12), "\n"), "\n")
	first := writeFile(t, "first.csv", strings.Join(all[:9], "\n")+"\n") // 8 rows
	h.mustRun(false, "import", first)
	// The server's own export of what it holds, with 4 more rows: other
	// batches, other keys, and ids and receipt times of the server's.
	listed := h.mustRun(false, "list", "-o", "ndjson").stdout
	more := writeFile(t, "more.csv", "component,version,owner,status,ts\n"+strings.Join(all[9:], "\n")+"\n")
	h.mustRun(false, "import", more)
	h2 := newHarness(t)
	h2.mustRun(false, "import", more)
	both := writeFile(t, "both.ndjson", listed+h2.mustRun(false, "list", "-o", "ndjson").stdout)
	r := h.mustRun(false, "import", "--batch-size", "5", both)
	if want := both + " (NDJSON export): 0 step(s) imported, 12 already there.\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if n := len(h.stored()); n != 12 {
		t.Errorf("%d steps stored after importing an overlapping export, want 12", n)
	}
	// The same rows in another file: another batch, stored again only
	// when asked to.
	rows := slices.Clone(all[1:9])
	slices.Reverse(rows)
	again := writeFile(t, "again.csv", all[0]+"\n"+strings.Join(rows, "\n")+"\n")
	r = h.mustRun(false, "import", again)
	if want := again + " (original service's CSV): 0 step(s) imported, 8 already there.\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	r = h.mustRun(false, "import", "--no-dedupe", again)
	if want := again + " (original service's CSV): 8 step(s) imported, 0 already there.\n"; r.stdout != want {
		t.Errorf("--no-dedupe: stdout %q, want %q", r.stdout, want)
	}
	if n := len(h.stored()); n != 20 {
		t.Errorf("%d steps stored with --no-dedupe, want 20", n)
	}
}

// TestImportNoDedupeAfterPartlyDedupedRun: a file whose batch was partly
// skipped as already there, imported again with --no-dedupe, stores every
// row instead of failing on the first run's idempotency key.
func TestImportNoDedupeAfterPartlyDedupedRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	all := strings.Split(strings.TrimSuffix(originalExport(8), "\n"), "\n")
	h.mustRun(false, "import", writeFile(t, "half.csv", strings.Join(all[:5], "\n")+"\n")) // 4 rows
	whole := writeFile(t, "whole.csv", strings.Join(all, "\n")+"\n")                       // those 4 and 4 more
	r := h.mustRun(false, "import", whole)
	if want := whole + " (original service's CSV): 4 step(s) imported, 4 already there.\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	r = h.mustRun(false, "import", "--no-dedupe", whole)
	if want := whole + " (original service's CSV): 8 step(s) imported, 0 already there.\n"; r.stdout != want {
		t.Errorf("--no-dedupe: stdout %q, want %q", r.stdout, want)
	}
	if n := len(h.stored()); n != 16 {
		t.Errorf("%d steps stored, want 16", n)
	}
	// Interrupted and run again, --no-dedupe recognises its own batches.
	r = h.mustRun(false, "import", "--no-dedupe", whole)
	if want := whole + " (original service's CSV): 0 step(s) imported, 8 already there.\n"; r.stdout != want {
		t.Errorf("--no-dedupe again: stdout %q, want %q", r.stdout, want)
	}
}

// TestImportRevisionAndCommittedAt: both formats carry a step's revision
// and commit time; a bad commit time is reported on its line.
func TestImportRevisionAndCommittedAt(t *testing.T) {
	t.Parallel()
	committed := time.Date(2025, 11, 20, 8, 0, 0, 500000000, time.UTC)
	want := []model.Step{
		{Component: "api", Version: "1.0", Owner: "ana", Status: "build", Time: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC), Revision: "9f1c2e7", CommittedAt: &committed},
		{Component: "api", Version: "1.0", Owner: "ana", Status: "finished", Time: time.Date(2025, 11, 20, 9, 7, 0, 0, time.UTC)},
	}
	for _, tc := range []struct{ name, file string }{
		{"csv", "component,version,owner,status,ts,environment,id,received_at,revision,committed_at\n" +
			"api,1.0,ana,build,2025-11-20 09:00:00,,1,2025-11-20 09:00:00,9f1c2e7,2025-11-20 08:00:00.500000\n" +
			"api,1.0,ana,finished,2025-11-20 09:07:00,,2,2025-11-20 09:07:00,,\n"},
		{"ndjson", `{"component":"api","version":"1.0","owner":"ana","status":"build","time":"2025-11-20T09:00:00Z","revision":"9f1c2e7","committed_at":"2025-11-20T08:00:00.5Z"}` + "\n" +
			`{"component":"api","version":"1.0","owner":"ana","status":"finished","time":"2025-11-20T09:07:00Z"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.mustRun(false, "import", "-q", writeFile(t, "steps."+tc.name, tc.file))
			sameSteps(t, h.stored(), want)
		})
	}
	h := newHarness(t)
	h.stdin = "component,version,owner,status,ts,committed_at\napi,1.0,ana,build,2025-11-20 09:00:00,soon\n"
	r := h.run(false, "import", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "stdin:2: committed_at: ") {
		t.Errorf("a bad committed_at: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestImportOwnExportWithRevisions: the server's own export, revision and
// commit time included, imported back is recognised row by row.
func TestImportOwnExportWithRevisions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.mustRun(false, "import", "-q", writeFile(t, "steps.csv", "component,version,owner,status,ts,revision,committed_at\n"+
		"api,1.0,ana,build,2025-11-20 09:00:00.123456,9f1c2e7,2025-11-20 08:00:00.500000\n"+
		"api,1.0,ana,finished,2025-11-20 09:07:00,,\n"))
	for _, format := range []string{"ndjson", "csv"} {
		export := writeFile(t, "export."+format, h.mustRun(false, "list", "-o", format).stdout)
		r := h.mustRun(false, "import", export)
		if !strings.HasSuffix(r.stdout, ": 0 step(s) imported, 2 already there.\n") || len(h.stored()) != 2 {
			t.Errorf("%s export imported back: %q, %d stored", format, r.stdout, len(h.stored()))
		}
	}
}

// slowReader gives its text a line at a time, pausing before each: an
// export piped from a slow source.
type slowReader struct {
	lines []string
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.lines) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p, r.lines[0])
	r.lines[0] = r.lines[0][n:]
	if r.lines[0] == "" {
		r.lines = r.lines[1:]
	}
	return n, nil
}

// TestImportTimeoutCountsOnlyTheServer: --timeout bounds the server's
// answers, not the reading of the file. A pipe that takes longer than
// --timeout to give its export (a list of a million steps from another
// server) is imported whole; the time it took was charged to every batch,
// which failed at once with "no response within the time limit".
func TestImportTimeoutCountsOnlyTheServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	export := originalExport(40)
	h.stdinReader = &slowReader{lines: strings.SplitAfter(export, "\n"), pause: 40 * time.Millisecond} // about 1.6 s
	r := h.run(false, "--timeout", "1s", "import", "--batch-size", "10", "-")
	if want := "stdin (original service's CSV): 40 step(s) imported, 0 already there.\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	if got := len(h.stored()); got != 40 {
		t.Errorf("%d steps stored, want 40", got)
	}
}

// TestImportBatchSlowerThanAnAttempt: a batch the server takes longer to
// store than one attempt of a request (10 s; shortened here) is stored
// within --timeout. Cut at the attempt's limit, each try was rolled back
// on the server and the import could never finish, whatever --timeout.
func TestImportBatchSlowerThanAnAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withWrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/steps/batch" {
				time.Sleep(300 * time.Millisecond) // a big batch on a busy database
			}
			next.ServeHTTP(w, r)
		})
	}))
	h.attemptTimeout = 100 * time.Millisecond
	path := writeFile(t, "history.csv", originalExport(20))
	r := h.run(false, "--timeout", "5s", "import", "--batch-size", "10", path)
	if want := path + " (original service's CSV): 20 step(s) imported, 0 already there.\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	if got := len(h.stored()); got != 20 {
		t.Errorf("%d steps stored, want 20", got)
	}
}

// TestImportIntoAStepsdWithoutBatches: the first stepsd release had no
// POST /v1/steps/batch, and answered it as its GET /v1/steps/{id} route
// does (405, GET and HEAD allowed; below, its answer as it was sent).
// import said "run the same command again to finish it", which is refused
// the same way every time; it says that this stepsd is older than
// stepsctl, or not the stepsd meant.
func TestImportIntoAStepsdWithoutBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, `{"error":"method POST is not allowed on /v1/steps/batch; allowed: GET, HEAD","code":"method_not_allowed"}`+"\n")
	}))
	t.Cleanup(first.Close)
	path := writeFile(t, "steps.csv", "component,version,owner,status,ts\napi,1,ana,build,2026-03-01 09:00:00\n")
	r := h.runArgs(context.Background(), false, []string{"--server", first.URL, "import", path})
	if r.code != 1 || strings.Contains(r.stderr, "there: run the same command again") ||
		!strings.Contains(r.stderr, "this stepsd takes no batches: it is older than this stepsctl (upgrade it), or --server is not stepsd's URL") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
