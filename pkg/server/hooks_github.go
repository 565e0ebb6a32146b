package server

import (
	"net/http"
	"net/url"

	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// handleGitHubHook serves POST /v1/hooks/github: GitHub webhook deliveries
// (workflow_job, deployment_status, ping). The X-Hub-Signature-256 HMAC of
// the raw body with the configured secret authorises it; without a secret
// configured the route does not exist (404).
func (s *Server) handleGitHubHook(w http.ResponseWriter, r *http.Request) {
	if s.githubSecret == "" {
		s.handleNotFound(w, r)
		return
	}
	if err := bodyHeaders(w, r, "X-Hub-Signature-256", "X-GitHub-Event"); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readHookBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !hooks.VerifyGitHubSignature(s.githubSecret, r.Header.Get("X-Hub-Signature-256"), body) {
		s.metrics.hookEvents.WithLabelValues("github", "refused").Inc()
		s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "X-Hub-Signature-256 is missing or does not match the configured secret"))
		return
	}
	// A hook takes no query parameters: one added to the hook's URL
	// (a hoped-for ?env=prod) would otherwise be ignored without a word.
	if _, err := queryParams(r, nil); err != nil {
		s.writeError(w, r, err)
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	if event == "" {
		// GitHub always names its event; a sender that does not (a
		// hand-made curl, a relay that drops headers) made a request
		// error, not a payload GitHub might fix: 400, not a 202.
		s.writeError(w, r, model.Invalid("X-GitHub-Event", "the X-GitHub-Event header is missing; GitHub sends the event's name in it (workflow_job, deployment_status, ping)"))
		return
	}
	if event == "ping" {
		s.writeJSON(w, r, http.StatusOK, map[string]string{"ok": "pong"})
		return
	}
	// GitHub sends application/json, or a form whose payload field holds
	// the JSON when the hook is set to application/x-www-form-urlencoded.
	switch mediaType(r) {
	case "application/json":
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			s.writeError(w, r, model.Invalid("payload", "a form-encoded delivery must carry the JSON in its payload field"))
			return
		}
		body = []byte(form.Get("payload"))
	default:
		s.writeError(w, r, unsupportedBody(r, "application/json"))
		return
	}
	res, err := hooks.GitHub(event, body, s.hookMapping)
	s.storeHook(w, r, "github", event, res, err)
}
