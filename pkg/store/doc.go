// Package store keeps steps in a SQL database: MySQL/MariaDB in production,
// an embedded pure-Go SQLite file (modernc.org/sqlite, no cgo) by default.
// Every value reaches the database as a driver parameter, never spliced
// into SQL text.
//
// # bun and database/sql
//
// The store opens the database through bun, and bun does what it does
// well here: its dialects (mysqldialect, sqlitedialect), the versioned
// migrations embedded in the binary (bun/migrate), and the STEPS_DEBUG_SQL
// query log (bundebug). The queries themselves are written by hand and run
// on the *sql.DB underneath (bun.DB.DB), for reasons the benchmarks
// (docs/benchmarks.md) and profiles measured on the hot paths:
//
//   - Recording a step is one cached prepared statement (stmtCache): on
//     MariaDB at c=32 stepsd spends about a fifth of its CPU in
//     database/sql's Stmt.ExecContext, as much as the bare baseline server
//     does, and any per-request work above that (building SQL text,
//     reflecting over a model) shows directly in CPU per step.
//   - Group commit (group.go) writes concurrent single steps as one
//     multi-row INSERT whose ids it computes from the first, and batches
//     number their deployments in the same transaction (number.go); both
//     depend on the exact statements and on driver behaviour per engine
//     (LAST_INSERT_ID, innodb_autoinc_lock_mode).
//   - Exports, deployments and stats stream rows with Scan, so memory does
//     not grow with the table, and name the exact columns the covering
//     index holds (the index halved stats' time on MariaDB).
//
// bun's query builder was not benchmarked against these statements; using
// it would be a change to measure with stepsbench first. Because the
// store's queries bypass bun, STEPS_DEBUG_SQL logs only the migrations
// (docs/configuration.md).
package store
