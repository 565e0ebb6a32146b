package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/steps-dev/steps/pkg/model"
)

// TestMySQLErrorsTranslateAndRetry: each MySQL error number the store knows
// is a duplicate, or EUNAVAILABLE for its reason, and only conflicts with
// another writer are run again; any other number stays internal.
func TestMySQLErrorsTranslateAndRetry(t *testing.T) {
	for _, tt := range []struct {
		numbers []uint16
		reason  string // "" for an error that is not EUNAVAILABLE
		retry   bool
	}{
		{[]uint16{1205, 1213}, "database: ", true},
		{[]uint16{1020, 1180}, "database node not ready: ", true},
		{[]uint16{1040, 1053, 2002, 2003, 2006, 2013}, "database: ", false},
		{[]uint16{1047}, "database node not ready: ", false},
		{[]uint16{1049, 1146}, "database or its tables are gone (dropped?): ", false},
		{[]uint16{1290, 1836}, "database is read-only: ", false},
		{[]uint16{1062, 1064, 1305}, "", false},
	} {
		for _, n := range tt.numbers {
			err := translate(fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: n, Message: "m"}))
			unavailable := model.ErrorCode(err) == model.EUNAVAILABLE
			if unavailable != (tt.reason != "") || unavailable && !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("translate(%d) = %v, want EUNAVAILABLE %q", n, err, tt.reason)
			}
			if got := retryable(err); got != tt.retry {
				t.Errorf("retryable(%d) = %v, want %v", n, got, tt.retry)
			}
		}
	}
	if err := translate(&mysql.MySQLError{Number: 1062}); !errors.Is(err, errDuplicate) {
		t.Errorf("translate(1062) = %v, want errDuplicate", err)
	}
}

// TestQuoteIdentRunsAsPrinted: the database name in the CREATE DATABASE
// of connectError is one MySQL takes as printed.
func TestQuoteIdentRunsAsPrinted(t *testing.T) {
	for name, want := range map[string]string{
		"steps":     "steps",
		"steps_2":   "steps_2",
		"-missing":  "`-missing`",
		"a`b":       "`a``b`",
		"123":       "`123`", // digits alone are refused bare
		"1e5":       "`1e5`", // read as a number bare
		"2026steps": "`2026steps`",
	} {
		if got := quoteIdent(name); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", name, got, want)
		}
	}
}
