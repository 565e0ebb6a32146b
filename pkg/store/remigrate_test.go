package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/store"
)

// TestMySQLMigrationCutBetweenStatements: MySQL commits DDL statement by
// statement, so a migration cut after any of its statements (a kill -9, a
// lost connection) left a schema half changed, and every later start
// failed on the first statement already applied ("Can't DROP INDEX
// steps_listing"). Migrate again finishes the job: the schema and the rows
// are those of a migration never cut. Cut after the last statement is the
// migration applied but not yet marked so.
func TestMySQLMigrationCutBetweenStatements(t *testing.T) {
	testdb.MySQL(t) // skips (or fails under CI) when MySQL is off
	ctx := context.Background()
	files, err := filepath.Glob("migrations/mysql/*.up.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no MySQL migrations (%v)", err)
	}
	slices.Sort(files)
	before := "" // the migration before the first: none
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".up.sql")
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		stmts := strings.Split(string(body), "--bun:split\n")
		prev := before
		before = name[:14]
		t.Run(name, func(t *testing.T) {
			clean := oldSchema(t, prev)
			if _, err := clean.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			want := snapshot(t, clean.DB())
			for k := 1; k <= len(stmts); k++ {
				t.Run(fmt.Sprintf("cut after statement %d of %d", k, len(stmts)), func(t *testing.T) {
					s := oldSchema(t, prev)
					for _, stmt := range stmts[:k] {
						if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
							t.Fatalf("%s: %v", stmt, err)
						}
					}
					applied, err := s.Migrate(ctx)
					if err != nil || len(applied) == 0 || applied[0] != name {
						t.Fatalf("migrate after the cut: %v, applied %v; want %s first", err, applied, name)
					}
					if got := snapshot(t, s.DB()); got != want {
						t.Errorf("after the cut and a migration:\n%s\nwant, as a migration never cut:\n%s", got, want)
					}
				})
			}
		})
	}
	// Not a cut: the renamed table is gone under both names (dropped by
	// hand), so the rename is not done and the migration says so.
	t.Run("a rename of a table that is nowhere fails", func(t *testing.T) {
		s := oldSchema(t, "20261130000001")
		if _, err := s.DB().ExecContext(ctx, `DROP TABLE steps_derived`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "1146") {
			t.Errorf("migrate without steps_derived nor steps_numbering: %v; want error 1146", err)
		}
	})
}

// oldSchema opens a fresh MySQL database migrated up to upTo ("": not
// at all), as an older stepsd left it, with a few rows in whichever tables
// that schema has.
func oldSchema(t *testing.T, upTo string) *store.Store {
	t.Helper()
	dsn := testdb.MySQL(t)
	if upTo == "" {
		s, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := openAt(t, dsn, upTo)
	for _, row := range []string{
		`INSERT INTO steps (component, version, owner, status, environment, time, received_at)
VALUES ('api', '1', 'ana', 'build', 'prod', '2026-03-02 09:00:00', '2026-03-02 09:00:01'),
	('api', '1', 'ana', 'finished', 'prod', '2026-03-02 09:05:00', '2026-03-02 09:05:01')`,
		`INSERT INTO steps_derived (name, value) VALUES ('terminal_statuses', 'failed,finished')`,
		`INSERT INTO targets (component, version, environment, attempt, started_at, last_time, ended, writes)
VALUES ('api', '1', 'prod', 1, '2026-03-02 09:00:00', '2026-03-02 09:05:00', 1, 2)`,
		`INSERT INTO deployments (component, version, environment, attempt, first_id, started_at, last_time, owner, steps, phases)
VALUES ('api', '1', 'prod', 1, 1, '2026-03-02 09:00:00', '2026-03-02 09:05:00', 'ana', 2, '[]')`,
	} {
		// A table this schema does not have yet (1146) gets no rows.
		var my *mysql.MySQLError
		if _, err := s.DB().Exec(row); err != nil && !(errors.As(err, &my) && my.Number == 1146) {
			t.Fatal(err)
		}
	}
	return s
}

// snapshot is the schema of every table (SHOW CREATE TABLE) and its rows,
// in one text; of bun_migrations only the names, and of steps_numbering
// not when sealing may start: times that differ from run to run.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, quoted := range queryRows(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`) {
		table, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatal(err)
		}
		var name, create string
		if err := db.QueryRow("SHOW CREATE TABLE "+table).Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		b.WriteString(create + "\n")
		query := "SELECT * FROM " + table
		switch table {
		case "bun_migrations":
			query = "SELECT name FROM bun_migrations"
		case "steps_numbering":
			query = "SELECT name, IF(name = 'seal_from', 'a time', value) FROM steps_numbering"
		}
		for _, row := range queryRows(t, db, query) {
			b.WriteString("  " + row + "\n")
		}
	}
	return b.String()
}

// queryRows returns the rows of query (with args) as text, sorted.
func queryRows(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			fields[i] = "NULL"
			if v.Valid {
				fields[i] = fmt.Sprintf("%q", v.String)
			}
		}
		out = append(out, strings.Join(fields, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
