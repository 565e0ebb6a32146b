package model

import (
	"slices"
	"strings"
)

// ValueFields are the fields whose distinct values GET /v1/values lists,
// for shell completion: each has an index that leads with it, so one value
// is one index seek however many steps carry it.
var ValueFields = []string{"component", "environment", "owner", "status"}

// Limits of GET /v1/values.
const (
	DefaultValuesLimit = 50
	MaxValuesLimit     = 1000
)

// ValuesQuery asks for the distinct values of Field that start with
// Prefix, in byte order, at most Limit of them.
type ValuesQuery struct {
	Field  string
	Prefix string
	Limit  int
}

// Validate checks q and fills the default limit.
func (q *ValuesQuery) Validate() error {
	if q.Field == "" {
		return Invalid("field", "field is required: one of %s", strings.Join(ValueFields, ", "))
	}
	if !slices.Contains(ValueFields, q.Field) {
		return Invalid("field", "field must be one of %s, not %s", strings.Join(ValueFields, ", "), Quote(q.Field))
	}
	if err := ValidateText("prefix", q.Prefix, MaxComponentLen, false); err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = DefaultValuesLimit
	}
	if q.Limit < 1 || q.Limit > MaxValuesLimit {
		return Invalid("limit", "limit must be from 1 to %d", MaxValuesLimit)
	}
	return nil
}

// Values is the answer of GET /v1/values.
type Values struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}
