package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORANamesTheMatrixLegsItDoesNotCount: a component deployed by a
// GitHub matrix job records each leg in an environment of its own
// (production (eu-west-1), as the hook names it with the mapping's
// Deploy: production). Known truth: 14 days of one change a day to both
// legs, the eu leg failing on day 6 and fixed the next day. Asked for
// production, the keys count none of it; before, the answer said
// nothing else: 0 deployments a day, band low. It now names the legs,
// and each leg asked by its name reads its truth.
func TestDORANamesTheMatrixLegsItDoesNotCount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		var batch []map[string]string
		deploy := func(component, env, version string, start time.Time, end string) {
			for i, status := range []string{"Set up job", "Roll out", end} {
				batch = append(batch, map[string]string{"component": component, "version": version, "owner": "ana", "status": status,
					"environment": env, "time": start.Add(time.Duration(i) * 150 * time.Second).Format(time.RFC3339)})
			}
		}
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		for d := range 14 {
			start := t0.AddDate(0, 0, d)
			version := fmt.Sprintf("1.%d.0", d)
			eu := "finished"
			if d == 5 {
				eu = "failed"
			}
			deploy("api", "production (eu-west-1)", version, start, eu)
			deploy("api", "production (us-east-1)", version, start.Add(20*time.Second), "finished")
			// web deploys to production itself, and to a look-alike that
			// is no leg of it.
			deploy("web", "production", version, start, "finished")
			deploy("web", "production-eu (x)", version, start, "finished")
		}
		body, _ := json.Marshal(batch)
		if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
			t.Fatalf("batch: %d %.300s", r.status, r.body)
		}
		get := func(query string) model.DORA {
			t.Helper()
			r := ts.do(t, "GET", "/v1/dora?since=2026-11-02&until=2026-11-15&bucket=month&"+query, nil)
			if r.status != 200 {
				t.Fatalf("GET /v1/dora?%s = %d %.300s", query, r.status, r.body)
			}
			var got model.DORA
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.LegEnvironments == nil {
				t.Fatalf("GET /v1/dora?%s: leg_environments is %s, want a list", query, r.body)
			}
			return got
		}
		legs := []string{"production (eu-west-1)", "production (us-east-1)"}
		// Without a component, production is web's, and api's legs are
		// named beside it.
		for q, want := range map[string]int{"component=api&environment=production": 0, "environment=production": 14} {
			if got := get(q); got.Overall.Deployments != want || !slices.Equal(got.LegEnvironments, legs) {
				t.Errorf("%s: %d deployments, legs %q; want %d and %q", q, got.Overall.Deployments, got.LegEnvironments, want, legs)
			}
		}
		for _, q := range []string{"component=web&environment=production", "component=api", "component=api&environment=production%20(eu-west-1)"} {
			if got := get(q); len(got.LegEnvironments) != 0 {
				t.Errorf("%s: legs %q, want none", q, got.LegEnvironments)
			}
		}
		// The page's panel says so too.
		p := getPage(t, nil, ts.URL, "/?component=api&environment=production&since=2026-11-02&until=2026-11-15")
		if !strings.Contains(p.body, "Matrix legs of this environment are environments of their own, which these keys do not count: production (eu-west-1), production (us-east-1)") {
			i := strings.Index(p.body, `id="dora"`)
			t.Errorf("the page lacks the note on the legs:\n%s", p.body[i:min(len(p.body), i+3000)])
		}
		// Each leg by its name: the eu leg's truth is 14 changes, 1 failed
		// (7.1 %), restored a day later, 13 successes in 14 days.
		o := get("component=api&environment=production%20(eu-west-1)").Overall
		if o.Deployments != 14 || o.FailedDeployments != 1 || o.TimeToRestoreP50Seconds == nil || *o.TimeToRestoreP50Seconds != 86400 ||
			o.DeploymentFrequencyPerDay == nil || *o.DeploymentFrequencyPerDay != 13.0/14 {
			t.Errorf("eu leg: %d deployments, %d failed, restore %v, %v a day; want 14, 1, 86400, 13/14",
				o.Deployments, o.FailedDeployments, deref(o.TimeToRestoreP50Seconds), deref(o.DeploymentFrequencyPerDay))
		}
	})
}
