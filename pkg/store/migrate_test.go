package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store"
)

// TestRefusesADatabaseMigratedByANewerStepsd: a stepsd whose migrations
// end before the database's refuses it, naming the migration and what to
// do, instead of serving on a schema it does not know (an older stepsd on
// an upgraded database answered 201 to steps that no list of deployments
// then showed, and 500 to every list). A migration that development builds
// applied and that was then removed does not count.
func TestRefusesADatabaseMigratedByANewerStepsd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()

		s := testdb.Open(t, fresh(t))
		if _, err := store.MigrateTo(ctx, s, "20261130000002"); !errors.Is(err, store.ErrNewerSchema) ||
			!strings.Contains(err.Error(), "20261130190000") || !strings.Contains(err.Error(), "restore the backup") {
			t.Errorf("an older stepsd migrating a database of this one: %v; want ErrNewerSchema naming 20261130190000 and the backup", err)
		}
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO bun_migrations (name, group_id, migrated_at) VALUES ('29990101000000', 99, ?)`,
			time.Now().UTC().Format("2006-01-02 15:04:05")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); !errors.Is(err, store.ErrNewerSchema) || !strings.Contains(err.Error(), "29990101000000") {
			t.Errorf("Migrate on a database with a migration from the future: %v; want ErrNewerSchema naming it", err)
		}
		// The lock is released: once the newer migration is gone (the
		// backup restored), this stepsd migrates at once.
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM bun_migrations WHERE name = '29990101000000'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Errorf("Migrate after the newer migration went: %v", err)
		}

		// record_step was on main under two names: 20261130000003 (72e227b)
		// and 20261130200000 (7c23c69), until b70eb84 removed it.
		for _, name := range []string{"20261130000003", "20261130200000"} {
			retired := testdb.Open(t, fresh(t))
			if _, err := retired.DB().ExecContext(ctx, `INSERT INTO bun_migrations (name, group_id, migrated_at) VALUES (?, 3, ?)`,
				name, time.Now().UTC().Format("2006-01-02 15:04:05")); err != nil {
				t.Fatal(err)
			}
			if _, err := retired.Migrate(ctx); err != nil {
				t.Errorf("Migrate on a database with the retired %s_record_step: %v; want it accepted", name, err)
			}
		}
	})
}

// TestMigrationLockWaitIsLogged: a stepsd that finds the migrations
// locked says so at once, instead of a minute of silence before its
// error. On SQLite the lock is held by another stepsd while it holds the
// file's flock (TestStaleMigrationLockOnSQLite).
func TestMigrationLockWaitIsLogged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		dsn := fresh(t)
		testdb.Open(t, dsn) // migrated, tables there
		if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
			holdFlock(t, path)
		}
		s, logs := openWithLockRow(t, dsn)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := s.Migrate(ctx); err == nil {
			t.Fatal("Migrate succeeded with the lock held")
		}
		if !strings.Contains(logs.String(), `"level":"WARN","msg":"migrations are locked by another stepsd; waiting up to a minute`) {
			t.Errorf("no warning while waiting for the migration lock; log:\n%s", logs.String())
		}
	})
}

// TestDeadlineIsUnavailable: a store call whose time runs out while the
// database does not answer is EUNAVAILABLE (503), not an internal error
// (500). A write holds a MySQL row lock on a target (a transaction left
// open), so that a step of that target waits for it.
func TestDeadlineIsUnavailable(t *testing.T) {
	dsn := testdb.MySQL(t)
	s := testdb.Open(t, dsn)
	in := model.StepInput{Component: "api", Version: "1", Owner: "ana", Status: "build", Environment: "prod"}
	mustCreate(t, s, in, t0)
	other := testdb.Open(t, dsn)
	tx, err := other.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT * FROM targets FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// A batch runs in the caller's context (a lone step has the group
	// commit's 30 s).
	_, _, err = s.CreateSteps(ctx, []model.StepInput{in}, model.RecordMeta{ReceivedAt: t0.Add(time.Minute)})
	if model.ErrorCode(err) != model.EUNAVAILABLE {
		t.Errorf("a write past its deadline: %v (code %q); want %q", err, model.ErrorCode(err), model.EUNAVAILABLE)
	}
}

// TestMySQLDriverLogsThroughTheStoreLogger: the MySQL driver's own
// messages (here, a connection the server killed while idle) go to the
// store's logger as JSON, not to stderr as "[mysql] date file:line …",
// which broke stepsd's one-JSON-object-a-line log.
func TestMySQLDriverLogsThroughTheStoreLogger(t *testing.T) {
	dsn := testdb.MySQL(t)
	testdb.Open(t, dsn)
	var logs testdb.LogBuffer
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	admin := testdb.Open(t, dsn)
	var db string
	if err := s.DB().QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	rows, err := admin.DB().QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`, db)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		admin.DB().ExecContext(ctx, `KILL ?`, id) //nolint:errcheck // some are gone already
	}
	time.Sleep(100 * time.Millisecond)
	for range 3 {
		s.Ping(ctx) //nolint:errcheck // what matters is what the driver logged on the way
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"mysql driver","detail":`) {
		t.Errorf("the driver's message about a broken connection is not in the store's log:\n%s", logs.String())
	}
}

// TestMigrationsAreLoggedAsTheyRun: each migration logs "applying
// migration" before it runs and "applied migration" with its duration
// after, so that the rewrite of a large table is not minutes of silence
// (all were logged only once every one was done).
func TestMigrationsAreLoggedAsTheyRun(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ctx := context.Background()
		var logs testdb.LogBuffer
		s, err := store.Open(ctx, fresh(t), store.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) < 2 {
			t.Fatalf("Migrate: %v, applied %v", err, applied)
		}
		var got []string
		for line := range strings.Lines(logs.String()) {
			var entry struct {
				Msg, Migration string
				Seconds        *float64
			}
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if strings.Contains(entry.Msg, "migration") {
				got = append(got, fmt.Sprintf("%s %s seconds=%v", entry.Msg, entry.Migration, entry.Seconds != nil))
			}
		}
		var want []string
		for _, name := range applied {
			want = append(want, "applying migration "+name+" seconds=false", "applied migration "+name+" seconds=true")
		}
		if !slices.Equal(got, want) {
			t.Errorf("migration log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestSQLiteTriggerOfAnEarlierBuildIsDropped: builds of main from 1ddb502
// to 37e4966 (2 December 2026) created, on SQLite, a trigger that marked
// each inserted step without numbered, and a partial index for it; the
// released migration of the same name no longer does, so an upgraded file
// kept them, and every insert paid for the trigger (1.7–2.3 ms a single
// step against 2.8–3.0 ms with it, side by side on a busy two-core host).
// The next migration drops both; a file without them is left as it is.
func TestSQLiteTriggerOfAnEarlierBuildIsDropped(t *testing.T) {
	ctx := context.Background()
	for _, earlierBuild := range []bool{true, false} {
		t.Run(fmt.Sprintf("trigger=%v", earlierBuild), func(t *testing.T) {
			s := openAt(t, testdb.SQLite(t), "20261202000001")
			if earlierBuild {
				// What 1ddb502's migration 20261202000001 created besides the column.
				for _, q := range []string{
					`CREATE INDEX steps_unnumbered ON steps (id) WHERE numbered = 0`,
					`CREATE TRIGGER steps_mark_unnumbered AFTER INSERT ON steps FOR EACH ROW WHEN NEW.numbered IS NULL
BEGIN
  UPDATE steps SET numbered = 0 WHERE id = NEW.id;
END`,
				} {
					if _, err := s.DB().ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var left []string
			rows, err := s.DB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE name IN ('steps_mark_unnumbered', 'steps_unnumbered')`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				left = append(left, name)
			}
			if err := rows.Err(); err != nil || len(left) != 0 {
				t.Errorf("after the upgrade: %v left, err %v; want neither", left, err)
			}
		})
	}
}

// TestDeadMigrationLockOnMySQL: a stepsd killed while it migrated MySQL
// (a liveness probe's restart of a slow upgrade), or cut off from its
// database midway (a Galera node killed a quarter of a second into a
// start), left the migrations' lock row, and every later start waited a
// minute and exited 1 until an operator deleted it by hand. A migrating
// stepsd holds a session lock as long as the row, and the session lock
// goes with its session: a row that stands while nobody holds it is
// cleared, with a warning.
func TestDeadMigrationLockOnMySQL(t *testing.T) {
	dsn := testdb.MySQL(t)
	testdb.Open(t, dsn)
	s, logs := openWithLockRow(t, dsn)
	store.SetDeadMigrationLockAfter(s, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate with a lock row no stepsd holds: %v; want the row cleared", err)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"cleared the migrations' lock that a stepsd stopped while migrating`) {
		t.Errorf("the dead lock was cleared without a word; log:\n%s", logs.String())
	}
	var rows int
	if err := s.DB().QueryRow(`SELECT count(*) FROM bun_migration_locks`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("lock rows after Migrate: %d (%v); want 0", rows, err)
	}
}

// TestLiveMigrationLockOnMySQLIsKept: the row of a stepsd that is
// migrating (it holds the session lock) is waited for, never cleared.
func TestLiveMigrationLockOnMySQLIsKept(t *testing.T) {
	dsn := testdb.MySQL(t)
	holdSessionLock(t, dsn, store.SessionLockName)
	s, logs := openWithLockRow(t, dsn)
	store.SetDeadMigrationLockAfter(s, 500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := s.Migrate(ctx); err == nil {
		t.Fatal("Migrate took the lock of a stepsd that holds its session lock")
	}
	if strings.Contains(logs.String(), "cleared the migrations' lock") {
		t.Errorf("a live lock was cleared; log:\n%s", logs.String())
	}
	var rows int
	if err := s.DB().QueryRow(`SELECT count(*) FROM bun_migration_locks`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("lock rows: %d (%v); want the live one", rows, err)
	}
}

// TestSessionLockNameIsNotGuessable: any user of the MySQL server may take
// any session lock name. A session that took steps_migrations.<database>,
// the name a stepsd used, blocked every start; the name is now one only
// users of the database can compute, and the guess blocks nothing.
func TestSessionLockNameIsNotGuessable(t *testing.T) {
	dsn := testdb.MySQL(t)
	holdSessionLock(t, dsn, `LEFT(CONCAT('steps_migrations.', DATABASE()), 64)`)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	store.SetMigrationLockWait(s, time.Second)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Errorf("Migrate while another session holds the lock name a stepsd once used: %v", err)
	}
}

// holdSessionLock takes the session lock named by the SQL expression name
// on a connection of another store of the database at dsn, as another
// session would, until the test ends, and returns that connection's id.
func holdSessionLock(t *testing.T, dsn, name string) (connID int64) {
	t.Helper()
	conn, err := testdb.Open(t, dsn).DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var got int
	if err := conn.QueryRowContext(context.Background(), `SELECT GET_LOCK(`+name+`, 0), CONNECTION_ID()`).Scan(&got, &connID); err != nil || got != 1 {
		t.Fatalf("GET_LOCK = %d, %v", got, err)
	}
	return connID
}

// openWithLockRow opens a second store on the migrated database at dsn,
// logging into the returned buffer, and leaves the migrations' lock row
// that a stepsd migrating (or killed while migrating) holds.
func openWithLockRow(t *testing.T, dsn string) (*store.Store, *testdb.LogBuffer) {
	t.Helper()
	logs := new(testdb.LogBuffer)
	s, err := store.Open(context.Background(), dsn, store.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.DB().Exec(`INSERT INTO bun_migration_locks (table_name) VALUES ('bun_migrations')`); err != nil {
		t.Fatal(err)
	}
	return s, logs
}

// TestForeignSessionLockOnMySQLIsNamed: any session of any user of the
// MySQL server may take the migrations' session lock by its name. Held
// with no lock row standing, it made every start of stepsd wait a minute
// and exit 1 advising to delete a lock row that did not exist; the error
// now names the connection that holds it and how to end it.
func TestForeignSessionLockOnMySQLIsNamed(t *testing.T) {
	dsn := testdb.MySQL(t)
	id := holdSessionLock(t, dsn, store.SessionLockName)
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	store.SetMigrationLockWait(s, time.Second)
	_, err = s.Migrate(context.Background())
	if err == nil {
		t.Fatal("Migrate took the migrations' lock while another session held it")
	}
	want := fmt.Sprintf("held by MySQL connection %d", id)
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, fmt.Sprintf("KILL %d", id)) || strings.Contains(msg, "DELETE FROM bun_migration_locks") {
		t.Errorf("Migrate = %v; want it to say %q and how to end it, not to delete a row that does not exist", err, want)
	}
}
