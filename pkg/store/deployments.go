package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// targetConds adds the conditions that select whole deployments: exact
// component, version and environment, and, with a time range, only those
// targets that have a step in it (a deployment starting in the range has
// its first step there). alias names the steps table in the query.
func targetConds(c *conds, f model.Filter, alias string) {
	c.equal(alias+"component", f.Component)
	c.equal(alias+"version", f.Version)
	c.equal(alias+"environment", f.Environment)
	var inRange conds
	inRange.timeRange("r.time", f)
	if len(inRange.where) > 0 {
		c.add("EXISTS (SELECT 1 FROM steps r WHERE r.component = "+alias+"component AND r.version = "+alias+
			"version AND r.environment = "+alias+"environment AND "+strings.Join(inRange.where, " AND ")+")", inRange.args...)
	}
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListDeployments builds the deployments matching f, ordered by start time
// (then component, version, environment, attempt; all reversed with
// order=desc), and calls fn for each. It derives new steps first (see
// derive.go), then reads steps_listing in order, so only one deployment is
// in memory at a time and a page costs an index seek. With f.Limit it
// returns the key to continue after, or nil on the last page.
func (s *Store) ListDeployments(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) (*model.DeploymentKey, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if err := s.deriveForList(ctx, rules); err != nil {
		return nil, err
	}
	query, args := listingQuery(f, s.deploymentColumns("", true))
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
	add := b.Add
	var reversed *reversedSteps
	if f.Descending() {
		// Newest first, each deployment's steps come last to first: the
		// index is read backwards in one direction.
		reversed = &reversedSteps{add: b.Add}
		add = reversed.Add
	}
	err = s.scanDeploymentSteps(rows, true, add)
	if err == nil && reversed != nil {
		err = reversed.Flush()
	}
	if err == nil {
		err = b.Flush()
	}
	if errors.Is(err, errStop) {
		return next, nil
	}
	return nil, err
}

// reversedSteps passes on each deployment's steps, which arrive last to
// first, in time order.
type reversedSteps struct {
	add   func(model.DeploymentStep) error
	group []model.DeploymentStep
}

func (r *reversedSteps) Add(ds model.DeploymentStep) error {
	if len(r.group) > 0 {
		g := r.group[0]
		if g.Attempt != ds.Attempt || g.Component != ds.Component || g.Version != ds.Version || g.Environment != ds.Environment {
			if err := r.Flush(); err != nil {
				return err
			}
		}
	}
	r.group = append(r.group, ds)
	return nil
}

func (r *reversedSteps) Flush() error {
	for i := len(r.group) - 1; i >= 0; i-- {
		if err := r.add(r.group[i]); err != nil {
			return err
		}
	}
	r.group = r.group[:0]
	return nil
}

// listingQuery reads derived steps in the order of steps_listing:
// deployment by deployment in start order, each in time order (all
// reversed with order=desc). Since and until bound the start; a cursor
// continues after its deployment, from an index seek on its start.
func listingQuery(f model.DeploymentFilter, columns string) (string, []any) {
	var c conds
	c.add("started_at IS NOT NULL")
	c.equal("component", f.Component)
	c.equal("version", f.Version)
	c.equal("environment", f.Environment)
	c.timeRange("started_at", f.Filter)
	cmp, dir := direction(f.Filter)
	if k := f.After; k != nil {
		// The first condition alone is a range on the index; the second
		// is exact but spelt with OR, which optimisers do not seek on.
		c.add("started_at "+cmp+"= ?", dbTime(k.StartedAt))
		cond, cargs := after(cmp, []string{"started_at", "component", "version", "environment", "attempt"},
			[]any{dbTime(k.StartedAt), k.Component, k.Version, k.Environment, k.Attempt})
		c.add(cond, cargs...)
	}
	return "SELECT " + columns + " FROM steps" + c.sql() +
		"\nORDER BY started_at " + dir + ", component " + dir + ", version " + dir + ", environment " + dir +
		", attempt " + dir + ", time " + dir + ", id " + dir, c.args
}

// deploymentColumns lists what deployments are built from: id, component,
// version, environment, owner, status, time (and attempt), of the table
// alias. SQLite gets the six texts joined in one column: its driver's cost
// is per column of every row (a lock, a type lookup and a copy each), and
// over a million rows one column instead of six halves a list. The
// separator, U+001F, is a control character, which no stored value holds
// (model.ValidateText).
func (s *Store) deploymentColumns(alias string, withAttempt bool) string {
	cols := []string{"id", "component", "version", "environment", "owner", "status", "time"}
	for i := range cols {
		cols[i] = alias + cols[i]
	}
	list := strings.Join(cols, ", ")
	if s.kind == KindSQLite {
		list = cols[0] + ", " + strings.Join(cols[1:], " || char(31) || ")
	}
	if withAttempt {
		list += ", " + alias + "attempt"
	}
	return list
}

// packedSeparator joins the texts of deploymentColumns on SQLite.
const packedSeparator = 0x1f

// scanDeploymentSteps passes rows of deploymentColumns to add. Rows come
// grouped by deployment, so consecutive rows repeat the same component,
// version, environment and owner, and statuses are few: reading raw bytes
// and reusing the strings already made saves five allocations a row over a
// scan of millions.
func (s *Store) scanDeploymentSteps(rows *sql.Rows, withAttempt bool, add func(model.DeploymentStep) error) error {
	var ds model.DeploymentStep
	var packed sql.RawBytes
	texts := make([]sql.RawBytes, 6) // component, version, environment, owner, status, time
	dest := []any{&ds.ID}
	if s.kind == KindSQLite {
		dest = append(dest, &packed)
	} else {
		for i := range texts {
			dest = append(dest, &texts[i])
		}
	}
	if withAttempt {
		dest = append(dest, &ds.Attempt)
	}
	statuses := interner{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return translate(err)
		}
		if s.kind == KindSQLite {
			if err := unpack(packed, texts); err != nil {
				return fmt.Errorf("step %d: %w", ds.ID, err)
			}
		}
		ds.Component = reuse(ds.Component, texts[0])
		ds.Version = reuse(ds.Version, texts[1])
		ds.Environment = reuse(ds.Environment, texts[2])
		ds.Owner = reuse(ds.Owner, texts[3])
		ds.Status = statuses.intern(texts[4])
		var err error
		if ds.Time, err = parseDBTime(texts[5]); err != nil {
			return err
		}
		if err := add(ds); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	return nil
}

// unpack splits b at packedSeparator into exactly len(into) parts.
func unpack(b []byte, into []sql.RawBytes) error {
	for i := range into {
		if i == len(into)-1 {
			if bytes.IndexByte(b, packedSeparator) >= 0 {
				return errors.New("stored text holds a U+001F separator")
			}
			into[i] = b
			return nil
		}
		j := bytes.IndexByte(b, packedSeparator)
		if j < 0 {
			return fmt.Errorf("stored texts: %d parts, want %d", i+1, len(into))
		}
		into[i], b = b[:j], b[j+1:]
	}
	return nil
}

// reuse returns prev when it spells b, else a new string of b.
func reuse(prev string, b []byte) string {
	if prev == string(b) {
		return prev
	}
	return string(b)
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
	var c conds
	targetConds(&c, f.Filter, "s.")
	query := "SELECT " + s.deploymentColumns("s.", false) + " FROM steps s" + c.sql() +
		" ORDER BY s.component, s.version, s.environment, s.time, s.id"
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, c.args...)
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
	if err := s.scanDeploymentSteps(rows, false, b.Add); err != nil {
		return err
	}
	return b.Flush()
}
