package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// errorBody is the JSON of every error response.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	// Params lists the parameters the message's advice names as "name=".
	Params []string `json:"params,omitempty"`
	// Rows lists the invalid rows of a batch (at most model.MaxRowErrors);
	// MoreRows counts those not listed.
	Rows     []model.RowError `json:"rows,omitempty"`
	MoreRows int              `json:"more_rows,omitempty"`
}

// writeJSON writes v as the JSON response with the given status. v is
// encoded before the status is sent: a value that cannot be encoded (a
// time past year 9999, say) is an internal error, never an empty 200.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		if _, isError := v.(errorBody); isError {
			// Cannot happen for errorBody's plain fields; never recurse.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":"internal error","code":"` + model.EINTERNAL + `"}` + "\n")) //nolint:errcheck // nothing to do if the client has gone
			return
		}
		s.writeError(w, r, fmt.Errorf("encode the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		s.log.DebugContext(r.Context(), "write response", "err", err)
	}
}

// statusClientClosed is the status the request log and metrics give a
// request whose client went away before its answer (nginx's 499); no
// client ever receives it.
const statusClientClosed = 499

// writeError answers with err's code and message. This is the one place
// where an error becomes an HTTP status. Internal errors show users only
// "internal error"; the full error goes to the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client closed the connection before its answer: no one
		// reads one. Logged and counted as 499 (nginx's "client closed
		// request"), not as a 500 and an error line: a load balancer's
		// or a client's timeout while the database hangs is not a fault
		// of stepsd's, and must not look like one on the 5xx alert.
		w.WriteHeader(statusClientClosed)
		return
	}
	code := model.ErrorCode(err)
	status := api.StatusOf(code)
	body := errorBody{Error: model.ErrorMessage(err), Code: code}
	var me *model.Error
	if errors.As(err, &me) {
		body.Field, body.Params = me.Field, me.Params
	}
	var be *model.BatchError
	if errors.As(err, &be) {
		body.Rows, body.MoreRows = be.Rows, be.Omitted
	}
	switch {
	case status == http.StatusServiceUnavailable:
		s.refusals.note(r.Context(), s.log, model.Shorten(r.URL.Path), err)
	case status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", "method", model.Shorten(r.Method), "path", model.Shorten(r.URL.Path), "status", status, "err", err)
	}
	h := w.Header()
	h.Del("Content-Disposition")
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		// The database is back, or deployments numbered, within seconds
		// mostly: clients that honour it retry instead of failing.
		h.Set("Retry-After", "5")
	}
	s.writeJSON(w, r, status, body)
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMethodNotAllowed)
		json.NewEncoder(w).Encode(errorBody{ //nolint:errcheck // nothing to do if the client has gone
			Error: "method " + model.Shorten(r.Method) + " is not allowed on " + model.Shorten(r.URL.Path) + "; allowed: " + allow,
			Code:  model.EMETHOD,
		})
	})
}

// handleNotFound answers any path the API does not have, with its own
// code: a wrong URL must not read as a missing step to a client.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if flag := s.hookFlag(r.URL.Path); flag != "" {
		// The path is in the docs and in openapi.yaml: pointing there would
		// send the operator reading for a route that is only switched off.
		s.writeError(w, r, model.Errorf(model.ENOENDPOINT, "no such endpoint: %s %s: this webhook is off on this server; start stepsd with %s to turn it on",
			model.Shorten(r.Method), r.URL.Path, flag))
		return
	}
	s.writeError(w, r, model.Errorf(model.ENOENDPOINT, "no such endpoint: %s %s; the API's endpoints are listed at /v1/openapi.yaml",
		model.Shorten(r.Method), model.Shorten(r.URL.Path)))
}

// hookFlag names the setting that turns on the webhook at path, when that
// webhook is off; "" for any other path.
func (s *Server) hookFlag(path string) string {
	if !s.hookOff(path) {
		return ""
	}
	switch path {
	case "/v1/hooks/github":
		return "--github-webhook-secret (env STEPSD_GITHUB_WEBHOOK_SECRET)"
	case "/v1/hooks/gitlab":
		return "--gitlab-webhook-token (env STEPSD_GITLAB_WEBHOOK_TOKEN)"
	}
	return ""
}
