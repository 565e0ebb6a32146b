package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/synth"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDORAAccuracyEndToEnd posts a synthetic history with known truth and
// junk (synth.GenerateDORA, as pkg/model's TestAccuracyDORA scores it) to
// stepsd on SQLite (and MariaDB when set up), reads GET /v1/dora for production, and checks it
// against the truth and against the model's answer recounted from
// GET /v1/deployments: retried attempts, terminal steps sent twice, a
// stuck deploy and staging count nowhere; the burst of test deploys
// counts as the successful deployments it is recorded as.
func TestDORAAccuracyEndToEnd(t *testing.T) {
	skipVolumeUnderRace(t, "posts eight weeks of deploys, one request at a time")
	cfg := synth.DORAConfig{Seed: 7, Start: time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC), Weeks: 8,
		Components: []string{"api", "web"}, PerWeek: 10, FailureRate: 0.15,
		RestoreMin: 20 * time.Minute, RestoreMax: 6 * time.Hour, Junk: true, TestBurst: 12}
	steps, truth := synth.GenerateDORA(cfg)
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		doraAccuracyEndToEnd(t, newTestServer(t, fresh(t)), cfg, steps, truth)
	})
}

func doraAccuracyEndToEnd(t *testing.T, ts *testServer, cfg synth.DORAConfig, steps []model.StepInput, truth synth.DORATruth) {
	now := truth.Until.Add(24 * time.Hour)
	ts.clock.Set(now)
	body, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != 201 {
		t.Fatalf("batch of %d steps: %d %.300s", len(steps), r.status, r.body)
	}
	q := url.Values{"environment": {"production"}, "since": {truth.Since.Format(time.RFC3339Nano)},
		"until": {truth.Until.Format(time.RFC3339Nano)}, "bucket": {"week"}}
	r := ts.do(t, "GET", "/v1/dora?"+q.Encode(), nil)
	if r.status != 200 {
		t.Fatalf("GET /v1/dora: %d %.300s", r.status, r.body)
	}
	var got model.DORA
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	all := got.Overall

	// Against the truth: exact but for the late step's lead time and the
	// burst's test deploys, which are successes without a commit time.
	tests := float64(cfg.TestBurst)
	s, f := float64(truth.Successes), float64(truth.Failures)
	num := func(v *float64) float64 {
		if v == nil {
			return math.NaN()
		}
		return *v
	}
	for _, c := range []struct {
		name      string
		got, want float64
		tolerance float64
	}{
		{"deployments", float64(all.Deployments), s + f + tests, 0},
		{"failed deployments", float64(all.FailedDeployments), f, 0},
		{"unrestored", float64(all.UnrestoredFailures), 0, 0},
		{"frequency", num(all.DeploymentFrequencyPerDay), (s + tests) / truth.Days, 1e-9},
		{"change failure rate", num(all.ChangeFailureRatePercent), f / (s + f + tests) * 100, 1e-9},
		{"restore p50", num(all.TimeToRestoreP50Seconds), truth.RestoreP50Seconds(), 1e-6},
		{"lead p50", num(all.LeadTimeP50Seconds), truth.LeadP50Seconds(), 0.1 * truth.LeadP50Seconds()},
		{"coverage", num(all.LeadTimeCoveragePercent), float64(truth.WithCommit) / (s + tests) * 100, 1e-9},
	} {
		if !(math.Abs(c.got-c.want) <= c.tolerance) {
			t.Errorf("%s = %v, want %v (± %v)", c.name, c.got, c.want, c.tolerance)
		}
	}
	if all.RetriedFailures == 0 || all.Redeployments == 0 {
		t.Errorf("retried %d, redeployed %d: the junk has both", all.RetriedFailures, all.Redeployments)
	}

	// The page says what it left out (first, so "Not").
	page := getPage(t, nil, ts.URL, "/?"+q.Encode())
	if note := fmt.Sprintf("ot deployments: %d failed attempts retried with the same version, %d redeployments of the version just deployed",
		all.RetriedFailures, all.Redeployments); page.status != 200 || !strings.Contains(page.body, note) {
		t.Errorf("the page (%d) lacks %q", page.status, note)
	}

	// Against the model, recounting what /v1/deployments lists.
	q.Del("bucket")
	dr := ts.do(t, "GET", "/v1/deployments?format=ndjson&"+q.Encode(), nil)
	if dr.status != 200 {
		t.Fatalf("GET /v1/deployments: %d %.300s", dr.status, dr.body)
	}
	opts := model.DORAOptions{Bucket: model.BucketWeek, Since: truth.Since, Until: truth.Until, Now: now}
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	acc := model.NewDORAAccumulator(opts)
	sc := bufio.NewScanner(bytes.NewReader(dr.body))
	sc.Buffer(nil, 1<<20)
	var listed []*model.Deployment
	for sc.Scan() {
		var d model.Deployment
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		listed = append(listed, &d)
	}
	slices.SortStableFunc(listed, func(a, b *model.Deployment) int { return a.Key().Compare(b.Key()) })
	for _, d := range listed {
		acc.Add(d)
	}
	want, err := json.Marshal(acc.Result())
	if err != nil {
		t.Fatal(err)
	}
	if have, _ := json.Marshal(got); !bytes.Equal(have, want) {
		t.Errorf("GET /v1/dora\n%s\nwant the recount of /v1/deployments\n%s", have, want)
	}
	t.Logf("end to end, %d steps: truth frequency %.3f (with the burst %.3f) got %.3f; failure rate %.2f %% (%.2f) got %.2f; restore p50 %.0f s got %.0f; lead p50 %.0f s got %.0f; coverage %.1f %% (%.1f) got %.1f",
		len(steps), truth.FrequencyPerDay(), (s+tests)/truth.Days, num(all.DeploymentFrequencyPerDay),
		truth.ChangeFailureRatePercent(), f/(s+f+tests)*100, num(all.ChangeFailureRatePercent),
		truth.RestoreP50Seconds(), num(all.TimeToRestoreP50Seconds), truth.LeadP50Seconds(), num(all.LeadTimeP50Seconds),
		truth.CoveragePercent(), float64(truth.WithCommit)/(s+tests)*100, num(all.LeadTimeCoveragePercent))
}
