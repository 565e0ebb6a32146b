package server_test

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestPageSaysInHTMLWhatIsWrongWithItsAddress sends the page addresses
// refused before any handler reads them: a value of 10,000 characters
// typed in a filter, a bad %-escape. A browser must get the page's own
// 400 saying what is wrong, not the API's JSON telling it to send a
// step's fields in a body.
func TestPageSaysInHTMLWhatIsWrongWithItsAddress(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	long := strings.Repeat("a", 10000)
	for _, c := range []struct{ path, want string }{
		{"/?component=" + long, "The address&#39;s filters are 10,010 bytes long; stepsd reads at most 8,192."},
		{"/ui/deployment?component=api&version=" + long, "The address&#39;s filters are 10,022 bytes long"},
		{"/?component=%zz", "component is not validly escaped"},
	} {
		p := getPage(t, nil, ts.URL, c.path)
		if p.status != 400 {
			t.Errorf("%.40s: status %d, want 400", c.path, p.status)
		}
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%.40s: Content-Type %q, want the page's HTML", c.path, ct)
		}
		if p.header.Get("Content-Security-Policy") != wantCSP {
			t.Errorf("%.40s: no page policy", c.path)
		}
		if !strings.Contains(p.body, c.want) || strings.Contains(p.body, "JSON body") {
			t.Errorf("%.40s: the page does not say %q:\n%.2000s", c.path, c.want, p.body)
		}
		if strings.Contains(p.body, long[:200]) {
			t.Errorf("%.40s: the page echoes the long value", c.path)
		}
	}
	// The API keeps its JSON.
	r := ts.do(t, "GET", "/v1/steps?component="+long, nil)
	if _, code, field := r.errorBody(t); r.status != 400 || code != "invalid" || field != "query" {
		t.Errorf("API: %d %s", r.status, r.body)
	}
}

// TestPageSaysUntilBeforeSinceInItsZone types Since and Until as days of
// the page's time zone, the wrong way round: the 400 names them as they
// were typed, in that zone, not as UTC instants without a zone
// ("until (2026-01-01 12:59:59.999999) is before since (2026-01-31
// 13:00:00)" for days typed in Sydney).
func TestPageSaysUntilBeforeSinceInItsZone(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for _, c := range []struct{ query, want string }{
		{"since=2026-02-01&until=2026-01-01&tz=Australia/Sydney",
			"Until (2026-01-01 23:59:59 Australia/Sydney) is before Since (2026-02-01 00:00:00 Australia/Sydney)"},
		{"since=2026-02-01%2009:30&until=2026-01-31",
			"Until (2026-01-31 23:59:59 UTC) is before Since (2026-02-01 09:30:00 UTC)"},
	} {
		p := getPage(t, nil, ts.URL, "/?"+c.query)
		if p.status != 400 || !strings.Contains(p.body, c.want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%s", c.query, p.status, c.want, errorOf(p.body))
		}
	}
}

// errorOf is the page's error message, or the whole page without one.
func errorOf(body string) string {
	if _, after, ok := strings.Cut(body, `<p class="error" role="alert">`); ok {
		msg, _, _ := strings.Cut(after, "</p>")
		return msg
	}
	return body
}

// TestPageRefusesASinceAfterNow asks for a range that starts in the
// future. GET /v1/dora refuses it (its period ends now at the latest);
// the page showed its DORA panel anyway, "Deployment frequency none" in
// the low band, over a server full of deployments, and told how to
// record a first deploy. It says what is wrong instead, as for any
// value it cannot use.
func TestPageRefusesASinceAfterNow(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for i, s := range []string{"build", "finished"} {
		ts.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		ts.mustPost(t, "component=api&version=1&owner=o&environment=production&status="+s)
	}
	ts.clock.Set(t0.Add(time.Hour)) // 2026-03-02 10:00 UTC
	if r := ts.do(t, "GET", "/v1/dora?since=2099-01-01", nil); r.status != 400 {
		t.Fatalf("GET /v1/dora?since=2099-01-01 = %d, want the API's 400", r.status)
	}
	for _, c := range []struct{ query, want string }{
		{"since=2099-01-01", "Since (2099-01-01 00:00:00 UTC) is after now (2026-03-02 10:00:00 UTC)"},
		{"since=2026-03-03&tz=Australia/Sydney", "Since (2026-03-03 00:00:00 Australia/Sydney) is after now (2026-03-02 21:00:00 Australia/Sydney)"},
		{"since=2099-01-01&until=2099-02-01", "Since (2099-01-01 00:00:00 UTC) is after now"},
	} {
		p := getPage(t, nil, ts.URL, "/?"+c.query)
		if p.status != 400 || !strings.Contains(p.body, c.want) {
			t.Errorf("%s: %d, want 400 saying %q:\n%s", c.query, p.status, c.want, errorOf(p.body))
		}
		if strings.Contains(p.body, "Deployment frequency") {
			t.Errorf("%s: the page shows the four keys of a range that has not begun", c.query)
		}
	}
	// Today, in a zone already past midnight, still shows the page.
	if p := getPage(t, nil, ts.URL, "/?since=2026-03-02&tz=Australia/Sydney"); p.status != 200 {
		t.Errorf("since today in Sydney: %d %s", p.status, errorOf(p.body))
	}
}

// TestBadSprintStartSaysADateIsADayOfTheZone gives a sprint start that
// does not parse under a time zone: the message must say that a date is
// a day of that zone, as a sprint start given as a date is read, not
// "(UTC)", on the page and in GET /v1/stats alike.
func TestBadSprintStartSaysADateIsADayOfTheZone(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	want := `"YYYY-MM-DD" (a day in Australia/Sydney)`
	p := getPage(t, nil, ts.URL, "/?bucket=sprint&sprint_start=2026-13-01&tz=Australia/Sydney")
	if msg := html.UnescapeString(errorOf(p.body)); p.status != 400 || !strings.Contains(msg, want) || strings.Contains(msg, `"YYYY-MM-DD" (UTC)`) {
		t.Errorf("page: %d %s; want a 400 saying %s", p.status, msg, want)
	}
	r := ts.do(t, "GET", "/v1/stats?bucket=sprint&sprint_start=2026-13-01&tz=Australia/Sydney", nil)
	if msg, _, field := r.errorBody(t); r.status != 400 || field != "sprint_start" || !strings.Contains(msg, want) {
		t.Errorf("stats: %d %s; want a 400 on sprint_start saying %s", r.status, r.body, want)
	}
	// In UTC a date is a day in UTC, as before.
	r = ts.do(t, "GET", "/v1/stats?bucket=sprint&sprint_start=2026-13-01", nil)
	if msg, _, _ := r.errorBody(t); r.status != 400 || !strings.Contains(msg, `"YYYY-MM-DD" (UTC)`) {
		t.Errorf("stats in UTC: %d %s", r.status, r.body)
	}
}
