package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORALeadTimeSurvivesAnImportSentTwice: the same batch of a
// history sent twice (an import script retried without Idempotency-Key)
// stores every step twice; each terminal step sent again is a second
// attempt of its version, of that step alone, ending at the same instant
// as the first, without the commit. Known truth: 10 changes, commits 1 to
// 10 hours before each deploy ends. Before, the bare repeat was taken for
// the deployment and the real one for its redeployment: lead time null,
// coverage 0 %, on SQLite and MariaDB, every other key exact.
func TestDORALeadTimeSurvivesAnImportSentTwice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		var batch []map[string]string
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		for d := range 10 {
			start := t0.AddDate(0, 0, d)
			end := start.Add(10 * time.Minute)
			committed := end.Add(-time.Duration(d+1) * time.Hour)
			for i, status := range []string{"build", "rollout", "finished"} {
				row := map[string]string{"component": "web", "version": fmt.Sprintf("2.%d.0", d), "owner": "ana", "status": status,
					"environment": "production", "time": start.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339)}
				if i == 0 {
					row["revision"] = fmt.Sprintf("%040x", d+1)
					row["committed_at"] = committed.Format(time.RFC3339)
				}
				batch = append(batch, row)
			}
		}
		body, _ := json.Marshal(batch)
		for range 2 {
			if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
				t.Fatalf("batch: %d %.300s", r.status, r.body)
			}
		}
		r := ts.do(t, "GET", "/v1/dora?component=web&environment=production&since=2026-11-02&until=2026-11-11", nil)
		if r.status != 200 {
			t.Fatalf("GET /v1/dora = %d %.300s", r.status, r.body)
		}
		var got model.DORA
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		o := got.Overall
		// Lead times 1 h to 10 h: median 5.5 h.
		if o.Deployments != 10 || o.Redeployments != 10 || o.LeadTimeP50Seconds == nil || *o.LeadTimeP50Seconds != 5.5*3600 ||
			o.LeadTimeCoveragePercent == nil || *o.LeadTimeCoveragePercent != 100 {
			t.Errorf("%d deployments, %d redeployments, lead time p50 %v s over %v %%; want 10, 10, 19800 s over 100 %%",
				o.Deployments, o.Redeployments, deref(o.LeadTimeP50Seconds), deref(o.LeadTimeCoveragePercent))
		}
	})
}
