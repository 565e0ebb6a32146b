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
