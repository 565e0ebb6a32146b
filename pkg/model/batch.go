package model

import (
	"errors"
	"fmt"
)

// MaxBatchSteps is the most steps one batch may hold. A batch with more is
// refused at its first row past the limit, before the rest is parsed.
const MaxBatchSteps = 10000

// MaxBatchRowBytes bounds one row of a batch: a JSON array's item (with
// the comma and white space before it), an NDJSON line or a CSV record. A
// valid row is a few kilobytes at most: its six text fields are 576
// characters in all, 12 bytes each at worst (a character outside the BMP
// written as a JSON surrogate pair, \ud83d\ude00), with three times and an
// id beside them. The bound is the one a single step's body has on POST
// /v1/steps, so a row that one could send alone is never refused here;
// past it the row cannot be valid, and it is refused before more of it is
// held.
const MaxBatchRowBytes = 1 << 20

// MaxRowErrors is the most invalid rows a BatchError lists; the others are
// counted in Omitted, so an error report stays small whatever was sent.
const MaxRowErrors = 100

// BatchError reports the invalid rows of a batch (the first MaxRowErrors of
// them); nothing of the batch was stored.
type BatchError struct {
	Rows []RowError
	// Omitted counts the invalid rows not listed in Rows.
	Omitted int
}

// RowError is one invalid row of a batch. Row counts from 1: the first
// step of the batch (for CSV, the line after the header).
type RowError struct {
	Row   int    `json:"row"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// Add reports one more invalid row: listed while fewer than MaxRowErrors
// are, counted in Omitted after.
func (e *BatchError) Add(row RowError) {
	if len(e.Rows) < MaxRowErrors {
		e.Rows = append(e.Rows, row)
		return
	}
	e.Omitted++
}

// AddError reports row (counted from 1) as invalid for err, with the
// field err names.
func (e *BatchError) AddError(row int, err error) {
	re := RowError{Row: row, Error: ErrorMessage(err)}
	var me *Error
	if errors.As(err, &me) {
		re.Field = me.Field
	}
	e.Add(re)
}

func (e *BatchError) Error() string {
	n := len(e.Rows) + e.Omitted
	if n == 1 {
		return fmt.Sprintf("one of the batch's rows is invalid and nothing was stored: row %d: %s", e.Rows[0].Row, e.Rows[0].Error)
	}
	msg := fmt.Sprintf("%d of the batch's rows are invalid and nothing was stored; first: row %d: %s", n, e.Rows[0].Row, e.Rows[0].Error)
	if e.Omitted > 0 {
		msg += fmt.Sprintf(" (the first %d are listed, and %d more are not)", len(e.Rows), e.Omitted)
	}
	return msg
}

// Unwrap makes a BatchError an EINVALID *Error for errors.As.
func (e *BatchError) Unwrap() error {
	return &Error{Code: EINVALID, Field: "rows", Message: e.Error()}
}
