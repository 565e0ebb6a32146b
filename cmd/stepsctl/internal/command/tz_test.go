package command_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestStatsAndDORATimeZone: against a server whose calendar is Sydney's, a
// Monday-morning deploy (Sunday 21:00 UTC) is in Monday's week, the table
// shows Sydney's dates, and --tz, else the config's timezone, asks for
// another zone.
func TestStatsAndDORATimeZone(t *testing.T) {
	t.Parallel()
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withServerConfig(func(c *server.Config) { c.Location = syd }))
	now := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	h.server.Set(now)
	h.cli.Set(now)
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build", "--time", "2026-11-29T21:00:00Z", "-q")
	h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "finished", "--time", "2026-11-29T21:05:00Z", "-q")

	firstStart := func(args ...string) string {
		t.Helper()
		r := h.mustRun(false, append(args, "-o", "json")...)
		var answer struct {
			Buckets []struct{ Start string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || len(answer.Buckets) == 0 {
			t.Fatalf("%v: %v %.300s", args, err, r.stdout)
		}
		return answer.Buckets[0].Start
	}
	for _, cmd := range []string{"stats", "dora"} {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{nil, "2026-11-30T00:00:00+11:00"},
			{[]string{"--tz", "UTC"}, "2026-11-23T00:00:00Z"},
			{[]string{"--tz", "America/New_York"}, "2026-11-23T00:00:00-05:00"},
			// A date is midnight in the calendar's zone, not 11:00 there.
			{[]string{"--by", "sprint", "--sprint-days", "14", "--sprint-start", "2026-11-16"}, "2026-11-30T00:00:00+11:00"},
			{[]string{"--by", "sprint", "--sprint-days", "14", "--sprint-start", "2026-11-16", "--tz", "UTC"}, "2026-11-16T00:00:00Z"},
			// A datetime is the day it names, as written: sprints start at
			// midnight, not at 10:00, nor on the 15th as UTC reads +05:00.
			{[]string{"--by", "sprint", "--sprint-days", "14", "--sprint-start", "2026-11-16 10:00:00"}, "2026-11-30T00:00:00+11:00"},
			{[]string{"--by", "sprint", "--sprint-days", "14", "--sprint-start", "2026-11-16T02:00:00+05:00", "--tz", "UTC"}, "2026-11-16T00:00:00Z"},
		} {
			if got := firstStart(append([]string{cmd}, tt.args...)...); got != tt.want {
				t.Errorf("%s %v: the first bucket starts %s; want %s", cmd, tt.args, got, tt.want)
			}
		}
		if r := h.run(false, cmd, "--tz", "Mars/Olympus"); r.code != 2 || !strings.Contains(r.stderr, "--tz") || !strings.Contains(r.stderr, "Australia/Sydney") {
			t.Errorf("%s --tz Mars/Olympus: exit %d %q; want 2 naming --tz with an example", cmd, r.code, r.stderr)
		}
	}
	if r := h.mustRun(false, "stats"); !strings.Contains(r.stdout, "\n2026-11-30 ") || strings.Contains(r.stdout, "2026-11-29") {
		t.Errorf("the stats table does not show the week of 2026-11-30 in Sydney:\n%s", r.stdout)
	}
	if r := h.mustRun(false, "dora", "--by", "week"); !strings.Contains(r.stdout, "DORA four keys, 2026-11-30 to") {
		t.Errorf("the DORA table does not start on 2026-11-30 in Sydney:\n%s", r.stdout)
	}

	file := filepath.Join(h.env["XDG_CONFIG_HOME"], "stepsctl", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("timezone: UTC\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := firstStart("stats"); got != "2026-11-23T00:00:00Z" {
		t.Errorf("config timezone UTC: the first week starts %s; want 2026-11-23T00:00:00Z", got)
	}
	if got := firstStart("stats", "--tz", "Australia/Sydney"); got != "2026-11-30T00:00:00+11:00" {
		t.Errorf("--tz over the config: the first week starts %s; want 2026-11-30T00:00:00+11:00", got)
	}
	// An unquoted datetime in the file (YAML hands it over as a time) is
	// the day written, not its day in UTC, the 15th.
	if err := os.WriteFile(file, []byte("timezone: UTC\nsprint:\n  start: 2026-11-16T02:00:00+05:00\n  days: 14\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := firstStart("stats", "--by", "sprint"); got != "2026-11-16T00:00:00Z" {
		t.Errorf("config sprint.start 2026-11-16T02:00:00+05:00: the first sprint starts %s; want 2026-11-16T00:00:00Z", got)
	}
	if err := os.WriteFile(file, []byte("timezone: Nowhere/Land\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.run(false, "stats"); r.code != 2 || !strings.Contains(r.stderr, "config timezone") {
		t.Errorf("bad config timezone: exit %d %q; want 2 naming it", r.code, r.stderr)
	}
	// A mistake in the calendar settings never stops a deploy's record.
	h.mustRun(false, "record", "--component", "api", "--version", "9", "--status", "build", "-q")
}

// TestCalendarVariableMistakeNamesTheVariable: a bad STEPSCTL_TIMEZONE,
// STEPSCTL_SPRINT_START or STEPSCTL_SPRINT_DAYS stops stats and dora
// with a message naming the variable, not "config timezone": a user who
// exported it may have no config file to look in. Not parallel: viper
// reads the process's environment.
func TestCalendarVariableMistakeNamesTheVariable(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ env, value string }{
		{"STEPSCTL_TIMEZONE", "Mars/Olympus"},
		{"STEPSCTL_SPRINT_START", "tomorrow"},
		{"STEPSCTL_SPRINT_DAYS", "0"},
	} {
		t.Setenv(tt.env, tt.value)
		h.env[tt.env] = tt.value
		for _, cmd := range []string{"stats", "dora"} {
			if r := h.run(false, cmd); r.code != 2 || !strings.Contains(r.stderr, "stepsctl: "+tt.env) {
				t.Errorf("%s=%s %s: exit %d %q; want 2 naming %s", tt.env, tt.value, cmd, r.code, r.stderr, tt.env)
			}
		}
		os.Unsetenv(tt.env)
		delete(h.env, tt.env)
	}
}

// TestDatesInTimeZone: against a Sydney server, --since and --until given
// as dates are Sydney's days on every command (the date is sent as the
// date), --tz moves them with the buckets, and a datetime or a span stays
// the instant it names, even at midnight UTC.
func TestDatesInTimeZone(t *testing.T) {
	t.Parallel()
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withServerConfig(func(c *server.Config) { c.Location = syd }))
	now := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	h.server.Set(now)
	h.cli.Set(now)
	for i, at := range []string{
		"2026-04-05T22:00:00Z", // 1: Monday 2026-04-06 08:00 in Sydney
		"2026-04-11T20:00:00Z", // 2: Sunday 2026-04-12 06:00
		"2026-04-15T02:00:00Z", // 3: Wednesday 2026-04-15 12:00
		"2026-04-26T21:00:00Z", // 4: Monday 2026-04-27 07:00
	} {
		start, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		v := strconv.Itoa(i + 1)
		h.mustRun(false, "record", "--component", "api", "--version", v, "--status", "build", "--time", at, "-q")
		h.mustRun(false, "record", "--component", "api", "--version", v, "--status", "finished", "--time", start.Add(5*time.Minute).Format(time.RFC3339), "-q")
	}
	versions := func(args ...string) []string {
		t.Helper()
		r := h.mustRun(false, append([]string{"deployments", "-o", "json", "--component", "api"}, args...)...)
		var got []model.Deployment
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("deployments %v: %v %q", args, err, r.stdout)
		}
		var vs []string
		for _, d := range got {
			vs = append(vs, d.Version)
		}
		steps := decodeNDJSON(t, h.mustRun(false, append([]string{"list", "-o", "ndjson", "--component", "api"}, args...)...).stdout)
		if len(steps) != 2*len(vs) {
			t.Errorf("list %v: %d steps; want the %d of deployments %v", args, len(steps), 2*len(vs), vs)
		}
		return vs
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--since", "2026-04-06", "--until", "2026-04-26"}, []string{"1", "2", "3"}},
		{[]string{"--since", "2026-04-13"}, []string{"3", "4"}},
		// A datetime, and a span that lands on midnight UTC, are instants.
		{[]string{"--since", "2026-04-12T00:00:00Z"}, []string{"3", "4"}},
		{[]string{"--since", "28d"}, []string{"3", "4"}},
		{[]string{"--until", "2026-04-26 23:59:59.999999"}, []string{"1", "2", "3", "4"}},
	} {
		if got := versions(tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("deployments %v = %v; want %v", tt.args, got, tt.want)
		}
	}

	dora := func(args ...string) (start string, deployments int, first int) {
		t.Helper()
		r := h.mustRun(false, append([]string{"dora", "-o", "json", "--component", "api", "--by", "week"}, args...)...)
		var answer struct {
			Overall struct {
				Start       string
				Deployments int
			}
			Buckets []struct{ Deployments int }
		}
		if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || len(answer.Buckets) == 0 {
			t.Fatalf("dora %v: %v %.300s", args, err, r.stdout)
		}
		return answer.Overall.Start, answer.Overall.Deployments, answer.Buckets[0].Deployments
	}
	if start, n, first := dora("--since", "2026-04-06", "--until", "2026-04-26"); start != "2026-04-06T00:00:00+10:00" || n != 3 || first != 2 {
		t.Errorf("dora 2026-04-06 to 2026-04-26: from %s, %d deployments, %d in the first week; want from 2026-04-06T00:00:00+10:00, 3, 2", start, n, first)
	}
	if start, n, _ := dora("--since", "2026-04-06", "--until", "2026-04-26", "--tz", "UTC"); start != "2026-04-06T00:00:00Z" || n != 3 {
		t.Errorf("dora --tz UTC: from %s, %d deployments; want from 2026-04-06T00:00:00Z, 3 (the 12th, 15th and 27th in Sydney)", start, n)
	}
	r := h.mustRun(false, "stats", "-o", "json", "--component", "api", "--since", "2026-04-06", "--until", "2026-04-26")
	var st struct{ Deployments int }
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Deployments != 3 {
		t.Errorf("stats 2026-04-06 to 2026-04-26: %v %.300s; want 3 deployments", err, r.stdout)
	}
}
