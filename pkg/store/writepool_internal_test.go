package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
)

// TestCommitOutlivesItsContext: a transaction's context that ends while
// its COMMIT is in flight does not turn a commit the server made into an
// error. The COMMIT's answer is held back by a proxy until the row is
// visible from another session, then the context is cancelled, then the
// answer let through: Commit must report success. Closing the socket
// under a COMMIT already sent (the watch) made it report the context's
// error for a committed transaction, and a client told 503 sends its step
// again: stored twice.
func TestCommitOutlivesItsContext(t *testing.T) {
	cfg, direct := freshMySQL(t)
	if _, err := direct.Exec("CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	px := startHoldProxy(t, cfg.Addr)
	wcfg := cfg.Clone()
	wcfg.Addr = px.addr
	w, err := openMySQLWriter(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	px.hold()
	done := make(chan error, 1)
	go func() { done <- tx.Commit() }()
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; n != 1; {
		if time.Now().After(deadline) {
			px.release()
			t.Fatalf("the row was not committed within 10 s: %v", <-done)
		}
		if err := direct.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	// Give a watch on the context the time to act on the socket before
	// the server's answer goes through.
	select {
	case <-px.clientClosed:
	case <-time.After(time.Second):
	}
	px.release()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Commit of a transaction the server committed: %v; want nil", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("Commit did not return")
	}
}

// freshMySQL creates a database of its own on the server of
// STEPS_TEST_MYSQL_DSN, and returns the store's settings for it and a
// plain pool on it.
func freshMySQL(t *testing.T) (*mysql.Config, *sql.DB) {
	t.Helper()
	dsn := os.Getenv("STEPS_TEST_MYSQL_DSN")
	if dsn == "" {
		t.Skip("set STEPS_TEST_MYSQL_DSN to run the MySQL tests")
	}
	src, err := parseMySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", src.mysql.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("wpinternal_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	cfg := src.mysql.Clone()
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE " + name) //nolint:errcheck // best effort
		db.Close()
	})
	return cfg, db
}

// holdProxy forwards TCP connections to a server, and can hold back what
// the server sends until released.
type holdProxy struct {
	addr         string
	gate         sync.RWMutex // write-locked while held
	clientClosed chan struct{}
	closeOnce    sync.Once
}

func startHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{addr: ln.Addr().String(), clientClosed: make(chan struct{})}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			conns.Add(2)
			go func() {
				defer conns.Done()
				io.Copy(server, client) //nolint:errcheck // ends with either side
				p.closeOnce.Do(func() { close(p.clientClosed) })
				server.Close()
			}()
			go func() {
				defer conns.Done()
				defer client.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						p.gate.RLock()
						_, werr := client.Write(buf[:n])
						p.gate.RUnlock()
						if werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

func (p *holdProxy) hold()    { p.gate.Lock() }
func (p *holdProxy) release() { p.gate.Unlock() }

// TestSessionLockOutlivesAnIdleTimeout: the connection that holds the
// migrations' session lock is idle while another migrates, and a server's
// wait_timeout (or a proxy's idle timeout) ended it, dropping the lock: a
// second stepsd would then take the row of a live migration for dead.
// Kept busy, the session lock stays held.
func TestSessionLockOutlivesAnIdleTimeout(t *testing.T) {
	cfg, direct := freshMySQL(t)
	pool, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := bun.NewDB(pool, mysqldialect.New())
	l, err := migrationSessionLock(context.Background(), db)
	if err != nil || l == nil || !l.held {
		t.Fatalf("migrationSessionLock = %+v, %v; want it held", l, err)
	}
	if _, err := l.conn.ExecContext(context.Background(), `SET SESSION wait_timeout = 1`); err != nil {
		t.Fatal(err)
	}
	s := &Store{log: slog.New(slog.DiscardHandler)}
	release := s.keepSessionLock(l, 300*time.Millisecond)
	defer release()
	time.Sleep(2500 * time.Millisecond)
	var holder sql.NullInt64
	if err := direct.QueryRow(`SELECT IS_USED_LOCK(` + sessionLockName + `)`).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	if !holder.Valid {
		t.Error("the migrations' session lock was dropped with its idle connection")
	}
}
