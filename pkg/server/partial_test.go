package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestStatsMarksPartialBuckets: since=2026-02-25 (a Wednesday) showed the
// week of 2026-02-23 with the one deployment after it, and a request on
// Wednesday 2026-03-18 the week in progress, both beside whole weeks with
// nothing to tell them apart: a retrospective read a week of one deploy
// as a slow week. The buckets the range or the time of the answer cut
// say so; the others, and the steps' buckets alike, do not.
func TestStatsMarksPartialBuckets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		now := time.Date(2026, 3, 18, 12, 0, 0, 0, time.UTC)
		ts := zoneServer(t, fresh, nil, now,
			"2026-02-23T10:00:00Z", "2026-02-25T10:00:00Z", "2026-03-04T10:00:00Z", "2026-03-17T10:00:00Z")
		for _, tc := range []struct {
			query   string
			partial []string // the weeks marked, by their first day
			weeks   int
		}{
			{"", []string{"2026-03-16"}, 4},
			{"&since=2026-02-25", []string{"2026-02-23", "2026-03-16"}, 4},
			{"&since=2026-02-23&until=2026-03-04T12:00:00Z", []string{"2026-03-02"}, 2},
			{"&since=2026-02-23&until=2026-03-08", nil, 2},
		} {
			r := ts.do(t, "GET", "/v1/stats?bucket=week"+tc.query, nil)
			var st model.Stats
			if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil {
				t.Fatalf("GET /v1/stats?bucket=week%s = %d %.300s", tc.query, r.status, r.body)
			}
			if len(st.Buckets) != tc.weeks {
				t.Fatalf("%s: %d weeks, want %d", tc.query, len(st.Buckets), tc.weeks)
			}
			var got []string
			for i, b := range st.Buckets {
				if b.Partial {
					got = append(got, b.Start.Format(time.DateOnly))
				}
				if s := st.Steps[0].Buckets[i]; s.Partial != b.Partial {
					t.Errorf("%s: step %s's week of %s partial %v, the deployments' %v", tc.query, st.Steps[0].Status, s.Start.Format(time.DateOnly), s.Partial, b.Partial)
				}
			}
			if len(got) != len(tc.partial) || len(got) > 0 && (got[0] != tc.partial[0] || got[len(got)-1] != tc.partial[len(tc.partial)-1]) {
				t.Errorf("%s: partial weeks %v, want %v", tc.query, got, tc.partial)
			}
		}
		// The CSV says so in its last column, of buckets and steps' buckets.
		r := ts.do(t, "GET", "/v1/stats?bucket=week&since=2026-02-25&format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil || r.status != http.StatusOK || rows[0][len(rows[0])-1] != "partial" {
			t.Fatalf("CSV = %d %v, header %v", r.status, err, rows[0])
		}
		var cut []string
		for _, row := range rows[1:] {
			if row[len(row)-1] == "true" {
				cut = append(cut, row[0]+" "+row[2][:10])
			}
		}
		if want := []string{"bucket 2026-02-23", "bucket 2026-03-16", "step_bucket 2026-02-23", "step_bucket 2026-03-16"}; !slices.Equal(cut, want) {
			t.Errorf("CSV partial rows %v, want %v", cut, want)
		}
		// The page names them so in its chart and its table.
		if p := getPage(t, nil, ts.URL, "/?since=2026-02-25"); !strings.Contains(p.body, "Week of 2026-02-23 (partial): 1 deployment") {
			t.Errorf("the page does not name the week of 2026-02-23 partial")
		}
	})
}
