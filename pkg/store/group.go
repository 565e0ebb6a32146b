package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Group commit: single steps recorded at the same moment are gathered into
// one multi-row INSERT in one transaction, each acknowledged once it
// commits: many small commits (each a log flush, on MySQL a round trip)
// become few. A request that finds its lane idle commits its step itself,
// in its own goroutine: a hand-over to the committer and back cost a lone
// step a quarter of its CPU.

// Group commit limits.
const (
	maxGroup       = 128 // steps in one transaction (MySQL)
	maxGroupSQLite = 64  // smaller: SQLite's driver binds in quadratic time
	groupTimeout   = 30 * time.Second
)

// errClosed answers requests that arrive while the store closes.
var errClosed = errors.New("store: closed")

// commitRequest is one step waiting for its group's commit.
type commitRequest struct {
	step insertRow
	done chan commitResult
	// queued is when the request came (see commitLane.unavailable).
	queued time.Time
}

type commitResult struct {
	id  int64
	err error
}

// insertRow is one step to insert.
type insertRow struct {
	step        model.Step
	key         string // the client's idempotency key, or ""
	fingerprint string
}

// groupCommitter runs the committer goroutine of a store, with one lane:
// one transaction in flight at a time (its committer's, or that of a
// request committing alone), so that steps of one deploy share a group or
// follow each other instead of waiting on each other's row locks. Two
// lanes made groups half as large on MySQL (docs/benchmarks.md).
type groupCommitter struct {
	lane     *commitLane
	quit     chan struct{}
	stopped  chan struct{} // closed once nothing queued will be answered any more
	wg       sync.WaitGroup
	stopOnce sync.Once
}

type commitLane struct {
	queue chan *commitRequest
	// busy holds a token while a transaction of the lane is in flight.
	busy chan struct{}
	// unavailable is why the lane's latest transaction failed for want
	// of the database (nil once one commits), and unavailableAt when; both
	// are used with busy held. A request that came while it was failing is
	// answered with its error, not tried again: each try waits out
	// groupTimeout, and two would pass the 60 s an HTTP answer has.
	unavailable   error
	unavailableAt time.Time
	// lastGroup is the size of the lane's latest transaction, and
	// lastEnd when it ended (UnixNano).
	lastGroup atomic.Int32
	lastEnd   atomic.Int64
	// inCommit counts the requests in commit now, and peak the most at
	// once since the latest transaction began: how many clients send.
	inCommit atomic.Int32
	peak     atomic.Int32
}

// Gathering a group under load: clients send their next step once
// answered, so a group held only the steps that came during the one
// before, and eight clients settled into two alternating groups of four.
// While the latest transaction held several steps and ended less than
// gatherHot ago, a step queues instead of committing alone, and the
// committer waits up to gatherWait for as many steps as were in commit at
// once during it (docs/benchmarks.md, "Gathering a group under load"). One
// client, or a lull, never waits.
const (
	gatherWait = 500 * time.Microsecond
	gatherHot  = 2 * time.Millisecond
)

// hot reports that the lane's latest transaction held several steps and
// ended just now.
func (lane *commitLane) hot(now time.Time) bool {
	return lane.lastGroup.Load() > 1 && now.UnixNano()-lane.lastEnd.Load() < int64(gatherHot)
}

// enter counts a request into commit (leave counts it out) and raises
// peak to the count.
func (lane *commitLane) enter() {
	n := lane.inCommit.Add(1)
	for p := lane.peak.Load(); n > p && !lane.peak.CompareAndSwap(p, n); p = lane.peak.Load() {
	}
}

func (lane *commitLane) leave() { lane.inCommit.Add(-1) }

// runGroup commits batch as one group and notes its size and end; the caller
// holds lane.busy.
func (s *Store) runGroup(lane *commitLane, batch []*commitRequest) {
	lane.peak.Store(lane.inCommit.Load())
	s.commitGroup(lane, batch)
	lane.lastGroup.Store(int32(len(batch)))
	lane.lastEnd.Store(time.Now().UnixNano())
}

func (s *Store) startCommitters() {
	lane := &commitLane{queue: make(chan *commitRequest, 4*maxGroup), busy: make(chan struct{}, 1)}
	s.group = &groupCommitter{lane: lane, quit: make(chan struct{}), stopped: make(chan struct{})}
	s.group.wg.Go(func() { s.commitLoop(lane) })
}

func (s *Store) stopCommitters() {
	if s.group == nil {
		return
	}
	s.group.stopOnce.Do(func() {
		close(s.group.quit)
		s.group.wg.Wait()
		lane := s.group.lane
		// Wait for a request committing alone, and keep the token: later
		// ones queue, and are answered errClosed.
		lane.busy <- struct{}{}
		// Answer whatever is still queued: nothing of it was written.
		for len(lane.queue) > 0 {
			req := <-lane.queue
			req.done <- commitResult{err: errClosed}
		}
		close(s.group.stopped)
	})
}

// commit writes one row, alone or in a group, and returns its id once its
// transaction has committed.
func (s *Store) commit(ctx context.Context, row insertRow) (int64, error) {
	req := &commitRequest{step: row, done: make(chan commitResult, 1), queued: time.Now()}
	lane := s.group.lane
	lane.enter()
	defer lane.leave()
	if len(lane.queue) == 0 && !lane.hot(req.queued) {
		select {
		case lane.busy <- struct{}{}:
			// The lane is idle: commit here. Steps that arrive meanwhile
			// queue, and its committer takes them together once this one
			// is done.
			s.runGroup(lane, []*commitRequest{req})
			<-lane.busy
			res := <-req.done
			return res.id, res.err
		default:
		}
	}
	select {
	case lane.queue <- req:
	case <-s.group.quit:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.id, res.err
	case <-s.group.stopped:
		select {
		case res := <-req.done:
			return res.id, res.err
		default:
			// Queued after the store closed: nobody takes it.
			return 0, errClosed
		}
	case <-ctx.Done():
		// The step may still be committed, as when a response is lost: a
		// retry with the same idempotency key finds it.
		return 0, ctx.Err()
	}
}

func (s *Store) commitLoop(lane *commitLane) {
	limit := maxGroup
	if s.kind == KindSQLite {
		limit = maxGroupSQLite
	}
	batch := make([]*commitRequest, 0, limit)
	for {
		select {
		case <-s.group.quit:
			return
		case req := <-lane.queue:
			batch = append(batch[:0], req)
		}
		// Wait for a request committing alone: the steps that queued
		// meanwhile go together.
		select {
		case lane.busy <- struct{}{}:
		case <-s.group.quit:
			batch[0].done <- commitResult{err: errClosed}
			return
		}
	drain:
		for len(batch) < limit {
			select {
			case req := <-lane.queue:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		if want := min(int(lane.peak.Load()), limit); len(batch) < want && lane.hot(time.Now()) {
			timer := time.NewTimer(gatherWait)
		gather:
			for len(batch) < want {
				select {
				case req := <-lane.queue:
					batch = append(batch, req)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		s.runGroup(lane, batch)
		<-lane.busy
	}
}

// commitGroup writes a group and answers every request in it. The
// caller holds lane.busy.
func (s *Store) commitGroup(lane *commitLane, batch []*commitRequest) {
	if lane.unavailable != nil {
		batch = slices.DeleteFunc(batch, func(req *commitRequest) bool {
			if req.queued.Before(lane.unavailableAt) {
				req.done <- commitResult{err: lane.unavailable}
				return true
			}
			return false
		})
		if len(batch) == 0 {
			return
		}
	}
	failed := func(err error) {
		if databaseAway(err) {
			lane.unavailable, lane.unavailableAt = err, time.Now()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	if len(batch) > 1 {
		ids, err := s.insertGroup(ctx, batch)
		if err == nil {
			lane.unavailable = nil
			for i, req := range batch {
				req.done <- commitResult{id: ids[i]}
			}
			return
		}
		if !errors.Is(err, errDuplicate) && !errors.Is(err, errDeploymentFull) && !retryable(err) {
			// Rolled back, and not for one member's sake: nothing of the
			// group was stored, and nothing would be alone.
			failed(err)
			for _, req := range batch {
				req.done <- commitResult{err: err}
			}
			return
		}
		// A reused idempotency key, a step past its deployment's bound, or a
		// step that keeps losing conflicts spoils the whole group: insert one
		// by one, so that only its request sees the error.
	}
	for _, req := range batch {
		ids, err := s.insertGroup(ctx, []*commitRequest{req})
		if err != nil {
			failed(err)
			req.done <- commitResult{err: err}
			continue
		}
		lane.unavailable = nil
		req.done <- commitResult{id: ids[0]}
	}
}

// insertGroup inserts and numbers the group's steps in one transaction
// (retried on conflicts), one INSERT of all of them, and returns their ids
// in order.
func (s *Store) insertGroup(ctx context.Context, batch []*commitRequest) ([]int64, error) {
	groupKey := s.rowsKey("") // none where one INSERT's ids are consecutive
	steps := make([]model.Step, len(batch))
	keys := make([]string, len(batch))
	fingerprints := make([]string, len(batch))
	for i, req := range batch {
		steps[i], keys[i], fingerprints[i] = req.step.step, req.step.key, req.step.fingerprint
		if groupKey != "" && keys[i] == "" {
			// Mark the row so its id can be found (see readIDsByKey).
			keys[i], fingerprints[i] = batchKey(groupKey, i), ""
		}
	}
	// Prepared before the transaction, which then needs no second
	// connection for it.
	if _, err := s.preparedWrite(ctx, multiRowInsert(len(batch))); err != nil {
		return nil, err
	}
	var work []*targetWork
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertSteps(ctx, tx, steps, keys, fingerprints, len(steps)); err != nil {
			return err
		}
		var err error
		work, err = s.numberSteps(ctx, tx, steps)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.targets.remember(work)
	ids := make([]int64, len(steps))
	for i, st := range steps {
		ids[i] = st.ID
	}
	return ids, nil
}

// readIDsByKey sets the id of steps[i] to that of the row stored under
// keys[i].
func readIDsByKey(ctx context.Context, tx *sql.Tx, keys []string, steps []model.Step) error {
	args := make([]any, len(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		args[i] = k
		index[k] = i
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, idempotency_key FROM steps WHERE idempotency_key IN (`+repeated(len(keys), "?", ", ")+`)`, args...)
	if err != nil {
		return translate(err)
	}
	found := 0
	err = scanAll(rows, func() error {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			return err
		}
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("read back ids: unexpected key %q", k)
		}
		steps[i].ID = id
		found++
		return nil
	})
	if err != nil {
		return err
	}
	if found != len(keys) {
		// The transaction's own rows are gone: the server rolled it back
		// unannounced (see guarded).
		return fmt.Errorf("%w: read back ids: found %d of %d rows", errConflict, found, len(keys))
	}
	return nil
}

// detectConsecutiveIDs asks MySQL whether one INSERT's rows get
// consecutive ids: InnoDB's "traditional" and "consecutive" auto-increment
// lock modes (0, 1; MariaDB's default) promise it, with an increment of 1.
// Anything else — interleaved mode (MySQL 8's default), Galera's
// increments, a distributed database — makes the store read ids back.
func (s *Store) detectConsecutiveIDs(ctx context.Context) {
	var mode, increment sql.NullInt64
	err := s.db.DB.QueryRowContext(ctx, `SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment`).Scan(&mode, &increment)
	s.consecutiveIDs = err == nil && mode.Valid && mode.Int64 <= 1 && increment.Int64 == 1
}
