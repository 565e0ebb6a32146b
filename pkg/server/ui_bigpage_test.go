package server_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// A deployment of 5,000 steps (of the 50,000 one may hold) gets a timeline
// of 1,000 rows, the first and last 500, that says how many it leaves out
// and links to every step in the API; its figures count every step.
// Before, the page had a row per step: 2.5 MB here, 25 MB at 50,000.
func TestTimelineOfAHugeDeployment(t *testing.T) {
	const n = 5000
	ts := zoneServer(t, testdb.SQLite, nil, t0.Add(3*time.Hour))
	ins := make([]model.StepInput, n)
	for i := range ins {
		status := fmt.Sprintf("step-%d", i%7)
		if i == n-1 {
			status = "finished"
		}
		ins[i] = model.StepInput{Component: "api", Version: "1.0", Owner: "ana", Status: status, Environment: "production", Time: t0.Add(time.Duration(i) * time.Second)}
	}
	if _, _, err := ts.store.CreateSteps(t.Context(), ins, model.RecordMeta{ReceivedAt: t0}); err != nil {
		t.Fatal(err)
	}
	p := getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=1.0&environment=production")
	if p.status != http.StatusOK {
		t.Fatalf("status %d: %.500s", p.status, p.body)
	}
	if len(p.body) > 700_000 {
		t.Errorf("the timeline of %d steps is %d bytes; want at most 700,000 (1,000 rows)", n, len(p.body))
	}
	if got := p.count(`<tr class="phase`); got != 1000 {
		t.Errorf("the timeline shows %d rows; want 1000", got)
	}
	for _, want := range []string{
		`<td class="num">500</td>`, `<td class="num">4501</td>`, `<td class="num">5000</td>`,
		`<strong>4,000 steps between them (501 to 4,500) are not shown</strong>`,
		`<tr class="gap"><td colspan="6">4,000 steps not shown (501 to 4,500)`,
		`<dd id="steps">5,000</dd>`,
		// 4,999 seconds from the first step to the last: every step counts.
		`<dd id="duration">` + model.HumanDuration(n-1) + `</dd>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the timeline lacks %s", want)
		}
	}
	if strings.Contains(p.body, `<td class="num">501</td>`) || strings.Contains(p.body, `<td class="num">4500</td>`) {
		t.Errorf("the timeline shows a row it says it leaves out")
	}

	link := func(format string) string {
		t.Helper()
		m := regexp.MustCompile(`<a href="([^"]*)">` + format + `</a>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("the timeline has no %s link", format)
		}
		return html.UnescapeString(m[1])
	}
	csvPath := link("CSV")
	r := ts.do(t, "GET", csvPath, nil)
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if r.status != http.StatusOK || err != nil || len(rows) != n+1 {
		t.Errorf("GET %s = %d, %d rows (%v); want every step, %d rows and a header", csvPath, r.status, len(rows), err, n)
	}
	jsonPath := link("JSON")
	r = ts.do(t, "GET", jsonPath, nil)
	var answer struct{ Deployments []model.Deployment }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil || len(answer.Deployments) != 1 ||
		len(answer.Deployments[0].Steps) != n || answer.Deployments[0].DurationSeconds != n-1 {
		t.Errorf("GET %s = %d %.300s; want the deployment with its %d steps", jsonPath, r.status, r.body, n)
	}
}

// A team in Sydney copies a time the page shows, 2026-03-02 10:30 (23:30
// UTC on 1 March), into Since: the page reads it in Sydney, as it showed
// it, and selects the deployment started then; the page's link to the API
// carries the instant, so the API selects the same. The API, asked with
// the same offsetless time, keeps reading it as UTC.
func TestPageReadsClockTimesInItsZone(t *testing.T) {
	now := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	// Versions 1, 2, 3: before the time, at it, and later that day (after
	// 10:30 UTC too).
	ts := zoneServer(t, testdb.SQLite, nil, now, "2026-03-01T23:00:00Z", "2026-03-01T23:30:00Z", "2026-03-02T12:00:00Z")
	apiLink := regexp.MustCompile(`<code>GET (/v1/stats\?[^<]*)</code>`)
	for _, since := range []string{"2026-03-02 10:30:00", "2026-03-02 10:30", "2026-03-02T10:30"} {
		path := "/?component=api&tz=Australia%2FSydney&since=" + strings.ReplaceAll(since, " ", "+")
		r := ts.do(t, "GET", path, nil)
		body := string(r.body)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %.500s", path, r.status, body)
		}
		for _, want := range []string{">api 2</a>", ">api 3</a>", "2026-03-02 10:30 to "} {
			if !strings.Contains(body, want) {
				t.Errorf("since=%s: the page lacks %s", since, want)
			}
		}
		if strings.Contains(body, ">api 1</a>") {
			t.Errorf("since=%s: the page shows api 1, started before", since)
		}
		m := apiLink.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("since=%s: the page has no API link", since)
		}
		link := html.UnescapeString(m[1])
		if !strings.Contains(link, "since=2026-03-01T23%3A30%3A00Z") {
			t.Errorf("since=%s: the API link %s does not carry the instant 2026-03-01T23:30:00Z", since, link)
		}
		if got := sumCounts(t, ts, link); got != 2 {
			t.Errorf("since=%s: the API link %s counts %d deployments; want the page's 2", since, link, got)
		}
	}
	// The API's contract stays: a datetime without an offset is UTC.
	if got := sumCounts(t, ts, "/v1/stats?component=api&tz=Australia%2FSydney&since=2026-03-02+10%3A30%3A00"); got != 1 {
		t.Errorf("the API read since=2026-03-02 10:30:00 as %d deployments; want 1 (10:30 UTC)", got)
	}
	// An offset is an instant on the page too.
	if body := string(ts.do(t, "GET", "/?component=api&tz=Australia%2FSydney&since=2026-03-02T10%3A30%3A00Z", nil).body); strings.Contains(body, ">api 2</a>") || !strings.Contains(body, ">api 3</a>") {
		t.Errorf("since=2026-03-02T10:30:00Z on the page is not 10:30 UTC")
	}
}

// sumCounts sums the deployments of the buckets GET path (a /v1/stats
// call) answers.
func sumCounts(t *testing.T, ts *testServer, path string) int {
	t.Helper()
	r := ts.do(t, "GET", path, nil)
	var answer struct{ Buckets []struct{ Count int } }
	if r.status != http.StatusOK || json.Unmarshal(r.body, &answer) != nil {
		t.Fatalf("GET %s = %d %.300s", path, r.status, r.body)
	}
	total := 0
	for _, b := range answer.Buckets {
		total += b.Count
	}
	return total
}
