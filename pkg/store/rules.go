package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// rulesKey names, in steps_numbering, the terminal statuses the stored
// numbering follows.
const rulesKey = "terminal_statuses"

var upsertNumbering = onConflict("name", "value = excluded.value")

// setNumbering is the statement that sets a row of steps_numbering: name,
// then value.
func (s *Store) setNumbering() string {
	return `INSERT INTO steps_numbering (name, value) VALUES (?, ?)` + upsertNumbering.in(s)
}

// numbering reads a row of steps_numbering ("" when there is none).
func (s *Store) numbering(ctx context.Context, name string) (string, error) {
	var value string
	err := s.db.DB.QueryRowContext(ctx, `SELECT value FROM steps_numbering WHERE name = ?`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return value, translate(err)
}

// terminalSet is the set of folded terminal statuses numbering follows.
type terminalSet map[string]bool

func newTerminalSet(rules model.DeploymentRules) terminalSet {
	set := terminalSet{}
	for _, t := range rules.TerminalStatuses() {
		set[t] = true
	}
	return set
}

func (t terminalSet) ends(status string) bool { return t[model.FoldStatus(status)] }

// fingerprint is how steps_numbering records the set.
func (t terminalSet) fingerprint() string { return strings.Join(slices.Sorted(maps.Keys(t)), "\n") }

// UseRules sets the terminal statuses the store numbers deployments with.
// When they differ from those the stored numbering follows (after an
// upgrade, or a change of configuration), it renumbers every deployment
// first, logging its progress; otherwise it numbers the targets of the
// steps an older stepsd wrote (numberUnnumbered). Call it at start-up,
// before serving. A store that is never told numbers with
// model.DefaultDeploymentRules.
func (s *Store) UseRules(ctx context.Context, rules model.DeploymentRules, log *slog.Logger) error {
	terminal := newTerminalSet(rules)
	s.terminal.Store(&terminal)
	want := terminal.fingerprint()
	have, err := s.numbering(ctx, rulesKey)
	if err != nil {
		return err
	}
	if have == want {
		return s.numberUnnumbered(ctx, log)
	}
	var total int64
	if err := s.db.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM steps`).Scan(&total); err != nil {
		return translate(err)
	}
	s.targets.clear()
	if total > 0 {
		// Every step is numbered below, those an older stepsd wrote too.
		// Their marks go first: one such step committed meanwhile is
		// either unmarked now and numbered below, or stays marked.
		if s.kind == KindMySQL {
			if err := s.writeTx(ctx, func(tx *sql.Tx) error {
				return s.exec(ctx, tx, `UPDATE steps SET numbered = 1 WHERE numbered = 0`)
			}); err != nil {
				return fmt.Errorf("number deployments: %w", err)
			}
		}
		// Renumbering finds blocks through the rows that name them: a
		// block an older stepsd left without any (it rewrote them all)
		// would be read for good beside the renumbered rows.
		var stale int
		if err := s.writeTx(ctx, func(tx *sql.Tx) (err error) {
			stale, err = s.dropStale(ctx, tx, "")
			return err
		}); err != nil {
			return fmt.Errorf("number deployments: %w", err)
		}
		if stale > 0 {
			log.Warn("dropped sealed blocks an older stepsd left stale; they are sealed again later", "blocks", stale)
		}
		reason := "terminal statuses changed"
		if have == "" {
			reason = "first start after the upgrade that stores deployments"
		}
		log.Info("numbering every deployment again; stepsd serves once done", "reason", reason, "steps", total,
			"statuses", strings.ReplaceAll(want, "\n", ","))
		if err := s.renumberAll(ctx, total, log); err != nil {
			return fmt.Errorf("number deployments: %w", err)
		}
	}
	// Replicas starting together may both get here: the row is upserted.
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.setNumbering(), rulesKey, want)
		return translate(err)
	})
}

// numberUnnumbered numbers the targets of the steps that an older stepsd
// wrote without numbering them (numbered = 0: migration 20261202000001),
// each target from its first step, as if this stepsd had written them
// all. Steps at 0 are few or none, and an index leads with the mark
// (steps_unnumbered): a start with none runs one indexed query.
func (s *Store) numberUnnumbered(ctx context.Context, log *slog.Logger) error {
	if s.kind != KindMySQL {
		// SQLite marks none (its migration says why).
		return nil
	}
	rows, err := s.db.DB.QueryContext(ctx, unnumberedTargets)
	if err != nil {
		return translate(err)
	}
	var targets []target
	var steps int64
	err = scanAll(rows, func() error {
		var t target
		var n int64
		err := rows.Scan(&t.component, &t.version, &t.environment, &n)
		targets, steps = append(targets, t), steps+n
		return err
	})
	if err != nil || len(targets) == 0 {
		return err
	}
	began := time.Now()
	log.Warn("found steps an older stepsd wrote without numbering their deployments; numbering their targets again, stepsd serves once done",
		"steps", steps, "targets", len(targets))
	s.targets.clear()
	stale := 0
	for chunk := range slices.Chunk(targets, renumberChunk) {
		unsealed, err := s.writeSplitting(ctx, chunk, func(tx *sql.Tx, chunk []target) (int, error) {
			// The older stepsd may have rewritten sealed deployments
			// without unsealing them: their blocks go before the
			// numbering, which finds their rows unsealed.
			unsealed, err := s.unsealStale(ctx, tx, chunk)
			if err != nil {
				return 0, err
			}
			// Marked first: a step an older stepsd commits meanwhile is
			// either marked here and read by number, or stays at 0 for
			// the next start.
			for run := range runs(s, chunk) {
				args := make([]any, 0, 3*len(run))
				for _, t := range run {
					args = append(args, t.component, t.version, t.environment)
				}
				if err := s.exec(ctx, tx, `UPDATE steps SET numbered = 1 WHERE numbered = 0 AND (`+anyTarget(len(run), "")+`)`, args...); err != nil {
					return 0, err
				}
			}
			return unsealed, s.number(ctx, tx, workFor(chunk), true)
		})
		if err != nil {
			return fmt.Errorf("number the steps an older stepsd wrote: %w", err)
		}
		stale += unsealed
	}
	log.Info("numbered the steps an older stepsd wrote", "steps", steps, "targets", len(targets), "stale_blocks_unsealed", stale,
		"seconds", time.Since(began).Seconds())
	return nil
}

// unnumberedTargets is the query of the targets of steps marked 0, with
// their counts, held to steps_unnumbered (MySQL).
const unnumberedTargets = `SELECT component, version, environment, COUNT(*) FROM steps FORCE INDEX (steps_unnumbered)
WHERE numbered = 0 GROUP BY component, version, environment ORDER BY component, version, environment`

// renumberChunk is how many targets one renumbering transaction takes.
const renumberChunk = 500

// renumberAll renumbers every target, a chunk of targets per transaction,
// so that writes go on meanwhile: each chunk locks its targets as a write
// does.
func (s *Store) renumberAll(ctx context.Context, total int64, log *slog.Logger) error {
	began, lastLog := time.Now(), time.Now()
	var after *target
	done := 0
	for {
		targets, err := s.nextTargets(ctx, after, renumberChunk)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			log.Info("numbered every deployment", "targets", done, "seconds", time.Since(began).Seconds())
			return nil
		}
		_, err = s.writeSplitting(ctx, targets, func(tx *sql.Tx, chunk []target) (int, error) {
			return 0, s.number(ctx, tx, workFor(chunk), true)
		})
		if err != nil {
			return err
		}
		done += len(targets)
		after = &targets[len(targets)-1]
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			log.Info("numbering deployments", "targets_done", done, "up_to_component", after.component, "steps", total)
		}
	}
}

// splitAfterTries is how many times writeSplitting runs a transaction of
// several targets before it splits it.
const splitAfterTries = 3

// writeSplitting runs fn over targets in one write transaction and returns
// what fn counted. A transaction of several targets that still loses its
// conflicts after splitAfterTries tries is split in two halves, each run
// on its own, down to one target, which gets writeTx's tries: on Galera a write through another node to any one of hundreds of
// targets fails the whole transaction's certification, so a start (or
// stepsd migrate) numbering them while replicas kept writing exited with
// error 1213, and its restarts did the same for as long as the writes went
// on (a rolling update from c0edbd5 on three nodes: two of three new
// replicas exited so). Each half is numbered as a whole, so the numbering
// is the same.
func (s *Store) writeSplitting(ctx context.Context, targets []target, fn func(tx *sql.Tx, chunk []target) (int, error)) (int, error) {
	// A chunk of several targets is split after a few tries rather than
	// ten: each try it loses costs its whole transaction, and the halves
	// conflict less.
	tries := maxTries
	if len(targets) > 1 {
		tries = splitAfterTries
	}
	var n int
	err := s.writeTxTries(ctx, tries, func(tx *sql.Tx) (err error) {
		n, err = fn(tx, targets)
		return err
	})
	if err == nil || len(targets) == 1 || !retryable(err) || ctx.Err() != nil {
		return n, err
	}
	half := len(targets) / 2
	first, err := s.writeSplitting(ctx, targets[:half], fn)
	if err != nil {
		return first, err
	}
	second, err := s.writeSplitting(ctx, targets[half:], fn)
	return first + second, err
}

// workFor is targets as work without new steps: to lock them, or to
// number them again from their stored steps.
func workFor(targets []target) []*targetWork {
	work := make([]*targetWork, len(targets))
	for i, t := range targets {
		work[i] = &targetWork{target: t}
	}
	return work
}

// nextTargets returns up to n targets that have steps, in order, after
// after (from the first if nil).
func (s *Store) nextTargets(ctx context.Context, after *target, n int) ([]target, error) {
	var c conds
	if after != nil {
		cond, args := afterCond(">", []string{"component", "version", "environment"}, []any{after.component, after.version, after.environment})
		c.add(cond, args...)
	}
	rows, err := s.db.DB.QueryContext(ctx, `SELECT DISTINCT component, version, environment FROM steps`+c.sql()+
		` ORDER BY component, version, environment LIMIT ?`, append(c.args, n)...)
	if err != nil {
		return nil, translate(err)
	}
	var out []target
	err = scanAll(rows, func() error {
		var t target
		err := rows.Scan(&t.component, &t.version, &t.environment)
		out = append(out, t)
		return err
	})
	return out, err
}
