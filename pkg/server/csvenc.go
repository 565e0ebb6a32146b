package server

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

// Exports write millions of CSV rows: appendCSVStep writes the same bytes
// as encoding/csv would for model.CSVHeader's columns, without formatting
// each time through time.Format. A test holds it to encoding/csv.

func appendCSVField(b []byte, field string) []byte {
	if !csvNeedsQuotes(field) {
		return append(b, field...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(field, '"')
		if i < 0 {
			break
		}
		b = append(b, field[:i+1]...)
		b = append(b, '"')
		field = field[i+1:]
	}
	b = append(b, field...)
	return append(b, '"')
}

// csvNeedsQuotes follows encoding/csv's rule for a comma-separated file.
func csvNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` {
		return true
	}
	// A byte loop: ContainsAny builds its character set at every call, a
	// visible cost over a million rows of six fields.
	for i := 0; i < len(field); i++ {
		switch field[i] {
		case '\n', '\r', '"', ',':
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// appendSpreadsheetTime appends model.FormatSpreadsheetTime(t).
func appendSpreadsheetTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, ' ')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		b = appendDigits(b, ns/1000, 6)
	}
	return b
}

func appendDigits(b []byte, n, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// appendCSVStep appends one row of a steps export, columns as CSVHeader.
func appendCSVStep(b []byte, st model.Step) []byte {
	b = appendCSVField(b, model.NeutraliseCell(st.Component))
	b = append(b, ',')
	b = appendCSVField(b, model.NeutraliseCell(st.Version))
	b = append(b, ',')
	b = appendCSVField(b, model.NeutraliseCell(st.Owner))
	b = append(b, ',')
	b = appendCSVField(b, model.NeutraliseCell(st.Status))
	b = append(b, ',')
	b = appendSpreadsheetTime(b, st.Time)
	b = append(b, ',')
	b = appendCSVField(b, model.NeutraliseCell(st.Environment))
	b = append(b, ',')
	b = strconv.AppendInt(b, st.ID, 10)
	b = append(b, ',')
	b = appendSpreadsheetTime(b, st.ReceivedAt)
	b = append(b, ',')
	b = appendCSVField(b, model.NeutraliseCell(st.Revision))
	b = append(b, ',')
	if st.CommittedAt != nil {
		b = appendSpreadsheetTime(b, *st.CommittedAt)
	}
	return append(b, '\n')
}

// newAnswerCSV writes the CSV of an analysis (stats, DORA, changes) into
// memory, for sendAnswerCSV to send in one write. Written straight to the
// connection, encoding/csv sent it in pieces of 4 KiB, each under the
// 64 KiB from which an answer is held under --max-answer-bytes, so a
// client that stopped reading held its analysis (8 MB in JSON, 6 MB in
// CSV) outside the bound: 128 stalled stats CSVs from 8 addresses took
// stepsd to 743 MB, where their JSON held 8 answers and 272 MB.
func newAnswerCSV() (*csv.Writer, *bytes.Buffer) {
	var b bytes.Buffer
	return csv.NewWriter(&b), &b
}

// sendAnswerCSV sends what cw wrote into answer, in one write.
func (s *Server) sendAnswerCSV(w http.ResponseWriter, r *http.Request, cw *csv.Writer, answer *bytes.Buffer) {
	cw.Flush() // into memory: no error
	if _, err := w.Write(answer.Bytes()); err != nil {
		s.log.DebugContext(r.Context(), "write answer", "err", err)
	}
}
