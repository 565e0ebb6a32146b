package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// Numbering deployments: the package documentation (doc.go) explains it.

// target names the deployments of one component, version and environment.
type target struct {
	component, version, environment string
}

func targetOf(st model.Step) target { return target{st.Component, st.Version, st.Environment} }

func compareTargets(a, b target) int {
	return cmp.Or(strings.Compare(a.component, b.component), strings.Compare(a.version, b.version),
		strings.Compare(a.environment, b.environment))
}

// targetState is a target's row in targets: what its next step
// continues from.
type targetState struct {
	attempt int       // its latest deployment
	started time.Time // that deployment's start
	last    time.Time // its last step's time
	ended   bool      // the latest deployment ended with a terminal status
	writes  int64     // the row's count of writes
	count   int       // the steps of its latest deployment (read with the row)
}

// targetWork is what one transaction does to one target.
type targetWork struct {
	target
	targetState      // as read, then as numbering leaves it
	exists      bool // the target has a row
	cached      bool // the state came from the cache, not a locked read
	steps       []model.Step
	// redo, when not 0, renumbers the target from this attempt on, from
	// its first step (redoFrom, redoID) on in time-then-id order: steps of
	// one time may end one deployment and start the next.
	redo     int
	redoFrom time.Time
	redoID   int64
	// redoOnly: only deployment redo is rewritten, up to its last step's
	// time redoLast; the deployments after it stay (see lateFrom).
	redoOnly bool
	redoLast time.Time
}

// deploymentWrite is a deployment row to insert, or, when it exists, to
// extend by its phases and steps.
type deploymentWrite struct {
	target
	attempt       int
	firstID       int64
	started, last time.Time
	owner         string
	steps         int
	phases        []byte
	// The deployment's revision and commit time are each the latest given
	// on its steps, in the order numbering adds them (time, then id); nil
	// or "" when none of these steps gives one, which keeps a stored value.
	revision    string
	committedAt *time.Time
}

// numberSteps numbers stored steps (with their ids) in the transaction
// that inserted them. Once that transaction commits, pass what it returns
// to remember.
func (s *Store) numberSteps(ctx context.Context, tx *sql.Tx, steps []model.Step) ([]*targetWork, error) {
	sorted := slices.SortedFunc(slices.Values(steps), func(a, b model.Step) int {
		return cmp.Or(compareTargets(targetOf(a), targetOf(b)), a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	var work []*targetWork
	for _, st := range sorted {
		if len(work) == 0 || work[len(work)-1].target != targetOf(st) {
			work = append(work, &targetWork{target: targetOf(st)})
		}
		w := work[len(work)-1]
		w.steps = append(w.steps, st)
	}
	return work, s.number(ctx, tx, work, false)
}

// number locks the targets of work (in one order, so that writers never
// wait on each other in a circle), decides for each whether its new steps
// continue it or renumber it, and writes its deployments and its row.
// redoAll renumbers every target from scratch.
func (s *Store) number(ctx context.Context, tx *sql.Tx, work []*targetWork, redoAll bool) error {
	slices.SortFunc(work, func(a, b *targetWork) int { return compareTargets(a.target, b.target) })
	if redoAll || !s.targets.fill(work) {
		if err := s.lockTargets(ctx, tx, work); err != nil {
			return err
		}
	}
	redo, err := s.findRedo(ctx, tx, work, redoAll)
	if err != nil {
		return err
	}
	stored, err := s.readTargetSteps(ctx, tx, redo)
	if err != nil {
		return err
	}
	if err := s.deleteDeployments(ctx, tx, redo); err != nil {
		return err
	}
	writes, err := deploymentWrites(work, stored, *s.terminal.Load(), s.maxDeploymentSteps)
	if errors.Is(err, errDeploymentFull) && len(work) > 0 && work[0].cached {
		// The cached count may be stale (a step that ended the
		// deployment, written elsewhere): refuse only on a locked read.
		s.targets.forget(work)
		return errConflict
	}
	if err != nil {
		return err
	}
	if err := s.writeDeployments(ctx, tx, writes); err != nil {
		return err
	}
	return s.writeTargets(ctx, tx, work)
}

// findRedo returns the targets of work to renumber, each with the attempt
// to renumber from: every target from its first with redoAll, else those
// where a new step lands before the last stored one.
func (s *Store) findRedo(ctx context.Context, tx *sql.Tx, work []*targetWork, redoAll bool) ([]*targetWork, error) {
	var redo []*targetWork
	for _, w := range work {
		switch {
		case redoAll:
			w.redo = 1
		case !w.exists:
			// No row: no stored step (every write makes the row).
			w.ended = true
			continue
		case !w.steps[0].Time.After(w.last):
			// At the last stored step's instant, ties go by id, and ids do
			// not follow commits: lateFrom says.
			late, err := s.lateFrom(ctx, tx, w, *s.terminal.Load())
			if err != nil {
				return nil, err
			}
			if !late {
				continue
			}
		default:
			continue
		}
		redo = append(redo, w)
	}
	return redo, nil
}

// deploymentWrites numbers the steps of each target of work from its
// state: its new steps, or for a target to renumber, its stored steps from
// attempt w.redo on (the new among them). A new step that would make its
// deployment hold more than maxSteps before the step that ends it is
// refused (model.MaxDeploymentSteps).
func deploymentWrites(work []*targetWork, stored map[target][]model.Step, terminal terminalSet, maxSteps int) ([]deploymentWrite, error) {
	var writes []deploymentWrite
	for _, w := range work {
		steps := w.steps
		latest := w.targetState
		var fresh map[int64]bool // the new steps among stored ones
		switch {
		case w.redo > 0:
			w.attempt, w.ended = w.redo-1, true
			steps = stored[w.target]
			fresh = make(map[int64]bool, len(w.steps))
			for _, st := range w.steps {
				fresh[st.ID] = true
			}
		case !w.ended:
			// The stored deployment goes on: its row gains these phases.
			writes = append(writes, deploymentWrite{target: w.target, attempt: w.attempt, started: w.started})
		}
		// Only a deployment past the bound (over) that holds a new step is
		// refused: an older one is renumbered as it is.
		var over, holdsNew bool
		for _, st := range steps {
			if w.ended { // st starts the next deployment
				over, holdsNew = false, false
			} else if w.count >= maxSteps && !terminal.ends(st.Status) {
				over = true
			}
			holdsNew = holdsNew || fresh == nil || fresh[st.ID]
			if over && holdsNew {
				return nil, w.full(maxSteps)
			}
			writes = w.add(writes, st, terminal)
			if w.redoOnly && w.ended {
				break // the rest was read only for reading to a time
			}
		}
		if w.redoOnly {
			// The target's latest deployment stays what it was.
			w.targetState = latest
		}
	}
	return writes, nil
}

// errDeploymentFull marks a step refused because its deployment holds
// model.MaxDeploymentSteps: a group of steps then commits one by one, so
// that only that step's request is refused.
var errDeploymentFull = errors.New("deployment full")

// full is the error for a new step that would go past maxSteps in w's
// latest deployment.
func (w *targetWork) full(maxSteps int) error {
	env := ""
	if w.environment != "" {
		env = " in " + w.environment
	}
	return fmt.Errorf("%w: %w", errDeploymentFull, &model.Error{Code: model.EUNPROCESSABLE, Field: "status",
		Message: fmt.Sprintf("deployment %d of %s %s%s already holds %d steps, the most one holds before the step that ends it; "+
			"record a terminal status (such as finished or failed) to end it", w.attempt, w.component, w.version, env, maxSteps)})
}

// Statement sizes: a statement over n targets is sent as runs of these
// sizes, each size's SQL prepared once. On MySQL each run is a round trip
// in the transaction all writes queue behind: with powers of two, n
// targets take as many runs as n has one bits. SQLite's runs are smaller:
// its driver binds in quadratic time, and a run costs no round trip.
var (
	targetSizesMySQL  = []int{64, 32, 16, 8, 4, 2, 1}
	targetSizesSQLite = []int{16, 4, 1}
)

// runs cuts items into runs of the store's statement sizes, largest
// first.
func runs[T any](s *Store, items []T) iter.Seq[[]T] {
	sizes := byKind(s, targetSizesMySQL, targetSizesSQLite)
	return func(yield func([]T) bool) {
		rest := items
		for _, size := range sizes {
			for ; len(rest) >= size; rest = rest[size:] {
				if !yield(rest[:size]) {
					return
				}
			}
		}
	}
}

// anyTarget is "(component = ? AND version = ? AND environment = ?[ AND
// extra]) OR …" for n targets.
func anyTarget(n int, extra string) string {
	return repeated(n, "(component = ? AND version = ? AND environment = ?"+extra+")", " OR ")
}

// lockTargets reads the rows of work's targets, locking them on MySQL
// (SQLite's transaction holds the whole database).
func (s *Store) lockTargets(ctx context.Context, tx *sql.Tx, work []*targetWork) error {
	lock := byKind(s, " FOR UPDATE", "")
	index := make(map[target]*targetWork, len(work))
	for _, w := range work {
		index[w.target] = w
	}
	for run := range runs(s, work) {
		args := make([]any, 0, 3*len(run))
		for _, w := range run {
			args = append(args, w.component, w.version, w.environment)
		}
		// The latest deployment's count of steps comes with the row's lock.
		rows, err := s.query(ctx, tx, `SELECT t.component, t.version, t.environment, t.attempt, t.started_at, t.last_time, t.ended, t.writes,
COALESCE(d.steps, 0) FROM targets t LEFT JOIN deployments d ON d.component = t.component AND d.version = t.version
AND d.environment = t.environment AND d.attempt = t.attempt WHERE `+
			repeated(len(run), "(t.component = ? AND t.version = ? AND t.environment = ?)", " OR ")+
			` ORDER BY t.component, t.version, t.environment`+lock, args...)
		if err != nil {
			return err
		}
		err = scanAll(rows, func() error {
			var t target
			var st targetState
			var started, last []byte
			if err := rows.Scan(&t.component, &t.version, &t.environment, &st.attempt, &started, &last, &st.ended, &st.writes, &st.count); err != nil {
				return err
			}
			w := index[t]
			if w == nil {
				return fmt.Errorf("number deployments: unexpected target %q", t.component)
			}
			if st.started, err = rowtext.ParseTime(started); err != nil {
				return err
			}
			st.last, err = rowtext.ParseTime(last)
			w.targetState, w.exists = st, true
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// lateFrom finds where late steps land and what renumbering they need,
// or says they are not late (at the instant of the target's last step,
// after it by id). Ending nothing, inside an ended deployment before its
// last step, they change that deployment alone (redoOnly); after a
// deployment's end (or before the first), they start the next one, which
// takes them in and alone changes, unless it is the latest. Anything else
// renumbers from where they land on. Positions are (time, id): a new
// step's id need not be the largest of its instant (another Galera node,
// or an INSERT that came later, may have given a larger one).
func (s *Store) lateFrom(ctx context.Context, tx *sql.Tx, w *targetWork, terminal terminalSet) (bool, error) {
	first, lastNew := w.steps[0], w.steps[len(w.steps)-1]
	endsNone := !slices.ContainsFunc(w.steps, func(st model.Step) bool { return terminal.ends(st.Status) })
	at := rowtext.FormatTime(first.Time)
	landed, err := s.deploymentAt(ctx, tx, w, `(started_at < ? OR started_at = ? AND first_id < ?) ORDER BY attempt DESC`, at, at, first.ID)
	if err != nil {
		return false, err
	}
	before := func(st model.Step, d *storedDeployment) (bool, error) {
		if !st.Time.Equal(d.last) {
			return st.Time.Before(d.last), nil
		}
		id, err := s.lastStepID(ctx, tx, w, d.attempt)
		return st.ID < id, err
	}
	if landed.attempt > 0 {
		inside, err := before(first, &landed)
		if err != nil {
			return false, err
		}
		if !inside && landed.attempt == w.attempt {
			return false, nil // after the latest deployment's last step
		}
		if inside {
			w.redo, w.redoFrom, w.redoID = landed.attempt, landed.started, landed.firstID
			// A deployment before the latest ended with its last step, the
			// one terminal status in it.
			if landed.attempt < w.attempt && endsNone {
				if w.redoOnly, err = before(lastNew, &landed); err != nil {
					return false, err
				}
			}
			w.redoLast = landed.last
			return true, nil
		}
	}
	// After the end of deployment landed.attempt (0: before the first):
	// the steps from the first new one on are renumbered from the next.
	w.redo, w.redoFrom, w.redoID = landed.attempt+1, first.Time, first.ID
	if !endsNone || w.redo >= w.attempt {
		return true, nil
	}
	next, err := s.deploymentAt(ctx, tx, w, `attempt = ?`, w.redo)
	if err != nil {
		return false, err
	}
	if next.attempt == w.redo {
		if w.redoOnly, err = before(lastNew, &next); err != nil {
			return false, err
		}
	}
	w.redoLast = next.last
	return true, nil
}

// lastStepID is the id of the last step of w's deployment attempt (0 if
// there is none), read from its phases: only for a step at the instant of
// that deployment's end, where ids say which comes first.
func (s *Store) lastStepID(ctx context.Context, tx *sql.Tx, w *targetWork, attempt int) (int64, error) {
	var phases []byte
	err := tx.QueryRowContext(ctx, `SELECT phases FROM deployments WHERE component = ? AND version = ? AND environment = ? AND attempt = ?`,
		w.component, w.version, w.environment, attempt).Scan(&phases)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, translate(err)
	}
	phases = bytes.TrimSuffix(phases, []byte{rowtext.PhaseEnd})
	id, _, ok := rowtext.CutInt(phases[bytes.LastIndexByte(phases, rowtext.PhaseEnd)+1:], ',')
	if !ok {
		return 0, fmt.Errorf("number deployments: damaged phases of %s attempt %d", w.component, attempt)
	}
	return id, nil
}

// storedDeployment is what numbering reads of a stored deployment.
type storedDeployment struct {
	attempt       int // 0: none found
	started, last time.Time
	firstID       int64
}

// deploymentAt reads the first deployment of w's target that where (a
// condition and order on deployments) finds, or none.
func (s *Store) deploymentAt(ctx context.Context, tx *sql.Tx, w *targetWork, where string, args ...any) (storedDeployment, error) {
	var d storedDeployment
	rows, err := s.query(ctx, tx, `SELECT attempt, started_at, first_id, last_time FROM deployments
WHERE component = ? AND version = ? AND environment = ? AND `+where+` LIMIT 1`, append([]any{w.component, w.version, w.environment}, args...)...)
	if err != nil {
		return d, err
	}
	err = scanAll(rows, func() error {
		var started, last []byte
		if err := rows.Scan(&d.attempt, &started, &d.firstID, &last); err != nil {
			return err
		}
		var err1, err2 error
		d.started, err1 = rowtext.ParseTime(started)
		d.last, err2 = rowtext.ParseTime(last)
		return errors.Join(err1, err2)
	})
	return d, err
}

// redoRange is the last attempt and the last step time renumbering w
// rewrites and reads: deployment redo up to its last step, or all after.
func (w *targetWork) redoRange() (lastAttempt int, lastTime string) {
	if w.redoOnly {
		return w.redo, rowtext.FormatTime(w.redoLast)
	}
	return math.MaxInt32, startsLast
}

// readTargetSteps reads the stored steps of each target from its
// (redoFrom, redoID) on, to the time of redoRange, in time-then-id order
// (the new steps among them).
func (s *Store) readTargetSteps(ctx context.Context, tx *sql.Tx, work []*targetWork) (map[target][]model.Step, error) {
	out := make(map[target][]model.Step, len(work))
	// Left to choose, MySQL may read "time >= ?" through steps_time.
	steps := byKind(s, "steps FORCE INDEX (steps_deployment)", "steps")
	for run := range runs(s, work) {
		args := make([]any, 0, 7*len(run))
		for _, w := range run {
			from := rowtext.FormatTime(w.redoFrom)
			_, to := w.redoRange()
			args = append(args, w.component, w.version, w.environment, from, to, from, w.redoID)
		}
		rows, err := s.query(ctx, tx, `SELECT `+stepColumns+` FROM `+steps+` WHERE `+
			anyTarget(len(run), " AND time >= ? AND time <= ? AND (time > ? OR id >= ?)")+` ORDER BY component, version, environment, time, id`, args...)
		if err != nil {
			return nil, err
		}
		if err := scanStepsBy(rows, out, targetOf); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deleteDeployments removes the deployments that renumbering rewrites,
// and first the sealed blocks holding any of them (seal.go).
func (s *Store) deleteDeployments(ctx context.Context, tx *sql.Tx, work []*targetWork) error {
	for run := range runs(s, work) {
		args := make([]any, 0, 5*len(run))
		for _, w := range run {
			to, _ := w.redoRange()
			args = append(args, w.component, w.version, w.environment, w.redo, to)
		}
		cond := anyTarget(len(run), " AND attempt >= ? AND attempt <= ?")
		if err := s.unseal(ctx, tx, cond, args); err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `DELETE FROM deployments WHERE `+cond, args...); err != nil {
			return err
		}
	}
	return nil
}

// add numbers the target's next step: it extends the last of writes, or,
// after a terminal status, starts the next attempt.
func (w *targetWork) add(writes []deploymentWrite, st model.Step, terminal terminalSet) []deploymentWrite {
	if w.ended {
		w.attempt++
		w.started = st.Time
		w.count = 0
		writes = append(writes, deploymentWrite{target: w.target, attempt: w.attempt, firstID: st.ID, started: st.Time, owner: st.Owner})
	}
	w.count++
	d := &writes[len(writes)-1]
	d.phases = rowtext.AppendPhase(d.phases, st.ID, st.Time.Sub(d.started), st.Status)
	d.steps++
	d.last = st.Time
	if st.Revision != "" {
		d.revision = st.Revision
	}
	if st.CommittedAt != nil {
		d.committedAt = st.CommittedAt
	}
	w.last = st.Time
	w.ended = terminal.ends(st.Status)
	return writes
}

// upsertDeployment extends a stored deployment. An extension's steps come
// after the stored ones: a revision or commit time they give replaces the
// stored one, and none keeps it.
var upsertDeployment = onConflict("component, version, environment, attempt", `last_time = excluded.last_time,
steps = steps + excluded.steps, phases = CONCAT(phases, excluded.phases),
revision = COALESCE(excluded.revision, revision), committed_at = COALESCE(excluded.committed_at, committed_at)`)

// writeDeployments inserts new deployment rows and extends existing ones.
func (s *Store) writeDeployments(ctx context.Context, tx *sql.Tx, writes []deploymentWrite) error {
	for run := range runs(s, writes) {
		args := make([]any, 0, 12*len(run))
		for _, d := range run {
			args = append(args, d.component, d.version, d.environment, d.attempt, d.firstID, rowtext.FormatTime(d.started), rowtext.FormatTime(d.last), d.owner, d.steps, d.phases,
				nullText(d.revision), nullTime(d.committedAt))
		}
		query := `INSERT INTO deployments (component, version, environment, attempt, first_id, started_at, last_time, owner, steps, phases, revision, committed_at) VALUES ` +
			repeated(len(run), "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ") + upsertDeployment.in(s)
		if err := s.exec(ctx, tx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// upsertTarget writes a target's row only if its count of writes is the
// one numbering started from (the proposed count less one), else leaves
// it. MySQL sets the columns in order, so writes is set last.
var upsertTarget = upsert{
	mysql: ` ON DUPLICATE KEY UPDATE attempt = IF(writes = VALUES(writes) - 1, VALUES(attempt), attempt),
started_at = IF(writes = VALUES(writes) - 1, VALUES(started_at), started_at),
last_time = IF(writes = VALUES(writes) - 1, VALUES(last_time), last_time),
ended = IF(writes = VALUES(writes) - 1, VALUES(ended), ended),
writes = IF(writes = VALUES(writes) - 1, VALUES(writes), writes)`,
	sqlite: ` ON CONFLICT (component, version, environment) DO UPDATE SET attempt = excluded.attempt, started_at = excluded.started_at,
last_time = excluded.last_time, ended = excluded.ended, writes = excluded.writes WHERE targets.writes = excluded.writes - 1`,
}

// writeTargets stores each target's new state where its row holds the
// state numbering started from; a row written elsewhere meanwhile (after
// a cached state, or a locked read that found no row) makes a conflict.
// The rows affected tell: MySQL counts 1 per insert and 2 per update,
// SQLite 1 for either, and both none for a row left as it was.
func (s *Store) writeTargets(ctx context.Context, tx *sql.Tx, work []*targetWork) error {
	for run := range runs(s, work) {
		args := make([]any, 0, 8*len(run))
		want := int64(0)
		for _, w := range run {
			args = append(args, w.component, w.version, w.environment, w.attempt, rowtext.FormatTime(w.started), rowtext.FormatTime(w.last), w.ended, w.writes+1)
			want++
			if w.exists && s.kind == KindMySQL {
				want++
			}
		}
		n, err := s.execCount(ctx, tx, `INSERT INTO targets (component, version, environment, attempt, started_at, last_time, ended, writes) VALUES `+
			repeated(len(run), "(?, ?, ?, ?, ?, ?, ?, ?)", ", ")+upsertTarget.in(s), args...)
		if err != nil {
			return err
		}
		if n != want {
			s.targets.forget(work)
			return errConflict
		}
	}
	return nil
}
