package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORALeavesOutStrayEarlyDeployment checks GET /v1/dora end to end: a
// team deploying every day for 3 months with one stray record a year
// back reads about 1 a day, elite, and says it left the record out
// (before, the period ran from the stray record's week: 0.25 a day, band
// high), on the page too; with since, the request's period counts it.
func TestDORALeavesOutStrayEarlyDeployment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // a Tuesday
		ts.clock.Set(now)
		var batch []map[string]string
		deploy := func(version string, start time.Time) {
			for i, status := range []string{"build", "deployed"} {
				batch = append(batch, map[string]string{"component": "api", "version": version, "owner": "ana", "status": status,
					"environment": "production", "time": start.Add(time.Duration(i) * 10 * time.Minute).Format(time.RFC3339)})
			}
		}
		deploy("0.0.1-import-test", now.AddDate(-1, 0, 0))
		// Monday 31 August to today, 10:00: 93 deploys in 92.5 days.
		for i := range 93 {
			deploy(fmt.Sprintf("1.%d.0", i), time.Date(2026, 8, 31+i, 10, 0, 0, 0, time.UTC))
		}
		body, _ := json.Marshal(batch)
		if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
			t.Fatalf("batch: %d %.300s", r.status, r.body)
		}

		get := func(query string) (model.DORA, map[string]json.RawMessage) {
			t.Helper()
			r := ts.do(t, "GET", "/v1/dora?environment=production"+query, nil)
			if r.status != 200 {
				t.Fatalf("GET /v1/dora%s = %d %.300s", query, r.status, r.body)
			}
			var got model.DORA
			var raw struct{ Overall map[string]json.RawMessage }
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r.body, &raw); err != nil {
				t.Fatal(err)
			}
			return got, raw.Overall
		}
		got, raw := get("")
		o := got.Overall
		if string(raw["left_out_early_deployments"]) != "1" {
			t.Errorf("left_out_early_deployments = %s, want 1", raw["left_out_early_deployments"])
		}
		if want := time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC); o.Start == nil || !o.Start.Equal(want) {
			t.Errorf("overall.start = %v, want %s", o.Start, want)
		}
		if f := o.DeploymentFrequencyPerDay; f == nil || *f < 1 || *f > 1.05 || o.Bands.DeploymentFrequency != model.BandElite || o.Deployments != 93 {
			t.Errorf("frequency %v a day (%s), %d deployments; want 93/92.5, elite, 93", deref(f), o.Bands.DeploymentFrequency, o.Deployments)
		}

		// The page's panel over all history (since empty) says so.
		p := getPage(t, nil, ts.URL, "/?environment=production&since=")
		if !strings.Contains(p.body, "1 early deployment left out, isolated from the rest by a long gap (set Since to count them)") {
			i := strings.Index(p.body, `id="dora"`)
			t.Errorf("the page lacks the note on the deployment left out:\n%s", p.body[i:min(len(p.body), i+4000)])
		}

		got, raw = get("&since=2025-11-24")
		if o := got.Overall; string(raw["left_out_early_deployments"]) != "0" || o.Deployments != 94 ||
			!o.Start.Equal(time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("with since: left out %s, %d deployments, start %v; want 0, 94, 2025-11-24", raw["left_out_early_deployments"], o.Deployments, o.Start)
		}
	})
}
