package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/server"
)

// TestErrorsQuoteAPrefixOfHugeValues: an error quotes what a client sent
// cut to its first characters (model.Quote), so that an error stays small
// whatever the request. Quoted whole, a 1 MiB time made a 1 MiB error, a
// 1 MiB unknown JSON member a 2 MiB one (in the message and in field), and
// a refused 32 MiB CSV batch a 32 MiB report: eight at once took stepsd
// to 1.6 GB of memory, against 270 MB for batches as large whose long
// values were not quoted.
func TestErrorsQuoteAPrefixOfHugeValues(t *testing.T) {
	skipVolumeUnderRace(t, "sends values of 1 MiB and a 10 MB batch, one at a time")
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		huge := strings.Repeat("x", 1<<20-200)
		var batch strings.Builder
		batch.WriteString("component,version,owner,status,time\n")
		for range 100 {
			batch.WriteString("api,1,ana,build," + strings.Repeat("z", 100_000) + "\n")
		}
		json := []string{"Content-Type", "application/json"}
		tests := []struct {
			name, method, path, query, body string
			headers                         []string
			status                          int
			field                           string
			limit                           int
		}{
			{"TimeInAJSONBody", "POST", "/v1/steps", "", `{"component":"api","version":"1","owner":"ana","status":"build","time":"` + huge + `"}`, json, 400, "time", 2 << 10},
			{"UnknownJSONMember", "POST", "/v1/steps", "", `{"component":"api","version":"1","owner":"ana","status":"build","` + huge + `":"1"}`, json, 400, strings.Repeat("x", 64) + "…", 2 << 10},
			{"ValueGivenTwice", "POST", "/v1/steps", valid, `{"owner":"` + huge + `"}`, json, 400, "owner", 2 << 10},
			{"TimesOfABatch", "POST", "/v1/steps/batch", "", batch.String(), []string{"Content-Type", "text/csv"}, 400, "rows", 64 << 10},
			{"CSVColumn", "POST", "/v1/steps/batch", "", "component,version,owner,status," + huge + "\napi,1,ana,build,1\n", []string{"Content-Type", "text/csv"}, 400, strings.Repeat("x", 64) + "…", 2 << 10},
			{"Format", "GET", "/v1/steps", "format=" + strings.Repeat("y", 8000), "", nil, 400, "format", 2 << 10},
			{"Cursor", "GET", "/v1/steps", "limit=1&cursor=" + strings.Repeat("y", 8000), "", nil, 400, "cursor", 2 << 10},
			{"Origin", "POST", "/v1/steps", valid, "", []string{"Origin", "https://" + strings.Repeat("o", 60<<10)}, 403, "", 2 << 10},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.doRaw(t, tt.method, tt.path, tt.query, strings.NewReader(tt.body), tt.headers...)
				refused(t, ts, tt.name, before, r, tt.status, tt.field)
				if len(r.body) > tt.limit {
					t.Errorf("the error is %d bytes, want at most %d: %.300s…", len(r.body), tt.limit, r.body)
				}
			})
		}
	})
}

// TestHookAnswersQuoteAPrefixOfHugeValues: what a payload carries is
// quoted in the answer (and the log line) cut to its first characters. A
// 900,000-character step name made a 900 kB answer and log line.
func TestHookAnswersQuoteAPrefixOfHugeValues(t *testing.T) {
	ts := newHookServer(t, testdb.SQLite(t), nil)
	huge := strings.Repeat("x", 900_000)
	success := string(fixture(t, "github/workflow_job_completed_success.json"))
	for name, d := range map[string]struct{ provider, body string }{
		"StepName":      {"github", strings.Replace(success, `"Build"`, `"`+huge+`"`, 1)},
		"Time":          {"github", strings.Replace(success, `"started_at": "2026-03-02T08:00:10Z"`, `"started_at": "`+huge+`"`, 1)},
		"WorkflowEvent": {"github", strings.Replace(success, `"action": "completed"`, `"action": "`+huge+`"`, 1)},
	} {
		t.Run(name, func(t *testing.T) {
			r := ts.hookDelivery(t, d.provider, []byte(d.body))
			if r.status != http.StatusAccepted && r.status != http.StatusCreated {
				t.Fatalf("= %d %.300s", r.status, r.body)
			}
			if len(r.body) > 4<<10 {
				t.Errorf("answer is %d bytes: %.300s…", len(r.body), r.body)
			}
		})
	}
}

// hookDelivery posts body to a hook as its provider does.
func (ts *testServer) hookDelivery(t *testing.T, provider string, body []byte) response {
	t.Helper()
	if provider == "gitlab" {
		return ts.do(t, "POST", "/v1/hooks/gitlab", bytes.NewReader(body), "Content-Type", "application/json",
			"X-Gitlab-Event", "Pipeline Hook", "X-Gitlab-Token", testGitLabToken)
	}
	return ts.do(t, "POST", "/v1/hooks/github", bytes.NewReader(body), "Content-Type", "application/json",
		"X-GitHub-Event", "workflow_job", "X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, body))
}

// TestRequestLogCutsMadeUpPathsAndMethods: any client chooses the path and
// method it sends, before auth and rate limit, and each request writes a
// log line: a 60 KiB path made a 60 KiB line and a 60 KiB 404.
func TestRequestLogCutsMadeUpPathsAndMethods(t *testing.T) {
	var log testdb.LogBuffer
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st,
		Logger: slog.New(slog.NewJSONHandler(&log, nil))}))
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, store: st}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/" + strings.Repeat("p", 60<<10)},
		{"GET", "/v1/steps/" + strings.Repeat("9", 60<<10)},
		{strings.Repeat("M", 30<<10), "/v1/steps"},
	} {
		r := ts.do(t, tt.method, tt.path, nil)
		if r.status < 400 || len(r.body) > 1<<10 {
			t.Errorf("%.20s %.20s… = %d, %d bytes: %.200s…", tt.method, tt.path, r.status, len(r.body), r.body)
		}
	}
	for line := range strings.Lines(log.String()) {
		if len(line) > 1<<10 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
	if !strings.Contains(log.String(), `"path":"/pppp`) {
		t.Errorf("the log does not show the path's start:\n%.500s", log.String())
	}
}

// TestEveryAnswerSaysNoSniff: lists, errors (which quote what a client
// sent), probes and metrics carry nosniff as the page does, so a browser
// never runs or renders one as another type.
func TestEveryAnswerSaysNoSniff(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	ts.mustPost(t, valid)
	for _, path := range []string{"/v1/steps", "/v1/steps?format=json", "/v1/steps?format=ndjson", "/v1/steps/1",
		"/v1/steps/2", "/v1/deployments", "/v1/stats", "/v1/openapi.yaml", "/healthz", "/readyz", "/metrics",
		"/no/such/path", "/v1/steps?nosuch=1"} {
		r := ts.do(t, "GET", path, nil)
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s = %d with X-Content-Type-Options %q, want nosniff", path, r.status, got)
		}
	}
	r := ts.do(t, "PUT", "/v1/steps", nil)
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("PUT /v1/steps = %d with X-Content-Type-Options %q, want nosniff", r.status, got)
	}
}
