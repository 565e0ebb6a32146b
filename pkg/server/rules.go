package server

import "net/http"

// handleRules serves GET /v1/rules: the statuses that end a deployment on
// this server, as a success or a failure, and the stuck threshold. The
// stored numbering of deployments follows these statuses; stepsctl run
// reads them to record a status that ends the deployment here.
func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.rules.Document())
}
