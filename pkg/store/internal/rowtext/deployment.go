package rowtext

import (
	"bytes"
	"fmt"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// DeploymentFields is the number of fields in the store's deploymentColumns.
const DeploymentFields = 9

// DeploymentReader builds deployments from their joined columns (the
// store's deploymentColumns).
type DeploymentReader struct {
	// Reuse, for a caller that keeps no deployment past fn, builds the
	// deployments after each Rewind in the memory of those before.
	Reuse bool

	f      model.DeploymentFilter
	rules  model.DeploymentRules
	now    time.Time
	fields [DeploymentFields][]byte
	// Statuses are few and rows many: each status becomes a string once,
	// and its outcome is decided once.
	phases   phaseDecoder
	outcomes map[string]string
	outcome  func(status string) string
	// Components, environments and owners repeat from row to row.
	texts Interner
	// Deployments and their steps are cut from blocks, one allocation
	// for many deployments rather than two each: the garbage collector's
	// share of a read over all history was as large as the decoding's. A
	// deployment kept (the page keeps the newest) keeps its block alive;
	// blocks start small for reads of a few.
	deps      arena[model.Deployment]
	finishes  arena[time.Time]
	steps     arena[model.Phase]
	durations arena[float64]
	block     int
	// Deployments are mostly stored as they happen, so read in about the
	// order they started: many start on the day of the one before, whose
	// midnight is kept.
	day      [10]byte
	midnight time.Time
}

// startedAt reads a start time as ParseTime does; one on the day of
// the deployment before is its midnight plus the clock.
func (dr *DeploymentReader) startedAt(b []byte) (time.Time, error) {
	if len(b) == len(TimeLayout) && !dr.midnight.IsZero() && string(b[:10]) == string(dr.day[:]) {
		if clock, ok := parseClock(b[10:]); ok {
			return dr.midnight.Add(clock), nil
		}
	}
	t, err := ParseTime(b)
	if err == nil && len(b) == len(TimeLayout) {
		copy(dr.day[:], b)
		dr.midnight = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t, err
}

// maxDeploymentBlock is the most deployments in one block.
const maxDeploymentBlock = 64

// newDeployment returns a zero deployment from the current block.
func (dr *DeploymentReader) newDeployment() *model.Deployment {
	if len(dr.deps.free) == 0 {
		dr.block = min(max(2*dr.block, 2), maxDeploymentBlock)
	}
	return &dr.deps.cut(1, dr.block)[0]
}

// Rewind, in a read that reuses its memory, makes the deployments after
// it reuse those before.
func (dr *DeploymentReader) Rewind() {
	if dr.Reuse {
		dr.deps.rewind()
		dr.finishes.rewind()
		dr.steps.rewind()
		dr.durations.rewind()
	}
}

// arena cuts slices from blocks of Ts. Rewound, it cuts them from its
// latest block again, zeroed, grown to what was cut since the last rewind.
type arena[T any] struct {
	block, free []T
	used        int
}

// cut returns n zero Ts with no room beyond them, from a new block of at
// least size when the current one has too few left.
func (a *arena[T]) cut(n, size int) []T {
	if n > len(a.free) {
		a.block = make([]T, max(n, size))
		a.free = a.block
	}
	out := a.free[:n:n]
	a.free = a.free[n:]
	a.used += n
	return out
}

func (a *arena[T]) rewind() {
	if a.used > len(a.block) {
		a.block = make([]T, a.used)
	} else {
		clear(a.block)
	}
	a.free, a.used = a.block, 0
}

// NewDeploymentReader reads deployments matching f's status, deciding
// their outcomes by rules as of now.
func NewDeploymentReader(f model.DeploymentFilter, rules model.DeploymentRules, now time.Time) *DeploymentReader {
	dr := &DeploymentReader{f: f, rules: rules, now: now, outcomes: map[string]string{}, texts: Interner{}}
	dr.outcome = func(status string) string {
		o, ok := dr.outcomes[status]
		if !ok {
			o = rules.Outcome(status)
			if len(dr.outcomes) < 10000 {
				dr.outcomes[status] = o
			}
		}
		return o
	}
	return dr
}

// Read builds the deployment stored as row and passes it to fn if it
// matches the filter's status.
func (dr *DeploymentReader) Read(row []byte, fn func(*model.Deployment) error) error {
	fields := &dr.fields
	attempt, err := SplitDeployment(fields, row)
	if err != nil {
		return err
	}
	d := dr.newDeployment()
	d.Component = dr.texts.Intern(fields[0])
	d.Version = string(fields[1])
	d.Environment = dr.texts.Intern(fields[2])
	d.Owner = dr.texts.Intern(fields[4])
	d.Attempt = int(attempt)
	if d.StartedAt, err = dr.startedAt(fields[5]); err != nil {
		return err
	}
	if len(fields[7]) > 0 {
		d.Revision = string(fields[7])
	}
	if len(fields[8]) > 0 {
		if d.CommittedAt, err = ParseNullTime(fields[8]); err != nil {
			return err
		}
	}
	// Cut with no room beyond them: an append by a caller cannot reach
	// the next deployment's steps.
	steps := dr.steps.cut(bytes.Count(fields[6], []byte{PhaseEnd}), 4*dr.block)[:0]
	if d.Steps, err = dr.phases.decode(fields[6], d.StartedAt, steps); err != nil {
		return fmt.Errorf("deployment %s %s %s #%d: %w", d.Component, d.Version, d.Environment, d.Attempt, err)
	}
	if dr.f.Status != "" && !d.HasStatus(dr.f.Status) {
		return nil
	}
	durations := dr.durations.cut(max(0, len(d.Steps)-1), 4*dr.block)
	d.CompleteIn(dr.outcome, dr.now, dr.rules.StuckAfter, durations, &dr.finishes.cut(1, dr.block)[0])
	return fn(d)
}

// SplitDeployment splits a deployment row into its fields and reads its
// attempt, or says what is wrong with the row.
func SplitDeployment(fields *[DeploymentFields][]byte, row []byte) (attempt int64, err error) {
	if !splitFields(fields[:], row) {
		return 0, fmt.Errorf("stored deployment %q does not have %d fields", row, DeploymentFields)
	}
	attempt, ok := Atoi(fields[3])
	if !ok {
		return 0, fmt.Errorf("stored deployment %q: attempt is not a number", row)
	}
	return attempt, nil
}

// splitFields splits row at each U+001F into exactly len(fields) fields.
func splitFields(fields [][]byte, row []byte) bool {
	for i := range len(fields) - 1 {
		end := bytes.IndexByte(row, 0x1f)
		if end < 0 {
			return false
		}
		fields[i], row = row[:end], row[end+1:]
	}
	fields[len(fields)-1] = row
	return bytes.IndexByte(row, 0x1f) < 0
}
