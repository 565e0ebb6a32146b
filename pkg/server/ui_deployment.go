package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// The deployment page: one deployment's timeline.

// handleDeploymentPage serves GET /ui/deployment: one deployment's
// timeline, named by component, version, environment and attempt.
func (s *Server) handleDeploymentPage(w http.ResponseWriter, r *http.Request) {
	if !s.uiAllowed(w, r) {
		return
	}
	values := r.URL.Query()
	key := model.DeploymentKey{
		Component:   values.Get("component"),
		Version:     values.Get("version"),
		Environment: values.Get("environment"),
		Attempt:     1,
	}
	v := &pageView{Title: "Deployment", SignedIn: s.tokens != nil, Content: "deployment", Query: uiQuery{Since: uiDefaultSince}}
	if a := values.Get("attempt"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 {
			v.Error = "attempt must be a whole number from 1, not " + strconv.Quote(a)
			s.renderPage(w, r, http.StatusBadRequest, v)
			return
		}
		key.Attempt = n
	}
	// The page's view, carried in the link, comes back in the filters and
	// the back link, and its zone is the one the times read in; a tz in
	// the link's own parameters (a timeline bookmarked in a zone) wins.
	// It is read before the store: a tz the page cannot show times in is
	// the request's mistake, whether or not the deployment exists.
	view, viewed := viewQuery(values.Get("view"))
	if tz := strings.TrimSpace(values.Get("tz")); tz != "" {
		view.TZ = tz
	}
	zone := s.location
	if view.TZ != "" {
		var err error
		if zone, err = model.LoadZone("tz", view.TZ); err != nil {
			v.Error = model.ErrorMessage(err)
			s.renderPage(w, r, http.StatusBadRequest, v)
			return
		}
	}
	v.Zone = zone
	if key.Component == "" || key.Version == "" {
		v.Error = "Name a deployment by component, version, environment and attempt."
		s.renderPage(w, r, http.StatusBadRequest, v)
		return
	}
	now := s.now()
	found, err := s.store.FindDeployment(r.Context(), key, s.rules, now)
	if model.ErrorCode(err) == model.ENOTFOUND {
		v.Error = "There is no such deployment."
		s.renderPage(w, r, http.StatusNotFound, v)
		return
	}
	if err != nil {
		if model.ErrorCode(err) == model.EINTERNAL {
			s.log.ErrorContext(r.Context(), "deployment page failed", "err", err)
		}
		v.Error = "The data could not be read: " + model.ErrorMessage(err)
		s.renderPage(w, r, api.StatusOf(model.ErrorCode(err)), v)
		return
	}
	if found.Outcome == model.OutcomeInProgress {
		if err := s.newETAs(now).set(r.Context(), []*model.Deployment{found}); err != nil {
			// The timeline stands without its ETA.
			s.log.WarnContext(r.Context(), "deployment page: no ETA", "err", err)
		}
	}
	v.Title = found.Component + " " + found.Version
	// Without a view, the filters and the back link show the deployment's
	// component.
	if !viewed {
		view.Component, view.Environment = found.Component, found.Environment
	}
	view.Calendar = s.sprintDefaults(s.location)
	v.Query = view
	v.Data = newTimelineView(found, s.viewColours(r.Context(), view, now), now, view, zone)
	s.renderPage(w, r, http.StatusOK, v)
}
