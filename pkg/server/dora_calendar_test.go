package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORAFrequencyCountsCalendarDays records a team that deploys once
// every day at noon in New York, across the nights its clocks go back
// (2026-11-01, a day of 25 hours) and forward (2027-03-14, 23 hours), and
// reads GET /v1/dora in that zone: once a day is 1 a day, band elite, in
// every day, every week and over the period. Counted in 24-hour days, the
// week of 169 hours read 0.994 a day, the 25-hour day 0.96, and the three
// weeks around them 0.998: band high for a team deploying every day.
func TestDORAFrequencyCountsCalendarDays(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
		periods := []struct{ since, until string }{
			{"2026-10-19", "2026-11-08"}, // Monday to Sunday, the clocks go back on Sunday the 1st
			{"2027-03-01", "2027-03-21"}, // the clocks go forward on Sunday the 14th
		}
		var batch []map[string]string
		for _, p := range periods {
			first, _ := time.Parse(time.DateOnly, p.since)
			last, _ := time.Parse(time.DateOnly, p.until)
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				start := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, ny)
				for i, status := range []string{"build", "deployed"} {
					batch = append(batch, map[string]string{"component": "api", "version": d.Format(time.DateOnly), "owner": "ana",
						"status": status, "environment": "production", "time": start.Add(time.Duration(i) * 10 * time.Minute).Format(time.RFC3339)})
				}
			}
		}
		body, err := json.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
			t.Fatalf("batch: %d %.300s", r.status, r.body)
		}
		for _, p := range periods {
			for _, bucket := range []string{"day", "week"} {
				q := fmt.Sprintf("/v1/dora?environment=production&tz=America/New_York&bucket=%s&since=%s&until=%s", bucket, p.since, p.until)
				r := ts.do(t, "GET", q, nil)
				var got model.DORA
				if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
					t.Fatalf("%s: %d %.300s", q, r.status, r.body)
				}
				check := func(what string, f model.DORAFigures) {
					t.Helper()
					if f.DeploymentFrequencyPerDay == nil || math.Abs(*f.DeploymentFrequencyPerDay-1) > 1e-9 || f.Bands.DeploymentFrequency != model.BandElite {
						t.Errorf("%s: %s: frequency %v a day, band %v; want 1 a day, elite (one deploy every day)",
							q, what, deref(f.DeploymentFrequencyPerDay), f.Bands.DeploymentFrequency)
					}
				}
				for _, b := range got.Buckets {
					check("bucket "+b.Start.Format(time.RFC3339), b.DORAFigures)
				}
				check("overall", got.Overall.DORAFigures)
			}
		}
	})
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
