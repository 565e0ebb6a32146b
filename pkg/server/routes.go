package server

import (
	"net/http"
	"strings"

	"github.com/steps-dev/steps/api"
)

// route is one endpoint of the API. scope is the token scope it needs when
// tokens are configured; "" means open.
type route struct {
	method, path string
	scope        string
	handler      http.Handler
}

// apiRoutes lists every route of the API, in one place. api/openapi.yaml
// describes exactly these (a test holds them together).
func (s *Server) apiRoutes() []route {
	return []route{
		{"POST", "/v1/steps", ScopeWrite, s.holdBodies(s.maxBodyBytes, false, http.HandlerFunc(s.handleCreateStep))},
		{"GET", "/v1/steps", ScopeRead, http.HandlerFunc(s.handleListSteps)},
		{"POST", "/v1/steps/batch", ScopeWrite, s.holdBodies(s.maxBatchBytes, true, http.HandlerFunc(s.handleCreateSteps))},
		{"GET", "/v1/steps/{id}", ScopeRead, s.rejectQuery(http.HandlerFunc(s.handleGetStep))},
		{"GET", "/v1/deployments", ScopeRead, http.HandlerFunc(s.handleListDeployments)},
		{"GET", "/v1/stats", ScopeRead, s.gateAnswer(s.gateAnalysis(http.HandlerFunc(s.handleStats)))},
		{"GET", "/v1/changes", ScopeRead, s.gateAnswer(s.gateAnalysis(http.HandlerFunc(s.handleChanges)))},
		{"GET", "/v1/dora", ScopeRead, s.gateAnswer(s.gateAnalysis(http.HandlerFunc(s.handleDORA)))},
		{"GET", "/v1/rules", ScopeRead, s.rejectQuery(http.HandlerFunc(s.handleRules))},
		// Webhooks carry no bearer token: the provider's signature or
		// token authorises them (and without one configured they 404).
		{"POST", "/v1/hooks/github", "", s.holdBodies(s.maxBodyBytes, false, http.HandlerFunc(s.handleGitHubHook))},
		{"POST", "/v1/hooks/gitlab", "", s.holdBodies(s.maxBodyBytes, false, http.HandlerFunc(s.handleGitLabHook))},
		{"GET", "/v1/values", ScopeRead, http.HandlerFunc(s.handleValues)},
		// Probes, metrics and the API description stay open: orchestrators
		// and Prometheus call them without credentials, and they show no
		// steps, only health and counts.
		{"GET", "/v1/openapi.yaml", "", s.rejectQuery(http.HandlerFunc(s.handleOpenAPI))},
		{"GET", "/healthz", "", s.rejectQuery(http.HandlerFunc(s.handleHealthz))},
		{"GET", "/readyz", "", s.rejectQuery(http.HandlerFunc(s.handleReadyz))},
		{"GET", "/metrics", "", s.rejectQuery(s.handleMetrics())},
	}
}

// notFoundPattern and uiNotFoundPattern are the catch-all patterns that
// answer 404 to a path no route has; metrics count them as "unmatched".
const (
	notFoundPattern   = "/"
	uiNotFoundPattern = "/ui/"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range s.apiRoutes() {
		h := rt.handler
		if rt.scope != "" {
			h = s.requireScope(rt.scope, h)
		}
		mux.Handle(rt.method+" "+rt.path, h)
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// Paths without a method answer what the method-specific patterns do
	// not: 405 with Allow for a known path, 404 for any other.
	for path, methods := range allowed {
		if s.hookOff(path) {
			continue // no route for any method: "/" answers no_such_endpoint
		}
		if path == "/v1/steps/batch" {
			// "/v1/steps/batch" and "GET /v1/steps/{id}" would overlap;
			// a GET of it is the one wrong method worth answering.
			mux.Handle("GET "+path, methodNotAllowed("POST"))
			continue
		}
		if containsGET(methods) {
			methods = append(methods, "HEAD")
		}
		mux.Handle(path, methodNotAllowed(strings.Join(methods, ", ")))
	}
	s.registerUI(mux)
	mux.HandleFunc(notFoundPattern, s.handleNotFound)
	return s.refuseCrossSite(mux)
}

// hookOff reports that path is a webhook whose secret is not configured.
// Such a route does not exist for any method: a GET answering 405 "allowed:
// POST" would send a user to a POST that is a 404.
func (s *Server) hookOff(path string) bool {
	switch path {
	case "/v1/hooks/github":
		return s.githubSecret == ""
	case "/v1/hooks/gitlab":
		return s.gitlabToken == ""
	}
	return false
}

func containsGET(methods []string) bool {
	for _, m := range methods {
		if m == "GET" {
			return true
		}
	}
	return false
}

// handleOpenAPI serves GET /v1/openapi.yaml: the API description.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(api.OpenAPI) //nolint:errcheck // nothing to do if the client has gone
}
