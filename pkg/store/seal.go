package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/store/internal/rowtext"
)

// Sealed blocks. Deployments that can no longer change are also kept in
// blocks (deployment_blocks), so that a read over all history (stats,
// the page, changes, DORA) reads a few blocks instead of looking up every
// row through the series index. A block is up to sealCount consecutive
// deployments of one series (component, environment) in start order,
// stored as the very bytes the row-by-row read decodes (deploymentColumns,
// rows separated by rowSep): the same reader builds the same deployments
// from it. The deployments table stays complete and is the truth;
// deployments.sealed names the block holding a row (0: none).
//
//   - Sealing (Seal, SealLoop): a deployment may be sealed once it ended
//     (its target has a later attempt, or its latest ended) and its last
//     step is older than sealHorizon. A block takes whole groups of
//     deployments of one start from a gap between the series' blocks, so
//     a series' blocks never overlap in time. Only renumbering changes an
//     ended deployment; an extension (writeDeployments) touches a
//     target's latest unended one alone.
//   - Unsealing (unseal): before renumbering deletes rows, the blocks
//     holding any of them go, in the same transaction. An older stepsd
//     does not do this; the start that numbers its steps drops the blocks
//     it left stale (unsealStale).
//   - Reading (eachSealed): in one snapshot, the unsealed rows of the
//     filter, then the blocks, merged in the order of the row-by-row read
//     (sealMerger), ties on the start included, so that sums add up in the
//     same order, to the last digit.
//
// Packers take turns on a row they all write first (sealingKey): a lock
// on one server, certification on Galera. A block's rows are marked with
// UPDATE ... WHERE sealed = 0, counted, and read back under that write's
// locks: a renumbering in between makes the block roll back, and one that
// comes after finds the block and unseals it.
const (
	// sealCount is the most deployments in a block on MySQL: 64 took a
	// fifth off the CPU of stats over 10M steps against 256
	// (docs/benchmarks.md, "Sealed blocks").
	sealCount = 64
	// sealCountSQLite is the most on SQLite, so that a block fits a 4 KiB
	// page: an overflowing value is assembled in a buffer that modernc
	// maps and unmaps on every read, three times the CPU of stats
	// (docs/benchmarks.md, "Latest results: 2026-12-02").
	sealCountSQLite = 16
	// sealBytes ends a block early: a block is one value in one row.
	sealBytes = 1 << 20
	// sealGroupBytes bounds the deployments of one start a block takes (a
	// group is not split; past it they stay rows), so that a block stays
	// within a MEDIUMBLOB and MariaDB's max_allowed_packet (16 MiB).
	sealGroupBytes = 8 << 20
	// sealHorizon is how long after its last step a deployment waits to
	// be sealed: late steps mostly come sooner, and each one that lands
	// in a sealed deployment unseals its block.
	sealHorizon = time.Hour
	// sealQuiet is how long a series' sealable tail waits to fill a block
	// before it is sealed in a shorter one: otherwise each series keeps up
	// to sealCount-1 rows unsealed for good, and thousands of quiet series
	// pass unsealedMax (docs/benchmarks.md, "Many series").
	sealQuiet = 7 * 24 * time.Hour
	// unsealedMax bounds the unsealed rows a read holds in memory, and
	// unsealedRowBytes their bytes on average (clients choose a row's
	// size): past either (sealing not caught up), the read goes row by row.
	unsealedMax      = 50000
	unsealedRowBytes = 1024
	// rowSep separates the rows of a block; 0x1E and 0x1F are used
	// inside a row, and stored text holds no control character.
	rowSep = 0x1d
	// sealingKey names the row in steps_numbering that every packer
	// writes first.
	sealingKey = "sealing"
	// sealFromKey names the row in steps_numbering holding the time before
	// which nothing is sealed (RFC 3339, UTC): sealAfterUpgrade after the
	// Migrate that added blocks to an older database, since a stepsd of
	// the older version, still serving during a rolling upgrade,
	// renumbers without unsealing. A new database has no such row.
	sealFromKey      = "seal_from"
	sealAfterUpgrade = time.Hour
	// blocksMigration is the migration that adds blocks.
	blocksMigration = "20261201000001"
)

// errUnsealedTooLarge stops reading unsealed rows past their bound in
// bytes: the read then goes row by row.
var errUnsealedTooLarge = errors.New("store: unsealed rows past their bound")

// errSealLost rolls back a block whose rows changed while it was made.
var errSealLost = errors.New("store: deployments changed while sealing them")

// SealingProgress reports the sealing's progress (see SealLoop): passes
// completed since the store opened, and the unsealed deployments the
// latest pass left (-1 before the first).
func (s *Store) SealingProgress() (passes, unsealed int64) {
	return s.sealPasses.Load(), s.unsealed.Load() - 1
}

// SealableFrom is the time before which Seal seals nothing: an hour after
// the upgrade that added blocks to a database an older version created,
// so that older replicas are gone first; the zero time for a new database.
func (s *Store) SealableFrom(ctx context.Context) (time.Time, error) {
	from, err := s.numbering(ctx, sealFromKey)
	if err != nil || from == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return time.Time{}, fmt.Errorf("steps_numbering %s %q: %w", sealFromKey, from, err)
	}
	return t, nil
}

// fenceSealing, after migrations that added blocks to a database that
// had its tables before (applied holds names, not the first migration),
// keeps sealing off for sealAfterUpgrade (SealableFrom).
func (s *Store) fenceSealing(ctx context.Context, applied []string, now time.Time) error {
	upgrade := false
	for _, name := range applied {
		if strings.HasPrefix(name, blocksMigration) {
			upgrade = true
		}
		if strings.HasPrefix(name, firstMigration) {
			return nil
		}
	}
	if !upgrade {
		return nil
	}
	_, err := s.db.DB.ExecContext(ctx, s.setNumbering(), sealFromKey, now.Add(sealAfterUpgrade).UTC().Format(time.RFC3339))
	return translate(err)
}

// TuneSealing is for tests and benchmarks: blocks of k deployments (0:
// sealCount or sealCountSQLite), reads that hold at most maxUnsealed
// unsealed rows (0: unsealedMax), and, with rowsOnly, reads row by row.
func (s *Store) TuneSealing(k, maxUnsealed int, rowsOnly bool) {
	s.sealK, s.maxUnsealed, s.noBlocks = k, maxUnsealed, rowsOnly
}

// SealLoop seals deployments into blocks (Seal) now and then every
// interval until ctx ends, logging what a pass sealed. Several replicas
// may run it at once.
func (s *Store) SealLoop(ctx context.Context, log *slog.Logger, interval time.Duration) {
	first, waitLogged := true, false
	for {
		began := time.Now()
		from, err := s.SealableFrom(ctx)
		if err == nil && began.Before(from) {
			if !waitLogged {
				log.Info("sealing waits an hour after the upgrade, in case stepsd replicas of the older version still serve (docs/operations.md)", "until", from)
				waitLogged = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(interval, from.Sub(began))):
			}
			continue
		}
		var blocks int
		if err == nil {
			blocks, err = s.Seal(ctx, time.Now(), func(blocks int) {
				if first {
					log.Info("sealing deployments into blocks", "blocks_so_far", blocks)
				}
			})
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("sealing deployments", "err", err)
		case blocks > 0 || first:
			log.Info("sealed deployments", "blocks", blocks, "unsealed", s.unsealed.Load()-1,
				"seconds", time.Since(began).Seconds())
		}
		first = false
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Seal runs one pass of sealing, as of now: in every series, the
// deployments that may be sealed become blocks, one transaction a block.
// progress, if not nil, is called every few seconds with the blocks so
// far. It returns the blocks sealed.
func (s *Store) Seal(ctx context.Context, now time.Time, progress func(blocks int)) (int, error) {
	if from, err := s.SealableFrom(ctx); err != nil || now.Before(from) {
		return 0, err
	}
	type series struct{ component, environment string }
	var all []series
	rows, err := s.db.DB.QueryContext(ctx, `SELECT DISTINCT component, environment FROM `+s.indexed("deployments_sealed")+` WHERE sealed = 0`)
	if err != nil {
		return 0, translate(err)
	}
	err = scanAll(rows, func() error {
		var se series
		err := rows.Scan(&se.component, &se.environment)
		all = append(all, se)
		return err
	})
	if err != nil {
		return 0, err
	}
	k, cutoff, quiet := cmp.Or(s.sealK, byKind(s, sealCount, sealCountSQLite)), now.Add(-sealHorizon), now.Add(-sealQuiet)
	blocks, lastLog := 0, time.Now()
	for _, se := range all {
		gaps, err := s.sealGaps(ctx, se.component, se.environment, k, quiet)
		if err != nil {
			return blocks, fmt.Errorf("seal %s %s: %w", se.component, se.environment, err)
		}
		for _, g := range gaps {
			// Each block starts after the one before: lo only grows.
			for lo := g.lo; lo != ""; {
				var sealed bool
				if sealed, lo, err = s.sealBlock(ctx, se.component, se.environment, lo, g.hi, cutoff, quiet, k); err != nil {
					return blocks, fmt.Errorf("seal %s %s: %w", se.component, se.environment, err)
				}
				if sealed {
					blocks++
					if progress != nil && time.Since(lastLog) > 5*time.Second {
						lastLog = time.Now()
						progress(blocks)
					}
				}
			}
		}
	}
	var unsealed int64
	if err := s.db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.indexed("deployments_sealed")+` WHERE sealed = 0`).Scan(&unsealed); err != nil {
		return blocks, translate(err)
	}
	s.unsealed.Store(unsealed + 1)
	s.sealPasses.Add(1)
	return blocks, nil
}

// sealGap is a span of a series' starts, lo < start < hi, between two
// of its blocks (or before the first, or after the last).
type sealGap struct{ lo, hi string }

// Ends of the starts of a series, as stored times compare.
var (
	startsFirst = rowtext.FormatTime(time.Time{})
	startsLast  = "9999-12-31 23:59:59.999999"
)

// sealGaps returns the gaps between a series' blocks (after the last, or
// where a renumbering unsealed one) that hold at least k unsealed
// deployments, or one that may be sealed and ended before quiet.
func (s *Store) sealGaps(ctx context.Context, component, environment string, k int, quiet time.Time) ([]sealGap, error) {
	gaps := []sealGap{{lo: startsFirst}}
	rows, err := s.db.DB.QueryContext(ctx, `SELECT first_start, last_start FROM deployment_blocks WHERE component = ? AND environment = ?
ORDER BY first_start`, component, environment)
	if err != nil {
		return nil, translate(err)
	}
	err = scanAll(rows, func() error {
		var first, last []byte
		if err := rows.Scan(&first, &last); err != nil {
			return err
		}
		hi, err1 := storedTime(first)
		lo, err2 := storedTime(last)
		gaps[len(gaps)-1].hi = hi
		gaps = append(gaps, sealGap{lo: lo})
		return errors.Join(err1, err2)
	})
	if err != nil {
		return nil, err
	}
	gaps[len(gaps)-1].hi = startsLast
	rows, err = s.db.DB.QueryContext(ctx, `SELECT started_at, CASE WHEN `+sealable+` THEN 1 ELSE 0 END FROM `+s.indexed("deployments_sealed")+`
WHERE sealed = 0 AND component = ? AND environment = ? ORDER BY started_at`, rowtext.FormatTime(quiet), component, environment)
	if err != nil {
		return nil, translate(err)
	}
	counts, quiets, i := make([]int, len(gaps)), make([]bool, len(gaps)), 0
	err = scanAll(rows, func() error {
		var b []byte
		var isQuiet bool
		if err := rows.Scan(&b, &isQuiet); err != nil {
			return err
		}
		start, err := storedTime(b)
		if err != nil {
			return err
		}
		for i < len(gaps)-1 && start >= gaps[i].hi {
			i++
		}
		if start > gaps[i].lo && start < gaps[i].hi {
			counts[i]++
			quiets[i] = quiets[i] || isQuiet
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	full := gaps[:0]
	for i, g := range gaps {
		if counts[i] >= k || quiets[i] {
			full = append(full, g)
		}
	}
	return full, nil
}

// storedTime is a time column as rowtext.FormatTime writes it (MySQL may
// give it without trailing zeros), so that stored times compare as
// strings.
func storedTime(b []byte) (string, error) {
	t, err := rowtext.ParseTime(b)
	return rowtext.FormatTime(t), err
}

// sealable holds for a deployment that may be sealed: its last step is
// before the cutoff (the parameter), and it ended: its target has a later
// attempt, or its latest ended.
const sealable = `last_time < ? AND EXISTS (SELECT 1 FROM targets t WHERE t.component = deployments.component
AND t.version = deployments.version AND t.environment = deployments.environment AND (t.attempt > deployments.attempt OR t.ended = 1))`

// sealBlock seals the next block of a series in the gap lo < start < hi
// (sealCandidates), in one transaction. It says whether it sealed one, and
// returns where the gap's next block may start after ("": nowhere).
func (s *Store) sealBlock(ctx context.Context, component, environment, lo, hi string, cutoff, quiet time.Time, k int) (sealed bool, next string, err error) {
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		sealed = false // a retry starts over
		// Packers take turns, each seeing the blocks of the one before.
		if err := s.exec(ctx, tx, s.setNumbering(), sealingKey, rowtext.FormatTime(time.Now())); err != nil {
			return err
		}
		body, keys, skip, err := s.sealCandidates(ctx, tx, component, environment, lo, hi, cutoff, quiet, k)
		if err != nil || keys == nil {
			next = skip
			return err
		}
		next = keys[len(keys)-1].started
		err = s.writeBlock(ctx, tx, component, environment, lo, hi, cutoff, body, keys)
		sealed = err == nil
		return err
	})
	if errors.Is(err, errSealLost) {
		// A renumbering came first; the next pass seals what it left.
		return false, "", nil
	}
	return sealed, next, err
}

// writeBlock stores the block of body and keys (sealCandidates) and marks
// its rows sealed, or fails with errSealLost if a renumbering changed
// them meanwhile.
func (s *Store) writeBlock(ctx context.Context, tx *sql.Tx, component, environment, lo, hi string, cutoff time.Time, body []byte, keys []sealKey) error {
	first, last := keys[0].started, keys[len(keys)-1].started
	// A series' blocks never overlap (a read hands each series over
	// block after block): the gap must still be one.
	rows, err := s.query(ctx, tx, `SELECT COUNT(*) FROM (SELECT last_start FROM deployment_blocks WHERE component = ? AND environment = ?
AND first_start <= ? ORDER BY first_start DESC LIMIT 1) latest WHERE last_start >= ?`, component, environment, last, first)
	if err != nil {
		return err
	}
	var overlaps int
	if err := scanAll(rows, func() error { return rows.Scan(&overlaps) }); err != nil {
		return err
	}
	if overlaps > 0 {
		return errSealLost
	}
	res, err := s.execResult(ctx, tx, `INSERT INTO deployment_blocks (component, environment, first_start, last_start, entries, body)
VALUES (?, ?, ?, ?, ?, ?)`, component, environment, first, last, len(keys), body)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return translate(err)
	}
	// "sealed + 0": the rows are found by their keys, where SQLite
	// would otherwise read every unsealed row of deployments_sealed.
	var marked int64
	for run := range runs(s, keys) {
		args := make([]any, 0, 1+4*len(run))
		args = append(args, id)
		for _, key := range run {
			args = append(args, component, key.version, environment, key.attempt)
		}
		n, err := s.execCount(ctx, tx, `UPDATE deployments SET sealed = ? WHERE sealed + 0 = 0 AND (`+anyTarget(len(run), " AND attempt = ?")+`)`, args...)
		if err != nil {
			return err
		}
		marked += n
	}
	// The rows are now this transaction's to change: read back, they
	// must still be the block, and still be ended.
	rows, err = s.query(ctx, tx, `SELECT `+s.deploymentColumns()+` FROM `+s.indexed("deployments_sealed")+
		` WHERE sealed = ? AND component = ? AND environment = ? AND started_at > ? AND started_at < ? AND `+sealable+` ORDER BY started_at`,
		id, component, environment, lo, hi, rowtext.FormatTime(cutoff))
	if err != nil {
		return err
	}
	var again []byte
	err = scanAll(rows, func() error {
		var row sql.RawBytes
		if err := rows.Scan(&row); err != nil {
			return err
		}
		again = appendRow(again, row)
		return nil
	})
	if err != nil {
		return err
	}
	if marked != int64(len(keys)) || !bytes.Equal(again, body) {
		return errSealLost
	}
	return nil
}

// sealKey is a deployment of a block being sealed.
type sealKey struct {
	version string
	attempt int64
	started string
}

// sealCandidates reads the unsealed rows of a series in the gap lo <
// start < hi in start order, at most 2k (MySQL's driver reads the rest of
// a result to close it), and returns the next block: whole groups of
// deployments of one start whose every row may be sealed, up to k rows or
// sealBytes. A group is never split, so a read never merges a sealed row
// with an unsealed one of the same start, whose order the row-by-row read
// sets by rowid or key (but see sealMerger.before); a group that reaches
// the 2k-th row waits for the next block, and one past sealGroupBytes
// stays rows. Without a full block, it returns the groups that may be
// sealed if the first ended before quiet (a quiet series' tail, see
// sealQuiet), else nil keys, and after 2k rows, skip: the start of the
// last group read whole, after which the next block starts.
func (s *Store) sealCandidates(ctx context.Context, tx *sql.Tx, component, environment, lo, hi string, cutoff, quiet time.Time, k int) (
	body []byte, keys []sealKey, skip string, err error) {
	// Ties on the start come in the index's order (rowid, or InnoDB's
	// primary key), as in sealBlock's read back.
	rows, err := s.query(ctx, tx, `SELECT `+s.deploymentColumns()+`, CASE WHEN `+sealable+` THEN CASE WHEN last_time < ? THEN 2 ELSE 1 END ELSE 0 END FROM `+
		s.indexed("deployments_sealed")+` WHERE sealed = 0 AND component = ? AND environment = ? AND started_at > ?
AND started_at < ? ORDER BY started_at LIMIT ?`, rowtext.FormatTime(cutoff), rowtext.FormatTime(quiet), component, environment, lo, hi, 2*k)
	if err != nil {
		return nil, nil, "", err
	}
	defer rows.Close()
	// The group being read is keys[group:] and body[groupBody:]; ok: all
	// of it may be sealed; quietGroup: all of it ended before quiet;
	// headQuiet: the first group kept did; lastWhole: the group before's start.
	group, groupBody, ok, quietGroup, headQuiet, lastWhole := 0, 0, true, true, false, ""
	// endGroup drops the group read unless the LIMIT did not cut it
	// (whole) and all of it may be sealed, and says if the block is full.
	endGroup := func(whole bool) bool {
		if !whole || !ok {
			body, keys = body[:groupBody], keys[:group]
		} else if group == 0 {
			headQuiet = quietGroup
		}
		return len(keys) >= k || len(body) >= sealBytes
	}
	read := 0
	for rows.Next() {
		read++
		var row sql.RawBytes
		var may int // 0: may not be sealed; 1: may; 2: and ended before quiet
		if err := rows.Scan(&row, &may); err != nil {
			return nil, nil, "", translate(err)
		}
		key, err := sealKeyOf(row)
		if err != nil {
			return nil, nil, "", err
		}
		if read > 1 && key.started != keys[len(keys)-1].started {
			lastWhole = keys[len(keys)-1].started
			if endGroup(true) {
				return body, keys, "", nil
			}
			group, groupBody, ok, quietGroup = len(keys), len(body), true, true
		}
		// A group too large to share a block stays rows, its bytes
		// dropped as they come.
		ok = ok && may > 0 && len(body)-groupBody+1+len(row) <= sealGroupBytes
		quietGroup = quietGroup && may == 2
		if ok {
			body = appendRow(body, row)
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, "", translate(err)
	}
	if endGroup(read < 2*k) || len(keys) > 0 && headQuiet {
		return body, keys, "", nil
	}
	if read == 2*k {
		// 2k rows without a block's worth that may be sealed
		// (deployments unended, or too recent): the next block starts
		// after them, and they wait for the next pass.
		skip = lastWhole
	}
	return nil, nil, skip, nil
}

// sealKeyOf is the key and start of a deployment row.
func sealKeyOf(row []byte) (sealKey, error) {
	var fields [rowtext.DeploymentFields][]byte
	attempt, err := rowtext.SplitDeployment(&fields, row)
	if err != nil {
		return sealKey{}, err
	}
	started, err := storedTime(fields[5])
	return sealKey{version: string(fields[1]), attempt: attempt, started: started}, err
}

// appendRow appends a deployment row to a block's body.
func appendRow(body, row []byte) []byte {
	if len(body) > 0 {
		body = append(body, rowSep)
	}
	return append(body, row...)
}

// unseal, in a transaction about to delete the deployments matching cond
// (anyTarget with args), deletes the blocks holding any of them and
// unseals their other rows. On MySQL every row to delete is locked,
// sealed or not: a packer sealing one of them now is waited for, and its
// block seen; one that comes later finds them gone.
func (s *Store) unseal(ctx context.Context, tx *sql.Tx, cond string, args []any) error {
	rows, err := s.query(ctx, tx, `SELECT sealed FROM deployments WHERE `+cond+byKind(s, " FOR UPDATE", ""), args...)
	if err != nil {
		return err
	}
	var blocks []int64              // each once, in the order first read
	seen := map[int64]bool{0: true} // 0: not sealed
	err = scanAll(rows, func() error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if !seen[id] {
			seen[id] = true
			blocks = append(blocks, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.dropBlocks(ctx, tx, blocks)
}

// dropBlocks deletes the blocks ids and unseals their rows.
func (s *Store) dropBlocks(ctx context.Context, tx *sql.Tx, ids []int64) error {
	for _, id := range ids {
		if err := s.exec(ctx, tx, `DELETE FROM deployment_blocks WHERE id = ?`, id); err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `UPDATE deployments SET sealed = 0 WHERE sealed = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// unsealStale unseals the blocks of the series of targets whose rows no
// longer all name them, and returns how many. Only an older stepsd leaves
// such a block: one from before blocks, or c0edbd5, which never unsealed,
// rewrote a sealed deployment's row unsealed and left the block with its
// old copy, which reads then counted besides the row. The targets are
// those of the steps it wrote (numberUnnumbered), so the series to look
// at are known.
func (s *Store) unsealStale(ctx context.Context, tx *sql.Tx, targets []target) (int, error) {
	stale := 0
	seen := map[[2]string]bool{}
	for _, t := range targets {
		series := [2]string{t.component, t.environment}
		if seen[series] {
			continue
		}
		seen[series] = true
		n, err := s.dropStale(ctx, tx, "b.component = ? AND b.environment = ? AND ", t.component, t.environment)
		if err != nil {
			return 0, err
		}
		stale += n
	}
	return stale, nil
}

// dropStale drops the blocks matching where (a condition on b ending in
// AND, or "" for all) that do not hold all their rows, unsealing the rows
// that still name them, and returns how many. A block's rows are found by
// its id (deployments_sealed); a sound block's rows all name it.
func (s *Store) dropStale(ctx context.Context, tx *sql.Tx, where string, args ...any) (int, error) {
	rows, err := s.query(ctx, tx, `SELECT b.id FROM deployment_blocks b WHERE `+where+
		`b.entries <> (SELECT COUNT(*) FROM deployments d WHERE d.sealed = b.id)`+byKind(s, " FOR UPDATE", ""), args...)
	if err != nil {
		return 0, err
	}
	var stale []int64
	if err := scanAll(rows, func() error {
		var id int64
		err := rows.Scan(&id)
		stale = append(stale, id)
		return err
	}); err != nil {
		return 0, err
	}
	return len(stale), s.dropBlocks(ctx, tx, stale)
}

// eachSealed is eachDeployment over blocks and unsealed rows, for a
// filter of component, environment, since and until only. It returns
// false, having called fn for none, when the unsealed rows matching f are
// more than unsealedMax: the caller then reads row by row.
func (s *Store) eachSealed(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, reuse bool,
	fn func(*model.Deployment) error) (bool, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.kind == KindMySQL {
		// Sessions are READ COMMITTED (openMySQL): both queries must see
		// one snapshot, or a block sealed between them would be read
		// twice, or not at all.
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.DB.BeginTx(ctx, opts)
	if err != nil {
		return false, translate(err)
	}
	defer tx.Rollback() //nolint:errcheck // a read: nothing to keep

	// c finds the unsealed rows of f, b the blocks holding its others.
	var c, b conds
	c.add("sealed = 0")
	c.equal("component", f.Component)
	c.equal("environment", f.Environment)
	c.timeRange("started_at", f.Filter)
	b.equal("component", f.Component)
	b.equal("environment", f.Environment)
	m := &sealMerger{byKey: s.kind == KindMySQL}
	if !f.Since.IsZero() {
		m.since = []byte(rowtext.FormatTime(f.Since))
		b.add("last_start >= ?", rowtext.FormatTime(f.Since))
	}
	if !f.Until.IsZero() {
		m.until = []byte(rowtext.FormatTime(f.Until))
		b.add("first_start <= ?", rowtext.FormatTime(f.Until))
	}
	bound := cmp.Or(s.maxUnsealed, unsealedMax)
	rows, err := s.stmts.query(ctx, tx, `SELECT `+s.deploymentColumns()+` FROM `+s.indexed("deployments_sealed")+c.sql()+
		` ORDER BY component, environment, started_at LIMIT ?`, append(c.args, bound+1)...)
	if err != nil {
		return false, err
	}
	held := 0
	err = scanAll(rows, func() error {
		var row sql.RawBytes
		if err := rows.Scan(&row); err != nil {
			return err
		}
		if held += len(row); held > bound*unsealedRowBytes {
			return errUnsealedTooLarge
		}
		m.add(row)
		return nil
	})
	if errors.Is(err, errUnsealedTooLarge) || err == nil && len(m.unsealed) > bound {
		s.tooUnsealed.Add(1)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, pipeDeployments(ctx, f, rules, now, reuse, fn, func(ctx context.Context, emit func([]byte) error) error {
		rows, err := s.stmts.query(ctx, tx, `SELECT first_start, last_start, body FROM deployment_blocks`+b.sql()+
			` ORDER BY component, environment, first_start`, b.args...)
		if err != nil {
			return err
		}
		err = scanAll(rows, func() error {
			var first, last, body sql.RawBytes
			if err := rows.Scan(&first, &last, &body); err != nil {
				return err
			}
			return m.block(first, last, body, emit)
		})
		if err != nil {
			return err
		}
		return m.finish(emit)
	})
}

// sealMerger hands over a read's blocks and unsealed rows in the
// row-by-row read's order (deployments_component): series by series, each
// in start order, a series' unsealed rows merged by start with its
// blocks'. Series keys compare as bytes as in SQL (binary collations; the
// key's separator U+001F sorts below any stored character).
type sealMerger struct {
	since, until []byte // nil: no bound
	byKey        bool   // ties on the start go by key (InnoDB), else by rowid
	unsealed     []unsealedRow
	next         int // the first of unsealed not handed over
}

// unsealedRow is an unsealed row with its series' key.
type unsealedRow struct{ series, row []byte }

func (m *sealMerger) add(row []byte) {
	series := seriesKey(row)
	if n := len(m.unsealed); n > 0 && bytes.Equal(m.unsealed[n-1].series, series) {
		series = m.unsealed[n-1].series // one key a series
	}
	m.unsealed = append(m.unsealed, unsealedRow{series, bytes.Clone(row)})
}

// block hands over the rows of a block (all of one series, starting from
// firstStart to lastStart), each after the unsealed rows that come before
// it.
func (m *sealMerger) block(firstStart, lastStart, body []byte, emit func([]byte) error) error {
	first, _, _ := bytes.Cut(body, []byte{rowSep})
	series := seriesKey(first)
	if err := m.emitBefore(series, nil, nil, emit); err != nil {
		return err
	}
	// Only a block across since or until has rows to leave out: the
	// others, most of a wide range, need no row's start for it.
	cut := m.since != nil && compareStarts(firstStart, m.since) < 0 || m.until != nil && compareStarts(lastStart, m.until) > 0
	for len(body) > 0 {
		var row []byte
		row, body, _ = bytes.Cut(body, []byte{rowSep})
		// A row's start is needed only to cut at since or until, or to
		// merge the series' unsealed rows: most reads need neither.
		merge := m.next < len(m.unsealed) && bytes.Equal(m.unsealed[m.next].series, series)
		if cut || merge {
			start := field(row, 5)
			// Compared as the SQL of the row-by-row read compares them.
			if m.since != nil && compareStarts(start, m.since) < 0 || m.until != nil && compareStarts(start, m.until) > 0 {
				continue
			}
			if err := m.emitBefore(series, row, start, emit); err != nil {
				return err
			}
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// emitBefore hands over the unsealed rows that come before the row of
// series that starts at start, or with a nil row, before all of series.
func (m *sealMerger) emitBefore(series, row, start []byte, emit func([]byte) error) error {
	for ; m.next < len(m.unsealed); m.next++ {
		u := m.unsealed[m.next]
		if c := bytes.Compare(u.series, series); c > 0 || c == 0 && (row == nil || !m.before(u.row, row, start)) {
			return nil
		}
		if err := emit(u.row); err != nil {
			return err
		}
	}
	return nil
}

// before says whether the unsealed row u comes before the block's row b
// (of the same series, starting at start) in the row-by-row read. Ties go
// by InnoDB's primary key (version, then attempt), or SQLite's rowid: an
// unsealed row tied with a sealed one was written after the block (whole
// groups of one start are sealed), so its rowid is the larger.
func (m *sealMerger) before(u, b, start []byte) bool {
	if c := compareStarts(field(u, 5), start); c != 0 || !m.byKey {
		return c < 0
	}
	if c := bytes.Compare(field(u, 1), field(b, 1)); c != 0 {
		return c < 0
	}
	ua, _ := rowtext.Atoi(field(u, 3))
	ba, _ := rowtext.Atoi(field(b, 3))
	return ua < ba
}

// finish hands over the unsealed rows left: those of the series after
// the last block's.
func (m *sealMerger) finish(emit func([]byte) error) error {
	for ; m.next < len(m.unsealed); m.next++ {
		if err := emit(m.unsealed[m.next].row); err != nil {
			return err
		}
	}
	return nil
}

// field is field i of a deployment row (see deploymentColumns): 0 its
// component, 1 version, 2 environment, 3 attempt, 5 start.
func field(row []byte, i int) []byte {
	for range i {
		_, row, _ = bytes.Cut(row, []byte{0x1f})
	}
	f, _, _ := bytes.Cut(row, []byte{0x1f})
	return f
}

// seriesKey is a row's component and environment, joined by U+001F.
func seriesKey(row []byte) []byte {
	return slices.Concat(field(row, 0), []byte{0x1f}, field(row, 2))
}

// compareStarts orders two stored start times.
func compareStarts(a, b []byte) int {
	if len(a) == len(rowtext.TimeLayout) && len(b) == len(rowtext.TimeLayout) {
		return bytes.Compare(a, b)
	}
	ta, errA := rowtext.ParseTime(a)
	tb, errB := rowtext.ParseTime(b)
	if errA != nil || errB != nil {
		return bytes.Compare(a, b)
	}
	return ta.Compare(tb)
}
