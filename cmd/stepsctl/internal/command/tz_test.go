package command_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if err := os.WriteFile(file, []byte("timezone: Nowhere/Land\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.run(false, "stats"); r.code != 2 || !strings.Contains(r.stderr, "config timezone") {
		t.Errorf("bad config timezone: exit %d %q; want 2 naming it", r.code, r.stderr)
	}
	// A mistake in the calendar settings never stops a deploy's record.
	h.mustRun(false, "record", "--component", "api", "--version", "9", "--status", "build", "-q")
}
