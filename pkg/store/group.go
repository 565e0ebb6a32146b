package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Group commit: single steps recorded at the same moment are gathered into
// one multi-row INSERT in one transaction, and each is acknowledged only
// after that transaction commits. Under load this turns many small commits
// (each a log flush, and on MySQL a round trip) into few; a lone request
// goes through alone, with one hand-off more than a direct insert.

// Group commit limits.
const (
	maxGroup         = 128 // steps in one transaction (MySQL)
	maxGroupSQLite   = 64  // smaller: SQLite's driver binds in quadratic time
	committersMySQL  = 2   // transactions in flight at once on MySQL: more make smaller groups, each of several round trips
	committersSQLite = 1   // SQLite has one writer anyway
	groupTimeout     = 30 * time.Second
)

// errClosed answers requests that arrive while the store closes.
var errClosed = errors.New("store: closed")

// commitRequest is one step waiting for its group's commit.
type commitRequest struct {
	step insertRow
	done chan commitResult
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

// groupCommitter runs the committer goroutines of a store. Each has its
// own queue, and a target's steps always go to the same one: steps of one
// deploy sent at once then share a group (one transaction) or follow each
// other, instead of waiting on each other's row locks from two
// transactions of the same process.
type groupCommitter struct {
	queues   []chan *commitRequest
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func (s *Store) startCommitters() {
	n := committersMySQL
	if s.kind == KindSQLite {
		n = committersSQLite
	}
	s.group = &groupCommitter{quit: make(chan struct{})}
	for range n {
		queue := make(chan *commitRequest, 4*maxGroup)
		s.group.queues = append(s.group.queues, queue)
		s.group.wg.Go(func() { s.commitLoop(queue) })
	}
}

func (s *Store) stopCommitters() {
	if s.group == nil {
		return
	}
	s.group.stopOnce.Do(func() { close(s.group.quit) })
	s.group.wg.Wait()
	// Answer whatever is still queued: nothing of it was written.
	for _, queue := range s.group.queues {
		for len(queue) > 0 {
			req := <-queue
			req.done <- commitResult{err: errClosed}
		}
	}
}

// commit queues one row and waits for its group to commit.
func (s *Store) commit(ctx context.Context, row insertRow) (int64, error) {
	req := &commitRequest{step: row, done: make(chan commitResult, 1)}
	h := fnv.New32a()
	for _, text := range []string{row.step.Component, row.step.Version, row.step.Environment} {
		h.Write([]byte(text))
		h.Write([]byte{0})
	}
	select {
	case s.group.queues[h.Sum32()%uint32(len(s.group.queues))] <- req:
	case <-s.group.quit:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.id, res.err
	case <-ctx.Done():
		// The step may still be committed, as when a response is lost: a
		// retry with the same idempotency key finds it.
		return 0, ctx.Err()
	}
}

func (s *Store) commitLoop(queue chan *commitRequest) {
	limit := maxGroup
	if s.kind == KindSQLite {
		limit = maxGroupSQLite
	}
	batch := make([]*commitRequest, 0, limit)
	for {
		select {
		case <-s.group.quit:
			return
		case req := <-queue:
			batch = append(batch[:0], req)
		}
	drain:
		for len(batch) < limit {
			select {
			case req := <-queue:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		s.commitGroup(batch)
	}
}

// commitGroup writes a group and answers every request in it.
func (s *Store) commitGroup(batch []*commitRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	if len(batch) > 1 {
		ids, err := s.insertGroup(ctx, batch)
		if err == nil {
			for i, req := range batch {
				req.done <- commitResult{id: ids[i]}
			}
			return
		}
		if !errors.Is(err, errDuplicate) && !retryable(err) {
			// Rolled back, and not for one member's sake: nothing of the
			// group was stored, and nothing would be alone.
			for _, req := range batch {
				req.done <- commitResult{err: err}
			}
			return
		}
		// A reused idempotency key spoils the whole statement, and a group
		// that kept losing conflicts may hold the one step that loses:
		// insert one by one, so that only its request sees the error.
	}
	for _, req := range batch {
		ids, err := s.insertGroup(ctx, []*commitRequest{req})
		if err != nil {
			req.done <- commitResult{err: err}
			continue
		}
		req.done <- commitResult{id: ids[0]}
	}
}

// insertGroup inserts and numbers the group's steps in one transaction
// (retried on conflicts) and returns their ids in order.
func (s *Store) insertGroup(ctx context.Context, batch []*commitRequest) ([]int64, error) {
	readBack := !s.consecutiveIDs
	var groupKey string
	if readBack {
		groupKey = internalKeyPrefix + randomHex(16)
	}
	keys := make([]string, len(batch))
	args := make([]any, 0, insertRowParams*len(batch))
	steps := make([]model.Step, len(batch))
	for i, req := range batch {
		keys[i] = req.step.key
		fingerprint := req.step.fingerprint
		if readBack && keys[i] == "" {
			// Mark the row so its id can be found (see readIDsByKey).
			keys[i], fingerprint = batchKey(groupKey, i), ""
		}
		args = append(args, insertArgs(req.step.step, keys[i], fingerprint)...)
	}
	stmt, err := s.prepared(ctx, multiRowInsert(len(batch)))
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(batch))
	var work []*targetWork
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		if err != nil {
			return translate(err)
		}
		if readBack {
			if err := readIDsByKey(ctx, tx, keys, ids); err != nil {
				return err
			}
		} else {
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("read inserted ids: %w", err)
			}
			// One INSERT's rows have consecutive ids here (see
			// consecutiveIDs); MySQL reports the first, SQLite the last.
			first := id
			if s.kind == KindSQLite {
				first = id - int64(len(batch)) + 1
			}
			for i := range ids {
				ids[i] = first + int64(i)
			}
		}
		for i, req := range batch {
			steps[i] = req.step.step
			steps[i].ID = ids[i]
		}
		work, err = s.numberSteps(ctx, tx, steps)
		return err
	})
	if err == nil {
		s.targets.remember(work)
	}
	return ids, err
}

// readIDsByKey sets ids[i] to the id of the row stored under keys[i].
func readIDsByKey(ctx context.Context, tx *sql.Tx, keys []string, ids []int64) error {
	args := make([]any, len(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		args[i] = k
		index[k] = i
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, idempotency_key FROM steps WHERE idempotency_key IN (`+placeholders(len(keys))+`)`, args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			return translate(err)
		}
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("read back ids: unexpected key %q", k)
		}
		ids[i] = id
		found++
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	if found != len(keys) {
		return fmt.Errorf("read back ids: found %d of %d rows", found, len(keys))
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
