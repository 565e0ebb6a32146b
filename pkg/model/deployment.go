package model

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcomes of a deployment.
const (
	OutcomeSuccess    = "success"
	OutcomeFailure    = "failure"
	OutcomeInProgress = "in_progress"
)

// Default terminal statuses and stuck threshold (DeploymentRules).
var (
	DefaultSuccessStatuses = []string{"finished", "success", "succeeded", "successful", "done", "deployed", "complete", "completed"}
	DefaultFailureStatuses = []string{"failed", "failure", "error", "errored", "aborted", "cancelled", "canceled", "rolled-back", "rolledback", "rollback", "timeout", "timed-out"}
)

// DefaultStuckAfter is how long an in-progress deployment may go without a
// new step before it is flagged as stuck.
const DefaultStuckAfter = time.Hour

// MaxDeploymentSteps is the most steps a deployment holds before the step
// that ends it, which is always taken (so a full deployment can still be
// ended, and its target deployed again). A deployment is stored and read
// as one row; at this bound its worst case (statuses of 64 four-byte
// characters, ids and offsets of 19 digits: under 300 bytes a step) stays
// under 15 MB, within MariaDB's default max_allowed_packet (16 MiB), past
// which every read of deployments failed. A step past it is refused
// (EUNPROCESSABLE) on every database alike.
const MaxDeploymentSteps = 50_000

// DeploymentRules decide when a deployment ends and how it went.
//
// A deployment is the ordered sequence of steps of one component, version
// and environment. A step whose status is terminal (a success or a failure
// status, compared case-insensitively) ends it; the next step of the same
// component, version and environment starts a new deployment: a redeploy of
// the same version, with the next Attempt number.
type DeploymentRules struct {
	SuccessStatuses []string
	FailureStatuses []string
	// StuckAfter flags an in-progress deployment whose last step is older
	// than this.
	StuckAfter time.Duration
}

// DefaultDeploymentRules returns the rules used when none are configured.
func DefaultDeploymentRules() DeploymentRules {
	return DeploymentRules{
		SuccessStatuses: DefaultSuccessStatuses,
		FailureStatuses: DefaultFailureStatuses,
		StuckAfter:      DefaultStuckAfter,
	}
}

// Validate checks that the rules can tell outcomes apart.
func (r DeploymentRules) Validate() error {
	if len(r.SuccessStatuses) == 0 || len(r.FailureStatuses) == 0 {
		return fmt.Errorf("deployment rules need at least one success and one failure status")
	}
	for _, s := range r.SuccessStatuses {
		for _, f := range r.FailureStatuses {
			if FoldStatus(s) == FoldStatus(f) {
				return fmt.Errorf("status %q is both a success and a failure status", s)
			}
		}
	}
	if r.StuckAfter <= 0 {
		return fmt.Errorf("the stuck threshold must be positive")
	}
	return nil
}

// Outcome returns the outcome a deployment has when status is its last.
func (r DeploymentRules) Outcome(status string) string {
	s := FoldStatus(status)
	for _, t := range r.SuccessStatuses {
		if FoldStatus(t) == s {
			return OutcomeSuccess
		}
	}
	for _, t := range r.FailureStatuses {
		if FoldStatus(t) == s {
			return OutcomeFailure
		}
	}
	return OutcomeInProgress
}

// TerminalStatuses returns every terminal status, folded: what the store
// compares LOWER(status) with.
func (r DeploymentRules) TerminalStatuses() []string {
	var out []string
	for _, s := range append(append([]string{}, r.SuccessStatuses...), r.FailureStatuses...) {
		out = append(out, FoldStatus(s))
	}
	return out
}

// FoldStatus lower-cases ASCII letters only, exactly as SQL LOWER does on
// every supported database, so Go and SQL agree on what is terminal.
func FoldStatus(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// Deployment is one deploy of a component's version to an environment,
// with its phases.
type Deployment struct {
	Component   string `json:"component"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	// Attempt numbers the deployments of the same component, version and
	// environment from 1: a redeploy of a version has Attempt 2.
	Attempt int `json:"attempt"`
	// Owner is the owner of the first step: who started the deploy.
	Owner      string     `json:"owner"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// DurationSeconds runs from the first step to the last; while in
	// progress, from the first step to now.
	DurationSeconds float64 `json:"duration_seconds"`
	Outcome         string  `json:"outcome"`
	Stuck           bool    `json:"stuck"`
	Steps           []Phase `json:"steps"`
	// Revision and CommittedAt are the latest given on any of the
	// deployment's steps.
	Revision    string     `json:"revision,omitempty"`
	CommittedAt *time.Time `json:"committed_at,omitempty"`
	// The expected duration and finish of a deployment in progress, from
	// recent successful deployments of its component and environment
	// (EstimateETA, set by SetETA); nil when there is not enough history,
	// and on finished deployments. Always in JSON, null when nil, so that
	// a client tells "no estimate" from an older server's answer.
	ExpectedDurationSeconds *float64   `json:"expected_duration_seconds"`
	ExpectedFinishAt        *time.Time `json:"expected_finish_at"`
	ETASeconds              *float64   `json:"eta_seconds"`
	// Overdue says a deployment in progress has run past its usual length
	// in the phase it is in (ETA.Overdue), in any phase, not only the
	// last, where ETASeconds is then 0. Left out of JSON when false.
	Overdue bool `json:"overdue,omitempty"`
}

// Phase is one step of a deployment. It lasts until the next step;
// DurationSeconds is nil for the last step.
type Phase struct {
	ID              int64     `json:"id"`
	Status          string    `json:"status"`
	Time            time.Time `json:"time"`
	DurationSeconds *float64  `json:"duration_seconds"`
	// Idle marks a phase that only waits: its status closes the phase
	// before it (see EndsPhase), so it lasts from the end of that work to
	// the next step. It counts in the deployment's duration, not as a step.
	Idle bool `json:"idle,omitempty"`
}

// DoneSuffix makes the status that closes a phase: "build-done" after
// "build" says build ended then (stepsctl run records it when its command
// succeeds). Without it, a phase lasts until the next step, and the time a
// script spends between two steps would be added to the first.
const DoneSuffix = "-done"

// EndsPhase reports whether status closes the phase prev: it is prev
// followed by DoneSuffix, matched exactly, as run records it. A "-done"
// status after any other phase is a step like any other.
func EndsPhase(prev, status string) bool {
	return len(status) == len(prev)+len(DoneSuffix) && strings.HasPrefix(status, prev) && strings.HasSuffix(status, DoneSuffix)
}

// Key identifies a deployment among all others, and orders them.
type DeploymentKey struct {
	StartedAt   time.Time
	Component   string
	Version     string
	Environment string
	Attempt     int
}

// Key returns the deployment's key.
func (d *Deployment) Key() DeploymentKey {
	return DeploymentKey{StartedAt: d.StartedAt, Component: d.Component, Version: d.Version, Environment: d.Environment, Attempt: d.Attempt}
}

// Compare orders deployment keys as lists do: by start, then component,
// version and environment (byte order, as utf8mb4_bin and SQLite's BINARY
// collation), then attempt.
func (k DeploymentKey) Compare(o DeploymentKey) int {
	if c := k.StartedAt.Compare(o.StartedAt); c != 0 {
		return c
	}
	if c := strings.Compare(k.Component, o.Component); c != 0 {
		return c
	}
	if c := strings.Compare(k.Version, o.Version); c != 0 {
		return c
	}
	if c := strings.Compare(k.Environment, o.Environment); c != 0 {
		return c
	}
	return k.Attempt - o.Attempt
}

// HasStatus reports whether any step of d has the status.
func (d *Deployment) HasStatus(status string) bool {
	for _, p := range d.Steps {
		if p.Status == status {
			return true
		}
	}
	return false
}

// DeploymentStep is what deployments are built from: a step, and the
// attempt number of its deployment when the store computed it (0 if not).
type DeploymentStep struct {
	Step
	Attempt int
}

// DeploymentBuilder turns ordered steps into deployments, one at a time, so
// memory holds one deployment whatever the number of rows. The store
// numbers deployments as it writes steps and every view reads that
// numbering; the builder states the same rule from scratch, and tests hold
// the stored numbering to it. Steps must come
// grouped by component, version and environment (and attempt, when given),
// each group in time-then-id order.
type DeploymentBuilder struct {
	rules DeploymentRules
	// outcomes caches the outcome of each status seen: statuses are few,
	// rows many.
	outcomes map[string]string
	now      time.Time
	current  *Deployment
	// closed is the last deployment ended by a terminal status, so that the
	// next step of the same component, version and environment starts the
	// next attempt.
	closed *Deployment
	emit   func(*Deployment) error
}

// NewDeploymentBuilder returns a builder that calls emit with each
// completed deployment. now is the time in-progress durations run to.
func NewDeploymentBuilder(rules DeploymentRules, now time.Time, emit func(*Deployment) error) *DeploymentBuilder {
	return &DeploymentBuilder{rules: rules, now: now, emit: emit, outcomes: map[string]string{}}
}

func (b *DeploymentBuilder) outcome(status string) string {
	o, ok := b.outcomes[status]
	if !ok {
		o = b.rules.Outcome(status)
		if len(b.outcomes) < 10000 {
			b.outcomes[status] = o
		}
	}
	return o
}

func sameTarget(d *Deployment, s Step) bool {
	return d != nil && d.Component == s.Component && d.Version == s.Version && d.Environment == s.Environment
}

// Add adds the next step.
func (b *DeploymentBuilder) Add(s DeploymentStep) error {
	d := b.current
	if d != nil && (!sameTarget(d, s.Step) || (s.Attempt > 0 && s.Attempt != d.Attempt)) {
		if err := b.Flush(); err != nil {
			return err
		}
		d = nil
	}
	if d == nil {
		attempt := s.Attempt
		if attempt == 0 {
			attempt = 1
			if sameTarget(b.closed, s.Step) {
				attempt = b.closed.Attempt + 1
			}
		}
		d = &Deployment{
			Steps:       make([]Phase, 0, 8), // most deploys have a handful of steps
			Component:   s.Component,
			Version:     s.Version,
			Environment: s.Environment,
			Attempt:     attempt,
			Owner:       s.Owner,
			StartedAt:   s.Time,
		}
		b.current = d
	}
	d.Steps = append(d.Steps, Phase{ID: s.ID, Status: s.Status, Time: s.Time})
	if b.outcome(s.Status) != OutcomeInProgress {
		return b.Flush()
	}
	return nil
}

// Flush completes and emits the deployment being built, if any. Call it
// after the last step.
func (b *DeploymentBuilder) Flush() error {
	d := b.current
	if d == nil {
		return nil
	}
	b.current = nil
	b.finish(d)
	b.closed = nil
	if d.Outcome != OutcomeInProgress {
		// Keep only what the next attempt needs, not the steps.
		b.closed = &Deployment{Component: d.Component, Version: d.Version, Environment: d.Environment, Attempt: d.Attempt}
	}
	return b.emit(d)
}

func (b *DeploymentBuilder) finish(d *Deployment) {
	d.Complete(b.outcome, b.now, b.rules.StuckAfter)
}

// Complete sets what follows from a deployment's phases: each phase's
// duration, the outcome of its last status (outcome is DeploymentRules'
// Outcome, perhaps cached), when it finished, how long it took (an
// in-progress one, until now) and whether it is stuck (no step for longer
// than stuckAfter).
func (d *Deployment) Complete(outcome func(status string) string, now time.Time, stuckAfter time.Duration) {
	d.CompleteIn(outcome, now, stuckAfter, nil, nil)
}

// CompleteIn is Complete with the phases' durations written to durations
// (which has room for one fewer than the steps) and the finish to
// *finished, both the caller's: a reader of millions of deployments cuts
// them from its blocks instead of allocating two each. Either nil is
// allocated as Complete does.
func (d *Deployment) CompleteIn(outcome func(status string) string, now time.Time, stuckAfter time.Duration,
	durations []float64, finished *time.Time) {
	// One block for every phase's duration: stats build millions of these.
	if n := max(0, len(d.Steps)-1); durations == nil {
		durations = make([]float64, n)
	} else {
		durations = durations[:n]
	}
	for i := range durations {
		durations[i] = Seconds(d.Steps[i+1].Time.Sub(d.Steps[i].Time))
		d.Steps[i].DurationSeconds = &durations[i]
	}
	for i := 1; i < len(d.Steps); i++ {
		d.Steps[i].Idle = EndsPhase(d.Steps[i-1].Status, d.Steps[i].Status)
	}
	last := d.Steps[len(d.Steps)-1]
	d.Outcome = outcome(last.Status)
	if d.Outcome == OutcomeInProgress {
		d.DurationSeconds = max(0, Seconds(now.Sub(d.StartedAt)))
		d.Stuck = now.Sub(last.Time) > stuckAfter
		return
	}
	if finished == nil {
		finished = new(time.Time)
	}
	*finished = last.Time
	d.FinishedAt = finished
	d.DurationSeconds = Seconds(finished.Sub(d.StartedAt))
}

// PhaseSeconds returns how long d's i-th phase lasted; for the last phase
// of a deployment in progress, how long it has run by now (running). ok is
// false for the last step of a finished deployment: its end, a moment.
// This is the one place a running phase's time is computed; Complete does
// the same for the whole deployment.
func (d *Deployment) PhaseSeconds(i int, now time.Time) (seconds float64, running, ok bool) {
	p := d.Steps[i]
	switch {
	case p.DurationSeconds != nil:
		return *p.DurationSeconds, false, true
	case d.Outcome == OutcomeInProgress && i == len(d.Steps)-1:
		return max(0, Seconds(now.Sub(p.Time))), true, true
	}
	return 0, false, false
}

// DeploymentFilter selects deployments: Filter's component, version and
// environment match the deployment; owner matches who started it; status
// matches any of its steps; since and until bound its start. After, when
// set, continues a paged list.
type DeploymentFilter struct {
	Filter
	After *DeploymentKey
}

// Matches reports whether a built deployment passes the filters that are
// applied after building (owner, status, start time).
func (f DeploymentFilter) Matches(d *Deployment) bool {
	if f.Owner != "" && d.Owner != f.Owner {
		return false
	}
	if f.Status != "" && !d.HasStatus(f.Status) {
		return false
	}
	if !f.Since.IsZero() && d.StartedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && d.StartedAt.After(f.Until) {
		return false
	}
	return true
}

// String encodes the key as an opaque, URL-safe cursor.
func (k DeploymentKey) String() string {
	b, _ := json.Marshal([]any{k.StartedAt.UnixMicro(), k.Component, k.Version, k.Environment, k.Attempt})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseDeploymentCursor decodes a cursor made by DeploymentKey.String.
func ParseDeploymentCursor(token string) (*DeploymentKey, error) {
	bad := Invalid("cursor", "cursor %s is not one this server issued; use the \"next\" value of the previous page", Quote(token))
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) != 5 {
		return nil, bad
	}
	var k DeploymentKey
	var micros int64
	if json.Unmarshal(parts[0], &micros) != nil || json.Unmarshal(parts[1], &k.Component) != nil ||
		json.Unmarshal(parts[2], &k.Version) != nil || json.Unmarshal(parts[3], &k.Environment) != nil ||
		json.Unmarshal(parts[4], &k.Attempt) != nil || k.Attempt < 1 {
		return nil, bad
	}
	k.StartedAt = time.UnixMicro(micros).UTC()
	// As ParseCursor: the token must be the one String makes, with every
	// field something a stored deployment can hold.
	// (Text is checked for what any stored value meets, not today's
	// stricter rules, so records kept from before them still page.)
	if k.String() != token || ValidateStepTime("cursor", k.StartedAt) != nil ||
		!storable(k.Component, MaxComponentLen) || !storable(k.Version, MaxVersionLen) ||
		!storable(k.Environment, MaxEnvironmentLen) {
		return nil, bad
	}
	return &k, nil
}

// storable reports whether v is valid UTF-8 of at most max characters.
func storable(v string, max int) bool {
	return utf8.ValidString(v) && utf8.RuneCountInString(v) <= max
}

// Seconds converts a duration between stored times (whole microseconds) to
// seconds, exactly as written: 24.681889, not 24.681888999999998.
func Seconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1e6
}
