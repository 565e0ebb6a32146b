package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/steps-dev/steps/pkg/store"
	_ "modernc.org/sqlite" // the "sqlite" driver, as stepsd's store uses it
)

// Roles of a database: stepsd's, and the baseline server's beside it.
const (
	roleStepsd   = "stepsd"
	roleBaseline = "baseline"
)

// target is one kind of database the servers run on. fresh empties the
// database of a role; the DSNs name it for stepsd (its own DSN syntax) and
// for the baseline (a database/sql driver name and DSN).
type target interface {
	name() string
	fresh(ctx context.Context, role string) error
	stepsdDSN(role string) string
	baselineDSN(role string) (driver, dsn string)
	drop(ctx context.Context) error
}

// sqliteTarget keeps each role's database in a file of dir.
type sqliteTarget struct{ dir string }

func (t sqliteTarget) name() string { return dbSQLite }

func (t sqliteTarget) path(role string) string {
	return filepath.Join(t.dir, role+".db")
}

func (t sqliteTarget) fresh(_ context.Context, role string) error {
	if err := os.MkdirAll(t.dir, 0o750); err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(t.path(role) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (t sqliteTarget) stepsdDSN(role string) string {
	return "sqlite:" + t.path(role)
}

// baselineDSN opens the file with exactly the pragmas stepsd's store sets,
// through the same driver: the same durability and the same locking.
func (t sqliteTarget) baselineDSN(role string) (string, string) {
	return "sqlite", store.SQLiteDriverDSN(t.path(role))
}

func (t sqliteTarget) drop(context.Context) error { return nil }

// mysqlTarget keeps each role's database on one MariaDB/MySQL server.
type mysqlTarget struct {
	server *mysqlServer
	prefix string
}

func (t mysqlTarget) name() string { return dbMySQL }

func (t mysqlTarget) database(role string) string {
	if role == roleBaseline {
		return t.prefix + "_baseline"
	}
	return t.prefix
}

func (t mysqlTarget) fresh(ctx context.Context, role string) error {
	db := t.database(role)
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + db,
		"CREATE DATABASE " + db + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
	} {
		if _, err := t.server.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (t mysqlTarget) stepsdDSN(role string) string {
	u := url.URL{Scheme: "mysql", User: t.server.user, Host: t.server.addr, Path: "/" + t.database(role)}
	return u.String()
}

// baselineDSN connects as stepsd's store does (pkg/store/dsn.go): text
// times, UTC, utf8mb4_bin.
func (t mysqlTarget) baselineDSN(role string) (string, string) {
	cfg := t.server.config(t.database(role))
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	cfg.Collation = "utf8mb4_bin"
	cfg.Loc = time.UTC
	return "mysql", cfg.FormatDSN()
}

func (t mysqlTarget) drop(ctx context.Context) error {
	var errs []error
	for _, role := range []string{roleStepsd, roleBaseline} {
		if _, err := t.server.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+t.database(role)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// mysqlServer is the MariaDB/MySQL server the bench databases live on.
type mysqlServer struct {
	user  *url.Userinfo
	addr  string // host:port, loopback
	admin *sql.DB
}

// connectMySQL connects to the server named by a mysql://USER[:PASS]@HOST:PORT
// URL. Only loopback hosts are accepted: the harness never sends traffic
// off the machine.
func connectMySQL(ctx context.Context, raw string) (*mysqlServer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" || u.Host == "" {
		return nil, usageError{fmt.Errorf("--mysql must look like mysql://USER[:PASS]@127.0.0.1:3306")}
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usageError{fmt.Errorf("--mysql: host %q is not loopback; stepsbench only talks to this machine", host)}
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	user := u.User
	if user == nil {
		user = url.User("root")
	}
	s := &mysqlServer{user: user, addr: net.JoinHostPort(host, port)}
	s.admin, err = sql.Open("mysql", s.config("").FormatDSN())
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.admin.PingContext(pctx); err != nil {
		s.admin.Close()
		return nil, fmt.Errorf("MariaDB at %s does not answer (start it, or run with --dbs sqlite): %w", s.addr, err)
	}
	return s, nil
}

func (s *mysqlServer) config(db string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = s.user.Username()
	cfg.Passwd, _ = s.user.Password()
	cfg.Net = "tcp"
	cfg.Addr = s.addr
	cfg.DBName = db
	cfg.Timeout = 5 * time.Second
	return cfg
}

// clientArgs are the connection arguments of the mariadb command-line
// client; the password, if any, goes in its environment (MYSQL_PWD), not
// on a command line other users can read.
func (s *mysqlServer) clientArgs(db string) (args, env []string) {
	host, port, _ := net.SplitHostPort(s.addr)
	args = []string{"--protocol=tcp", "-h", host, "-P", port, "-u", s.user.Username(), "-D", db}
	if pw, ok := s.user.Password(); ok {
		env = append(env, "MYSQL_PWD="+pw)
	}
	return args, env
}

// describe reads the server's version and durability settings.
func (s *mysqlServer) describe(ctx context.Context) (map[string]string, error) {
	var version, flush, syncBinlog, logBin, pool string
	err := s.admin.QueryRowContext(ctx, `SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin, @@innodb_buffer_pool_size`).
		Scan(&version, &flush, &syncBinlog, &logBin, &pool)
	if err != nil {
		return nil, err
	}
	poolMiB := pool
	if n, err := strconv.ParseInt(pool, 10, 64); err == nil {
		poolMiB = strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return map[string]string{
		"version":                        version,
		"innodb_flush_log_at_trx_commit": flush,
		"sync_binlog":                    syncBinlog,
		"log_bin":                        logBin,
		"innodb_buffer_pool_size":        poolMiB,
	}, nil
}

// pid is the process id of the server, read from its pid file (the
// server is on this machine), so that its CPU time is measured even when
// other servers run here; failing that, the first mariadbd or mysqld.
func (s *mysqlServer) pid(ctx context.Context) int {
	var file string
	if err := s.admin.QueryRowContext(ctx, `SELECT @@pid_file`).Scan(&file); err == nil {
		if b, err := os.ReadFile(file); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
	}
	return findProcess("mariadbd", "mysqld")
}
