package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// doraDay is day d of November 2026 (the 2nd a Monday) at hh:mm UTC.
func doraDay(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, time.UTC) }

// postDORAHistory records, through the batch endpoint, the history of
// pkg/model's TestDORAHandComputed: each deployment a "build" step at its
// start and "deployed" or "failed" at its end, with its commit time.
func postDORAHistory(t *testing.T, ts *testServer) {
	t.Helper()
	type dep struct {
		component, version string
		start, end         time.Time
		status, committed  string
	}
	c := func(t time.Time) string { return t.Format(time.RFC3339) }
	deps := []dep{
		{"api", "1.0.0", doraDay(2, 10, 0), doraDay(2, 10, 10), "deployed", c(doraDay(2, 9, 10))},
		{"api", "1.0.1", doraDay(3, 10, 0), doraDay(3, 10, 10), "failed", ""},
		{"api", "1.0.2", doraDay(3, 11, 0), doraDay(3, 11, 10), "deployed", ""},
		{"api", "1.0.3", doraDay(4, 10, 0), doraDay(4, 10, 20), "deployed", c(doraDay(3, 10, 20))},
		{"api", "1.0.4", doraDay(5, 10, 0), doraDay(5, 10, 10), "failed", ""},
		{"api", "1.0.5", doraDay(9, 10, 0), doraDay(9, 10, 10), "deployed", c(doraDay(9, 10, 30))},
		{"api", "1.0.6", doraDay(10, 10, 0), doraDay(10, 10, 10), "failed", ""},
		{"web", "2.0.0", doraDay(2, 12, 0), doraDay(2, 12, 30), "failed", ""},
		{"web", "2.0.1", doraDay(2, 13, 0), doraDay(2, 13, 30), "deployed", c(doraDay(2, 12, 0))},
		{"web", "2.0.2", doraDay(10, 9, 0), time.Time{}, "", ""}, // still running
	}
	var batch []map[string]string
	for _, d := range deps {
		step := func(status string, at time.Time) map[string]string {
			m := map[string]string{"component": d.component, "version": d.version, "owner": "ana", "status": status,
				"environment": "production", "time": at.Format(time.RFC3339)}
			if d.committed != "" {
				m["committed_at"] = d.committed
			}
			return m
		}
		batch = append(batch, step("build", d.start))
		if d.status != "" {
			batch = append(batch, step(d.status, d.end))
		}
	}
	body, _ := json.Marshal(batch)
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
		t.Fatalf("batch: %d %.300s", r.status, r.body)
	}
}

// TestDORAEndpoint checks GET /v1/dora end to end on SQLite and MariaDB:
// the hand-computed answers of the model's test (frequency, failure rate,
// restores with one unrestored, lead time from the stored commit times
// with partial coverage), JSON nulls, CSV and parameter errors.
func TestDORAEndpoint(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		postDORAHistory(t, ts)

		r := ts.do(t, "GET", "/v1/dora?since=2026-11-02&until=2026-11-15&bucket=week", nil)
		if r.status != 200 {
			t.Fatalf("GET /v1/dora = %d %.300s", r.status, r.body)
		}
		var got model.DORA
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Buckets) != 2 {
			t.Fatalf("%d buckets, want 2: %s", len(got.Buckets), r.body)
		}
		w1, w2, all := got.Buckets[0], got.Buckets[1], got.Overall
		num := func(v *float64) float64 {
			if v == nil {
				return -1
			}
			return *v
		}
		checks := []struct {
			name      string
			got, want float64
		}{
			{"week 1 deployments", float64(w1.Deployments), 7},
			{"week 1 failed", float64(w1.FailedDeployments), 3},
			{"week 1 frequency", num(w1.DeploymentFrequencyPerDay), 4.0 / 7},
			{"week 1 restore p50", num(w1.TimeToRestoreP50Seconds), 3600},
			{"week 1 restore p90", num(w1.TimeToRestoreP90Seconds), 277200},
			{"week 1 lead p50", num(w1.LeadTimeP50Seconds), 5400},
			{"week 1 lead p90", num(w1.LeadTimeP90Seconds), 70200},
			{"week 1 coverage", num(w1.LeadTimeCoveragePercent), 75},
			{"week 2 unrestored", float64(w2.UnrestoredFailures), 1},
			{"week 2 frequency", num(w2.DeploymentFrequencyPerDay), 1.0 / 7},
			{"week 2 failure rate", num(w2.ChangeFailureRatePercent), 50},
			{"week 2 coverage", num(w2.LeadTimeCoveragePercent), 0},
			{"overall deployments", float64(all.Deployments), 9},
			{"overall frequency", num(all.DeploymentFrequencyPerDay), 5.0 / 14},
			{"overall coverage", num(all.LeadTimeCoveragePercent), 60},
			{"overall unrestored", float64(all.UnrestoredFailures), 1},
		}
		for _, c := range checks {
			if d := c.got - c.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if b := w1.Bands; b.DeploymentFrequency != "high" || b.ChangeFailureRate != "low" || b.TimeToRestore != "high" || b.LeadTime != "elite" {
			t.Errorf("week 1 bands %+v", b)
		}
		// Week 2 has no restore and no lead time: null, never 0.
		var raw struct {
			Buckets []map[string]json.RawMessage `json:"buckets"`
		}
		if err := json.Unmarshal(r.body, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"time_to_restore_p50_seconds", "lead_time_p50_seconds", "lead_time_p90_seconds"} {
			if v := string(raw.Buckets[1][k]); v != "null" {
				t.Errorf("week 2 %s = %s, want null", k, v)
			}
		}
		if !strings.Contains(string(raw.Buckets[1]["bands"]), `"lead_time":null`) {
			t.Errorf("week 2 bands %s, want lead_time null", raw.Buckets[1]["bands"])
		}

		t.Run("filters", func(t *testing.T) {
			r := ts.do(t, "GET", "/v1/dora?component=web&environment=production&since=2026-11-02&until=2026-11-08&bucket=day", nil)
			var got model.DORA
			if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
				t.Fatalf("%d %.300s", r.status, r.body)
			}
			if len(got.Buckets) != 7 || got.Overall.Deployments != 2 || got.Overall.TimeToRestoreP50Seconds == nil || *got.Overall.TimeToRestoreP50Seconds != 3600 {
				t.Errorf("web over a week of days: %d buckets, overall %+v", len(got.Buckets), got.Overall.DORAFigures)
			}
		})

		t.Run("csv", func(t *testing.T) {
			r := ts.do(t, "GET", "/v1/dora?since=2026-11-02&until=2026-11-15&format=csv", nil)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
			}
			rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil || len(rows) != 4 {
				t.Fatalf("%d rows (%v):\n%s", len(rows), err, r.body)
			}
			// Rates to 3 digits, percentages to the hundredth (model.FormatPercent).
			want := "overall,2026-11-02 00:00:00,2026-11-16 00:00:00,9,4,0.357,44.44,3600,277200,1,5400,70200,60,high,low,high,elite,0,0,18.88,73.33,3,0,0"
			if got := strings.Join(rows[3], ","); got != want {
				t.Errorf("overall row\n%s\nwant\n%s", got, want)
			}
			if got := strings.Join(rows[2][9:13], ","); got != "1,,,0" {
				t.Errorf("week 2 unrestored and lead columns %q, want 1, empty, empty, 0", got)
			}
		})

		t.Run("bad parameters", func(t *testing.T) {
			for query, field := range map[string]string{
				"bucket=year":                       "bucket",
				"version=1.0.0":                     "version",
				"outcome=all":                       "outcome",
				"format=xml":                        "format",
				"since=yesterday":                   "since",
				"sprint_days=0":                     "sprint_days",
				"bucket=day&bucket=week":            "bucket",
				"since=2026-11-10&until=2026-11-02": "until",
			} {
				r := ts.do(t, "GET", "/v1/dora?"+query, nil)
				_, code, f := r.errorBody(t)
				if r.status != 400 || code != "invalid" || f != field {
					t.Errorf("?%s = %d %s field %q, want 400 invalid %q", query, r.status, code, f, field)
				}
			}
		})
	})
}

// TestDORAPanel checks the page's DORA panel on the hand-computed history:
// each key's value over the range, its band, a sparkline per key with
// data, and the notes on what the figures rest on.
func TestDORAPanel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		postDORAHistory(t, ts)

		p := getPage(t, nil, ts.URL, "/?since=2026-11-02&until=2026-11-15&bucket=week")
		if p.status != 200 {
			t.Fatalf("page %d", p.status)
		}
		for _, want := range []string{
			`<h2 id="dora-title">DORA four keys</h2>`,
			`<div data-key="deployment_frequency"><dt>Deployment frequency</dt><dd class="value">2.5 a week <span class="badge band-high">high</span></dd>`,
			`<div data-key="change_failure_rate"><dt>Change failure rate</dt><dd class="value">44.4 % (18.9–73.3; 4 of 9) <span class="badge band-low">low</span></dd>`,
			`<div data-key="time_to_restore"><dt>Time to restore</dt><dd class="value">p50 1h00m · p90 3d05h <span class="badge band-high">high</span></dd>`,
			`<div data-key="lead_time"><dt>Lead time for changes</dt><dd class="value">p50 1h30m · p90 19h30m <span class="badge band-elite">elite</span></dd>`,
			`aria-label="Deployment frequency per week: from 4.0 a week to 1.0 a week"`,
			`Time to restore from 3 restored failures (fewer than 10, so its p90 is about the slowest); 1 failure not yet restored; ` +
				`lead time from 60 % of 5 successful deployments (those with a commit time: 3, fewer than 10, so its p90 is about the slowest)`,
		} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}

		// No deployment in the range: none deployed (low), and the other
		// keys cannot be computed: a dash, no band.
		empty := getPage(t, nil, ts.URL, "/?component=none")
		if empty.count(`<dd class="value">–</dd>`) != 3 || empty.count("band-") != 1 ||
			!strings.Contains(empty.body, `<dd class="value">none <span class="badge band-low">low</span></dd>`) {
			i := strings.Index(empty.body, `id="dora"`)
			t.Errorf("an empty range should show no deploys (low) and three dashes:\n%s", empty.body[i:i+1500])
		}
	})
}

// TestDORAEndMicroseconds checks that the period's end, now when no until
// is given, is written with microseconds as every other time of the API,
// not with the clock's nanoseconds.
func TestDORAEndMicroseconds(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0).Add(123456789 * time.Nanosecond))
		postDORAHistory(t, ts)

		r := ts.do(t, "GET", "/v1/dora?since=2026-11-02", nil)
		if r.status != 200 {
			t.Fatalf("GET /v1/dora = %d %.300s", r.status, r.body)
		}
		var got struct {
			Overall struct {
				End string `json:"end"`
			} `json:"overall"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if want := "2026-11-20T00:00:00.123456Z"; got.Overall.End != want {
			t.Errorf("overall.end = %q, want %q", got.Overall.End, want)
		}
	})
}

// TestDORAFuturePeriod: the period ends now at the latest. An until far
// ahead (9999-12-31, "no end") gave an empty 200, its end past what JSON
// can write, and diluted the frequency with days to come; a since ahead of
// now has no period at all.
func TestDORAFuturePeriod(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(16, 0, 0))
		postDORAHistory(t, ts)

		for _, q := range []string{"since=2026-11-02&until=9999-12-31", "since=2026-11-02&until=2026-12-31", "since=2026-11-02"} {
			r := ts.do(t, "GET", "/v1/dora?"+q, nil)
			var got model.DORA
			if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
				t.Fatalf("%s: %d %.300s", q, r.status, r.body)
			}
			if got.Overall.End == nil || !got.Overall.End.Equal(doraDay(16, 0, 0)) {
				t.Errorf("%s: overall.end = %v, want now, %v", q, got.Overall.End, doraDay(16, 0, 0))
			}
			// 5 successful deployments in the 14 days from since to now.
			if f := got.Overall.DeploymentFrequencyPerDay; f == nil || *f != 5.0/14 {
				t.Errorf("%s: frequency %v, want 5/14", q, f)
			}
		}
		r := ts.do(t, "GET", "/v1/dora?until=9999-12-31&format=csv", nil)
		if r.status != 200 || strings.Contains(string(r.body), "10000-") {
			t.Errorf("csv: %d %s", r.status, r.body)
		}

		for _, q := range []string{"since=9999-12-31", "since=2026-11-17"} {
			r := ts.do(t, "GET", "/v1/dora?"+q, nil)
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"since"`) || !strings.Contains(string(r.body), "is after now") {
				t.Errorf("%s: %d %s, want a 400 naming since", q, r.status, r.body)
			}
		}
	})
}

// TestDORAFailedRedeploysEndToEnd records, one step at a time as a deploy
// script does, a redeploy that fails twice and then works (jobs 3.0) and
// one that fails and is left so (cron 5.0), and reads the keys from the
// JSON, the CSV and the page: the version deployed once is one deployment
// with one lead time, and a failed redeploy is no change failure.
func TestDORAFailedRedeploysEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		post := func(component, version, status string, at time.Time) {
			t.Helper()
			q := "component=" + component + "&version=" + version + "&owner=dan&environment=production&status=" + status +
				"&time=" + at.Format(time.RFC3339) + "&committed_at=" + doraDay(2, 8, 0).Format(time.RFC3339)
			if r := ts.do(t, "POST", "/v1/steps?"+q, nil); r.status != 201 {
				t.Fatalf("POST %s: %d %s", q, r.status, r.body)
			}
		}
		post("jobs", "3.0", "build", doraDay(2, 9, 0))
		post("jobs", "3.0", "finished", doraDay(2, 9, 10)) // deployed: lead 1h10m
		post("jobs", "3.0", "build", doraDay(9, 9, 0))     // a redeploy a week later…
		post("jobs", "3.0", "failed", doraDay(9, 9, 3))
		post("jobs", "3.0", "build", doraDay(9, 9, 5)) // …retried…
		post("jobs", "3.0", "failed", doraDay(9, 9, 8))
		post("jobs", "3.0", "build", doraDay(9, 9, 10)) // …until it works
		post("jobs", "3.0", "finished", doraDay(9, 9, 20))
		post("cron", "5.0", "build", doraDay(2, 9, 0))
		post("cron", "5.0", "finished", doraDay(2, 9, 10))
		post("cron", "5.0", "build", doraDay(9, 12, 0)) // a redeploy that fails, left so
		post("cron", "5.0", "failed", doraDay(9, 12, 3))

		const query = "/v1/dora?environment=production&since=2026-11-02&until=2026-11-15"
		r := ts.do(t, "GET", query, nil)
		var got model.DORA
		if err := json.Unmarshal([]byte(r.body), &got); r.status != 200 || err != nil {
			t.Fatalf("GET %s: %d %v %s", query, r.status, err, r.body)
		}
		all := got.Overall
		if all.Deployments != 2 || all.FailedDeployments != 0 || all.RetriedFailures != 2 || all.Redeployments != 2 ||
			all.UnrestoredFailures != 0 || all.ChangeFailureRatePercent == nil || *all.ChangeFailureRatePercent != 0 {
			t.Errorf("deployments %d, failed %d, retried %d, redeployments %d, unrestored %d; want 2, 0, 2, 2, 0 (0 %% failing)",
				all.Deployments, all.FailedDeployments, all.RetriedFailures, all.Redeployments, all.UnrestoredFailures)
		}
		if v := all.LeadTimeP90Seconds; v == nil || *v != 4200 {
			b, _ := json.Marshal(v)
			t.Errorf("lead time p90 = %s, want 4200 s: the redeploy adds no lead time", b)
		}

		c := ts.do(t, "GET", query+"&format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.body)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("csv: %v %s", err, c.body)
		}
		head, overall := rows[0], rows[len(rows)-1]
		cell := func(name string) string {
			for i, h := range head {
				if h == name {
					return overall[i]
				}
			}
			return "?"
		}
		if cell("deployments") != "2" || cell("failed_deployments") != "0" || cell("retried_failures") != "2" || cell("redeployments") != "2" {
			t.Errorf("csv overall row %v, header %v; want 2 deployments, 0 failed, 2 retried, 2 redeployments", overall, head)
		}

		p := getPage(t, nil, ts.URL, "/?environment=production&since=2026-11-02&until=2026-11-15&bucket=week")
		for _, want := range []string{
			`<dd class="value">0.0 % (0.0–65.8; 0 of 2) <span class="badge band-elite">elite</span></dd>`,
			`Not deployments: 2 failed attempts retried with the same version, 2 redeployments of the version just deployed; ` +
				`the change failure rate&#39;s band is not settled: its 95 % interval spans elite to low; lead time from 100 % of 2 successful deployments`,
		} {
			if !strings.Contains(p.body, want) {
				i := strings.Index(p.body, `id="dora"`)
				t.Errorf("the page lacks %s:\n%s", want, p.body[i:min(len(p.body), i+2500)])
			}
		}
		one := getPage(t, nil, ts.URL, "/?component=cron&environment=production&since=2026-11-02&until=2026-11-15&bucket=week")
		if want := `Not deployments: 1 redeployment of the version just deployed; the change failure rate&#39;s band is not settled: its 95 % interval spans elite to low; lead time from 100 % of 1 successful deployment (those`; !strings.Contains(one.body, want) {
			t.Errorf("the cron page lacks %s", want)
		}
	})
}

// TestDORAFailureRateIntervalEndToEnd checks the change failure rate's
// 95 % interval through HTTP on SQLite and MariaDB, against values worked
// out by hand from the Wilson formula: per bucket and overall in the JSON
// (null exactly when the rate is), as the CSV's last two columns, and on
// the page, which says when the interval spans more than one band. Before
// it, 1 failure in 2 read "50 %, low" as surely as 100 in 200.
func TestDORAFailureRateIntervalEndToEnd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(doraDay(20, 0, 0))
		postDORAHistory(t, ts)

		r := ts.do(t, "GET", "/v1/dora?since=2026-11-02&until=2026-11-15&bucket=week", nil)
		var raw struct {
			Overall map[string]json.RawMessage   `json:"overall"`
			Buckets []map[string]json.RawMessage `json:"buckets"`
		}
		if err := json.Unmarshal(r.body, &raw); r.status != 200 || err != nil || len(raw.Buckets) != 2 {
			t.Fatalf("GET /v1/dora = %d %v %.500s", r.status, err, r.body)
		}
		num := func(m map[string]json.RawMessage, k string) float64 {
			var v *float64
			if err := json.Unmarshal(m[k], &v); err != nil || v == nil {
				t.Fatalf("%s = %s, want a number", k, m[k])
			}
			return *v
		}
		for _, c := range []struct {
			name      string
			m         map[string]json.RawMessage
			low, high float64
		}{
			{"week 1, 3 of 7", raw.Buckets[0], 15.822, 74.954},
			{"week 2, 1 of 2", raw.Buckets[1], 9.4531, 90.547},
			{"overall, 4 of 9", raw.Overall, 18.878, 73.335},
		} {
			lo, hi := num(c.m, "change_failure_rate_low_percent"), num(c.m, "change_failure_rate_high_percent")
			if math.Abs(lo-c.low) > 0.001 || math.Abs(hi-c.high) > 0.001 {
				t.Errorf("%s: interval %.4f–%.4f, want %.4f–%.4f", c.name, lo, hi, c.low, c.high)
			}
			if rate := num(c.m, "change_failure_rate_percent"); rate < lo || rate > hi {
				t.Errorf("%s: rate %.2f outside its interval %.2f–%.2f", c.name, rate, lo, hi)
			}
			// The band stays the rate's: low, though the interval reaches
			// into better ones.
			if !strings.Contains(string(c.m["bands"]), `"change_failure_rate":"low"`) {
				t.Errorf("%s: bands %s, want change_failure_rate low", c.name, c.m["bands"])
			}
		}

		// A day without deployments has no rate, and so no interval: null,
		// never 0 or absent.
		d := ts.do(t, "GET", "/v1/dora?since=2026-11-06&until=2026-11-08&bucket=day", nil)
		var days struct {
			Buckets []map[string]json.RawMessage `json:"buckets"`
		}
		if err := json.Unmarshal(d.body, &days); d.status != 200 || err != nil || len(days.Buckets) == 0 {
			t.Fatalf("days: %d %v %.300s", d.status, err, d.body)
		}
		for _, b := range days.Buckets {
			for _, k := range []string{"change_failure_rate_percent", "change_failure_rate_low_percent", "change_failure_rate_high_percent"} {
				if v, ok := b[k]; !ok || string(v) != "null" {
					t.Errorf("empty day %s: %s = %s (present %v), want null", b["start"], k, v, ok)
				}
			}
		}

		c := ts.do(t, "GET", "/v1/dora?since=2026-11-02&until=2026-11-15&bucket=week&format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.body)).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("csv: %v %s", err, c.body)
		}
		// Appended: the columns before them keep their places.
		head := strings.Join(rows[0], ",")
		if want := "kind,start,end,deployments,failed_deployments,deployment_frequency_per_day,change_failure_rate_percent," +
			"time_to_restore_p50_seconds,time_to_restore_p90_seconds,unrestored_failures,lead_time_p50_seconds,lead_time_p90_seconds," +
			"lead_time_coverage_percent,band_deployment_frequency,band_change_failure_rate,band_time_to_restore,band_lead_time," +
			"retried_failures,redeployments,change_failure_rate_low_percent,change_failure_rate_high_percent,restored_failures," +
			"superseded_deployments,rollbacks"; head != want {
			t.Errorf("csv header\n%s\nwant\n%s", head, want)
		}
		const loCol, hiCol = 19, 20 // change_failure_rate_low_percent, …_high_percent
		for i, want := range [][2]float64{{15.822, 74.954}, {9.4531, 90.547}, {18.878, 73.335}} {
			row := rows[i+1]
			lo, err1 := strconv.ParseFloat(row[loCol], 64)
			hi, err2 := strconv.ParseFloat(row[hiCol], 64)
			if err1 != nil || err2 != nil || math.Abs(lo-want[0]) > 0.005 || math.Abs(hi-want[1]) > 0.005 { // to the hundredth in CSV
				t.Errorf("csv row %d %v: interval %q–%q, want %.4f–%.4f", i+1, row, row[loCol], row[hiCol], want[0], want[1])
			}
		}
		cd := ts.do(t, "GET", "/v1/dora?since=2026-11-06&until=2026-11-08&bucket=day&format=csv", nil)
		drows, err := csv.NewReader(bytes.NewReader(cd.body)).ReadAll()
		if err != nil || len(drows) < 2 {
			t.Fatalf("days csv: %v %s", err, cd.body)
		}
		if row := drows[1]; row[6] != "" || row[loCol] != "" || row[hiCol] != "" {
			t.Errorf("empty day's csv row %v: want empty rate and interval cells", row)
		}

		p := getPage(t, nil, ts.URL, "/?component=web&since=2026-11-02&until=2026-11-15&bucket=week")
		for _, want := range []string{
			`<dd class="value">50.0 % (9.5–90.5; 1 of 2) <span class="badge band-low">low</span></dd>`,
			`<p class="note">Time to restore from 1 restored failure (fewer than 10, so its p90 is about the slowest); ` +
				`the change failure rate&#39;s band is not settled: its 95 % interval spans high to low;`,
			`the failure rate&#39;s range is its 95 % interval`,
		} {
			if !strings.Contains(p.body, want) {
				i := strings.Index(p.body, `id="dora"`)
				t.Errorf("the page lacks %s:\n%s", want, p.body[i:min(len(p.body), i+2500)])
			}
		}
	})
}
