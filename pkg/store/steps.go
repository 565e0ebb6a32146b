package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// dbTimeLayout is how times are written to and read from both databases:
// fixed width, so that on SQLite, where they are text, text order is time
// order; and exactly the literal form of MySQL's DATETIME(6).
const dbTimeLayout = "2006-01-02 15:04:05.000000"

func dbTime(t time.Time) string {
	return t.UTC().Format(dbTimeLayout)
}

// parseDBTime reads a time column. MySQL without parseTime and SQLite both
// return the text written by dbTime; MySQL may drop trailing zeros. Every
// row of an export passes here, so the fixed layout is read by hand.
func parseDBTime(b []byte) (time.Time, error) {
	if t, ok := parseFixedTime(b); ok {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", string(b), time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", b, err)
	}
	return t, nil
}

// parseFixedTime reads exactly "YYYY-MM-DD hh:mm:ss.ffffff".
func parseFixedTime(b []byte) (time.Time, bool) {
	if len(b) != len(dbTimeLayout) || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' || b[19] != '.' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	us, ok7 := num(b[20:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, us*1000, time.UTC), true
}

const insertStep = `INSERT INTO steps (component, version, owner, status, environment, time, received_at, idempotency_key, fingerprint, revision, committed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRowParams is the number of parameters of one row of insertStep.
const insertRowParams = 11

const stepColumns = `id, component, version, owner, status, environment, time, received_at, revision, committed_at`

// CreateStep validates and stores one step. With an idempotency key, a
// repeat of the same input returns the step stored the first time and
// replayed=true; a repeat with a different input fails with EUNPROCESSABLE.
func (s *Store) CreateStep(ctx context.Context, in model.StepInput, meta model.RecordMeta) (step model.Step, replayed bool, err error) {
	in = in.Normalized()
	if err := in.Validate(); err != nil {
		return model.Step{}, false, err
	}
	if err := model.ValidateIdempotencyKey(meta.IdempotencyKey); err != nil {
		return model.Step{}, false, err
	}
	step = newStep(in, meta.ReceivedAt)

	var fingerprint string
	if meta.IdempotencyKey != "" {
		fingerprint = in.Fingerprint() // only a replay compares it
	}
	step.ID, err = s.commit(ctx, insertRow{step: step, key: meta.IdempotencyKey, fingerprint: fingerprint})
	if errors.Is(err, errDuplicate) && meta.IdempotencyKey != "" {
		return s.replay(ctx, meta.IdempotencyKey, fingerprint)
	}
	if err != nil {
		return model.Step{}, false, err
	}
	return step, false, nil
}

func newStep(in model.StepInput, receivedAt time.Time) model.Step {
	receivedAt = model.TruncateTime(receivedAt)
	t := in.Time
	if t.IsZero() {
		t = receivedAt
	}
	step := model.Step{
		Component:   in.Component,
		Version:     in.Version,
		Owner:       in.Owner,
		Status:      in.Status,
		Environment: in.Environment,
		Time:        t,
		ReceivedAt:  receivedAt,
		Revision:    in.Revision,
	}
	if !in.CommittedAt.IsZero() {
		c := in.CommittedAt.UTC()
		step.CommittedAt = &c
	}
	return step
}

func insertArgs(step model.Step, key, fingerprint string) []any {
	var k, f any // NULL without a key: NULLs never collide in the unique index
	if key != "" {
		k, f = key, fingerprint
	}
	return []any{step.Component, step.Version, step.Owner, step.Status, step.Environment,
		dbTime(step.Time), dbTime(step.ReceivedAt), k, f, nullText(step.Revision), nullTime(step.CommittedAt)}
}

// nullText is NULL for "" (not given), else s.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullTime is NULL for nil (not given), else the stored form of *t.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// parseNullTime reads a nullable time column: nil for NULL.
func parseNullTime(b []byte) (*time.Time, error) {
	if b == nil {
		return nil, nil
	}
	t, err := parseDBTime(b)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Store) replay(ctx context.Context, key, fingerprint string) (model.Step, bool, error) {
	stmt, err := s.prepared(ctx, `SELECT `+stepColumns+`, fingerprint FROM steps WHERE idempotency_key = ?`)
	if err != nil {
		return model.Step{}, false, err
	}
	var stored sql.NullString
	step, err := scanStep(stmt.QueryRowContext(ctx, key), &stored)
	if err != nil {
		return model.Step{}, false, translate(err)
	}
	if stored.String != fingerprint {
		return model.Step{}, false, &model.Error{Code: model.EUNPROCESSABLE, Field: "Idempotency-Key",
			Message: "Idempotency-Key was already used for a different step; send a new key for a new step"}
	}
	return step, true, nil
}

// FindStep returns the step with the given id, or ENOTFOUND.
func (s *Store) FindStep(ctx context.Context, id int64) (model.Step, error) {
	stmt, err := s.prepared(ctx, `SELECT `+stepColumns+` FROM steps WHERE id = ?`)
	if err != nil {
		return model.Step{}, err
	}
	step, err := scanStep(stmt.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Step{}, model.Errorf(model.ENOTFOUND, "step %d not found", id)
	}
	if err != nil {
		return model.Step{}, translate(err)
	}
	return step, nil
}

type scanner interface {
	Scan(dest ...any) error
}

// scanStep reads one row of stepColumns (and any extra columns into extra).
func scanStep(row scanner, extra ...any) (model.Step, error) {
	var st model.Step
	var t, recv, committed []byte
	var revision sql.NullString
	dest := append([]any{&st.ID, &st.Component, &st.Version, &st.Owner, &st.Status, &st.Environment, &t, &recv, &revision, &committed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return model.Step{}, err
	}
	var err error
	if st.Time, err = parseDBTime(t); err != nil {
		return model.Step{}, err
	}
	if st.ReceivedAt, err = parseDBTime(recv); err != nil {
		return model.Step{}, err
	}
	st.Revision = revision.String
	if st.CommittedAt, err = parseNullTime(committed); err != nil {
		return model.Step{}, err
	}
	return st, nil
}

// listScanner reads rows of stepColumns with no allocation for most
// fields: texts arrive as raw bytes, and since a history repeats a few
// components, owners, statuses and environments, each distinct value
// becomes a string once. Over an export of millions of rows that is most of
// the garbage gone.
type listScanner struct {
	id      int64
	texts   [5]sql.RawBytes // component, version, owner, status, environment
	t, recv sql.RawBytes
	// revision and committed_at: nil when NULL (not given).
	revision, committed sql.RawBytes
	dest                []any
	seen                interner
}

func newListScanner() *listScanner {
	ls := &listScanner{seen: interner{}}
	ls.dest = []any{&ls.id, &ls.texts[0], &ls.texts[1], &ls.texts[2], &ls.texts[3], &ls.texts[4], &ls.t, &ls.recv, &ls.revision, &ls.committed}
	return ls
}

func (ls *listScanner) step(rows *sql.Rows) (model.Step, error) {
	if err := rows.Scan(ls.dest...); err != nil {
		return model.Step{}, err
	}
	st := model.Step{ID: ls.id, Component: ls.seen.intern(ls.texts[0]), Version: ls.seen.intern(ls.texts[1]),
		Owner: ls.seen.intern(ls.texts[2]), Status: ls.seen.intern(ls.texts[3]), Environment: ls.seen.intern(ls.texts[4])}
	var err error
	if st.Time, err = parseDBTime(ls.t); err != nil {
		return model.Step{}, err
	}
	if st.ReceivedAt, err = parseDBTime(ls.recv); err != nil {
		return model.Step{}, err
	}
	if ls.revision != nil {
		st.Revision = string(ls.revision) // commits differ: not interned
	}
	if st.CommittedAt, err = parseNullTime(ls.committed); err != nil {
		return model.Step{}, err
	}
	return st, nil
}

// interner makes strings of raw bytes, the same string each time the same
// bytes come (up to a bound: versions, for one, may all differ).
type interner map[string]string

func (in interner) intern(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in) < 4096 {
		in[s] = s
	}
	return s
}

// ListSteps calls fn for each step matching f, in order, straight from the
// database cursor: memory does not grow with the number of rows. With
// f.Limit, it stops after one page and returns the cursor of the next page,
// or nil on the last one. An error from fn stops the list and is returned.
func (s *Store) ListSteps(ctx context.Context, f model.Filter, fn func(model.Step) error) (next *model.Cursor, err error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	query, args := listQuery(f)
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	n := 0
	var last model.Step
	scan := newListScanner()
	for rows.Next() {
		step, err := scan.step(rows)
		if err != nil {
			return nil, translate(err)
		}
		if f.Limit > 0 && n == f.Limit {
			// The extra row only says that another page exists.
			next = model.CursorAfter(last)
			break
		}
		if err := fn(step); err != nil {
			return nil, err
		}
		last = step
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	return next, nil
}

// listQuery builds the SELECT for f. Only fixed clauses are joined; every
// value is a parameter.
func listQuery(f model.Filter) (string, []any) {
	var c conds
	for _, e := range []struct{ col, v string }{
		{"component", f.Component}, {"version", f.Version}, {"owner", f.Owner}, {"status", f.Status}, {"environment", f.Environment},
	} {
		c.equal(e.col, e.v)
	}
	c.timeRange("time", f)
	cmp, dir := direction(f)
	if f.After != nil {
		t := dbTime(f.After.Time)
		// The first condition alone is a range the index seeks to (an
		// export reads page after page); the second, spelt with OR, is exact.
		c.add("time "+cmp+"= ?", t)
		c.add("(time "+cmp+" ? OR (time = ? AND id "+cmp+" ?))", t, t, f.After.ID)
	}
	query := "SELECT " + stepColumns + " FROM steps" + c.sql() + " ORDER BY time " + dir + ", id " + dir
	if f.Limit > 0 {
		query += " LIMIT ?"
		c.args = append(c.args, f.Limit+1)
	}
	return query, c.args
}

// conds gathers a WHERE clause: fixed SQL, and the values as parameters.
type conds struct {
	where []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

// equal requires col = v, unless v is empty (no filter).
func (c *conds) equal(col, v string) {
	if v != "" {
		c.add(col+" = ?", v)
	}
}

// timeRange bounds col by f's since and until.
func (c *conds) timeRange(col string, f model.Filter) {
	if !f.Since.IsZero() {
		c.add(col+" >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		c.add(col+" <= ?", dbTime(f.Until))
	}
}

// sql is " WHERE a AND b …", or "" without conditions.
func (c *conds) sql() string {
	if len(c.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.where, " AND ")
}

// direction gives the comparison that continues after a cursor, and the
// ORDER BY direction, of f's order.
func direction(f model.Filter) (cmp, dir string) {
	if f.Descending() {
		return "<", "DESC"
	}
	return ">", "ASC"
}
