// Package testdb gives tests real databases: a fresh SQLite file, and a
// fresh database on the MySQL/MariaDB server named by STEPS_TEST_MYSQL_DSN.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/steps-dev/steps/pkg/store"
)

// EnvMySQL names the variable that switches the MySQL suites on.
const EnvMySQL = "STEPS_TEST_MYSQL_DSN"

// SQLite returns the DSN of a new SQLite file in a temporary directory.
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "steps.db")
}

// MySQL returns the DSN of a new, empty database on the server named by
// STEPS_TEST_MYSQL_DSN, dropped when the test ends. Without the variable the
// test is skipped with a message saying how to enable it, except under CI,
// where a skipped MySQL suite would hide a failure: there it fails.
func MySQL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvMySQL)
	if base == "" {
		msg := "MySQL tests skipped: set " + EnvMySQL + "=mysql://root@127.0.0.1:3306/test to run them against a MySQL or MariaDB server"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must run them)")
		}
		t.Skip(msg)
	}
	return freshDatabase(t, EnvMySQL, base)
}

// freshDatabase creates a new, empty database on the server of base (a
// mysql:// DSN read from the variable env), drops it when the test ends, and
// returns base naming that database.
func freshDatabase(t testing.TB, env, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(base, "mysql://") {
		t.Fatalf("%s must look like mysql://USER:PASS@HOST:PORT/DB", env)
	}
	admin := Admin(t, base)

	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "steps_test_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database on %s (is the server running?): %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Admin opens a connection to the server of dsn (a mysql:// URL), in no
// database, for statements a test sends to the server itself: creating
// or dropping a database, a Galera node's settings. It is closed when the
// test ends, after the cleanups registered later.
func Admin(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("parse a MySQL DSN: %v", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatalf("open mysql: %v", err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn as one subtest per database: "sqlite" always, "mysql" when
// enabled (see MySQL). fresh returns the DSN of a new, empty database of
// that kind each time it is called.
func Each(t *testing.T, fn func(t *testing.T, fresh func(testing.TB) string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite) })
	t.Run("mysql", func(t *testing.T) {
		MySQL(t) // skips (or fails under CI) here, once, when MySQL is off
		fn(t, MySQL)
	})
}

// Benched returns the databases benchmarks run on: SQLite always, MySQL
// when STEPS_TEST_MYSQL_DSN names a server (benchmarks never fail for its
// absence, unlike tests under CI).
func Benched() map[string]func(testing.TB) string {
	dbs := map[string]func(testing.TB) string{"sqlite": SQLite}
	if os.Getenv(EnvMySQL) != "" {
		dbs["mysql"] = MySQL
	}
	return dbs
}

// BenchRows is the number of rows a benchmark seeds: STEPS_BENCH_ROWS, or
// def without it.
func BenchRows(tb testing.TB, def int) int {
	v := os.Getenv("STEPS_BENCH_ROWS")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("STEPS_BENCH_ROWS=%q: want a positive number of rows", v)
	}
	return n
}

// Open opens and migrates a store on dsn, closed when the test ends.
func Open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	ctx := context.Background()
	// Warnings only: every test's store migrates, and logs each migration.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := store.Open(ctx, dsn, store.WithLogger(quiet))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
