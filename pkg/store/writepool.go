package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The MySQL write pool. Write transactions run on connections of their
// own whose sessions have autocommit off, so that a transaction begins
// with its first statement instead of a START TRANSACTION round trip: a
// step continuing a cached target is then four round trips (its INSERT,
// the deployment's upsert, the target's checked upsert, COMMIT) instead
// of five, and at c=1 each round trip is two wake-ups of stepsd and of
// mariadbd (docs/benchmarks.md). Autocommit off is also what a Galera node's guard
// needs (guarded). Reads stay on the autocommit pool: on this one,
// a read outside a transaction would leave one open.

// maxWriteConns bounds the write pool. The store's writeSlot lets one
// transaction fewer than that run at once (group commit has one at a
// time on MySQL, batches and imports a few more): a transaction that
// prepares a statement (stmtCache) needs a second connection for it, and
// with every connection in a transaction waiting for one, none would
// come. stmtCache prepares one statement at a time, so one spare is
// enough.
const maxWriteConns = 8

// errOutsideTx refuses a statement on a write connection outside a
// transaction: with autocommit off, it would open one that nobody ends.
var errOutsideTx = errors.New("store: statement on a write connection outside a transaction")

// openMySQLWriter opens the write pool of cfg (the read pool's settings).
func openMySQLWriter(cfg *mysql.Config) (*sql.DB, error) {
	cfg = cfg.Clone()
	cfg.Params["autocommit"] = "0"
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	db := sql.OpenDB(implicitTxConnector{connector})
	db.SetMaxOpenConns(maxWriteConns)
	db.SetMaxIdleConns(maxWriteConns)
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// implicitTxConnector connects as the MySQL driver does, and gives its
// connections transactions that begin implicitly.
type implicitTxConnector struct{ driver.Connector }

func (c implicitTxConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	mc, ok := conn.(mysqlConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("open mysql: the driver's connection is a %T", conn)
	}
	return &implicitTxConn{mysqlConn: mc}, nil
}

// mysqlConn is what database/sql uses of the MySQL driver's connection.
type mysqlConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// implicitTxConn is a session with autocommit off. BeginTx sends nothing;
// Commit and Rollback send COMMIT and ROLLBACK. A connection whose
// transaction could not be ended is never reused: database/sql closes it.
type implicitTxConn struct {
	mysqlConn
	inTx bool // a transaction was begun and not yet ended
	bad  bool // it may hold an open transaction: discard it
}

func (c *implicitTxConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.bad || c.inTx {
		return nil, driver.ErrBadConn
	}
	if opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		return nil, errors.New("store: write connections take default transactions only")
	}
	c.inTx = true
	return implicitTx{c}, nil
}

func (c *implicitTxConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *implicitTxConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	return c.mysqlConn.ExecContext(ctx, query, args)
}

func (c *implicitTxConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	return c.mysqlConn.QueryContext(ctx, query, args)
}

// PrepareContext prepares query. Outside a transaction it then ends the
// one the server opened for it: with autocommit off, the metadata locks
// taken to prepare would otherwise be held by an idle connection, and
// block a migration's ALTER TABLE until it next commits.
func (c *implicitTxConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	stmt, err := c.mysqlConn.PrepareContext(ctx, query)
	if err != nil || c.inTx {
		return stmt, err
	}
	if _, err := c.mysqlConn.ExecContext(ctx, "ROLLBACK", nil); err != nil {
		stmt.Close()
		c.bad = true
		return nil, err
	}
	return stmt, nil
}

func (c *implicitTxConn) ResetSession(ctx context.Context) error {
	if c.bad || c.inTx {
		return driver.ErrBadConn
	}
	return c.mysqlConn.ResetSession(ctx)
}

func (c *implicitTxConn) IsValid() bool {
	return !c.bad && !c.inTx && c.mysqlConn.IsValid()
}

// end sends COMMIT or ROLLBACK. After a failed COMMIT it rolls back, so
// that nothing of the transaction stays open on the connection; if that
// fails too, the connection is marked bad.
func (c *implicitTxConn) end(statement string) error {
	ctx := context.Background() // database/sql gives Commit no context; the driver's timeouts bound it
	_, err := c.mysqlConn.ExecContext(ctx, statement, nil)
	if err != nil && statement == "COMMIT" {
		if _, rerr := c.mysqlConn.ExecContext(ctx, "ROLLBACK", nil); rerr != nil {
			c.bad = true
		}
	} else if err != nil {
		c.bad = true
	}
	c.inTx = false
	return err
}

type implicitTx struct{ c *implicitTxConn }

func (t implicitTx) Commit() error   { return t.c.end("COMMIT") }
func (t implicitTx) Rollback() error { return t.c.end("ROLLBACK") }
