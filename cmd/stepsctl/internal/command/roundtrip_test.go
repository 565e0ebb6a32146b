package command_test

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestRecordThenList records steps through the commands and lists them in
// every output format, for a terminal and for a pipe.
func TestRecordThenList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	// Piped, record prints the stored step as a plain row.
	r := h.mustRun(false, "record", "--component", "api", "--version", "1.2.0", "--env", "production", "--status", "build", "--owner", "bo")
	if want := "1\t2026-03-02T09:00:00Z\tapi\t1.2.0\tproduction\tbuild\tbo\n"; r.stdout != want {
		t.Errorf("record stdout = %q, want %q", r.stdout, want)
	}
	if r.stderr != "" {
		t.Errorf("record stderr = %q, want nothing", r.stderr)
	}

	// In a terminal, a table; --owner defaults to the current user.
	h.server.Add(3*time.Minute + 12*time.Second)
	h.cli.Set(t0.Add(3*time.Minute + 12*time.Second))
	r = h.mustRun(true, "record", "--component", "api", "--version", "1.2.0", "--env", "production", "--status", "tests")
	want := "" +
		"ID  TIME                        AGE       COMPONENT  VERSION  ENV         STATUS  OWNER\n" +
		"2   2026-03-02 09:03:12 +00:00  just now  api        1.2.0    production  tests   ana\n"
	if r.stdout != want {
		t.Errorf("record in a terminal printed\n%s\nwant\n%s", r.stdout, want)
	}

	// -o json prints the step as an object; -q prints nothing.
	h.server.Add(time.Minute)
	r = h.mustRun(false, "record", "--component", "web", "--version", "=cmd()", "--status", "rollout", "-o", "json")
	var recorded model.Step
	if err := json.Unmarshal([]byte(r.stdout), &recorded); err != nil {
		t.Fatalf("record -o json printed %q: %v", r.stdout, err)
	}
	if recorded.ID != 3 || recorded.Version != "=cmd()" || !recorded.Time.Equal(t0.Add(4*time.Minute+12*time.Second)) {
		t.Errorf("record -o json = %+v", recorded)
	}
	if r := h.mustRun(false, "record", "-q", "--component", "web", "--version", "2", "--status", "finished"); r.stdout != "" {
		t.Errorf("record -q printed %q", r.stdout)
	}
	h.cli.Set(t0.Add(2 * time.Hour))

	t.Run("table in a terminal", func(t *testing.T) {
		r := h.mustRun(true, "list", "--component", "api")
		want := "" +
			"ID  TIME                        AGE     COMPONENT  VERSION  ENV         STATUS  OWNER\n" +
			"1   2026-03-02 09:00:00 +00:00  2h ago  api        1.2.0    production  build   bo\n" +
			"2   2026-03-02 09:03:12 +00:00  1h ago  api        1.2.0    production  tests   ana\n"
		if r.stdout != want {
			t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
		}
	})
	t.Run("plain rows when piped", func(t *testing.T) {
		r := h.mustRun(false, "list")
		want := "" +
			"1\t2026-03-02T09:00:00Z\tapi\t1.2.0\tproduction\tbuild\tbo\n" +
			"2\t2026-03-02T09:03:12Z\tapi\t1.2.0\tproduction\ttests\tana\n" +
			"3\t2026-03-02T09:04:12Z\tweb\t=cmd()\t\trollout\tana\n" +
			"4\t2026-03-02T09:04:12Z\tweb\t2\t\tfinished\tana\n"
		if r.stdout != want {
			t.Errorf("got\n%q\nwant\n%q", r.stdout, want)
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := h.mustRun(true, "list", "-o", "csv", "--component", "web")
		want := "" +
			"component,version,owner,status,ts,environment,id,received_at,revision,committed_at\n" +
			"web,'=cmd(),ana,rollout,2026-03-02 09:04:12,,3,2026-03-02 09:04:12,,\n" +
			"web,2,ana,finished,2026-03-02 09:04:12,,4,2026-03-02 09:04:12,,\n"
		if r.stdout != want {
			t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
		}
		if _, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll(); err != nil {
			t.Errorf("not CSV: %v", err)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := h.mustRun(false, "list", "-o", "json")
		var got []model.Step
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("list -o json printed %q: %v", r.stdout, err)
		}
		if len(got) != 4 || got[2] != recorded {
			t.Errorf("got %+v; step 3 should equal what record printed, %+v", got, recorded)
		}
		if r := h.mustRun(false, "list", "-o", "json", "--component", "none"); r.stdout != "[]\n" {
			t.Errorf("empty list -o json = %q, want []", r.stdout)
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		r := h.mustRun(false, "list", "-o", "ndjson", "--order", "desc")
		got := decodeNDJSON(t, r.stdout)
		if len(lines(r.stdout)) != 4 || len(got) != 4 || got[0].ID != 4 || got[3].ID != 1 {
			t.Errorf("ndjson = %q", r.stdout)
		}
		if !got[1].Time.Equal(recorded.Time) || got[1].Time.Location() != time.UTC {
			t.Errorf("time %v, want %v in UTC", got[1].Time, recorded.Time)
		}
	})
	t.Run("an empty table says so on stderr, and succeeds", func(t *testing.T) {
		r := h.mustRun(true, "list", "--component", "none")
		if r.stdout != "" || r.stderr != "No steps match.\n" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
		if r := h.mustRun(false, "list", "--component", "none"); r.stdout != "" || r.stderr != "" {
			t.Errorf("piped: stdout %q, stderr %q; want nothing", r.stdout, r.stderr)
		}
	})
}

// TestListFilters checks relative spans, combined filters and --limit.
func TestListFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, rec := range []struct{ component, env, status, ago string }{
		{"api", "production", "build", "3h"},
		{"api", "production", "build", "90m"},
		{"api", "staging", "build", "1h"},
		{"api", "production", "tests", "45m"},
		{"web", "production", "build", "30m"},
		{"api", "production", "build", "10m"},
	} {
		h.mustRun(false, "record", "-q", "--component", rec.component, "--version", "1", "--env", rec.env, "--status", rec.status, "--time", rec.ago)
	}
	ids := func(args ...string) string {
		t.Helper()
		r := h.mustRun(false, append([]string{"list", "-o", "ndjson"}, args...)...)
		var s []string
		for _, st := range decodeNDJSON(t, r.stdout) {
			s = append(s, st.Status+"@"+t0.Sub(st.Time).String())
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"since 2h returns only recent steps", []string{"--since", "2h"},
			"build@1h30m0s build@1h0m0s tests@45m0s build@30m0s build@10m0s"},
		{"until a span", []string{"--until", "2h"}, "build@3h0m0s"},
		{"since and until together", []string{"--since", "100m", "--until", "40m"}, "build@1h30m0s build@1h0m0s tests@45m0s"},
		{"filters combine", []string{"--since", "2h", "--component", "api", "--env", "production", "--status", "build"},
			"build@1h30m0s build@10m0s"},
		{"owner filter", []string{"--owner", "nobody"}, ""},
		{"limit holds", []string{"--limit", "2"}, "build@3h0m0s build@1h30m0s"},
		{"limit with newest first", []string{"--order", "desc", "--limit", "3"}, "build@10m0s build@30m0s tests@45m0s"},
		{"datetimes", []string{"--since", "2026-03-02 07:00:00", "--until", "2026-03-02T08:00:00Z"}, "build@1h30m0s build@1h0m0s"},
		{"a date as until means the whole day", []string{"--until", "2026-03-02"}, "build@3h0m0s build@1h30m0s build@1h0m0s tests@45m0s build@30m0s build@10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.args...); got != tc.want {
				t.Errorf("list %s\ngot  %s\nwant %s", strings.Join(tc.args, " "), got, tc.want)
			}
		})
	}
}

// TestListPagesThroughLongLists lists more steps than one page holds.
func TestListPagesThroughLongLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ins := make([]model.StepInput, 2500)
	for i := range ins {
		ins[i] = model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "s", Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	if _, _, err := h.store.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	r := h.mustRun(false, "list")
	if n := len(lines(r.stdout)); n != 2500 {
		t.Errorf("listed %d rows, want 2500", n)
	}
	r = h.mustRun(false, "list", "--limit", "1200", "-o", "ndjson")
	if n := len(decodeNDJSON(t, r.stdout)); n != 1200 {
		t.Errorf("--limit 1200 listed %d, want 1200", n)
	}
	r = h.mustRun(true, "list")
	if n := len(lines(r.stdout)); n != 2500+3 {
		t.Errorf("terminal table has %d lines, want 2500 rows and a header per block of 1000", n)
	}
}

// TestTableTimeGoesBackIntoSince: a time copied from a terminal table, in
// the reader's zone with its offset, means the same instant in --since and
// --until.
func TestTableTimeGoesBackIntoSince(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.loc = time.FixedZone("NPT", 5*3600+45*60) // Kathmandu: +05:45
	for i, status := range []string{"build", "tests", "rollout"} {
		h.server.Set(t0.Add(time.Duration(i) * time.Minute))
		h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", status, "-q")
	}
	r := h.mustRun(true, "list", "--component", "api")
	rows := lines(r.stdout)
	if len(rows) != 4 {
		t.Fatalf("table:\n%s", r.stdout)
	}
	// Columns are two spaces apart; the time itself holds single spaces.
	cell := strings.TrimSpace(strings.Split(rows[2], "  ")[1])
	if want := "2026-03-02 14:46:00 +05:45"; cell != want {
		t.Fatalf("TIME of tests = %q, want %q", cell, want)
	}
	for _, tc := range []struct {
		flag string
		want []string
	}{
		{"--since", []string{"tests", "rollout"}},
		{"--until", []string{"build", "tests"}},
	} {
		got := decodeNDJSON(t, h.mustRun(false, "list", "--component", "api", tc.flag, cell, "-o", "ndjson").stdout)
		var statuses []string
		for _, s := range got {
			statuses = append(statuses, s.Status)
		}
		if strings.Join(statuses, ",") != strings.Join(tc.want, ",") {
			t.Errorf("list %s %q = %v, want %v", tc.flag, cell, statuses, tc.want)
		}
	}
}
