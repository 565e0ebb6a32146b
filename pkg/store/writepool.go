package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/go-sql-driver/mysql"
)

// The MySQL write pool. Write transactions run on connections of their
// own whose sessions have autocommit off, so that a transaction begins
// with its first statement instead of a START TRANSACTION round trip (a
// step continuing a cached target takes four, not five), and a Galera
// node's guard works (guarded). Reads stay on the autocommit pool: here a
// read outside a transaction would leave one open.

// maxWriteConns bounds the write pool. The store's writeSlot lets one
// transaction fewer than that run at once: a transaction that prepares a
// statement needs a second connection for it, and stmtCache prepares one
// at a time, so one spare is enough.
const maxWriteConns = 8

// errOutsideTx refuses a statement on a write connection outside a
// transaction: with autocommit off, it would open one that nobody ends.
var errOutsideTx = errors.New("store: statement on a write connection outside a transaction")

// A write transaction's context is watched once, up to its COMMIT or
// ROLLBACK (see end), not by the driver for each statement, which cost
// two wake-ups per statement, a fifth of stepsd's CPU per step at c=8.
// When the context ends, the connection's socket is closed, which ends
// the statement in flight, and the statement returns the context's error.

// socketSlot is the context key under which Connect receives the socket
// its dial made.
type socketSlot struct{}

// dialWriter dials as the driver does, and leaves the socket where
// Connect can take it.
func dialWriter(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if slot, ok := ctx.Value(socketSlot{}).(*net.Conn); ok && err == nil {
		*slot = conn
	}
	return conn, err
}

// openMySQLWriter opens the write pool of cfg (the read pool's settings).
func openMySQLWriter(cfg *mysql.Config) (*sql.DB, error) {
	cfg = cfg.Clone()
	cfg.Params["autocommit"] = "0"
	cfg.DialFunc = dialWriter
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	db := sql.OpenDB(implicitTxConnector{connector})
	db.SetMaxOpenConns(maxWriteConns)
	db.SetMaxIdleConns(maxWriteConns)
	recycle(db)
	return db, nil
}

// implicitTxConnector connects as the MySQL driver does, and gives its
// connections transactions that begin implicitly.
type implicitTxConnector struct{ driver.Connector }

func (c implicitTxConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var socket net.Conn
	conn, err := c.Connector.Connect(context.WithValue(ctx, socketSlot{}, &socket))
	if err != nil {
		return nil, err
	}
	mc, ok := conn.(mysqlConn)
	if !ok || socket == nil {
		conn.Close()
		return nil, fmt.Errorf("open mysql: the driver's connection is a %T, dialled by another", conn)
	}
	return &implicitTxConn{mysqlConn: mc, socket: socket}, nil
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
	socket net.Conn // closed to end the statement in flight
	inTx   bool     // a transaction was begun and not yet ended
	bad    bool     // it may hold an open transaction: discard it
	// txCtx is the transaction's context while it is watched, and
	// unwatch stops the watch (false once it closed the socket).
	txCtx   context.Context
	unwatch func() bool
}

func (c *implicitTxConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.bad || c.inTx {
		return nil, driver.ErrBadConn
	}
	if opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		return nil, errors.New("store: write connections take default transactions only")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.inTx = true
	if ctx.Done() != nil {
		c.txCtx = ctx
		socket := c.socket
		c.unwatch = context.AfterFunc(ctx, func() { socket.Close() })
	}
	return implicitTx{c}, nil
}

// statementCtx is the context to run a statement of ctx with: none the
// driver would watch when the transaction's watch covers it.
func (c *implicitTxConn) statementCtx(ctx context.Context) context.Context {
	if c.txCtx != nil && ctx == c.txCtx {
		return context.Background()
	}
	return ctx
}

// cause reports err of a statement of ctx as the context's error when the
// context ended it, as the driver's own watch does.
func (c *implicitTxConn) cause(ctx context.Context, err error) error {
	if err != nil && c.txCtx != nil && ctx == c.txCtx && c.txCtx.Err() != nil {
		c.bad = true
		return c.txCtx.Err()
	}
	return err
}

func (c *implicitTxConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *implicitTxConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	res, err := c.mysqlConn.ExecContext(c.statementCtx(ctx), query, args)
	return res, c.cause(ctx, err)
}

func (c *implicitTxConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	rows, err := c.mysqlConn.QueryContext(c.statementCtx(ctx), query, args)
	return rows, c.cause(ctx, err)
}

// PrepareContext prepares query. Outside a transaction it then ends the
// one the server opened for it: with autocommit off, the metadata locks
// taken to prepare would otherwise be held by an idle connection, and
// block a migration's ALTER TABLE until it next commits.
func (c *implicitTxConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	prepared, err := c.mysqlConn.PrepareContext(c.statementCtx(ctx), query)
	if err != nil {
		return nil, c.cause(ctx, err)
	}
	stmt, ok := prepared.(mysqlStmt)
	if !ok {
		prepared.Close()
		return nil, fmt.Errorf("store: the driver's statement is a %T", prepared)
	}
	if c.inTx {
		return implicitTxStmt{stmt, c}, nil
	}
	if _, err := c.mysqlConn.ExecContext(ctx, "ROLLBACK", nil); err != nil {
		stmt.Close()
		c.bad = true
		return nil, err
	}
	return implicitTxStmt{stmt, c}, nil
}

// mysqlStmt is what database/sql uses of the MySQL driver's statement.
type mysqlStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
	driver.NamedValueChecker
	driver.ColumnConverter
}

// implicitTxStmt runs a prepared statement under its transaction's watch.
type implicitTxStmt struct {
	mysqlStmt
	c *implicitTxConn
}

func (s implicitTxStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	res, err := s.mysqlStmt.ExecContext(s.c.statementCtx(ctx), args)
	return res, s.c.cause(ctx, err)
}

func (s implicitTxStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.mysqlStmt.QueryContext(s.c.statementCtx(ctx), args)
	return rows, s.c.cause(ctx, err)
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
//
// The watch stops before COMMIT is sent, not after: a socket closed under
// a COMMIT the server has received leaves it unknown whether the
// transaction committed, and a committed group answered with the
// context's error is sent again by its clients, and stored twice. Once
// the watch has closed the socket, the server rolls the transaction back
// with the session, and nothing is sent.
func (c *implicitTxConn) end(statement string) error {
	fired := c.unwatch != nil && !c.unwatch()
	txCtx := c.txCtx
	c.txCtx, c.unwatch = nil, nil
	if fired {
		c.bad, c.inTx = true, false
		return txCtx.Err()
	}
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
