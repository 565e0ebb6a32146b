package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AcceptedTimeFormats describes, for error messages and help text, the
// datetime forms that ParseTime takes.
const AcceptedTimeFormats = `"YYYY-MM-DD hh:mm:ss[.ffffff]" (UTC), "YYYY-MM-DD" (UTC), "YYYY-MM-DD hh:mm:ss +hh:mm" (as stepsctl tables show), or RFC 3339 ("2026-01-02T15:04:05Z", "2026-01-02T17:04:05+02:00")` + offsetForms

// offsetForms ends each list of accepted forms: git (%ci) and date +%z
// write the offset without its colon.
const offsetForms = `; an offset may also be written +hhmm ("2026-01-02T17:04:05+0200", as git and date +%z print it)`

const (
	// SpreadsheetTime is the time layout of CSV exports and of the original
	// API: UTC, no zone, so spreadsheets read it as a date.
	SpreadsheetTime = "2006-01-02 15:04:05"
	// TerminalTime is the time layout of stepsctl's tables: the reader's
	// own time with its offset from UTC, so that a time copied from a
	// table means the same instant when ParseTime reads it back.
	TerminalTime = "2006-01-02 15:04:05 -07:00"
	dateOnly     = "2006-01-02"
)

// ParseDay reads s as the day it names, as written, at midnight UTC: a
// date, or the date of a datetime ParseTime takes, all of which start with
// it ("2026-01-07T02:00:00+05:00" is the 7th, though the 6th in UTC).
// Sprints start at midnight in the calendar's zone, and a team that typed
// a datetime for its sprint start meant that day, not its clock time. ok
// is false when ParseTime refuses s.
func ParseDay(s string) (day time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if _, _, err := ParseTime(s); err != nil {
		return time.Time{}, false
	}
	day, err := time.Parse(dateOnly, s[:min(len(s), len(dateOnly))])
	return day, err == nil
}

// ParseTime parses a datetime in one of AcceptedTimeFormats. Times without a
// zone are UTC. dateOnly reports that s named a whole day.
func ParseTime(s string) (t time.Time, isDateOnly bool, err error) {
	return parseTime(s, nil, nil)
}

// AcceptedBoundFormats describes, for error messages and help text, the
// forms of a range's since or until that ParseSinceIn and ParseUntilIn
// take, as AcceptedTimeFormats does but with a date a day in zone: a team
// whose server runs in its zone must not read "(UTC)" of a date that is
// its own day.
func AcceptedBoundFormats(zone string) string {
	return `"YYYY-MM-DD hh:mm:ss[.ffffff]" (UTC), "YYYY-MM-DD" (a day in ` + zone + `), "YYYY-MM-DD hh:mm:ss +hh:mm" (as stepsctl tables show), or RFC 3339 ("2026-01-02T15:04:05Z", "2026-01-02T17:04:05+02:00")` + offsetForms
}

// AcceptedClockTimeFormats describes, for error messages and help text,
// the datetime forms that ParseTimeIn takes, a date and time without an
// offset being read in the zone named by zone.
func AcceptedClockTimeFormats(zone string) string {
	return `"YYYY-MM-DD hh:mm[:ss[.ffffff]]" (in ` + zone + `), "YYYY-MM-DD" (a day in ` + zone + `), "YYYY-MM-DD hh:mm:ss +hh:mm", or RFC 3339 ("2026-01-02T15:04:05Z", "2026-01-02T17:04:05+02:00")` + offsetForms
}

// ParseTimeIn parses a datetime as ParseTime does, except that a date and
// time without an offset is read on loc's clock (nil: UTC), as a person
// who reads times in loc types one, and may leave out its seconds
// ("2026-03-02 10:30", as the page shows times). A time loc's clock skips
// or reads twice is placed by clockInstant's rule. A date alone is
// returned as ParseTime returns it, midnight UTC with isDateOnly, for the
// caller to place in loc (ParseSinceIn, ParseUntilIn).
func ParseTimeIn(s string, loc *time.Location) (t time.Time, isDateOnly bool, err error) {
	if loc == nil {
		loc = time.UTC
	}
	return parseTime(s, loc, loc)
}

// parseTime is ParseTime, or with a zone ParseTimeIn. days is the zone
// whose day a date will be (nil: UTC), for the error message only.
func parseTime(s string, loc, days *time.Location) (t time.Time, isDateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if t, ok := parseWithOffset(s); ok {
		return TruncateTime(t), false, nil
	}
	layouts := []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}
	if loc != nil {
		layouts = append(layouts, "2006-01-02 15:04", "2006-01-02T15:04")
	}
	for _, layout := range layouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if loc != nil {
				t = clockInstant(t, loc).UTC()
			}
			return TruncateTime(t), false, nil
		}
	}
	if t, err := time.ParseInLocation(dateOnly, s, time.UTC); err == nil {
		return t, true, nil
	}
	if lostPlus(s) {
		// curl 'host/v1/steps?since=2026-11-30T10:00:00+01:00' sends a
		// "+" that the query string reads as a space: say so, rather than
		// leave the user to wonder where the offset's sign went.
		return time.Time{}, false, fmt.Errorf("%s is not a datetime: a \"+\" in a URL's query string reads as a space; write it as %%2B, or use %s", Quote(s), acceptedTimeFormats(loc, days))
	}
	if hint := UnixTimeHint(s); hint != "" {
		return time.Time{}, false, fmt.Errorf("%s is not a datetime: %s; or use %s", Quote(s), hint, acceptedTimeFormats(loc, days))
	}
	return time.Time{}, false, fmt.Errorf("%s is not a datetime; use %s", Quote(s), acceptedTimeFormats(loc, days))
}

// unixTime matches what scripts send as unix time: seconds (date +%s,
// Python's time.time(), with its fraction) or milliseconds (JavaScript's
// Date.now()) of the years 2001 to 2286.
var unixTime = regexp.MustCompile(`^(\d{10})(\.\d+)?$|^(\d{13})$`)

// UnixTimeHint returns, for s that looks like unix time, which no
// accepted form takes, the datetime it stands for and how to write it,
// else "". A script's $(date +%s) or Date.now() was refused with the list
// of forms alone, which names no way from the number to one of them.
func UnixTimeHint(s string) string {
	m := unixTime.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ""
	}
	var t time.Time
	if m[3] != "" {
		ms, _ := strconv.ParseInt(m[3], 10, 64) // 13 digits always fit
		t = time.UnixMilli(ms)
	} else {
		sec, _ := strconv.ParseInt(m[1], 10, 64) // 10 digits always fit
		t = time.Unix(sec, 0)
	}
	return fmt.Sprintf("it looks like unix time, which is not taken; send it as a datetime, %s (date -u -d @%d +%%FT%%TZ)",
		Quote(t.UTC().Format(time.RFC3339)), t.Unix())
}

// acceptedTimeFormats is AcceptedTimeFormats, or with a clock zone
// AcceptedClockTimeFormats, or with a zone of days other than UTC
// acceptedBoundFormats.
func acceptedTimeFormats(loc, days *time.Location) string {
	switch {
	case loc != nil:
		return AcceptedClockTimeFormats(ZoneName(loc))
	case days != nil && ZoneName(days) != "UTC":
		return AcceptedBoundFormats(ZoneName(days))
	}
	return AcceptedTimeFormats
}

// lostPlus reports that s is a datetime with a positive offset whose "+"
// became a space, as an unescaped "+" does in a query string.
func lostPlus(s string) bool {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return false
	}
	_, ok := parseWithOffset(s[:i] + "+" + s[i+1:])
	return ok
}

// offsetLayouts are the datetimes with an offset (or Z) that parseTime
// takes: RFC 3339, stepsctl's tables (TerminalTime), and both with the
// offset written without its colon, +hhmm, as git (%ci, --date=iso) and
// date +%z print it, so a script can pass their output as it is. RFC 3339
// (section 5.6) lets a space stand for the "T": Python's str() of an aware
// datetime writes "2026-01-02 15:04:05+00:00". An offset of hours alone
// (PostgreSQL's "+00") is not RFC 3339, and is refused.
var offsetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 Z0700",
}

// parseWithOffset parses s in one of offsetLayouts. RFC 3339 lets its "T"
// and "Z" be written in lower case, which Go's layouts do not take.
func parseWithOffset(s string) (time.Time, bool) {
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	for _, layout := range offsetLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Bounds of a time range (since, until): years 1000 to 9999, the range of
// MySQL's DATETIME. Beyond it SQLite, which compares times as text, and
// MySQL would answer differently (year 10000 sorts before year 2000 as
// text), and the zero time would read as no bound at all.
var (
	earliestBound = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestBound   = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// CheckBound checks the bound of a time range against the years 1000 to
// 9999 (UTC), so that a range means the same on every database.
func CheckBound(field string, t time.Time) error {
	if t.Before(earliestBound) || t.After(latestBound) {
		return Invalid(field, "%s must fall between 1000-01-01 and 9999-12-31 (UTC), not %s", field, t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// ParseSince parses the lower bound of a time range: a date means the start
// of that day, in UTC (ParseSinceIn reads it in a calendar's zone).
func ParseSince(field, s string) (time.Time, error) {
	return ParseSinceIn(field, s, nil)
}

// ParseSinceIn parses the lower bound of a time range: a date means the
// start of that day in loc (nil: UTC), the team's calendar zone, so that a
// range from a date begins where that date's first bucket does. A
// datetime is the instant it names (UTC when it has no offset).
func ParseSinceIn(field, s string, loc *time.Location) (time.Time, error) {
	return parseBound(field, s, loc, false, dayStart)
}

// parseBound reads s as ParseSinceIn (edge dayStart) or ParseUntilIn
// (edge dayEnd) do; with onClock, a date and time without an offset is
// read on loc's clock too (ParseTimeIn).
func parseBound(field, s string, loc *time.Location, onClock bool, edge func(time.Time, *time.Location) time.Time) (time.Time, error) {
	t, day, err := readBound(s, loc, onClock)
	if err != nil {
		return time.Time{}, Invalid(field, "%s: %v", field, err)
	}
	return placeBound(field, t, day, loc, edge)
}

// readBound reads s as a datetime or a date, a date and time without an
// offset on loc's clock when onClock (ParseTimeIn), else in UTC.
func readBound(s string, loc *time.Location, onClock bool) (time.Time, bool, error) {
	if onClock {
		return ParseTimeIn(s, loc)
	}
	return parseTime(s, nil, loc)
}

// placeBound checks t against the bounds and, for a date, places it at
// its edge in loc: the first instant of the day for a since, the last for
// an until.
func placeBound(field string, t time.Time, day bool, loc *time.Location, edge func(time.Time, *time.Location) time.Time) (time.Time, error) {
	if !day {
		return t, CheckBound(field, t)
	}
	if err := CheckBound(field, t); err != nil {
		return time.Time{}, err
	}
	return clampBound(edge(t, loc)), nil
}

// ParseUntil parses the inclusive upper bound of a time range: a date means
// the whole of that day, as a person asking "until the 31st" expects, in
// UTC (ParseUntilIn reads it in a calendar's zone).
func ParseUntil(field, s string) (time.Time, error) {
	return ParseUntilIn(field, s, nil)
}

// ParseUntilIn parses the inclusive upper bound of a time range: a date
// means the whole of that day in loc (nil: UTC), up to the last
// microsecond before the next day's midnight there, however many hours
// the day has. A datetime is the instant it names (UTC when it has no
// offset).
func ParseUntilIn(field, s string, loc *time.Location) (time.Time, error) {
	return parseBound(field, s, loc, false, dayEnd)
}

// clampBound brings the first or last instant of a date within the bounds
// into them: 1000-01-01 east of UTC begins in year 999 and 9999-12-31 west
// of it ends in year 10000, and both dates are ones the bounds name. No
// step lies outside the bounds, so the range keeps the same steps.
func clampBound(t time.Time) time.Time {
	switch {
	case t.Before(earliestBound):
		return earliestBound
	case t.After(latestBound):
		return latestBound
	}
	return t
}

// dayStart is the first instant, in UTC, of the date that day (a date as
// ParseTime reads it, midnight UTC) names in loc (nil: UTC).
func dayStart(day time.Time, loc *time.Location) time.Time {
	return SameClock(day, loc).UTC()
}

// dayEnd is the last microsecond, in UTC, of the date that day (a date as
// ParseTime reads it, midnight UTC) names in loc (nil: UTC): an inclusive
// upper bound that takes in the whole day.
func dayEnd(day time.Time, loc *time.Location) time.Time {
	return SameClock(day.AddDate(0, 0, 1), loc).Add(-time.Microsecond).UTC()
}

// FormatSpreadsheetTime formats t as UTC "YYYY-MM-DD hh:mm:ss", adding
// ".ffffff" only when t has a fraction of a second.
func FormatSpreadsheetTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format(SpreadsheetTime)
	}
	return t.Format(SpreadsheetTime + ".000000")
}
