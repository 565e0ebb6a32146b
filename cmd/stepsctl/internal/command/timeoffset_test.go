package command_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestRecordTimeWithOffsetWithoutColon: a --time whose offset is written
// +hhmm, as git and date +%z print it, is stored as the instant it names,
// by stepsctl record and by the API's own time and committed_at fields.
func TestRecordTimeWithOffsetWithoutColon(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h.server.Set(now)
	h.cli.Set(now)
	at := time.Date(2026, 11, 30, 4, 30, 0, 0, time.UTC)

	r := h.mustRun(false, "record", "--component", "api", "--version", "1", "--status", "build",
		"--time", "2026-11-30T10:00:00+0530", "--revision", "9f1c2e7", "--committed-at", "2026-11-29 23:00:00 -0500", "-o", "json")
	var printed model.Step
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil || !printed.Time.Equal(at) {
		t.Errorf("record printed %q (%v), want the step at %v", r.stdout, err, at)
	}

	form := url.Values{"component": {"api"}, "version": {"1"}, "owner": {"ana"}, "status": {"tests"},
		"time": {"2026-11-30T10:10:00+0530"}, "revision": {"9f1c2e7"}, "committed_at": {"2026-11-29T23:00:00-0500"}}
	resp, err := http.Post(h.url+"/v1/steps", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/steps with time=2026-11-30T10:10:00+0530: %s, want 201", resp.Status)
	}

	steps := h.stored()
	if len(steps) != 2 {
		t.Fatalf("stored %d steps, want 2", len(steps))
	}
	committed := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	for i, want := range []time.Time{at, at.Add(10 * time.Minute)} {
		if s := steps[i]; !s.Time.Equal(want) || s.CommittedAt == nil || !s.CommittedAt.Equal(committed) {
			t.Errorf("stored step %d at %v, committed %v; want %v, committed %v", i, s.Time, s.CommittedAt, want, committed)
		}
	}
}

// TestRecordTimeWithoutOffsetWarnsOffUTC: a --time without an offset is
// UTC, as the API reads it. On a machine whose clock is not on UTC, a
// script's --time "$(date '+%F %T')" named its local time, and the step
// was stored hours away from it without a word; stepsctl now says how it
// read the time, and stays silent where the reading is the same.
func TestRecordTimeWithoutOffsetWarnsOffUTC(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.loc = time.FixedZone("EST", -5*3600)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h.server.Set(now)
	h.cli.Set(now)

	r := h.mustRun(false, "record", "-q", "--component", "api", "--version", "1", "--status", "build",
		"--time", "2026-11-30 07:00:00", "--committed-at", "2026-11-30 06:00:00")
	for _, want := range []string{
		`stepsctl: warning: --time "2026-11-30 07:00:00" has no offset, so it is read as UTC, 2026-11-30 02:00:00 -05:00 here; if it is this machine's time, give its offset: "2026-11-30 07:00:00 -05:00"`,
		`stepsctl: warning: --committed-at "2026-11-30 06:00:00" has no offset, so it is read as UTC, 2026-11-30 01:00:00 -05:00 here`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
	if steps := h.stored(); len(steps) != 1 || !steps[0].Time.Equal(time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("stored %+v: want one step at 07:00 UTC, as documented", steps)
	}

	for _, at := range []string{"2026-11-30 07:00:00 -05:00", "2026-11-30T12:00:00Z", "20m"} {
		if r := h.mustRun(false, "record", "-q", "--component", "api", "--version", "1", "--status", "tests", "--time", at); r.stderr != "" {
			t.Errorf("--time %q: stderr %q, want nothing: the time is the same instant in any zone", at, r.stderr)
		}
	}
	h.loc = time.UTC
	if r := h.mustRun(false, "record", "-q", "--component", "api", "--version", "1", "--status", "rollout", "--time", "2026-11-30 11:00:00"); r.stderr != "" {
		t.Errorf("on UTC: stderr %q, want nothing", r.stderr)
	}
}
