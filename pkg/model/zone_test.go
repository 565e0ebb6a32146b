package model_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := model.LoadZone("tz", name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// zoneBuckets returns the stats buckets of one deployment per start, each
// of 60 s, with the calendar opts.
func zoneBuckets(t *testing.T, opts model.StatsOptions, starts ...time.Time) []model.BucketStats {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewStatsAccumulator(opts)
	for _, s := range starts {
		acc.Add(deploy(s, "build", 60))
	}
	if err := acc.CheckSize(); err != nil {
		t.Fatal(err)
	}
	return acc.Result().Buckets
}

// jsonTime is t as an answer writes it.
func jsonTime(t *testing.T, tm time.Time) string {
	t.Helper()
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestZoneMondayMorningInSydney(t *testing.T) {
	syd := mustZone(t, "Australia/Sydney")
	// Monday 08:00 in Sydney is Sunday 21:00 UTC.
	deployAt := time.Date(2026, 11, 30, 8, 0, 0, 0, syd)
	if got := deployAt.UTC(); got != time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC) {
		t.Fatalf("deploy at %v UTC; the test's premise is Sunday 21:00", got)
	}
	for _, tt := range []struct {
		name       string
		loc        *time.Location
		start, end string
	}{
		{"Sydney", syd, "2026-11-30T00:00:00+11:00", "2026-12-07T00:00:00+11:00"},
		{"UTC", nil, "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
	} {
		t.Run("the week in "+tt.name, func(t *testing.T) {
			bs := zoneBuckets(t, model.StatsOptions{Bucket: model.BucketWeek, Location: tt.loc}, deployAt)
			if len(bs) != 1 {
				t.Fatalf("%d buckets; want 1", len(bs))
			}
			if got, got2 := jsonTime(t, bs[0].Start), jsonTime(t, bs[0].End); got != tt.start || got2 != tt.end {
				t.Errorf("week %s to %s; want %s to %s", got, got2, tt.start, tt.end)
			}
		})
	}
	t.Run("a sprint from a sprint start at midnight in Sydney", func(t *testing.T) {
		opts := model.StatsOptions{Bucket: model.BucketSprint, SprintDays: 14, SprintStart: time.Date(2026, 11, 16, 0, 0, 0, 0, syd), Location: syd}
		bs := zoneBuckets(t, opts, deployAt)
		if got := jsonTime(t, bs[0].Start); got != "2026-11-30T00:00:00+11:00" {
			t.Errorf("sprint starts %s; want 2026-11-30T00:00:00+11:00", got)
		}
		// The same calendar in UTC puts Monday morning in the sprint before.
		opts = model.StatsOptions{Bucket: model.BucketSprint, SprintDays: 14, SprintStart: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)}
		if got := jsonTime(t, zoneBuckets(t, opts, deployAt)[0].Start); got != "2026-11-16T00:00:00Z" {
			t.Errorf("in UTC the sprint starts %s; want 2026-11-16T00:00:00Z", got)
		}
	})
	t.Run("the default sprint calendar starts at midnight in the zone", func(t *testing.T) {
		opts := model.StatsOptions{Bucket: model.BucketSprint, Location: syd}
		// 2026-11-30 is 25 two-week sprints after Monday 2024-01-01.
		if got := jsonTime(t, zoneBuckets(t, opts, deployAt)[0].Start); got != "2026-11-30T00:00:00+11:00" {
			t.Errorf("sprint starts %s; want 2026-11-30T00:00:00+11:00", got)
		}
	})
	t.Run("DORA shares the calendar", func(t *testing.T) {
		opts := model.DORAOptions{Bucket: model.BucketWeek, Location: syd}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewDORAAccumulator(opts)
		acc.Add(deploy(deployAt, "build", 60))
		d := acc.Result()
		if len(d.Buckets) != 1 || jsonTime(t, d.Buckets[0].Start) != "2026-11-30T00:00:00+11:00" || jsonTime(t, *d.Overall.Start) != "2026-11-30T00:00:00+11:00" {
			t.Errorf("DORA buckets %+v, overall from %v; want one week from 2026-11-30T00:00:00+11:00", d.Buckets, d.Overall.Start)
		}
	})
}

// A week across a change of clocks is seven calendar days: 167 hours when
// the clocks go forward, 169 when they go back; the days around it are 23
// and 25 hours.
func TestZoneWeeksAcrossChangesOfClocks(t *testing.T) {
	for _, tt := range []struct {
		zone          string
		monday        [3]int // of the week of the change
		hours         float64
		startOffset   string // of that Monday's midnight
		nextOffset    string // of the next Monday's
		changeDay     [3]int // Sunday
		changeDayHour float64
	}{
		{"Australia/Sydney", [3]int{2026, 9, 28}, 167, "+10:00", "+11:00", [3]int{2026, 10, 4}, 23},
		{"Australia/Sydney", [3]int{2026, 3, 30}, 169, "+11:00", "+10:00", [3]int{2026, 4, 5}, 25},
		{"America/New_York", [3]int{2026, 3, 2}, 167, "-05:00", "-04:00", [3]int{2026, 3, 8}, 23},
		{"America/New_York", [3]int{2026, 10, 26}, 169, "-04:00", "-05:00", [3]int{2026, 11, 1}, 25},
	} {
		t.Run(tt.zone+" "+time.Date(tt.monday[0], time.Month(tt.monday[1]), tt.monday[2], 0, 0, 0, 0, time.UTC).Format(time.DateOnly), func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			monday := time.Date(tt.monday[0], time.Month(tt.monday[1]), tt.monday[2], 0, 0, 0, 0, loc)
			// The first minute of the week, the last, and the first of the
			// next: two buckets, the boundary exactly at local midnight.
			last := time.Date(tt.changeDay[0], time.Month(tt.changeDay[1]), tt.changeDay[2], 23, 59, 0, 0, loc)
			next := monday.AddDate(0, 0, 7)
			bs := zoneBuckets(t, model.StatsOptions{Bucket: model.BucketWeek, Location: loc}, monday, last, next)
			if len(bs) != 2 || bs[0].Count != 2 || bs[1].Count != 1 {
				t.Fatalf("buckets %+v; want two, of 2 and 1 deployments", bs)
			}
			wantStart := monday.Format(time.DateOnly) + "T00:00:00" + tt.startOffset
			wantEnd := next.Format(time.DateOnly) + "T00:00:00" + tt.nextOffset
			if s, e := jsonTime(t, bs[0].Start), jsonTime(t, bs[0].End); s != wantStart || e != wantEnd {
				t.Errorf("week %s to %s; want %s to %s", s, e, wantStart, wantEnd)
			}
			if h := bs[0].End.Sub(bs[0].Start).Hours(); h != tt.hours {
				t.Errorf("the week lasts %v h; want %v", h, tt.hours)
			}
			if !bs[1].Start.Equal(bs[0].End) {
				t.Errorf("the next week starts %v; want %v", bs[1].Start, bs[0].End)
			}
			day := time.Date(tt.changeDay[0], time.Month(tt.changeDay[1]), tt.changeDay[2], 12, 0, 0, 0, loc)
			ds := zoneBuckets(t, model.StatsOptions{Bucket: model.BucketDay, Location: loc}, day)
			if h := ds[0].End.Sub(ds[0].Start).Hours(); h != tt.changeDayHour {
				t.Errorf("the day of the change lasts %v h; want %v", h, tt.changeDayHour)
			}
		})
	}
}

func TestZoneMonths(t *testing.T) {
	syd := mustZone(t, "Australia/Sydney")
	// 00:30 on 1 April in Sydney is still 31 March in UTC; April's first
	// Sunday puts the clocks back, so the month ends at +10:00.
	at := time.Date(2026, 4, 1, 0, 30, 0, 0, syd)
	bs := zoneBuckets(t, model.StatsOptions{Bucket: model.BucketMonth, Location: syd}, at)
	if s, e := jsonTime(t, bs[0].Start), jsonTime(t, bs[0].End); s != "2026-04-01T00:00:00+11:00" || e != "2026-05-01T00:00:00+10:00" {
		t.Errorf("month %s to %s; want 2026-04-01T00:00:00+11:00 to 2026-05-01T00:00:00+10:00", s, e)
	}
	bs = zoneBuckets(t, model.StatsOptions{Bucket: model.BucketMonth}, at)
	if s := jsonTime(t, bs[0].Start); s != "2026-03-01T00:00:00Z" {
		t.Errorf("in UTC the month starts %s; want 2026-03-01T00:00:00Z", s)
	}
}

// Where the clocks go forward at midnight, the day starts at 01:00, and
// every time of it is in that day's bucket, not the one before.
func TestZoneSkippedMidnight(t *testing.T) {
	scl := mustZone(t, "America/Santiago")
	at := time.Date(2026, 9, 6, 10, 0, 0, 0, scl)
	before := time.Date(2026, 9, 5, 23, 30, 0, 0, scl)
	bs := zoneBuckets(t, model.StatsOptions{Bucket: model.BucketDay, Location: scl}, before, at)
	if len(bs) != 2 || bs[0].Count != 1 || bs[1].Count != 1 {
		t.Fatalf("buckets %+v; want two days of one deployment each", bs)
	}
	if s, e := jsonTime(t, bs[1].Start), jsonTime(t, bs[1].End); s != "2026-09-06T01:00:00-03:00" || e != "2026-09-07T00:00:00-03:00" {
		t.Errorf("the day of the change runs %s to %s; want 2026-09-06T01:00:00-03:00 to 2026-09-07T00:00:00-03:00", s, e)
	}
	if !bs[0].End.Equal(bs[1].Start) {
		t.Errorf("the day before ends %v; want %v", bs[0].End, bs[1].Start)
	}
}

// Only the boundaries move with the zone: the growth per week and per
// sprint are in elapsed time.
func TestZoneKeepsTheTrend(t *testing.T) {
	syd := mustZone(t, "Australia/Sydney")
	var starts []time.Time
	for i := range 60 {
		starts = append(starts, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*31*time.Hour))
	}
	trend := func(loc *time.Location) model.Trend {
		opts := model.StatsOptions{Bucket: model.BucketSprint, Location: loc}
		if err := opts.Validate(); err != nil {
			t.Fatal(err)
		}
		acc := model.NewStatsAccumulator(opts)
		for i, s := range starts {
			acc.Add(deploy(s, "build", 100+3*i))
		}
		return acc.Result().Trend
	}
	utc, sydney := trend(nil), trend(syd)
	if math.Abs(utc.GrowthPercentPerWeek-sydney.GrowthPercentPerWeek) > 1e-9 || math.Abs(utc.GrowthPercentPerSprint-sydney.GrowthPercentPerSprint) > 1e-9 {
		t.Errorf("growth per week %v, per sprint %v in Sydney; want UTC's %v, %v", sydney.GrowthPercentPerWeek, sydney.GrowthPercentPerSprint,
			utc.GrowthPercentPerWeek, utc.GrowthPercentPerSprint)
	}
	if utc.GrowthPercentPerWeek <= 0 {
		t.Errorf("growth per week %v; want growth", utc.GrowthPercentPerWeek)
	}
}

func TestLoadZone(t *testing.T) {
	// localtime, posixrules, posix/… and right/… are files of some
	// machines' zoneinfo directories (this one's when Debian's tzdata is
	// installed), not zones of the tz database.
	for _, name := range []string{"", "Local", "Mars/Olympus", "../etc/passwd", "localtime", "posixrules", "posix/Europe/Paris", "right/UTC"} {
		if _, err := model.LoadZone("tz", name); err == nil {
			t.Errorf("LoadZone(%q) = nil error; want one naming tz", name)
		} else if e, ok := err.(*model.Error); !ok || e.Field != "tz" {
			t.Errorf("LoadZone(%q) = %v; want an error naming tz", name, err)
		}
	}
	if loc, err := model.LoadZone("tz", "UTC"); err != nil || loc != time.UTC {
		t.Errorf("LoadZone(UTC) = %v, %v; want time.UTC", loc, err)
	}
}

// A date bound is the day of the zone, however long: Sydney's 2026-04-05
// has 25 hours, New York's 2026-03-08 23, and Santiago's 2026-09-06 starts
// at 01:00. A datetime is the instant it names, in any zone.
func TestDateBoundsInZone(t *testing.T) {
	for _, tt := range []struct {
		zone, value          string
		wantSince, wantUntil string
	}{
		{"UTC", "2026-04-05", "2026-04-05T00:00:00Z", "2026-04-05T23:59:59.999999Z"},
		{"Australia/Sydney", "2026-04-05", "2026-04-04T13:00:00Z", "2026-04-05T13:59:59.999999Z"},
		{"America/New_York", "2026-03-08", "2026-03-08T05:00:00Z", "2026-03-09T03:59:59.999999Z"},
		{"America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z", "2026-09-07T02:59:59.999999Z"},
		{"Australia/Sydney", "2026-04-05 08:00:00", "2026-04-05T08:00:00Z", "2026-04-05T08:00:00Z"},
		{"Australia/Sydney", "2026-04-05T08:00:00+10:00", "2026-04-04T22:00:00Z", "2026-04-04T22:00:00Z"},
	} {
		loc := mustZone(t, tt.zone)
		since, err := model.ParseSinceIn("since", tt.value, loc)
		if err != nil || since.Format(time.RFC3339Nano) != tt.wantSince {
			t.Errorf("%s since %s = %s, %v; want %s", tt.zone, tt.value, since.Format(time.RFC3339Nano), err, tt.wantSince)
		}
		until, err := model.ParseUntilIn("until", tt.value, loc)
		if err != nil || until.Format(time.RFC3339Nano) != tt.wantUntil {
			t.Errorf("%s until %s = %s, %v; want %s", tt.zone, tt.value, until.Format(time.RFC3339Nano), err, tt.wantUntil)
		}
		now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		if got, err := model.ParseSinceAtIn("since", "7d", now, loc); err != nil || !got.Equal(now.AddDate(0, 0, -7)) {
			t.Errorf("%s since 7d = %s, %v; want 7×24 hours before now", tt.zone, got, err)
		}
	}
}

// The first and last dates of the bounds are dates of every zone: east of
// UTC 1000-01-01 begins in year 999, west of it 9999-12-31 ends in year
// 10000, and each reads as the bound itself, which keeps the same steps.
func TestDateBoundsAtTheEndsInZone(t *testing.T) {
	for _, zone := range []string{"Asia/Kolkata", "Pacific/Kiritimati", "America/New_York", "Pacific/Pago_Pago", "Africa/Monrovia"} {
		loc := mustZone(t, zone)
		since, err := model.ParseSinceIn("since", "1000-01-01", loc)
		if err != nil || since.Before(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s since 1000-01-01 = %s, %v; want the first day of the bounds", zone, since.Format(time.RFC3339Nano), err)
		}
		until, err := model.ParseUntilIn("until", "9999-12-31", loc)
		if err != nil || until.Year() != 9999 {
			t.Errorf("%s until 9999-12-31 = %s, %v; want the last day of the bounds", zone, until.Format(time.RFC3339Nano), err)
		}
		if _, err := model.ParseSinceIn("since", "0999-12-31", loc); err == nil {
			t.Errorf("%s since 0999-12-31: no error; want one naming since", zone)
		}
	}
}

// ParseTimeIn reads a date and time without an offset on the zone's clock,
// and places a time the clock skips or reads twice by one rule in every
// zone (RFC 5545's, java.time's): in a gap, with the offset before it; in
// an overlap, the first. time.Date answers differently in Sydney and in
// New York.
func TestParseTimeInZone(t *testing.T) {
	syd, ny := mustZone(t, "Australia/Sydney"), mustZone(t, "America/New_York")
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"2026-03-02 10:30", syd, "2026-03-01T23:30:00Z"},
		{"2026-03-02T10:30", syd, "2026-03-01T23:30:00Z"},
		{"2026-03-02 10:30:15.5", syd, "2026-03-01T23:30:15.5Z"},
		{"2026-03-02 10:30", nil, "2026-03-02T10:30:00Z"},
		// An offset or Z is the instant it names, whatever the zone.
		{"2026-03-02T10:30:00Z", syd, "2026-03-02T10:30:00Z"},
		{"2026-03-02 10:30:00 +01:00", syd, "2026-03-02T09:30:00Z"},
		// Sydney skips 02:00–03:00 on 4 October 2026: 02:30 is 03:30 AEDT.
		{"2026-10-04 02:30", syd, "2026-10-03T16:30:00Z"},
		// New York skips 02:00–03:00 on 8 March 2026: 02:30 is 03:30 EDT,
		// where time.Date gives 01:30 EST, before the gap.
		{"2026-03-08 02:30", ny, "2026-03-08T07:30:00Z"},
		// Sydney reads 02:00–03:00 twice on 5 April 2026: the first, AEDT,
		// where time.Date gives the second.
		{"2026-04-05 02:30", syd, "2026-04-04T15:30:00Z"},
		{"2026-04-05 03:00", syd, "2026-04-04T17:00:00Z"},
		// New York reads 01:00–02:00 twice on 1 November 2026: the first.
		{"2026-11-01 01:30", ny, "2026-11-01T05:30:00Z"},
	} {
		got, day, err := model.ParseTimeIn(c.in, c.loc)
		if err != nil || day || got.UTC().Format(time.RFC3339Nano) != c.want {
			t.Errorf("ParseTimeIn(%q, %s) = %s, %v, %v; want %s", c.in, model.ZoneName(c.loc), got.UTC().Format(time.RFC3339Nano), day, err, c.want)
		}
	}
	// A date stays a date, for the bound to place in the zone.
	if got, day, err := model.ParseTimeIn("2026-03-02", syd); err != nil || !day || !got.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseTimeIn(2026-03-02) = %s, %v, %v; want the date", got, day, err)
	}
	// ParseTime, the API's, keeps reading such a time as UTC, and wants
	// its seconds.
	if got, _, err := model.ParseTime("2026-03-02 10:30:00"); err != nil || !got.Equal(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("ParseTime(2026-03-02 10:30:00) = %s, %v; want 10:30 UTC", got, err)
	}
	if _, _, err := model.ParseTime("2026-03-02 10:30"); err == nil {
		t.Errorf("ParseTime took a time without seconds")
	}
}

// The page's bounds: a date and time without an offset in the zone, a
// date its whole day there, a span back from now; the API's read the same
// time as UTC.
func TestBoundsZoned(t *testing.T) {
	syd := mustZone(t, "Australia/Sydney")
	now := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		parse    func(string, string, time.Time, *time.Location) (time.Time, error)
		in, want string
	}{
		{model.ParseSinceAtZoned, "2026-03-02 10:30", "2026-03-01T23:30:00Z"},
		{model.ParseUntilAtZoned, "2026-03-02 10:30", "2026-03-01T23:30:00Z"},
		{model.ParseSinceAtZoned, "2026-03-02", "2026-03-01T13:00:00Z"},
		{model.ParseUntilAtZoned, "2026-03-02", "2026-03-02T12:59:59.999999Z"},
		{model.ParseSinceAtZoned, "2d", "2026-03-03T00:00:00Z"},
		{model.ParseSinceAtIn, "2026-03-02 10:30:00", "2026-03-02T10:30:00Z"},
	} {
		got, err := c.parse("since", c.in, now, syd)
		if err != nil || got.UTC().Format(time.RFC3339Nano) != c.want {
			t.Errorf("%q = %s, %v; want %s", c.in, got.UTC().Format(time.RFC3339Nano), err, c.want)
		}
	}
	_, err := model.ParseSinceAtZoned("since", "2026-03-02 25:00", now, syd)
	if err == nil || !strings.Contains(err.Error(), `"YYYY-MM-DD hh:mm[:ss[.ffffff]]" (in Australia/Sydney)`) {
		t.Errorf("a bad time: %v; want the formats, in the zone", err)
	}
}

// A bad since or until on a server with a calendar zone lists the forms
// as that server reads them: a date is a day in its zone, not UTC's, while
// a date and time without an offset stays UTC, as the original API read it.
func TestBoundFormatsNameTheDaysZone(t *testing.T) {
	syd := mustZone(t, "Australia/Sydney")
	now := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	errs := map[string]func() error{
		"ParseSinceIn": func() error { _, err := model.ParseSinceIn("since", "yesterday", syd); return err },
		"ParseUntilIn": func() error { _, err := model.ParseUntilIn("until", "yesterday", syd); return err },
		"ParseSinceAtIn": func() error {
			_, err := model.ParseSinceAtIn("since", "yesterday", now, syd)
			return err
		},
		"ParseUntilAtIn": func() error {
			_, err := model.ParseUntilAtIn("until", "yesterday", now, syd)
			return err
		},
	}
	for name, parse := range errs {
		err := parse()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if msg := err.Error(); !strings.Contains(msg, `"YYYY-MM-DD" (a day in Australia/Sydney)`) ||
			!strings.Contains(msg, `"YYYY-MM-DD hh:mm:ss[.ffffff]" (UTC)`) {
			t.Errorf("%s: %s\nwant a date named a day in Australia/Sydney, a date and time UTC", name, msg)
		}
	}
	// Without a zone, or in UTC, the forms read as they always have.
	for _, loc := range []*time.Location{nil, time.UTC} {
		_, err := model.ParseSinceIn("since", "yesterday", loc)
		if err == nil || !strings.Contains(err.Error(), model.AcceptedTimeFormats) {
			t.Errorf("%s: %v; want AcceptedTimeFormats", model.ZoneName(loc), err)
		}
	}
}

// ParseDay takes the day as written: an offset east of UTC that puts the
// instant on the day before in UTC must not move the day.
func TestParseDay(t *testing.T) {
	want := time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-01-07", " 2026-01-07 ", "2026-01-07 10:00:00", "2026-01-07T02:00:00+05:00", "2026-01-07T23:30:00-08:00", "2026-01-07T02:00:00+0500"} {
		if day, ok := model.ParseDay(s); !ok || !day.Equal(want) {
			t.Errorf("ParseDay(%q) = %v, %v; want %v", s, day, ok, want)
		}
	}
	for _, s := range []string{"", "monday", "2026-13-01", "07/01/2026"} {
		if day, ok := model.ParseDay(s); ok {
			t.Errorf("ParseDay(%q) = %v; want it refused", s, day)
		}
	}
}
