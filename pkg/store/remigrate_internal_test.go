package store

import (
	"context"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestOnlyAlreadyAppliedErrorsAreDone: a MySQL migration's statement that
// fails counts as done only for the error that means its own effect is
// there, not for any "exists" error.
func TestOnlyAlreadyAppliedErrorsAreDone(t *testing.T) {
	for _, tt := range []struct {
		stmt   string
		number uint16
		want   bool
	}{
		{"CREATE TABLE t (\n  x INT\n)", 1050, true},
		{"CREATE TABLE t (x INT)", 1060, false},
		{"ALTER TABLE t\n  ADD COLUMN x INT,\n  ADD KEY t_x (x)", 1060, true},
		{"ALTER TABLE t ADD COLUMN x INT, ADD KEY t_x (x)", 1061, true},
		{"ALTER TABLE t ADD COLUMN x INT", 1061, false},
		{"ALTER TABLE t ADD COLUMN x INT", 1091, false},
		{"ALTER TABLE t DROP KEY t_x, DROP COLUMN x", 1091, true},
		{"ALTER TABLE t DROP COLUMN x", 1060, false},
		{"ALTER TABLE t MODIFY COLUMN x BIGINT", 1054, false},
		{"DELETE FROM t WHERE name = 'x'", 1146, false},
		{"INSERT INTO t SELECT * FROM u", 1062, false},
	} {
		got, err := alreadyApplied(context.Background(), nil, tt.stmt, &mysql.MySQLError{Number: tt.number})
		if err != nil || got != tt.want {
			t.Errorf("%q failing with %d: done %v (%v), want %v", tt.stmt, tt.number, got, err, tt.want)
		}
	}
	if got, _ := alreadyApplied(context.Background(), nil, "CREATE TABLE t (x INT)", errors.New("connection lost")); got {
		t.Error("a lost connection counted as the statement done")
	}
}
