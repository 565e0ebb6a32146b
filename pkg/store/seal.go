package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Sealed blocks (issue 13). A read over all history (stats, the page,
// changes, DORA) used to step through every deployment row: 2M rows for
// 10M steps, each looked up in the table through the series index, most
// of the read's CPU in the database and its driver. Deployments that can
// no longer change are therefore also kept in blocks (deployment_blocks):
// up to sealCount consecutive deployments of one series (component,
// environment) in start order, stored as the very bytes the read decodes
// (deploymentColumns of each row, rows separated by U+001D), so that a
// block is decoded by the same deploymentReader with the same rules and
// now as its rows would be: the same deployments by construction. The
// deployments table stays complete and is the truth; deployments.sealed
// names the block holding a row (0: none).
//
//   - Sealing (Seal, SealLoop): a deployment may be sealed once it ended
//     (a later attempt of its target exists, or the target's latest
//     ended) and its last step is older than sealHorizon. A block takes
//     whole groups of deployments of one start, from a gap between the
//     series' blocks (after the last, mostly; between two, where a
//     renumbering unsealed one), so a series' blocks never overlap in
//     time. Only renumbering (number.go, which deletes the rows it
//     rewrites) changes an ended deployment: an extension (the upsert in
//     writeDeployments) only ever touches a target's latest unended
//     deployment.
//   - Unsealing (unseal): before renumbering deletes rows, the blocks
//     holding any of them go, in the same transaction, and their other
//     rows become unsealed again.
//   - Reading (eachSealed): in one snapshot, the unsealed rows of the
//     filter, then the blocks, merged in the order the row-by-row read
//     gives (sealMerger), ties on the start included: sums add up in the
//     same order, to the last digit.
//
// Packers are serialised by a row they all write (sealingKey): on one
// server its lock, on Galera its certification, so each packer sees the
// blocks of the one before. A block's rows are marked with UPDATE ...
// WHERE sealed = 0, counted, and read back under that write's locks: a
// renumbering that deleted or rewrote one of them in between makes the
// block roll back, and one that comes after finds the block and unseals
// it. On Galera both write the same rows, so certification lets only one
// of them commit, and the other is run again (writeTx).
const (
	// sealCount is the most deployments in a block. 64 deployments of
	// the benchmark's history are about 12 KB: under 16 KB, SQLite's
	// allocator (modernc) serves a block's value from its slabs, where a
	// larger one costs an mmap and a munmap per block read. 64 instead of
	// 256 took a fifth off the CPU of stats over 10M steps
	// (docs/benchmarks.md, "Sealed blocks").
	sealCount = 64
	// sealBytes ends a block early: a block is one value in one row.
	sealBytes = 1 << 20
	// sealHorizon is how long after its last step a deployment waits to
	// be sealed: late steps mostly come sooner, and each one that lands
	// in a sealed deployment costs unsealing its block.
	sealHorizon = time.Hour
	// unsealedMax bounds the unsealed rows a read holds in memory; past
	// it (sealing not caught up, after the upgrade) a read goes row by
	// row, as before blocks.
	unsealedMax = 50000
	// rowSep separates the rows of a block; 0x1E and 0x1F are used
	// inside a row, and stored text holds no control character.
	rowSep = 0x1d
	// sealingKey names the row in steps_numbering that every packer
	// writes first.
	sealingKey = "sealing"
)

// errSealLost rolls back a block whose rows changed while it was made.
var errSealLost = errors.New("store: deployments changed while sealing them")

// SealingProgress reports the sealing's progress (see SealLoop): passes
// completed since the store opened, and the unsealed deployments the
// latest pass left (-1 before the first).
func (s *Store) SealingProgress() (passes, unsealed int64) {
	return s.sealPasses.Load(), s.unsealed.Load() - 1
}

// TuneSealing is for tests and benchmarks: blocks of k deployments (0:
// sealCount), reads that hold at most maxUnsealed unsealed rows (0:
// unsealedMax), and, with rowsOnly, reads row by row as before blocks.
func (s *Store) TuneSealing(k, maxUnsealed int, rowsOnly bool) {
	s.sealK, s.maxUnsealed, s.noBlocks = k, maxUnsealed, rowsOnly
}

// SealLoop seals deployments into blocks (Seal) now and then every
// interval until ctx ends, logging what a pass sealed. Several replicas
// may run it at once.
func (s *Store) SealLoop(ctx context.Context, log *slog.Logger, interval time.Duration) {
	first := true
	for {
		began := time.Now()
		blocks, err := s.Seal(ctx, time.Now(), func(blocks int) {
			if first {
				log.Info("sealing deployments into blocks", "blocks_so_far", blocks)
			}
		})
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

// Seal runs one pass of sealing, as of now: in every series, the oldest
// unsealed deployments that may be sealed (see the package's notes above)
// become blocks of sealCount, one transaction a block. progress, if not
// nil, is called every few seconds with the blocks so far. It returns the
// blocks sealed.
func (s *Store) Seal(ctx context.Context, now time.Time, progress func(blocks int)) (int, error) {
	type series struct{ component, environment string }
	var all []series
	rows, err := s.db.DB.QueryContext(ctx, `SELECT DISTINCT component, environment FROM `+s.sealedIndex()+` WHERE sealed = 0`)
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
	cutoff := now.Add(-sealHorizon)
	blocks, lastLog := 0, time.Now()
	for _, se := range all {
		gaps, err := s.sealGaps(ctx, se.component, se.environment)
		if err != nil {
			return blocks, fmt.Errorf("seal %s %s: %w", se.component, se.environment, err)
		}
		for _, g := range gaps {
			for lo := g.lo; ; {
				n, last, err := s.sealBlock(ctx, se.component, se.environment, lo, g.hi, cutoff)
				if err != nil {
					return blocks, fmt.Errorf("seal %s %s: %w", se.component, se.environment, err)
				}
				if n == 0 && last <= lo {
					break
				}
				lo = last
				if n == 0 {
					continue // past deployments that may not be sealed yet
				}
				blocks++
				if progress != nil && time.Since(lastLog) > 5*time.Second {
					lastLog = time.Now()
					progress(blocks)
				}
			}
		}
	}
	var unsealed int64
	if err := s.db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.sealedIndex()+` WHERE sealed = 0`).Scan(&unsealed); err != nil {
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
	startsFirst = dbTime(time.Time{})
	startsLast  = "9999-12-31 23:59:59.999999"
)

// sealGaps returns the gaps between a series' blocks that hold enough
// unsealed deployments for a block, whether they may be sealed or not:
// after the last block, those that ended since, and between blocks, those
// a renumbering unsealed.
func (s *Store) sealGaps(ctx context.Context, component, environment string) ([]sealGap, error) {
	k := s.sealK
	if k == 0 {
		k = sealCount
	}
	type span struct{ first, last string }
	var blocks []span
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
		f, err1 := parseDBTime(first)
		l, err2 := parseDBTime(last)
		blocks = append(blocks, span{dbTime(f), dbTime(l)})
		return errors.Join(err1, err2)
	})
	if err != nil {
		return nil, err
	}
	gap := func(i int) sealGap {
		g := sealGap{startsFirst, startsLast}
		if i > 0 {
			g.lo = blocks[i-1].last
		}
		if i < len(blocks) {
			g.hi = blocks[i].first
		}
		return g
	}
	var out []sealGap
	i, count := 0, 0
	done := func() {
		if count >= k {
			out = append(out, gap(i))
		}
		count = 0
	}
	rows, err = s.db.DB.QueryContext(ctx, `SELECT started_at FROM `+s.sealedIndex()+` WHERE sealed = 0 AND component = ? AND environment = ?
ORDER BY started_at`, component, environment)
	if err != nil {
		return nil, translate(err)
	}
	err = scanAll(rows, func() error {
		var started []byte
		if err := rows.Scan(&started); err != nil {
			return err
		}
		t, err := parseDBTime(started)
		if err != nil {
			return err
		}
		start := dbTime(t)
		for i < len(blocks) && start >= blocks[i].first {
			done()
			i++
		}
		if g := gap(i); start > g.lo && start < g.hi {
			count++
		}
		return nil
	})
	done()
	return out, err
}

// sealedIndex is deployments read through deployments_sealed.
func (s *Store) sealedIndex() string {
	if s.kind == KindMySQL {
		return "deployments FORCE INDEX (deployments_sealed)"
	}
	return "deployments INDEXED BY deployments_sealed"
}

// sealEnded holds for a deployment that ended: its target has a later
// attempt, or its latest ended.
const sealEnded = `EXISTS (SELECT 1 FROM targets t WHERE t.component = deployments.component AND t.version = deployments.version
AND t.environment = deployments.environment AND (t.attempt > deployments.attempt OR t.ended = 1))`

// sealBlock seals the next block of a series in the gap lo < start < hi,
// if it has sealCount deployments (or sealBytes of them) to seal there,
// in one transaction; it returns how many deployments it sealed (0 for
// none), and the block's last start (with none, where the next block may
// start after, or "").
func (s *Store) sealBlock(ctx context.Context, component, environment, lo, hi string, cutoff time.Time) (int, string, error) {
	k := s.sealK
	if k == 0 {
		k = sealCount
	}
	sealed, last := 0, ""
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		sealed = 0
		// Every packer writes this row first: packers take turns, each
		// seeing the blocks of the one before.
		if err := s.exec(ctx, tx, `INSERT INTO steps_numbering (name, value) VALUES (?, ?)`+upsertRules.in(s),
			sealingKey, dbTime(time.Now())); err != nil {
			return err
		}
		// In the index's order: ties on the start come in its order too
		// (rowid on SQLite, the primary key on InnoDB), the same in both
		// reads below; sorting them otherwise would sort the series' every
		// unsealed row for each block.
		ended := ` AND last_time < ? AND ` + sealEnded
		body, keys, skip, err := s.sealCandidates(ctx, tx, k, `SELECT `+s.deploymentColumns()+`, CASE WHEN `+ended[len(" AND "):]+
			` THEN 1 ELSE 0 END FROM `+s.sealedIndex()+` WHERE sealed = 0 AND component = ? AND environment = ? AND started_at > ?
AND started_at < ? ORDER BY started_at LIMIT ?`, dbTime(cutoff), component, environment, lo, hi, 2*k)
		if err != nil || keys == nil {
			last = skip
			return err
		}
		// A series' blocks never overlap (a read hands each series over
		// block after block): the gap must still be one.
		first := keys[0].started
		last = keys[len(keys)-1].started
		rows, err := s.query(ctx, tx, `SELECT last_start FROM deployment_blocks WHERE component = ? AND environment = ? AND first_start <= ?
ORDER BY first_start DESC LIMIT 1`, component, environment, last)
		if err != nil {
			return err
		}
		overlap := false
		if err := scanAll(rows, func() error {
			var before []byte
			if err := rows.Scan(&before); err != nil {
				return err
			}
			t, err := parseDBTime(before)
			overlap = dbTime(t) >= first
			return err
		}); err != nil {
			return err
		}
		if overlap {
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
			res, err := s.execResult(ctx, tx, `UPDATE deployments SET sealed = ? WHERE sealed + 0 = 0 AND (`+anyTarget(len(run), " AND attempt = ?")+`)`, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return translate(err)
			}
			marked += n
		}
		// The rows are now this transaction's to change: read back, they
		// must still be the block, and still be ended.
		again, _, err := s.sealRows(ctx, tx, `SELECT `+s.deploymentColumns()+` FROM `+s.sealedIndex()+
			` WHERE sealed = ? AND component = ? AND environment = ? AND started_at > ? AND started_at < ?`+ended+` ORDER BY started_at`,
			id, component, environment, lo, hi, dbTime(cutoff))
		if err != nil {
			return err
		}
		if marked != int64(len(keys)) || !bytes.Equal(again, body) {
			return errSealLost
		}
		sealed = len(keys)
		return nil
	})
	if errors.Is(err, errSealLost) {
		// A renumbering came first; the next pass seals what it left.
		return 0, "", nil
	}
	return sealed, last, err
}

// sealKey is a deployment of a block being sealed.
type sealKey struct {
	version string
	attempt int64
	started string
}

// sealCandidates reads the unsealed rows of a series in start order, each
// with whether it may be sealed, and returns the next block: whole groups
// of deployments that start at the same time, each group's every row
// sealable, up to k rows or sealBytes (a group is not split, so a block
// may end a group past k). The query reads at most 2k rows (MySQL's
// driver would read the rest of a result to close it): a group that
// reaches its end is not known whole, and left for the next block. A read then never merges a sealed deployment
// with an unsealed one of the same start, whose order the row-by-row read
// sets by rowid (SQLite) or key (InnoDB), except for rows written later
// (see sealMerger.before). Without a full block, it returns nil keys.
func (s *Store) sealCandidates(ctx context.Context, tx *sql.Tx, k int, query string, args ...any) (body []byte, keys []sealKey, skip string, err error) {
	rows, err := s.query(ctx, tx, query, args...)
	if err != nil {
		return nil, nil, "", err
	}
	defer rows.Close()
	// The group being read: its rows, from groupBody in body and
	// groupKeys in keys, its start, and whether all of them may be
	// sealed; and the start of the last group read whole.
	groupBody, groupKeys, groupOK := 0, 0, true
	groupStart, lastWhole := "", ""
	full, read := false, 0
	var fields [deploymentFields][]byte
	for rows.Next() {
		read++
		var row sql.RawBytes
		var ok bool
		if err := rows.Scan(&row, &ok); err != nil {
			return nil, nil, "", translate(err)
		}
		key, err := sealKeyOf(fields[:], row)
		if err != nil {
			return nil, nil, "", err
		}
		if groupStart != "" && key.started != groupStart {
			lastWhole = groupStart
			// The group before ended.
			if !groupOK {
				body, keys = body[:groupBody], keys[:groupKeys]
			}
			if len(keys) >= k || len(body) >= sealBytes {
				full = true
				break
			}
			groupBody, groupKeys, groupOK = len(body), len(keys), true
		}
		groupStart = key.started
		groupOK = groupOK && ok
		if len(body) > 0 {
			body = append(body, rowSep)
		}
		body = append(body, row...)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, "", translate(err)
	}
	if !full {
		// The rows ended: the last group is whole unless the LIMIT cut
		// it, and the block is sealed only once full.
		if !groupOK || read == 2*k {
			body, keys = body[:groupBody], keys[:groupKeys]
		}
		if len(keys) < k && len(body) < sealBytes {
			if read == 2*k {
				// 2k rows without a block's worth that may be sealed
				// (deployments unended, or too recent): the next block
				// starts after them, and they wait for the next pass.
				skip = lastWhole
			}
			return nil, nil, skip, nil
		}
	}
	return body, keys, "", nil
}

// sealKeyOf is the key and start of a deployment row.
func sealKeyOf(fields [][]byte, row []byte) (sealKey, error) {
	if !splitFields(fields, row) {
		return sealKey{}, fmt.Errorf("stored deployment %q does not have %d fields", row, deploymentFields)
	}
	attempt, ok := atoi(fields[3])
	if !ok {
		return sealKey{}, fmt.Errorf("stored deployment %q: attempt is not a number", row)
	}
	started, err := parseDBTime(fields[5])
	if err != nil {
		return sealKey{}, err
	}
	return sealKey{version: string(fields[1]), attempt: attempt, started: dbTime(started)}, nil
}

// sealRows reads deployment rows into a block's body.
func (s *Store) sealRows(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]byte, []sealKey, error) {
	rows, err := s.query(ctx, tx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	var body []byte
	var keys []sealKey
	var fields [deploymentFields][]byte
	err = scanAll(rows, func() error {
		var row sql.RawBytes
		if err := rows.Scan(&row); err != nil {
			return err
		}
		key, err := sealKeyOf(fields[:], row)
		if err != nil {
			return err
		}
		keys = append(keys, key)
		if len(body) > 0 {
			body = append(body, rowSep)
		}
		body = append(body, row...)
		return nil
	})
	return body, keys, err
}

// unseal, in a transaction about to delete the deployments of targets
// matching cond (anyTarget with args), deletes the blocks holding any of
// them and unseals those blocks' other rows. On MySQL every row to delete
// is read locked, sealed or not (under READ COMMITTED, InnoDB keeps the
// lock only on rows that match the whole condition): a packer sealing one
// of them at this moment is waited for, and its block seen, and one that
// comes later finds them gone.
func (s *Store) unseal(ctx context.Context, tx *sql.Tx, cond string, args []any) error {
	lock := ""
	if s.kind == KindMySQL {
		lock = " FOR UPDATE"
	}
	rows, err := s.query(ctx, tx, `SELECT sealed FROM deployments WHERE `+cond+lock, args...)
	if err != nil {
		return err
	}
	var blocks []int64
	err = scanAll(rows, func() error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if id != 0 && (len(blocks) == 0 || blocks[len(blocks)-1] != id) {
			blocks = append(blocks, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	done := map[int64]bool{}
	for _, id := range blocks {
		if done[id] {
			continue
		}
		done[id] = true
		if err := s.exec(ctx, tx, `DELETE FROM deployment_blocks WHERE id = ?`, id); err != nil {
			return err
		}
		if err := s.exec(ctx, tx, `UPDATE deployments SET sealed = 0 WHERE sealed = ?`, id); err != nil {
			return err
		}
	}
	return nil
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

	var c conds
	c.equal("component", f.Component)
	c.equal("environment", f.Environment)
	c.timeRange("started_at", f.Filter)
	m := &sealMerger{byKey: s.kind == KindMySQL}
	if !f.Since.IsZero() {
		m.since = []byte(dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		m.until = []byte(dbTime(f.Until))
	}
	bound := s.maxUnsealed
	if bound == 0 {
		bound = unsealedMax
	}
	rows, err := s.readQuery(ctx, tx, `SELECT `+s.deploymentColumns()+` FROM `+s.sealedIndex()+` WHERE sealed = 0`+
		c.and()+` ORDER BY component, environment, started_at LIMIT ?`, append(c.args, bound+1)...)
	if err != nil {
		return false, err
	}
	n := 0
	err = scanAll(rows, func() error {
		var row sql.RawBytes
		if err := rows.Scan(&row); err != nil {
			return err
		}
		n++
		if n <= bound {
			m.add(row)
		}
		return nil
	})
	if err != nil || n > bound {
		return false, err
	}

	var b conds
	b.equal("component", f.Component)
	b.equal("environment", f.Environment)
	if !f.Since.IsZero() {
		b.add("last_start >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		b.add("first_start <= ?", dbTime(f.Until))
	}
	stmt, err := s.prepared(ctx, `SELECT body FROM deployment_blocks`+b.sql()+` ORDER BY component, environment, first_start`)
	if err != nil {
		return false, err
	}
	return true, pipeDeployments(ctx, f, rules, now, reuse, fn, func(ctx context.Context, emit func([]byte) error) error {
		rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, b.args...)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		var body sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&body); err != nil {
				return translate(err)
			}
			if err := m.block(body, emit); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return translate(err)
		}
		return m.finish(emit)
	})
}

// and is " AND a AND b …", or "".
func (c *conds) and() string {
	if len(c.where) == 0 {
		return ""
	}
	return " AND " + c.sql()[len(" WHERE "):]
}

// unsealedRows are one series' unsealed rows, in start order.
type unsealedRows struct {
	key  []byte
	rows [][]byte
	next int
}

// sealMerger hands over a read's blocks and unsealed rows in the order of
// deployments_component, the row-by-row read's: series by series in
// (component, environment) order, each in start order, the unsealed rows
// of a series merged by start with its blocks' rows. Both come in that
// order, the series' keys comparing as bytes as they do in SQL (binary
// collations; a key joins component and environment by U+001F, below any
// stored character).
type sealMerger struct {
	since, until []byte // nil: no bound
	byKey        bool   // ties on the start go by key (InnoDB), else by rowid
	unsealed     []*unsealedRows
	next         int // the first series of unsealed not handed over
	cur          *unsealedRows
	curKey       []byte
}

// seriesKey is a row's component and environment, joined by U+001F.
func seriesKey(row []byte) []byte {
	var fields [4][]byte
	rest := row
	for i := range fields {
		end := bytes.IndexByte(rest, 0x1f)
		if end < 0 {
			return row
		}
		fields[i], rest = rest[:end], rest[end+1:]
	}
	key := make([]byte, 0, len(fields[0])+1+len(fields[2]))
	key = append(key, fields[0]...)
	key = append(key, 0x1f)
	return append(key, fields[2]...)
}

// rowStart is a row's start time, as stored.
func rowStart(row []byte) []byte {
	for range 5 {
		i := bytes.IndexByte(row, 0x1f)
		if i < 0 {
			return nil
		}
		row = row[i+1:]
	}
	if i := bytes.IndexByte(row, 0x1f); i >= 0 {
		return row[:i]
	}
	return row
}

// compareStarts orders two stored start times.
func compareStarts(a, b []byte) int {
	if len(a) == len(dbTimeLayout) && len(b) == len(dbTimeLayout) {
		return bytes.Compare(a, b)
	}
	ta, errA := parseDBTime(a)
	tb, errB := parseDBTime(b)
	if errA != nil || errB != nil {
		return bytes.Compare(a, b)
	}
	return ta.Compare(tb)
}

func (m *sealMerger) add(row []byte) {
	key := seriesKey(row)
	if n := len(m.unsealed); n == 0 || !bytes.Equal(m.unsealed[n-1].key, key) {
		m.unsealed = append(m.unsealed, &unsealedRows{key: key})
	}
	u := m.unsealed[len(m.unsealed)-1]
	u.rows = append(u.rows, bytes.Clone(row))
}

// inRange says whether a block's row starts within the read's since and
// until, compared as the SQL of the row path compares them.
func (m *sealMerger) inRange(start []byte) bool {
	return (m.since == nil || compareStarts(start, m.since) >= 0) && (m.until == nil || compareStarts(start, m.until) <= 0)
}

// block hands over the rows of a block, with its series' unsealed rows
// that start before each.
func (m *sealMerger) block(body []byte, emit func([]byte) error) error {
	if len(body) == 0 {
		return nil
	}
	first := body
	if i := bytes.IndexByte(body, rowSep); i >= 0 {
		first = body[:i]
	}
	if key := seriesKey(first); m.curKey == nil || !bytes.Equal(key, m.curKey) {
		if err := m.flush(m.cur, emit); err != nil {
			return err
		}
		m.curKey, m.cur = key, nil
		// The series before this one that have unsealed rows only.
		for ; m.next < len(m.unsealed) && bytes.Compare(m.unsealed[m.next].key, key) < 0; m.next++ {
			if err := m.flush(m.unsealed[m.next], emit); err != nil {
				return err
			}
		}
		if m.next < len(m.unsealed) && bytes.Equal(m.unsealed[m.next].key, key) {
			m.cur = m.unsealed[m.next]
			m.next++
		}
	}
	for len(body) > 0 {
		row := body
		if i := bytes.IndexByte(body, rowSep); i >= 0 {
			row, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		// A row's start is needed only to cut at since or until, or to
		// merge the series' unsealed rows: most reads need neither.
		u := m.cur
		if u != nil && u.next == len(u.rows) {
			u = nil
		}
		if m.since == nil && m.until == nil && u == nil {
			if err := emit(row); err != nil {
				return err
			}
			continue
		}
		start := rowStart(row)
		if !m.inRange(start) {
			continue
		}
		if u != nil {
			for u.next < len(u.rows) && m.before(u.rows[u.next], row, start) {
				if err := emit(u.rows[u.next]); err != nil {
					return err
				}
				u.next++
			}
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// before says whether the unsealed row u comes before the block's row b,
// which starts at start, in the row-by-row read (deployments_component).
// On a tie, that index orders rows by InnoDB's primary key (version, then
// attempt; component and environment are the series'), or SQLite's rowid:
// an unsealed row that ties with a sealed one was written after the block
// was sealed (sealCandidates seals whole groups of one start, with none
// of them left out), so its rowid is the larger.
func (m *sealMerger) before(u, b, start []byte) bool {
	if c := compareStarts(rowStart(u), start); c != 0 || !m.byKey {
		return c < 0
	}
	var uf, bf [deploymentFields][]byte
	if !splitFields(uf[:], u) || !splitFields(bf[:], b) {
		return false
	}
	if c := bytes.Compare(uf[1], bf[1]); c != 0 {
		return c < 0
	}
	ua, _ := atoi(uf[3])
	ba, _ := atoi(bf[3])
	return ua < ba
}

// flush hands over what remains of u.
func (m *sealMerger) flush(u *unsealedRows, emit func([]byte) error) error {
	if u == nil {
		return nil
	}
	for ; u.next < len(u.rows); u.next++ {
		if err := emit(u.rows[u.next]); err != nil {
			return err
		}
	}
	return nil
}

// finish hands over the rest: the current series' unsealed rows, then the
// series after the last block's.
func (m *sealMerger) finish(emit func([]byte) error) error {
	if err := m.flush(m.cur, emit); err != nil {
		return err
	}
	for ; m.next < len(m.unsealed); m.next++ {
		if err := m.flush(m.unsealed[m.next], emit); err != nil {
			return err
		}
	}
	return nil
}
