// Package store keeps steps in a SQL database through bun: MySQL/MariaDB in
// production, an embedded pure-Go SQLite file by default. Every value reaches
// the database as a driver parameter, never spliced into SQL text.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/extra/bundebug"
	"github.com/uptrace/bun/migrate"
)

// maxMySQLConns bounds the MySQL connection pool of one stepsd.
const maxMySQLConns = 32

//go:embed migrations
var migrationFiles embed.FS

// Store is the persistence of steps. It is safe for concurrent use.
type Store struct {
	db   *bun.DB
	kind string

	// writeSlot serialises writes on SQLite, which has one writer at a time
	// anyway: waiting here, in order, is cheaper and fairer than many
	// connections spinning on the busy timeout. nil on MySQL.
	writeSlot chan struct{}

	stmts stmtCache
	group *groupCommitter
	// consecutiveIDs says one INSERT's rows get consecutive ids (always on
	// SQLite, which has one writer; on MySQL, see detectConsecutiveIDs).
	consecutiveIDs bool
	// deriveSlot lets one goroutine derive deployments at a time, and
	// written wakes the background deriver (see derive.go).
	deriveSlot chan struct{}
	written    chan struct{}
	// deriveLog, set by KeepDeploymentsDerived, reports long passes.
	deriveLog atomic.Pointer[slog.Logger]
	limits    deriveLimits
}

// Open connects to the database named by dsn (sqlite:PATH or
// mysql://USER:PASS@HOST:PORT/DB) and checks that it answers. It does not
// migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	src, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{kind: src.kind, deriveSlot: make(chan struct{}, 1), written: make(chan struct{}, 1), limits: defaultDeriveLimits}
	switch src.kind {
	case KindSQLite:
		if err := ensureDir(src.path); err != nil {
			return nil, err
		}
		sqldb, err := sql.Open(sqliteshim.ShimName, src.driverDSN)
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		sqldb.SetMaxOpenConns(16)
		sqldb.SetMaxIdleConns(16)
		s.db = bun.NewDB(sqldb, sqlitedialect.New())
		s.writeSlot = make(chan struct{}, 1)
	case KindMySQL:
		sqldb, err := sql.Open("mysql", src.driverDSN)
		if err != nil {
			return nil, fmt.Errorf("open mysql: %w", err)
		}
		// Bounded well under MySQL's default max_connections (151), so that
		// a few replicas, a migration and an operator's client all fit.
		sqldb.SetMaxOpenConns(maxMySQLConns)
		sqldb.SetMaxIdleConns(maxMySQLConns)
		sqldb.SetConnMaxLifetime(5 * time.Minute)
		sqldb.SetConnMaxIdleTime(time.Minute)
		// Ping before bun sees the handle: its MySQL dialect asks for the
		// server's version at once, and logs outside our logger if it can't.
		if err := sqldb.PingContext(ctx); err != nil {
			sqldb.Close()
			return nil, connectError(err)
		}
		s.db = bun.NewDB(sqldb, mysqldialect.New())
	}
	if os.Getenv("STEPS_DEBUG_SQL") != "" {
		s.db = s.db.WithQueryHook(bundebug.NewQueryHook(bundebug.WithVerbose(true)))
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, connectError(err)
	}
	s.consecutiveIDs = s.kind == KindSQLite
	if s.kind == KindMySQL {
		s.detectConsecutiveIDs(ctx)
	}
	s.startCommitters()
	return s, nil
}

// Kind reports which database the store uses: KindSQLite or KindMySQL.
func (s *Store) Kind() string {
	return s.kind
}

// DB returns the underlying database handle, for pool statistics.
func (s *Store) DB() *sql.DB {
	return s.db.DB
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return unavailable("ping database", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stopCommitters()
	s.stmts.close()
	return s.db.Close()
}

// Migrate applies every migration not yet applied and returns their names.
// Several stepsd replicas may start at once: only one migrates, the others
// wait for its lock.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+s.kind)
	if err != nil {
		return nil, err
	}
	migrations := migrate.NewMigrations()
	if err := migrations.Discover(sub); err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	m := migrate.NewMigrator(s.db, migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", translate(err))
	}
	if err := lockMigrations(ctx, m); err != nil {
		return nil, err
	}
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort; the lock row is reported if it stays
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name+"_"+mig.Comment)
	}
	return names, nil
}

func lockMigrations(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrations are locked by another stepsd for over a minute; if no other stepsd is migrating, delete the row in bun_migration_locks: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// acquireWrite takes the SQLite write slot; it is a no-op on MySQL.
func (s *Store) acquireWrite(ctx context.Context) (release func(), err error) {
	if s.writeSlot == nil {
		return func() {}, nil
	}
	select {
	case s.writeSlot <- struct{}{}:
		return func() { <-s.writeSlot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stmtCache keeps one prepared statement per SQL text. The texts are
// constants or built from a small, fixed set of clauses, so it stays small;
// preparing once saves MySQL a round trip and a parse on every request.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, translate(err)
	}
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
