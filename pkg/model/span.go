package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AcceptedSpanFormats describes, for error messages and help text, the
// relative spans that ParseSpan takes.
const AcceptedSpanFormats = `a span back from now such as "90m", "36h", "7d" or "2w"`

// spanUnits are the suffixes of a relative span. Days and weeks are fixed
// lengths (24h, 7×24h): a span counts elapsed time, not calendar days.
var spanUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// ParseSpan parses a relative span: a whole number followed by s, m, h, d
// (24 hours) or w (7 days), such as "90m", "36h" or "7d". Go durations such
// as "1h30m" are accepted too. The span must be positive.
func ParseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%s is not a span; use %s", Quote(s), AcceptedSpanFormats)
	if len(s) < 2 {
		return 0, bad
	}
	if SpanTooLong(s) {
		return 0, spanTooLongError(s)
	}
	if unit, ok := spanUnits[s[len(s)-1]]; ok {
		if n, err := strconv.ParseInt(s[:len(s)-1], 10, 64); err == nil {
			if n <= 0 || n > int64(maxSpan/unit) {
				return 0, bad
			}
			return time.Duration(n) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

// maxSpan keeps now minus a span inside the times a step may carry.
const maxSpan = 100 * 365 * 24 * time.Hour

// SpanTooLong reports whether s is written as a span (a whole number and
// a unit, "40000d") but reaches back further than the longest one, 100
// years. Its error then says so, rather than that s is no span at all,
// which would send the user looking for a typo that is not there.
func SpanTooLong(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] == '-' || s[0] == '+' {
		return false
	}
	unit, ok := spanUnits[s[len(s)-1]]
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	return (err == nil && n > int64(maxSpan/unit)) || errors.Is(err, strconv.ErrRange)
}

func spanTooLongError(s string) error {
	return fmt.Errorf("%s reaches back further than the longest span, 100 years (36500d); give a date instead", Quote(strings.TrimSpace(s)))
}

// ParseSinceAt parses the lower bound of a time range given as a datetime
// (see ParseSince) or as a span back from now ("7d": the last seven days).
func ParseSinceAt(field, s string, now time.Time) (time.Time, error) {
	return ParseSinceAtIn(field, s, now, nil)
}

// ParseSinceAtIn is ParseSinceAt with a date read in loc (see
// ParseSinceIn); a span is elapsed time back from now, whatever the zone.
func ParseSinceAtIn(field, s string, now time.Time, loc *time.Location) (time.Time, error) {
	return parseBoundAt(field, s, now, loc, false, dayStart)
}

// ParseSinceAtZoned is ParseSinceAtIn for a person who reads times in
// loc (nil: UTC), as the page shows them: a date and time without an
// offset is read on loc's clock too, and may leave out its seconds
// (ParseTimeIn). The API keeps ParseSinceAtIn, where such a time is UTC.
func ParseSinceAtZoned(field, s string, now time.Time, loc *time.Location) (time.Time, error) {
	return parseBoundAt(field, s, now, loc, true, dayStart)
}

// parseBoundAt reads s as ParseSinceAtIn (edge dayStart) or
// ParseUntilAtIn (edge dayEnd) do: a span back from now, else a bound as
// parseBound reads it, read once.
func parseBoundAt(field, s string, now time.Time, loc *time.Location, onClock bool, edge func(time.Time, *time.Location) time.Time) (time.Time, error) {
	if d, err := ParseSpan(s); err == nil {
		t := TruncateTime(now.Add(-d))
		return t, CheckBound(field, t)
	}
	t, day, err := readBound(s, loc, onClock)
	if err != nil && SpanTooLong(s) {
		return time.Time{}, Invalid(field, "%s: %v", field, spanTooLongError(s))
	}
	if err != nil {
		formats := acceptedTimeFormats(nil, loc)
		if onClock {
			formats = AcceptedClockTimeFormats(ZoneName(loc))
		}
		if hint := UnixTimeHint(s); hint != "" {
			return time.Time{}, Invalid(field, "%s: %s is neither a datetime nor a span: %s; or use %s, or %s", field, Quote(strings.TrimSpace(s)), hint, formats, AcceptedSpanFormats)
		}
		return time.Time{}, Invalid(field, "%s: %s is neither a datetime nor a span; use %s, or %s", field, Quote(strings.TrimSpace(s)), formats, AcceptedSpanFormats)
	}
	return placeBound(field, t, day, loc, edge)
}

// ParseUntilAt parses the inclusive upper bound of a time range given as a
// datetime (see ParseUntil: a date means the whole day) or as a span back
// from now ("2h": up to two hours ago).
func ParseUntilAt(field, s string, now time.Time) (time.Time, error) {
	return ParseUntilAtIn(field, s, now, nil)
}

// ParseUntilAtIn is ParseUntilAt with a date read in loc (see
// ParseUntilIn); a span is elapsed time back from now, whatever the zone.
func ParseUntilAtIn(field, s string, now time.Time, loc *time.Location) (time.Time, error) {
	return parseBoundAt(field, s, now, loc, false, dayEnd)
}

// ParseUntilAtZoned is ParseUntilAtIn for a person who reads times in
// loc (nil: UTC), as the page shows them: a date and time without an
// offset is read on loc's clock too, and may leave out its seconds
// (ParseTimeIn). The API keeps ParseUntilAtIn, where such a time is UTC.
func ParseUntilAtZoned(field, s string, now time.Time, loc *time.Location) (time.Time, error) {
	return parseBoundAt(field, s, now, loc, true, dayEnd)
}
