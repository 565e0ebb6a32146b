package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// ParseDBTime exposes rowtext.ParseTime to the tests.
var ParseDBTime = rowtext.ParseTime

// RowByRowReads is how many reads over blocks went row by row, their
// unsealed rows past the bound.
func RowByRowReads(s *Store) int64 { return s.tooUnsealed.Load() }

// ForceReadBackIDs makes the store read inserted ids back by key, as on a
// database that does not promise consecutive ids.
func ForceReadBackIDs(s *Store) { s.consecutiveIDs = false }

// UnnumberedTargets is the start-up query of the steps an older stepsd
// wrote.
const UnnumberedTargets = unnumberedTargets

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

// InsertNumbered stores st under its own id and numbers it, as a write
// does: what happens when a step's id is smaller than that of a step
// committed before it (on Galera, each node hands out its own ids; on one
// node, an INSERT takes its id before the target's row is locked).
// Several steps are stored and numbered in one transaction, as a batch.
func InsertNumbered(ctx context.Context, s *Store, steps ...model.Step) error {
	var work []*targetWork
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		for _, st := range steps {
			if err := s.exec(ctx, tx, `INSERT INTO steps (id, component, version, owner, status, environment, time, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, st.ID, st.Component, st.Version, st.Owner, st.Status, st.Environment,
				rowtext.FormatTime(st.Time), rowtext.FormatTime(st.Time)); err != nil {
				return err
			}
		}
		var err error
		work, err = s.numberSteps(ctx, tx, steps)
		return err
	})
	if err == nil {
		s.targets.remember(work)
	}
	return err
}

// Translate exposes translate, which the store's statements pass their
// errors through, to the tests.
var Translate = translate

// ListQuery is the SELECT (and its arguments) ListSteps runs for f.
func ListQuery(s *Store, f model.Filter) (string, []any) {
	return listQuery(f, s.listFrom(f))
}

// ListDeploymentsQuery is the SELECT (and its arguments) ListDeployments
// runs for f.
func ListDeploymentsQuery(s *Store, f model.DeploymentFilter) (string, []any) {
	return s.listDeploymentsQuery(f)
}

// SetDeadMigrationLockAfter shortens how long a MySQL migrations' lock row
// nobody holds must stand to be cleared.
func SetDeadMigrationLockAfter(s *Store, d time.Duration) { s.deadLockAfter = d }

// SetMigrationLockWait shortens how long Migrate waits for a migrations'
// lock another holds.
func SetMigrationLockWait(s *Store, d time.Duration) { s.migrationLockWait = d }

// SessionLockName is the SQL expression of the migrations' session lock's
// name.
const SessionLockName = sessionLockName
