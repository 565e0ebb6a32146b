package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// A batch sent with dedupe (an import) skips the rows already stored: rows
// whose every field a client gives (component, version, environment,
// owner, status, revision, committed_at, and an explicit time, to the
// microsecond) are a stored step's. An idempotency key recognises a batch
// sent again; this recognises the same rows in another batch, such as an
// export imported again, or cut into batches otherwise. Matching is a
// multiset's: a batch holding a row twice next to one stored copy stores
// the second. Rows without a time take the time of receipt and are never
// matched.

// CreateStepsDeduped is CreateSteps that skips the rows already stored. It
// returns every row's step (a skipped row's is the stored one it matched)
// and the indexes of the skipped rows, in order. The batch stays all or
// nothing: invalid rows fail it whole, and the rows stored are stored in
// one transaction.
func (s *Store) CreateStepsDeduped(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) (steps []model.Step, skipped []int, err error) {
	steps, fingerprints, err := prepareBatch(ins, meta)
	if err != nil {
		return nil, nil, err
	}
	explicit := make([]bool, len(ins))
	for i, in := range ins {
		explicit[i] = !in.Time.IsZero()
	}
	out, skipped, work, err := s.createDeduped(ctx, steps, fingerprints, explicit, meta.IdempotencyKey)
	if meta.IdempotencyKey != "" && errors.Is(err, errDuplicate) {
		// The same batch under the same key, stored by a request still in
		// flight when this one read: read again, and its rows are skipped.
		out, skipped, work, err = s.createDeduped(ctx, steps, fingerprints, explicit, meta.IdempotencyKey)
	}
	if errors.Is(err, errDuplicate) {
		return nil, nil, errKeyReused("batch")
	}
	if err != nil {
		return nil, nil, err
	}
	s.targets.remember(work)
	return out, skipped, nil
}

func (s *Store) createDeduped(ctx context.Context, steps []model.Step, fingerprints []string, explicit []bool, clientKey string) ([]model.Step, []int, []*targetWork, error) {
	key := s.rowsKey(clientKey)
	out := make([]model.Step, len(steps))
	var skipped []int
	var work []*targetWork
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stored, err := s.storedMatches(ctx, tx, steps, explicit)
		if err != nil {
			return err
		}
		var at []int
		skipped, at = takeStored(steps, explicit, stored, out)
		work = nil
		if len(at) == 0 {
			return nil
		}
		fresh, freshExplicit := pick(steps, at), pick(explicit, at)
		if err := s.insertSteps(ctx, tx, fresh, batchKeys(key, len(fresh)), pick(fingerprints, at), s.insertChunk()); err != nil {
			return err
		}
		for j, i := range at {
			out[i] = fresh[j]
		}
		if work, err = s.numberSteps(ctx, tx, fresh); err != nil {
			return err
		}
		if s.kind == KindMySQL {
			return s.checkNoneStoredMeanwhile(ctx, tx, fresh, freshExplicit, stored)
		}
		return nil
	})
	return out, skipped, work, err
}

// takeStored sets out[i] to the stored step that row i matches, each
// stored step matching one row at most, and returns the indexes of the
// rows matched and of those left to store.
func takeStored(steps []model.Step, explicit []bool, stored map[matchKey][]model.Step, out []model.Step) (matched, fresh []int) {
	taken := map[matchKey]int{}
	for i, st := range steps {
		if explicit[i] {
			k := matchKeyOf(st)
			if n := taken[k]; n < len(stored[k]) {
				out[i] = stored[k][n]
				taken[k]++
				matched = append(matched, i)
				continue
			}
		}
		fresh = append(fresh, i)
	}
	return matched, fresh
}

// pick returns the items of all at the indexes at.
func pick[T any](all []T, at []int) []T {
	out := make([]T, len(at))
	for j, i := range at {
		out[j] = all[i]
	}
	return out
}

// checkNoneStoredMeanwhile fails with errConflict, to run the transaction
// again, when another writer stored rows of fresh after this one looked
// for them: a target without a row had nothing for storedMatches to lock,
// and numbering from the cache takes no lock. Numbering has locked the
// targets by now, so a writer ahead of this one has committed.
func (s *Store) checkNoneStoredMeanwhile(ctx context.Context, tx *sql.Tx, fresh []model.Step, explicit []bool, stored map[matchKey][]model.Step) error {
	// Every row of fresh counts, a row stamped now too: it may share a
	// key with one that has its time.
	want := map[matchKey]int{}
	for _, st := range fresh {
		want[matchKeyOf(st)]++
	}
	now, err := s.storedMatches(ctx, tx, fresh, explicit)
	if err != nil {
		return err
	}
	for k, n := range want {
		if len(now[k]) > len(stored[k])+n {
			return errConflict
		}
	}
	return nil
}

// matchKey is what makes two steps one for dedupe: every field a client
// gives, the time to the microsecond (as stored).
type matchKey struct {
	component, version, environment, owner, status, revision string
	micros                                                   int64
	committed                                                int64 // Unix microseconds; math.MinInt64 when not given
}

func matchKeyOf(st model.Step) matchKey {
	committed := int64(math.MinInt64)
	if st.CommittedAt != nil {
		committed = st.CommittedAt.UnixMicro()
	}
	return matchKey{st.Component, st.Version, st.Environment, st.Owner, st.Status, st.Revision, st.Time.UnixMicro(), committed}
}

// storedMatches reads the stored steps that rows of steps (those with an
// explicit time) could match, by target and exact time: one seek of
// steps_deployment (component, version, environment, time) for each
// distinct target and time, sent in runs of the store's statement sizes
// (a statement for each target cost a round trip each, and an import of
// 1,000 rows over 200 targets spent seconds on them).
//
// Two imports of the same rows at once must not both find them missing.
// SQLite runs one write transaction at a time. MySQL, under READ
// COMMITTED, takes no gap locks: the read first locks the targets' rows
// as numbering does (lockTargets), and a second import waits there. A
// target without a row has nothing to lock: there checkNoneStoredMeanwhile
// or the numbering's write of the row finds the conflict.
func (s *Store) storedMatches(ctx context.Context, tx *sql.Tx, steps []model.Step, explicit []bool) (map[matchKey][]model.Step, error) {
	type instant struct {
		target
		time string // as stored
	}
	seen := map[instant]bool{}
	var instants []instant
	for i, st := range steps {
		if at := (instant{targetOf(st), rowtext.FormatTime(st.Time)}); explicit[i] && !seen[at] {
			seen[at] = true
			instants = append(instants, at)
		}
	}
	if s.kind == KindMySQL {
		var targets []target
		for _, at := range instants {
			targets = append(targets, at.target)
		}
		slices.SortFunc(targets, compareTargets) // the order number locks them in
		if err := s.lockTargets(ctx, tx, workFor(slices.Compact(targets))); err != nil {
			return nil, err
		}
	}
	// Left to choose, MySQL may read "time = ?" through steps_time.
	from := byKind(s, "steps FORCE INDEX (steps_deployment)", "steps")
	found := map[matchKey][]model.Step{}
	for run := range runs(s, instants) {
		args := make([]any, 0, 4*len(run))
		for _, at := range run {
			args = append(args, at.component, at.version, at.environment, at.time)
		}
		// In id order, each key's stored copies are matched oldest first.
		rows, err := s.query(ctx, tx, `SELECT `+stepColumns+` FROM `+from+` WHERE `+anyTarget(len(run), " AND time = ?")+` ORDER BY id`, args...)
		if err != nil {
			return nil, err
		}
		if err := scanStepsBy(rows, found, matchKeyOf); err != nil {
			return nil, err
		}
	}
	return found, nil
}
