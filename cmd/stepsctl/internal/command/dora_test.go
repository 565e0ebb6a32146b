package command_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// doraHistory stores the history of pkg/model's TestDORAHandComputed: in
// the two weeks from November 2, 2026, api and web deploy 9 times to
// production, 4 fail, one failure is never restored, and 3 of the 5
// successes carry a commit time (recorded through the API with the steps).
func doraHistory(t *testing.T, h *harness) {
	t.Helper()
	day := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }
	var none time.Time
	var ins []model.StepInput
	for _, d := range []struct {
		component, version string
		start, end         time.Time
		status             string
		committed          time.Time
	}{
		{"api", "1.0.0", day(2, 10, 0), day(2, 10, 10), "deployed", day(2, 9, 10)},
		{"api", "1.0.1", day(3, 10, 0), day(3, 10, 10), "failed", none},
		{"api", "1.0.2", day(3, 11, 0), day(3, 11, 10), "deployed", none},
		{"api", "1.0.3", day(4, 10, 0), day(4, 10, 20), "deployed", day(3, 10, 20)},
		{"api", "1.0.4", day(5, 10, 0), day(5, 10, 10), "failed", none},
		{"api", "1.0.5", day(9, 10, 0), day(9, 10, 10), "deployed", day(9, 10, 30)},
		{"api", "1.0.6", day(10, 10, 0), day(10, 10, 10), "failed", none},
		{"web", "2.0.0", day(2, 12, 0), day(2, 12, 30), "failed", none},
		{"web", "2.0.1", day(2, 13, 0), day(2, 13, 30), "deployed", day(2, 12, 0)},
		{"web", "2.0.2", day(10, 9, 0), none, "", none},
	} {
		in := model.StepInput{Component: d.component, Version: d.version, Owner: "ana", Status: "build",
			Environment: "production", Time: d.start, CommittedAt: d.committed}
		ins = append(ins, in)
		if d.status != "" {
			in.Status, in.Time = d.status, d.end
			ins = append(ins, in)
		}
	}
	h.server.Set(day(20, 0, 0))
	h.cli.Set(day(20, 0, 0))
	h.recordAll(ins)
}

func TestDORA(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doraHistory(t, h)

	t.Run("the keys with their bands and sparklines", func(t *testing.T) {
		r := h.mustRun(false, "dora", "--since", "2026-11-02", "--until", "2026-11-15")
		want := `DORA four keys, 2026-11-02 to 2026-11-15: 9 finished deployments

KEY                    VALUE                       BAND   BY WEEK
deployment frequency   2.5 a week (5 in 14 days)   high   █▃
change failure rate    44.4 % (18.9–73.3; 4 of 9)  low    ▇█
time to restore        p50 1h00m, p90 3d05h        high   █
lead time for changes  p50 1h30m, p90 19h30m       elite  █

Time to restore from 3 restored failures (fewer than 10, so its p90 is about the slowest); 1 failure not yet restored. Lead time from 3 of 5 successful deployments (60 %) carrying a commit time (fewer than 10, so its p90 is about the slowest).
Bands: elite, high, medium, low by the DORA 2023 State of DevOps thresholds (stepsctl dora --help).
The failure rate's range is its 95 % interval; the band is the rate's, which one deployment can move when there are few.
`
		if r.stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
		}
	})
	t.Run("a failure rate of few deployments says its band is unsure", func(t *testing.T) {
		// web: 1 failure in 2 deployments, 50 %, band low; its interval,
		// 9.5–90.5 %, reaches into the high band.
		r := h.mustRun(false, "dora", "--component", "web", "--since", "2026-11-02", "--until", "2026-11-15")
		for _, want := range []string{
			"50.0 % (9.5–90.5; 1 of 2)",
			"The change failure rate's band is not settled: its 95 % interval spans high to low.",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	for _, format := range []string{"json", "csv"} {
		t.Run("-o "+format+" is the server's", func(t *testing.T) {
			r := h.mustRun(false, "dora", "--component", "api", "--since", "2026-11-02", "--by", "day", "-o", format)
			want := h.serverSays(t, "/v1/dora?component=api&since=2026-11-02&bucket=day&format="+format)
			if r.stdout != want || want == "" {
				t.Errorf("stepsctl:\n%s\nserver:\n%s", r.stdout, want)
			}
		})
	}
	t.Run("nothing found", func(t *testing.T) {
		r := h.mustRun(false, "dora", "--component", "none")
		if r.stdout != "No finished deployments in this range.\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"dora", "--by", "year"}, "--by must be day, week, month or sprint"},
			{[]string{"dora", "--sprint-days", "0"}, "--sprint-days"},
			{[]string{"dora", "--since", "yesterday-ish"}, "since"},
			{[]string{"dora", "--version", "1"}, "unknown flag: --version"},
			{[]string{"dora", "-o", "ndjson"}, `invalid output format "ndjson": use one of table, json, csv`},
		} {
			r := h.run(false, tc.args...)
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, first, tc.want)
			}
		}
	})
	t.Run("help cites the thresholds", func(t *testing.T) {
		r := h.mustRun(false, "dora", "--help")
		for _, want := range []string{"2023 Accelerate State of DevOps Report", "< 1 hour", "stepsctl dora --component api",
			"retried failures", "redeployments", "one change per commit", "Not deployments: 2 failed attempts",
			"95 % interval (Wilson score)", "change_failure_rate_low_percent"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("help lacks %q", want)
			}
		}
	})
}

func TestDORAFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.DORAOptions
	}{
		{cli: "", want: command.DORAOptions{DORA: model.DORAOptions{Bucket: "week"}, Output: "table"}},
		{
			cli: "--component api --env prod --since 90d --until 2026-03-01 --by sprint --sprint-days 10 --sprint-start 2026-01-05 -o csv",
			want: command.DORAOptions{Filter: model.Filter{Component: "api", Environment: "prod"},
				DORA: model.DORAOptions{Bucket: "sprint", SprintDays: 10}, Since: "90d", Until: "2026-03-01", SprintStart: "2026-01-05", Output: "csv"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdDORA, tc.cli, func(o *command.DORAOptions) { o.Factory = nil }, tc.want)
		})
	}
}

// wantEnvironmentNote runs command since 2026-11-02 over doraHistory's
// production deployments: no note with one environment; then, with a
// staging deploy ended by terminal, note without --env and none with
// --env production.
func wantEnvironmentNote(t *testing.T, h *harness, command, terminal, note string) {
	t.Helper()
	if r := h.mustRun(false, command, "--since", "2026-11-02"); strings.Contains(r.stdout, "No --env") {
		t.Errorf("one environment only, yet:\n%s", r.stdout)
	}
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	if _, err := c.RecordBatch(context.Background(), []model.StepInput{
		{Component: "api", Version: "1.0.1", Owner: "ana", Status: "build", Environment: "staging", Time: at},
		{Component: "api", Version: "1.0.1", Owner: "ana", Status: terminal, Environment: "staging", Time: at.Add(5 * time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	if r := h.mustRun(false, command, "--since", "2026-11-02"); !strings.Contains(r.stdout, note) {
		t.Errorf("stdout lacks %q:\n%s", note, r.stdout)
	}
	if r := h.mustRun(false, command, "--env", "production", "--since", "2026-11-02"); strings.Contains(r.stdout, "No --env") {
		t.Errorf("with --env production:\n%s", r.stdout)
	}
}

// TestDORASaysEveryEnvironmentCounts: without --env, a server that also
// records staging gets a note pointing to --env production, whose keys
// DORA means; with --env, or with one environment only, none.
func TestDORASaysEveryEnvironmentCounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doraHistory(t, h)
	wantEnvironmentNote(t, h, "dora", "failed",
		"No --env: every environment counts (these deployments ran in production, staging); the keys are production's: ask with --env production.")
	if r := h.mustRun(false, "dora", "--help"); !strings.Contains(r.stdout, "Ask with --env production.") {
		t.Errorf("help does not teach --env production")
	}
}

// TestEnvironmentNoteReadsTheDeploymentsMeasured: the note that every
// environment counts names those of the deployments measured, not the
// server's: a component deployed only to production gets none on a server
// that also records staging for another, and a history in prod and stage
// is pointed at --env prod.
func TestEnvironmentNoteReadsTheDeploymentsMeasured(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doraHistory(t, h)
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	var ins []model.StepInput
	for i, env := range []string{"staging", "prod", "stage"} {
		start := at.Add(time.Duration(i) * time.Hour)
		ins = append(ins,
			model.StepInput{Component: "web", Version: "3.0." + env, Owner: "ana", Status: "build", Environment: env, Time: start},
			model.StepInput{Component: "web", Version: "3.0." + env, Owner: "ana", Status: "finished", Environment: env, Time: start.Add(5 * time.Minute)})
	}
	if _, err := c.RecordBatch(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"dora", "stats"} {
		if r := h.mustRun(false, command, "--component", "api", "--since", "2026-11-02"); strings.Contains(r.stdout, "No --env") {
			t.Errorf("%s of api, deployed to production only:\n%s", command, r.stdout)
		}
	}
	want := "No --env: every environment counts (these deployments ran in prod, production, stage, staging); the keys are production's: ask with --env production."
	if r := h.mustRun(false, "dora", "--since", "2026-11-02"); !strings.Contains(r.stdout, want) {
		t.Errorf("dora of all lacks %q:\n%s", want, r.stdout)
	}
	want = "No --env: every environment counts in each week's figures (these deployments ran in prod, stage, staging); ask with --env prod for prod's deploys alone."
	if r := h.mustRun(false, "stats", "--component", "web", "--outcome", "all", "--since", "2026-11-03"); !strings.Contains(r.stdout, want) {
		t.Errorf("stats of web lacks %q:\n%s", want, r.stdout)
	}
}

// TestDORAFrequencyAcrossAChangeOfClocks deploys once every day at noon
// in New York for three weeks, across the night the clocks go back, and
// reads "stepsctl dora --tz America/New_York": "1.0 a day", elite, in 21
// days. Before, the server counted 24-hour days (0.998 a day, band high)
// and stepsctl wrote the 505 hours as "21.0 days".
func TestDORAFrequencyAcrossAChangeOfClocks(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	h := newHarness(t)
	var ins []model.StepInput
	for d := 0; d < 21; d++ {
		start := time.Date(2026, 10, 19+d, 12, 0, 0, 0, ny)
		in := model.StepInput{Component: "api", Version: start.Format(time.DateOnly), Owner: "ana", Status: "build",
			Environment: "production", Time: start}
		ins = append(ins, in)
		in.Status, in.Time = "deployed", start.Add(10*time.Minute)
		ins = append(ins, in)
	}
	h.server.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	h.cli.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	h.recordAll(ins)
	r := h.mustRun(false, "dora", "--env", "production", "--tz", "America/New_York", "--since", "2026-10-19", "--until", "2026-11-08")
	if want := "deployment frequency   1.0 a day (21 in 21 days)  elite"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}
}
