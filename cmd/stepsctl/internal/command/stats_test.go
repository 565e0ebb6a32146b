package command_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// weekOne is the Monday of the first week of the stats history.
var weekOne = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// growingHistory stores two deploys of api a week for six weeks, none in
// the fourth, each taking 10 % a week longer than the last: 10 minutes at
// the start, in three steps (build 40 %, tests 50 %, rollout 10 %).
func growingHistory(t *testing.T, h *harness) {
	t.Helper()
	var ins []model.StepInput
	for week := range 6 {
		if week == 3 {
			continue
		}
		for _, day := range []int{1, 3} {
			start := weekOne.AddDate(0, 0, 7*week+day).Add(10 * time.Hour)
			d := time.Duration(600 * math.Pow(1.1, start.Sub(weekOne).Hours()/(24*7)) * float64(time.Second))
			version := start.Format("2006.01.02")
			for _, s := range []struct {
				status string
				at     time.Duration
			}{{"build", 0}, {"tests", d * 4 / 10}, {"rollout", d * 9 / 10}, {"finished", d}} {
				ins = append(ins, model.StepInput{Component: "api", Version: version, Owner: "ana", Status: s.status, Environment: "production", Time: start.Add(s.at)})
			}
		}
	}
	h.recordAll(ins)
}

func TestStats(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	growingHistory(t, h)
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(context.Background(), model.Filter{}, model.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The sentence is the server's; with or without the robust interval
	// in it, it gives the growth a week and a sprint.
	if !strings.HasPrefix(st.Summary, "Deploy time grows 10.0 % a week") || !strings.Contains(st.Summary, "+21.0 % a sprint of 14 days") {
		t.Fatalf("the server's summary %q, want 10.0 %% a week and +21.0 %% a sprint of 14 days", st.Summary)
	}

	t.Run("a table and a chart in a terminal", func(t *testing.T) {
		h.env["NO_COLOR"] = "1"
		defer delete(h.env, "NO_COLOR")
		r := h.mustRun(true, "stats", "--component", "api")
		out := lines(r.stdout)
		if out[0] != "Deploy durations by week (successful deployments)" {
			t.Errorf("title %q", out[0])
		}
		if !strings.HasPrefix(out[2], "WEEK OF     COUNT  P50     P90     MAX     MEAN    P50 CHART") {
			t.Errorf("header %q", out[2])
		}
		for week := range 6 {
			row := out[3+week]
			label := weekOne.AddDate(0, 0, 7*week).Format("2006-01-02")
			if !strings.HasPrefix(row, label+"  ") {
				t.Errorf("row %d = %q, want the week of %s", week, row, label)
			}
			hasBar := strings.ContainsAny(row, "█▉▊▋▌▍▎▏")
			if empty := week == 3; hasBar == empty {
				t.Errorf("row %q: bar %v, want %v", row, hasBar, !empty)
			}
		}
		// The longest bar is the slowest week's p50, full width.
		if !strings.HasSuffix(out[8], strings.Repeat("█", 30)) {
			t.Errorf("the last week's bar is not the full 30 cells: %q", out[8])
		}
		if !strings.Contains(r.stdout, "\nSLOWEST STEPS  SHARE  COUNT") || !strings.Contains(r.stdout, "\ntests          50.0%  10") {
			t.Errorf("no slowest steps, tests first:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "\nSLOWEST STEPS  SHARE  COUNT  P50    P90    MEAN   TOTAL   GROWTH/WEEK  OF GROWTH") {
			t.Errorf("no growth columns:\n%s", r.stdout)
		}
		if st.Trend.Method == "" {
			t.Errorf("stats carry no robust trend method")
		} else {
			// The summary says the trend; the line before says how it was
			// fitted. Every step grows 10 % a week: GROWTH/WEEK says so.
			if !strings.Contains(r.stdout, "\nRobust fit ("+st.Trend.Method+") over 10 deployments.\n") ||
				!strings.Contains(r.stdout, "\ntests          50.0%  10     6m15s  8m14s  6m36s  1h05m   +10.0%") {
				t.Errorf("no robust fit line or step growth:\n%s", r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "\nP50 by week: ") {
			t.Errorf("no sparkline:\n%s", r.stdout)
		}
		if last := out[len(out)-1]; last != st.Summary {
			t.Errorf("last line %q, want the summary %q", last, st.Summary)
		}
		if strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("colours despite NO_COLOR")
		}
	})
	t.Run("colours in a terminal", func(t *testing.T) {
		r := h.mustRun(true, "stats")
		if !strings.Contains(r.stdout, "\x1b[36m█") || !strings.Contains(r.stdout, "\x1b[1m"+st.Summary+"\x1b[0m") {
			t.Errorf("no colours:\n%q", r.stdout)
		}
	})
	t.Run("plain when piped", func(t *testing.T) {
		r := h.mustRun(false, "stats")
		if strings.ContainsAny(r.stdout, "█▉▊▋▌▍▎▏▁▂▃▄▅▆▇\x1b") {
			t.Errorf("piped output has colours or Unicode blocks:\n%s", r.stdout)
		}
		out := lines(r.stdout)
		if n := strings.Count(r.stdout, "#"); n == 0 || !strings.HasSuffix(out[8], strings.Repeat("#", 30)) {
			t.Errorf("no ASCII chart:\n%s", r.stdout)
		}
		if out[len(out)-1] != st.Summary {
			t.Errorf("last line %q", out[len(out)-1])
		}
	})
	t.Run("sprints", func(t *testing.T) {
		r := h.mustRun(false, "stats", "--by", "sprint", "--sprint-days", "21", "--sprint-start", "2026-01-05")
		out := lines(r.stdout)
		if !strings.HasPrefix(out[2], "SPRINT FROM") || !strings.HasPrefix(out[3], "2026-01-05   6 ") || !strings.HasPrefix(out[4], "2026-01-26   4 ") {
			t.Errorf("sprints:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, "a sprint of 21 days") {
			t.Errorf("the growth per sprint is not per 21 days:\n%s", r.stdout)
		}
	})
	for _, format := range []string{"json", "csv"} {
		t.Run("-o "+format+" is the server's", func(t *testing.T) {
			r := h.mustRun(true, "stats", "--by", "month", "-o", format)
			want := h.serverSays(t, "/v1/stats?bucket=month&outcome=success&format="+format)
			if r.stdout != want {
				t.Errorf("stepsctl:\n%s\nserver:\n%s", r.stdout, want)
			}
		})
	}
	t.Run("nothing measured", func(t *testing.T) {
		r := h.mustRun(true, "stats", "--component", "none")
		if r.stdout != "No finished deployments in this range.\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"stats", "--by", "year"}, "--by must be day, week, month or sprint"},
			{[]string{"stats", "--outcome", "won"}, "--outcome must be success, failure or all"},
			{[]string{"stats", "--sprint-days", "0"}, "--sprint-days must be from 1 to 366"},
			{[]string{"stats", "--sprint-start", "monday"}, `--sprint-start: "monday" is not a date; use YYYY-MM-DD, such as 2026-01-05`},
			{[]string{"stats", "-o", "ndjson"}, `invalid output format "ndjson": use one of table, json, csv`},
		} {
			r := h.run(false, tc.args...)
			if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, tc.want) {
				t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, first, tc.want)
			}
		}
	})
}

// TestStatsSprintCalendar: stats takes its sprint from the flags, else the
// config file, else the server's calendar.
func TestStatsSprintCalendar(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withServerConfig(func(c *server.Config) { c.SprintDays = 10 }))
	growingHistory(t, h)
	sprintDays := func(args ...string) int {
		t.Helper()
		r := h.mustRun(false, append([]string{"stats", "--by", "sprint", "-o", "json"}, args...)...)
		var st model.Stats
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return st.SprintDays
	}
	if n := sprintDays(); n != 10 {
		t.Errorf("no flag, no config: %d-day sprints, want the server's 10", n)
	}
	file := filepath.Join(h.env["XDG_CONFIG_HOME"], "stepsctl", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("sprint:\n  start: 2026-01-07\n  days: 21\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := sprintDays(); n != 21 {
		t.Errorf("config sprint.days 21: %d-day sprints", n)
	}
	r := h.mustRun(false, "stats", "--by", "sprint", "-o", "csv")
	if !strings.Contains(r.stdout, "\nbucket,,2026-01-07 00:00:00,2026-01-28 00:00:00,") {
		t.Errorf("config sprint.start 2026-01-07: sprints do not start there:\n%s", r.stdout)
	}
	if n := sprintDays("--sprint-days", "7"); n != 7 {
		t.Errorf("flag over config: %d-day sprints, want 7", n)
	}
	if err := os.WriteFile(file, []byte("sprint:\n  days: fortnight\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.run(false, "stats"); r.code != 2 || !strings.Contains(r.stderr, "config sprint.days") {
		t.Errorf("bad sprint.days: exit %d %q, want 2 naming it", r.code, r.stderr)
	}
	// A mistake in the sprint settings never stops a deploy's record.
	h.mustRun(false, "record", "--component", "api", "--version", "9", "--status", "build", "-q")
}

func TestStatsFlags(t *testing.T) {
	for _, tc := range []struct {
		cli  string
		want command.StatsOptions
	}{
		{
			cli:  "",
			want: command.StatsOptions{Stats: model.StatsOptions{Bucket: "week", Outcome: "success"}, Output: "table"},
		},
		{
			cli:  "--sprint-days 0",
			want: command.StatsOptions{Stats: model.StatsOptions{Bucket: "week", SprintDays: -1, Outcome: "success"}, Output: "table"},
		},
		{
			cli: "--component api --version 1 --owner ana --env prod --since 90d --until 2026-03-01 --by sprint --sprint-days 10 --sprint-start 2026-01-05 --outcome all -o csv",
			want: command.StatsOptions{Filter: model.Filter{Component: "api", Version: "1", Owner: "ana", Environment: "prod"},
				Stats: model.StatsOptions{Bucket: "sprint", SprintDays: 10, Outcome: "all"},
				Since: "90d", Until: "2026-03-01", SprintStart: "2026-01-05", Output: "csv"},
		},
	} {
		t.Run(tc.cli, func(t *testing.T) {
			checkParsed(t, command.NewCmdStats, tc.cli, func(o *command.StatsOptions) { o.Factory = nil }, tc.want)
		})
	}
}

// TestStatsFromNineteenSeventy: one deployment back-dated to 1970 leaves
// the default stats answered (the run of empty weeks is one gap); a range
// that is too large all the same is refused with advice in stepsctl's own
// flags, not the API's parameters.
func TestStatsFromNineteenSeventy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var ins []model.StepInput
	deploy := func(version string, at time.Time) {
		ins = append(ins,
			model.StepInput{Component: "api", Version: version, Owner: "ana", Status: "build", Environment: "production", Time: at},
			model.StepInput{Component: "api", Version: version, Owner: "ana", Status: "finished", Environment: "production", Time: at.Add(90 * time.Second)})
	}
	deploy("0.0.1", time.Date(1970, 1, 2, 9, 0, 0, 0, time.UTC))
	// A deploy a day for 1001 days: more day buckets with data than stats
	// compute over.
	for i := range model.MaxStatsBuckets + 1 {
		deploy(fmt.Sprintf("1.%d", i), time.Date(2023, 1, 2, 9, 0, 0, 0, time.UTC).AddDate(0, 0, i))
	}
	h.recordAll(ins)

	r := h.mustRun(false, "stats", "-o", "json")
	var st model.Stats
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Deployments != model.MaxStatsBuckets+2 || len(st.Buckets) > model.MaxStatsBuckets || st.Buckets[1].Gap == 0 {
		t.Errorf("%d deployments in %d buckets, second %+v; want all in at most %d, the years since 1970 one gap",
			st.Deployments, len(st.Buckets), st.Buckets[1], model.MaxStatsBuckets)
	}
	if r := h.mustRun(false, "stats"); !strings.Contains(r.stdout, "1970-01-05..") {
		t.Errorf("the table does not show the gap as a range of days:\n%s", r.stdout)
	}

	// Without --since, the latest days that fit, and the summary says so.
	r = h.mustRun(false, "stats", "--by", "day")
	if !strings.Contains(r.stdout, "Deployments before 2023-01-") || !strings.Contains(r.stdout, "are left out") {
		t.Errorf("stats --by day does not say what it left out:\n%s", r.stdout)
	}
	// And the four keys, which say it in a note of their own.
	r = h.mustRun(false, "dora", "--by", "day")
	if !strings.Contains(r.stdout, "The period starts on 2023-01-") || !strings.Contains(r.stdout, "ask with --since to reach older ones") {
		t.Errorf("dora --by day does not say where the period was made to start:\n%s", r.stdout)
	}
	r = h.run(false, "stats", "--by", "day", "--since", "2022-12-01")
	want := "narrow the range with --since and --until, or use a larger bucket (--by week, --by month or --by sprint)"
	if r.code != command.ExitFailure || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "since=") {
		t.Errorf("stats --by day --since 2022-12-01: exit %d, stderr %q; want it to say %q", r.code, r.stderr, want)
	}
}

// TestStatsTableShowsOutliers: a week that held only a one-second test
// deploy among weekly 10-minute ones counts 0 deployments (outliers are
// left out of the figures) and read "0 -" in the table, as if nobody
// deployed. The table says what each bucket left out; -o json and -o csv
// stay the server's bytes.
func TestStatsTableShowsOutliers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var ins []model.StepInput
	deploy := func(version string, at time.Time, d time.Duration) {
		ins = append(ins,
			model.StepInput{Component: "api", Version: version, Owner: "ana", Status: "build", Environment: "production", Time: at},
			model.StepInput{Component: "api", Version: version, Owner: "ana", Status: "finished", Environment: "production", Time: at.Add(d)})
	}
	monday := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	for week := range 12 {
		at := monday.AddDate(0, 0, 7*week+2).Add(10 * time.Hour)
		if week == 6 {
			deploy("0.0.1", at, time.Second)
			continue
		}
		deploy(fmt.Sprintf("1.%d", week), at, 10*time.Minute+time.Duration(week)*time.Second)
	}
	c := h.recordAll(ins)
	st, err := c.Stats(context.Background(), model.Filter{}, model.StatsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := st.Buckets[6]; b.Count != 0 || b.Outliers != 1 {
		t.Fatalf("week 7: %d counted, %d outliers; want the test deploy as the week's only outlier", b.Count, b.Outliers)
	}
	for _, terminal := range []bool{true, false} {
		r := h.mustRun(terminal, "stats")
		out := lines(r.stdout)
		if want := "WEEK OF     COUNT  OUTLIERS  P50     P90     MAX     MEAN    P50 CHART"; out[2] != want {
			t.Errorf("terminal %v: header %q, want %q", terminal, out[2], want)
		}
		if want := "2025-10-13  0      1         -       -       -       -"; out[9] != want {
			t.Errorf("terminal %v: the week of the test deploy %q, want %q", terminal, out[9], want)
		}
		if want := "2025-10-06  1      0         10m05s  10m05s  10m05s  10m05s"; !strings.HasPrefix(out[8], want) {
			t.Errorf("terminal %v: the week before %q, want %q…", terminal, out[8], want)
		}
	}
	for _, format := range []string{"json", "csv"} {
		r := h.mustRun(true, "stats", "-o", format)
		if want := h.serverSays(t, "/v1/stats?bucket=week&outcome=success&format="+format); r.stdout != want {
			t.Errorf("-o %s: stepsctl\n%s\nserver\n%s", format, r.stdout, want)
		}
	}
}

// TestStatsListsTheShifts: a history flat at 10 minutes that jumps to 14
// on one day reads "grows … a week" in the server's sentence; stepsctl
// stats lists the shift under it, as stepsctl changes words it, so that
// the rate is not taken for a steady growth. A flat history lists none.
func TestStatsListsTheShifts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.server.Set(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	h.cli.Set(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	monday := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var ins []model.StepInput
	for i := range 60 {
		at := monday.Add(time.Duration(i) * 60 * time.Hour)
		tests := 300 * (1 + 0.05*math.Sin(float64(i)*1.7))
		if i >= 30 {
			tests += 240
		}
		build := 240 * (1 + 0.05*math.Cos(float64(i)*2.3))
		for _, component := range []string{"api", "web"} {
			jump := tests // web stays flat
			if component == "web" {
				jump = 300 * (1 + 0.05*math.Sin(float64(i)*1.7))
			}
			version := fmt.Sprintf("1.%d", i)
			ins = append(ins,
				model.StepInput{Component: component, Version: version, Owner: "ana", Status: "build", Environment: "production", Time: at},
				model.StepInput{Component: component, Version: version, Owner: "ana", Status: "tests", Environment: "production", Time: at.Add(time.Duration(build * float64(time.Second)))},
				model.StepInput{Component: component, Version: version, Owner: "ana", Status: "finished", Environment: "production",
					Time: at.Add(time.Duration((build + jump) * float64(time.Second)))})
		}
	}
	c := h.recordAll(ins)
	cs, err := c.Changes(context.Background(), model.Filter{Component: "api"}, model.ChangesOptions{})
	if err != nil || len(cs.Changes) != 1 {
		t.Fatalf("changes of api: %v %+v; want the one shift", err, cs)
	}
	r := h.mustRun(false, "stats", "--component", "api")
	if !strings.Contains(r.stdout, "Deploy time grows") {
		t.Fatalf("the one shift does not read as growth, the case this is about:\n%s", r.stdout)
	}
	// The sentence, which gives a rate, names the shift; the list follows.
	if !strings.Contains(r.stdout, "Deploy time shifted at once on ") {
		t.Errorf("the sentence does not name the shift it counts in:\n%s", r.stdout)
	}
	want := "\nShifts of deploy time (stepsctl changes):\n  " +
		strings.TrimSpace(h.mustRun(false, "changes", "--component", "api").stdout) + "\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stats does not end with the shift:\n%s\nwant the end:\n%s", r.stdout, want)
	}
	if r := h.mustRun(false, "stats", "--component", "web"); strings.Contains(r.stdout, "shifted") {
		t.Errorf("a flat history lists a shift:\n%s", r.stdout)
	}
}

// TestStatsSaysEveryEnvironmentCounts: without --env a staging deploy
// counts in each bucket's p50 beside production's; stats says so when the
// server records several environments, and not with --env or with one.
func TestStatsSaysEveryEnvironmentCounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doraHistory(t, h)
	wantEnvironmentNote(t, h, "stats", "finished",
		"No --env: every environment counts in each week's figures (these deployments ran in production, staging); ask with --env production for production's deploys alone.")
}

// TestStatsListsTheSeries: with several series (component and
// environment), stats lists each one's deployments and own growth under
// the slowest steps, after the server's figures; with one it lists none.
func TestStatsListsTheSeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.server.Set(weekOne.AddDate(0, 6, 0))
	var ins []model.StepInput
	for _, c := range []struct {
		component string
		rate      float64
	}{{"api", 4}, {"web", -3}} {
		for i := range 40 {
			start := weekOne.AddDate(0, 0, 2*i).Add(10 * time.Hour)
			f := math.Pow(1+c.rate/100, float64(2*i)/7) * math.Exp(0.05*math.Sin(float64(i)*2.3))
			d := time.Duration(600 * f * float64(time.Second))
			version := fmt.Sprintf("1.%d", i)
			ins = append(ins,
				model.StepInput{Component: c.component, Version: version, Owner: "ana", Status: "build", Environment: "production", Time: start},
				model.StepInput{Component: c.component, Version: version, Owner: "ana", Status: "finished", Environment: "production", Time: start.Add(d)})
		}
	}
	c := h.recordAll(ins)
	st, err := c.Stats(context.Background(), model.Filter{}, model.StatsOptions{})
	if err != nil || len(st.Series) != 2 {
		t.Fatalf("stats: %v, series %+v", err, st.Series)
	}
	row := func(s model.SeriesStats) string {
		return fmt.Sprintf("%s in production  40           %+.1f%%        %+.1f to %+.1f%%", s.Component, s.Trend.GrowthPercentPerWeek,
			s.Trend.GrowthPercentPerWeekLow, s.Trend.GrowthPercentPerWeekHigh)
	}
	want := "\nSERIES             DEPLOYMENTS  GROWTH/WEEK  95% INTERVAL\n" + row(st.Series[0]) + "\n" + row(st.Series[1]) + "\n"
	for _, terminal := range []bool{true, false} {
		r := h.mustRun(terminal, "stats")
		if !strings.Contains(r.stdout, want) {
			t.Errorf("terminal %v: stats lacks\n%s\nin\n%s", terminal, want, r.stdout)
		}
		if !strings.Contains(r.stdout, st.Summary) || !strings.Contains(st.Summary, "The trend blends 2 series") {
			t.Errorf("terminal %v: summary %q", terminal, st.Summary)
		}
	}
	if r := h.mustRun(false, "stats", "--component", "api"); strings.Contains(r.stdout, "SERIES") {
		t.Errorf("one series listed as a table:\n%s", r.stdout)
	}
}

// TestStatsFitsTheTerminal: in an 80-column terminal, a year of daily
// deploys drew a sparkline of 365 cells, which the terminal broke into
// five lines, and sprints of 12-minute deploys made table rows of 84
// cells, each broken in two. The chart is fitted to the terminal: the
// bars are shorter and the sparkline shows the latest buckets that fit,
// saying so.
func TestStatsFitsTheTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dailyHistory(h)
	h.env["NO_COLOR"] = "1"
	h.width = 80
	for _, by := range []string{"day", "sprint"} {
		r := h.mustRun(true, "stats", "--by", by)
		out := lines(r.stdout)
		// The buckets' table, to its blank line, and the sparkline: the
		// sentences are prose, which a terminal wraps well enough.
		chart := out[2 : 2+slices.Index(out[2:], "")]
		for _, line := range out {
			if strings.HasPrefix(line, "P50 by ") {
				chart = append(chart, line)
			}
		}
		for _, line := range chart {
			if w := runewidth.StringWidth(line); w >= h.width {
				t.Errorf("--by %s: a line of %d cells in a terminal of %d:\n%s", by, w, h.width, line)
			}
		}
		if by == "day" && !strings.Contains(r.stdout, "P50 by day, the latest ") {
			t.Errorf("--by day: the sparkline does not say it shows the latest days:\n%s", r.stdout)
		}
	}
	// Width unknown (0): the chart as before, 30 cells at the longest.
	h.width = 0
	r := h.mustRun(true, "stats", "--by", "sprint")
	if !strings.Contains(r.stdout, strings.Repeat("█", 30)) {
		t.Errorf("without a width, the longest bar is not 30 cells:\n%s", r.stdout)
	}
}

// dailyHistory records a deploy of api in production each day of 2025,
// of 10 to 12 minutes.
func dailyHistory(h *harness) {
	var ins []model.StepInput
	first := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range 365 {
		at := first.AddDate(0, 0, i)
		v := fmt.Sprintf("1.%d", i)
		took := time.Duration(600+i%7*20) * time.Second
		ins = append(ins,
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "build", Environment: "production", Time: at},
			model.StepInput{Component: "api", Version: v, Owner: "ana", Status: "finished", Environment: "production", Time: at.Add(took)})
	}
	h.recordAll(ins)
}

// TestStatsMarksPartialBuckets: --since and --until in the middle of
// sprints showed their first and last sprints with 2 and 6 deployments
// beside sprints of 14, as if the team had hardly deployed. The table
// marks them and says why.
func TestStatsMarksPartialBuckets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dailyHistory(h)
	// Sprints of 14 days from 2024-01-01: 2025-03-10, 03-24, 04-07.
	r := h.mustRun(false, "stats", "--by", "sprint", "--since", "2025-03-15", "--until", "2025-04-19")
	out := lines(r.stdout)
	for i, want := range []string{"2025-03-10*  9 ", "2025-03-24   14 ", "2025-04-07*  13 ",
		"* part of a sprint only: the range (--since, --until) or today cuts it"} {
		if !strings.HasPrefix(out[3+i], want) {
			t.Errorf("line %d %q, want it to start %q", 3+i, out[3+i], want)
		}
	}
}

// TestStatsSeriesFitTheTerminal: series of long component names in
// environments such as perf-eu-west-1 made rows of the series table wider
// than an 80-column terminal, each broken in two. Their names are cut
// there, in their middle (the start and end of a name tell it from its
// neighbours); piped (no width), they are whole.
func TestStatsSeriesFitTheTerminal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	long := "payments-reconciliation-service-backend-worker"
	var ins []model.StepInput
	for _, env := range []string{"perf-eu-west-1", "production"} {
		for i := range 12 {
			at := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i)
			v := fmt.Sprintf("1.%d", i)
			ins = append(ins,
				model.StepInput{Component: long, Version: v, Owner: "ana", Status: "build", Environment: env, Time: at},
				model.StepInput{Component: long, Version: v, Owner: "ana", Status: "finished", Environment: env, Time: at.Add(10 * time.Minute)})
		}
	}
	h.recordAll(ins)
	h.env["NO_COLOR"] = "1"
	h.width = 80
	r := h.mustRun(true, "stats")
	out := lines(r.stdout)
	i := slices.IndexFunc(out, func(l string) bool { return strings.HasPrefix(l, "SERIES ") })
	if i < 0 || i+2 >= len(out) {
		t.Fatalf("no series table:\n%s", r.stdout)
	}
	for _, line := range out[i : i+3] {
		if w := runewidth.StringWidth(line); w >= h.width {
			t.Errorf("a series line of %d cells in a terminal of %d:\n%s", w, h.width, line)
		}
		if line != out[i] && (!strings.HasPrefix(line, "payments-") || !strings.Contains(line, "…") || !strings.Contains(line, "-worker in ")) {
			t.Errorf("series row %q, want the middle of the component cut with …", line)
		}
	}
	h.width = 0
	if r := h.mustRun(true, "stats"); !strings.Contains(r.stdout, long+" in perf-eu-west-1") {
		t.Errorf("without a width, the series' names are cut:\n%s", r.stdout)
	}
}
