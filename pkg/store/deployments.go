package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// deploymentColumns are what a deployment is read from, joined into one
// column by U+001F, which no stored text contains: SQLite's driver costs
// about a microsecond per column and row, more than the engine's read of
// the row. concat_ws skips a NULL, which would shift the fields after it:
// the optional revision and committed_at are read as empty text instead
// (neither is ever stored blank).
const deploymentColumns = `concat_ws(char(31), component, version, environment, attempt, owner, started_at, phases,
COALESCE(revision, ''), COALESCE(committed_at, ''))`

// deploymentColumns returns deploymentColumns for the store's database:
// on SQLite as a BLOB, which its driver copies once, a TEXT twice.
func (s *Store) deploymentColumns() string {
	return byKind(s, deploymentColumns, "CAST("+deploymentColumns+" AS BLOB)")
}

// ListDeployments calls fn for each deployment matching f, ordered by start
// time (then component, version, environment, attempt; all reversed with
// order=desc), read from the deployments the writes stored: one index scan,
// one deployment in memory at a time. With f.Limit it returns the key to
// continue after, or nil on the last page. rules decide outcomes and when
// a deployment is stuck.
func (s *Store) ListDeployments(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) (*model.DeploymentKey, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	query, args := s.listDeploymentsQuery(f)
	var next *model.DeploymentKey
	emitted := 0
	var last model.DeploymentKey
	errStop := errors.New("page full")
	read := func(fn func(*model.Deployment) error) error {
		if f.Limit > 0 && f.Limit <= fewRows && f.Status == "" {
			return s.readFewDeployments(ctx, query, args, f, rules, now, fn)
		}
		return s.readDeployments(ctx, query, args, f, rules, now, false, fn)
	}
	err := read(func(d *model.Deployment) error {
		if f.Limit > 0 && emitted == f.Limit {
			next = &last
			return errStop
		}
		emitted++
		last = d.Key()
		return fn(d)
	})
	if errors.Is(err, errStop) {
		return next, nil
	}
	return nil, err
}

// listDeploymentsQuery builds the SELECT of ListDeployments for f, and its
// arguments.
func (s *Store) listDeploymentsQuery(f model.DeploymentFilter) (string, []any) {
	c := deploymentConds(f)
	cmp, dir := direction(f.Filter)
	if k := f.After; k != nil {
		// The first condition alone is a range on the index; the second
		// is exact but spelt with OR, which optimisers do not seek on.
		c.add("started_at "+cmp+"= ?", rowtext.FormatTime(k.StartedAt))
		cond, args := afterCond(cmp, []string{"started_at", "component", "version", "environment", "attempt"},
			[]any{rowtext.FormatTime(k.StartedAt), k.Component, k.Version, k.Environment, k.Attempt})
		c.add(cond, args...)
	}
	// Left to choose, MySQL sorts the whole table (phases and all) in a
	// temporary file rather than read deployments_start in order. Given a
	// version, deployments_version holds its deployments in the list's
	// order: deployments_start would be read from one end of the history to
	// them (2-3 s over a million steps), and the primary key, given a
	// component too, would sort every deployment of a version deployed for
	// years (such as "main") for a page. SQLite chooses as well alone.
	index := "deployments_start"
	if f.Version != "" {
		index = "deployments_version"
	}
	from := "deployments" + byKind(s, " FORCE INDEX ("+index+")", "")
	query := "SELECT " + s.deploymentColumns() + " FROM " + from + c.sql() +
		" ORDER BY started_at " + dir + ", component " + dir + ", version " + dir + ", environment " + dir + ", attempt " + dir
	if f.Limit > 0 && f.Status == "" {
		// A status filter is applied to the phases once read: no LIMIT.
		query += " LIMIT " + strconv.Itoa(f.Limit+1)
	}
	return query, c.args
}

// FindDeployment returns the deployment named by key (component, version,
// environment and attempt; StartedAt is not used): one lookup on the
// deployments' primary key, or ENOTFOUND. rules decide its outcome and
// whether it is stuck.
func (s *Store) FindDeployment(ctx context.Context, key model.DeploymentKey, rules model.DeploymentRules, now time.Time) (*model.Deployment, error) {
	var found *model.Deployment
	err := s.readFewDeployments(ctx, "SELECT "+s.deploymentColumns()+" FROM deployments WHERE component = ? AND version = ? AND environment = ? AND attempt = ?",
		[]any{key.Component, key.Version, key.Environment, key.Attempt}, model.DeploymentFilter{}, rules, now,
		func(d *model.Deployment) error {
			found = d
			return nil
		})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, model.Errorf(model.ENOTFOUND, "deployment %s %s %s #%d not found", key.Component, key.Version, key.Environment, key.Attempt)
	}
	return found, nil
}

// RecentSuccesses returns the history an ETA is read from (see
// model.ETAPast): the successful deployments, by rules, among the latest
// model.ETAScan of g's component and environment started in the
// model.ETALookback before now, newest first, in one query on
// deployments_component. All of them: model.ETAPast judges the outliers.
func (s *Store) RecentSuccesses(ctx context.Context, g model.ETAGroup, rules model.DeploymentRules, now time.Time) ([]*model.Deployment, error) {
	// The primary key also starts with component: keep MySQL's optimiser
	// on the index that is ordered by start as well.
	from := "deployments" + byKind(s, " FORCE INDEX (deployments_component)", "")
	query := "SELECT " + s.deploymentColumns() + " FROM " + from +
		" WHERE component = ? AND environment = ? AND started_at >= ? AND started_at <= ?" +
		" ORDER BY started_at DESC LIMIT " + strconv.Itoa(model.ETAScan)
	args := []any{g.Component, g.Environment, rowtext.FormatTime(now.Add(-model.ETALookback)), rowtext.FormatTime(now)}
	var out []*model.Deployment
	err := s.readFewDeployments(ctx, query, args, model.DeploymentFilter{}, rules, now, func(d *model.Deployment) error {
		if d.Outcome == model.OutcomeSuccess {
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Deployments starting in the same microsecond come in no set order.
	model.SortNewestFirst(out)
	return out, nil
}

// EachDeployment calls fn for each deployment matching f, one pass over the
// stored deployments, for aggregates such as stats. Each series (component
// and environment) comes in start order: the analysis keeps a long series
// in bounded memory only then (see pkg/model's history). Which series
// comes first is not set.
func (s *Store) EachDeployment(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	return s.eachDeployment(ctx, f, rules, now, false, fn)
}

// EachDeploymentPassing is EachDeployment for a caller that keeps nothing
// of a deployment past fn (no pointer to it, its steps, their durations or
// its times; its texts may be kept): the memory of each deployment is
// reused for those read after it. Over all history, allocation is half of
// what EachDeployment's is, and the garbage collector's work with it.
func (s *Store) EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	return s.eachDeployment(ctx, f, rules, now, true, fn)
}

func (s *Store) eachDeployment(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, reuse bool, fn func(*model.Deployment) error) error {
	index, order, err := s.seriesOrder(ctx, f.Filter)
	if err != nil {
		return err
	}
	if index == seriesIndex && f.Version == "" && f.Owner == "" && f.Status == "" && !s.noBlocks {
		// Blocks give this index's order, which decides the last digits
		// of sums; other orders and filters within a series read rows.
		done, err := s.eachSealed(ctx, f, rules, now, reuse, fn)
		if done || err != nil {
			return err
		}
	}
	c := deploymentConds(f)
	return s.readDeployments(ctx, "SELECT "+s.deploymentColumns()+" FROM "+s.indexed(index)+c.sql()+order, c.args, f, rules, now, reuse, fn)
}

// indexed is the deployments table read through index, named: see
// seriesOrder.
func (s *Store) indexed(index string) string {
	return byKind(s, "deployments FORCE INDEX ("+index+")", "deployments INDEXED BY "+index)
}

// seriesOrder is the index EachDeployment reads, and the order it gives.
// The table's own order is not a series' time order (InnoDB's is the
// primary key's, a series in version order; SQLite's the insertion's, and
// batches, renumbering and backfills insert out of time order), so an
// index ordered by start within a series is read:
//
//   - deployments_component (component, environment, start) for a
//     component, and for all deployments or a wide range of them: the
//     cheapest full read on SQLite, as cheap as any on MariaDB;
//   - deployments_owner for an owner's;
//   - deployments_start for a narrow range (a quarter of the stored span
//     or less): a seek, where deployments_component would be read whole.
//
// The index is named: MySQL would sort the whole table (phases and all) in
// a temporary file, and SQLite without statistics guesses.
func (s *Store) seriesOrder(ctx context.Context, f model.Filter) (index, order string, err error) {
	index, order = seriesIndex, " ORDER BY component, environment, started_at"
	switch {
	case f.Component != "":
		// deployments_component, a seek to the component.
	case f.Owner != "":
		index, order = "deployments_owner", " ORDER BY owner, started_at"
	case !f.Since.IsZero() || !f.Until.IsZero():
		wide, err := s.wideRange(ctx, f)
		if err != nil {
			return "", "", err
		}
		if !wide {
			index, order = "deployments_start", " ORDER BY started_at"
		}
	}
	return index, order, nil
}

// seriesIndex is the index that gives every series in start order, one
// series after the other.
const seriesIndex = "deployments_component"

// wideRange says whether f's since and until hold over a quarter of the
// stored deployments' span.
func (s *Store) wideRange(ctx context.Context, f model.Filter) (bool, error) {
	// Two subqueries: each is one seek to an end of deployments_start,
	// where MIN and MAX in one SELECT would read every row on SQLite.
	var first, last sql.NullString
	err := s.db.QueryRowContext(ctx, "SELECT (SELECT MIN(started_at) FROM deployments), (SELECT MAX(started_at) FROM deployments)").Scan(&first, &last)
	if err != nil {
		return false, translate(err)
	}
	if !first.Valid || !last.Valid {
		return false, nil
	}
	from, err1 := rowtext.ParseTime([]byte(first.String))
	to, err2 := rowtext.ParseTime([]byte(last.String))
	if err := errors.Join(err1, err2); err != nil {
		return false, err
	}
	span := to.Sub(from)
	lo, hi := from, to
	if f.Since.After(lo) {
		lo = f.Since
	}
	if !f.Until.IsZero() && f.Until.Before(hi) {
		hi = f.Until
	}
	return span > 0 && hi.Sub(lo) > span/4, nil
}

// deploymentConds selects deployments by f: component, version,
// environment and owner (who started it) exactly, since and until on the
// start. The status filter is applied to the phases.
func deploymentConds(f model.DeploymentFilter) *conds {
	var c conds
	c.equal("component", f.Component)
	c.equal("version", f.Version)
	c.equal("environment", f.Environment)
	c.equal("owner", f.Owner)
	c.timeRange("started_at", f.Filter)
	return &c
}

// readDeployments runs query and passes each deployment that matches f's
// status to fn, in the order of the rows, on two cores (pipeDeployments).
// With reuse, for a caller that keeps no deployment past fn, each block
// of rows' deployments are built in the memory of the block before.
func (s *Store) readDeployments(ctx context.Context, query string, args []any, f model.DeploymentFilter,
	rules model.DeploymentRules, now time.Time, reuse bool, fn func(*model.Deployment) error) error {
	return pipeDeployments(ctx, f, rules, now, reuse, fn, func(ctx context.Context, emit func([]byte) error) error {
		return s.eachRow(ctx, query, args, emit)
	})
}

// pipeDeployments is readDeployments' two stages: read runs in a
// goroutine of its own and passes each row to emit, while the caller's
// goroutine calls fn with the deployments of the rows before. Building a
// deployment from its row goes to whichever stage is the shorter: the
// reading goroutine builds a block of rows itself when the caller's has
// blocks waiting (fn is the longer stage: stats, DORA and the page over
// all history), and copies the rows for the caller's to build when none
// wait (SQLite's engine is the longer stage). Either way both cores stay
// busy to the end of a read. The blocks go round through two short
// channels, each with its own builder, so memory stays that of a few.
// read must stop when emit fails; it has let go of its rows before
// pipeDeployments returns.
func pipeDeployments(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, reuse bool,
	fn func(*model.Deployment) error, read func(ctx context.Context, emit func([]byte) error) error) error {
	// Cancelled when building or fn fails, or fn panics: the reading
	// goroutine then stops at its next hand-over.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *deploymentBlock, handoverDepth)
	empty := make(chan *deploymentBlock, handoverDepth+2)
	newReader := func() *rowtext.DeploymentReader {
		dr := rowtext.NewDeploymentReader(f, rules, now)
		dr.Reuse = reuse
		return dr
	}
	var readErr error
	go func() {
		// Closing full last publishes readErr and says the rows are
		// closed.
		defer close(full)
		// A panic here, in the driver or in building a row, would end
		// the process: no handler's recovery reaches this goroutine. It
		// fails this read instead, as it would have in the caller's.
		defer func() {
			if p := recover(); p != nil {
				readErr = fmt.Errorf("store: reading deployments: panic: %v", p)
			}
		}()
		readErr = readRows(ctx, read, newReader, full, empty)
	}()
	var err error
	for b := range full {
		// Once stopped, the blocks still sent are drained unread, until
		// the reading goroutine has closed its rows.
		if err == nil {
			if err = ctx.Err(); err == nil {
				// The deployments before a row that cannot be built
				// are passed on first.
				buildErr := b.build()
				for i := 0; err == nil && i < len(b.deps); i++ {
					err = fn(b.deps[i])
				}
				err = cmp.Or(err, buildErr)
			}
			if err != nil {
				cancel()
			}
		}
		// Past fn, a reused block's deployments may be built over.
		clear(b.deps)
		select {
		case empty <- b:
		default:
		}
	}
	// The error of a row or of fn comes first: the reading had gone past
	// it. A row the reading goroutine could not build comes after the
	// deployments before it.
	if err != nil {
		return err
	}
	return readErr
}

// fewRows is the most rows a read bounded by a LIMIT may have to be read
// by readFewDeployments: for a page, the second goroutine and its
// hand-overs cost more than the overlap gives back.
const fewRows = 1000

// readFewDeployments is readDeployments for a read of few rows (a page, one
// deployment, an ETA's history), in the caller's goroutine: each
// deployment is built from the driver's bytes of its row, with no copy.
func (s *Store) readFewDeployments(ctx context.Context, query string, args []any, f model.DeploymentFilter,
	rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error {
	dr := rowtext.NewDeploymentReader(f, rules, now)
	// The deployments built keep none of row's bytes.
	return s.eachRow(ctx, query, args, func(row []byte) error { return dr.Read(row, fn) })
}

// eachRow runs query, prepared, and calls fn with the one column of each
// row, bytes the driver reuses at the next row, up to fn's first error.
func (s *Store) eachRow(ctx context.Context, query string, args []any, fn func(row []byte) error) error {
	rows, err := s.stmts.query(ctx, nil, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var row sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return translate(err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// handoverRows is the most rows in a block handed from the reading
// goroutine to the caller's, and handoverDepth the most blocks waiting:
// enough for each stage to run while the other pauses, few enough that
// memory stays that of a few thousand rows. Each hand-over may wake a
// sleeping goroutine, which costs a virtual machine dearly: blocks of 64
// spent about a tenth of a read over 10M steps in the kernel waking
// threads; 256 take 0.2–0.3 s of CPU off it for 5 MiB more peak RSS. From
// buildAhead blocks waiting, the reading goroutine builds the next
// block's deployments itself.
const (
	handoverRows  = 256
	handoverDepth = 4
	buildAhead    = 2
)

// deploymentBlock is up to handoverRows rows, read one after the other
// into data, each ending at its offset in ends, or, when the reading
// goroutine built them (built), their deployments. Each block has its own
// builder: with reuse, the next rows it takes are built in the memory of
// its deployments before.
type deploymentBlock struct {
	dr    *rowtext.DeploymentReader
	built bool
	rows  int
	data  []byte
	ends  []int
	deps  []*model.Deployment
}

// add builds the deployment of row into b (none if the filter's status
// leaves it out).
func (b *deploymentBlock) add(row []byte) error {
	return b.dr.Read(row, func(d *model.Deployment) error {
		b.deps = append(b.deps, d)
		return nil
	})
}

// build builds the deployments of the rows b holds, unless the reading
// goroutine did.
func (b *deploymentBlock) build() error {
	if b.built {
		return nil
	}
	start := 0
	for _, end := range b.ends {
		if err := b.add(b.data[start:end:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// readRows runs read and sends the rows it emits to full in blocks of up
// to handoverRows, taken from empty or made, until read ends, fails, or
// ctx ends: copied, or built into deployments when buildAhead blocks or
// more are waiting. The rows read before an error are sent before it.
func readRows(ctx context.Context, read func(ctx context.Context, emit func([]byte) error) error,
	newReader func() *rowtext.DeploymentReader, full chan<- *deploymentBlock, empty <-chan *deploymentBlock) error {
	var b *deploymentBlock
	send := func() error {
		select {
		case full <- b:
			b = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := read(ctx, func(row []byte) error {
		if b == nil {
			select {
			case b = <-empty:
				b.dr.Rewind()
			default:
				b = &deploymentBlock{dr: newReader(), ends: make([]int, 0, handoverRows), deps: make([]*model.Deployment, 0, handoverRows)}
			}
			b.built, b.rows = len(full) >= buildAhead, 0
			b.data, b.ends, b.deps = b.data[:0], b.ends[:0], b.deps[:0]
		}
		if b.built {
			// From the driver's bytes: a deployment keeps none.
			if err := b.add(row); err != nil {
				return err
			}
		} else {
			b.data = append(b.data, row...)
			b.ends = append(b.ends, len(b.data))
		}
		if b.rows++; b.rows == handoverRows {
			return send()
		}
		return nil
	})
	if b != nil && ctx.Err() == nil {
		if sendErr := send(); err == nil {
			err = sendErr
		}
	}
	return err
}

// afterCond returns the condition "(cols) > (vals)" (or <) in
// lexicographic order, spelt out for databases without row-value
// comparisons.
func afterCond(cmp string, cols []string, vals []any) (string, []any) {
	if len(cols) == 1 {
		return cols[0] + " " + cmp + " ?", vals
	}
	rest, restArgs := afterCond(cmp, cols[1:], vals[1:])
	args := append([]any{vals[0], vals[0]}, restArgs...)
	return "(" + cols[0] + " " + cmp + " ? OR (" + cols[0] + " = ? AND " + rest + "))", args
}
