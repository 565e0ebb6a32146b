package model

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the header row of CSV exports. The original API's columns
// come first, in its order and under its names (ts is the step's time), so
// scripts written for it keep working; ours follow, newer ones last.
var CSVHeader = []string{"component", "version", "owner", "status", "ts", "environment", "id", "received_at", "revision", "committed_at"}

// StepCSVRow is s as a row of CSVHeader's columns: the one rule for a step
// in CSV, so that a CSV from stepsctl and one from the API are the same
// file. (The server's export writes the same bytes faster, held to this by
// a test.)
func StepCSVRow(s Step) []string {
	return []string{
		NeutraliseCell(s.Component),
		NeutraliseCell(s.Version),
		NeutraliseCell(s.Owner),
		NeutraliseCell(s.Status),
		FormatSpreadsheetTime(s.Time),
		NeutraliseCell(s.Environment),
		strconv.FormatInt(s.ID, 10),
		FormatSpreadsheetTime(s.ReceivedAt),
		NeutraliseCell(s.Revision),
		formatOptionalTime(s.CommittedAt),
	}
}

// formatOptionalTime is a CSV cell for a time that may not be given.
func formatOptionalTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return FormatSpreadsheetTime(*t)
}

// DeploymentCSVHeader is the header row of deployments as CSV. steps lists
// the phases as status=seconds, separated by semicolons; the last step has
// no duration. Columns added later come last (overdue after the ETA's), so
// that scripts reading columns by position keep working.
var DeploymentCSVHeader = []string{"component", "version", "environment", "attempt", "owner", "started_at", "finished_at",
	"duration_seconds", "outcome", "stuck", "steps", "revision", "committed_at",
	"expected_duration_seconds", "expected_finish_at", "eta_seconds", "overdue"}

// DeploymentCSVRow is d as a row of DeploymentCSVHeader's columns.
func DeploymentCSVRow(d *Deployment) []string {
	finished := ""
	if d.FinishedAt != nil {
		finished = FormatSpreadsheetTime(*d.FinishedAt)
	}
	return []string{
		NeutraliseCell(d.Component),
		NeutraliseCell(d.Version),
		NeutraliseCell(d.Environment),
		strconv.Itoa(d.Attempt),
		NeutraliseCell(d.Owner),
		FormatSpreadsheetTime(d.StartedAt),
		finished,
		FormatSeconds(d.DurationSeconds),
		d.Outcome,
		strconv.FormatBool(d.Stuck),
		NeutraliseCell(PhaseList(d)),
		NeutraliseCell(d.Revision),
		formatOptionalTime(d.CommittedAt),
		optionalSeconds(d.ExpectedDurationSeconds),
		formatOptionalTime(d.ExpectedFinishAt),
		optionalSeconds(d.ETASeconds),
		// Always true or false, as stuck: a sheet filtered on it needs
		// no third value, and an ETA alone reads "nearly done" when the
		// deploy is late.
		strconv.FormatBool(d.Overdue),
	}
}

// optionalSeconds is the CSV cell of a figure that may be unknown: empty.
func optionalSeconds(v *float64) string {
	if v == nil {
		return ""
	}
	return FormatSeconds(*v)
}

// PhaseList is the steps cell of a deployment's CSV row:
// "build=62;tests=190;finished". Statuses are written with EscapeListItem,
// so that one holding ";" or "=" cannot split or shift the list.
func PhaseList(d *Deployment) string {
	parts := make([]string, 0, len(d.Steps))
	for _, p := range d.Steps {
		if p.DurationSeconds == nil {
			parts = append(parts, EscapeListItem(p.Status))
			continue
		}
		parts = append(parts, EscapeListItem(p.Status)+"="+FormatSeconds(*p.DurationSeconds))
	}
	return strings.Join(parts, ";")
}

// listItemEscaper writes a backslash before each character that ends an
// item or a name in a CSV cell holding a list.
var listItemEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, "=", `\=`)

// EscapeListItem writes s as an item of a CSV cell holding a list
// ("build=62;tests=190", "tests;build"): a backslash goes before each
// backslash, ";" and "=" in s, so that a reader splits the cell at the
// unescaped ones only. A name without them, as nearly every status is, is
// written as it is.
func EscapeListItem(s string) string {
	if !strings.ContainsAny(s, `\;=`) {
		return s
	}
	return listItemEscaper.Replace(s)
}

// JoinListItems writes items as a CSV cell holding a list, separated by
// ";", each written with EscapeListItem.
func JoinListItems(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = EscapeListItem(s)
	}
	return strings.Join(parts, ";")
}

// FormatSeconds writes seconds (or any figure) for CSV: the shortest
// decimal that reads back exactly.
func FormatSeconds(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64)
}

// FormatPercent writes a percentage for CSV, to the hundredth of a point.
// Such a figure is an estimate: a growth a week is known to ±0.2 to ±0.4
// points (its 95 % interval), a share or a failure rate to whole points;
// its 17 digits said otherwise to whoever read the CSV in a spreadsheet
// or a report. The JSON keeps the full value.
func FormatPercent(v float64) string {
	return strconv.FormatFloat(PrintRound(v, 2), 'f', -1, 64)
}

// FormatPerDay writes a rate a day (deploys a day) for CSV: to the
// hundredth, or to 3 significant digits below 1 a day, so that a deploy a
// month (0.0333) does not read 0.03 or 0.
func FormatPerDay(v float64) string {
	decimals := 2
	if a := math.Abs(v); a > 0 && a < 1 {
		decimals = 2 - int(math.Floor(math.Log10(a)))
	}
	return strconv.FormatFloat(PrintRound(v, decimals), 'f', -1, 64)
}

// FormatEstimateSeconds writes a computed figure in seconds (a mean, a
// slope) for CSV, to the microsecond, the precision of the times it is
// computed from.
func FormatEstimateSeconds(s float64) string {
	return strconv.FormatFloat(PrintRound(s, 6), 'f', -1, 64)
}

// CSVImportColumns are the columns a CSV of steps to import may have: our
// export's and the original service's. The step's time is ts (or time);
// id and received_at are the server's own and ignored; revision and
// committed_at are optional, and an empty cell is not given.
var CSVImportColumns = []string{"component", "version", "owner", "status", "environment", "ts", "time", "id", "received_at",
	"revision", "committed_at"}

// CSVImportHeader checks the header of a CSV of steps to import, for the
// batch endpoint and stepsctl import alike: known columns only, none twice
// (ts and time are one), and component, version, owner and status present.
// It returns the header with a spreadsheet's byte-order mark removed, and
// the name of its time column ("" when it has none). Errors are EINVALID
// naming the column.
func CSVImportHeader(header []string) (clean []string, timeColumn string, err error) {
	clean = slices.Clone(header)
	if len(clean) > 0 {
		clean[0] = strings.TrimPrefix(clean[0], "\uFEFF")
	}
	if len(clean) > 0 && strings.HasPrefix(clean[0], "#TYPE ") {
		// Windows PowerShell 5.1's Export-Csv and ConvertTo-Csv write the
		// objects' type on a line of its own before the header, unless
		// told not to.
		return nil, "", Invalid(Shorten(clean[0]), "the first line, %s, is the type line Windows PowerShell's Export-Csv and ConvertTo-Csv write before the header: export with -NoTypeInformation, or delete that line", Quote(clean[0]))
	}
	if len(clean) == 1 && slices.Contains(strings.Split(clean[0], ";"), "component") {
		// A spreadsheet in a locale whose decimal mark is a comma saves
		// "CSV" with semicolons between cells.
		return nil, "", Invalid(clean[0], "the CSV header is one column, %q: its cells are separated by semicolons, as a spreadsheet saves them in some locales; save the file with commas between cells", clean[0])
	}
	if len(clean) == 1 && slices.Contains(strings.Split(clean[0], "\t"), "component") {
		// A spreadsheet's "Text (Tab delimited)" or "Unicode Text": told
		// apart here, as "remove that column" would be the wrong advice.
		return nil, "", Invalid(Shorten(clean[0]), "the CSV header is one column, %s: its cells are separated by tabs, as a spreadsheet saves \"Text (Tab delimited)\"; save the file as CSV, with commas between cells", Quote(clean[0]))
	}
	for _, name := range clean {
		if strings.Contains(name, "\r") {
			// Lines ended by a carriage return alone ("CSV (Macintosh)")
			// are one line to a CSV reader: the header runs on into the
			// rows.
			return nil, "", Invalid(Shorten(name), "the CSV header runs on past its line end, %s: the file's lines end with a carriage return alone, as old Mac spreadsheets save \"CSV (Macintosh)\"; save it as CSV with CRLF or LF line ends", Quote(name))
		}
	}
	if slices.Contains(clean, "started_at") && slices.Contains(clean, "attempt") && !slices.Contains(clean, "status") {
		// The other export a user holds: telling them its columns are
		// unknown one by one would not say what to export instead.
		return nil, "", Invalid("attempt", "the CSV is a list of deployments (GET /v1/deployments, stepsctl deployments -o csv), not of steps; import an export of steps: GET /v1/steps?format=csv or stepsctl list -o csv")
	}
	seen := map[string]bool{}
	for _, name := range clean {
		if !slices.Contains(CSVImportColumns, name) {
			return nil, "", Invalid(Shorten(name), "unknown CSV column %s; the header may name component, version, owner, status, environment, ts (or time), id, received_at, revision and committed_at: a step has no field for it, so remove that column (a column added by hand, such as notes) and try again", Quote(name))
		}
		if seen[name] || (name == "ts" && seen["time"]) || (name == "time" && seen["ts"]) {
			return nil, "", Invalid(name, "the CSV column %q is given twice", name)
		}
		seen[name] = true
		if name == "ts" || name == "time" {
			timeColumn = name
		}
	}
	for _, name := range []string{"component", "version", "owner", "status"} {
		if !seen[name] {
			return nil, "", Invalid(name, "the CSV header has no %q column", name)
		}
	}
	return clean, timeColumn, nil
}

// formulaLead holds the characters that make a spreadsheet run a cell as a
// formula, plus the quote that marks a neutralised cell, so that a value
// which really starts with a quote survives an export and import unchanged.
const formulaLead = "=+-@\t\r'"

// NeutraliseCell prefixes a cell a spreadsheet would run as a formula with a
// single quote, which spreadsheets show as text. UnneutraliseCell undoes it.
func NeutraliseCell(v string) string {
	if v != "" && strings.IndexByte(formulaLead, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// UnneutraliseCell reverses NeutraliseCell.
func UnneutraliseCell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && strings.IndexByte(formulaLead, v[1]) >= 0 {
		return v[1:]
	}
	return v
}

// ByteOrderMark reads the byte-order mark that head, the start of a body
// or file, begins with: skip is the length of a UTF-8 one (Windows editors,
// PowerShell and spreadsheets write it), to be read past; encoding names
// UTF-16 or UTF-32 when head begins with theirs (Windows "Unicode" text, as
// a spreadsheet saves "Unicode Text"), which a reader of UTF-8 would take
// for garbage such as an unknown column "\xff\xfec\x00o\x00…". Head needs
// its first 4 bytes at most.
func ByteOrderMark(head []byte) (skip int, encoding string) {
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		return 3, ""
	case bytes.HasPrefix(head, []byte("\x00\x00\xfe\xff")), bytes.HasPrefix(head, []byte("\xff\xfe\x00\x00")):
		return 0, "UTF-32"
	case bytes.HasPrefix(head, []byte("\xfe\xff")), bytes.HasPrefix(head, []byte("\xff\xfe")):
		return 0, "UTF-16"
	}
	return 0, ""
}

// localDate matches a date written in a locale's order, as a spreadsheet
// rewrites times: 20/11/2026 09:00, 11/20/26, 20.11.2026.
var localDate = regexp.MustCompile(`^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b`)

// csvTimeFormats describes the forms ParseCSVTime takes, for its errors.
const csvTimeFormats = `"YYYY-MM-DD hh:mm[:ss[.ffffff]]" (UTC), "YYYY-MM-DD hh:mm:ss +hh:mm", or RFC 3339 ("2026-01-02T15:04:05Z", "2026-01-02T17:04:05+02:00")` + offsetForms

// ParseCSVTime reads a time cell of a CSV of steps to import (ts, time,
// committed_at), for stepsctl import and POST /v1/steps/batch alike: in
// UTC unless it says otherwise. A spreadsheet that saves the file again
// writes its times without the seconds ("2025-11-20 09:00"): those are read
// too, at :00.
//
// A date alone is refused: it names no time of day, and a spreadsheet that
// shows a column as dates saves it so, each step of the day at midnight.
// So is a date in a locale's order, whose day and month the file does not
// tell apart.
func ParseCSVTime(v string) (time.Time, error) {
	t, day, err := ParseTimeIn(v, time.UTC)
	if err != nil && localDate.MatchString(strings.TrimSpace(v)) {
		return time.Time{}, fmt.Errorf("%s is a date as a spreadsheet writes it in its locale, day and month in an order the file does not say; format the column as \"YYYY-MM-DD hh:mm:ss\" in the spreadsheet before saving, or import the export as it was downloaded", Quote(strings.TrimSpace(v)))
	}
	if err != nil {
		// Not ParseTimeIn's list of forms, which offers a date alone.
		return time.Time{}, fmt.Errorf("%s is not a datetime; use %s", Quote(strings.TrimSpace(v)), csvTimeFormats)
	}
	if day {
		return time.Time{}, fmt.Errorf("%s is a date without its time of day: stored, every step of that day would be at midnight; write the time too, as \"YYYY-MM-DD hh:mm:ss\" (in a spreadsheet, format the column so before saving)", Quote(strings.TrimSpace(v)))
	}
	return t, nil
}

// CSVHeaderAgain refuses a record of a CSV of steps to import that repeats
// its header (as CSVImportHeader returned it): two exports joined with cat,
// the second's header among the rows, where each cell alone would be
// refused for a reason that does not say why ("ts" is not a datetime).
func CSVHeaderAgain(record, header []string) error {
	if len(record) != len(header) || len(record) == 0 {
		return nil
	}
	for i, v := range record {
		if i == 0 {
			v = strings.TrimPrefix(v, "\uFEFF") // a spreadsheet's file joined after
		}
		if v != header[i] {
			return nil
		}
	}
	return Invalid("body", "the CSV header again, among the rows: files joined with cat? remove this line (join exports with tail -n +2 second.csv >> first.csv)")
}
