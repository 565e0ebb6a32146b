// Package store keeps steps in a SQL database: MySQL/MariaDB in production,
// an embedded pure-Go SQLite file (modernc.org/sqlite, no cgo) by default.
// Every value reaches the database as a driver parameter, never spliced
// into SQL text.
//
// # Where things are
//
//   - store.go, dsn.go, fileflags_*.go: opening, checking and migrating
//     the database.
//   - steps.go: a step's columns; recording one step,
//     reading and listing steps; the WHERE clauses of lists (conds).
//     values.go: distinct values, for shell completion.
//   - group.go: single steps, written together (group commit).
//   - batch.go, dedupe.go: batches, and imports that skip stored rows.
//   - number.go, cache.go, rules.go: numbering deployments (below).
//   - deployments.go: reading deployments, for lists, the page and stats:
//     the queries, and the read on two cores.
//   - seal.go: sealed blocks of ended deployments (below), which reads
//     over all history read instead of the rows.
//   - retry.go, errors.go: transactions run again on conflicts, guarded on
//     Galera (guarded); driver errors as the model's. writepool.go: MySQL's
//     write transactions, on connections with autocommit off.
//   - statements.go: prepared statements and SQL helpers (byKind: a
//     value for each database).
//   - internal/rowtext: the text of rows, no SQL: stored times, the
//     phases column, and building deployments from their joined columns
//     (rowtext.DeploymentReader).
//
// # bun and database/sql
//
// bun gives the store its dialects, the versioned migrations embedded in
// the binary (bun/migrate) and the STEPS_DEBUG_SQL query log (bundebug),
// which therefore shows the migrations only (docs/configuration.md). The
// queries are written by hand and run on the *sql.DB underneath, because
// the hot paths measured (docs/benchmarks.md) depend on exact statements:
//
//   - Recording a step runs cached prepared statements (stmtCache): at
//     c=32 on MariaDB, Stmt.ExecContext is already a fifth of stepsd's CPU.
//   - Group commit writes concurrent steps as one multi-row INSERT whose
//     ids it computes from the first where the engine allows it.
//   - Lists, exports and stats stream rows, so memory does not grow with
//     the table, and read few columns: a deployment is one column.
//   - Stats, changes, DORA and the page (EachDeployment) read each series
//     in start order, through an index named for it (seriesOrder): pkg/model
//     keeps a long series in bounded memory only then.
//   - Long reads of deployments run on two cores (readDeployments), short
//     ones in the caller's goroutine (readFewDeployments).
//   - Reads over a component, an environment or a wide range read sealed
//     blocks of ended deployments (seal.go).
//
// bun's query builder was not measured against these statements; adopting
// it is a change to measure with stepsbench first.
//
// # Numbering deployments
//
// A deployment is the run of steps of one target (component, version,
// environment) up to a terminal status; the target's next step starts its
// next attempt. Steps count in time order, ties by id: steps of one
// microsecond may end one deployment and start the next. The transaction
// that inserts steps (insertGroup for single steps, CreateSteps,
// CreateStepsDeduped) also numbers them (numberSteps, number.go), with two
// tables beside steps:
//
//   - targets: one row per target, the state its next step continues from
//     (latest attempt, its start, its last step's time, whether it ended,
//     and a count of the row's writes).
//   - deployments: one row per deployment, its phases encoded in one
//     column (rowtext.AppendPhase), so that lists and stats read
//     deployments, not steps.
//
// number, for the targets of one transaction, in their order:
//
//  1. Gets each target's state: from targetCache (cache.go) when it knows
//     every target of the transaction and their steps all come after the
//     last ones it remembers; else by reading the rows, locked on MySQL
//     (lockTargets).
//  2. Decides (findRedo): a new target starts at attempt 1; later steps
//     continue the latest deployment, or start the next after a terminal
//     status; a late step renumbers the target from the deployment it
//     lands in (lateFrom): readTargetSteps reads its steps back, and
//     deleteDeployments removes the rows from there on. Late steps that
//     end nothing and move no deployment's end rewrite that deployment
//     alone (redoOnly), however long the history after it.
//  3. Numbers in memory (deploymentWrites, add), then upserts the
//     deployment rows, an extension appending phases (writeDeployments),
//     and the targets' rows (writeTargets).
//
// Every write of a target updates its row, so two writers of one target
// conflict on a written row, which InnoDB's locks and Galera's
// certification both catch, instead of racing on what they read. The
// loser's transaction is run again whole (writeTx, retry.go). Where no row
// was read and locked (a new target, or a state from the cache), the
// write of each row (upsertTarget) changes it only if its count of writes
// is the one numbering started from, and otherwise fails with
// errConflict. The cache takes a state only once its transaction commits.
//
// The terminal statuses come from the server's configuration (UseRules,
// rules.go). steps_numbering records those the stored numbering follows;
// when they differ at start-up (a change of configuration, or the first
// start after the upgrade that introduced the tables), every target is
// numbered again, a chunk of targets per transaction, before stepsd
// serves.
//
// A stepsd of a release before numbering on write (a downgrade, or an old
// replica still serving during a rolling upgrade) inserts steps and
// numbers nothing. On MySQL its INSERT does not name the column numbered,
// which this stepsd sets to 1, so its rows take the column's default, 0
// (migration 20261202000001), and an index leads with the mark
// (steps_unnumbered). At start-up, UseRules numbers their targets again
// from their first step (numberUnnumbered), unmarking them in the same
// transaction: one indexed query when there are none. SQLite marks none:
// a trigger would cost every insert, and one stepsd serves a SQLite file,
// so only a downgrade writes such steps there.
package store
