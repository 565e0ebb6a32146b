package store

import (
	"context"
	"database/sql"
)

// ParseDBTime exposes parseDBTime to the tests.
var ParseDBTime = parseDBTime

// ForceReadBackIDs makes the store read inserted ids back by key, as on a
// database that does not promise consecutive ids.
func ForceReadBackIDs(s *Store) { s.consecutiveIDs = false }

// MigrateTo applies the migrations up to the one named upTo, as an older
// stepsd would.
func MigrateTo(ctx context.Context, s *Store, upTo string) ([]string, error) {
	return s.migrate(ctx, upTo)
}

// WriteTx runs fn as the store runs its writes: retried on conflicts.
func WriteTx(ctx context.Context, s *Store, fn func(*sql.Tx) error) error {
	return s.writeTx(ctx, fn)
}

// GuardTx makes the store run its writes as on a Galera node.
func GuardTx(s *Store) { s.guardTx = true }

// SetMaxDeploymentSteps lowers the steps a deployment holds, so that tests
// reach the bound without writing model.MaxDeploymentSteps steps.
func SetMaxDeploymentSteps(s *Store, n int) { s.maxDeploymentSteps = n }
