package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// targetWhere adds the conditions that select whole deployments: exact
// component, version and environment, and, with a time range, only those
// targets that have a step in it (a deployment starting in the range has
// its first step there). alias names the steps table in the query.
func targetWhere(f model.Filter, alias string, where []string, args []any) ([]string, []any) {
	for _, c := range []struct{ col, v string }{
		{"component", f.Component}, {"version", f.Version}, {"environment", f.Environment},
	} {
		if c.v != "" {
			where = append(where, alias+"."+c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		cond := "EXISTS (SELECT 1 FROM steps r WHERE r.component = " + alias + ".component AND r.version = " + alias +
			".version AND r.environment = " + alias + ".environment"
		if !f.Since.IsZero() {
			cond += " AND r.time >= ?"
			args = append(args, dbTime(f.Since))
		}
		if !f.Until.IsZero() {
			cond += " AND r.time <= ?"
			args = append(args, dbTime(f.Until))
		}
		where = append(where, cond+")")
	}
	return where, args
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListDeployments builds the deployments matching f, ordered by start time
// (then component, version, environment, attempt; all reversed with
// order=desc), and calls fn for each. The database numbers attempts and
// orders deployments with window functions and streams their steps, so
// only one deployment is in memory at a time. With f.Limit it returns the
// key to continue after, or nil on the last page.
func (s *Store) ListDeployments(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) (*model.DeploymentKey, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Limit > 0 && f.Limit <= maxGatheredPage && !s.windowedPages {
		return s.gatherDeploymentPage(ctx, f, rules, now, fn)
	}
	query, args := deploymentsQuery(f, rules)
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()

	var next *model.DeploymentKey
	emitted := 0
	var last model.DeploymentKey
	errStop := errors.New("page full")
	b := model.NewDeploymentBuilder(rules, now, func(d *model.Deployment) error {
		if !f.Matches(d) {
			return nil
		}
		if f.Limit > 0 && emitted == f.Limit {
			k := last
			next = &k
			return errStop
		}
		emitted++
		last = d.Key()
		return fn(d)
	})
	err = scanDeploymentSteps(rows, b, true)
	if errors.Is(err, errStop) {
		return next, nil
	}
	return nil, err
}

// scanDeploymentSteps feeds rows of deploymentColumns to b, then flushes it.
// Rows come grouped by deployment, so consecutive rows repeat the same
// component, version, environment and owner, and statuses are few: reading
// raw bytes and reusing the strings already made saves five allocations a
// row over a scan of millions.
func scanDeploymentSteps(rows *sql.Rows, b *model.DeploymentBuilder, withAttempt bool) error {
	var ds model.DeploymentStep
	var component, version, environment, owner, status, t sql.RawBytes
	dest := []any{&ds.ID, &component, &version, &environment, &owner, &status, &t}
	if withAttempt {
		dest = append(dest, &ds.Attempt)
	}
	statuses := map[string]string{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return translate(err)
		}
		ds.Component = reuse(ds.Component, component)
		ds.Version = reuse(ds.Version, version)
		ds.Environment = reuse(ds.Environment, environment)
		ds.Owner = reuse(ds.Owner, owner)
		st, ok := statuses[string(status)]
		if !ok {
			st = string(status)
			if len(statuses) < 10000 {
				statuses[st] = st
			}
		}
		ds.Status = st
		var err error
		if ds.Time, err = parseDBTime(t); err != nil {
			return err
		}
		if err := b.Add(ds); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	return b.Flush()
}

// reuse returns prev when it spells b, else a new string of b.
func reuse(prev string, b []byte) string {
	if prev == string(b) {
		return prev
	}
	return string(b)
}

// deploymentsQuery numbers each step's attempt (1 + the terminal steps
// before it of the same component, version and environment), gives every
// step its deployment's start, and orders steps by deployment, then time.
func deploymentsQuery(f model.DeploymentFilter, rules model.DeploymentRules) (string, []any) {
	terminal := rules.TerminalStatuses()
	var args []any
	for _, t := range terminal {
		args = append(args, t)
	}
	where, args := targetWhere(f.Filter, "s", nil, args)
	var b strings.Builder
	b.WriteString(`WITH marked AS (
  SELECT s.id, s.component, s.version, s.environment, s.owner, s.status, s.time,
    CASE WHEN LOWER(s.status) IN (` + placeholders(len(terminal)) + `) THEN 1 ELSE 0 END AS terminal
  FROM steps s`)
	if len(where) > 0 {
		b.WriteString("\n  WHERE " + strings.Join(where, " AND "))
	}
	b.WriteString(`
), numbered AS (
  SELECT id, component, version, environment, owner, status, time,
    1 + COALESCE(SUM(terminal) OVER (PARTITION BY component, version, environment ORDER BY time, id
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS attempt
  FROM marked
), started AS (
  SELECT id, component, version, environment, owner, status, time, attempt,
    MIN(time) OVER (PARTITION BY component, version, environment, attempt) AS started_at
  FROM numbered
)
SELECT id, component, version, environment, owner, status, time, attempt FROM started`)
	var outer []string
	if !f.Since.IsZero() {
		outer = append(outer, "started_at >= ?")
		args = append(args, dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		outer = append(outer, "started_at <= ?")
		args = append(args, dbTime(f.Until))
	}
	cmp, dir := ">", "ASC"
	if f.Descending() {
		cmp, dir = "<", "DESC"
	}
	if f.After != nil {
		k := f.After
		cond, cargs := after(cmp, []string{"started_at", "component", "version", "environment", "attempt"},
			[]any{dbTime(k.StartedAt), k.Component, k.Version, k.Environment, k.Attempt})
		outer = append(outer, cond)
		args = append(args, cargs...)
	}
	if len(outer) > 0 {
		b.WriteString("\nWHERE " + strings.Join(outer, " AND "))
	}
	b.WriteString("\nORDER BY started_at " + dir + ", component " + dir + ", version " + dir + ", environment " + dir +
		", attempt " + dir + ", time ASC, id ASC")
	return b.String(), args
}

// after returns the condition "(cols) > (vals)" (or <) in lexicographic
// order, spelt out for databases without row-value comparisons.
func after(cmp string, cols []string, vals []any) (string, []any) {
	if len(cols) == 1 {
		return cols[0] + " " + cmp + " ?", vals
	}
	rest, restArgs := after(cmp, cols[1:], vals[1:])
	args := append([]any{vals[0], vals[0]}, restArgs...)
	return "(" + cols[0] + " " + cmp + " ? OR (" + cols[0] + " = ? AND " + rest + "))", args
}

// EachDeployment builds every deployment matching f, in no particular
// order, and calls fn for each: one pass over the deployment index, with no
// sorting in the database, for aggregates such as stats.
func (s *Store) EachDeployment(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	where, args := targetWhere(f.Filter, "s", nil, nil)
	query := "SELECT s.id, s.component, s.version, s.environment, s.owner, s.status, s.time FROM steps s"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY s.component, s.version, s.environment, s.time, s.id"
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	b := model.NewDeploymentBuilder(rules, now, func(d *model.Deployment) error {
		if !f.Matches(d) {
			return nil
		}
		return fn(d)
	})
	return scanDeploymentSteps(rows, b, false)
}

// maxGatheredPage is the largest page of deployments gathered in one
// unordered pass (see gatherDeploymentPage) rather than ordered by the
// database's window functions. A short page — the latest deployments, a
// dashboard's list — costs one index scan instead of two materialised
// window stages, which over millions of steps is the difference between
// about a second and many; long pages, read one after another, are cheaper
// ordered by the database once each.
const maxGatheredPage = 200

// gatherDeploymentPage builds the page in one pass over the deployment
// index (as EachDeployment), keeping only the Limit+1 first deployments in
// the list's order after f.After, then emits them in order.
func (s *Store) gatherDeploymentPage(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) (*model.DeploymentKey, error) {
	before := func(a, b *model.Deployment) bool {
		c := compareKeys(a.Key(), b.Key())
		if f.Descending() {
			return c > 0
		}
		return c < 0
	}
	keep := f.Limit + 1 // one more says whether another page exists
	var page []*model.Deployment
	err := s.EachDeployment(ctx, f, rules, now, func(d *model.Deployment) error {
		if f.After != nil {
			c := compareKeys(d.Key(), *f.After)
			if (!f.Descending() && c <= 0) || (f.Descending() && c >= 0) {
				return nil
			}
		}
		if len(page) == keep && !before(d, page[keep-1]) {
			return nil
		}
		i, _ := slices.BinarySearchFunc(page, d, func(a, b *model.Deployment) int {
			if before(a, b) {
				return -1
			}
			return 1
		})
		page = slices.Insert(page, i, d)
		if len(page) > keep {
			page = page[:keep]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var next *model.DeploymentKey
	if len(page) > f.Limit {
		page = page[:f.Limit]
		k := page[f.Limit-1].Key()
		next = &k
	}
	for _, d := range page {
		if err := fn(d); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// compareKeys orders deployment keys as the window query does: by start,
// then component, version and environment (byte order, as utf8mb4_bin and
// SQLite's BINARY collation), then attempt.
func compareKeys(a, b model.DeploymentKey) int {
	if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
		return c
	}
	if c := strings.Compare(a.Component, b.Component); c != 0 {
		return c
	}
	if c := strings.Compare(a.Version, b.Version); c != 0 {
		return c
	}
	if c := strings.Compare(a.Environment, b.Environment); c != 0 {
		return c
	}
	return a.Attempt - b.Attempt
}
