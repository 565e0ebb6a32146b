package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// valueColumns maps each of model.ValueFields to its column; only these
// names ever reach the SQL text.
var valueColumns = map[string]string{
	"component":   "component",
	"environment": "environment",
	"owner":       "owner",
	"status":      "status",
}

// Values lists the distinct values of one field that start with a prefix,
// for shell completion. Each value is one seek in the index that leads
// with the column (steps_deployment, steps_environment, steps_owner,
// steps_status): "the first value after the last one", so a value carried
// by a million steps costs what a value carried by one does, and the whole
// answer at most q.Limit seeks. The empty environment (none given) is not
// a value.
func (s *Store) Values(ctx context.Context, q model.ValuesQuery) ([]string, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	col := valueColumns[q.Field]
	first, err := s.stmts.get(ctx, fmt.Sprintf("SELECT %[1]s FROM steps WHERE %[1]s >= ? AND %[1]s <> '' ORDER BY %[1]s LIMIT 1", col))
	if err != nil {
		return nil, err
	}
	next, err := s.stmts.get(ctx, fmt.Sprintf("SELECT %[1]s FROM steps WHERE %[1]s > ? ORDER BY %[1]s LIMIT 1", col))
	if err != nil {
		return nil, err
	}
	values := []string{}
	stmt, arg := first, q.Prefix
	for len(values) < q.Limit {
		var v string
		err := stmt.QueryRowContext(ctx, arg).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, translate(err)
		}
		// Byte order is the order of both databases' columns (BINARY on
		// SQLite, utf8mb4_bin on MySQL): past the prefix, nothing after
		// starts with it.
		if !strings.HasPrefix(v, q.Prefix) {
			break
		}
		values = append(values, v)
		stmt, arg = next, v
	}
	return values, nil
}
