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
	p := getPage(t, nil, ts.URL, "/?since=2026-01-01")
	if !strings.Contains(p.body, "<dt>Latest week: p50 / p90</dt><dd>1m40s / 1m40s</dd>") {
		i := strings.Index(p.body, "Latest week")
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
