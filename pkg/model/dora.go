package model

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The DORA four keys, computed from the deployments in one pass. They
// count changes: a version of a component reaching an environment. A
// failed attempt followed by another attempt of the same version is a
// retry, not a deployment; the version failed only if no attempt of it
// succeeded, from its first failed attempt's end. Once a version has
// succeeded, its further attempts until another version are redeploys,
// not deployments: a success is a redeployment, a failure retried with the
// version a retried failure, any other failure a redeployment too (the
// change had reached production: no change failure). A deployment
// cancelled because a newer change's deployment superseded it (supersededBy)
// deployed nothing: it is no deployment and no failure either. A success
// of a change deployed before (one of the latest recentChanges) that
// restores failures is a rollback: it ends their restore, but ships no
// change, so it is no deployment and adds no lead time. Then:
//
//   - deployment frequency: successful deployments per day of the period;
//   - change failure rate: failed deployments out of finished ones, with
//     its 95 % Wilson interval (FailureRateInterval);
//   - time to restore: from the end of a failed deployment to the end of
//     the next successful deployment of the same component and environment
//     (each failure its own restore; a success ending at the same instant
//     restores it in 0 s; a success of the failure's own version makes it
//     a retry instead). A failure with no later success among the
//     deployments read is unrestored;
//   - lead time for changes: from committed_at to the end of a successful
//     deployment carrying a commit time; a commit time after the end is a
//     clock error and counts as no commit time.
//
// A deployment belongs to the bucket of its start, as in stats, and so
// does its restore, however late it comes. Deployments in progress are not
// finished: they are counted nowhere. A figure that cannot be computed (no
// deployment to divide by, no restore, no commit time) is nil, never 0.
//
// Memory: per bucket, counts and the restore and lead times (one float
// each, for their percentiles, as stats keep durations); per component and
// environment, the end of each finished deployment, its start, version,
// lead and commit times and whether it failed or was cancelled (64 bytes
// and the version, which the deployment already holds), and its latest
// recentChanges changes deployed. The deployments themselves are not
// kept, so the order the store reads them in does not matter.

// DORA performance bands.
const (
	BandElite  = "elite"
	BandHigh   = "high"
	BandMedium = "medium"
	BandLow    = "low"
)

// The band thresholds, from the 2023 Accelerate State of DevOps Report
// (DORA, Google Cloud), made contiguous as Apache DevLake does: the report's
// clusters overlap, and a team between two of them needs one answer.
// Durations are compared as [lower, upper): a value exactly at a threshold
// is in the slower band ("less than one hour" is elite); frequency and
// failure rate exactly at a threshold are in the better band ("at least
// once a day", "0–5 %").
const (
	// Deployment frequency, successful deployments per day: elite at least
	// daily, high at least weekly, medium at least monthly (once in 31
	// days, so one deploy in any calendar month is monthly), low less.
	DORAFrequencyElite  = 1.0
	DORAFrequencyHigh   = 1.0 / 7
	DORAFrequencyMedium = 1.0 / 31
	// Change failure rate, percent: elite ≤ 5, high ≤ 10, medium ≤ 15.
	DORAFailureRateElite  = 5.0
	DORAFailureRateHigh   = 10.0
	DORAFailureRateMedium = 15.0
	// Time to restore (median), seconds: elite under an hour, high under a
	// day, medium under a week.
	DORARestoreElite  = 3600.0
	DORARestoreHigh   = 86400.0
	DORARestoreMedium = 7 * 86400.0
	// Lead time for changes (median), seconds: elite under a day, high
	// under a week, medium under 30 days.
	DORALeadTimeElite  = 86400.0
	DORALeadTimeHigh   = 7 * 86400.0
	DORALeadTimeMedium = 30 * 86400.0
)

// DORABand is a performance band: elite, high, medium or low; "" (JSON
// null) when its figure cannot be computed.
type DORABand string

// MarshalJSON writes the empty band as null.
func (b DORABand) MarshalJSON() ([]byte, error) {
	if b == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(b))
}

// DORABands are the band of each key.
type DORABands struct {
	DeploymentFrequency DORABand `json:"deployment_frequency"`
	ChangeFailureRate   DORABand `json:"change_failure_rate"`
	TimeToRestore       DORABand `json:"time_to_restore"`
	LeadTime            DORABand `json:"lead_time"`
}

// DORAFigures are the four keys over a period. Pointers are nil (JSON
// null) when the figure cannot be computed.
type DORAFigures struct {
	// Deployments counts finished deployments of a change (a version),
	// FailedDeployments the failed ones among them: a version whose
	// attempts all failed. RetriedFailures counts the failed attempts
	// another attempt of the same version followed, and Redeployments the
	// other attempts of the version that had just succeeded (its
	// successes, and a failure not retried); neither is in Deployments.
	// SupersededDeployments counts the deployments cancelled because a
	// newer change's deployment superseded them (supersededBy): they
	// deployed nothing, and are in no other count. Rollbacks counts the
	// successes of a change deployed before that restored failed ones:
	// their restore times count, but they ship no change.
	Deployments               int      `json:"deployments"`
	FailedDeployments         int      `json:"failed_deployments"`
	RetriedFailures           int      `json:"retried_failures"`
	Redeployments             int      `json:"redeployments"`
	SupersededDeployments     int      `json:"superseded_deployments"`
	Rollbacks                 int      `json:"rollbacks"`
	DeploymentFrequencyPerDay *float64 `json:"deployment_frequency_per_day"`
	ChangeFailureRatePercent  *float64 `json:"change_failure_rate_percent"`
	// ChangeFailureRateLowPercent and ChangeFailureRateHighPercent are
	// the rate's 95 % interval (FailureRateInterval), nil exactly when
	// the rate is: a rate of few deployments is a wide one, and its band
	// can move with one deployment. The band stays the rate's.
	ChangeFailureRateLowPercent  *float64 `json:"change_failure_rate_low_percent"`
	ChangeFailureRateHighPercent *float64 `json:"change_failure_rate_high_percent"`
	TimeToRestoreP50Seconds      *float64 `json:"time_to_restore_p50_seconds"`
	TimeToRestoreP90Seconds      *float64 `json:"time_to_restore_p90_seconds"`
	// UnrestoredFailures counts the failures with no later success.
	UnrestoredFailures int `json:"unrestored_failures"`
	// RestoredFailures counts the restore times the p50 and p90 come
	// from: under DORAFewSamples, a p90 is about the slowest of them.
	RestoredFailures   int      `json:"restored_failures"`
	LeadTimeP50Seconds *float64 `json:"lead_time_p50_seconds"`
	LeadTimeP90Seconds *float64 `json:"lead_time_p90_seconds"`
	// LeadTimeCoveragePercent is the share of successful deployments that
	// carry a usable commit time.
	LeadTimeCoveragePercent *float64  `json:"lead_time_coverage_percent"`
	Bands                   DORABands `json:"bands"`
}

// DORABucket is the four keys of one bucket, [Start, End).
type DORABucket struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Gap, when not 0, says this is a run of Gap empty buckets given as
	// one, as in stats.
	Gap int `json:"gap,omitempty"`
	DORAFigures
}

// DORAOverall is the four keys over the whole period, [Start, End): from
// since (or the first deployment's bucket, leading deployments isolated
// from the rest left out: leftOut) to until (or now). Start
// and End are nil when there is no period: no since and no deployment.
type DORAOverall struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
	// LeftOutEarlyDeployments counts the finished deployments (attempts)
	// the period left out without since: the earliest few, isolated from
	// the rest by a long gap (leftOut). They start before Start and count
	// in no figure. 0 when none.
	LeftOutEarlyDeployments int `json:"left_out_early_deployments"`
	DORAFigures
}

// The rule for the leading deployments a period without since leaves
// out: at most leftOutMost of them, and at most one in leftOutShare of
// the deployments, followed by a gap longer than leftOutMinGap and than
// leftOutGapFactor times the mean gap between the deployments after it.
// A back-dated or stray record a year before a team deploying daily is
// one such; a sparse team's history is not (its mean gap is its usual
// one, and the gap would need to be 20 times it), nor a team's history
// before a pause (more than 3 deployments, or 5 % of them).
const (
	leftOutMost      = 3
	leftOutShare     = 20
	leftOutMinGap    = 30 * 24 * time.Hour
	leftOutGapFactor = 20
)

// DORA is the answer of GET /v1/dora.
type DORA struct {
	Overall DORAOverall  `json:"overall"`
	Buckets []DORABucket `json:"buckets"`
	// Environments lists the environments of the deployments counted
	// (sorted, at most MaxEnvironmentsListed; none for those without
	// one): the keys mean production's, and with several a request with
	// environment= asks for one.
	Environments []string `json:"environments"`
	// LegEnvironments are the matrix legs of the environment asked for
	// (LegOf: "production (eu-west-1)" of production) that hold
	// deployments of the component asked for, sorted, at most
	// MaxLegsListed; empty without an environment. Each leg is an
	// environment of its own, which the keys of the environment do not
	// count: a component deployed only by a matrix job read 0 deployments
	// a day, band low, without a word.
	LegEnvironments []string `json:"leg_environments"`
	// FittedSince is where the period starts when the server chose it, as
	// in Stats: a request without since over more than MaxStatsBuckets
	// buckets with deployments reads the latest that fit. Null otherwise.
	FittedSince *time.Time `json:"fitted_since"`
}

// DORAOptions shape a DORA request.
type DORAOptions struct {
	// Bucket, SprintDays, SprintStart and Location are the calendar, as
	// in stats.
	Bucket      string
	SprintDays  int
	SprintStart time.Time
	Location    *time.Location
	// Since and Until are the request's range (zero: not given); the
	// frequency is per day of it. Until is inclusive, to the microsecond.
	Since, Until time.Time
	// Now ends the period when Until is not given or is later: days
	// without deployments up to now count in the frequency, days to come
	// do not. Zero ends it with the last deployment's bucket.
	Now time.Time
	// FittedSince, when not zero, says Since is the server's choice
	// (FittingSince), not the request's: DORA.FittedSince gives it.
	FittedSince time.Time
}

// Validate checks the options and fills in the calendar's defaults.
func (o *DORAOptions) Validate() error {
	cal := o.calendar()
	if err := cal.Validate(); err != nil {
		return err
	}
	o.Bucket, o.SprintDays, o.SprintStart = cal.Bucket, cal.SprintDays, cal.SprintStart
	if !o.Since.IsZero() && !o.Until.IsZero() && o.Until.Before(o.Since) {
		return Invalid("until", "until (%s) is before since (%s)", FormatSpreadsheetTime(o.Until), FormatSpreadsheetTime(o.Since))
	}
	return nil
}

// calendar is the options as stats options, whose buckets DORA shares.
func (o DORAOptions) calendar() StatsOptions {
	return StatsOptions{Bucket: o.Bucket, SprintDays: o.SprintDays, SprintStart: o.SprintStart, Location: o.Location, Outcome: "all"}
}

// doraBucketAcc gathers one bucket. Its restore and lead times are kept
// as stats keep durations: exactly while few, then in a sketch.
type doraBucketAcc struct {
	deployments, failed, successes, withCommit, unrestored int
	retried, redeployed, superseded, rollbacks             int
	restores, leads                                        samples
}

// doraEnd is a finished deployment as the restore pairing needs it.
type doraEnd struct {
	end    int64 // unix nanoseconds
	bucket int64 // unix seconds of the bucket's start
	// start is the deployment's start (unix nanoseconds), and committed
	// its commit time (0 without one): what tells a cancelled deployment
	// superseded by a newer change from one rolled back (supersededBy).
	start, committed int64
	// lead is a success's lead time in seconds, -1 without a usable
	// commit time.
	lead    float64
	version string
	// revision is the deployment's commit, "" when none was given: two
	// deployments of one version with different commits are two changes
	// (a moving label such as main).
	revision string
	failed   bool
	// cancelled says the deployment ended with a cancel status
	// (cancelStatus): superseded, it deployed nothing.
	cancelled bool
	// merged counts the failures a pending end stands for beyond itself
	// (mergeOldest): 0 for one.
	merged int32
}

// failures is the number of failures e stands for.
func (e doraEnd) failures() int { return 1 + int(e.merged) }

// maxPending bounds the failures a series keeps waiting for a success to
// restore them: a series that only fails would otherwise keep one for
// each, however many. Up to it, every restore time is exact.
const maxPending = 4096

// keptExact is how many of the newest pending failures are never merged.
const keptExact = 256

// mergeOldest about halves pending but its newest keptExact: neighbours
// of one bucket become one at their weighted mean end, standing for all
// of them, as long as they stand for at most twice the failures an end
// stands for on average. The failures an end stands for then stay even,
// so that a percentile moves by no more than half the time such a run of
// failures spans. The newest stay as they are: their restore times are
// the shortest, where a merge would show most.
func mergeOldest(pending []doraEnd) []doraEnd {
	old := len(pending) - keptExact
	total := 0
	for _, e := range pending[:old] {
		total += e.failures()
	}
	most := max(2, 2*total/old)
	out := pending[:0]
	for i := 0; i < old; i++ {
		a := pending[i]
		for i+1 < old && pending[i+1].bucket == a.bucket && a.failures()+pending[i+1].failures() <= most {
			b := pending[i+1]
			wa, wb := float64(a.failures()), float64(b.failures())
			a.end += int64(float64(b.end-a.end) * wb / (wa + wb))
			a.merged += int32(b.failures())
			i++
		}
		out = append(out, a)
	}
	// The newest move down over what the merges freed.
	return append(out, pending[old:]...)
}

// compareEnds orders ends as restores pair them: by time, and at the same
// instant the failure first, so that the success restores it, then the
// attempt that started first. A terminal step sent again with its time
// (a batch imported twice) is an attempt of that step alone, ending at the
// same instant as the deployment it repeats, without its commit: ordered
// by version and revision first, the bare repeat (revision "") was the
// deployment and the real one its redeployment, and the lead time of an
// import sent twice was null. The rest only makes the order total, so
// that pairing as deployments come and pairing at the end count the same
// deployment as the redeploy.
func compareEnds(x, y doraEnd) int {
	return cmp.Or(cmp.Compare(x.end, y.end), -compareBool(x.failed, y.failed), cmp.Compare(x.start, y.start),
		cmp.Compare(x.bucket, y.bucket), cmp.Compare(x.version, y.version), cmp.Compare(x.revision, y.revision),
		cmp.Compare(x.lead, y.lead), cmp.Compare(x.committed, y.committed),
		compareBool(x.cancelled, y.cancelled))
}

// sameChange says whether e and o deploy one change: one version, and one
// commit where both name theirs.
func (e doraEnd) sameChange(o doraEnd) bool {
	return e.version == o.version && (e.revision == "" || o.revision == "" || e.revision == o.revision)
}

type doraSeries struct{ component, environment string }

// keptEnds is how many ends a series keeps before it pairs as it goes.
// Pairing needs the ends in order; deployments come in start order from
// the store, and an end can then be paired once a later deployment has
// started after it. A series whose starts came out of order before that
// is kept whole, as before, and paired at the end.
const keptEnds = 2048

// doraSeriesAcc pairs one series' failures with the successes that
// restore them.
type doraSeriesAcc struct {
	ends       []doraEnd // not yet paired
	maxStart   int64     // unix nanoseconds
	disordered bool      // a start came before an earlier one's
	streaming  bool      // pairing as deployments come
	pending    []doraEnd // failures paired with no success yet
	// deployed is the last change paired that succeeded, until another
	// change fails or succeeds: the same change succeeding again is a
	// redeploy.
	deployed    doraEnd
	hasDeployed bool
	// redeployFailed is the latest failed attempt of deployed (a redeploy
	// that failed), waiting for what comes next: another attempt of the
	// change makes it a retried failure, anything else a redeployment.
	// The change had reached production: it is no change failure.
	redeployFailed    doraEnd
	hasRedeployFailed bool
	// cancelled is a cancelled deployment of a change other than the one
	// deployed, waiting for the end after it to say whether a newer change
	// superseded it (supersededBy) or it failed.
	cancelled    doraEnd
	hasCancelled bool
	// repeats are the cancelled attempts of that change right after it
	// (its terminal step sent again): they go the way it goes.
	repeats []doraEnd
	// recent are the latest changes deployed (successes counted as
	// deployments), at most recentChanges, oldest first: a success of one
	// of them that restores failures is a rollback.
	recent []doraEnd
}

// recentChanges is how many of a series' latest changes a rollback may
// return to: a team rolls back to the change before, or a few before.
const recentChanges = 16

// deployedBefore says whether e deploys one of the recent changes of s:
// the same change, and the same commit time where both give one. A label
// deployed in turn (blue, green) without a revision names a new commit
// each time; its commit time tells a fix of it from a rollback to it.
func (s *doraSeriesAcc) deployedBefore(e doraEnd) bool {
	for _, r := range s.recent {
		if r.sameChange(e) && (r.committed == 0 || e.committed == 0 || r.committed == e.committed) {
			return true
		}
	}
	return false
}

// remember adds e, a change just deployed, to the recent ones of s.
func (s *doraSeriesAcc) remember(e doraEnd) {
	if len(s.recent) == recentChanges {
		s.recent = append(s.recent[:0], s.recent[1:]...)
	}
	s.recent = append(s.recent, doraEnd{version: e.version, revision: e.revision, committed: e.committed})
}

// supersedeWindow is how soon after a cancelled deployment's end the next
// deployment may start and still be the one that superseded it: a CI
// concurrency group cancels the running deploy and starts the new one
// once the old has stopped, seconds later, or minutes on busy runners.
const supersedeWindow = 5 * time.Minute

// cancelStatus reports whether status (folded) cancels a deployment: it
// ended because it was stopped, not because it failed on its own.
func cancelStatus(folded string) bool { return folded == "cancelled" || folded == "canceled" }

// supersededBy says whether the cancelled deployment c was superseded by
// e, the deployment whose end follows c's in its series: e deploys
// another change and started after c did and before c ended, or within
// supersedeWindow after, and is not a rollback (when both give a commit
// time, e's commit is not older than c's; pair also refuses a change
// deployed before). A pipeline that cancels the
// running deploy of a change when a newer one comes (GitHub Actions'
// cancel-in-progress, GitLab's interruptible jobs) deployed nothing with
// it: counted as a failure, each such run was a change failure restored
// in minutes.
func (c doraEnd) supersededBy(e doraEnd) bool {
	switch {
	case c.sameChange(e), e.start <= c.start, e.start > c.end+int64(supersedeWindow):
		return false
	case c.committed != 0 && e.committed != 0 && e.committed < c.committed:
		return false
	}
	return true
}

// settleRedeployFailed counts the failed redeploy of s still waiting: as
// a retry when the next attempt, next, is of the same change, else as a
// redeployment. retry is false when no attempt of the change follows.
func (a *DORAAccumulator) settleRedeployFailed(s *doraSeriesAcc, retry bool) {
	if !s.hasRedeployFailed {
		return
	}
	if acc := a.buckets[s.redeployFailed.bucket]; retry {
		acc.retried++
	} else {
		acc.redeployed++
	}
	s.hasRedeployFailed = false
}

// DORAAccumulator gathers deployments into the four keys. Deployments may
// come in any order; in start order per component and environment, as
// the store reads them, memory stays bounded however many there are.
type DORAAccumulator struct {
	opts        DORAOptions
	cal         StatsOptions
	buckets     map[int64]*doraBucketAcc // by the start's unix seconds
	series      map[doraSeries]*doraSeriesAcc
	first, last time.Time // the earliest and latest start seen
	// earliest are the leftOutMost+1 earliest starts seen (unix
	// nanoseconds, sorted), and finished the count of deployments seen:
	// all leftOut needs.
	earliest []int64
	finished int
	// bucket is the last bucket a deployment fell in, from start up to end.
	bucket struct{ start, end time.Time }
	// environments are those of the deployments counted (series pair
	// their ends and go), at most MaxEnvironmentsListed.
	environments environmentSet
}

// NewDORAAccumulator returns an accumulator for validated options.
func NewDORAAccumulator(opts DORAOptions) *DORAAccumulator {
	return &DORAAccumulator{opts: opts, cal: opts.calendar(),
		buckets: map[int64]*doraBucketAcc{}, series: map[doraSeries]*doraSeriesAcc{}, environments: environmentSet{}}
}

// Add counts a finished deployment.
func (a *DORAAccumulator) Add(d *Deployment) {
	if d.Outcome == OutcomeInProgress || d.FinishedAt == nil {
		return
	}
	if a.first.IsZero() || d.StartedAt.Before(a.first) {
		a.first = d.StartedAt
	}
	a.finished++
	if st := d.StartedAt.UnixNano(); len(a.earliest) <= leftOutMost || st < a.earliest[leftOutMost] {
		i, _ := slices.BinarySearch(a.earliest, st)
		a.earliest = slices.Insert(a.earliest, i, st)
		if len(a.earliest) > leftOutMost+1 {
			a.earliest = a.earliest[:leftOutMost+1]
		}
	}
	a.environments.add(d.Environment)
	if d.StartedAt.After(a.last) {
		a.last = d.StartedAt
	}
	// Deployments come a series at a time in start order, so most fall in
	// the bucket of the one before: the calendar is asked only when not.
	if d.StartedAt.Before(a.bucket.start) || !d.StartedAt.Before(a.bucket.end) {
		start := a.cal.bucketStart(d.StartedAt)
		if a.buckets[start.Unix()] == nil {
			a.buckets[start.Unix()] = &doraBucketAcc{}
		}
		a.bucket.start, a.bucket.end = start, a.cal.nextBucket(start)
	}
	b := a.bucket.start
	failed := d.Outcome == OutcomeFailure
	lead := -1.0
	if c := d.CommittedAt; !failed && c != nil && !c.After(*d.FinishedAt) {
		lead = d.FinishedAt.Sub(*c).Seconds()
	}
	// What the deployment counts as (a change, a retry, a redeploy) needs
	// the one before it in its series: it is counted when paired.
	k := doraSeries{d.Component, d.Environment}
	s := a.series[k]
	if s == nil {
		s = &doraSeriesAcc{}
		a.series[k] = s
	}
	start := d.StartedAt.UnixNano()
	if start < s.maxStart {
		s.disordered = true
	}
	s.maxStart = max(s.maxStart, start)
	var committed int64
	if d.CommittedAt != nil {
		committed = d.CommittedAt.UnixNano()
	}
	cancelled := failed && len(d.Steps) > 0 && cancelStatus(FoldStatus(d.Steps[len(d.Steps)-1].Status))
	s.ends = append(s.ends, doraEnd{end: d.FinishedAt.UnixNano(), bucket: b.Unix(), start: start, committed: committed,
		lead: lead, version: d.Version, revision: d.Revision, failed: failed, cancelled: cancelled})
	switch {
	case s.streaming && len(s.ends) >= 2*keptEnds:
		a.pairSettled(s)
	case !s.streaming && !s.disordered && len(s.ends) > keptEnds:
		s.streaming = true
		a.pairSettled(s)
	}
}

// pairSettled pairs the ends of s that no deployment still to come can
// precede: those before the latest start, since a deployment coming later
// starts no earlier and ends no earlier than it starts. One that comes
// out of order even so is paired where it lands: its restore may then be
// off by the deployments around it.
func (a *DORAAccumulator) pairSettled(s *doraSeriesAcc) {
	slices.SortFunc(s.ends, compareEnds)
	n := 0
	for n < len(s.ends) && s.ends[n].end < s.maxStart {
		n++
	}
	a.pair(s, s.ends[:n])
	s.ends = append(s.ends[:0], s.ends[n:]...)
}

// pair counts ends, sorted and following those already paired, and pairs
// each failure with the next success. A version is one change: a failed
// attempt followed by another attempt of the same version is a retry, and
// the change failed only if no attempt of it succeeded, from its first
// failed attempt's end; once a version has succeeded, its further
// attempts until another version are redeploys, not deployments
// (settleRedeployFailed).
func (a *DORAAccumulator) pair(s *doraSeriesAcc, ends []doraEnd) {
	for _, e := range ends {
		if s.hasCancelled && e.cancelled && s.cancelled.sameChange(e) && len(s.repeats) < maxRepeats {
			s.repeats = append(s.repeats, e)
			continue
		}
		if s.hasCancelled {
			// A change deployed before is a rollback, no newer change: the
			// cancel was a failure it restores, even without commit times.
			if s.cancelled.supersededBy(e) && !s.deployedBefore(e) {
				a.buckets[s.cancelled.bucket].superseded++
				for _, r := range s.repeats {
					a.buckets[r.bucket].superseded++
				}
				s.hasCancelled, s.repeats = false, s.repeats[:0]
			} else {
				a.settleCancelled(s)
			}
		}
		if e.cancelled && !(s.hasDeployed && s.deployed.sameChange(e)) {
			// Superseded or failed: the end after it says (supersededBy).
			s.cancelled, s.hasCancelled = e, true
			continue
		}
		a.pairOne(s, e)
	}
}

// settleCancelled counts the cancelled deployment of s still waiting for
// an end after it: none came, so nothing superseded it, and it failed.
func (a *DORAAccumulator) settleCancelled(s *doraSeriesAcc) {
	if s.hasCancelled {
		s.hasCancelled = false
		a.pairOne(s, s.cancelled)
		for _, r := range s.repeats {
			a.pairOne(s, r)
		}
		s.repeats = s.repeats[:0]
	}
}

// maxRepeats bounds the cancelled attempts of one change a held cancel
// gathers (doraSeriesAcc.repeats); past it, the next is judged alone.
const maxRepeats = 16

// pairOne counts the end e, following those already paired (pair).
func (a *DORAAccumulator) pairOne(s *doraSeriesAcc, e doraEnd) {
	acc := a.buckets[e.bucket]
	if s.hasDeployed && s.deployed.sameChange(e) {
		// Another attempt of the change just deployed: not a
		// deployment, whatever its outcome (a failed one is settled
		// by what follows it).
		a.settleRedeployFailed(s, s.redeployFailed.sameChange(e))
		if e.failed {
			s.redeployFailed, s.hasRedeployFailed = e, true
		} else {
			acc.redeployed++
			if s.deployed.revision == "" {
				// Deployed without its commit, it may have been any:
				// this one says which, so that a later commit is
				// another change, not a redeploy of every commit (nor,
				// in recent, a rollback to every commit).
				s.deployed.revision = e.revision
				if n := len(s.recent); n > 0 && s.recent[n-1].version == e.version && s.recent[n-1].revision == "" {
					s.recent[n-1].revision = e.revision
				}
			}
		}
		return
	}
	a.settleRedeployFailed(s, false)
	if e.failed {
		s.hasDeployed = false
		if n := len(s.pending); n > 0 && s.pending[n-1].sameChange(e) {
			acc.retried++
			if s.pending[n-1].revision == "" {
				// As for deployed: the retry names the change's commit.
				s.pending[n-1].revision = e.revision
			}
			return
		}
		if len(s.pending) >= maxPending {
			s.pending = mergeOldest(s.pending)
		}
		s.pending = append(s.pending, e)
		return
	}
	if n := len(s.pending); n > 0 && s.pending[n-1].sameChange(e) {
		// The newest never merges (mergeOldest), so it is one attempt.
		a.buckets[s.pending[n-1].bucket].retried++
		s.pending = s.pending[:n-1]
	}
	// A change deployed before, back to restore failures: a rollback.
	rollback := len(s.pending) > 0 && s.deployedBefore(e)
	for _, f := range s.pending {
		fa := a.buckets[f.bucket]
		fa.deployments += f.failures()
		fa.failed += f.failures()
		for range f.failures() {
			fa.restores.add(float64(e.end-f.end) / 1e9)
		}
	}
	s.pending = s.pending[:0]
	s.deployed, s.hasDeployed = e, true
	if rollback {
		acc.rollbacks++
		return
	}
	acc.deployments++
	acc.successes++
	if e.lead >= 0 {
		acc.withCommit++
		acc.leads.add(e.lead)
	}
	s.remember(e)
}

// leftOut is how many of the earliest deployments a period without
// since leaves out, and the start of the first one it keeps (zero when
// none is left out): the most k, up to leftOutMost and one in
// leftOutShare of the deployments, such that the gap from the k-th
// earliest start to the next is longer than leftOutMinGap and than
// leftOutGapFactor times the mean gap between the deployments from that
// next one to the latest, and the k-th is in an earlier bucket (one in
// the same bucket moves no figure's period). The mean is that of the
// deployments kept: the few left out cannot make it long, and a pause in
// the history kept only makes it longer, so that it leaves out less.
func (a *DORAAccumulator) leftOut() (int, time.Time) {
	if !a.opts.Since.IsZero() {
		return 0, time.Time{}
	}
	for k := min(leftOutMost, a.finished/leftOutShare, len(a.earliest)-1); k >= 1; k-- {
		prev, next := a.earliest[k-1], a.earliest[k]
		gap := time.Duration(next - prev)
		mean := float64(a.last.UnixNano()-next) / float64(a.finished-1-k)
		if gap <= leftOutMinGap || float64(gap) <= leftOutGapFactor*mean {
			continue
		}
		first := time.Unix(0, next)
		if a.cal.bucketStart(time.Unix(0, prev)).Equal(a.cal.bucketStart(first)) {
			continue
		}
		return k, first
	}
	return 0, time.Time{}
}

// window is the period of the answer, [from, to), and its first and last
// buckets; ok is false when there is none (no since and no deployment).
func (a *DORAAccumulator) window() (from, to, firstB, lastB time.Time, ok bool) {
	o := a.opts
	first := a.first
	if n, kept := a.leftOut(); n > 0 {
		first = kept
	}
	switch {
	case !o.Since.IsZero():
		from = o.Since
	case !first.IsZero():
		from = a.cal.bucketStart(first)
	default:
		return from, to, firstB, lastB, false
	}
	if !first.IsZero() && first.Before(from) {
		from = a.cal.bucketStart(first)
	}
	switch {
	case !o.Until.IsZero():
		to = o.Until.Add(time.Microsecond)
		// Days to come hold no deployment: counted, they would dilute the
		// frequency (until=9999-12-31 would make any team "low") and put
		// the period's end past what a time can be written as.
		if !o.Now.IsZero() && to.After(o.Now) {
			to = o.Now
		}
	case !o.Now.IsZero():
		to = o.Now
	}
	if !a.last.IsZero() && !to.After(a.last) {
		to = a.cal.nextBucket(a.cal.bucketStart(a.last))
	}
	if !to.After(from) {
		to = a.cal.nextBucket(a.cal.bucketStart(from))
	}
	return from, to, a.cal.bucketStart(from), a.cal.bucketStart(to.Add(-time.Microsecond)), true
}

// spans are the buckets of the answer, from the period's first bucket to
// its last, with long runs of empty ones each given as one span (Gap) as
// stats give them, so that one deployment back-dated to 1970 costs a gap,
// not 3,000 weeks; total above MaxStatsBuckets means too many even so.
func (a *DORAAccumulator) spans() (from, to time.Time, spans []bucketSpan, total int, ok bool) {
	from, to, first, last, ok := a.window()
	if !ok {
		return from, to, nil, 0, false
	}
	starts := map[time.Time]*samples{first: nil, last: nil}
	for b := range a.buckets {
		// Those of the deployments left out (leftOut) are not the
		// period's.
		if b >= first.Unix() {
			starts[time.Unix(b, 0).In(a.cal.zone())] = nil
		}
	}
	spans, total = bucketSpans(a.cal, starts)
	return from, to, spans, total, true
}

// CheckSize fails with advice when the period spans more than
// MaxStatsBuckets buckets, runs of empty ones collapsed; call it before
// Result.
func (a *DORAAccumulator) CheckSize() error {
	from, to, _, total, ok := a.spans()
	if !ok || total <= MaxStatsBuckets {
		return nil
	}
	larger, params := a.cal.largerBuckets()
	e := Invalid("bucket", "the range runs from %s to %s: more than %d %s buckets with deployments, the most DORA figures are computed over; narrow the range with since= and until=%s",
		from.In(a.cal.zone()).Format(time.DateOnly), to.In(a.cal.zone()).Format(time.DateOnly), MaxStatsBuckets, a.cal.Bucket, larger)
	e.Params = append([]string{"since", "until"}, params...)
	return e
}

// FittingSince returns where a request that named no since may start
// for CheckSize to accept it, as StatsAccumulator.FittingSince does: the
// start of the oldest of the newest buckets with deployments that fit
// beside the period's last bucket.
func (a *DORAAccumulator) FittingSince() time.Time {
	starts := make([]time.Time, 0, len(a.buckets))
	for b := range a.buckets {
		starts = append(starts, time.Unix(b, 0).In(a.cal.zone()))
	}
	return fittingSince(a.cal, starts)
}

// Result computes the four keys per bucket and overall.
func (a *DORAAccumulator) Result() DORA {
	a.restore()
	out := DORA{Buckets: []DORABucket{}, Environments: a.environments.sorted(), LegEnvironments: []string{}}
	if !a.opts.FittedSince.IsZero() {
		since := a.opts.FittedSince
		out.FittedSince = &since
	}
	from, to, spans, _, ok := a.spans()
	if !ok {
		out.Overall.DORAFigures = figures(&doraBucketAcc{}, 0)
		return out
	}
	var all doraBucketAcc
	var restores, leads []*samples
	for _, sp := range spans {
		acc := a.buckets[sp.start.Unix()]
		if acc == nil || sp.gap > 0 {
			acc = &doraBucketAcc{}
		}
		// Days of the bucket within the period: the current week is
		// measured to now, not to Sunday.
		lo, hi := sp.start, sp.end
		if from.After(lo) {
			lo = from
		}
		if to.Before(hi) {
			hi = to
		}
		days := calendarDays(lo, hi, a.cal.zone())
		out.Buckets = append(out.Buckets, DORABucket{Start: sp.start, End: sp.end, Gap: sp.gap, DORAFigures: figures(acc, days)})
		all.deployments += acc.deployments
		all.failed += acc.failed
		all.successes += acc.successes
		all.withCommit += acc.withCommit
		all.unrestored += acc.unrestored
		all.retried += acc.retried
		all.redeployed += acc.redeployed
		all.superseded += acc.superseded
		all.rollbacks += acc.rollbacks
		restores = append(restores, &acc.restores)
		leads = append(leads, &acc.leads)
	}
	all.restores, all.leads = mergeSamples(restores), mergeSamples(leads)
	// In the calendar's zone, as the buckets: its dates are the team's.
	from, to = from.In(a.cal.zone()), to.In(a.cal.zone())
	leftOut, _ := a.leftOut()
	out.Overall = DORAOverall{Start: &from, End: &to, LeftOutEarlyDeployments: leftOut,
		DORAFigures: figures(&all, calendarDays(from, to, a.cal.zone()))}
	return out
}

// calendarDays counts the days of loc's calendar from lo to hi, a part of
// a day as the part of that day's own length. The frequency is per such
// day: in 24-hour days, the week a clock goes back is 169 hours, 7.04
// days, and a team deploying once every day read 0.994 a day there, and
// over any period across it, band high instead of elite.
func calendarDays(lo, hi time.Time, loc *time.Location) float64 {
	return dayPosition(hi, loc) - dayPosition(lo, loc)
}

// dayPosition is t's place in loc's calendar, in days: the day number of
// its date (days since 1970-01-01) plus the part of that day gone by.
func dayPosition(t time.Time, loc *time.Location) float64 {
	w := wallClock(t, loc)
	date := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	start, end := atWallClock(date, loc), atWallClock(date.AddDate(0, 0, 1), loc)
	part := 0.0
	if length := end.Sub(start); length > 0 {
		part = float64(t.Sub(start)) / float64(length)
	}
	// Whole UTC days: Unix is a multiple of 86,400, so the day number is
	// exact whatever the date.
	return float64(date.Unix()/86400) + part
}

// restore pairs what the series have left, then counts each failure
// never restored in its bucket. It runs once: the series are emptied.
func (a *DORAAccumulator) restore() {
	for k, s := range a.series {
		slices.SortFunc(s.ends, compareEnds)
		a.pair(s, s.ends)
		a.settleCancelled(s)
		a.settleRedeployFailed(s, false)
		for _, f := range s.pending {
			fa := a.buckets[f.bucket]
			fa.deployments += f.failures()
			fa.failed += f.failures()
			fa.unrestored += f.failures()
		}
		delete(a.series, k)
	}
}

func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

// figures computes the keys of acc over days days (0: no period).
func figures(acc *doraBucketAcc, days float64) DORAFigures {
	f := DORAFigures{Deployments: acc.deployments, FailedDeployments: acc.failed, UnrestoredFailures: acc.unrestored,
		RetriedFailures: acc.retried, Redeployments: acc.redeployed, SupersededDeployments: acc.superseded,
		Rollbacks: acc.rollbacks}
	ptr := func(v float64) *float64 { return &v }
	if days > 0 {
		f.DeploymentFrequencyPerDay = ptr(float64(acc.successes) / days)
	}
	if acc.deployments > 0 {
		f.ChangeFailureRatePercent = ptr(float64(acc.failed) / float64(acc.deployments) * 100)
		lo, hi, _ := FailureRateInterval(acc.failed, acc.deployments)
		f.ChangeFailureRateLowPercent, f.ChangeFailureRateHighPercent = ptr(lo), ptr(hi)
	}
	f.RestoredFailures = acc.restores.count()
	if f.RestoredFailures > 0 {
		d := acc.restores.durations()
		f.TimeToRestoreP50Seconds, f.TimeToRestoreP90Seconds = d.P50Seconds, d.P90Seconds
	}
	if acc.leads.count() > 0 {
		d := acc.leads.durations()
		f.LeadTimeP50Seconds, f.LeadTimeP90Seconds = d.P50Seconds, d.P90Seconds
	}
	if acc.successes > 0 {
		f.LeadTimeCoveragePercent = ptr(float64(acc.withCommit) / float64(acc.successes) * 100)
	}
	f.Bands = DORABands{
		DeploymentFrequency: FrequencyBand(f.DeploymentFrequencyPerDay),
		ChangeFailureRate:   FailureRateBand(f.ChangeFailureRatePercent),
		TimeToRestore:       RestoreBand(f.TimeToRestoreP50Seconds),
		LeadTime:            LeadTimeBand(f.LeadTimeP50Seconds),
	}
	return f
}

// DORAFewSamples is the count of restore or lead times under which the
// notes say that a p90 is about the slowest of them: with linear
// interpolation, the p90 of up to 11 lies between the two slowest.
const DORAFewSamples = 10

// DORAFewNote says, for a note under the keys, that a p90 from n restore
// or lead times is about the slowest of them: "fewer than 10, so its p90
// is about the slowest", or "" from none or from DORAFewSamples or more.
func DORAFewNote(n int) string {
	if n <= 0 || n >= DORAFewSamples {
		return ""
	}
	return "fewer than " + strconv.Itoa(DORAFewSamples) + ", so its p90 is about the slowest"
}

// MaxLegsListed is how many matrix legs DORA.LegEnvironments names.
const MaxLegsListed = 20

// LegOf says whether env is a matrix leg of base: base, a space, then the
// leg's values in brackets, as the GitHub hook names the environment of a
// matrix job's leg ("production (eu-west-1)" of production).
func LegOf(env, base string) bool {
	return base != "" && len(env) > len(base)+3 && strings.HasPrefix(env, base+" (") && strings.HasSuffix(env, ")")
}

// DORALegsNote says, for a note under the keys, that the matrix legs of
// the environment asked for (DORA.LegEnvironments) are not counted and
// how to ask for them, or "" for none.
func DORALegsNote(legs []string) string {
	if len(legs) == 0 {
		return ""
	}
	return "matrix legs of this environment are environments of their own, which these keys do not count: " +
		strings.Join(legs, ", ") + "; ask for each by its name"
}

// DORALeftOutNote says, for a note under the keys, that n early
// deployments were left out of a period without since
// (DORAOverall.LeftOutEarlyDeployments): "1 early deployment left out,
// isolated from the rest by a long gap", or "" for none.
func DORALeftOutNote(n int) string {
	switch {
	case n <= 0:
		return ""
	case n == 1:
		return "1 early deployment left out, isolated from the rest by a long gap"
	}
	return strconv.Itoa(n) + " early deployments left out, isolated from the rest by a long gap"
}

// DORANotCounted says what the keys left out of the deployments, for a
// note under them: "2 failed attempts retried with the same version, 1
// redeployment of the version just deployed" (either part left out at 0).
func DORANotCounted(retried, redeployed int) string {
	return DORANotCountedOf(DORAFigures{RetriedFailures: retried, Redeployments: redeployed})
}

// DORANotCountedOf is DORANotCounted of f's retried failures and
// redeployments, with its superseded deployments and rollbacks: "…, 3
// cancelled deployments superseded by a newer change, 1 rollback to a
// change deployed before" ("" when f has none of them).
func DORANotCountedOf(f DORAFigures) string {
	retried, redeployed, superseded := f.RetriedFailures, f.Redeployments, f.SupersededDeployments
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + many
	}
	var parts []string
	if retried > 0 {
		parts = append(parts, plural(retried, "failed attempt", "failed attempts")+" retried with the same version")
	}
	if redeployed > 0 {
		parts = append(parts, plural(redeployed, "redeployment", "redeployments")+" of the version just deployed")
	}
	if superseded > 0 {
		parts = append(parts, plural(superseded, "cancelled deployment", "cancelled deployments")+" superseded by a newer change")
	}
	if f.Rollbacks > 0 {
		parts = append(parts, plural(f.Rollbacks, "rollback", "rollbacks")+" to a change deployed before")
	}
	return strings.Join(parts, ", ")
}

// FrequencyBand is the band of a deployment frequency per day.
func FrequencyBand(perDay *float64) DORABand {
	return bandAtLeast(perDay, DORAFrequencyElite, DORAFrequencyHigh, DORAFrequencyMedium)
}

// FailureRateBand is the band of a change failure rate in percent.
func FailureRateBand(percent *float64) DORABand {
	if percent == nil {
		return ""
	}
	neg := -*percent
	return bandAtLeast(&neg, -DORAFailureRateElite, -DORAFailureRateHigh, -DORAFailureRateMedium)
}

// RestoreBand is the band of a median time to restore in seconds.
func RestoreBand(seconds *float64) DORABand {
	return bandUnder(seconds, DORARestoreElite, DORARestoreHigh, DORARestoreMedium)
}

// LeadTimeBand is the band of a median lead time in seconds.
func LeadTimeBand(seconds *float64) DORABand {
	return bandUnder(seconds, DORALeadTimeElite, DORALeadTimeHigh, DORALeadTimeMedium)
}

func bandAtLeast(v *float64, elite, high, medium float64) DORABand {
	switch {
	case v == nil:
		return ""
	case *v >= elite:
		return BandElite
	case *v >= high:
		return BandHigh
	case *v >= medium:
		return BandMedium
	}
	return BandLow
}

func bandUnder(v *float64, elite, high, medium float64) DORABand {
	switch {
	case v == nil:
		return ""
	case *v < elite:
		return BandElite
	case *v < high:
		return BandHigh
	case *v < medium:
		return BandMedium
	}
	return BandLow
}
