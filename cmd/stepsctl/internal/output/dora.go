package output

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// WriteDORA prints the four keys for a person: one row per key with its
// value over the whole period, its band and a sparkline of it over the
// buckets of size bucket (oldest left; a space where it cannot be
// computed), then what
// the figures rest on:
//
//	KEY                    VALUE                  BAND   BY WEEK
//	deployment frequency   2.5 a week (5 in 14 days)  high   █▁
//	change failure rate    44.4 % (18.9–73.3; 4 of 9)  low    ▁█
//	time to restore        p50 1h00m, p90 3d05h   high   █
//	lead time for changes  p50 1h30m, p90 19h30m  elite  █
//
// mixed lists the server's environments when the request named none and
// there are several: a note then says that all count, since staging
// deploying more often and failing more makes the keys its own. (They are
// the server's, not the component's: /v1/values has no filter.)
func WriteDORA(w io.Writer, bucket string, d model.DORA, mixed ...string) error {
	var buf bytes.Buffer
	all := d.Overall
	if all.Start == nil || (all.Deployments == 0 && len(d.Buckets) == 0) {
		fmt.Fprintln(&buf, "No finished deployments in this range.")
		writeLegsNote(&buf, d)
		_, err := w.Write(buf.Bytes())
		return err
	}
	days := periodDays(*all.Start, *all.End)
	fmt.Fprintf(&buf, "DORA four keys, %s to %s: %s\n\n", all.Start.Format(time.DateOnly),
		all.End.Add(-time.Microsecond).Format(time.DateOnly), countOf(all.Deployments, "finished deployment"))

	// A sparkline of a thousand days would wrap every line: the latest
	// doraSparkMax buckets are drawn, and the header says so.
	shown := d.Buckets[max(0, len(d.Buckets)-doraSparkMax):]
	series := func(pick func(model.DORAFigures) *float64) string {
		values := make([]*float64, len(shown))
		for i, b := range shown {
			values[i] = pick(b.DORAFigures)
		}
		return sparklineFromZero(values)
	}
	band := func(b model.DORABand) string {
		if b == "" {
			return "-"
		}
		return string(b)
	}
	successes := all.Deployments - all.FailedDeployments
	freq := "-"
	if v := all.DeploymentFrequencyPerDay; v != nil {
		freq = fmt.Sprintf("%s (%d in %s)", model.FrequencyPhrase(*v), successes, dayCount(days))
	}
	cfr := "-"
	if v := all.ChangeFailureRatePercent; v != nil {
		// The interval first: 1 failure in 6 is 3.0–56.4 %, any band.
		cfr = fmt.Sprintf("%.1f %% (%d of %d)", *v, all.FailedDeployments, all.Deployments)
		if lo, hi := all.ChangeFailureRateLowPercent, all.ChangeFailureRateHighPercent; lo != nil && hi != nil {
			cfr = fmt.Sprintf("%.1f %% (%.1f–%.1f; %d of %d)", *v, *lo, *hi, all.FailedDeployments, all.Deployments)
		}
	}
	pair := func(p50, p90 *float64) string {
		if p50 == nil {
			return "-"
		}
		return "p50 " + seconds(p50) + ", p90 " + seconds(p90)
	}
	rows := [][]string{
		{"deployment frequency", freq, band(all.Bands.DeploymentFrequency),
			series(func(f model.DORAFigures) *float64 { return f.DeploymentFrequencyPerDay })},
		{"change failure rate", cfr, band(all.Bands.ChangeFailureRate),
			series(func(f model.DORAFigures) *float64 { return f.ChangeFailureRatePercent })},
		{"time to restore", pair(all.TimeToRestoreP50Seconds, all.TimeToRestoreP90Seconds), band(all.Bands.TimeToRestore),
			series(func(f model.DORAFigures) *float64 { return f.TimeToRestoreP50Seconds })},
		{"lead time for changes", pair(all.LeadTimeP50Seconds, all.LeadTimeP90Seconds), band(all.Bands.LeadTime),
			series(func(f model.DORAFigures) *float64 { return f.LeadTimeP50Seconds })},
	}
	by := "BY " + strings.ToUpper(bucket)
	if len(shown) < len(d.Buckets) {
		by += fmt.Sprintf(", LAST %d", len(shown))
	}
	var table bytes.Buffer
	if err := renderTable(&table, []string{"KEY", "VALUE", "BAND", by}, rows); err != nil {
		return err
	}
	for line := range strings.Lines(table.String()) {
		buf.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	buf.WriteByte('\n')
	// How many restore and lead times the percentiles come from: a p90
	// of 8 reads as precise, yet is about the slowest of them.
	var restore []string
	if n := all.RestoredFailures; n > 0 {
		restore = append(restore, "Time to restore from "+countOf(n, "restored failure")+fewNote(n))
	}
	switch n := all.UnrestoredFailures; n {
	case 0:
	case 1:
		restore = append(restore, "1 failure not yet restored")
	default:
		restore = append(restore, fmt.Sprintf("%d failures not yet restored", n))
	}
	var notes []string
	if len(restore) > 0 {
		notes = append(notes, strings.Join(restore, "; ")+".")
	}
	if not := model.DORANotCountedOf(all.DORAFigures); not != "" {
		notes = append(notes, fmt.Sprintf("Not deployments: %s.", not))
	}
	if d.FittedSince != nil {
		notes = append(notes, fmt.Sprintf("The period starts on %s: the history holds more than %d buckets with deployments, the most the keys are computed over, and these are the latest; ask with --since to reach older ones.",
			d.FittedSince.Format(time.DateOnly), model.MaxStatsBuckets))
	}
	if left := model.DORALeftOutNote(all.LeftOutEarlyDeployments); left != "" {
		notes = append(notes, strings.ToUpper(left[:1])+left[1:]+": ask with --since to count them.")
	}
	if spread := model.FailureRateBandSpread(all.DORAFigures); spread != "" {
		notes = append(notes, strings.ToUpper(spread[:1])+spread[1:]+".")
	}
	if v := all.LeadTimeCoveragePercent; v != nil {
		with := int(*v/100*float64(successes) + 0.5)
		notes = append(notes, fmt.Sprintf("Lead time from %d of %d successful deployments (%.0f %%) carrying a commit time%s.",
			with, successes, *v, fewNote(with)))
	}
	if len(notes) > 0 {
		fmt.Fprintln(&buf, strings.Join(notes, " "))
	}
	if len(mixed) > 1 {
		fmt.Fprintf(&buf, "No --env: every environment counts (these deployments ran in %s); the keys are production's: ask with --env %s.\n",
			EnvironmentList(mixed), ProductionOf(mixed))
	}
	writeLegsNote(&buf, d)
	fmt.Fprintln(&buf, "Bands: elite, high, medium, low by the DORA 2023 State of DevOps thresholds (stepsctl dora --help).")
	if all.ChangeFailureRateLowPercent != nil {
		fmt.Fprintln(&buf, "The failure rate's range is its 95 % interval; the band is the rate's, which one deployment can move when there are few.")
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeLegsNote writes model.DORALegsNote of d's matrix legs as a line,
// with the flag to ask for one: a component deployed by a matrix job
// records its deployments in the legs alone, and its environment's keys
// count none of them.
func writeLegsNote(buf *bytes.Buffer, d model.DORA) {
	legs := d.LegEnvironments
	if len(legs) == 0 {
		return
	}
	note := model.DORALegsNote(legs)
	fmt.Fprintf(buf, "%s%s (--env '%s').\n", strings.ToUpper(note[:1]), note[1:], strings.ReplaceAll(legs[0], "'", `'\''`))
}

// fewNote is model.DORAFewNote in parentheses after a space, or "".
func fewNote(n int) string {
	if note := model.DORAFewNote(n); note != "" {
		return " (" + note + ")"
	}
	return ""
}

// doraSparkMax is the most buckets a sparkline of WriteDORA draws.
const doraSparkMax = 60

// periodDays is the length of the period from start to end in days of
// the calendar the server counted the frequency in: a period from
// midnight to midnight (as the server writes them, with the zone's
// offset) is its number of dates, so three weeks across a change of
// clocks are "21 days", as the frequency counts them, not 21.0 of 24
// hours. A period ending now is measured in 24-hour days.
func periodDays(start, end time.Time) float64 {
	date := func(t time.Time) (time.Time, bool) {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC),
			t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
	}
	from, fromMidnight := date(start)
	to, toMidnight := date(end)
	if fromMidnight && toMidnight {
		return math.Round(to.Sub(from).Hours() / 24)
	}
	return end.Sub(start).Hours() / 24
}

// dayCount says a number of days: "14 days", "9.5 days", "1 day".
func dayCount(days float64) string {
	switch {
	case days == 1:
		return "1 day"
	case days == math.Trunc(days):
		return fmt.Sprintf("%.0f days", days)
	}
	return fmt.Sprintf("%.1f days", days)
}

// MixedEnvironmentsMax is the most environments a note names; one more
// asked for says there are others.
const MixedEnvironmentsMax = 5

// ProductionOf is the environment a note suggests asking for: production,
// or prod, when among envs, else the first.
func ProductionOf(envs []string) string {
	for _, name := range []string{"production", "prod"} {
		if slices.Contains(envs, name) {
			return name
		}
	}
	return envs[0]
}

// EnvironmentList names environments for a note: "production, staging",
// and "…" past MixedEnvironmentsMax.
func EnvironmentList(envs []string) string {
	if len(envs) > MixedEnvironmentsMax {
		return strings.Join(envs[:MixedEnvironmentsMax], ", ") + ", …"
	}
	return strings.Join(envs, ", ")
}
