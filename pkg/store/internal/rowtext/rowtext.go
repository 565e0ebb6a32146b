// Package rowtext reads and writes the text of the store's rows, and
// nothing else: times as stored, the phases column, and a deployment row's
// columns joined into one (the store's deploymentColumns), from which it
// builds model.Deployments. It knows no SQL. Every row a read over all
// history returns passes here, so the parsers are written by hand.
package rowtext

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// TimeLayout is how times are written to and read from both databases:
// fixed width, so that on SQLite, where they are text, text order is time
// order; and exactly the literal form of MySQL's DATETIME(6).
const TimeLayout = "2006-01-02 15:04:05.000000"

// FormatTime is t as stored.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// ParseTime reads a time column: the text FormatTime wrote, which MySQL
// without parseTime may give without its trailing zeros.
func ParseTime(b []byte) (time.Time, error) {
	if t, ok := parseFixedTime(b); ok {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", string(b), time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", b, err)
	}
	return t, nil
}

// parseFixedTime reads exactly TimeLayout, by hand: every row of an
// export passes here.
func parseFixedTime(b []byte) (time.Time, bool) {
	if len(b) != len(TimeLayout) || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' || b[19] != '.' {
		return time.Time{}, false
	}
	y, mo, d := digits(b[0:4]), digits(b[5:7]), digits(b[8:10])
	h, mi, sec, us := digits(b[11:13]), digits(b[14:16]), digits(b[17:19]), digits(b[20:26])
	if min(y, h, mi, sec, us) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), int(sec), int(us)*1000, time.UTC), true
}

// parseClock reads " hh:mm:ss.ffffff", the end of a time parseFixedTime
// reads, as the time since midnight.
func parseClock(b []byte) (time.Duration, bool) {
	if len(b) != 16 || b[0] != ' ' || b[3] != ':' || b[6] != ':' || b[9] != '.' {
		return 0, false
	}
	h, m, s, us := digits(b[1:3]), digits(b[4:6]), digits(b[7:9]), digits(b[10:16])
	if min(h, m, s, us) < 0 || h > 23 || m > 59 || s > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(us)*time.Microsecond, true
}

// digits is the number b spells in decimal digits, or -1 if b holds another
// byte: the one decimal reader under the package's hand-written parsers of
// rows (times, attempts, phases).
func digits(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// CutInt reads a decimal integer (see Atoi) up to sep, and returns it
// with what follows sep.
func CutInt(b []byte, sep byte) (int64, []byte, bool) {
	end := bytes.IndexByte(b, sep)
	if end < 0 {
		return 0, nil, false
	}
	n, ok := Atoi(b[:end])
	return n, b[end+1:], ok
}

// Atoi reads a decimal integer of 1 to 18 digits, optionally negative.
func Atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	n := digits(b)
	if len(b) == 0 || len(b) > 18 || n < 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// ParseNullTime reads a nullable time column: nil for NULL.
func ParseNullTime(b []byte) (*time.Time, error) {
	if b == nil {
		return nil, nil
	}
	t, err := ParseTime(b)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Interner makes strings of raw bytes, the same string each time the same
// bytes come (up to a bound: versions, for one, may all differ).
type Interner map[string]string

// Intern is b as a string.
func (in Interner) Intern(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in) < 4096 {
		in[s] = s
	}
	return s
}

// Phases are stored in one column as "id,offset,status" each followed by
// a U+001E separator, offset being microseconds since the deployment's
// start. A status holds no control character (model.ValidateText), so
// the separator cannot occur in one; a comma may, so the status comes
// last.
const PhaseEnd = 0x1e

// AppendPhase appends a phase to b, the phases column.
func AppendPhase(b []byte, id int64, offset time.Duration, status string) []byte {
	b = strconv.AppendInt(b, id, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, offset.Microseconds(), 10)
	b = append(b, ',')
	b = append(b, status...)
	return append(b, PhaseEnd)
}

// phaseDecoder reads the phases column (see AppendPhase), one pass over
// its bytes. Deployments repeat the same steps in the same order: a
// status is first compared with the one at its place in the deployment
// before, then looked up.
type phaseDecoder struct {
	statuses Interner
	last     []string
}

// decode appends the phases of b to out, which has room for them, zero
// (cut from a new block).
func (pd *phaseDecoder) decode(b []byte, started time.Time, out []model.Phase) ([]model.Phase, error) {
	if pd.statuses == nil {
		pd.statuses = Interner{}
	}
	// Whether every status so far was the one at its place before: then
	// pd.last stays as it is.
	same := true
	for len(b) > 0 {
		id, rest, ok1 := CutInt(b, ',')
		offset, rest, ok2 := CutInt(rest, ',')
		end := bytes.IndexByte(rest, PhaseEnd)
		if !ok1 || !ok2 || end < 0 {
			return nil, fmt.Errorf("stored phases %q are not id,offset,status items", b)
		}
		raw := rest[:end]
		b = rest[end+1:]
		k := len(out)
		var status string
		if k < len(pd.last) && pd.last[k] == string(raw) {
			status = pd.last[k]
		} else {
			status = pd.statuses.Intern(raw)
			same = false
		}
		// Set field by field: appending a whole Phase copies it with the
		// garbage collector's bulk barrier, a tenth of the decoding.
		if k < cap(out) {
			out = out[:k+1]
		} else {
			out = append(out, model.Phase{})
		}
		p := &out[k]
		p.ID = id
		p.Status = status
		p.Time = started.Add(time.Duration(offset) * time.Microsecond)
	}
	if len(out) == 0 {
		return nil, errors.New("no stored phases")
	}
	if same && len(out) == len(pd.last) {
		return out, nil
	}
	pd.last = pd.last[:0]
	for _, p := range out {
		pd.last = append(pd.last, p.Status)
	}
	return out, nil
}
