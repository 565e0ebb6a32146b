package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// MaxBatch is the most steps one CreateSteps call stores.
const MaxBatch = model.MaxBatchSteps

// insertChunk is how many rows go in one multi-row INSERT: enough to
// amortise round trips, within every database's parameter limit. SQLite
// has no round trips to save, and its Go driver matches parameters to
// arguments in quadratic time: small chunks.
const (
	insertChunkMySQL  = 500
	insertChunkSQLite = 32
)

func (s *Store) insertChunk() int { return byKind(s, insertChunkMySQL, insertChunkSQLite) }

// batchKey is the idempotency key of row i of a batch sent with key. The
// space cannot occur in a client's key, so batch rows never collide with
// single steps, and a batch's rows are one range of the unique index.
func batchKey(key string, i int) string {
	return key + " " + strconv.Itoa(i)
}

// batchKeys are the keys of the rows of a batch of n sent with key (none
// without one).
func batchKeys(key string, n int) []string {
	keys := make([]string, n)
	if key != "" {
		for i := range keys {
			keys[i] = batchKey(key, i)
		}
	}
	return keys
}

// CreateSteps stores every step of ins in one transaction, or none. Invalid
// rows are all reported in a *BatchError. With an idempotency key, a repeat
// of the same batch returns the steps stored the first time and
// replayed=true; a different batch under the same key fails EUNPROCESSABLE.
func (s *Store) CreateSteps(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) (steps []model.Step, replayed bool, err error) {
	steps, fingerprints, err := prepareBatch(ins, meta)
	if err != nil {
		return nil, false, err
	}
	key := s.rowsKey(meta.IdempotencyKey)
	var work []*targetWork
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertSteps(ctx, tx, steps, batchKeys(key, len(steps)), fingerprints, s.insertChunk()); err != nil {
			return err
		}
		work, err = s.numberSteps(ctx, tx, steps)
		return err
	})
	if err != nil {
		if meta.IdempotencyKey != "" && errors.Is(err, errDuplicate) {
			return s.replayBatch(ctx, meta.IdempotencyKey, fingerprints)
		}
		return nil, false, err
	}
	s.targets.remember(work)
	return steps, false, nil
}

// rowsKey is the key a batch's rows are stored under (see batchKey): the
// client's, if any. Where one INSERT's ids may not be consecutive (see
// detectConsecutiveIDs), the rows of a batch without one get a key of the
// store's own, "~" and 32 random hex digits that no client would send, to
// read their ids back by.
func (s *Store) rowsKey(clientKey string) string {
	if clientKey == "" && !s.consecutiveIDs {
		b := make([]byte, 16)
		rand.Read(b) //nolint:errcheck // never fails
		return "~" + hex.EncodeToString(b)
	}
	return clientKey
}

// errKeyReused answers a step or a batch (what) whose key is already
// another's.
func errKeyReused(what string) error {
	return &model.Error{Code: model.EUNPROCESSABLE, Field: "Idempotency-Key",
		Message: "Idempotency-Key was already used for a different " + what + "; send a new key for a new " + what}
}

// prepareBatch checks a batch (its size, its key and every row, invalid
// rows reported in a *BatchError) and returns its steps and fingerprints.
func prepareBatch(ins []model.StepInput, meta model.RecordMeta) ([]model.Step, []string, error) {
	if len(ins) == 0 {
		return nil, nil, model.Invalid("body", "the batch is empty")
	}
	if len(ins) > MaxBatch {
		return nil, nil, model.Invalid("body", "the batch has %d steps; the limit is %d per request", len(ins), MaxBatch)
	}
	if err := model.ValidateIdempotencyKey(meta.IdempotencyKey); err != nil {
		return nil, nil, err
	}
	var bad model.BatchError
	steps := make([]model.Step, len(ins))
	fingerprints := make([]string, len(ins))
	for i, in := range ins {
		in = in.Normalized()
		if err := in.Validate(); err != nil {
			bad.AddError(i+1, err)
			continue
		}
		steps[i] = newStep(in, meta.ReceivedAt)
		fingerprints[i] = in.Fingerprint()
	}
	if len(bad.Rows) > 0 {
		return nil, nil, &bad
	}
	return steps, fingerprints, nil
}

// insertSteps inserts steps, each under its key (or none), in multi-row
// INSERTs of up to chunkRows, and sets their ids.
func (s *Store) insertSteps(ctx context.Context, tx *sql.Tx, steps []model.Step, keys, fingerprints []string, chunkRows int) error {
	for start := 0; start < len(steps); start += chunkRows {
		end := min(start+chunkRows, len(steps))
		args := make([]any, 0, insertRowParams*(end-start))
		for i := start; i < end; i++ {
			args = append(args, insertArgs(steps[i], keys[i], fingerprints[i])...)
		}
		// Full chunks reuse one prepared statement; the last, of any size,
		// is sent as it is rather than prepared for once.
		var res sql.Result
		var err error
		if end-start == chunkRows {
			res, err = s.execResult(ctx, tx, multiRowInsert(chunkRows), args...)
		} else {
			res, err = tx.ExecContext(ctx, multiRowInsert(end-start), args...)
			err = translate(err)
		}
		if err != nil {
			return err
		}
		if s.consecutiveIDs {
			if err := s.setConsecutiveIDs(res, steps[start:end]); err != nil {
				return err
			}
		}
	}
	if s.consecutiveIDs {
		return nil
	}
	return readIDsByKey(ctx, tx, keys, steps)
}

// setConsecutiveIDs sets the ids of the rows one INSERT stored, which are
// consecutive when s.consecutiveIDs: MySQL reports the first, SQLite the
// last.
func (s *Store) setConsecutiveIDs(res sql.Result, steps []model.Step) error {
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("read inserted ids: %w", err)
	}
	if s.kind == KindSQLite {
		id -= int64(len(steps)) - 1
	}
	for i := range steps {
		steps[i].ID = id + int64(i)
	}
	return nil
}

func multiRowInsert(rows int) string {
	return insertStepsInto + repeated(rows, "("+repeated(insertRowParams, "?", ", ")+", 1)", ", ")
}

// replayBatch returns the steps stored under key, a batch sent again:
// every row's, with the same fingerprints, or the key is another batch's.
func (s *Store) replayBatch(ctx context.Context, key string, fingerprints []string) ([]model.Step, bool, error) {
	// Keys "KEY 0" … "KEY n" lie between "KEY " and "KEY!" in binary order.
	rows, err := s.db.DB.QueryContext(ctx,
		`SELECT `+stepColumns+`, idempotency_key, fingerprint FROM steps WHERE idempotency_key >= ? AND idempotency_key < ?`,
		key+" ", key+"!")
	if err != nil {
		return nil, false, translate(err)
	}
	steps := make([]model.Step, len(fingerprints))
	found := 0
	var k, fp sql.NullString
	sc := newStepScanner(&k, &fp)
	err = scanAll(rows, func() error {
		st, err := sc.scan(rows)
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(strings.TrimPrefix(k.String, key+" "))
		if err != nil || i < 0 || i >= len(steps) || fp.String != fingerprints[i] {
			return errKeyReused("batch")
		}
		steps[i] = st
		found++
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if found != len(fingerprints) {
		return nil, false, errKeyReused("batch")
	}
	return steps, true, nil
}
