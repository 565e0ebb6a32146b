package store

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"sync"

	"github.com/steps-dev/steps/pkg/model"
)

// stmtCache keeps one prepared statement per SQL text, on one pool. The
// texts are constants or built from a small, fixed set of clauses, so it
// stays small; preparing once saves MySQL a round trip and a parse on
// every request.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex // guards stmts
	stmts map[string]*sql.Stmt
	// preparing is held while a statement is prepared: one at a time (the
	// MySQL write pool's one spare connection counts on it), and a caller
	// that waits for it gives up when its context ends, as one waiting for
	// a mutex could not.
	preparing chan struct{}
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, preparing: make(chan struct{}, 1)}
}

// preparedWrite is query prepared for write transactions (writeTx): on
// MySQL, on the write pool.
func (s *Store) preparedWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	return s.writeStmts.get(ctx, query)
}

func (c *stmtCache) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.stmts[query]
	return st, ok
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.lookup(query); ok {
		return st, nil
	}
	select {
	case c.preparing <- struct{}{}:
	case <-ctx.Done():
		return nil, translate(ctx.Err())
	}
	defer func() { <-c.preparing }()
	if st, ok := c.lookup(query); ok {
		return st, nil // prepared while this one waited
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, translate(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// upsert is the clause that turns an INSERT into an update of the row
// whose key it duplicates, in each database's spelling.
type upsert struct{ mysql, sqlite string }

// excludedColumn is how SQLite names the value an INSERT proposed for a
// column; MySQL and MariaDB say VALUES(column).
var excludedColumn = regexp.MustCompile(`excluded\.(\w+)`)

// onConflict is the upsert that, on a duplicate of the key columns, sets
// sets (written in SQLite's spelling, excluded.column).
func onConflict(key, sets string) upsert {
	return upsert{
		mysql:  " ON DUPLICATE KEY UPDATE " + excludedColumn.ReplaceAllString(sets, "VALUES($1)"),
		sqlite: " ON CONFLICT (" + key + ") DO UPDATE SET " + sets,
	}
}

// in is u as the store's database spells it.
func (u upsert) in(s *Store) string { return byKind(s, u.mysql, u.sqlite) }

// byKind is mysql on MySQL and sqlite on SQLite: the store's statement
// sizes, locks and index hints, each spelt or sized for its database.
func byKind[T any](s *Store, mysql, sqlite T) T {
	if s.kind == KindSQLite {
		return sqlite
	}
	return mysql
}

// repeated is n items with sep between them: the placeholders, VALUES
// rows or conditions of a statement for n values.
func repeated(n int, item, sep string) string {
	return strings.TrimSuffix(strings.Repeat(item+sep, n), sep)
}

// query runs a prepared query in tx, a write transaction (writeTx); a
// read transaction, begun on the read pool, runs s.stmts.query: database/sql
// runs in a transaction only the statements of its own pool.
func (s *Store) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	return s.writeStmts.query(ctx, tx, query, args...)
}

// query runs query, prepared on c's pool, in tx, a transaction of that
// pool, or outside one with a nil tx.
func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	stmt, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx != nil {
		stmt = tx.StmtContext(ctx, stmt)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	return rows, translate(err)
}

// exec runs a prepared statement in tx, a write transaction.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	_, err := s.execResult(ctx, tx, query, args...)
	return err
}

// execCount is exec that returns the rows affected.
func (s *Store) execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := s.execResult(ctx, tx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, translate(err)
}

// execResult runs a prepared statement in tx, a write transaction, and
// returns its result.
func (s *Store) execResult(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	stmt, err := s.preparedWrite(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	return res, translate(err)
}

// scanAll calls each for every row, then closes rows.
func scanAll(rows *sql.Rows, each func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := each(); err != nil {
			return translate(err)
		}
	}
	return translate(rows.Err())
}

// scanStepsBy adds each row of stepColumns to m under key(step), then
// closes rows.
func scanStepsBy[K comparable](rows *sql.Rows, m map[K][]model.Step, key func(model.Step) K) error {
	sc := newStepScanner()
	return scanAll(rows, func() error {
		st, err := sc.scan(rows)
		if err != nil {
			return err
		}
		k := key(st)
		m[k] = append(m[k], st)
		return nil
	})
}
