package server

import (
	"net/http"
	"strconv"

	"github.com/steps-dev/steps/pkg/model"
)

// valuesParams are the parameters GET /v1/values accepts.
var valuesParams = []string{"field", "prefix", "limit"}

// handleValues serves GET /v1/values: the distinct values of one field
// that start with a prefix, for shell completion (stepsctl --component
// <TAB>). Bounded by limit and answered by index seeks, so it stays cheap
// on any history.
func (s *Server) handleValues(w http.ResponseWriter, r *http.Request) {
	p, err := queryParams(r, valuesParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := model.ValuesQuery{Field: p["field"], Prefix: p["prefix"]}
	if v, ok := p["limit"]; ok {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 {
			s.writeError(w, r, model.Invalid("limit", "limit must be a whole number from 1 to %d, not %s", model.MaxValuesLimit, model.Quote(v)))
			return
		}
	}
	if err := q.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	values, err := s.store.Values(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, model.Values{Field: q.Field, Values: values})
}
