package model_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TestCSVImportHeader: the one rule for the header of a CSV import, used
// by POST /v1/steps/batch and stepsctl import alike.
func TestCSVImportHeader(t *testing.T) {
	for _, c := range []struct {
		header   string
		timeCol  string
		errField string // "" for a valid header
	}{
		{"component,version,owner,status,ts", "ts", ""},
		{"\uFEFFcomponent,version,owner,status,time,environment,id,received_at", "time", ""},
		{strings.Join(model.CSVHeader, ","), "ts", ""},                             // our own export reads back
		{"component,version,owner,status", "", ""},                                 // no time: the batch stamps receipt time
		{"component,version,owner,status,ts,environment,id,received_at", "ts", ""}, // an export from before revision
		{"component,version,owner,status,revision,committed_at", "", ""},
		{"component,version,owner,status,colour", "", "colour"},
		{"component,version,owner,status,ts,time", "", "time"},
		{"component,version,owner,owner", "", "owner"},
		{"component,version,status,ts", "", "owner"},
		{"component;version;owner;status;ts", "", "component;version;owner;status;ts"},         // a spreadsheet's semicolons
		{"component\tversion\towner\tstatus\tts", "", "component\tversion\towner\tstatus\tts"}, // "Text (Tab delimited)"
		{"component,version,owner,status,ts\rapi", "", "ts\rapi"},                              // "CSV (Macintosh)": CR alone ends lines
	} {
		clean, timeCol, err := model.CSVImportHeader(strings.Split(c.header, ","))
		field := ""
		var e *model.Error
		if errors.As(err, &e) {
			field = e.Field
		}
		switch {
		case c.errField == "" && err != nil:
			t.Errorf("%q: %v", c.header, err)
		case c.errField != "" && field != c.errField:
			t.Errorf("%q: error %v naming %q, want one naming %q", c.header, err, field, c.errField)
		case c.errField == "" && (timeCol != c.timeCol || clean[0] != "component"):
			t.Errorf("%q: time column %q, first %q; want %q and component", c.header, timeCol, clean[0], c.timeCol)
		}
	}
}

// TestCSVImportHeaderSaysHowSaved: a header a spreadsheet saved with tabs,
// or with carriage returns alone ending lines, says so rather than asking
// to remove a column that is not one.
func TestCSVImportHeaderSaysHowSaved(t *testing.T) {
	for header, want := range map[string]string{
		"component\tversion\towner\tstatus\tts":  "separated by tabs",
		"component,version,owner,status,ts\rapi": "carriage return alone",
		// Windows PowerShell 5.1's Export-Csv without -NoTypeInformation.
		"#TYPE System.Management.Automation.PSCustomObject": "export with -NoTypeInformation",
	} {
		_, _, err := model.CSVImportHeader(strings.Split(header, ","))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "remove that column") {
			t.Errorf("%q: %v; want an error saying %q", header, err, want)
		}
	}
}

// TestDeploymentCSVRow: a deployment as CSV, phases flattened into steps,
// cells a spreadsheet would run neutralised.
func TestDeploymentCSVRow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d := &model.Deployment{Component: "=api", Version: "1", Environment: "prod", Attempt: 2, Owner: "ana",
		StartedAt: t0, DurationSeconds: 62.5, Outcome: model.OutcomeInProgress}
	sec := 62.5
	d.Steps = []model.Phase{{Status: "build", Time: t0, DurationSeconds: &sec}, {Status: "tests", Time: t0}}
	got := model.DeploymentCSVRow(d)
	want := []string{"'=api", "1", "prod", "2", "ana", "2026-03-02 09:00:00", "", "62.5", "in_progress", "false", "build=62.5;tests", "", "", "", "", "", "false"}
	if !slices.Equal(got, want) || len(got) != len(model.DeploymentCSVHeader) {
		t.Errorf("DeploymentCSVRow\n got %q\nwant %q", got, want)
	}
	// The revision and commit time, when given, after steps.
	committed := t0.Add(-time.Hour + 250*time.Millisecond)
	d.Revision, d.CommittedAt = "=9f1c", &committed
	got = model.DeploymentCSVRow(d)
	if want := []string{"'=9f1c", "2026-03-02 08:00:00.250000"}; !slices.Equal(got[11:13], want) {
		t.Errorf("DeploymentCSVRow revision columns %q, want %q", got[11:13], want)
	}
	// With an ETA, its three columns come last.
	expected, eta, finish := 300.25, 237.75, t0.Add(300*time.Second)
	d.ExpectedDurationSeconds, d.ETASeconds, d.ExpectedFinishAt = &expected, &eta, &finish
	got = model.DeploymentCSVRow(d)
	if want := []string{"300.25", "2026-03-02 09:05:00", "237.75", "false"}; !slices.Equal(got[len(got)-4:], want) {
		t.Errorf("DeploymentCSVRow ends %q, want %q", got[len(got)-4:], want)
	}
	// Late in its phase: overdue, the last column, as in JSON.
	d.Overdue = true
	if got := model.DeploymentCSVRow(d); got[len(got)-1] != "true" || model.DeploymentCSVHeader[len(got)-1] != "overdue" {
		t.Errorf("DeploymentCSVRow of an overdue deployment ends %q under %q, want true under overdue", got[len(got)-1], model.DeploymentCSVHeader[len(got)-1])
	}
}

// TestStepCSVRowNewColumnsLast: the columns added after the original API's
// and ours come last, so that scripts reading columns by position keep
// working.
func TestStepCSVRowNewColumnsLast(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	st := model.Step{ID: 7, Component: "api", Version: "1", Owner: "ana", Status: "build", Time: t0, ReceivedAt: t0}
	if got := model.StepCSVRow(st); len(got) != len(model.CSVHeader) || got[8] != "" || got[9] != "" {
		t.Errorf("a step without revision: %q", got)
	}
	st.Revision, st.CommittedAt = "9f1c2e", &t0
	got := model.StepCSVRow(st)
	if want := []string{"api", "1", "ana", "build", "2026-03-02 09:00:00", "", "7", "2026-03-02 09:00:00", "9f1c2e", "2026-03-02 09:00:00"}; !slices.Equal(got, want) {
		t.Errorf("StepCSVRow = %q, want %q", got, want)
	}
	if want := []string{"component", "version", "owner", "status", "ts", "environment", "id", "received_at"}; !slices.Equal(model.CSVHeader[:8], want) {
		t.Errorf("CSVHeader starts %q, want the original order %q", model.CSVHeader[:8], want)
	}
}

// TestEscapeListItem: a backslash goes before each backslash, ";" and "="
// of an item of a listed cell; other names are written as they are.
func TestEscapeListItem(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"build", "build"},
		{"canary-10%", "canary-10%"},
		{"migrate;eu", `migrate\;eu`},
		{"a=b", `a\=b`},
		{`roll\out`, `roll\\out`},
		{`\;=`, `\\\;\=`},
	} {
		if got := model.EscapeListItem(tt.in); got != tt.want {
			t.Errorf("EscapeListItem(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := model.JoinListItems([]string{"tests", "a;b"}), `tests;a\;b`; got != want {
		t.Errorf("JoinListItems = %q, want %q", got, want)
	}
}

// TestParseCSVTimeForms: a time cell that is no datetime is told the forms
// a CSV time takes, which are not those of a since or until: a date alone
// is not among them, as it is refused.
func TestParseCSVTimeForms(t *testing.T) {
	_, err := model.ParseCSVTime("ts")
	if err == nil || !strings.Contains(err.Error(), `"ts" is not a datetime; use "YYYY-MM-DD hh:mm[:ss[.ffffff]]" (UTC)`) || strings.Contains(err.Error(), `"YYYY-MM-DD" (`) {
		t.Errorf("ParseCSVTime(\"ts\"): %v; want the forms of a CSV time, without a date alone", err)
	}
	if _, err := model.ParseCSVTime("2026-11-20"); err == nil || !strings.Contains(err.Error(), "a date without its time of day") {
		t.Errorf("ParseCSVTime(\"2026-11-20\"): %v; want a date without its time of day", err)
	}
	got, err := model.ParseCSVTime("2026-11-20 09:05")
	if want := time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("ParseCSVTime(\"2026-11-20 09:05\") = %v, %v; want %v", got, err, want)
	}
}
