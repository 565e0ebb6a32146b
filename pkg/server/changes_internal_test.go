package server

import (
	"encoding/csv"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestChangesCSVRows checks the flattening of changes into CSV: one row
// per change and step, a change without steps on one row, and names that
// a spreadsheet would run as formulas neutralised.
func TestChangesCSVRows(t *testing.T) {
	at := time.Date(2026, 10, 19, 14, 3, 0, 0, time.UTC)
	cs := model.Changes{Changes: []model.Change{
		{Component: "api", Environment: "production", Time: at, Version: "1.20.0", Attempt: 1,
			BeforeP50Seconds: 542, AfterP50Seconds: 748, ChangePercent: 38, PValue: 0.001,
			Steps: []model.StepChange{
				{Status: "tests", BeforeP50Seconds: 300, AfterP50Seconds: 490, ChangeSeconds: 190, ShareOfChangePercent: 92},
				{Status: "=HYPERLINK(\"x\")", BeforeP50Seconds: 10, AfterP50Seconds: 2, ChangeSeconds: -8, ShareOfChangePercent: -4},
			}},
		{Component: "@web", Environment: "", Time: at.AddDate(0, 0, 3), Version: "2.0.0", Attempt: 2,
			BeforeP50Seconds: 100, AfterP50Seconds: 60, ChangePercent: -40, PValue: 0.01},
	}}
	s := New(Config{})
	rec := httptest.NewRecorder()
	s.writeChangesCSV(rec, httptest.NewRequest("GET", "/v1/changes?format=csv", nil), cs)
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		ChangesCSVHeader,
		{"api", "production", "2026-10-19 14:03:00", "1.20.0", "1", "542", "748", "38", "0.001", "tests", "300", "490", "190", "92"},
		{"api", "production", "2026-10-19 14:03:00", "1.20.0", "1", "542", "748", "38", "0.001", "'=HYPERLINK(\"x\")", "10", "2", "-8", "-4"},
		{"'@web", "", "2026-10-22 14:03:00", "2.0.0", "2", "100", "60", "-40", "0.01", "", "", "", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), rec.Body)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
}
