package command_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/pkg/model"
)

// recordAt records a step with an explicit time, as a deploy script that
// sends its steps late would.
func (h *harness) recordAt(component, version, env, status string, at time.Time) {
	h.t.Helper()
	args := []string{"record", "-q", "--component", component, "--version", version, "--status", status, "--time", at.Format(time.RFC3339Nano)}
	if env != "" {
		args = append(args, "--env", env)
	}
	h.mustRun(false, args...)
}

// deployHistory records, with fixed times before t0 (09:00):
//   - web 1.9: build at 06:00 and nothing since: in progress, stuck;
//   - api 1.2.0 in production: build, tests, rollout, finished: 12m30s;
//   - api 1.2.1 in production: build, failed (5m05s), then again: build,
//     finished (10m00s), its second attempt;
//   - web 2.0: build, then rollout 5 minutes ago: in progress, not stuck.
//
// The steps are sent out of order: the server orders them by time.
func deployHistory(h *harness) {
	at := func(hms string) time.Time {
		t, err := time.Parse("15:04:05", hms)
		if err != nil {
			h.t.Fatal(err)
		}
		return time.Date(2026, 3, 2, t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	}
	h.recordAt("api", "1.2.0", "production", "tests", at("07:03:12"))
	h.recordAt("api", "1.2.0", "production", "build", at("07:00:00"))
	h.recordAt("api", "1.2.0", "production", "rollout", at("07:10:00"))
	h.recordAt("api", "1.2.0", "production", "finished", at("07:12:30"))
	h.recordAt("api", "1.2.1", "production", "build", at("07:30:00"))
	h.recordAt("api", "1.2.1", "production", "failed", at("07:35:05"))
	h.recordAt("api", "1.2.1", "production", "build", at("07:40:00"))
	h.recordAt("api", "1.2.1", "production", "finished", at("07:50:00"))
	h.recordAt("web", "2.0", "", "build", at("08:50:00"))
	h.recordAt("web", "2.0", "", "rollout", at("08:55:00"))
	h.recordAt("web", "1.9", "", "build", at("06:00:00"))
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	deployHistory(h)

	t.Run("table in a terminal", func(t *testing.T) {
		r := h.mustRun(true, "deployments")
		want := "" +
			"STARTED                     COMPONENT  VERSION  ENV         ATTEMPT  OWNER  DURATION  OUTCOME\n" +
			"2026-03-02 06:00:00 +00:00  web        1.9                  1        ana    3h00m     in progress, stuck\n" +
			"2026-03-02 07:00:00 +00:00  api        1.2.0    production  1        ana    12m30s    success\n" +
			"2026-03-02 07:30:00 +00:00  api        1.2.1    production  1        ana    5m05s     failure\n" +
			"2026-03-02 07:40:00 +00:00  api        1.2.1    production  2        ana    10m00s    success\n" +
			"2026-03-02 08:50:00 +00:00  web        2.0                  1        ana    10m00s    in progress\n"
		if r.stdout != want {
			t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
		}
	})
	t.Run("--steps adds the breakdown", func(t *testing.T) {
		r := h.mustRun(true, "deployments", "--steps", "--component", "api")
		want := "" +
			"STARTED                     COMPONENT  VERSION  ENV         ATTEMPT  OWNER  DURATION  OUTCOME  STEPS\n" +
			"2026-03-02 07:00:00 +00:00  api        1.2.0    production  1        ana    12m30s    success  build 3m12s › tests 6m48s › rollout 2m30s › finished\n" +
			"2026-03-02 07:30:00 +00:00  api        1.2.1    production  1        ana    5m05s     failure  build 5m05s › failed\n" +
			"2026-03-02 07:40:00 +00:00  api        1.2.1    production  2        ana    10m00s    success  build 10m00s › finished\n"
		if r.stdout != want {
			t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
		}
		r = h.mustRun(true, "deployments", "--steps", "--component", "web", "--order", "desc", "--limit", "1")
		if !strings.Contains(r.stdout, "build 5m00s › rollout 5m00s…\n") {
			t.Errorf("the running step of a deployment in progress:\n%s", r.stdout)
		}
	})
	t.Run("plain rows when piped", func(t *testing.T) {
		r := h.mustRun(false, "deployments", "--steps", "--status", "build", "--since", "2026-03-02 07:00:00", "--until", "2026-03-02 07:59:59")
		want := "" +
			"2026-03-02T07:00:00Z\tapi\t1.2.0\tproduction\t1\tana\t750\tsuccess\tfalse\tbuild=192;tests=408;rollout=150;finished\tfalse\n" +
			"2026-03-02T07:30:00Z\tapi\t1.2.1\tproduction\t1\tana\t305\tfailure\tfalse\tbuild=305;failed\tfalse\n" +
			"2026-03-02T07:40:00Z\tapi\t1.2.1\tproduction\t2\tana\t600\tsuccess\tfalse\tbuild=600;finished\tfalse\n"
		if r.stdout != want {
			t.Errorf("got\n%q\nwant\n%q", r.stdout, want)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := h.mustRun(true, "deployments", "-o", "json", "--component", "web")
		var got []model.Deployment
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: %q", err, r.stdout)
		}
		if len(got) != 2 {
			t.Fatalf("got %d deployments, want 2", len(got))
		}
		stuck := got[0]
		if stuck.Version != "1.9" || stuck.Outcome != model.OutcomeInProgress || !stuck.Stuck || stuck.DurationSeconds != 3*3600 || stuck.FinishedAt != nil {
			t.Errorf("stuck deployment: %+v", stuck)
		}
		running := got[1]
		if running.Stuck || len(running.Steps) != 2 || *running.Steps[0].DurationSeconds != 300 || running.Steps[1].DurationSeconds != nil {
			t.Errorf("deployment in progress: %+v", running)
		}
	})
	// -o csv and -o ndjson print what the server's own formats do, byte
	// for byte, though stepsctl fetches JSON page by page.
	for _, format := range []string{"csv", "ndjson"} {
		t.Run(format+" as the server's", func(t *testing.T) {
			r := h.mustRun(false, "deployments", "-o", format)
			want := h.serverSays(t, "/v1/deployments?format="+format)
			if r.stdout != want {
				t.Errorf("stepsctl:\n%s\nserver:\n%s", r.stdout, want)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		r := h.mustRun(true, "deployments", "--component", "none")
		if r.stdout != "" || r.stderr != "No deployments match.\n" {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
		if r := h.mustRun(false, "deployments", "--component", "none", "-o", "json"); r.stdout != "[]\n" {
			t.Errorf("json: %q", r.stdout)
		}
	})
}

// TestSubSecondPhasesShowMilliseconds: steps a few milliseconds apart (a
// first try of the tool, steps sent by a script one after the other) show
// their phases in milliseconds, not as "0.0s" each.
func TestSubSecondPhasesShowMilliseconds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.recordAt("api", "1.2.0", "production", "build", t0.Add(-time.Minute))
	h.recordAt("api", "1.2.0", "production", "rollout", t0.Add(-time.Minute+13*time.Millisecond))
	h.recordAt("api", "1.2.0", "production", "finished", t0.Add(-time.Minute+32*time.Millisecond))
	r := h.mustRun(true, "deployments", "--steps")
	if !strings.Contains(r.stdout, " 32ms ") || !strings.Contains(r.stdout, "build 13ms › rollout 19ms › finished") {
		t.Errorf("want the deployment's 32ms and its phases in milliseconds:\n%s", r.stdout)
	}
}

func TestDeploymentsFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.DeploymentsOptions
	}{
		{
			cli:  "",
			want: command.DeploymentsOptions{Filter: model.Filter{Order: "asc"}, Output: "table"},
		},
		{
			cli: "--since 7d --until 2026-03-01 --component api --version 1 --owner ana --status build --env prod --limit 5 --order desc --steps -o csv",
			want: command.DeploymentsOptions{Filter: model.Filter{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "prod", Limit: 5, Order: "desc"},
				Since: "7d", Until: "2026-03-01", Steps: true, Output: "csv"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdDeployments, tc.cli, func(o *command.DeploymentsOptions) { o.Factory = nil }, tc.want)
		})
	}
}

// TestTablesShowTheRevision checks that the tables of deployments and
// steps show the commit deployed, cut to 12 hex digits, once any row has
// one, with "-" for the rows without; and that the piped rows, which
// scripts cut by position, stay as they were.
func TestTablesShowTheRevision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	at := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)
	h.recordAt("api", "1.0", "production", "build", at)
	h.recordAt("api", "1.0", "production", "finished", at.Add(time.Minute))
	const sha = "9f1c2e7d4b3a5c6d7e8f9a0b1c2d3e4f5a6b7c8d"
	for i, status := range []string{"build", "finished"} {
		h.mustRun(false, "record", "-q", "--component", "api", "--version", "1.1", "--env", "production", "--status", status,
			"--time", at.Add(time.Hour+time.Duration(i)*time.Minute).Format(time.RFC3339), "--revision", sha)
	}

	r := h.mustRun(true, "deployments")
	want := "" +
		"STARTED                     COMPONENT  VERSION  REVISION      ENV         ATTEMPT  OWNER  DURATION  OUTCOME\n" +
		"2026-03-02 07:00:00 +00:00  api        1.0      -             production  1        ana    1m00s     success\n" +
		"2026-03-02 08:00:00 +00:00  api        1.1      9f1c2e7d4b3a  production  1        ana    1m00s     success\n"
	if r.stdout != want {
		t.Errorf("deployments:\n%s\nwant\n%s", r.stdout, want)
	}
	r = h.mustRun(true, "list", "--version", "1.1", "--status", "build")
	if lines := strings.Split(r.stdout, "\n"); len(lines) < 2 ||
		!strings.Contains(lines[0], "  VERSION  REVISION      ENV") || !strings.Contains(lines[1], "  1.1      9f1c2e7d4b3a  production") {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := h.mustRun(true, "deployments", "--version", "1.0"); strings.Contains(r.stdout, "REVISION") {
		t.Errorf("no deployment has a revision, yet the table has the column:\n%s", r.stdout)
	}
	r = h.mustRun(false, "deployments", "--version", "1.1")
	if want := "2026-03-02T08:00:00Z\tapi\t1.1\tproduction\t1\tana\t60\tsuccess\tfalse\tfalse\n"; r.stdout != want {
		t.Errorf("piped:\n%q\nwant\n%q", r.stdout, want)
	}
}

// TestAbandonedDeployEndedLate follows docs/api.md's "A deploy that never
// ended": a run that stopped without a terminal step and its rerun the next
// day are one day-long deployment until an aborted step, sent late at the
// run's own time, ends the first and makes the rerun attempt 2.
func TestAbandonedDeployEndedLate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	h.recordAt("api", "1.4.0", "production", "build", at("2026-02-28T10:00:00Z"))
	h.recordAt("api", "1.4.0", "production", "rollout", at("2026-02-28T10:05:00Z"))
	h.recordAt("api", "1.4.0", "production", "build", at("2026-03-01T09:00:00Z"))
	h.recordAt("api", "1.4.0", "production", "finished", at("2026-03-01T09:06:00Z"))
	list := func() string {
		t.Helper()
		return h.mustRun(true, "deployments", "--component", "api").stdout
	}
	if got := list(); !strings.Contains(got, " 1        ana    23h06m    success\n") || strings.Count(got, "\n") != 2 {
		t.Fatalf("before the aborted step, want one deployment of 23h06m:\n%s", got)
	}
	h.recordAt("api", "1.4.0", "production", "aborted", at("2026-02-28T10:05:01Z"))
	want := "" +
		"STARTED                     COMPONENT  VERSION  ENV         ATTEMPT  OWNER  DURATION  OUTCOME\n" +
		"2026-02-28 10:00:00 +00:00  api        1.4.0    production  1        ana    5m01s     failure\n" +
		"2026-03-01 09:00:00 +00:00  api        1.4.0    production  2        ana    6m00s     success\n"
	if got := list(); got != want {
		t.Errorf("after the aborted step:\n%s\nwant\n%s", got, want)
	}
}
