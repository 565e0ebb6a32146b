package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// postDORAFixes records n failed deployments of component, each fixed by
// the next version 30 minutes later, with a commit time an hour before:
// n restores and n lead times, from 2026-11-02 on.
func postDORAFixes(t *testing.T, ts *testServer, component string, n int) {
	t.Helper()
	var batch []map[string]string
	step := func(version, status string, at time.Time, committed time.Time) {
		m := map[string]string{"component": component, "version": version, "owner": "ana", "status": status,
			"environment": "production", "time": at.Format(time.RFC3339)}
		if !committed.IsZero() {
			m["committed_at"] = committed.Format(time.RFC3339)
		}
		batch = append(batch, m)
	}
	for i := range n {
		at := doraDay(2, 8, 0).Add(time.Duration(i) * 6 * time.Hour)
		step(fmt.Sprintf("%d.0", i), "build", at, time.Time{})
		step(fmt.Sprintf("%d.0", i), "failed", at.Add(10*time.Minute), time.Time{})
		step(fmt.Sprintf("%d.1", i), "build", at.Add(30*time.Minute), at.Add(-time.Hour))
		step(fmt.Sprintf("%d.1", i), "deployed", at.Add(40*time.Minute), at.Add(-time.Hour))
	}
	body, _ := json.Marshal(batch)
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
		t.Fatalf("batch: %d %.300s", r.status, r.body)
	}
}

// TestDORARestoredFailuresEndToEnd checks restored_failures through
// GET /v1/dora: in JSON beside unrestored_failures, per bucket and
// overall; in CSV as the last column, the columns before it in their
// places; and on the page's DORA card, whose note says how many restore
// and lead times the percentiles come from, and that a p90 of fewer than
// 10 is about the slowest of them.
func TestDORARestoredFailuresEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		// Restored: api on the 3rd and the 5th (the latter on the 9th),
		// web on the 2nd; api on the 10th never.
		postDORAHistory(t, ts)
		postDORAFixes(t, ts, "db", 12)

		const query = "/v1/dora?component=api&since=2026-11-02&until=2026-11-15&bucket=week"
		r := ts.do(t, "GET", query, nil)
		var got model.DORA
		if err := json.Unmarshal(r.body, &got); r.status != 200 || err != nil {
			t.Fatalf("GET %s = %d %v %.300s", query, r.status, err, r.body)
		}
		if len(got.Buckets) != 2 || got.Buckets[0].RestoredFailures != 2 || got.Buckets[1].RestoredFailures != 0 || got.Overall.RestoredFailures != 2 {
			t.Errorf("restored_failures: %s; want 2 in the week of the 2nd, 0 after, 2 overall", r.body)
		}
		if !strings.Contains(string(r.body), `"unrestored_failures":1,"restored_failures":2,`) {
			t.Errorf("overall restored_failures not beside unrestored_failures: %s", r.body)
		}

		c := ts.do(t, "GET", query+"&format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.body)).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("csv: %v %s", err, c.body)
		}
		// restored_failures was appended last; superseded_deployments and
		// rollbacks after it.
		last := len(rows[0]) - 3
		if rows[0][last] != "restored_failures" || rows[0][9] != "unrestored_failures" || last != len(server.DORACSVHeader)-3 {
			t.Errorf("csv header %v: want restored_failures last but two, unrestored_failures still 10th", rows[0])
		}
		for i, want := range []string{"2", "0", "2"} {
			if row := rows[i+1]; row[last] != want {
				t.Errorf("csv row %v: restored_failures %q, want %q", row, row[last], want)
			}
		}

		for _, tc := range []struct {
			name, path string
			want, not  []string
		}{
			{"few", "/?since=2026-11-02&until=2026-11-15&bucket=week&component=web", []string{
				"Time to restore from 1 restored failure (fewer than 10, so its p90 is about the slowest);",
				"lead time from 100 % of 1 successful deployment (those with a commit time: 1, fewer than 10, so its p90 is about the slowest)",
			}, nil},
			{"few with unrestored", "/?since=2026-11-02&until=2026-11-15&bucket=week&component=api", []string{
				"Time to restore from 2 restored failures (fewer than 10, so its p90 is about the slowest); 1 failure not yet restored;",
			}, nil},
			{"many", "/?since=2026-11-02&until=2026-11-15&bucket=week&component=db", []string{
				"Time to restore from 12 restored failures;",
				"lead time from 100 % of 12 successful deployments (those with a commit time);",
			}, []string{"fewer than 10"}},
		} {
			p := getPage(t, nil, ts.URL, tc.path)
			i := strings.Index(p.body, `id="dora"`)
			if p.status != 200 || i < 0 {
				t.Fatalf("%s: page %d", tc.name, p.status)
			}
			card := p.body[i:min(len(p.body), i+3000)]
			for _, want := range tc.want {
				if !strings.Contains(card, want) {
					t.Errorf("%s: the DORA card lacks %q:\n%s", tc.name, want, card)
				}
			}
			for _, not := range tc.not {
				if strings.Contains(card, not) {
					t.Errorf("%s: the DORA card says %q:\n%s", tc.name, not, card)
				}
			}
		}
	})
}
