package model

import (
	"strings"
	"time"
)

// LoadZone reads the calendar time zone named by param (a parameter or
// flag name, for the error): an IANA name such as Australia/Sydney, or UTC.
// "Local" is refused: it is whatever zone the machine reading it is set to,
// so the same request would cut other buckets on another server.
func LoadZone(param, name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" {
		return nil, Invalid(param, "%s must name a time zone, an IANA name such as Australia/Sydney or UTC, not %s", param, Quote(name))
	}
	if hostOnlyZone(name) {
		return nil, Invalid(param, "%s: %s is a file of this machine's zoneinfo directory, not a time zone of the tz database; use an IANA name such as Australia/Sydney or America/New_York, or UTC", param, Quote(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Invalid(param, "%s: %s is not a known time zone; use an IANA name such as Australia/Sydney or America/New_York, or UTC", param, Quote(name))
	}
	return loc, nil
}

// hostOnlyZone reports names that time.LoadLocation finds only in some
// machines' zoneinfo directories, not in the tz database stepsd embeds:
// "localtime" (Debian's link to /etc/localtime, "Local" by another name),
// "posixrules", and the "posix/" and "right/" copies of the database, the
// latter counting leap seconds that Go does not, so their changes of clock
// fall 27 s late. Each would cut a request's buckets differently from one
// server to the next, or tell a client the server's own zone.
func hostOnlyZone(name string) bool {
	switch strings.ToLower(name) {
	case "localtime", "posixrules":
		return true
	}
	return strings.HasPrefix(name, "posix/") || strings.HasPrefix(name, "right/")
}

// ZoneName is the name of loc as LoadZone reads it: nil is UTC.
func ZoneName(loc *time.Location) string {
	if loc == nil {
		return "UTC"
	}
	return loc.String()
}

// SameClock returns the first instant at which the clock in loc (nil: UTC)
// reads the date and time t reads in its own location: a day that
// ParseTime read (midnight UTC) becomes midnight in loc.
func SameClock(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	if loc == nil {
		loc = time.UTC
	}
	return atWallClock(wallClock(t, t.Location()), loc)
}

// wallClock returns the date and clock time t reads in loc, as a UTC time,
// where every day has 86,400 seconds and AddDate counts calendar days.
func wallClock(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// atWallClock returns the first instant whose clock in loc reads w (a
// wallClock time), or the first after it when loc skips w.
func atWallClock(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if wallClock(t, loc).Before(w) {
		// A clock put forward skips w (midnight, in Santiago or Havana):
		// time.Date then answers with an instant of the day before, and
		// the day begins when the clock jumps.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	}
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		// A clock put back reads w twice; a bucket starts at the first.
		_, prev := start.Add(-time.Nanosecond).Zone()
		c := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.FixedZone("", prev))
		if c.Before(start) {
			if _, off := c.In(loc).Zone(); off == prev {
				t = c
			}
		}
	}
	return t.In(loc)
}

// clockInstant returns the instant at which loc's clock reads w (a
// wallClock time). Where loc's clock skips w (a gap, when clocks go
// forward), w is read with the offset in force before the gap, so it lands
// as far after the jump as it lies after the gap's start (02:30 on the
// night Sydney goes from 02:00 to 03:00 is 03:30); where the clock reads w
// twice (an overlap, when clocks go back), it is the first of the two.
// This is the rule of RFC 5545 and of java.time and JavaScript's
// Temporal: time.Date leaves the choice unspecified, and makes it
// differently in Sydney and in New York.
func clockInstant(w time.Time, loc *time.Location) time.Time {
	// The offsets in force a day either side of w: no zone changes its
	// clock twice within two days.
	_, before := w.Add(-24 * time.Hour).In(loc).Zone()
	_, after := w.Add(24 * time.Hour).In(loc).Zone()
	reads := func(off int) (time.Time, bool) {
		t := w.Add(-time.Duration(off) * time.Second).In(loc)
		return t, wallClock(t, loc).Equal(w)
	}
	first, okFirst := reads(before)
	second, okSecond := reads(after)
	switch {
	case okFirst && okSecond:
		if second.Before(first) {
			return second
		}
		return first
	case okFirst:
		return first
	case okSecond:
		return second
	case before != after:
		return first // a gap: the offset before it
	}
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}
