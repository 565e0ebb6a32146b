package model_test

import (
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestParseSpan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: an error
	}{
		{"90m", 90 * time.Minute},
		{"36h", 36 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"45s", 45 * time.Second},
		{" 7d ", 7 * 24 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"0d", 0},
		{"-2h", 0},
		{"d", 0},
		{"7", 0},
		{"7x", 0},
		{"2026-03-01", 0},
		{"99999999d", 0},
		{"", 0},
	} {
		got, err := model.ParseSpan(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseSpan(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSinceUntilAt(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in         string
		since, til time.Time
	}{
		{"2h", now.Add(-2 * time.Hour), now.Add(-2 * time.Hour)},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 23, 59, 59, 999999000, time.UTC)},
		{"2026-03-01 10:00:00", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
	} {
		since, err := model.ParseSinceAt("since", tc.in, now)
		if err != nil || !since.Equal(tc.since) {
			t.Errorf("ParseSinceAt(%q) = %v, %v; want %v", tc.in, since, err, tc.since)
		}
		until, err := model.ParseUntilAt("until", tc.in, now)
		if err != nil || !until.Equal(tc.til) {
			t.Errorf("ParseUntilAt(%q) = %v, %v; want %v", tc.in, until, err, tc.til)
		}
	}
	_, err := model.ParseSinceAt("since", "last week", now)
	if model.ErrorCode(err) != model.EINVALID {
		t.Errorf("ParseSinceAt(last week) = %v, want an invalid error", err)
	}
}
