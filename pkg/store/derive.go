package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Deriving deployments. Each step carries two columns computed from the
// steps before it: attempt, the number of its deployment among those of the
// same component, version and environment, and started_at, when that
// deployment started. With them, listing deployments in start order is one
// scan of the steps_listing index, and a page of them one index seek,
// instead of numbering every step of the history with window functions at
// every request.
//
// Writes stay one plain INSERT: a new step arrives with attempt 0 and
// started_at NULL, at the head of steps_listing. Deriving takes those
// steps, target by target, and numbers them from the last derived step
// before them. A step that arrives late, between steps already derived,
// renumbers the steps after it. Only one deriver runs at a time, across
// every stepsd sharing the database (a MySQL named lock; SQLite's single
// writer), so numbering never races; new steps written meanwhile stay
// underived until the next pass, and lists leave them out until then.
//
// A batch whose steps all come after the stored steps of their targets is
// numbered inside its INSERT instead (deriveOnInsert), when no pass runs:
// an import of history costs no second write.
//
// Listing derives first, so a list shows every step written before it; a
// background loop (KeepDeploymentsDerived) derives soon after writes, so
// lists rarely wait. A list derives a bounded number of steps itself and
// answers EUNAVAILABLE beyond it (deriveForList): the history after an
// upgrade is the background loop's work.

// Derivation sizes.
const (
	deriveChunkRows = 4000 // underived steps per transaction
	deriveLockWait  = 60 * time.Second
	// deriveAfterWrite lets a burst of writes gather before the background
	// loop derives them in one pass.
	deriveAfterWrite = 200 * time.Millisecond
)

// rulesKey names the terminal statuses the derived columns were computed
// with, in steps_derived.
const rulesKey = "terminal_statuses"

// noteWrite tells the background deriver that steps were written.
func (s *Store) noteWrite() {
	select {
	case s.written <- struct{}{}:
	default:
	}
}

// KeepDeploymentsDerived derives new steps soon after they are written,
// until ctx ends. It derives everything pending at once on start (after an
// upgrade, the whole history), saying so in the log when that is much.
// Errors are logged and retried after the next write.
func (s *Store) KeepDeploymentsDerived(ctx context.Context, rules model.DeploymentRules, log *slog.Logger) {
	s.deriveLog.Store(log)
	for {
		_, err := s.DeriveDeployments(ctx, rules)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, errDeriverBusy):
			// Another replica's long pass; it numbers these steps too.
			log.Info("another stepsd is numbering deployments; waiting for the next write", "err", err)
		default:
			log.Error("number deployments", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.written:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(deriveAfterWrite):
		}
	}
}

// DeriveDeployments derives every step written so far (see above) and
// returns how many steps it numbered or renumbered. It waits up to a minute
// for a deriver elsewhere to finish.
func (s *Store) DeriveDeployments(ctx context.Context, rules model.DeploymentRules) (int, error) {
	n, _, err := s.derive(ctx, rules, deriveLockWait, 0)
	return n, err
}

// What a list does before reading: it waits a little for a deriver
// elsewhere, and derives a bounded number of steps itself. More than that
// (the history after an upgrade or a change of terminal statuses) is the
// background deriver's work; meanwhile lists answer 503.
type deriveLimits struct {
	listWait  time.Duration // for a deriver elsewhere to finish
	listRows  int           // steps a list derives itself
	resetRows int           // steps one transaction makes underived
}

var defaultDeriveLimits = deriveLimits{listWait: 5 * time.Second, listRows: 4 * deriveChunkRows, resetRows: 20_000}

// deriveForList brings the derived columns up to date for a list, or says
// why it cannot yet.
func (s *Store) deriveForList(ctx context.Context, rules model.DeploymentRules) error {
	_, done, err := s.derive(ctx, rules, s.limits.listWait, s.limits.listRows)
	if done || (err != nil && !errors.Is(err, errDeriverBusy)) {
		return err
	}
	s.noteWrite() // let the background deriver go on at once
	pending, cerr := s.Underived(ctx)
	if cerr != nil {
		return cerr
	}
	return model.Errorf(model.EUNAVAILABLE, "deployments are being numbered, after an upgrade or a change of terminal statuses: %d steps to go; try again shortly", pending)
}

// errDeriverBusy says another deriver held the lock for the whole wait.
var errDeriverBusy = errors.New("another deriver is running")

// derive takes the derivation locks (waiting up to wait), renumbers
// everything if the terminal statuses changed, and derives pending steps,
// stopping after maxRows (0: no bound). done says nothing is left.
func (s *Store) derive(ctx context.Context, rules model.DeploymentRules, wait time.Duration, maxRows int) (numbered int, done bool, err error) {
	terminal := terminalSet(rules.TerminalStatuses())
	// Most calls (every list, every write burst) find nothing to do: two
	// queries say so, without the locks (on MySQL, three round trips more).
	have, err := storedRules(ctx, s.db.DB)
	if err != nil {
		return 0, false, err
	}
	if have == rulesFingerprint(terminal) {
		if pending, err := s.anyStep(ctx, "started_at IS NULL"); err != nil || !pending {
			return 0, err == nil, err
		}
	}
	unlock, err := s.acquireDerivation(ctx, wait)
	if err != nil {
		return 0, false, err
	}
	defer unlock()

	reset, done, err := s.checkDerivedRules(ctx, terminal, maxRows)
	if err != nil || !done {
		return reset, false, err
	}
	pending, err := s.anyStep(ctx, "started_at IS NULL")
	if err != nil || !pending {
		return 0, err == nil, err
	}
	began, announced := time.Now(), false
	found, done := 0, false
	chunk := deriveChunkRows
	if maxRows > 0 {
		chunk = min(chunk, maxRows)
	}
	for {
		n, set, err := s.deriveChunk(ctx, terminal, chunk)
		found += n
		numbered += set
		if err != nil {
			return numbered, false, err
		}
		if n < chunk {
			done = true
			break
		}
		if maxRows > 0 && found >= maxRows {
			break
		}
		if log := s.deriveLog.Load(); !announced && log != nil && maxRows == 0 {
			announced = true
			backlog, _ := s.Underived(ctx) //nolint:errcheck // only for the log
			log.Info("numbering deployments: a backlog of steps (after an upgrade, the whole history); lists answer 503 until done",
				"steps_pending", backlog+found)
		}
	}
	if announced {
		s.deriveLog.Load().Info("numbered deployments", "steps", numbered, "seconds", time.Since(began).Seconds())
	}
	return numbered, done, nil
}

// lockDerivation takes the database-wide derivation lock: a MySQL named
// lock, held by one connection until unlock (or until that connection
// dies). SQLite needs none: each chunk is one write transaction, and
// SQLite runs one at a time.
func (s *Store) lockDerivation(ctx context.Context, wait time.Duration) (unlock func(), err error) {
	if s.kind != KindMySQL {
		return func() {}, nil
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	const name = "LEFT(CONCAT('steps.derive.', DATABASE()), 64)"
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", ?)", max(0, int(wait.Seconds()))).Scan(&got)
	if err != nil || got.Int64 != 1 {
		conn.Close()
		if err == nil {
			return nil, fmt.Errorf("%w: another stepsd has been numbering deployments for over %s", errDeriverBusy, wait.Round(time.Second))
		}
		return nil, translate(err)
	}
	return func() {
		// Closing the connection would release the lock too; releasing it
		// first hands it over at once.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+name+")"); err != nil {
			// A pooled connection must not keep the lock: drop it.
			conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the point
		}
		conn.Close()
	}, nil
}

// acquireDerivation takes both derivation locks, this process's slot and
// the database's lock, waiting up to wait for each (0: only if free at
// once); errDeriverBusy if a pass elsewhere held them throughout.
func (s *Store) acquireDerivation(ctx context.Context, wait time.Duration) (release func(), err error) {
	select {
	case s.deriveSlot <- struct{}{}: // free: no timer racing it
	default:
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case s.deriveSlot <- struct{}{}:
		case <-timer.C:
			return nil, errDeriverBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	unlockDB, err := s.lockDerivation(ctx, wait)
	if err != nil {
		<-s.deriveSlot
		return nil, err
	}
	return func() {
		unlockDB()
		<-s.deriveSlot
	}, nil
}

// derivedValue is what a step is inserted with: its attempt and start, or
// 0 and NULL for the deriver to fill in.
type derivedValue struct {
	attempt   int
	startedAt any
}

// deriveOnInsert computes, inside the transaction that inserts them and
// under the derivation locks, the attempt and start of new steps that come
// after every stored step of their target: the common case, a deploy
// recording its steps or an import of history, which then costs no second
// write. A step that lands before a stored one, or after one not yet
// derived, is left to the deriver. all says whether every step was derived.
func (s *Store) deriveOnInsert(ctx context.Context, tx *sql.Tx, steps []model.Step) (values []derivedValue, all bool, err error) {
	fingerprint, err := storedRules(ctx, tx)
	if err != nil || fingerprint == "" {
		return nil, false, err // never derived: the first pass numbers everything
	}
	terminal := terminalSet(strings.Split(fingerprint, "\n"))

	byTarget := map[pendingTarget][]int{}
	var targets []pendingTarget
	for i, st := range steps {
		t := pendingTarget{component: st.Component, version: st.Version, environment: st.Environment}
		if _, ok := byTarget[t]; !ok {
			targets = append(targets, t)
		}
		byTarget[t] = append(byTarget[t], i)
	}
	stored, err := s.readPerTarget(ctx, tx, targets, lastStepQuery, func(t pendingTarget) []any {
		return []any{t.component, t.version, t.environment}
	})
	if err != nil {
		return nil, false, err
	}

	values = make([]derivedValue, len(steps))
	all = true
	for i, t := range targets {
		idxs := byTarget[t]
		// Stable: steps of the same time keep their order, that of their ids.
		slices.SortStableFunc(idxs, func(a, b int) int { return steps[a].Time.Compare(steps[b].Time) })
		n := newNumbering(terminal)
		if len(stored[i]) > 0 {
			last := stored[i][0]
			if steps[idxs[0]].Time.Before(last.time) || n.continueFrom(last) != nil {
				all = false // lands before a stored step, or after an underived one
				continue
			}
		}
		for _, j := range idxs {
			attempt, started := n.next(steps[j].Time, steps[j].Status)
			values[j] = derivedValue{attempt: attempt, startedAt: dbTime(started)}
		}
	}
	return values, all, nil
}

// deploymentIndex names the steps table read through steps_deployment.
// Left to choose, MySQL sometimes reads "time >= ?" through steps_time,
// which for a step early in the history means scanning all the later ones.
func (s *Store) deploymentIndex() string {
	if s.kind == KindSQLite {
		return "steps INDEXED BY steps_deployment"
	}
	return "steps FORCE INDEX (steps_deployment)"
}

// terminalSet makes a set of folded terminal statuses.
func terminalSet(statuses []string) map[string]bool {
	set := make(map[string]bool, len(statuses))
	for _, t := range statuses {
		set[t] = true
	}
	return set
}

// storedRules reads the fingerprint of the terminal statuses the derived
// columns were computed with, "" if none yet.
func storedRules(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var fingerprint string
	err := q.QueryRowContext(ctx, `SELECT value FROM steps_derived WHERE name = ?`, rulesKey).Scan(&fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return fingerprint, translate(err)
}

// anyStep says whether a step matches cond (constant SQL, no values).
func (s *Store) anyStep(ctx context.Context, cond string) (bool, error) {
	var n int
	err := s.db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM steps WHERE `+cond+` LIMIT 1) AS s`).Scan(&n)
	return n > 0, translate(err)
}

// rulesFingerprint is how steps_derived records a set of terminal statuses.
func rulesFingerprint(terminal map[string]bool) string {
	var all []string
	for t := range terminal {
		all = append(all, t)
	}
	slices.Sort(all)
	return strings.Join(all, "\n")
}

// checkDerivedRules makes every step underived again when the terminal
// statuses differ from those the derived columns were computed with: a
// status that became terminal splits deployments, one that stopped being
// terminal joins them. It resets a chunk of steps per transaction, so that
// writes go on meanwhile, and records the statuses once all are reset;
// with maxRows it stops after about that many, done=false.
func (s *Store) checkDerivedRules(ctx context.Context, terminal map[string]bool, maxRows int) (reset int, done bool, err error) {
	want := rulesFingerprint(terminal)
	have, err := storedRules(ctx, s.db.DB)
	if err != nil {
		return 0, false, err
	}
	if have == want {
		return 0, true, nil
	}
	if log := s.deriveLog.Load(); log != nil && maxRows == 0 {
		if have == "" {
			if any, err := s.anyStep(ctx, "1 = 1"); err == nil && any {
				log.Info("numbering deployments for the first time, after the upgrade that adds it")
			}
		} else {
			log.Info("terminal statuses changed: numbering every deployment again", "statuses", strings.ReplaceAll(want, "\n", ","))
		}
	}
	query := `UPDATE steps SET attempt = 0, started_at = NULL WHERE started_at IS NOT NULL LIMIT ` + strconv.Itoa(s.limits.resetRows)
	if s.kind == KindSQLite {
		query = `UPDATE steps SET attempt = 0, started_at = NULL WHERE id IN (SELECT id FROM steps WHERE started_at IS NOT NULL LIMIT ` +
			strconv.Itoa(s.limits.resetRows) + `)`
	}
	for {
		var n int64
		err := s.writeTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, query)
			if err != nil {
				return translate(err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return reset, false, err
		}
		reset += int(n)
		if n < int64(s.limits.resetRows) {
			break
		}
		if maxRows > 0 && reset >= maxRows {
			return reset, false, nil
		}
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM steps_derived WHERE name = ?`, rulesKey); err != nil {
			return translate(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO steps_derived (name, value) VALUES (?, ?)`, rulesKey, want); err != nil {
			return translate(err)
		}
		return nil
	})
	return reset, err == nil, err
}

// writeTx runs fn in a transaction holding the SQLite write slot.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	release, err := s.acquireWrite(ctx)
	if err != nil {
		return err
	}
	defer release()
	return s.inTx(ctx, fn)
}

// pendingTarget is a component, version and environment with underived
// steps, the first of them at from.
type pendingTarget struct {
	component, version, environment string
	from                            time.Time
}

// derivedRow is a step as derivation reads it back.
type derivedRow struct {
	id        int64
	status    string
	time      time.Time
	attempt   int
	startedAt sql.NullString
}

// derivedUpdate is the attempt and start a step must have.
type derivedUpdate struct {
	id        int64
	attempt   int
	startedAt string
}

// deriveChunk derives up to limit underived steps, with every
// step after them in their targets, in one transaction; it returns how many
// underived steps it found and how many steps it set.
func (s *Store) deriveChunk(ctx context.Context, terminal map[string]bool, limit int) (found, set int, err error) {
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		targets, n, err := pendingTargets(ctx, tx, limit)
		found = n
		if err != nil || n == 0 {
			return err
		}
		var updates []derivedUpdate
		rows, err := s.readPerTarget(ctx, tx, targets, fromStepQuery, func(t pendingTarget) []any {
			from := dbTime(t.from)
			return []any{t.component, t.version, t.environment, from, t.component, t.version, t.environment, from}
		})
		if err != nil {
			return err
		}
		for i, t := range targets {
			u, err := renumber(t, rows[i], terminal)
			if err != nil {
				return err
			}
			updates = append(updates, u...)
		}
		set = len(updates)
		return s.applyDerived(ctx, tx, updates)
	})
	return found, set, err
}

// pendingTargets reads the head of steps_listing, where underived steps
// wait grouped by target in time order, and returns each target with its
// first underived step's time, and the number of steps read.
func pendingTargets(ctx context.Context, tx *sql.Tx, limit int) ([]pendingTarget, int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT component, version, environment, time FROM steps
WHERE started_at IS NULL ORDER BY component, version, environment, attempt, time, id LIMIT `+strconv.Itoa(limit))
	if err != nil {
		return nil, 0, translate(err)
	}
	defer rows.Close()
	var targets []pendingTarget
	n := 0
	for rows.Next() {
		var c, v, e string
		var t sql.RawBytes
		if err := rows.Scan(&c, &v, &e, &t); err != nil {
			return nil, 0, translate(err)
		}
		n++
		if k := len(targets) - 1; k >= 0 && targets[k].component == c && targets[k].version == v && targets[k].environment == e {
			continue
		}
		from, err := parseDBTime(t)
		if err != nil {
			return nil, 0, err
		}
		targets = append(targets, pendingTarget{component: c, version: v, environment: e, from: from})
	}
	if err := rows.Err(); err != nil {
		return nil, 0, translate(err)
	}
	return targets, n, nil
}

// readPerTarget reads rows for each target in prepared batches: one
// UNION ALL of part(k, steps) for targets k = 0, 1, …, each with args(t).
// It returns each target's rows in time order.
func (s *Store) readPerTarget(ctx context.Context, tx *sql.Tx, targets []pendingTarget,
	part func(k, steps string) string, args func(pendingTarget) []any) ([][]derivedRow, error) {
	out := make([][]derivedRow, len(targets))
	for start, size := range statementSizes(len(targets), deriveTargetSizes) {
		parts := make([]string, size)
		for k := range parts {
			parts[k] = part(strconv.Itoa(k), s.deploymentIndex())
		}
		stmt, err := s.prepared(ctx, strings.Join(parts, "\nUNION ALL\n"))
		if err != nil {
			return nil, err
		}
		var values []any
		for _, t := range targets[start : start+size] {
			values = append(values, args(t)...)
		}
		if err := scanTargets(ctx, tx.StmtContext(ctx, stmt), values, out[start:start+size]); err != nil {
			return nil, err
		}
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b derivedRow) int {
			if c := a.time.Compare(b.time); c != 0 {
				return c
			}
			return int(a.id - b.id)
		})
	}
	return out, nil
}

// lastStepQuery reads target k's last step. Its id comes from a scalar
// subquery, which MySQL runs once as an index lookup (a derived table with
// LIMIT would be materialised, one temporary table per target).
func lastStepQuery(k, steps string) string {
	return "SELECT " + k + ", id, status, time, attempt, started_at FROM steps WHERE id = (SELECT id FROM " + steps +
		" WHERE component = ? AND version = ? AND environment = ? ORDER BY time DESC, id DESC LIMIT 1)"
}

// fromStepQuery reads target k's last step before a time, and every step
// from that time on.
func fromStepQuery(k, steps string) string {
	return "SELECT " + k + ", id, status, time, attempt, started_at FROM steps WHERE id = (SELECT id FROM " + steps +
		" WHERE component = ? AND version = ? AND environment = ? AND time < ? ORDER BY time DESC, id DESC LIMIT 1)" +
		"\nUNION ALL\nSELECT " + k + ", id, status, time, attempt, started_at FROM " + steps +
		" WHERE component = ? AND version = ? AND environment = ? AND time >= ?"
}

// Statement sizes: the SQL of each size is prepared once and reused, where
// SQL built for every count would be parsed again each time (most of the
// time of a large derivation).
var (
	deriveTargetSizes = []int{64, 8, 1}
	deriveUpdateSizes = []int{256, 16, 1}
)

// statementSizes splits n items into runs of the given sizes, largest
// first, and yields each run's start and size.
func statementSizes(n int, sizes []int) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		start := 0
		for _, size := range sizes {
			for n-start >= size {
				if !yield(start, size) {
					return
				}
				start += size
			}
		}
	}
}

func scanTargets(ctx context.Context, stmt *sql.Stmt, args []any, out [][]derivedRow) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		var r derivedRow
		var t sql.RawBytes
		if err := rows.Scan(&k, &r.id, &r.status, &t, &r.attempt, &r.startedAt); err != nil {
			return translate(err)
		}
		if r.time, err = parseDBTime(t); err != nil {
			return err
		}
		if k < 0 || k >= len(out) {
			return fmt.Errorf("derive deployments: unexpected target %d", k)
		}
		out[k] = append(out[k], r)
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	return nil
}

// numbering applies the rule of deployments to a target's steps in time
// order: a terminal step ends its deployment, and the next step starts the
// next attempt (model.DeploymentBuilder numbers them the same way).
type numbering struct {
	terminal      map[string]bool
	attempt       int
	started       time.Time
	afterTerminal bool
}

// newNumbering starts a target with no step before: the first starts
// attempt 1.
func newNumbering(terminal map[string]bool) numbering {
	return numbering{terminal: terminal, afterTerminal: true}
}

// continueFrom goes on from a derived step; an underived one is an error.
func (n *numbering) continueFrom(prev derivedRow) error {
	if !prev.startedAt.Valid || prev.attempt == 0 {
		return fmt.Errorf("derive deployments: step %d before underived steps is underived", prev.id)
	}
	started, err := parseDBTime([]byte(prev.startedAt.String))
	if err != nil {
		return err
	}
	n.attempt, n.started, n.afterTerminal = prev.attempt, started, n.terminal[model.FoldStatus(prev.status)]
	return nil
}

// next numbers the step after the last: its attempt and deployment start.
func (n *numbering) next(t time.Time, status string) (int, time.Time) {
	if n.afterTerminal {
		n.attempt++
		n.started = t
	}
	n.afterTerminal = n.terminal[model.FoldStatus(status)]
	return n.attempt, n.started
}

// renumber walks one target's steps from the last derived step before t's
// first underived one and returns the steps whose attempt or start change.
func renumber(t pendingTarget, rows []derivedRow, terminal map[string]bool) ([]derivedUpdate, error) {
	n := newNumbering(terminal)
	if len(rows) > 0 && rows[0].time.Before(t.from) {
		if err := n.continueFrom(rows[0]); err != nil {
			return nil, err
		}
		rows = rows[1:]
	}
	var out []derivedUpdate
	for _, r := range rows {
		attempt, started := n.next(r.time, r.status)
		if r.attempt == attempt && r.startedAt.Valid {
			if have, err := parseDBTime([]byte(r.startedAt.String)); err == nil && have.Equal(started) {
				continue
			}
		}
		out = append(out, derivedUpdate{id: r.id, attempt: attempt, startedAt: dbTime(started)})
	}
	return out, nil
}

// applyDerived sets the attempt and start of each step of updates, in as
// few statements as the prepared sizes allow.
func (s *Store) applyDerived(ctx context.Context, tx *sql.Tx, updates []derivedUpdate) error {
	for start, size := range statementSizes(len(updates), deriveUpdateSizes) {
		stmt, err := s.prepared(ctx, applyDerivedQuery(size))
		if err != nil {
			return err
		}
		run := updates[start : start+size]
		args := make([]any, 0, 5*size)
		for _, u := range run {
			args = append(args, u.id, u.attempt)
		}
		for _, u := range run {
			args = append(args, u.id, u.startedAt)
		}
		for _, u := range run {
			args = append(args, u.id)
		}
		res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		if err != nil {
			return translate(err)
		}
		if n, err := res.RowsAffected(); err == nil && n != int64(size) {
			return fmt.Errorf("derive deployments: set %d of %d steps", n, size)
		}
	}
	return nil
}

func applyDerivedQuery(n int) string {
	when := strings.Repeat(" WHEN ? THEN ?", n)
	return "UPDATE steps SET attempt = CASE id" + when + " END, started_at = CASE id" + when + " END WHERE id IN (" + placeholders(n) + ")"
}

// Underived counts the steps written but not yet derived: the backlog of
// the background deriver.
func (s *Store) Underived(ctx context.Context) (int, error) {
	var n int
	if err := s.db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM steps WHERE started_at IS NULL`).Scan(&n); err != nil {
		return 0, translate(err)
	}
	return n, nil
}
