package server

import (
	"net/http"

	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// handleGitLabHook serves POST /v1/hooks/gitlab: GitLab webhook deliveries
// (Pipeline, Job and Deployment events). The X-Gitlab-Token header, the
// webhook's secret token, authorises it; without a token configured the
// route does not exist (404).
//
// GitLab sends an Idempotency-Key that stays the same when it retries a
// delivery. It is checked like ours, and a retry stores nothing twice: each
// step is stored under a key derived from the event (job id, pipeline id
// and status, deployment id and status), which the retry carries again.
// That also covers what the header does not: the same job reported by both
// a Job and a Pipeline event, or by each of a pipeline's status changes.
func (s *Server) handleGitLabHook(w http.ResponseWriter, r *http.Request) {
	if s.gitlabToken == "" {
		s.handleNotFound(w, r)
		return
	}
	if err := bodyHeaders(w, r, "X-Gitlab-Token", "X-Gitlab-Event", "Idempotency-Key"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !hooks.VerifyGitLabToken(s.gitlabToken, r.Header.Get("X-Gitlab-Token")) {
		s.metrics.hookEvents.WithLabelValues("gitlab", "refused").Inc()
		s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "X-Gitlab-Token is missing or is not the configured token"))
		return
	}
	// As for GitHub: a query parameter added to the hook's URL would
	// otherwise be ignored without a word.
	if _, err := queryParams(r, nil); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := model.ValidateIdempotencyKey(r.Header.Get("Idempotency-Key")); err != nil {
		s.writeError(w, r, err)
		return
	}
	if mediaType(r) != "application/json" {
		s.writeError(w, r, unsupportedBody(r, "application/json"))
		return
	}
	body, err := s.readHookBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	event := r.Header.Get("X-Gitlab-Event")
	res, err := hooks.GitLab(event, body, s.hookMapping)
	s.storeHook(w, r, "gitlab", event, res, err)
}
