package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

func TestBatch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))

		t.Run("JSONArray", func(t *testing.T) {
			body := `[{"component":"api","version":"1","owner":"ana","status":"build","time":"2026-03-01T10:00:00Z"},
			          {"component":"api","version":"1","owner":"ana","status":"finished","time":"2026-03-01 10:05:00"}]`
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json")
			var res struct {
				Count int
				Steps []model.Step
			}
			if r.status != http.StatusCreated || json.Unmarshal(r.body, &res) != nil || res.Count != 2 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if !res.Steps[1].Time.Equal(time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)) || !res.Steps[1].ReceivedAt.Equal(ts.clock.Now()) {
				t.Errorf("explicit time not kept: %+v", res.Steps[1])
			}
		})

		t.Run("OriginalServiceCSV", func(t *testing.T) {
			body := "component,version,owner,status,ts\nlegacy,0.9,bob,build,2025-01-02 03:04:05\nlegacy,0.9,bob,done,2025-01-02 03:14:05\n"
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "text/csv")
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			got, _ := ts.listJSON(t, "component=legacy")
			if len(got) != 2 || !got[0].Time.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) || got[1].Status != "done" {
				t.Errorf("imported %+v", got)
			}
		})

		t.Run("ExportImportRoundTripKeepsEveryValue", func(t *testing.T) {
			ts.clock.Set(t0.Add(time.Hour + 123*time.Microsecond))
			ts.mustPost(t, "component=%3Dtricky&version=%27quoted&owner=%2Bx&status=-rc&environment=%40env")
			for _, format := range []string{"csv", "ndjson"} {
				export := ts.do(t, "GET", "/v1/steps?component=%3Dtricky&format="+format, nil)
				contentType := map[string]string{"csv": "text/csv", "ndjson": "application/x-ndjson"}[format]
				other := newTestServer(t, testdb.SQLite(t))
				other.clock.Set(ts.clock.Now())
				r := other.do(t, "POST", "/v1/steps/batch", bytes.NewReader(export.body), "Content-Type", contentType)
				if r.status != http.StatusCreated {
					t.Fatalf("%s import: %d %s", format, r.status, r.body)
				}
				orig, _ := ts.listJSON(t, "component=%3Dtricky")
				copied, _ := other.listJSON(t, "")
				if len(copied) != 1 {
					t.Fatalf("%s: %d rows imported", format, len(copied))
				}
				a, b := orig[0], copied[0]
				a.ID, b.ID, a.ReceivedAt, b.ReceivedAt = 0, 0, time.Time{}, time.Time{}
				if a != b {
					t.Errorf("%s round trip changed the step:\n%+v\n%+v", format, a, b)
				}
			}
		})

		t.Run("InvalidRowsAreAllReportedAndNothingIsStored", func(t *testing.T) {
			before := ts.count(t)
			body := `{"component":"a","version":"1","owner":"o","status":"s"}
{"component":"a","version":"1","owner":"o"}
{"component":"a","version":"1","owner":"o","status":"s","time":"soon"}
not json
{"component":"a","version":"1","owner":"o","status":"s"}`
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/x-ndjson")
			var res struct {
				Code string
				Rows []model.RowError
			}
			if r.status != 400 || json.Unmarshal(r.body, &res) != nil || res.Code != model.EINVALID {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			var rows []string
			for _, re := range res.Rows {
				rows = append(rows, fmt.Sprintf("%d:%s", re.Row, re.Field))
			}
			if got := strings.Join(rows, " "); got != "2:status 3:time 4:body" {
				t.Errorf("row errors %q, want 2:status 3:time 4:body (%s)", got, r.body)
			}
			if ts.count(t) != before {
				t.Error("a rejected batch stored rows")
			}
		})

		t.Run("BadBatches", func(t *testing.T) {
			for _, tt := range []struct{ body, ctype, field string }{
				{`[]`, "application/json", "body"},
				{`{"component":"a"}`, "application/json", "body"},
				{"component,version,owner\na,1,o\n", "text/csv", "status"},
				{"component,version,owner,status,colour\na,1,o,s,red\n", "text/csv", "colour"},
				{"component,version,owner,status\na,1,o\n", "text/csv", "rows"},
			} {
				r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(tt.body), "Content-Type", tt.ctype)
				if _, _, field := r.errorBody(t); r.status != 400 || field != tt.field {
					t.Errorf("%q: %d %s, want 400 naming %s", tt.body, r.status, r.body, tt.field)
				}
			}
		})

		t.Run("IdempotencyKey", func(t *testing.T) {
			body := `[{"component":"idem","version":"1","owner":"o","status":"s"}]`
			first := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "batch-1")
			again := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", "batch-1")
			if first.status != 201 || again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" || string(first.body) != string(again.body) {
				t.Errorf("first %d %s, again %d %s", first.status, first.body, again.status, again.body)
			}
			if got, _ := ts.listJSON(t, "component=idem"); len(got) != 1 {
				t.Errorf("%d rows stored, want 1", len(got))
			}
		})
	})
}

func TestDeploymentsEndpoint(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		post := func(at time.Duration, q string) {
			ts.clock.Set(t0.Add(at))
			ts.mustPost(t, q)
		}
		post(0, "component=api&version=1&owner=ana&status=build&environment=prod")
		post(3*time.Minute+12*time.Second, "component=api&version=1&owner=bob&status=rollout&environment=prod")
		post(5*time.Minute, "component=api&version=1&owner=bob&status=finished&environment=prod")
		post(10*time.Minute, "component=web&version=2&owner=cy&status=build")
		ts.clock.Set(t0.Add(20 * time.Minute))

		r := ts.do(t, "GET", "/v1/deployments", nil)
		var res struct {
			Deployments []model.Deployment
			Next        string
		}
		if r.status != 200 || json.Unmarshal(r.body, &res) != nil || len(res.Deployments) != 2 {
			t.Fatalf("GET /v1/deployments = %d %s", r.status, r.body)
		}
		api, web := res.Deployments[0], res.Deployments[1]
		if api.DurationSeconds != 300 || api.Outcome != model.OutcomeSuccess || api.Owner != "ana" || *api.Steps[0].DurationSeconds != 192 || api.Steps[2].DurationSeconds != nil {
			t.Errorf("api deployment %s", r.body)
		}
		if web.Outcome != model.OutcomeInProgress || web.DurationSeconds != 600 || web.FinishedAt != nil {
			t.Errorf("web deployment: %+v", web)
		}
		if !strings.Contains(string(r.body), `"finished_at":null`) || !strings.Contains(string(r.body), `"duration_seconds":null`) {
			t.Errorf("nulls missing in %s", r.body)
		}

		csvRes := ts.do(t, "GET", "/v1/deployments?format=csv&component=api", nil)
		rows, err := csv.NewReader(bytes.NewReader(csvRes.body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("CSV %q: %v", csvRes.body, err)
		}
		if got := strings.Join(rows[1], ","); got != "api,1,prod,1,ana,2026-03-02 09:00:00,2026-03-02 09:05:00,300,success,false,build=192;rollout=108;finished,,,,,,false" {
			t.Errorf("CSV row %q", got)
		}

		nd := ts.do(t, "GET", "/v1/deployments?format=ndjson&order=desc", nil)
		if lines := strings.Split(strings.TrimSpace(string(nd.body)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"component":"web"`) {
			t.Errorf("NDJSON desc: %s", nd.body)
		}

		page := ts.do(t, "GET", "/v1/deployments?limit=1", nil)
		next := page.header.Get("X-Next-Cursor")
		second := ts.do(t, "GET", "/v1/deployments?limit=1&cursor="+next, nil)
		if next == "" || !strings.Contains(string(second.body), `"component":"web"`) || second.header.Get("X-Next-Cursor") != "" {
			t.Errorf("pages: %s / %s", page.body, second.body)
		}

		for q, field := range map[string]string{"format=xml": "format", "cursor=zzz": "cursor", "limit=-1": "limit", "since=x": "since"} {
			if r := ts.do(t, "GET", "/v1/deployments?"+q, nil); r.status != 400 {
				t.Errorf("?%s = %d, want 400 naming %s", q, r.status, field)
			}
		}
	})
}

// TestStatsRecoverGrowthRate generates two years of deploys of five
// components whose duration grows 2 % a week, with noise, and checks that
// the stats find that rate.
func TestStatsRecoverGrowthRate(t *testing.T) {
	skipVolumeUnderRace(t, "posts 18,250 steps of two years")
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(1, 2))
		phases := []struct {
			status string
			share  float64
		}{{"build", 0.3}, {"tests", 0.4}, {"migrate", 0.1}, {"rollout", 0.2}}
		var batch []map[string]string
		flush := func() {
			body, _ := json.Marshal(batch)
			if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
				t.Fatalf("batch: %d %s", r.status, r.body)
			}
			batch = batch[:0]
		}
		deploys := 0
		for day := 0; day < 730; day++ {
			for c := range 5 {
				at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(9+c)*time.Hour)
				weeks := at.Sub(start).Hours() / (24 * 7)
				total := float64(300+120*c) * math.Pow(1.02, weeks) * math.Exp(rng.NormFloat64()*0.15)
				for _, p := range phases {
					batch = append(batch, map[string]string{"component": fmt.Sprintf("svc-%d", c), "version": fmt.Sprintf("v%d", day),
						"owner": "bot", "status": p.status, "environment": "prod", "time": at.Format(time.RFC3339Nano)})
					at = at.Add(time.Duration(total * p.share * float64(time.Second)))
				}
				batch = append(batch, map[string]string{"component": fmt.Sprintf("svc-%d", c), "version": fmt.Sprintf("v%d", day),
					"owner": "bot", "status": "finished", "environment": "prod", "time": at.Format(time.RFC3339Nano)})
				deploys++
				if len(batch) >= 5000 {
					flush()
				}
			}
		}
		flush()
		ts.clock.Set(start.AddDate(2, 0, 1))

		r := ts.do(t, "GET", "/v1/stats?bucket=sprint&sprint_days=14&sprint_start=2024-01-01", nil)
		var st model.Stats
		if r.status != 200 || json.Unmarshal(r.body, &st) != nil {
			t.Fatalf("stats: %d %.300s", r.status, r.body)
		}
		if st.Deployments != deploys {
			t.Errorf("%d deployments measured, want %d", st.Deployments, deploys)
		}
		if g := st.Trend.GrowthPercentPerWeek; math.Abs(g-2) > 0.5 {
			t.Errorf("growth %.3f %%/week, want 2 ± 0.5", g)
		}
		wantSprint := (math.Pow(1.02, 2) - 1) * 100
		if g := st.Trend.GrowthPercentPerSprint; math.Abs(g-wantSprint) > 1 {
			t.Errorf("growth %.3f %%/sprint, want %.2f ± 1", g, wantSprint)
		}
		if len(st.Buckets) != 53 || st.Buckets[0].Count != 70 {
			t.Errorf("%d sprint buckets (first has %d), want 53 (first 70)", len(st.Buckets), st.Buckets[0].Count)
		}
		if len(st.Steps) != 4 || st.Steps[0].Status != "tests" || math.Abs(st.Steps[0].SharePercent-40) > 0.01 || st.Steps[3].Status != "migrate" {
			t.Errorf("slowest steps: %+v", st.Steps)
		}
		if !strings.Contains(st.Summary, "grows 2.") {
			t.Errorf("summary %q", st.Summary)
		}
		t.Logf("%s", st.Summary)

		weekly := ts.do(t, "GET", "/v1/stats?component=svc-0&bucket=week&since=2025-01-01&until=2025-03-31&format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(weekly.body)).ReadAll()
		if err != nil || weekly.status != 200 {
			t.Fatalf("CSV stats: %d %v", weekly.status, err)
		}
		buckets := 0
		for _, row := range rows[1:] {
			if row[0] == "bucket" {
				buckets++
			}
		}
		if buckets != 14 { // Monday 2024-12-30 to Monday 2025-03-31
			t.Errorf("%d weekly buckets in Q1 2025, want 14", buckets)
		}

		for q, field := range map[string]string{"bucket=year": "bucket", "sprint_days=0": "sprint_days", "outcome=meh": "outcome", "format=xml": "format", "sprint_start=x": "sprint_start"} {
			r := ts.do(t, "GET", "/v1/stats?"+q, nil)
			if _, _, f := r.errorBody(t); r.status != 400 || f != field {
				t.Errorf("?%s = %d %s, want 400 naming %s", q, r.status, r.body, field)
			}
		}
	})
}
