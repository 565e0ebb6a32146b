package model

import (
	"math"
	"slices"
	"time"
)

// How much history an ETA is read from: the latest ETAHistory successful
// deployments of the same component and environment started within
// ETALookback that are not outliers, of which at least ETAMinHistory went
// through the step the running deployment is in. Fewer, and a median says
// little: no ETA. The store reads at most ETAScan deployments to find
// them, so that a run of failures costs a bounded read too; the successes
// among those are judged by the outlier rule of the stats (markOutliers),
// so that a burst of test deploys or a deploy stuck for hours is left out
// rather than taking the place of a real deployment in the median.
const (
	ETAHistory    = 20
	ETAMinHistory = 5
	ETALookback   = 90 * 24 * time.Hour
	ETAScan       = 5 * ETAHistory
)

// ETAGroup is what the history of an ETA is shared by: deployments of one
// component to one environment.
type ETAGroup struct {
	Component   string
	Environment string
}

// Group returns the ETA group d belongs to.
func (d *Deployment) Group() ETAGroup {
	return ETAGroup{Component: d.Component, Environment: d.Environment}
}

// ETA is when a deployment in progress is expected to finish.
type ETA struct {
	// ExpectedDurationSeconds is the whole deployment's expected duration,
	// from its first step.
	ExpectedDurationSeconds float64
	ExpectedFinishAt        time.Time
	// Seconds is how long from now until ExpectedFinishAt, never negative.
	Seconds float64
	// Samples is how many past deployments the estimate is the median of.
	Samples int
	// Overdue says the current phase has run past its usual length
	// (median(remaining) − median(rest)): the deploy is late, whichever
	// phase it is in. In the last phase Seconds is then 0; before it,
	// Seconds is the later steps' median, and the finish moves with the
	// clock.
	Overdue bool
}

// ETAPast returns the past deployments an ETA of a deployment of g is
// read from: of history (newest first; other groups and outcomes are
// skipped), the first ETAScan successful deployments of g, less those the
// outlier rule of the stats marks as junk (docs/analysis.md, "Outliers":
// under a tenth or over ten times the median of their neighbours), at
// most ETAHistory of them, newest first. A burst of test deploys or a
// deploy stuck for hours would otherwise take the place of real ones in
// the median: ten one-second deploys among the latest twenty put it at a
// few seconds.
func ETAPast(history []*Deployment, g ETAGroup) []*Deployment {
	var succeeded []*Deployment
	for _, h := range history {
		if len(succeeded) == ETAScan {
			break
		}
		if h.Outcome == OutcomeSuccess && h.FinishedAt != nil && h.Component == g.Component && h.Environment == g.Environment {
			succeeded = append(succeeded, h)
		}
	}
	junk := etaOutliers(succeeded)
	past := make([]*Deployment, 0, ETAHistory)
	for j, h := range succeeded {
		if len(past) == ETAHistory {
			break
		}
		if !junk[j] {
			past = append(past, h)
		}
	}
	return past
}

// EstimateETA estimates when d, in progress, will finish, from history:
// recent successful deployments of d's component and environment, newest
// first, of which ETAPast keeps the ones that count. ok is false when d is
// not in progress or fewer than ETAMinHistory of them went through the
// step d is in now.
//
// The rule (docs/api.md, "ETA"): d is in the n-th phase with status S
// (n counts the phases of d with that status, for a step retried in the
// same deployment). For each past deployment with an n-th phase S,
// remaining = its end − the start of that phase, and rest = its end − the
// end of that phase (the later phases alone). Then, with inPhase how long
// d's current phase has run by now,
//
//	eta = max(median(remaining) − inPhase, median(rest), 0)
//	expected_finish_at = now + eta
//	expected_duration  = (now − d's start) + eta
//
// While the current phase runs no longer than usual, expected_finish_at
// is the current phase's start + median(remaining), fixed as time passes.
// Once it overruns, the finish is never put in the past: the deployment
// still has its later steps ahead, so eta stays at their median and the
// finish moves with the clock. In a wait for a person (waitsForPerson),
// only the past deployments whose wait lasted at least inPhase count: the
// ETA follows the waits as long as this one, and is none once fewer than
// ETAMinHistory waited that long.
func EstimateETA(d *Deployment, history []*Deployment, now time.Time) (ETA, bool) {
	return EstimateETAFrom(d, ETAPast(history, d.Group()), now)
}

// EstimateETAFrom is EstimateETA from past as ETAPast returns it for d's
// group: the judging done once for all the running deployments of a
// group.
func EstimateETAFrom(d *Deployment, past []*Deployment, now time.Time) (ETA, bool) {
	if d.Outcome != OutcomeInProgress || len(d.Steps) == 0 {
		return ETA{}, false
	}
	current := d.Steps[len(d.Steps)-1]
	n := 0
	for _, p := range d.Steps {
		if p.Status == current.Status {
			n++
		}
	}
	inPhase := max(0, Seconds(now.Sub(current.Time)))
	wait := waitsForPerson(current.Status)
	remaining := make([]float64, 0, len(past))
	rest := make([]float64, 0, len(past))
	for _, h := range past {
		i := nthPhase(h, current.Status, n)
		if i < 0 || i == len(h.Steps)-1 {
			continue
		}
		if wait && Seconds(h.Steps[i+1].Time.Sub(h.Steps[i].Time)) < inPhase {
			// A wait that ended sooner than this one has lasted says
			// nothing of when this one ends.
			continue
		}
		end := *h.FinishedAt
		remaining = append(remaining, Seconds(end.Sub(h.Steps[i].Time)))
		rest = append(rest, Seconds(end.Sub(h.Steps[i+1].Time)))
	}
	if len(remaining) < ETAMinHistory {
		return ETA{}, false
	}
	left, after := median(remaining)-inPhase, median(rest)
	eta := roundMicro(max(left, after, 0))
	elapsed := max(0, Seconds(now.Sub(d.StartedAt)))
	return ETA{
		ExpectedDurationSeconds: roundMicro(elapsed + eta),
		ExpectedFinishAt:        TruncateTime(now).Add(time.Duration(math.Round(eta*1e6)) * time.Microsecond),
		Seconds:                 eta,
		Samples:                 len(remaining),
		Overdue:                 eta <= 0 || left < after,
	}, true
}

// waitsForPerson says whether a phase with status is a wait for a person
// to let the deploy go on: GitLab's wait for a manual job (manual, as the
// hook records it) or a GitHub deployment waiting for its environment's
// reviewers (waiting). How long a person takes is no step's usual time:
// past waits that ended sooner than the current one has lasted are left
// out of its ETA, which is then the median of the waits that lasted as
// long. Read like any phase, the ETA of a wait past the median of the
// waits fell to the later steps' alone, and a deploy waiting for an hour
// read a finish 51 minutes too early, before the actual one 91 % of the
// time (docs/analysis.md, "A wait for a person").
func waitsForPerson(status string) bool {
	f := FoldStatus(status)
	return f == "manual" || f == "waiting"
}

// etaOutliers says which of past (newest first, one series) are outliers
// by the stats' rule (markOutliers), judged among past alone: the
// successes the ETA may read are all the neighbours they have.
func etaOutliers(past []*Deployment) []bool {
	recs := make([]depRecord, len(past))
	for j, h := range past {
		// markOutliers wants time order: oldest first.
		recs[len(past)-1-j].duration = Seconds(h.FinishedAt.Sub(h.StartedAt))
	}
	markOutliers(recs)
	junk := make([]bool, len(past))
	for j := range past {
		junk[j] = recs[len(past)-1-j].outlier
	}
	return junk
}

// nthPhase returns the index of d's n-th phase (from 1) with status, or -1.
func nthPhase(d *Deployment, status string, n int) int {
	for i, p := range d.Steps {
		if p.Status == status {
			if n--; n == 0 {
				return i
			}
		}
	}
	return -1
}

// ShownETA is the time left to show a person, or nil: only a deployment
// in progress and not stuck has one. A stuck deployment keeps its ETA
// fields in the API, but its later steps' median ("ETA 2m28s" after days
// of silence) is no finish to wait for.
func (d *Deployment) ShownETA() *float64 {
	if d.Outcome != OutcomeInProgress || d.Stuck {
		return nil
	}
	return d.ETASeconds
}

// ETAOverdue is how a late deployment's ETA is shown to a person: the
// server gives 0 once a deployment's last phase has run past its usual
// length (it never puts the finish in the past), and "ETA 0.0s" read as
// done any moment for a deploy half an hour late.
const ETAOverdue = "overdue"

// ETAWords is the time left for a person, "1m45s", or ETAOverdue.
func ETAWords(eta float64) string {
	if eta <= 0 {
		return ETAOverdue
	}
	return HumanDuration(eta)
}

// ETAPhrase is ETAWords in a sentence: "ETA 1m45s", or "overdue".
func ETAPhrase(eta float64) string {
	if eta <= 0 {
		return ETAOverdue
	}
	return "ETA " + HumanDuration(eta)
}

// ETAWordsLate is ETAWords of a deployment that may be overdue before its
// last phase: "overdue, 40s" (its later steps' median still ahead).
// Shown as "40s" alone, a deploy 5 minutes into a step that takes 2 read
// as nearly done and on time.
func ETAWordsLate(eta float64, overdue bool) string {
	if overdue && eta > 0 {
		return ETAOverdue + ", " + HumanDuration(eta)
	}
	return ETAWords(eta)
}

// ETAPhraseLate is ETAPhrase of a deployment that may be overdue before
// its last phase: "overdue, ETA 40s".
func ETAPhraseLate(eta float64, overdue bool) string {
	if overdue && eta > 0 {
		return ETAOverdue + ", ETA " + HumanDuration(eta)
	}
	return ETAPhrase(eta)
}

// SetETA fills d's ETA fields from past as ETAPast returns it for d's
// group (see EstimateETAFrom), or clears them when there is none.
func (d *Deployment) SetETA(past []*Deployment, now time.Time) {
	d.ExpectedDurationSeconds, d.ExpectedFinishAt, d.ETASeconds, d.Overdue = nil, nil, nil, false
	e, ok := EstimateETAFrom(d, past, now)
	if !ok {
		return
	}
	d.Overdue = e.Overdue
	d.ExpectedDurationSeconds = &e.ExpectedDurationSeconds
	d.ExpectedFinishAt = &e.ExpectedFinishAt
	d.ETASeconds = &e.Seconds
}

// SortNewestFirst orders deployments as EstimateETA wants its history.
func SortNewestFirst(ds []*Deployment) {
	slices.SortFunc(ds, func(a, b *Deployment) int { return b.Key().Compare(a.Key()) })
}
