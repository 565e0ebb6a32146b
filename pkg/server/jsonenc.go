package server

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

// Lists write millions of steps: these appenders produce the same JSON as
// encoding/json for model.Step and model.Deployment, without its reflection
// and allocations per value. A test holds them to encoding/json.

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONFloat formats as encoding/json does.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendStep(b []byte, s model.Step) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, s.ID, 10)
	b = append(b, `,"component":`...)
	b = appendJSONString(b, s.Component)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, s.Version)
	b = append(b, `,"owner":`...)
	b = appendJSONString(b, s.Owner)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, s.Status)
	b = append(b, `,"environment":`...)
	b = appendJSONString(b, s.Environment)
	b = append(b, `,"time":`...)
	b = appendJSONTime(b, s.Time)
	b = append(b, `,"received_at":`...)
	b = appendJSONTime(b, s.ReceivedAt)
	return append(appendRevision(b, s.Revision, s.CommittedAt), '}')
}

// appendRevision appends the optional revision and committed_at fields,
// each left out when not given (omitempty).
func appendRevision(b []byte, revision string, committedAt *time.Time) []byte {
	if revision != "" {
		b = append(b, `,"revision":`...)
		b = appendJSONString(b, revision)
	}
	if committedAt != nil {
		b = append(b, `,"committed_at":`...)
		b = appendJSONTime(b, *committedAt)
	}
	return b
}

func appendDeployment(b []byte, d *model.Deployment) []byte {
	b = append(b, `{"component":`...)
	b = appendJSONString(b, d.Component)
	b = append(b, `,"version":`...)
	b = appendJSONString(b, d.Version)
	b = append(b, `,"environment":`...)
	b = appendJSONString(b, d.Environment)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(d.Attempt), 10)
	b = append(b, `,"owner":`...)
	b = appendJSONString(b, d.Owner)
	b = append(b, `,"started_at":`...)
	b = appendJSONTime(b, d.StartedAt)
	b = append(b, `,"finished_at":`...)
	if d.FinishedAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONTime(b, *d.FinishedAt)
	}
	b = append(b, `,"duration_seconds":`...)
	b = appendJSONFloat(b, d.DurationSeconds)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, d.Outcome)
	b = append(b, `,"stuck":`...)
	b = strconv.AppendBool(b, d.Stuck)
	b = append(b, `,"steps":[`...)
	for i, p := range d.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, p.ID, 10)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, p.Status)
		b = append(b, `,"time":`...)
		b = appendJSONTime(b, p.Time)
		b = append(b, `,"duration_seconds":`...)
		if p.DurationSeconds == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONFloat(b, *p.DurationSeconds)
		}
		if p.Idle {
			b = append(b, `,"idle":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendRevision(b, d.Revision, d.CommittedAt)
	b = append(b, `,"expected_duration_seconds":`...)
	b = appendJSONFloatPtr(b, d.ExpectedDurationSeconds)
	b = append(b, `,"expected_finish_at":`...)
	if d.ExpectedFinishAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONTime(b, *d.ExpectedFinishAt)
	}
	b = append(b, `,"eta_seconds":`...)
	b = appendJSONFloatPtr(b, d.ETASeconds)
	if d.Overdue {
		b = append(b, `,"overdue":true`...)
	}
	return append(b, '}')
}

func appendJSONFloatPtr(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return appendJSONFloat(b, *f)
}
