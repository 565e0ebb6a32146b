package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/server"
)

// TestOpenAPIListsTheStatusesRoutesAnswer drives every route of
// api/openapi.yaml into the error answers a client can meet — an unknown
// parameter, no token, a read token writing, a cross-site write, the rate
// limit, the database gone — and fails when a route answers a status its
// description does not list. A client generated from the description
// would otherwise meet, say, a 429 it was never told about.
func TestOpenAPIListsTheStatusesRoutesAnswer(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `yaml:"responses"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	const (
		write = "write-secret-123"
		read  = "read-secret-1234"
	)
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	type call struct {
		path    string // with a valid query, if any
		body    []byte
		headers []string
	}
	step := `[{"component":"api","version":"1","owner":"ana","status":"build"}]`
	// One valid request per route: each error below is then caused by the
	// one thing the test changes.
	calls := map[string]call{
		"POST /v1/steps":        {path: "/v1/steps?component=api&version=1&owner=ana&status=build"},
		"GET /v1/steps":         {path: "/v1/steps?format=json"},
		"POST /v1/steps/batch":  {path: "/v1/steps/batch", body: []byte(step), headers: []string{"Content-Type", "application/json"}},
		"GET /v1/steps/{id}":    {path: "/v1/steps/1"},
		"GET /v1/deployments":   {path: "/v1/deployments"},
		"GET /v1/stats":         {path: "/v1/stats"},
		"GET /v1/changes":       {path: "/v1/changes"},
		"GET /v1/dora":          {path: "/v1/dora"},
		"GET /v1/rules":         {path: "/v1/rules"},
		"GET /v1/values":        {path: "/v1/values?field=component"},
		"GET /v1/openapi.yaml":  {path: "/v1/openapi.yaml"},
		"GET /healthz":          {path: "/healthz"},
		"GET /readyz":           {path: "/readyz"},
		"GET /metrics":          {path: "/metrics"},
		"POST /v1/hooks/github": {path: "/v1/hooks/github", body: ping, headers: []string{"Content-Type", "application/json", "X-GitHub-Event", "ping", "X-Hub-Signature-256", hooks.SignGitHub(testGitHubSecret, ping)}},
		"POST /v1/hooks/gitlab": {path: "/v1/hooks/gitlab", body: []byte(`{}`), headers: []string{"Content-Type", "application/json", "X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", testGitLabToken}},
	}
	newServer := func(t *testing.T, path string, rate float64) *httptest.Server {
		st := testdb.Open(t, "sqlite:"+path)
		srv := httptest.NewServer(server.New(server.Config{Store: st, RateLimit: rate, RateBurst: 1,
			GitHubSecret: testGitHubSecret, GitLabToken: testGitLabToken,
			Tokens: []server.Token{{Scope: server.ScopeWrite, Secret: write}, {Scope: server.ScopeRead, Secret: read}}}))
		t.Cleanup(srv.Close)
		return srv
	}
	dir := t.TempDir()
	open := newServer(t, filepath.Join(dir, "open.db"), -1)
	limited := newServer(t, filepath.Join(dir, "limited.db"), 1e-6)
	// The database pulled from under a running server, as in
	// TestSQLiteFileDeletedIsUnavailable.
	gone := newServer(t, filepath.Join(dir, "gone.db"), -1)
	files, _ := filepath.Glob(filepath.Join(dir, "gone.db*"))
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}

	var routes []string
	for path, ops := range doc.Paths {
		for method := range ops {
			routes = append(routes, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routes)
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		c, ok := calls[route]
		if !ok {
			t.Errorf("%s: no valid request for it in this test; add one", route)
			continue
		}
		documented := doc.Paths[path][strings.ToLower(method)].Responses
		send := func(base, query string, headers ...string) int {
			url := base + c.path
			if query != "" {
				if strings.Contains(url, "?") {
					url += "&" + query
				} else {
					url += "?" + query
				}
			}
			return sendStatus(t, method, url, c.body, append(slices.Clone(c.headers), headers...)...)
		}
		bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
		observed := map[string]int{
			"an unknown parameter": send(open.URL, "zzz=1", bearer(write)...),
			"no token":             send(open.URL, ""),
			"a read token":         send(open.URL, "", bearer(read)...),
			"a cross-site page":    send(open.URL, "", append(bearer(write), "Sec-Fetch-Site", "cross-site")...),
			"the database gone":    send(gone.URL, "", bearer(write)...),
		}
		send(limited.URL, "", bearer(write)...)
		observed["the rate limit"] = send(limited.URL, "", bearer(write)...)
		for why, status := range observed {
			if status < 400 {
				continue
			}
			if _, ok := documented[strconv.Itoa(status)]; !ok {
				t.Errorf("%s answers %d to %s; api/openapi.yaml does not list it", route, status, why)
			}
		}
	}
}

// sendStatus sends one request and returns its status.
func sendStatus(t *testing.T, method, url string, body []byte, headers ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req).status
}
