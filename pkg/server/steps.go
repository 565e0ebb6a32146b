package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/steps-dev/steps/pkg/model"
)

// handleCreateStep serves POST /v1/steps: record one step. Parameters come
// from the query string (as the original API), a form body or a JSON body.
func (s *Server) handleCreateStep(w http.ResponseWriter, r *http.Request) {
	p, err := s.stepInputParams(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := s.stepInput(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	step, replayed, err := s.store.CreateStep(r.Context(), in, model.RecordMeta{
		ReceivedAt:     s.now(),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/steps/"+strconv.FormatInt(step.ID, 10))
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	} else {
		s.metrics.recorded.Inc()
	}
	s.writeJSON(w, r, status, step)
}

// handleGetStep serves GET /v1/steps/{id}.
func (s *Server) handleGetStep(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(w, r, model.Invalid("id", "step id must be a positive whole number, not %q", r.PathValue("id")))
		return
	}
	step, err := s.store.FindStep(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, step)
}

// handleListSteps serves GET /v1/steps: filtered steps as CSV (default, as
// the original API), JSON or NDJSON. Without limit every matching row is
// streamed from the database cursor; with limit, one page and a cursor.
func (s *Server) handleListSteps(w http.ResponseWriter, r *http.Request) {
	p, err := singleValues(r.URL.Query(), listParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := listFilter(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	enc, err := newStepEncoder(p["format"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	if f.Limit > 0 {
		// A page is bounded by MaxLimit, so it may be held whole: that lets
		// the next-page cursor go in a header before the body.
		page := make([]model.Step, 0, f.Limit)
		next, err := s.store.ListSteps(r.Context(), f, func(st model.Step) error {
			page = append(page, st)
			return nil
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		token := ""
		if next != nil {
			token = next.String()
			w.Header().Set("X-Next-Cursor", token)
		}
		out := newStreamWriter(w)
		enc.begin(w.Header(), out)
		for _, st := range page {
			enc.step(out, st)
		}
		enc.end(out, token)
		if err := out.Flush(); err != nil {
			s.log.DebugContext(r.Context(), "write list", "err", err)
		}
		return
	}

	out := newStreamWriter(w)
	enc.begin(w.Header(), out)
	_, err = s.store.ListSteps(r.Context(), f, func(st model.Step) error {
		enc.step(out, st)
		return out.err
	})
	if err == nil {
		enc.end(out, "")
		err = out.Flush()
	}
	switch {
	case err == nil:
	case out.err != nil:
		// The client went away; nothing more to tell it.
		s.log.DebugContext(r.Context(), "client stopped reading", "err", out.err)
	case !out.started:
		// Nothing reached the client yet: a proper error response is possible.
		s.writeError(w, r, err)
	default:
		// Part of a 200 is out. Cut the connection so the client sees a
		// broken transfer, not a list that looks complete.
		var me *model.Error
		if !errors.As(err, &me) {
			s.log.ErrorContext(r.Context(), "list failed mid-stream", "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}
