package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

const (
	testGitHubSecret = "It's a Secret to Everybody"
	testGitLabToken  = "gl-hook-token-1234"
)

// newHookServer is a test server with both webhooks enabled.
func newHookServer(t *testing.T, dsn string, mapping *hooks.Mapping) *testServer {
	t.Helper()
	st := testdb.Open(t, dsn)
	c := &clock{now: t0}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now,
		GitHubSecret: testGitHubSecret, GitLabToken: testGitLabToken, HookMapping: mapping,
		// A write-scoped token is configured: hooks must not need it.
		Tokens: []server.Token{{Scope: server.ScopeWrite, Secret: "write-secret-123"}}}))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: st, clock: c}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// github sends a fixture as GitHub does: JSON, signed, with its event name.
func (ts *testServer) github(t *testing.T, event, file string) response {
	t.Helper()
	body := fixture(t, filepath.Join("github", file))
	return ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body),
		"Content-Type", "application/json", "X-GitHub-Event", event,
		"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body),
		"User-Agent", "GitHub-Hookshot/044aadd")
}

type hookAnswer struct {
	Stored, Replayed int
	Ignored          string
	Steps            []model.Step
}

func (r response) hook(t *testing.T) hookAnswer {
	t.Helper()
	var a hookAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("hook answer %q: %v", r.body, err)
	}
	return a
}

func (ts *testServer) deployments(t *testing.T, query string) []model.Deployment {
	t.Helper()
	r := ts.do(t, "GET", "/v1/deployments?format=json&"+query, nil, "Authorization", "Bearer write-secret-123")
	var res struct{ Deployments []model.Deployment }
	if r.status != 200 || json.Unmarshal(r.body, &res) != nil {
		t.Fatalf("GET /v1/deployments?%s = %d %s", query, r.status, r.body)
	}
	return res.Deployments
}

// phases returns a deployment's steps as status → duration (-1 for the
// last, open-ended one), in order.
func phases(d model.Deployment) []string {
	var out []string
	for _, p := range d.Steps {
		dur := "end"
		if p.DurationSeconds != nil {
			dur = time.Duration(*p.DurationSeconds * float64(time.Second)).String()
		}
		out = append(out, p.Status+" "+dur)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGitHubHook(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)

		t.Run("PingAnswers200", func(t *testing.T) {
			if r := ts.github(t, "ping", "ping.json"); r.status != http.StatusOK {
				t.Errorf("ping = %d %s", r.status, r.body)
			}
		})

		t.Run("SuccessfulJobBecomesAFinishedDeployment", func(t *testing.T) {
			r := ts.github(t, "workflow_job", "workflow_job_in_progress.json")
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 1 || a.Steps[0].Status != "Set up job" {
				t.Fatalf("in_progress = %d %s", r.status, r.body)
			}
			r = ts.github(t, "workflow_job", "workflow_job_completed_success.json")
			// "Set up job" came with in_progress: stored once, replayed now.
			if a := r.hook(t); r.status != http.StatusCreated || a.Stored != 6 || a.Replayed != 1 {
				t.Fatalf("completed = %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=api&version=9f4e2c1")
			if len(ds) != 1 {
				t.Fatalf("%d deployments, want 1: %+v", len(ds), ds)
			}
			d := ds[0]
			want := []string{"Set up job 5s", "Checkout 5s", "Build 2m0s", "Migrate 50s", "Roll out 3m0s", "Complete job 2s", "finished end"}
			if got := phases(d); !equalStrings(got, want) {
				t.Errorf("phases\n got %q\nwant %q", got, want)
			}
			if d.Outcome != model.OutcomeSuccess || d.DurationSeconds != 362 || d.Environment != "Deploy" || d.Owner != "ana" || d.Attempt != 1 {
				t.Errorf("deployment %+v", d)
			}
			// The job's head commit; its payload has no commit time.
			if d.Revision != "9f4e2c1a7b3d5e6f8091a2b3c4d5e6f708192a3b" || d.CommittedAt != nil {
				t.Errorf("revision %q committed_at %v", d.Revision, d.CommittedAt)
			}
		})

		t.Run("RedeliveryStoresNothing", func(t *testing.T) {
			before := ts.count(t)
			r := ts.github(t, "workflow_job", "workflow_job_completed_success.json")
			if a := r.hook(t); r.status != http.StatusOK || a.Stored != 0 || a.Replayed != 7 {
				t.Errorf("redelivery = %d %s", r.status, r.body)
			}
			if n := ts.count(t); n != before {
				t.Errorf("%d steps after a redelivery, want %d", n, before)
			}
		})

		t.Run("FailedJobFailsOnTagVersionWithoutSkippedSteps", func(t *testing.T) {
			r := ts.github(t, "workflow_job", "workflow_job_completed_failure.json")
			if r.status != http.StatusCreated {
				t.Fatalf("= %d %s", r.status, r.body)
			}
			ds := ts.deployments(t, "component=api&version=v1.4.0")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			want := []string{"Set up job 4s", "Build 1m56s", "Tests 2m30s", "Complete job 1s", "failed end"}
			if got := phases(ds[0]); !equalStrings(got, want) || ds[0].Outcome != model.OutcomeFailure || ds[0].Owner != "bob" {
				t.Errorf("phases %q, outcome %s, owner %s; want %q failure bob", got, ds[0].Outcome, ds[0].Owner, want)
			}
		})

		t.Run("DeploymentStatusesUseTheDeploymentsEnvironment", func(t *testing.T) {
			for _, f := range []string{"deployment_status_in_progress.json", "deployment_status_success.json"} {
				if r := ts.github(t, "deployment_status", f); r.status != http.StatusCreated {
					t.Fatalf("%s = %d %s", f, r.status, r.body)
				}
			}
			ds := ts.deployments(t, "component=web")
			if len(ds) != 1 {
				t.Fatalf("%d deployments", len(ds))
			}
			d := ds[0]
			if got, want := phases(d), []string{"in_progress 4m30s", "finished end"}; !equalStrings(got, want) ||
				d.Environment != "production" || d.Version != "v2.3.1" || d.Outcome != model.OutcomeSuccess || d.Owner != "cy" ||
				d.Revision != "aa11bb22cc33dd44ee55ff6677889900aabbccdd" {
				t.Errorf("deployment %+v", d)
			}
		})

		t.Run("UnusedEventIs202WithAReason", func(t *testing.T) {
			before := ts.count(t)
			r := ts.github(t, "workflow_run", "workflow_run_requested.json")
			if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" {
				t.Errorf("workflow_run = %d %s", r.status, r.body)
			}
			r = ts.github(t, "workflow_job", "ping.json") // a workflow_job event without a job
			if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" {
				t.Errorf("unmappable = %d %s", r.status, r.body)
			}
			if n := ts.count(t); n != before {
				t.Errorf("ignored events stored %d steps", n-before)
			}
		})

		t.Run("BadSignatureIs401AndStoresNothing", func(t *testing.T) {
			before := ts.count(t)
			body := fixture(t, "github/workflow_job_completed_failure.json")
			changed := bytes.Replace(body, []byte(`"v1.4.0"`), []byte(`"v1.4.1"`), 1)
			for name, sig := range map[string]string{
				"missing":        "",
				"wrong secret":   hooks.SignGitHub("another secret", changed),
				"other body":     hooks.SignGitHub(testGitHubSecret, body),
				"not hex":        "sha256=zz",
				"sha1 scheme":    "sha1=0123456789abcdef0123456789abcdef01234567",
				"bearer instead": "",
			} {
				headers := []string{"Content-Type", "application/json", "X-GitHub-Event", "workflow_job"}
				if sig != "" {
					headers = append(headers, "X-Hub-Signature-256", sig)
				}
				if name == "bearer instead" {
					headers = append(headers, "Authorization", "Bearer write-secret-123")
				}
				r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(changed), headers...)
				if _, code, _ := r.errorBody(t); r.status != http.StatusUnauthorized || code != model.EUNAUTHORIZED {
					t.Errorf("%s: %d %s", name, r.status, r.body)
				}
			}
			if n := ts.count(t); n != before {
				t.Errorf("refused deliveries stored %d steps", n-before)
			}
		})

		t.Run("MissingEventIs400NamingTheHeader", func(t *testing.T) {
			before := ts.count(t)
			body := fixture(t, "github/workflow_job_completed_success.json")
			r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body), "Content-Type", "application/json",
				"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body))
			if _, code, field := r.errorBody(t); r.status != http.StatusBadRequest || code != model.EINVALID || field != "X-GitHub-Event" {
				t.Errorf("signed delivery without X-GitHub-Event = %d %s; want 400 naming the header", r.status, r.body)
			}
			if n := ts.count(t); n != before {
				t.Errorf("a delivery without its event stored %d steps", n-before)
			}
		})

		t.Run("FormEncodedDeliveryIsAccepted", func(t *testing.T) {
			payload := bytes.Replace(fixture(t, "github/deployment_status_success.json"), []byte("88131"), []byte("88140"), -1)
			payload = bytes.Replace(payload, []byte(`"v2.3.1"`), []byte(`"v2.3.2"`), 1)
			body := []byte("payload=" + url.QueryEscape(string(payload)))
			r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body),
				"Content-Type", "application/x-www-form-urlencoded", "X-GitHub-Event", "deployment_status",
				"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body))
			if a := r.hook(t); r.status != http.StatusCreated || a.Steps[0].Version != "v2.3.2" {
				t.Errorf("form delivery = %d %s", r.status, r.body)
			}
		})

		t.Run("CrossSiteBrowserPostIsRefused", func(t *testing.T) {
			body := fixture(t, "github/ping.json")
			r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body), "Content-Type", "application/json",
				"X-GitHub-Event", "ping", "X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body), "Sec-Fetch-Site", "cross-site")
			if r.status != http.StatusForbidden {
				t.Errorf("cross-site = %d %s", r.status, r.body)
			}
		})
	})
}

func TestHooksWithoutSecretAre404(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	body := fixture(t, "github/ping.json")
	r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body), "Content-Type", "application/json",
		"X-GitHub-Event", "ping", "X-Hub-Signature-256", hooks.SignGitHub("", body))
	// As any path without a route: no step or deployment is missing.
	if _, code, _ := r.errorBody(t); r.status != http.StatusNotFound || code != model.ENOENDPOINT {
		t.Errorf("github without a secret = %d %s", r.status, r.body)
	}
}

// TestHooksWithoutSecretAre404ForAnyMethod: an unconfigured hook has no
// route for any method, as docs/api.md says of no_such_endpoint; a GET
// must not answer 405 "allowed: POST" when a POST would be a 404. With its
// secret configured, the hook's path keeps its 405 and Allow.
func TestHooksWithoutSecretAre404ForAnyMethod(t *testing.T) {
	off := newTestServer(t, testdb.SQLite(t))
	on := newHookServer(t, testdb.SQLite(t), nil)
	for _, path := range []string{"/v1/hooks/github", "/v1/hooks/gitlab"} {
		for _, method := range []string{"GET", "HEAD", "PUT", "DELETE"} {
			r := off.do(t, method, path, nil)
			if r.status != http.StatusNotFound || r.header.Get("Allow") != "" {
				t.Errorf("%s %s without a secret = %d, Allow %q; want 404 without Allow", method, path, r.status, r.header.Get("Allow"))
			}
			if method != "HEAD" {
				if _, code, _ := r.errorBody(t); code != model.ENOENDPOINT {
					t.Errorf("%s %s without a secret: code %s; want %s", method, path, code, model.ENOENDPOINT)
				}
			}
			// The message says the hook is off and how to turn it on,
			// not that the documented path is no endpoint at all.
			flag := map[string]string{"/v1/hooks/github": "--github-webhook-secret", "/v1/hooks/gitlab": "--gitlab-webhook-token"}[path]
			if msg, _, _ := off.do(t, "POST", path, nil).errorBody(t); !strings.Contains(msg, "this webhook is off on this server; start stepsd with "+flag) {
				t.Errorf("POST %s without a secret: %q; want it to say the hook is off and name %s", path, msg, flag)
			}
			if r := on.do(t, method, path, nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
				t.Errorf("%s %s with a secret = %d, Allow %q; want 405, POST", method, path, r.status, r.header.Get("Allow"))
			}
		}
	}
}

// TestHooksRefuseQueryParameters: a hook takes no query parameters, as
// every API route refuses one it does not take (docs/security.md): a
// parameter added to the hook's URL is a 400 naming it, and nothing is
// stored, rather than a delivery stored as if it were not there.
func TestHooksRefuseQueryParameters(t *testing.T) {
	ts := newHookServer(t, testdb.SQLite(t), nil)
	github := fixture(t, "github/workflow_job_in_progress.json")
	gitlab := fixture(t, "gitlab/pipeline_running.json")
	deliveries := []struct {
		name, path string
		body       []byte
		headers    []string
	}{
		{"github", "/v1/hooks/github", github, []string{"Content-Type", "application/json", "X-GitHub-Event", "workflow_job",
			"X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, github)}},
		{"gitlab", "/v1/hooks/gitlab", gitlab, []string{"Content-Type", "application/json", "X-Gitlab-Event", "Pipeline Hook",
			"X-Gitlab-Token", testGitLabToken}},
	}
	for _, d := range deliveries {
		t.Run(d.name, func(t *testing.T) {
			before := ts.count(t)
			r := ts.do(t, "POST", d.path+"?env=prod", bytes.NewReader(d.body), d.headers...)
			refused(t, ts, "POST "+d.path+"?env=prod", before, r, http.StatusBadRequest, "env")
			// The same delivery without the parameter is stored: the
			// parameter alone was refused.
			if r := ts.do(t, "POST", d.path, bytes.NewReader(d.body), d.headers...); r.status != http.StatusCreated {
				t.Errorf("POST %s = %d %s, want 201", d.path, r.status, r.body)
			}
		})
	}
}

func TestGitHubHookMappingFile(t *testing.T) {
	m, err := hooks.ParseMapping([]byte(`
deploys:
  workflows: [deploy*]
components:
  acme/api: payments-api
environments:
  Deploy: production
`))
	if err != nil {
		t.Fatal(err)
	}
	ts := newHookServer(t, testdb.SQLite(t), m)
	r := ts.github(t, "workflow_job", "workflow_job_completed_success.json")
	if r.status != http.StatusCreated {
		t.Fatalf("= %d %s", r.status, r.body)
	}
	ds := ts.deployments(t, "")
	if len(ds) != 1 || ds[0].Component != "payments-api" || ds[0].Environment != "production" {
		t.Errorf("mapped deployments %+v", ds)
	}

	m.Deploys.Workflows = []string{"release"}
	ts = newHookServer(t, testdb.SQLite(t), m)
	r = ts.github(t, "workflow_job", "workflow_job_completed_success.json")
	if a := r.hook(t); r.status != http.StatusAccepted || a.Ignored == "" || ts.count(t) != 0 {
		t.Errorf("filtered-out workflow = %d %s", r.status, r.body)
	}
}

func TestGitHubHookBoundsStepsPerDelivery(t *testing.T) {
	ts := newHookServer(t, testdb.SQLite(t), nil)
	var steps []string
	for i := 1; i <= 1001; i++ {
		steps = append(steps, fmt.Sprintf(`{"name":"s%d","status":"completed","conclusion":"success","number":%d,"started_at":"2026-03-02T08:00:00Z"}`, i, i))
	}
	body := []byte(`{"action":"in_progress","workflow_job":{"id":1,"run_attempt":1,"workflow_name":"W","head_sha":"abcdef0123","steps":[` +
		strings.Join(steps, ",") + `]},"repository":{"name":"r","full_name":"o/r"},"sender":{"login":"u"}}`)
	r := ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body), "Content-Type", "application/json",
		"X-GitHub-Event", "workflow_job", "X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body))
	if a := r.hook(t); r.status != http.StatusAccepted || !strings.Contains(a.Ignored, "limit is 1000") || ts.count(t) != 0 {
		t.Errorf("1001 steps = %d %s", r.status, r.body)
	}
}
