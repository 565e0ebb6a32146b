package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// exportOnlyFields are the fields of an export that the server assigns; an
// import of an export drops them instead of failing.
var exportOnlyFields = []string{"id", "received_at"}

// handleCreateSteps serves POST /v1/steps/batch: many steps in one
// transaction, all or none, as a JSON array, NDJSON, or CSV (our export's
// columns, or the original service's component,version,owner,status,ts).
// Explicit times are kept. Every invalid row is reported.
func (s *Server) handleCreateSteps(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, s.maxBatchBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b batchRows
	switch mt := mediaType(r); mt {
	case "application/json":
		err = b.parseJSON(body)
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		err = b.parseNDJSON(body)
	case "text/csv":
		err = b.parseCSV(body)
	default:
		err = unsupportedBody(r, "application/json (an array), application/x-ndjson or text/csv")
	}
	if err == nil && len(b.rows) == 0 {
		err = model.Invalid("body", "the batch is empty")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ins := make([]model.StepInput, len(b.rows))
	bad := b.errs
	for i, p := range b.rows {
		if p == nil {
			continue // reported while parsing
		}
		in, err := s.stepInput(p)
		if err != nil {
			bad.Rows = append(bad.Rows, rowError(i, err))
			continue
		}
		ins[i] = in
	}
	if len(bad.Rows) > 0 {
		slices.SortFunc(bad.Rows, func(a, b model.RowError) int { return a.Row - b.Row })
		s.writeError(w, r, &bad)
		return
	}
	steps, replayed, err := s.store.CreateSteps(r.Context(), ins, model.RecordMeta{
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
		s.metrics.recorded.Add(float64(len(steps)))
	}
	s.writeJSON(w, r, status, map[string]any{"count": len(steps), "steps": steps})
}

func rowError(i int, err error) model.RowError {
	row := model.RowError{Row: i + 1, Error: model.ErrorMessage(err)}
	var me *model.Error
	if errors.As(err, &me) {
		row.Field = me.Field
	}
	return row
}

// batchRows collects parsed rows and their errors; a row that failed to
// parse is nil in rows and reported in errs. The parse methods fail only
// for what spoils the whole body.
type batchRows struct {
	rows []params
	errs model.BatchError
}

func (b *batchRows) add(p params, err error) {
	if err != nil {
		b.errs.Rows = append(b.errs.Rows, rowError(len(b.rows), err))
		p = nil
	}
	b.rows = append(b.rows, p)
}

func (b *batchRows) parseJSON(body []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return model.Invalid("body", "body is not a JSON array of steps: %v (for one step per line, send Content-Type: application/x-ndjson)", jsonProblem(err))
	}
	for _, item := range items {
		b.add(jsonStepParams(item, stepParams, exportOnlyFields...))
	}
	return nil
}

func (b *batchRows) parseNDJSON(body []byte) error {
	for line := range bytes.Lines(body) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		b.add(jsonStepParams(line, stepParams, exportOnlyFields...))
	}
	return nil
}

// csvColumns are the columns a CSV batch may have: ours, and the original
// service's ts for time.
var csvColumns = append(append([]string{}, stepParams...), "ts")

func (b *batchRows) parseCSV(body []byte) error {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return model.Invalid("body", "the batch is empty")
	}
	if err != nil {
		return model.Invalid("body", "CSV header: %v", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // spreadsheets add a byte-order mark
	seen := map[string]bool{}
	for _, name := range header {
		if slices.Contains(exportOnlyFields, name) {
			continue
		}
		if !slices.Contains(csvColumns, name) {
			return model.Invalid(name, "unknown CSV column %q; the header may name %s (and id, received_at, which are ignored)", name, strings.Join(csvColumns, ", "))
		}
		if seen[name] || (name == "ts" && seen["time"]) || (name == "time" && seen["ts"]) {
			return model.Invalid(name, "CSV column %q is given twice", name)
		}
		seen[name] = true
	}
	for _, name := range []string{"component", "version", "owner", "status"} {
		if !seen[name] {
			return model.Invalid(name, "the CSV header has no %q column", name)
		}
	}
	for {
		record, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
				return model.Invalid("body", "CSV: %v", err)
			}
		}
		b.add(csvRow(header, record))
	}
	return nil
}

func csvRow(header, record []string) (params, error) {
	if len(record) != len(header) {
		return nil, model.Invalid("body", "the row has %d fields; the header has %d", len(record), len(header))
	}
	p := params{}
	for i, name := range header {
		switch {
		case slices.Contains(exportOnlyFields, name):
		case name == "ts" || name == "time":
			if record[i] != "" {
				p["time"] = record[i]
			}
		case record[i] != "":
			// Undo the export's formula guard, so values round-trip exactly.
			p[name] = model.UnneutraliseCell(record[i])
		}
	}
	return p, nil
}
