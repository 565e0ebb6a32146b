package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// rerunnableUp runs the MySQL migration file name statement by statement,
// as bun would, except that a statement whose error says its effect is
// already there (see alreadyApplied) counts as done: MySQL commits DDL
// statement by statement, and a migration cut between two (a kill -9, a
// lost connection) must be finished by the next start. One statement is
// all or nothing (atomic DDL: MySQL 8, MariaDB 10.6).
//
// Every other statement runs again, so each must be right to run twice.
// Of the files so far: every CREATE TABLE (1050), ALTER TABLE (only ADD
// COLUMN, ADD KEY, DROP KEY, DROP COLUMN; a column's DEFAULT fills the
// rows within its ALTER) and the RENAME TABLE of 20261130000002 are
// recognised when done; ALTER COLUMN … SET DEFAULT (20261202000001) sets
// the same default again; the one data statement, the DELETE by key of
// 20261130000001, deletes nothing the second time. A later INSERT …
// SELECT or UPDATE must be written so that a second run changes nothing
// (TestMySQLMigrationCutBetweenStatements cuts after every statement).
func rerunnableUp(fsys fs.FS, name string) func(context.Context, *migrate.Migrator, *migrate.Migration) error {
	return func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		for _, stmt := range splitMigration(body) {
			_, err := m.DB().ExecContext(ctx, stmt)
			if err == nil {
				continue
			}
			if done, derr := alreadyApplied(ctx, m.DB(), stmt, err); derr != nil {
				return errors.Join(err, derr)
			} else if !done {
				return err
			}
		}
		return nil
	}
}

// splitMigration splits a migration file at its --bun:split lines, as bun
// does, leaving out blank and comment lines.
func splitMigration(body []byte) []string {
	var stmts []string
	var stmt strings.Builder
	flush := func() {
		if stmt.Len() > 0 {
			stmts = append(stmts, stmt.String())
			stmt.Reset()
		}
	}
	lines := bufio.NewScanner(bytes.NewReader(body))
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch {
		case line == "--bun:split":
			flush()
		case line != "" && !strings.HasPrefix(line, "--"):
			stmt.WriteString(line + "\n")
		}
	}
	flush()
	return stmts
}

// alreadyApplied says whether err, from running stmt, means that stmt's
// effect is already there. Only where the error can mean nothing else:
// a table of that name exists (CREATE TABLE), a column or index an ALTER
// TABLE adds exists or one it drops does not (the ALTER is atomic, so one
// clause done is all done), or a RENAME TABLE's old name is gone and its
// new one there. The schema changes only by these migrations, so what is
// there under a name is what the statement made.
func alreadyApplied(ctx context.Context, db *bun.DB, stmt string, err error) (bool, error) {
	var my *mysql.MySQLError
	if !errors.As(err, &my) {
		return false, nil
	}
	s := strings.Join(strings.Fields(strings.ToUpper(stmt)), " ")
	has := func(clauses ...string) bool {
		for _, c := range clauses {
			if strings.Contains(s, c) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(s, "CREATE TABLE "):
		return my.Number == 1050, nil // table exists
	case strings.HasPrefix(s, "ALTER TABLE "):
		switch my.Number {
		case 1060: // duplicate column name
			return has(" ADD COLUMN "), nil
		case 1061: // duplicate key name
			return has(" ADD KEY ", " ADD INDEX ", " ADD UNIQUE "), nil
		case 1091: // can't drop: check that it exists
			return has(" DROP KEY ", " DROP INDEX ", " DROP COLUMN "), nil
		}
	case strings.HasPrefix(s, "RENAME TABLE "):
		// RENAME TABLE old TO new: old is missing (1146) or new exists
		// (1050); done only if both.
		f := strings.Fields(stmt)
		if (my.Number != 1146 && my.Number != 1050) || len(f) != 5 || strings.ToUpper(f[3]) != "TO" {
			return false, nil
		}
		var oldN, newN int
		err := db.QueryRowContext(ctx, `SELECT COUNT(CASE WHEN table_name = ? THEN 1 END), COUNT(CASE WHEN table_name = ? THEN 1 END)
FROM information_schema.tables WHERE table_schema = DATABASE()`, f[2], f[4]).Scan(&oldN, &newN)
		return oldN == 0 && newN == 1, err
	}
	return false, nil
}
