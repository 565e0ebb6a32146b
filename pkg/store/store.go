package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/extra/bundebug"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/steps-dev/steps/pkg/model"
)

// sqliteDriver is the database/sql name modernc.org/sqlite registers.
const sqliteDriver = "sqlite"

// maxMySQLConns bounds the MySQL connections of one stepsd, both pools.
const maxMySQLConns = 32

// migrationFiles are the migrations. SQLite's of more than one statement
// are named .tx.up.sql, so that bun runs each in one transaction, which a
// kill -9 cannot cut midway. MySQL commits DDL statement by statement: its
// files are run so that running them again finishes the job (rerunnableUp).
//
//go:embed migrations
var migrationFiles embed.FS

// Store is the persistence of steps. It is safe for concurrent use.
type Store struct {
	db   *bun.DB
	kind string

	// writeSlot serialises writes on SQLite, which has one writer anyway:
	// waiting here, in order, beats spinning on the busy timeout. On MySQL
	// it bounds the write transactions in flight (maxWriteConns).
	writeSlot chan struct{}

	// writer runs write transactions (writeTx): on MySQL a pool of its
	// own, with autocommit off (writepool.go); on SQLite the one pool.
	writer     *sql.DB
	stmts      *stmtCache // reads, on db
	writeStmts *stmtCache // write transactions, on writer
	group      *groupCommitter
	// consecutiveIDs says one INSERT's rows get consecutive ids (always on
	// SQLite, which has one writer; on MySQL, see detectConsecutiveIDs).
	consecutiveIDs bool
	// guardTx runs write transactions so that the server cannot end one
	// unnoticed (see guarded): on Galera nodes.
	guardTx bool
	// terminal are the statuses that end a deployment (see UseRules).
	terminal atomic.Pointer[terminalSet]
	targets  targetCache
	// maxDeploymentSteps is model.MaxDeploymentSteps; tests lower it.
	maxDeploymentSteps int

	// Sealing (seal.go): see TuneSealing; the progress of SealLoop.
	sealK       int
	maxUnsealed int
	noBlocks    bool
	sealPasses  atomic.Int64
	unsealed    atomic.Int64 // unsealed deployments + 1; 0 before a pass
	// tooUnsealed counts the reads over blocks that went row by row, their
	// unsealed rows past the bound: tests see the bound reached.
	tooUnsealed atomic.Int64

	path string      // the SQLite file (checkFile)
	file os.FileInfo // as opened; nil on MySQL
	// logBase is what SQLite names the -wal and -shm files after
	// (sqliteLogBase): path, its symbolic links resolved.
	logBase string
	// logFiles are the -wal and -shm files as opened, kept open by pin
	// (pinLog), nil where SQLite made none; logSaved is set once their
	// content, deleted under stepsd, is checkpointed into file (saveLog).
	logFiles [2]os.FileInfo
	pin      *sql.Conn
	logSaved atomic.Bool
	// logClosed is set as pin is closed: the files are SQLite's to
	// delete from then on.
	logClosed atomic.Bool
	// lockFile is the SQLite file opened for the migrations' flock
	// (tryLockMigrations), kept open until the pools are closed
	// (openLockFile says why); nil until then, and on MySQL.
	lockFile *os.File
	// deadLock is the MySQL migrations' lock row seen standing while no
	// session held migrationSessionLock, and since when (clearDeadLock);
	// deadLockAfter is how long it must stand to be cleared.
	deadLock struct {
		id    int64
		since time.Time
	}
	deadLockAfter time.Duration
	// migrationLockWait is how long Migrate waits for a migrations' lock
	// another holds (a minute).
	migrationLockWait time.Duration

	log        *slog.Logger  // what no caller is told (WithLogger)
	migrations *mysql.Config // how migrations connect to MySQL (dataSource)
	// outageSince is when the database stopped answering (observe);
	// outageByWrite says a write saw it first.
	outageSince   atomic.Int64
	outageByWrite atomic.Bool
}

// Option configures Open.
type Option func(*Store)

// WithLogger has the store log to log (slog.Default() otherwise): a wait
// for the migration lock, and on MySQL the driver's own messages, which
// would otherwise go to stderr in a format of their own.
func WithLogger(log *slog.Logger) Option {
	return func(s *Store) { s.log = log }
}

// Open connects to the database named by dsn (sqlite:PATH or
// mysql://USER:PASS@HOST:PORT/DB) and checks that it answers. It does not
// migrate: call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	src, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{kind: src.kind, maxDeploymentSteps: model.MaxDeploymentSteps, log: slog.Default(), deadLockAfter: deadMigrationLockAfter, migrationLockWait: time.Minute}
	for _, opt := range opts {
		opt(s)
	}
	terminal := newTerminalSet(model.DefaultDeploymentRules())
	s.terminal.Store(&terminal)
	switch src.kind {
	case KindSQLite:
		sqldb, err := openSQLite(ctx, src.path)
		if err != nil {
			return nil, err
		}
		s.db = bun.NewDB(sqldb, sqlitedialect.New())
		s.writer = sqldb
		s.writeSlot = make(chan struct{}, 1)
	case KindMySQL:
		src.mysql.Logger = driverLogger{s.log}
		src.migrations.Logger = src.mysql.Logger
		s.migrations = src.migrations
		sqldb, writer, err := openMySQL(ctx, src.mysql)
		if err != nil {
			return nil, err
		}
		s.db = bun.NewDB(sqldb, mysqldialect.New())
		s.writer = writer
		s.writeSlot = make(chan struct{}, maxWriteConns-1)
	}
	s.stmts = newStmtCache(s.db.DB)
	s.writeStmts = s.stmts
	if s.writer != s.db.DB {
		s.writeStmts = newStmtCache(s.writer)
	}
	s.db = debugSQL(s.db)
	if err := s.db.PingContext(ctx); err != nil {
		s.closeDBs()
		return nil, connectError(err, src.dbName())
	}
	if s.kind == KindSQLite {
		// The ping opened (or created) the file to keep writing to.
		fi, err := os.Stat(src.path)
		if err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("sqlite database file: %w", err)
		}
		s.path, s.file, s.logBase = src.path, fi, sqliteLogBase(src.path)
		s.consecutiveIDs = true
		if err := s.pinLog(ctx); err != nil {
			s.closeDBs()
			return nil, err
		}
	} else {
		s.detectConsecutiveIDs(ctx)
		s.detectGalera(ctx)
	}
	s.startCommitters()
	return s, nil
}

// openSQLite opens the SQLite file at path, creating its directory, once
// it has checked that the file can be written.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory for sqlite database: %w", err)
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	if err := createSQLite(ctx, path); err != nil {
		return nil, err
	}
	// modernc's driver by name, never a shim that picks cgo's mattn:
	// errors.go translates modernc's error codes only.
	sqldb, err := sql.Open(sqliteDriver, SQLiteDriverDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// 16 for requests, and the one pinLog holds.
	sqldb.SetMaxOpenConns(17)
	sqldb.SetMaxIdleConns(17)
	return sqldb, nil
}

// sqlitePageSize is the page size of the SQLite files stepsd creates. A
// read over all history walks every page of the sealed blocks, and
// modernc reads each page with its own pread: over 10M steps, 16 KiB pages
// took a third off the CPU of that walk and 0.6-0.9 s off each of stats,
// the page, changes and DORA, against SQLite's default of 4 KiB
// (docs/benchmarks.md, "Larger SQLite pages").
// A file made before keeps its pages until VACUUMed (docs/operations.md).
const sqlitePageSize = 16384

// createSQLite gives a new SQLite file at path (absent or empty) its page
// size before anything else is written: SQLiteDriverDSN's WAL mode fixes
// the page size of the file it is first set on, and modernc runs a DSN's
// pragmas in its own order, journal_mode before page_size.
func createSQLite(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err != nil && !errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() > 0 {
		// A file that cannot be read is openSQLite's to report.
		return nil
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)") // another stepsd creating it too
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", sqlitePageSize))
	db, err := sql.Open(sqliteDriver, "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("create sqlite database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return fmt.Errorf("create sqlite database: %w", err)
	}
	return db.Close()
}

// debugSQL has db log the SQL that goes through bun when STEPS_DEBUG_SQL
// is set (docs/configuration.md).
func debugSQL(db *bun.DB) *bun.DB {
	if os.Getenv("STEPS_DEBUG_SQL") == "" {
		return db
	}
	return db.WithQueryHook(bundebug.NewQueryHook(bundebug.WithVerbose(true)))
}

// driverLogger takes the MySQL driver's messages into the store's log.
type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Print(v ...any) {
	detail := strings.TrimSpace(fmt.Sprint(v...))
	for _, x := range v {
		if err, ok := x.(error); ok && errors.Is(err, net.ErrClosed) {
			// The write pool's watch closed it (writepool.go); the
			// statement reports its context's error.
			d.log.Debug("mysql driver", "detail", detail)
			return
		}
	}
	d.log.Warn("mysql driver", "detail", detail)
}

// openMySQLPool opens a pool of up to n connections on cfg, through a
// connector, so that the settings a DSN cannot carry (the logger) hold,
// and pings it before bun sees it: bun's MySQL dialect asks the server's
// version at once, and logs outside our logger if it can't.
func openMySQLPool(ctx context.Context, cfg *mysql.Config, n int) (*sql.DB, error) {
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, connectError(err, cfg.DBName)
	}
	return db, nil
}

// recycle has a store's pool renew its connections now and then.
func recycle(db *sql.DB) {
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
}

// openMySQL opens the MySQL pools, for reads and for writes
// (openMySQLWriter), with READ COMMITTED sessions: writes lock their
// targets' rows (number.go), and under REPEATABLE READ locking a row not
// there yet also locks the gap around it, where writers of neighbouring
// new targets deadlock. MySQL 8 and MariaDB before 11.1 spell the
// variable differently: a first connection asks.
func openMySQL(ctx context.Context, cfg *mysql.Config) (reads, writes *sql.DB, err error) {
	cfg = cfg.Clone()
	probe, err := openMySQLPool(ctx, cfg, 1)
	if err != nil {
		return nil, nil, err
	}
	defer probe.Close()
	name := "transaction_isolation"
	var level string
	if probe.QueryRowContext(ctx, `SELECT @@transaction_isolation`).Scan(&level) != nil {
		name = "tx_isolation" // MariaDB before 11.1
	}
	cfg.Params[name] = "'READ-COMMITTED'"
	// Bounded, with the write pool, well under MySQL's default
	// max_connections (151): a few replicas, a migration and an operator's
	// client all fit.
	sqldb, err := openMySQLPool(ctx, cfg, maxMySQLConns-maxWriteConns)
	if err != nil {
		return nil, nil, err
	}
	recycle(sqldb)
	writer, err := openMySQLWriter(cfg)
	if err != nil {
		sqldb.Close()
		return nil, nil, err
	}
	return sqldb, writer, nil
}

// Kind reports which database the store uses: KindSQLite or KindMySQL.
func (s *Store) Kind() string {
	return s.kind
}

// SQLiteFile is the absolute path of the SQLite file the store uses, ""
// on MySQL: a DSN such as sqlite:steps.db is relative to the directory
// stepsd was started in, and an operator looking for the data (or for
// why it seems gone after a start from another directory) needs the file.
func (s *Store) SQLiteFile() string {
	if s.kind != KindSQLite {
		return ""
	}
	if abs, err := filepath.Abs(s.path); err == nil {
		return abs
	}
	return s.path
}

// DB returns the underlying database handle, for pool statistics.
func (s *Store) DB() *sql.DB {
	return s.db.DB
}

// WriteDB returns MySQL's pool of write transactions, for pool
// statistics: nil on SQLite, whose one pool DB returns.
func (s *Store) WriteDB() *sql.DB {
	if s.writer == s.db.DB {
		return nil
	}
	return s.writer
}

// Ping checks that the store can take steps (GET /readyz): the database
// answers, its steps table is there (a dropped MySQL database still
// answers a ping), on SQLite the file is still the one opened, and a
// Galera node is Synced (see galeraSynced).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return err
	}
	if s.guardTx {
		return s.galeraSynced(ctx)
	}
	return nil
}

// ping is Ping up to the Galera state: whether the database answers.
func (s *Store) ping(ctx context.Context) (err error) {
	defer func() { s.observe(err, false) }()
	if err := s.checkFile(ctx); err != nil {
		return err
	}
	var id int64
	qerr := s.db.QueryRowContext(ctx, "SELECT id FROM steps LIMIT 1").Scan(&id)
	if qerr != nil && !errors.Is(qerr, sql.ErrNoRows) {
		if model.ErrorCode(translate(qerr)) == model.EUNAVAILABLE {
			return translate(qerr)
		}
		return unavailable("query the steps table", qerr)
	}
	return nil
}

// galeraSynced reports, as EUNAVAILABLE, a Galera node that answers
// queries but is not Synced: a donor or a node desynced by hand
// (wsrep_desync, FLUSH TABLES WITH READ LOCK, a backup) stops applying
// the others' writes, so its reads fall behind and its writes can wait
// for as long as it stays so; a joined node is still catching up. Its
// replica should get no traffic meanwhile. The node answers, so this is
// not an outage for the log (observe), only for readiness.
func (s *Store) galeraSynced(ctx context.Context) error {
	var name, state string
	err := s.db.QueryRowContext(ctx, "SHOW STATUS LIKE 'wsrep_local_state_comment'").Scan(&name, &state)
	if err != nil {
		if model.ErrorCode(translate(err)) == model.EUNAVAILABLE {
			return translate(err)
		}
		return unavailable("read the Galera node's state", err)
	}
	if state != "Synced" {
		return unavailable("galera node not synced", fmt.Errorf("wsrep_local_state_comment is %s, not Synced", state))
	}
	return nil
}

// checkFile reports, as EUNAVAILABLE, that the SQLite database file was
// deleted or replaced since Open (SQLite would keep writing to a file
// that no longer has a name), or made immutable.
func (s *Store) checkFile(ctx context.Context) error {
	if s.file == nil {
		return nil
	}
	fi, err := os.Stat(s.path)
	if err != nil || !os.SameFile(s.file, fi) {
		if err == nil {
			err = errors.New("another file now has its name")
		}
		return unavailable("sqlite database file "+s.path+" was deleted or replaced while stepsd runs; "+
			"nothing written now would survive a restart: restore the file from a backup if need be, then restart stepsd", err)
	}
	if err := s.checkLogFiles(ctx); err != nil {
		return err
	}
	for _, name := range []string{s.path, s.logBase + "-wal", s.logBase + "-shm"} {
		if frozen(name) {
			return unavailable("sqlite database file "+name+" is immutable or append-only (chattr +i or +a)",
				errors.New("SQLite cannot write it; clear the flag with chattr -i -a"))
		}
	}
	return nil
}

// checkWritable fails fast, saying why, when the SQLite file or its
// directory cannot be written: SQLite would open the file read-only and
// fail only at the first write, misleadingly.
func checkWritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case err == nil:
		f.Close()
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		return fmt.Errorf("database file is read-only: %s: %w", path, err)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open database file: %w", err)
	}
	base := sqliteLogBase(path)
	if err := checkLogWritable(base); err != nil {
		return err
	}
	// SQLite creates the -wal and -shm files beside the database, the
	// file a symbolic link names: the link's own directory was probed,
	// which refused a link kept in a read-only one and let a link into a
	// read-only one wait out "unable to open database file".
	dir := filepath.Dir(base)
	probe, err := os.CreateTemp(dir, ".stepsd-write-check-*")
	if err != nil {
		return fmt.Errorf("database directory is read-only: %s (SQLite creates its -wal and -shm files there): %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// checkLogWritable fails fast, saying which, when a -wal or -shm file left
// beside the database cannot be written, or is a symbolic link: one left by
// another user (sqlite3 run as root, a restore copied as root) made SQLite
// answer "unable to open database file", which stepsd took for an outage
// and waited out for a minute before it exited 1.
func checkLogWritable(path string) error {
	for _, suffix := range logSuffixes {
		if fi, err := os.Lstat(path + suffix); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			// SQLite opens its files with O_NOFOLLOW: through a link it
			// answered "unable to open database file", waited out as an
			// outage.
			target, _ := os.Readlink(path + suffix) //nolint:errcheck // only named in the message
			return fmt.Errorf("database file is a symbolic link: %s -> %s (SQLite opens none of its files through a link; if the file linked to holds this database's log, move it in place of the link, else remove the link)",
				path+suffix, target)
		}
		f, err := os.OpenFile(path+suffix, os.O_RDWR, 0)
		switch {
		case err == nil:
			f.Close()
		case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
			return fmt.Errorf("database file is read-only: %s (SQLite writes it beside %s; give it to the user stepsd runs as, e.g. chown 65532:65532 in the image, as the database file): %w",
				path+suffix, filepath.Base(path), err)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("open database file: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stopCommitters()
	s.stmts.close()
	s.writeStmts.close()
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var err error
	if s.pin != nil {
		// Back to the pool first, so that closing the pool closes the
		// last connection, which folds the -wal file into the database.
		s.logClosed.Store(true)
		err = s.pin.Close()
	}
	if s.writer != nil && s.writer != s.db.DB {
		err = errors.Join(err, s.writer.Close())
	}
	err = errors.Join(s.db.Close(), err)
	if s.lockFile != nil {
		// Last: closing it drops SQLite's fcntl locks on the file too.
		err = errors.Join(err, s.lockFile.Close())
	}
	return err
}

// Migrate applies every migration not yet applied and returns their names.
// Several stepsd replicas may start at once: only one migrates, the others
// wait for its lock.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	return s.migrate(ctx, "")
}

// migrate applies the migrations not yet applied, up to the one named
// upTo ("": all of them).
func (s *Store) migrate(ctx context.Context, upTo string) ([]string, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/"+s.kind)
	if err != nil {
		return nil, err
	}
	all := migrate.NewMigrations()
	if err := all.Discover(sub); err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	migrations := migrate.NewMigrations()
	for _, mig := range all.Sorted() {
		if upTo == "" || mig.Name <= upTo {
			if s.kind == KindMySQL {
				mig.Up = rerunnableUp(sub, mig.Name+"_"+mig.Comment+".up.sql")
			}
			s.logMigration(&mig)
			migrations.Add(mig)
		}
	}
	db, closeDB, err := s.migrationDB(ctx)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	m := migrate.NewMigrator(db, migrations, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", translate(err))
	}
	release, err := s.lockMigrations(ctx, m, db)
	if err != nil {
		return nil, err
	}
	defer release()
	defer m.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // best effort; the lock row is reported if it stays
	if err := checkNotNewer(ctx, m); err != nil {
		return nil, err
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name+"_"+mig.Comment)
	}
	if err := s.fenceSealing(ctx, names, time.Now()); err != nil {
		return names, fmt.Errorf("migrate: %w", err)
	}
	return names, nil
}

// logMigration has mig log as it runs: "applying migration" before, and
// "applied migration" with its duration after. A migration that rewrites a
// large table takes minutes, and bun reports only once all are done.
func (s *Store) logMigration(mig *migrate.Migration) {
	up := mig.Up
	if up == nil {
		return
	}
	name := mig.Name + "_" + mig.Comment
	mig.Up = func(ctx context.Context, m *migrate.Migrator, applied *migrate.Migration) error {
		s.log.Info("applying migration", "migration", name)
		began := time.Now()
		if err := up(ctx, m, applied); err != nil {
			return err
		}
		s.log.Info("applied migration", "migration", name, "seconds", time.Since(began).Seconds())
		return nil
	}
}

// migrationDB is the database migrations run on: on MySQL a connection of
// their own, without the store's ioTimeout (an ALTER TABLE answers only
// once the table is rebuilt).
func (s *Store) migrationDB(ctx context.Context) (*bun.DB, func(), error) {
	if s.migrations == nil {
		return s.db, func() {}, nil
	}
	// Two connections: one holds the session lock (migrationSessionLock)
	// while the other migrates.
	sqldb, err := openMySQLPool(ctx, s.migrations, 2)
	if err != nil {
		return nil, nil, err
	}
	return debugSQL(bun.NewDB(sqldb, mysqldialect.New())), func() { sqldb.Close() }, nil
}

// retiredMigrations were applied by builds of main and then removed: the
// record_step procedure, 20261130000003 from 72e227b and renamed
// 20261130200000 by 7c23c69, reverted by b70eb84. A database that has
// them is not newer than this stepsd.
var retiredMigrations = map[string]bool{"20261130000003": true, "20261130200000": true}

// ErrNewerSchema says the database was migrated by a newer stepsd.
var ErrNewerSchema = errors.New("the database was migrated by a newer stepsd")

// checkNotNewer refuses a database that has migrations this stepsd does
// not know: it would write without what they added (steps that no list of
// deployments shows). Going back is restoring the pre-upgrade backup.
func checkNotNewer(ctx context.Context, m *migrate.Migrator) error {
	unknown, err := m.MissingMigrations(ctx)
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", translate(err))
	}
	var names []string
	for _, mig := range unknown {
		if !retiredMigrations[mig.Name] {
			names = append(names, mig.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return fmt.Errorf("%w (migration %s, which this version does not have): "+
		"run that version or a newer one; to go back to this one, restore the backup taken before the upgrade (docs/operations.md#upgrades)",
		ErrNewerSchema, strings.Join(names, ", "))
}

// firstMigration is the migration that creates the tables: applied with
// the others, the database is new.
const firstMigration = "20261127000001"

// lockMigrations takes the migrations' lock, waiting up to a minute for
// another stepsd that holds it (several replicas starting at once), and
// returns what releases it after m.Unlock.
//
// On SQLite the lock row is taken under an flock of the database file,
// which the kernel drops when its holder dies: a row found by a stepsd
// holding the flock was left by one killed while migrating (a kill -9, a
// liveness probe's restart) and is cleared, where on MySQL it would wait a
// minute and fail on every start until an operator deleted it by hand.
func (s *Store) lockMigrations(ctx context.Context, m *migrate.Migrator, db *bun.DB) (release func(), err error) {
	deadline := time.Now().Add(s.migrationLockWait)
	logged := false
	for {
		held, err := s.tryLockMigrations(ctx, m, db)
		if err == nil && held != nil {
			return held, nil
		}
		// Only a lock held by another stepsd (a duplicate key, a file
		// held) or a database that may come back is worth waiting for.
		t := translate(err)
		busy := err == nil || errors.Is(t, errDuplicate)
		if !busy && model.ErrorCode(t) != model.EUNAVAILABLE {
			return nil, fmt.Errorf("lock migrations: %w", t)
		}
		if time.Now().After(deadline) {
			if err == nil {
				return nil, fmt.Errorf("sqlite database file %s: another stepsd has been migrating it for over a minute; "+
					"let it finish, or stop it and start again", s.path)
			}
			var foreign foreignSessionLock
			if errors.As(err, &foreign) {
				return nil, fmt.Errorf("lock migrations: %w", foreign)
			}
			return nil, fmt.Errorf("migrations are locked by another stepsd for over a minute; if no other stepsd is migrating, "+
				"delete the lock: DELETE FROM bun_migration_locks WHERE table_name = 'bun_migrations' (docs/operations.md#upgrades): %w", err)
		}
		if !logged && busy {
			s.log.Warn("migrations are locked by another stepsd; waiting up to a minute for it to finish", "until", deadline.UTC().Format(time.RFC3339))
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tryLockMigrations takes the migrations' lock once: a release func, or
// nil with no error when another stepsd holds the SQLite file's flock.
func (s *Store) tryLockMigrations(ctx context.Context, m *migrate.Migrator, db *bun.DB) (release func(), err error) {
	if s.kind != KindSQLite {
		return s.tryLockMigrationsMySQL(ctx, m, db)
	}
	if s.lockFile == nil {
		if s.lockFile, err = openLockFile(s.path); err != nil {
			return nil, fmt.Errorf("open sqlite database file %s to lock it for migrations: %w", s.path, err)
		}
	}
	held, err := lockExclusive(s.lockFile)
	if err != nil {
		return nil, fmt.Errorf("lock sqlite database file %s for migrations: %w", s.path, err)
	}
	if !held {
		return nil, nil
	}
	release = func() {
		if err := unlock(s.lockFile); err != nil {
			// Held until the store closes: other stepsds wait a minute.
			s.log.Warn("sqlite: could not drop the migrations' flock", "file", s.path, "err", err)
		}
	}
	err = m.Lock(ctx)
	// Without a file (no flock on this system) the row may be live.
	if err != nil && s.lockFile != nil && errors.Is(translate(err), errDuplicate) {
		if err = s.clearStaleMigrationLock(ctx); err == nil {
			err = m.Lock(ctx)
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// deadMigrationLockAfter is how long a MySQL migrations' lock row must
// stand, while no session holds migrationSessionLock, to be cleared: a
// stepsd of this version holds that lock as long as its row, so such a row
// is a dead one's, unless a stepsd older than the session lock is
// migrating (a rolling update), which this much time leaves to finish.
const deadMigrationLockAfter = 15 * time.Second

// tryLockMigrationsMySQL takes the migrations' lock row under a session
// lock of the database's name. A stepsd killed while it migrated (a kill
// -9, a liveness probe's restart of a slow upgrade), or whose database
// went away midway, left the row, and every later start waited a minute
// and exited 1 until an operator deleted it by hand. The session lock
// goes with the session that held it, so a row that stands while this
// store holds the session lock is nobody's, and is cleared
// (clearDeadMigrationLock). On Galera a session lock is one node's only,
// and two stepsds on two nodes would each hold one: there the row is
// waited for, as before.
func (s *Store) tryLockMigrationsMySQL(ctx context.Context, m *migrate.Migrator, db *bun.DB) (release func(), err error) {
	session, err := migrationSessionLock(ctx, db)
	if err != nil {
		return nil, err
	}
	if session == nil {
		if err = m.Lock(ctx); err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	if !session.held {
		session.release()
		return nil, s.sessionLockHolder(ctx, db)
	}
	err = m.Lock(ctx)
	if err != nil && errors.Is(translate(err), errDuplicate) {
		var cleared bool
		if cleared, err = s.clearDeadMigrationLock(ctx, db); err == nil {
			err = fmt.Errorf("another stepsd is migrating: %w", errDuplicate)
			if cleared {
				err = m.Lock(ctx)
			}
		}
	}
	if err != nil {
		session.release()
		return nil, err
	}
	return s.keepSessionLock(session, sessionLockKeepAlive), nil
}

// sessionLockKeepAlive is how often a migrating stepsd says a word on its
// session lock's connection. That connection is idle while the other one
// migrates, and a proxy's idle timeout, or the server's wait_timeout,
// would end it: the session lock gone, another stepsd would take the row
// for dead after deadMigrationLockAfter and migrate at the same time.
const sessionLockKeepAlive = 5 * time.Second

// keepSessionLock keeps l's connection busy every interval until the
// returned release, which gives l back.
func (s *Store) keepSessionLock(l *sessionLock, interval time.Duration) (release func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), interval)
				_, err := l.conn.ExecContext(ctx, `DO 1`)
				cancel()
				if err != nil {
					s.log.Warn("lost the connection that holds the migrations' session lock; another stepsd may take the lock for dead in 15 s", "err", err)
					return
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		l.release()
	}
}

// foreignSessionLock is the migrations' session lock held by a MySQL
// connection while no lock row stands: not a stepsd of this version
// migrating, which takes its row within moments of the session lock. Any
// session of any user of the MySQL server may take a lock of any name,
// and one that held it made every start of stepsd wait a minute and exit
// 1, advising to delete a lock row that did not exist.
type foreignSessionLock struct {
	name string
	conn int64
}

func (e foreignSessionLock) Error() string {
	return fmt.Sprintf("the migrations' session lock (GET_LOCK %q) is held by MySQL connection %d, "+
		"and no lock row stands in bun_migration_locks, so it is not a stepsd migrating: a session of any user of this MySQL server may take it; "+
		"find it with SELECT * FROM information_schema.PROCESSLIST WHERE ID = %d, and end it with KILL %d",
		e.name, e.conn, e.conn, e.conn)
}

func (e foreignSessionLock) Unwrap() error { return errDuplicate }

// sessionLockHolder says who holds the migrations' session lock: another
// stepsd migrating (its lock row stands), or foreignSessionLock.
func (s *Store) sessionLockHolder(ctx context.Context, db *bun.DB) error {
	busy := fmt.Errorf("another stepsd is migrating: %w", errDuplicate)
	var name string
	var holder sql.NullInt64
	var rows int
	err := db.QueryRowContext(ctx, `SELECT `+sessionLockName+`, IS_USED_LOCK(`+sessionLockName+`), (SELECT count(*) FROM bun_migration_locks WHERE table_name = 'bun_migrations')`).Scan(&name, &holder, &rows)
	if err != nil {
		return errors.Join(busy, translate(err))
	}
	if !holder.Valid || rows > 0 {
		return busy // released since, or a stepsd's row
	}
	return foreignSessionLock{name: name, conn: holder.Int64}
}

// sessionLock is a MySQL session lock on a connection of its own.
type sessionLock struct {
	conn *sql.Conn
	held bool
}

// release gives the session lock back and returns its connection; a
// RELEASE_LOCK that fails leaves the lock to the connection's end, when
// the migrations' pool closes.
func (l *sessionLock) release() {
	if l.held {
		l.conn.ExecContext(context.Background(), `DO RELEASE_LOCK(`+sessionLockName+`)`) //nolint:errcheck // see above
	}
	l.conn.Close()
}

// sessionLockName names the migrations' session lock of this database.
// Session lock names are the server's: other databases on it (other
// teams' stepsds, CI's) must not wait on each other, and any user of the
// server may take any name without a privilege, which blocked every start
// of stepsd while they held it (foreignSessionLock). So the name is a hash
// of the database's name and of when its bun_migrations table was made,
// which information_schema shows only to users of the database; hashed,
// it also fits GET_LOCK's 64 characters whatever the database's name.
const sessionLockName = `CONCAT('steps_migrations.', LEFT(SHA2(CONCAT(DATABASE(), '/', COALESCE((` +
	`SELECT CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bun_migrations'), '')), 256), 47))`

// migrationSessionLock tries the migrations' session lock on a connection
// of db's; nil on a Galera node (see tryLockMigrationsMySQL).
func migrationSessionLock(ctx context.Context, db *bun.DB) (*sessionLock, error) {
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	var galera sql.NullBool
	// MySQL has no wsrep_on: an error is no Galera.
	if err := conn.QueryRowContext(ctx, `SELECT @@wsrep_on`).Scan(&galera); err == nil && galera.Valid && galera.Bool {
		conn.Close()
		return nil, nil
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+sessionLockName+`, 0)`).Scan(&got); err != nil {
		conn.Close()
		return nil, translate(err)
	}
	return &sessionLock{conn: conn, held: got.Valid && got.Int64 == 1}, nil
}

// clearDeadMigrationLock deletes the MySQL migrations' lock row once it
// has stood deadLockAfter while this store held the session lock on each
// look, and reports whether it is gone. Deleted by its id, so that a row
// another stepsd took since is kept.
func (s *Store) clearDeadMigrationLock(ctx context.Context, db *bun.DB) (gone bool, err error) {
	var id int64
	err = db.QueryRowContext(ctx, `SELECT id FROM bun_migration_locks WHERE table_name = 'bun_migrations'`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, translate(err)
	}
	if s.deadLock.id != id {
		s.deadLock.id, s.deadLock.since = id, time.Now()
		return false, nil
	}
	if time.Since(s.deadLock.since) < s.deadLockAfter {
		return false, nil
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM bun_migration_locks WHERE table_name = 'bun_migrations' AND id = ?`, id); err != nil {
		return false, translate(err)
	}
	s.log.Warn("cleared the migrations' lock that a stepsd stopped while migrating (or cut off from the database) left; migrating now",
		"stood_seconds", time.Since(s.deadLock.since).Seconds())
	return true, nil
}

// clearStaleMigrationLock deletes the lock row of migrations that a stepsd
// killed while migrating left; only a store holding the SQLite file's
// flock may call it.
func (s *Store) clearStaleMigrationLock(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM bun_migration_locks WHERE table_name = 'bun_migrations'`); err != nil {
		return err
	}
	s.log.Warn("cleared the migrations' lock that a stepsd stopped while migrating left; migrating now", "file", s.path)
	return nil
}

// acquireWrite takes a write slot. Every SQLite write passes here, and
// checks that the file is still the one opened.
func (s *Store) acquireWrite(ctx context.Context) (release func(), err error) {
	if s.writeSlot == nil {
		return func() {}, nil
	}
	if err := s.checkFile(ctx); err != nil {
		return nil, err
	}
	select {
	case s.writeSlot <- struct{}{}:
		return func() { <-s.writeSlot }, nil
	case <-ctx.Done():
		return nil, translate(ctx.Err())
	}
}

// sqliteLogBase returns the path SQLite names the database's -wal and -shm
// files after: path with its symbolic links resolved, as SQLite resolves
// them before it opens the file. A database reached through a link
// (sqlite:/var/lib/steps.db naming a file on a volume) has its log beside
// the file linked to, not beside the link: looked for beside the link, it
// was never found, so deleting it under stepsd went unseen (every write
// 201, /readyz ok, and a kill -9 lost them all). path itself when it
// cannot be resolved (not created yet).
func sqliteLogBase(path string) string {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		return resolved
	}
	return path
}

// logSuffixes name SQLite's write-ahead log and its index beside the
// database file, in the order of Store.logFiles.
var logSuffixes = [2]string{"-wal", "-shm"}

// pinLog keeps one connection open for the store's life, having read
// through it: SQLite deletes the -wal and -shm files when its last
// connection closes, so with this one open they stay while stepsd runs,
// and one that is gone, or is another file, was deleted under stepsd
// (checkLogFiles).
func (s *Store) pinLog(ctx context.Context) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: hold a connection: %w", err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return errors.Join(fmt.Errorf("sqlite: read through the held connection: %w", err), conn.Close())
	}
	s.pin = conn
	for i, suffix := range logSuffixes {
		if fi, err := os.Stat(s.logBase + suffix); err == nil {
			s.logFiles[i] = fi
		}
	}
	return nil
}

// checkLogFiles reports, as EUNAVAILABLE, that the -wal or -shm file was
// deleted or replaced while stepsd runs (a clean-up of "temporary" files,
// an rm of steps.db-*). SQLite goes on writing to the deleted files, and
// the steps written since the last checkpoint live only there: a crash or
// a kill -9 lost every one of them, after 201s. So writes are refused, and
// what the log holds is saved into the database file once (saveLog).
func (s *Store) checkLogFiles(ctx context.Context) error {
	if s.logClosed.Load() {
		return nil // closed: the query that follows says so
	}
	for i, suffix := range logSuffixes {
		if s.logFiles[i] == nil {
			continue
		}
		name := s.logBase + suffix
		fi, err := os.Stat(name)
		if err == nil && os.SameFile(s.logFiles[i], fi) {
			continue
		}
		if err == nil {
			err = errors.New("another file now has its name")
		}
		s.saveLog(ctx, name)
		return unavailable("sqlite file "+name+" was deleted or replaced while stepsd runs; "+
			"nothing is written until stepsd restarts: stop it cleanly (SIGTERM), then start it again", err)
	}
	return nil
}

// saveLog checkpoints the deleted write-ahead log into the database file,
// which still has its name, so that what was acknowledged survives even a
// crash; once it has fully succeeded it is not done again.
func (s *Store) saveLog(ctx context.Context, name string) {
	if s.logSaved.Load() {
		return
	}
	var busy, frames, done int64
	err := s.pin.QueryRowContext(ctx, "PRAGMA wal_checkpoint(FULL)").Scan(&busy, &frames, &done)
	if err != nil || busy != 0 || done < frames {
		s.log.Error("sqlite: a file of the database was deleted while stepsd runs, and the steps in it could not all be saved into the database file yet; do not kill stepsd: stop it with SIGTERM",
			"file", name, "err", err, "frames", frames, "saved_frames", done)
		return
	}
	s.logSaved.Store(true)
	s.log.Error("sqlite: a file of the database was deleted while stepsd runs; the steps it held are saved into the database file, and writes are refused until stepsd restarts",
		"file", name, "database", s.path, "saved_frames", done)
}
