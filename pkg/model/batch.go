package model

import "fmt"

// BatchError reports every invalid row of a batch; nothing of the batch
// was stored.
type BatchError struct {
	Rows []RowError
}

// RowError is one invalid row of a batch. Row counts from 1: the first
// step of the batch (for CSV, the line after the header).
type RowError struct {
	Row   int    `json:"row"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d of the batch's rows are invalid and nothing was stored; first: row %d: %s", len(e.Rows), e.Rows[0].Row, e.Rows[0].Error)
}

// Unwrap makes a BatchError an EINVALID *Error for errors.As.
func (e *BatchError) Unwrap() error {
	return &Error{Code: EINVALID, Field: "rows", Message: e.Error()}
}
