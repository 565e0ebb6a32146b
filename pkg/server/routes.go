package server

import "net/http"

// routes lists every route of the API in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	mux.HandleFunc("POST /v1/steps", s.requireScope(ScopeWrite, s.handleCreateStep))
	mux.HandleFunc("GET /v1/steps", s.requireScope(ScopeRead, s.handleListSteps))
	mux.HandleFunc("POST /v1/steps/batch", s.requireScope(ScopeWrite, s.handleCreateSteps))
	mux.HandleFunc("GET /v1/steps/{id}", s.requireScope(ScopeRead, s.handleGetStep))
	mux.HandleFunc("GET /v1/deployments", s.requireScope(ScopeRead, s.handleListDeployments))
	mux.HandleFunc("GET /v1/stats", s.requireScope(ScopeRead, s.handleStats))

	// Probes and metrics stay open: orchestrators and Prometheus call them
	// without credentials, and they reveal no steps, only health and counts.
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.handleMetrics())

	// Paths without a method answer what the method-specific patterns above
	// do not: 405 with Allow for a known path, 404 for any other.
	mux.Handle("/v1/steps", methodNotAllowed("GET, HEAD, POST"))
	mux.Handle("/v1/steps/{id}", methodNotAllowed("GET, HEAD"))
	mux.Handle("GET /v1/steps/batch", methodNotAllowed("POST"))
	mux.Handle("/v1/deployments", methodNotAllowed("GET, HEAD"))
	mux.Handle("/v1/stats", methodNotAllowed("GET, HEAD"))
	mux.Handle("/healthz", methodNotAllowed("GET, HEAD"))
	mux.Handle("/readyz", methodNotAllowed("GET, HEAD"))
	mux.Handle("/metrics", methodNotAllowed("GET, HEAD"))
	mux.HandleFunc("/", s.handleNotFound)
	return mux
}
