package server_test

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/server"
)

// A team in Sydney deploys on Monday at 08:00, Sunday 21:00 UTC: its
// server's zone puts that in Monday's week, and tz asks for another.
func TestStatsAndDORAInTimeZone(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, testdb.SQLite(t))
	c := &clock{now: time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now, Location: syd}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st, clock: c}
	ts.mustPost(t, "component=api&version=1&owner=o&status=build&time=2026-11-29T21:00:00Z")
	ts.mustPost(t, "component=api&version=1&owner=o&status=finished&time=2026-11-29T21:05:00Z")

	firstStart := func(t *testing.T, path string) string {
		t.Helper()
		r := ts.do(t, "GET", path, nil)
		var answer struct {
			Buckets []struct{ Start, End string }
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || len(answer.Buckets) == 0 {
			t.Fatalf("GET %s = %d %.300s", path, r.status, r.body)
		}
		return answer.Buckets[0].Start
	}
	for _, tt := range []struct{ query, want string }{
		{"bucket=week", "2026-11-30T00:00:00+11:00"},
		{"bucket=week&tz=UTC", "2026-11-23T00:00:00Z"},
		{"bucket=week&tz=America/New_York", "2026-11-23T00:00:00-05:00"},
		{"bucket=month&tz=Australia/Sydney", "2026-11-01T00:00:00+11:00"},
		{"bucket=sprint&sprint_days=14&sprint_start=2026-11-16", "2026-11-30T00:00:00+11:00"},
		{"bucket=sprint&sprint_days=14&sprint_start=2026-11-16&tz=UTC", "2026-11-16T00:00:00Z"},
		// The server's calendar (sprints from 2024-01-01) read in the zone.
		{"bucket=sprint", "2026-11-30T00:00:00+11:00"},
	} {
		for _, route := range []string{"/v1/stats", "/v1/dora"} {
			if got := firstStart(t, route+"?format=json&"+tt.query); got != tt.want {
				t.Errorf("%s?%s: first bucket starts %s; want %s", route, tt.query, got, tt.want)
			}
		}
	}
	for _, route := range []string{"/v1/stats", "/v1/dora"} {
		for _, bad := range []string{"Mars/Olympus", "Local", ""} {
			r := ts.do(t, "GET", route+"?tz="+bad, nil)
			if msg, _, field := r.errorBody(t); r.status != http.StatusBadRequest || field != "tz" || !strings.Contains(msg, "Australia/Sydney") {
				t.Errorf("%s?tz=%s = %d %s; want 400 naming tz with an example", route, bad, r.status, r.body)
			}
		}
	}
	t.Run("the page", func(t *testing.T) {
		r := ts.do(t, "GET", "/?since=&bucket=week", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `data-start="2026-11-30"`) || !strings.Contains(string(r.body), `placeholder="Australia/Sydney"`) {
			t.Errorf("the page = %d; want the week of 2026-11-30 and the server's zone as the field's placeholder:\n%.2000s", r.status, r.body)
		}
		r = ts.do(t, "GET", "/?since=&bucket=week&tz=UTC", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `data-start="2026-11-23"`) || !strings.Contains(string(r.body), "tz=UTC") {
			t.Errorf("the page with tz=UTC = %d; want the week of 2026-11-23 and tz in the API link", r.status)
		}
		if r := ts.do(t, "GET", "/?tz=Mars/Olympus", nil); r.status != http.StatusBadRequest {
			t.Errorf("the page with an unknown zone = %d; want 400", r.status)
		}
	})
}

// In Santiago the clock skips from 23:59 to 01:00 on 2026-09-06: a sprint
// that starts that day starts at 01:00, and the sprints after it at
// midnight, so a deploy at 00:30 on the first day of the next sprint is in
// that sprint, whether the date comes from the server's calendar or from
// the request.
func TestSprintFromSkippedMidnight(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, testdb.SQLite(t))
	c := &clock{now: time.Date(2026, 9, 25, 0, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now, Location: santiago,
		SprintStart: time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC), SprintDays: 14}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st, clock: c}
	// Sunday 2026-09-20 at 00:30 in Santiago.
	ts.mustPost(t, "component=api&version=1&owner=o&status=build&time=2026-09-20T03:30:00Z")
	ts.mustPost(t, "component=api&version=1&owner=o&status=finished&time=2026-09-20T03:35:00Z")

	for _, query := range []string{"bucket=sprint", "bucket=sprint&sprint_start=2026-09-06&sprint_days=14"} {
		for _, route := range []string{"/v1/stats", "/v1/dora"} {
			r := ts.do(t, "GET", route+"?"+query, nil)
			var answer struct {
				Buckets []struct{ Start, End string }
			}
			if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || len(answer.Buckets) == 0 {
				t.Fatalf("GET %s?%s = %d %.300s", route, query, r.status, r.body)
			}
			if got, want := answer.Buckets[0].Start, "2026-09-20T00:00:00-03:00"; got != want {
				t.Errorf("%s?%s: the deploy's sprint starts %s; want %s", route, query, got, want)
			}
		}
	}
}

// The trend is in elapsed time: the zone and the sprint start move the
// buckets, never a digit of the growth figures.
func TestTrendSameInEveryZone(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	c := &clock{now: time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st, clock: c}
	// A deploy every Monday morning in Sydney, 4 s slower each week.
	var batch []map[string]string
	start := time.Date(2026, 1, 4, 21, 17, 0, 0, time.UTC)
	for i := range 48 {
		at := start.AddDate(0, 0, 7*i).Add(time.Duration(i*17%100) * time.Minute)
		for _, s := range []struct {
			status string
			after  time.Duration
		}{{"build", 0}, {"finished", time.Duration(300+4*i) * time.Second}} {
			batch = append(batch, map[string]string{"component": "api", "version": strconv.Itoa(i), "owner": "o",
				"status": s.status, "time": at.Add(s.after).Format(time.RFC3339)})
		}
	}
	body, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Fatalf("batch = %d %.300s", r.status, r.body)
	}
	trend := func(query string) string {
		t.Helper()
		r := ts.do(t, "GET", "/v1/stats?"+query, nil)
		var answer struct{ Trend json.RawMessage }
		if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil {
			t.Fatalf("GET /v1/stats?%s = %d %.300s", query, r.status, r.body)
		}
		return string(answer.Trend)
	}
	want := trend("bucket=week")
	for _, query := range []string{"bucket=week&tz=Australia/Sydney", "bucket=week&tz=Pacific/Chatham", "bucket=sprint&tz=Asia/Kathmandu",
		"bucket=sprint&tz=America/New_York&sprint_start=2025-03-03", "bucket=month&sprint_start=2026-01-07"} {
		if got := trend(query); got != want {
			t.Errorf("%s: trend %s\nwant (UTC) %s", query, got, want)
		}
	}
}

// The page's link to "the same numbers for scripts" gives the sprints the
// page shows, however its sprint start was typed: a date, a date and
// clock time with an offset, or the same instant in UTC.
func TestPageAPILinkKeepsSprintStart(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	st := testdb.Open(t, testdb.SQLite(t))
	c := &clock{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now, Location: syd}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st, clock: c}
	// Monday 2026-01-19 at 09:00 in Sydney.
	ts.mustPost(t, "component=api&version=1&owner=o&status=build&time=2026-01-18T22:00:00Z")
	ts.mustPost(t, "component=api&version=1&owner=o&status=finished&time=2026-01-18T22:05:00Z")

	link := regexp.MustCompile(`The same numbers for scripts: <code>GET ([^<]+)</code>`)
	for _, start := range []string{"2026-01-05", "2026-01-04T13:00:00Z", "2026-01-05T08:00:00+11:00", "2026-01-04"} {
		page := ts.do(t, "GET", "/?since=&bucket=sprint&sprint_start="+url.QueryEscape(start), nil)
		m := link.FindSubmatch(page.body)
		if page.status != http.StatusOK || m == nil {
			t.Fatalf("the page with sprint_start=%s = %d, without the API link", start, page.status)
		}
		var answer struct {
			Buckets []struct{ Start string }
		}
		path := html.UnescapeString(string(m[1]))
		r := ts.do(t, "GET", path, nil)
		if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || len(answer.Buckets) != 1 {
			t.Fatalf("GET %s = %d %.300s", path, r.status, r.body)
		}
		want := regexp.MustCompile(`data-start="([^"]+)"`).FindSubmatch(page.body)
		if want == nil || !strings.HasPrefix(answer.Buckets[0].Start, string(want[1])) {
			t.Errorf("sprint_start=%s: the page's sprint starts %s, its link's (%s) %s", start, want[1], path, answer.Buckets[0].Start)
		}
	}
}

// A team in Sydney reads its deploys' times in Sydney time, beside the
// buckets that are its days: a deploy at 23:30 UTC on 1 March started at
// 10:30 on 2 March there. The page and the timeline show it so, name the
// zone, keep the instant in UTC for machines, and carry the zone from one
// to the other; the API keeps UTC.
func TestPageTimesInTheZone(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	newServer := func(t *testing.T, loc *time.Location) *testServer {
		ts := zoneServer(t, testdb.SQLite, loc, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
		ts.mustPost(t, "component=api&version=1&environment=prod&owner=o&status=build&time=2026-03-01T23:30:00Z&revision=9f1c2e7d4b3a&committed_at=2026-03-01T22:05:00Z")
		ts.mustPost(t, "component=api&version=1&environment=prod&owner=o&status=finished&time=2026-03-01T23:40:00Z")
		return ts
	}
	page := func(t *testing.T, ts *testServer, path string) string {
		t.Helper()
		r := ts.do(t, "GET", path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %.500s", path, r.status, r.body)
		}
		return string(r.body)
	}
	mustHave := func(t *testing.T, what, body string, wants ...string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", what, want)
			}
		}
	}
	timelineHref := regexp.MustCompile(`<a href="(/ui/deployment\?[^"]*)">api 1</a>`)
	follow := func(t *testing.T, ts *testServer, body string) (href, timeline string) {
		t.Helper()
		m := timelineHref.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no link to the timeline in %.3000s", body)
		}
		href = html.UnescapeString(m[1])
		return href, page(t, ts, href)
	}
	started := `<time datetime="2026-03-01T23:30:00Z">2026-03-02 10:30</time>`
	inSydney := []string{started, `<th scope="col">started (Australia/Sydney)</th>`, "times in Australia/Sydney"}
	timelineInSydney := []string{`<dt>Started (Australia/Sydney)</dt><dd id="started">` + started + `</dd>`,
		`<th scope="col">at (Australia/Sydney)</th>`, `<time datetime="2026-03-01T23:40:00Z">2026-03-02 10:40</time>`,
		`committed <time datetime="2026-03-01T22:05:00Z">2026-03-02 09:05</time>`, "times in Australia/Sydney"}

	t.Run("tz on a server in UTC", func(t *testing.T) {
		ts := newServer(t, nil)
		body := page(t, ts, "/?since=&tz=Australia/Sydney")
		mustHave(t, "the page", body, inSydney...)
		if strings.Contains(body, "(UTC)") || strings.Contains(body, "times in UTC") {
			t.Errorf("the page in Sydney still says UTC")
		}
		href, timeline := follow(t, ts, body)
		u, err := url.Parse(href)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("tz"); got != "Australia/Sydney" {
			t.Errorf("the timeline link %s carries tz=%q; want Australia/Sydney", href, got)
		}
		mustHave(t, "the timeline", timeline, timelineInSydney...)
		// The way back, and the filters, keep the zone.
		mustHave(t, "the timeline", timeline, `<a href="/?since=&amp;tz=Australia%2FSydney">`, `name="tz" value="Australia/Sydney"`)
		// A timeline bookmarked with tz alone reads in it too.
		mustHave(t, "the bookmarked timeline", page(t, ts, "/ui/deployment?component=api&version=1&environment=prod&tz=Australia/Sydney"), timelineInSydney...)
	})
	t.Run("the server's zone", func(t *testing.T) {
		ts := newServer(t, syd)
		body := page(t, ts, "/?since=")
		mustHave(t, "the page", body, inSydney...)
		_, timeline := follow(t, ts, body)
		mustHave(t, "the timeline", timeline, timelineInSydney...)
		// tz asks for another, and the link takes it along.
		body = page(t, ts, "/?since=&tz=UTC")
		utc := `<time datetime="2026-03-01T23:30:00Z">2026-03-01 23:30</time>`
		mustHave(t, "the page in UTC", body, utc, `started (UTC)`, "times in UTC")
		_, timeline = follow(t, ts, body)
		mustHave(t, "the timeline in UTC", timeline, `<dt>Started (UTC)</dt><dd id="started">`+utc+`</dd>`, "times in UTC")
	})
	t.Run("an unknown zone", func(t *testing.T) {
		ts := newServer(t, nil)
		for _, path := range []string{
			"/ui/deployment?component=api&version=1&environment=prod&tz=Mars/Olympus",
			"/ui/deployment?component=api&version=1&environment=prod&view=" + url.QueryEscape("since=&tz=Mars/Olympus"),
		} {
			if r := ts.do(t, "GET", path, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "not a known time zone") {
				t.Errorf("GET %s = %d; want 400 naming the zone", path, r.status)
			}
		}
	})
	t.Run("the API stays in UTC", func(t *testing.T) {
		ts := newServer(t, syd)
		r := ts.do(t, "GET", "/v1/deployments?format=json", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"started_at":"2026-03-01T23:30:00Z"`) {
			t.Errorf("GET /v1/deployments = %d %.500s; want started_at in UTC", r.status, r.body)
		}
	})
}
