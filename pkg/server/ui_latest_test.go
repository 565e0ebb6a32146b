package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestPageNamesTheLatestBucketWhenItIsNotTheCurrentOne records one
// deployment and reads the page weeks later: the figure beside the growth
// is that deployment's week, and it must say which week, not "Latest
// week" as if it were this one's.
func TestPageNamesTheLatestBucketWhenItIsNotTheCurrentOne(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for i, s := range []string{"build", "finished"} {
		ts.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute)) // Monday 2026-03-02
		ts.mustPost(t, "component=api&version=1&owner=o&environment=production&status="+s)
	}
	for _, c := range []struct {
		now         time.Time
		query, want string
	}{
		{t0.Add(2 * time.Hour), "/", "<dt>Latest week: p50 / p90</dt><dd>10m00s / 10m00s</dd>"},
		{t0.AddDate(0, 0, 21), "/", "<dt>Week of 2026-03-02: p50 / p90</dt><dd>10m00s / 10m00s</dd>"},
		{t0.AddDate(0, 0, 21), "/?bucket=month", "<dt>Latest month: p50 / p90</dt>"},
		{t0.AddDate(0, 2, 0), "/?bucket=month", "<dt>March 2026: p50 / p90</dt>"},
		{t0.AddDate(0, 0, 21), "/?until=2026-03-04", "<dt>Latest week: p50 / p90</dt>"},
		{t0.AddDate(0, 0, 21), "/?bucket=day", "<dt>Mon 2026-03-02: p50 / p90</dt>"},
	} {
		ts.clock.Set(c.now)
		p := getPage(t, nil, ts.URL, c.query)
		if p.status != 200 || !strings.Contains(p.body, c.want) {
			i := strings.Index(p.body, "p50 / p90")
			t.Errorf("%s on %s: %d, want %q; the page has %q", c.query, c.now.Format("2006-01-02"), p.status, c.want, p.body[max(i-80, 0):max(i+40, 0)])
		}
	}
}

// TestPageChartOfOneDeploymentSaysOne reads the chart's words of a range
// with one deployment in one week: "1 week", "1 deployment", not "1
// weeks" and "1 deployments" in what a screen reader says.
func TestPageChartOfOneDeploymentSaysOne(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for i, s := range []string{"build", "finished"} {
		ts.clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		ts.mustPost(t, "component=api&version=1&owner=o&environment=production&status="+s)
	}
	ts.clock.Set(t0.Add(time.Hour))
	p := getPage(t, nil, ts.URL, "/?since=2026-03-02")
	for _, want := range []string{"Deploy duration per week, 1 week from 2026-03-02", "Week of 2026-03-02 (partial): 1 deployment, p50 10m00s"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	for _, bad := range []string{"1 weeks", "1 deployments"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("the chart says %q", bad)
		}
	}
}

// TestPageRangeStartsWhereTheHistoryWasFitted reads all history when it
// holds more weeks than stats are computed over: the page shows the
// latest that fit, as GET /v1/stats does, and its range line must start
// where they start, not at "the first deployment" years before.
func TestPageRangeStartsWhereTheHistoryWasFitted(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	var rows []string
	for i := range model.MaxStatsBuckets + 1 {
		at := time.Date(2000, 1, 3, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i)
		for j, status := range []string{"build", "finished"} {
			rows = append(rows, fmt.Sprintf(`{"component":"old","version":"%d","owner":"o","status":%q,"time":%q}`,
				i, status, at.Add(time.Duration(j)*time.Minute).Format(time.RFC3339)))
		}
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json"); r.status != 201 {
		t.Fatalf("batch = %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/v1/stats", nil)
	var st model.Stats
	if err := json.Unmarshal(r.body, &st); err != nil || st.FittedSince == nil {
		t.Fatalf("GET /v1/stats = %d %s, want a fitted since", r.status, r.body)
	}
	want := `<p class="range">` + st.FittedSince.UTC().Format("2006-01-02 15:04") + ` to now UTC</p>`
	p := getPage(t, nil, ts.URL, "/?since=")
	if !strings.Contains(p.body, want) {
		i := strings.Index(p.body, `class="range"`)
		t.Errorf("the page over all history: want %q, got %.80s", want, p.body[max(i, 0):])
	}
	// A range that fits keeps its words.
	if p := getPage(t, nil, ts.URL, "/?since=&bucket=month"); !strings.Contains(p.body, `<p class="range">the first deployment to now UTC</p>`) {
		t.Error("the page over all history in months does not start at the first deployment")
	}
}

// TestPageSaysTheStuckAreAmongThoseInProgress: a stuck deployment is one
// in progress that has not moved for an hour. "(3 in progress, 2 stuck)"
// read as five unfinished deployments; it says "2 of them".
func TestPageSaysTheStuckAreAmongThoseInProgress(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	ts.clock.Set(t0.Add(-3 * time.Hour))
	ts.mustPost(t, "component=api&version=1&owner=o&environment=production&status=build")
	ts.mustPost(t, "component=web&version=1&owner=o&environment=production&status=build")
	ts.clock.Set(t0.Add(-time.Minute))
	ts.mustPost(t, "component=db&version=1&owner=o&environment=production&status=build")
	ts.clock.Set(t0)
	for _, c := range []struct{ query, want string }{
		{"/", `(3 in progress, <strong class="stuck-text">2 of them stuck</strong>)`},
		{"/?component=api", `(1 in progress, <strong class="stuck-text">stuck</strong>)`},
		{"/?component=db", `(1 in progress)`},
	} {
		p := getPage(t, nil, ts.URL, c.query)
		if !strings.Contains(p.body, c.want) {
			i := strings.Index(p.body, `id="deploy-count"`)
			t.Errorf("%s: want %q, got %.160s", c.query, c.want, p.body[max(i, 0):])
		}
	}
}
