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
	if err := bodyHeaders(w, r, "Idempotency-Key"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := clientIdempotencyKey(r); err != nil {
		s.writeError(w, r, err)
		return
	}
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
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	} else {
		s.metrics.recorded.Inc()
		s.stored(step)
	}
	s.writeStep(w, status, step, true)
}

// handleGetStep serves GET /v1/steps/{id}.
func (s *Server) handleGetStep(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(w, r, model.Invalid("id", "step id must be a whole number from 1 to 9223372036854775807, not %s", model.Quote(r.PathValue("id"))))
		return
	}
	step, err := s.store.FindStep(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeStep(w, http.StatusOK, step, false)
}

// writeStep answers with one step as JSON, written by appendStep, and
// with its Location when asked: the record path is every deploy script's
// critical path. The header values share one array, and are set under
// their canonical names, instead of Header.Set's slice apiece.
func (s *Server) writeStep(w http.ResponseWriter, status int, step model.Step, location bool) {
	b := appendStep(make([]byte, 0, 256), step)
	b = append(b, '\n')
	values := [3]string{"application/json", strconv.Itoa(len(b))}
	h := w.Header()
	h["Content-Type"] = values[0:1:1]
	h["Content-Length"] = values[1:2:2]
	if location {
		values[2] = "/v1/steps/" + strconv.FormatInt(step.ID, 10)
		h["Location"] = values[2:3:3]
	}
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // nothing to do if the client has gone
}

// handleListSteps serves GET /v1/steps: filtered steps as CSV (default, as
// the original API), JSON or NDJSON. Without limit every matching row is
// streamed from the database cursor; with limit, one page and a cursor.
func (s *Server) handleListSteps(w http.ResponseWriter, r *http.Request) {
	p, err := queryParams(r, listParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := listFilter(p, s.location)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	enc, err := newStepEncoder(p["format"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	serveList(s, w, r, f.Limit, exportChunkSteps, enc, func(limit int, after string, emit func(model.Step) error) (string, error) {
		page := f
		page.Limit = limit
		if after != "" {
			if page.After, err = model.ParseCursor(after); err != nil {
				return "", err
			}
		}
		var full *model.Cursor
		held := 0
		next, err := s.store.ListSteps(r.Context(), page, func(st model.Step) error {
			if err := emit(st); err != nil {
				return err
			}
			if held += stepBytes(st); f.Limit == 0 && held >= exportChunkBytes {
				full = model.CursorAfter(st)
				return errChunkFull
			}
			return nil
		})
		if errors.Is(err, errChunkFull) {
			next, err = full, nil
		}
		if next == nil {
			return "", err
		}
		return next.String(), err
	})
}

// exportChunkBytes ends a chunk of an unlimited list of steps before
// exportChunkSteps once its steps take about this much memory (stepBytes):
// each list holds its chunk while its client reads, and 8,000 steps of
// values of 128 characters are 7 MB where they are not sealed (after an
// upgrade, until sealing has caught up), 128 stalled exports a gigabyte.
// Steps of common lengths (a few dozen characters) fill 8,000 first.
const exportChunkBytes = 2 << 20

// stepBytes is about what a step read takes in memory: the struct and its
// text.
func stepBytes(st model.Step) int {
	const structBytes = 160 // model.Step on 64-bit platforms
	return structBytes + len(st.Component) + len(st.Version) + len(st.Owner) + len(st.Status) + len(st.Environment) + len(st.Revision)
}

// exportChunkSteps is how many steps an unlimited list reads per query.
// A stalled client's handler holds one such page until the write deadline
// cuts it off, so it stays under model.MaxLimit: no more than one page a
// client may ask for with limit= (listGate bounds those per client). At
// 1,000 the queries were a third of stepsd's CPU for an export: a
// million rows from MariaDB cost 3.25 s of CPU and ran at 0.55× the
// mariadb client, against 2.03 s and 0.70× at 8,000 (stepsbench, export
// phase, docs/benchmarks.md).
const exportChunkSteps = 8000
