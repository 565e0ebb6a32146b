package server

import (
	"encoding/json"
	"errors"
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

// writeJSON writes v as the JSON response with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.DebugContext(r.Context(), "write response", "err", err)
	}
}

// writeError answers with err's code and message. This is the one place
// where an error becomes an HTTP status. Internal errors show users only
// "internal error"; the full error goes to the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
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
			Error: "method " + r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + allow,
			Code:  model.EMETHOD,
		})
	})
}

// handleNotFound answers any path the API does not have.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, model.Errorf(model.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
}
