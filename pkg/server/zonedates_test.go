package server_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// zoneServer starts a server whose calendar is loc (nil: UTC) over a new
// database of fresh's kind, with one five-minute deploy of api starting at
// each of starts (version i+1 for the i-th).
func zoneServer(t *testing.T, fresh func(testing.TB) string, loc *time.Location, now time.Time, starts ...string) *testServer {
	t.Helper()
	st := testdb.Open(t, fresh(t))
	c := &clock{now: now}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now, Location: loc}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st, clock: c}
	for i, s := range starts {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		v := strconv.Itoa(i + 1)
		ts.mustPost(t, "component=api&version="+v+"&owner=o&status=build&time="+url.QueryEscape(at.Format(time.RFC3339)))
		ts.mustPost(t, "component=api&version="+v+"&owner=o&status=finished&time="+url.QueryEscape(at.Add(5*time.Minute).Format(time.RFC3339)))
	}
	return ts
}

// versions lists the versions of the deployments GET /v1/deployments
// gives for query, and checks that GET /v1/steps gives their steps.
func (ts *testServer) versions(t *testing.T, query string) []string {
	t.Helper()
	r := ts.do(t, "GET", "/v1/deployments?format=json&component=api&"+query, nil)
	var answer struct{ Deployments []model.Deployment }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil {
		t.Fatalf("GET /v1/deployments?%s = %d %.300s", query, r.status, r.body)
	}
	var got []string
	for _, d := range answer.Deployments {
		got = append(got, d.Version)
	}
	steps, _ := ts.listJSON(t, "component=api&"+query)
	if len(steps) != 2*len(got) {
		t.Errorf("GET /v1/steps?%s: %d steps; want the %d of deployments %v", query, len(steps), 2*len(got), got)
	}
	return got
}

// doraAnswer is what the tests read of GET /v1/dora.
type doraAnswer struct {
	Overall struct {
		Start, End  string
		Deployments int
	}
	Buckets []struct {
		Start       string
		Deployments int
	}
}

func (ts *testServer) dora(t *testing.T, query string) doraAnswer {
	t.Helper()
	r := ts.do(t, "GET", "/v1/dora?format=json&component=api&"+query, nil)
	var answer doraAnswer
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil {
		t.Fatalf("GET /v1/dora?%s = %d %.300s", query, r.status, r.body)
	}
	return answer
}

// statsCounts gives GET /v1/stats's deployment count per bucket start.
func (ts *testServer) statsCounts(t *testing.T, query string) map[string]int {
	t.Helper()
	r := ts.do(t, "GET", "/v1/stats?format=json&component=api&"+query, nil)
	var answer struct {
		Buckets []struct {
			Start string
			Count int
		}
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil {
		t.Fatalf("GET /v1/stats?%s = %d %.300s", query, r.status, r.body)
	}
	counts := map[string]int{}
	for _, b := range answer.Buckets {
		if b.Count > 0 {
			counts[b.Start] = b.Count
		}
	}
	return counts
}

// A team in Sydney asks for 2026-04-06 to 2026-04-26: its Monday 08:00
// deploy (Sunday 22:00 UTC) is in, in the week of 2026-04-06, and the
// deploy on the morning of the 27th (still the 26th in UTC) is out, on
// every endpoint that takes since and until.
func TestDatesAreDaysOfTheCalendarZone(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := zoneServer(t, fresh, syd, time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC),
			"2026-04-05T22:00:00Z", // 1: Monday 2026-04-06 08:00 in Sydney
			"2026-04-15T02:00:00Z", // 2: Wednesday 2026-04-15 12:00
			"2026-04-26T21:00:00Z", // 3: Monday 2026-04-27 07:00
		)
		const rng = "since=2026-04-06&until=2026-04-26"

		t.Run("dora", func(t *testing.T) {
			d := ts.dora(t, rng+"&bucket=week")
			if d.Overall.Deployments != 2 || d.Overall.Start != "2026-04-06T00:00:00+10:00" || d.Overall.End != "2026-04-27T00:00:00+10:00" {
				t.Errorf("overall = %+v; want 2 deployments from 2026-04-06T00:00:00+10:00 to 2026-04-27T00:00:00+10:00", d.Overall)
			}
			if len(d.Buckets) == 0 || d.Buckets[0].Start != "2026-04-06T00:00:00+10:00" || d.Buckets[0].Deployments != 1 {
				t.Errorf("buckets = %+v; want the week of 2026-04-06 first, with the Monday deploy", d.Buckets)
			}
		})
		t.Run("stats", func(t *testing.T) {
			got := ts.statsCounts(t, rng+"&bucket=week")
			want := map[string]int{"2026-04-06T00:00:00+10:00": 1, "2026-04-13T00:00:00+10:00": 1}
			if len(got) != len(want) || got["2026-04-06T00:00:00+10:00"] != 1 || got["2026-04-13T00:00:00+10:00"] != 1 {
				t.Errorf("counts per week = %v; want %v", got, want)
			}
		})
		t.Run("deployments and steps", func(t *testing.T) {
			if got := ts.versions(t, rng); !slices.Equal(got, []string{"1", "2"}) {
				t.Errorf("deployments %s = %v; want [1 2]", rng, got)
			}
			if got := ts.versions(t, "start_datetime=2026-04-27"); !slices.Equal(got, []string{"3"}) {
				t.Errorf("deployments start_datetime=2026-04-27 = %v; want [3]", got)
			}
			if got := ts.versions(t, "end_datetime=2026-04-05"); len(got) != 0 {
				t.Errorf("deployments end_datetime=2026-04-05 = %v; want none (the first is on the 6th in Sydney)", got)
			}
		})
		t.Run("tz wins", func(t *testing.T) {
			d := ts.dora(t, rng+"&bucket=week&tz=UTC")
			if d.Overall.Deployments != 2 || d.Overall.Start != "2026-04-06T00:00:00Z" {
				t.Errorf("tz=UTC: overall = %+v; want 2 deployments (the 15th and the 27th in Sydney) from 2026-04-06T00:00:00Z", d.Overall)
			}
			if got := ts.statsCounts(t, rng+"&tz=UTC"); got["2026-04-13T00:00:00Z"] != 1 || got["2026-04-20T00:00:00Z"] != 1 || len(got) != 2 {
				t.Errorf("tz=UTC: counts per week = %v; want the 15th and the 26th (UTC)", got)
			}
		})
		t.Run("datetimes are instants", func(t *testing.T) {
			for query, want := range map[string][]string{
				"since=2026-04-05T22:00:00Z":                      {"1", "2", "3"},
				"since=" + url.QueryEscape("2026-04-06 08:00:00"): {"2", "3"}, // UTC, as the original API
				"since=2026-04-06T08:00:00%2B10:00":               {"1", "2", "3"},
				"until=2026-04-26T23:59:59Z":                      {"1", "2", "3"},
			} {
				if got := ts.versions(t, query); !slices.Equal(got, want) {
					t.Errorf("deployments %s = %v; want %v", query, got, want)
				}
			}
		})
		t.Run("the page", func(t *testing.T) {
			page := ts.do(t, "GET", "/?"+rng+"&bucket=week", nil)
			body := string(page.body)
			if page.status != http.StatusOK || !strings.Contains(body, `data-start="2026-04-06"`) ||
				!strings.Contains(body, "2026-04-06 00:00 to 2026-04-26 23:59 Australia/Sydney") {
				t.Fatalf("the page = %d; want the week of 2026-04-06 and the range in Sydney:\n%.3000s", page.status, body)
			}
			m := regexp.MustCompile(`The same numbers for scripts: <code>GET ([^<]+)</code>`).FindStringSubmatch(body)
			if m == nil {
				t.Fatal("the page has no API link")
			}
			path := html.UnescapeString(m[1])
			if u, err := url.Parse(path); err != nil || u.Query().Get("since") != "2026-04-06" || u.Query().Get("until") != "2026-04-26" {
				t.Errorf("the API link %s does not carry the dates typed", path)
			}
			r := ts.do(t, "GET", path, nil)
			var answer struct{ Deployments int }
			if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || answer.Deployments != 2 {
				t.Errorf("GET %s = %d %.300s; want the page's 2 deployments", path, r.status, r.body)
			}
		})
	})
}

// In New York a deploy on Sunday 2026-03-01 at 22:00 (03:00 UTC on the
// 2nd) is the 1st's; and the 8th, when clocks go forward, has 23 hours,
// up to 03:59:59 UTC on the 9th.
func TestDatesInNewYork(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	ts := zoneServer(t, testdb.SQLite, nil, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		"2026-03-01T02:00:00Z", // 1: Saturday 2026-02-28 21:00 in New York
		"2026-03-02T03:00:00Z", // 2: Sunday 2026-03-01 22:00 EST
		"2026-03-09T03:30:00Z", // 3: Sunday 2026-03-08 23:30 EDT
		"2026-03-09T04:30:00Z", // 4: Monday 2026-03-09 00:30 EDT
	)
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"since=2026-03-01&until=2026-03-01&tz=America/New_York", 1},
		{"since=2026-03-08&until=2026-03-08&tz=America/New_York", 1},
		{"since=2026-03-09&tz=America/New_York", 1},
		// The server's zone, UTC: the days of UTC, as before.
		{"since=2026-03-01&until=2026-03-01", 1},
		{"since=2026-03-09&until=2026-03-09", 2},
	} {
		got := 0
		for _, n := range ts.statsCounts(t, tt.query+"&bucket=day") {
			got += n
		}
		d := ts.dora(t, tt.query+"&bucket=day")
		if got != tt.want || d.Overall.Deployments != tt.want {
			t.Errorf("%s: stats count %d, dora %d deployments; want %d", tt.query, got, d.Overall.Deployments, tt.want)
		}
	}
	if got := ts.statsCounts(t, "since=2026-03-01&until=2026-03-01&tz=America/New_York&bucket=day"); got["2026-03-01T00:00:00-05:00"] != 1 {
		t.Errorf("the 1st in New York = %v; want the Sunday 22:00 deploy on 2026-03-01", got)
	}
	if got := ts.statsCounts(t, "since=2026-03-01&until=2026-03-01&bucket=day"); got["2026-03-01T00:00:00Z"] != 1 {
		t.Errorf("the 1st in UTC = %v; want the 02:00 UTC deploy", got)
	}
	// The server's zone is New York's: the lists read dates in it too.
	nyts := zoneServer(t, testdb.SQLite, ny, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		"2026-03-01T02:00:00Z", "2026-03-02T03:00:00Z", "2026-03-09T03:30:00Z", "2026-03-09T04:30:00Z")
	if got := nyts.versions(t, "since=2026-03-01&until=2026-03-08"); !slices.Equal(got, []string{"2", "3"}) {
		t.Errorf("deployments of the 1st to the 8th in New York = %v; want [2 3]", got)
	}
}

// A page in Sydney with a span: the span is elapsed time back from now,
// not a day of any zone.
func TestSpansIgnoreTheZone(t *testing.T) {
	syd, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		t.Fatal(err)
	}
	ts := zoneServer(t, testdb.SQLite, syd, time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC),
		"2026-05-02T20:00:00Z", // 1: 7 days and 4 hours ago
		"2026-05-03T04:00:00Z", // 2: 6 days and 20 hours ago
	)
	page := ts.do(t, "GET", "/?since=7d&bucket=day", nil)
	body := string(page.body)
	if page.status != http.StatusOK || !strings.Contains(body, "2026-05-03 10:00 to now Australia/Sydney") {
		t.Fatalf("the page since=7d = %d; want the range from 7×24 hours ago:\n%.3000s", page.status, body)
	}
	m := regexp.MustCompile(`The same numbers for scripts: <code>GET ([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page has no API link")
	}
	path := html.UnescapeString(m[1])
	if u, err := url.Parse(path); err != nil || u.Query().Get("since") != "2026-05-03T00:00:00Z" {
		t.Errorf("the API link %s does not carry the span's instant", path)
	}
	r := ts.do(t, "GET", path, nil)
	var answer struct{ Deployments int }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || answer.Deployments != 1 {
		t.Errorf("GET %s = %d %.300s; want 1 deployment", path, r.status, r.body)
	}
}

// The dates that bound every range, 1000-01-01 and 9999-12-31, are dates
// of every zone: "until=9999-12-31" for no end answered 400 in New York,
// where that day ends in year 10000, and "since=1000-01-01" east of UTC.
func TestBoundDatesInEveryZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := zoneServer(t, fresh, ny, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "2026-03-01T02:00:00Z", "2026-03-09T03:30:00Z")
		if got := ts.versions(t, "since=1000-01-01&until=9999-12-31"); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("deployments of 1000-01-01 to 9999-12-31 in New York = %v; want [1 2]", got)
		}
		for _, q := range []string{"until=9999-12-31", "since=1000-01-01&tz=Asia/Kolkata", "since=1000-01-01&until=9999-12-31&tz=Pacific/Kiritimati"} {
			got := 0
			for _, n := range ts.statsCounts(t, q+"&bucket=day") {
				got += n
			}
			if d := ts.dora(t, q); got != 2 || d.Overall.Deployments != 2 {
				t.Errorf("%s: stats count %d, dora %d deployments; want 2", q, got, d.Overall.Deployments)
			}
		}
		r := ts.do(t, "GET", "/?until=9999-12-31&since=1000-01-01&tz=Asia/Tokyo", nil)
		if r.status != http.StatusOK {
			t.Errorf("page from 1000-01-01 to 9999-12-31 in Tokyo = %d; want 200", r.status)
		}
	})
}

// Names the machine's zoneinfo directory holds besides the tz database's
// are refused on every endpoint that takes tz and on the page: localtime
// is the server's own zone.
func TestHostZoneFilesRefused(t *testing.T) {
	ts := zoneServer(t, testdb.SQLite, nil, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), "2026-03-01T02:00:00Z")
	for _, path := range []string{"/v1/stats?tz=localtime", "/v1/dora?tz=localtime", "/v1/stats?tz=right/Europe/Paris", "/?tz=posixrules"} {
		r := ts.do(t, "GET", path, nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "tz") {
			t.Errorf("GET %s = %d %.200s; want 400 naming tz", path, r.status, r.body)
		}
	}
}
