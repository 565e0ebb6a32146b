package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// insertStepsInto is the INSERT of steps before its rows (multiRowInsert),
// each of insertRowParams parameters (insertArgs) and numbered, 1: the
// transaction numbers them. A row an older stepsd inserts lacks numbered
// and is marked 0 (migration 20261202000001), for numberUnnumbered.
const (
	insertStepsInto = `INSERT INTO steps (component, version, owner, status, environment, time, received_at, idempotency_key, fingerprint, revision, committed_at, numbered)
VALUES `
	insertRowParams = 11
)

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
		rowtext.FormatTime(step.Time), rowtext.FormatTime(step.ReceivedAt), k, f, nullText(step.Revision), nullTime(step.CommittedAt)}
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
	return rowtext.FormatTime(*t)
}

func (s *Store) replay(ctx context.Context, key, fingerprint string) (model.Step, bool, error) {
	var stored sql.NullString
	step, err := s.queryStep(ctx, `SELECT `+stepColumns+`, fingerprint FROM steps WHERE idempotency_key = ?`, key, &stored)
	if err != nil {
		return model.Step{}, false, err
	}
	if stored.String != fingerprint {
		return model.Step{}, false, errKeyReused("step")
	}
	return step, true, nil
}

// FindStep returns the step with the given id, or ENOTFOUND.
func (s *Store) FindStep(ctx context.Context, id int64) (model.Step, error) {
	step, err := s.queryStep(ctx, `SELECT `+stepColumns+` FROM steps WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return model.Step{}, model.Errorf(model.ENOTFOUND, "step %d not found", id)
	}
	return step, err
}

// stepScanner reads rows of stepColumns, then any extra columns. A
// history repeats a few components, owners, statuses and environments:
// each distinct value becomes a string once.
type stepScanner struct {
	id      int64
	texts   [5]sql.RawBytes // component, version, owner, status, environment
	t, recv sql.RawBytes
	// revision and committed_at: nil when NULL (not given).
	revision, committed sql.RawBytes
	dest                []any
	seen                rowtext.Interner
}

func newStepScanner(extra ...any) *stepScanner {
	sc := &stepScanner{seen: rowtext.Interner{}}
	sc.dest = append([]any{&sc.id, &sc.texts[0], &sc.texts[1], &sc.texts[2], &sc.texts[3], &sc.texts[4], &sc.t, &sc.recv,
		&sc.revision, &sc.committed}, extra...)
	return sc
}

func (sc *stepScanner) scan(rows *sql.Rows) (model.Step, error) {
	if err := rows.Scan(sc.dest...); err != nil {
		return model.Step{}, err
	}
	st := model.Step{ID: sc.id, Component: sc.seen.Intern(sc.texts[0]), Version: sc.seen.Intern(sc.texts[1]),
		Owner: sc.seen.Intern(sc.texts[2]), Status: sc.seen.Intern(sc.texts[3]), Environment: sc.seen.Intern(sc.texts[4])}
	var err error
	if st.Time, err = rowtext.ParseTime(sc.t); err != nil {
		return model.Step{}, err
	}
	if st.ReceivedAt, err = rowtext.ParseTime(sc.recv); err != nil {
		return model.Step{}, err
	}
	if sc.revision != nil {
		st.Revision = string(sc.revision) // commits differ: not interned
	}
	if st.CommittedAt, err = rowtext.ParseNullTime(sc.committed); err != nil {
		return model.Step{}, err
	}
	return st, nil
}

// queryStep runs query, prepared, for the one step it selects (then extra
// columns), or sql.ErrNoRows.
func (s *Store) queryStep(ctx context.Context, query string, arg any, extra ...any) (model.Step, error) {
	rows, err := s.stmts.query(ctx, nil, query, arg)
	if err != nil {
		return model.Step{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		return model.Step{}, cmp.Or(translate(rows.Err()), sql.ErrNoRows)
	}
	step, err := newStepScanner(extra...).scan(rows)
	return step, translate(err)
}

// ListSteps calls fn for each step matching f, in order, straight from the
// database cursor: memory does not grow with the number of rows. With
// f.Limit, it stops after one page and returns the cursor of the next page,
// or nil on the last one. An error from fn stops the list and is returned.
func (s *Store) ListSteps(ctx context.Context, f model.Filter, fn func(model.Step) error) (next *model.Cursor, err error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	query, args := listQuery(f, s.listFrom(f))
	rows, err := s.stmts.query(ctx, nil, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := 0
	var last model.Step
	scan := newStepScanner()
	for rows.Next() {
		step, err := scan.scan(rows)
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

// listFrom is the table a list of f reads, with the index it must use when
// the planner would pick a worse one. Given a component and a version,
// steps_deployment holds just that version's steps, where steps_component
// (which SQLite prefers, as it is already in time order) holds every step
// the component ever had.
func (s *Store) listFrom(f model.Filter) string {
	if f.Component != "" && f.Version != "" {
		return byKind(s, "steps FORCE INDEX (steps_deployment)", "steps INDEXED BY steps_deployment")
	}
	return "steps"
}

// listQuery builds the SELECT for f from the table from (listFrom). Only
// fixed clauses are joined; every value is a parameter.
func listQuery(f model.Filter, from string) (string, []any) {
	var c conds
	c.equal("component", f.Component)
	c.equal("version", f.Version)
	c.equal("owner", f.Owner)
	c.equal("status", f.Status)
	c.equal("environment", f.Environment)
	c.timeRange("time", f)
	cmp, dir := direction(f)
	if f.After != nil {
		t := rowtext.FormatTime(f.After.Time)
		// The first condition alone is a range the index seeks to (an
		// export reads page after page); the second is exact.
		c.add("time "+cmp+"= ?", t)
		cond, args := afterCond(cmp, []string{"time", "id"}, []any{t, f.After.ID})
		c.add(cond, args...)
	}
	query := "SELECT " + stepColumns + " FROM " + from + c.sql() + " ORDER BY time " + dir + ", id " + dir
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
		c.add(col+" >= ?", rowtext.FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		c.add(col+" <= ?", rowtext.FormatTime(f.Until))
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
