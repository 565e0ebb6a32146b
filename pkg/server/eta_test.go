package server_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/etatest"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestDeploymentETAs: the crafted history of internal/etatest, recorded
// through the API, gives the hand-computed ETAs in JSON, NDJSON and CSV,
// null where there is not enough history and on finished deployments.
func TestDeploymentETAs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(etatest.Now)
		body, err := json.Marshal(etatest.Steps())
		if err != nil {
			t.Fatal(err)
		}
		if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		find := func(ds []model.Deployment, w etatest.Want) model.Deployment {
			t.Helper()
			for _, d := range ds {
				if d.Component == w.Component && d.Version == w.Version && d.Environment == w.Environment {
					return d
				}
			}
			t.Fatalf("no deployment %s %s %s", w.Component, w.Version, w.Environment)
			return model.Deployment{}
		}
		check := func(format string, ds []model.Deployment) {
			t.Helper()
			for _, w := range etatest.Wants() {
				d := find(ds, w)
				switch {
				case !w.OK && (d.ETASeconds != nil || d.ExpectedDurationSeconds != nil || d.ExpectedFinishAt != nil):
					t.Errorf("%s: %s %s has an ETA, want null", format, w.Component, w.Version)
				case w.OK && (d.ETASeconds == nil || d.ExpectedDurationSeconds == nil || d.ExpectedFinishAt == nil):
					t.Errorf("%s: %s %s has no ETA, want %v s", format, w.Component, w.Version, w.ETASeconds)
				case w.OK && (*d.ETASeconds != w.ETASeconds || *d.ExpectedDurationSeconds != w.ExpectedDurationSeconds ||
					!d.ExpectedFinishAt.Equal(w.ExpectedFinishAt())):
					t.Errorf("%s: %s %s: eta %v, expected %v, finish %v; want %+v", format, w.Component, w.Version,
						*d.ETASeconds, *d.ExpectedDurationSeconds, *d.ExpectedFinishAt, w)
				case d.Overdue != w.Overdue:
					t.Errorf("%s: %s %s: overdue %v, want %v", format, w.Component, w.Version, d.Overdue, w.Overdue)
				}
			}
			for _, d := range ds {
				if d.Outcome != model.OutcomeInProgress && d.ETASeconds != nil {
					t.Errorf("%s: finished %s %s has an ETA", format, d.Component, d.Version)
				}
			}
		}

		r := ts.do(t, "GET", "/v1/deployments", nil)
		var res struct{ Deployments []model.Deployment }
		if err := json.Unmarshal(r.body, &res); err != nil {
			t.Fatal(err)
		}
		check("json", res.Deployments)
		// Null, not absent, where unknown.
		if !strings.Contains(string(r.body), `"version":"r-canary","environment":"prod"`) ||
			!strings.Contains(string(r.body), `"expected_duration_seconds":null,"expected_finish_at":null,"eta_seconds":null`) {
			t.Errorf("nulls missing: %s", r.body)
		}

		// A page of one, in another format: the ETA is read per page.
		var nd []model.Deployment
		for cursor := ""; ; {
			r := ts.do(t, "GET", "/v1/deployments?format=ndjson&limit=1&cursor="+cursor, nil)
			sc := bufio.NewScanner(bytes.NewReader(r.body))
			for sc.Scan() {
				var d model.Deployment
				if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
					t.Fatalf("ndjson %q: %v", sc.Bytes(), err)
				}
				nd = append(nd, d)
			}
			if cursor = r.header.Get("X-Next-Cursor"); cursor == "" {
				break
			}
		}
		check("ndjson pages", nd)

		c := ts.do(t, "GET", "/v1/deployments?format=csv&component=api&environment=prod&version=r-tests", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("CSV %q: %v", c.body, err)
		}
		n := len(model.DeploymentCSVHeader)
		if got := strings.Join(rows[0][n-4:], ","); got != "expected_duration_seconds,expected_finish_at,eta_seconds,overdue" {
			t.Errorf("CSV header ends %q", got)
		}
		if got := strings.Join(rows[1][n-4:], ","); got != "235,2026-03-02 17:01:45,105,false" {
			t.Errorf("CSV ETA cells %q, want 235,2026-03-02 17:01:45,105,false", got)
		}
		// One late in its phase says so in CSV too, not only in JSON:
		// its ETA alone (40 s) reads as nearly done.
		c = ts.do(t, "GET", "/v1/deployments?format=csv&component=api&environment=prod&version=r-tests-overrun", nil)
		rows, err = csv.NewReader(bytes.NewReader(c.body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("CSV %q: %v", c.body, err)
		}
		if got := strings.Join(rows[1][n-2:], ","); got != "40,true" {
			t.Errorf("CSV of r-tests-overrun ends %q, want 40,true (eta_seconds, overdue)", got)
		}
	})
}

// The page shows the ETA of the running deployments it lists, the same
// as GET /v1/deployments.
func TestDashboardShowsETA(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	ts.clock.Set(etatest.Now)
	body, err := json.Marshal(etatest.Steps())
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	p := getPage(t, nil, ts.URL, "/")
	if p.status != http.StatusOK {
		t.Fatalf("GET / = %d", p.status)
	}
	want := `<span class="eta" title="expected to finish at 2026-03-02 17:01 UTC, 3m55s in all">ETA 1m45s</span>`
	if !strings.Contains(p.body, want) {
		t.Errorf("page lacks %s", want)
	}
	// Five of the seven running deployments have enough history.
	if n := p.count(`<span class="eta"`); n != 5 {
		t.Errorf("%d ETAs on the page, want 5", n)
	}
	// The deployment's own page too; none for one without history.
	p = getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=r-tests&environment=prod")
	want = `<dd id="eta">1m45s <span class="note">at <time datetime="2026-03-02T17:01:45Z">2026-03-02 17:01</time>, 3m55s in all</span></dd>`
	if p.status != http.StatusOK || !strings.Contains(p.body, want) {
		t.Errorf("deployment page (%d) lacks %s", p.status, want)
	}
	p = getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=r-canary&environment=prod")
	if p.status != http.StatusOK || strings.Contains(p.body, `id="eta"`) {
		t.Errorf("deployment page (%d) of r-canary has an ETA", p.status)
	}
	// r-deploy-overrun is 100 s into its last phase, which lasts 40 s at
	// the median: the server's ETA is 0, which the page read as "ETA
	// 0.0s", done any moment; stepsctl says overdue, and so does the page.
	p = getPage(t, nil, ts.URL, "/")
	if want := `in all">overdue</span>`; !strings.Contains(p.body, want) || strings.Contains(p.body, "ETA 0.0s") {
		t.Errorf("page lacks %s, or shows ETA 0.0s", want)
	}
	p = getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=r-deploy-overrun&environment=prod")
	if want := `<dd id="eta">overdue <span`; p.status != http.StatusOK || !strings.Contains(p.body, want) {
		t.Errorf("deployment page (%d) of r-deploy-overrun lacks %s", p.status, want)
	}
	// r-tests-overrun is 400 s into tests that take 115 s at the median,
	// with deploy (40 s) still ahead: late as well, though its ETA is not
	// 0. The page read "ETA 40s", on time and nearly done.
	p = getPage(t, nil, ts.URL, "/")
	if want := `in all">overdue, ETA 40s</span>`; !strings.Contains(p.body, want) {
		t.Errorf("page lacks %s", want)
	}
	p = getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=r-tests-overrun&environment=prod")
	if want := `<dd id="eta">overdue, 40s <span`; p.status != http.StatusOK || !strings.Contains(p.body, want) {
		t.Errorf("deployment page (%d) of r-tests-overrun lacks %s", p.status, want)
	}
}

// TestDashboardShowsNoETAForAStuckDeployment: a deploy silent in tests
// for hours is stuck, and its ETA (the API's, the later steps' median:
// 40 s) is no finish to wait for. The page shows none for it, on the list
// and on its own page; the API keeps giving it.
func TestDashboardShowsNoETAForAStuckDeployment(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	ts.clock.Set(etatest.Now)
	steps := etatest.Steps()
	for i, status := range []string{"build", "tests"} {
		steps = append(steps, model.StepInput{Component: "api", Version: "r-stuck", Environment: "prod", Owner: "ana", Status: status,
			Time: etatest.Now.Add(-3*time.Hour + time.Duration(i)*80*time.Second)})
	}
	body, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/v1/deployments?component=api&version=r-stuck&format=json", nil)
	var got struct{ Deployments []model.Deployment }
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || len(got.Deployments) != 1 {
		t.Fatalf("deployments: %v %s", err, r.body)
	}
	if d := got.Deployments[0]; !d.Stuck || d.ETASeconds == nil || *d.ETASeconds != 40 {
		t.Fatalf("r-stuck: stuck %v, eta %v; want stuck with the API's ETA of 40 s", d.Stuck, d.ETASeconds)
	}
	p := getPage(t, nil, ts.URL, "/")
	if p.status != http.StatusOK || !strings.Contains(p.body, "r-stuck") {
		t.Fatalf("GET / = %d, r-stuck listed: %v", p.status, strings.Contains(p.body, "r-stuck"))
	}
	if n := p.count(`<span class="eta"`); n != 5 {
		t.Errorf("%d ETAs on the page, want the 5 of TestDashboardShowsETA (none for r-stuck)", n)
	}
	p = getPage(t, nil, ts.URL, "/ui/deployment?component=api&version=r-stuck&environment=prod")
	if p.status != http.StatusOK || strings.Contains(p.body, `id="eta"`) {
		t.Errorf("deployment page (%d) of stuck r-stuck has an ETA", p.status)
	}
}

// One request reads the history of at most 20 components and
// environments: the running deployments of a 21st get no ETA.
func TestETAHistoryIsBoundedPerRequest(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	ts.clock.Set(etatest.Now)
	var steps []model.StepInput
	for c := range 21 {
		component := fmt.Sprintf("svc%02d", c)
		for k := range 5 {
			at := etatest.Now.Add(-time.Duration(k+1) * time.Hour)
			steps = append(steps,
				model.StepInput{Component: component, Version: fmt.Sprint(k), Owner: "ana", Status: "build", Time: at},
				model.StepInput{Component: component, Version: fmt.Sprint(k), Owner: "ana", Status: "finished", Time: at.Add(time.Minute)})
		}
		steps = append(steps, model.StepInput{Component: component, Version: "new", Owner: "ana", Status: "build", Time: etatest.Now.Add(-10 * time.Second)})
	}
	res, _ := recordAndListNew(t, ts, steps)
	with := 0
	for _, d := range res.Deployments {
		if d.ETASeconds != nil {
			with++
			if *d.ETASeconds != 50 {
				t.Errorf("%s: eta %v, want 50", d.Component, *d.ETASeconds)
			}
		}
	}
	if len(res.Deployments) != 21 || with != 20 {
		t.Errorf("%d running deployments, %d with an ETA; want 21 and 20", len(res.Deployments), with)
	}
}

// TestETALeavesOutJunk: a burst of ten one-second test deploys as the
// latest successes, and a deploy stuck for ten hours, do not make the ETA:
// it is read from the real deployments before them (model.ETAPast), which
// the store gives beyond the 20 the ETA reads. Without it, half of the
// latest 20 successes were the burst and the ETA fell from 150 s to 60.5 s.
func TestETALeavesOutJunk(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.clock.Set(etatest.Now)
		var steps []model.StepInput
		add := func(version string, at time.Time, build, tests time.Duration) {
			steps = append(steps,
				model.StepInput{Component: "api", Version: version, Owner: "ana", Environment: "prod", Status: "build", Time: at},
				model.StepInput{Component: "api", Version: version, Owner: "ana", Environment: "prod", Status: "tests", Time: at.Add(build)},
				model.StepInput{Component: "api", Version: version, Owner: "ana", Environment: "prod", Status: "finished", Time: at.Add(build + tests)})
		}
		// 20 real deployments a day apart, build 60 s and tests 120 s.
		for k := range 20 {
			add(fmt.Sprintf("1.%d", k), etatest.Now.Add(-time.Duration(20-k)*24*time.Hour), time.Minute, 2*time.Minute)
		}
		// Stuck in tests for ten hours, then finished.
		add("stuck", etatest.Now.Add(-12*time.Hour), time.Minute, 10*time.Hour)
		for k := range 10 {
			add(fmt.Sprintf("test-%d", k), etatest.Now.Add(-time.Duration(30-k)*time.Minute), 500*time.Millisecond, 500*time.Millisecond)
		}
		steps = append(steps, model.StepInput{Component: "api", Version: "new", Owner: "ana", Environment: "prod", Status: "build",
			Time: etatest.Now.Add(-30 * time.Second)})
		res, raw := recordAndListNew(t, ts, steps)
		// Remaining from build: 180 s, 30 s of it gone.
		if len(res.Deployments) != 1 || res.Deployments[0].ETASeconds == nil || *res.Deployments[0].ETASeconds != 150 ||
			*res.Deployments[0].ExpectedDurationSeconds != 180 {
			t.Fatalf("running deployment %s, want eta 150 s, 180 s in all", raw)
		}
	})
}

// recordAndListNew posts steps as one batch and lists the deployments of
// version "new", the running ones whose ETA a test checks, decoded and as
// sent.
func recordAndListNew(t *testing.T, ts *testServer, steps []model.StepInput) (res struct{ Deployments []model.Deployment }, raw []byte) {
	t.Helper()
	body, err := json.Marshal(steps)
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(body), "Content-Type", "application/json"); r.status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/v1/deployments?version=new", nil)
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	return res, r.body
}
