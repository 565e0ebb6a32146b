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

// recordDeploys stores one deployment of api a day from start, each a
// build step then finished, lasting seconds(i).
func recordDeploys(t *testing.T, ts *testServer, start time.Time, n int, seconds func(i int) float64) {
	t.Helper()
	var rows []string
	for i := range n {
		at := start.AddDate(0, 0, i)
		end := at.Add(time.Duration(seconds(i) * float64(time.Second)))
		for _, s := range []struct {
			status string
			at     time.Time
		}{{"build", at}, {"finished", end}} {
			rows = append(rows, fmt.Sprintf(`{"component":"api","version":"1.%d","owner":"ana","status":%q,"environment":"production","time":%q}`,
				i, s.status, s.at.Format(time.RFC3339Nano)))
		}
	}
	r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+strings.Join(rows, ",")+"]"), "Content-Type", "application/json")
	if r.status != 201 {
		t.Fatalf("batch = %d %s", r.status, r.body)
	}
}

// TestOutliersLeaveTheLatestWeek: a deploy stuck for hours in the last
// week is left out of that week's figures in /v1/stats and on the page,
// as it is out of the trend; it is counted and still listed.
func TestOutliersLeaveTheLatestWeek(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	start := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC) // a Monday
	recordDeploys(t, ts, start, 28, func(i int) float64 {
		if i == 25 {
			return 5000
		}
		return 100
	})
	r := ts.do(t, "GET", "/v1/stats?bucket=week&since=2026-01-01", nil)
	var st model.Stats
	if err := json.Unmarshal(r.body, &st); err != nil || r.status != 200 {
		t.Fatalf("stats = %d %s", r.status, r.body)
	}
	last := st.Buckets[len(st.Buckets)-1]
	if last.Count != 6 || last.Outliers != 1 || *last.P90Seconds != 100 || *last.MaxSeconds != 100 {
		t.Errorf("latest week: count %d, outliers %d, p90 %v, max %v; want 6, 1, 100, 100", last.Count, last.Outliers, *last.P90Seconds, *last.MaxSeconds)
	}
	if st.Deployments != 28 || st.Trend.Outliers != 1 || len(st.Outliers) != 1 {
		t.Errorf("%d deployments, %d outliers (%d listed); want 28 and 1", st.Deployments, st.Trend.Outliers, len(st.Outliers))
	}
	// The clock reads Monday 2026-03-02: the latest week with deployments
	// is the one before, named so.
	p := getPage(t, nil, ts.URL, "/?since=2026-01-01")
	if !strings.Contains(p.body, "<dt>Week of 2026-02-23: p50 / p90</dt><dd>1m40s / 1m40s</dd>") {
		i := strings.Index(p.body, "Week of 2026-02-23: p50")
		t.Errorf("the page's latest week is not 1m40s / 1m40s: %.120s", p.body[max(i, 0):])
	}
	if !strings.Contains(p.body, "(and 1 outlier left out)") {
		t.Error("the chart's bucket does not say an outlier was left out")
	}
	// Never dropped from lists.
	if r := ts.do(t, "GET", "/v1/deployments?component=api&limit=100", nil); r.status != 200 || strings.Count(string(r.body), `"version":"1.`) != 28 {
		t.Errorf("deployments = %d, want all 28 listed", r.status)
	}
}

// TestBatchDedupe: with dedupe=true a batch skips the rows already stored
// and says which; without it, the batch stores them all as before.
func TestBatchDedupe(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	rows := `[{"component":"api","version":"1","owner":"ana","status":"build","time":"2026-01-05T09:00:00Z"},
	          {"component":"api","version":"1","owner":"ana","status":"finished","time":"2026-01-05T09:05:00.123456Z"}]`
	post := func(query string) (int, map[string]any) {
		r := ts.do(t, "POST", "/v1/steps/batch"+query, strings.NewReader(rows), "Content-Type", "application/json")
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		return r.status, body
	}
	if status, body := post("?dedupe=true"); status != 201 || body["stored"] != 2.0 || body["skipped"] != 0.0 {
		t.Errorf("first: %d %v", status, body)
	}
	status, body := post("?dedupe=true")
	if status != 200 || body["stored"] != 0.0 || body["skipped"] != 2.0 || fmt.Sprint(body["skipped_rows"]) != "[1 2]" || body["count"] != 2.0 {
		t.Errorf("again: %d %v", status, body)
	}
	if status, body := post(""); status != 201 {
		t.Errorf("without dedupe: %d %v", status, body)
	}
	if r := ts.do(t, "GET", "/v1/steps?component=api&format=json", nil); strings.Count(string(r.body), `"id"`) != 4 {
		t.Errorf("stored: %s", r.body)
	}
	for _, q := range []string{"?dedupe=yes", "?dedupe=true&dedupe=false", "?other=1"} {
		r := ts.do(t, "POST", "/v1/steps/batch"+q, strings.NewReader(rows), "Content-Type", "application/json")
		if r.status != 400 {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}

// TestDashboardTooManyBucketsAdvisesInTheFormsWords: a range with more
// buckets of deployments than stats compute over is advice on the page,
// named as its form names the filters, not the API's parameters.
func TestDashboardTooManyBucketsAdvisesInTheFormsWords(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	recordDeploys(t, ts, time.Date(2022, 1, 3, 9, 0, 0, 0, time.UTC), model.MaxStatsBuckets+1, func(int) float64 { return 100 })
	p := getPage(t, nil, ts.URL, "/?bucket=day&since=2021-01-01")
	want := "narrow the range with Since and Until, or use a larger bucket (Per week, Per month or Per sprint)"
	if !strings.Contains(p.body, want) || strings.Contains(p.body, "could not be read") {
		i := strings.Index(p.body, `role="alert"`)
		t.Errorf("the page does not advise %q: %.300s", want, p.body[max(i, 0):])
	}
}
