package server

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// The page's DORA panel: the four keys over the range, each with its band
// and a sparkline over the buckets, from the same pass as the stats.

// doraRow is one key of the panel.
type doraRow struct {
	Key   string // deployment_frequency, … as in the API's bands
	Name  string
	Value string // "2.5 a week", "44 % (19–73; 4 of 9)", "p50 1h00m · p90 3d05h", or "–"
	Band  string // elite, high, medium, low, or ""
	Path  string // the sparkline, in the step sparklines' viewBox
	Text  string // the sparkline in words, for its title and screen readers
}

// doraPanel is the panel's view.
type doraPanel struct {
	Rows []doraRow
	Note string
}

// mixed lists the environments the range counts together when the view
// picks none and there are several: the note says so first, since DORA's
// keys are production's, and staging deploying more often and failing
// more makes them its own.
func newDORAPanel(d model.DORA, bucket string, mixed ...string) doraPanel {
	all := d.Overall
	series := func(pick func(model.DORAFigures) *float64) []*float64 {
		vs := make([]*float64, len(d.Buckets))
		for i, b := range d.Buckets {
			vs[i] = pick(b.DORAFigures)
		}
		return vs
	}
	dash := "–"
	freq, cfr := dash, dash
	successes := all.Deployments - all.FailedDeployments
	if v := all.DeploymentFrequencyPerDay; v != nil {
		freq = model.FrequencyPhrase(*v)
	}
	if v := all.ChangeFailureRatePercent; v != nil {
		// One decimal, as stepsctl dora: a rate of 5.4 % is not "5 %" in
		// the band above 5 %.
		cfr = fmt.Sprintf("%.1f %% (%d of %d)", model.PrintRound(*v, 1), all.FailedDeployments, all.Deployments)
		// The interval, so that "17 %, low" of 6 deployments is not read
		// as the team's band: 3–56 % is any band.
		if lo, hi := all.ChangeFailureRateLowPercent, all.ChangeFailureRateHighPercent; lo != nil && hi != nil {
			cfr = fmt.Sprintf("%.1f %% (%.1f–%.1f; %d of %d)", model.PrintRound(*v, 1), model.PrintRound(*lo, 1), model.PrintRound(*hi, 1),
				all.FailedDeployments, all.Deployments)
		}
	}
	pair := func(p50, p90 *float64) string {
		if p50 == nil {
			return dash
		}
		return "p50 " + model.HumanDuration(*p50) + " · p90 " + model.HumanDuration(*p90)
	}
	keys := []struct {
		key, name string
		value     string
		band      model.DORABand
		values    []*float64
		word      func(float64) string
	}{
		{"deployment_frequency", "Deployment frequency", freq, all.Bands.DeploymentFrequency,
			series(func(f model.DORAFigures) *float64 { return f.DeploymentFrequencyPerDay }), model.FrequencyPhrase},
		{"change_failure_rate", "Change failure rate", cfr, all.Bands.ChangeFailureRate,
			series(func(f model.DORAFigures) *float64 { return f.ChangeFailureRatePercent }),
			func(v float64) string { return fmt.Sprintf("%.0f %%", model.PrintRound(v, 0)) }},
		{"time_to_restore", "Time to restore", pair(all.TimeToRestoreP50Seconds, all.TimeToRestoreP90Seconds), all.Bands.TimeToRestore,
			series(func(f model.DORAFigures) *float64 { return f.TimeToRestoreP50Seconds }), model.HumanDuration},
		{"lead_time", "Lead time for changes", pair(all.LeadTimeP50Seconds, all.LeadTimeP90Seconds), all.Bands.LeadTime,
			series(func(f model.DORAFigures) *float64 { return f.LeadTimeP50Seconds }), model.HumanDuration},
	}
	var p doraPanel
	for _, k := range keys {
		path, first, last := doraSpark(k.values)
		text := k.name + " per " + bucket + ": no figure"
		if first != nil {
			text = fmt.Sprintf("%s per %s: from %s to %s", k.name, bucket, k.word(*first), k.word(*last))
		}
		p.Rows = append(p.Rows, doraRow{Key: k.key, Name: k.name, Value: k.value, Band: string(k.band), Path: path, Text: text})
	}
	var notes []string
	if len(mixed) > 1 {
		names := make([]string, len(mixed))
		for i, e := range mixed {
			names[i] = cmp.Or(e, "no environment")
		}
		notes = append(notes, "every environment counts here ("+strings.Join(names, ", ")+"): the keys are production's, pick it under Environment")
	}
	// How many restore and lead times the percentiles come from: a p90
	// of 8 reads as precise, yet is about the slowest of them.
	if n := all.RestoredFailures; n > 0 {
		note := "time to restore from " + plural(n, "restored failure")
		if few := model.DORAFewNote(n); few != "" {
			note += " (" + few + ")"
		}
		notes = append(notes, note)
	}
	switch n := all.UnrestoredFailures; n {
	case 0:
	case 1:
		notes = append(notes, "1 failure not yet restored")
	default:
		notes = append(notes, fmt.Sprintf("%d failures not yet restored", n))
	}
	if not := model.DORANotCountedOf(all.DORAFigures); not != "" {
		notes = append(notes, "not deployments: "+not)
	}
	if legs := model.DORALegsNote(d.LegEnvironments); legs != "" {
		notes = append(notes, legs)
	}
	if left := model.DORALeftOutNote(all.LeftOutEarlyDeployments); left != "" {
		notes = append(notes, left+" (set Since to count them)")
	}
	if spread := model.FailureRateBandSpread(all.DORAFigures); spread != "" {
		notes = append(notes, spread)
	}
	if v := all.LeadTimeCoveragePercent; v != nil {
		deployments := "successful deployments"
		if successes == 1 {
			deployments = "successful deployment"
		}
		with := "those with a commit time"
		// Counted back from the coverage, as stepsctl dora counts them.
		if n := int(*v/100*float64(successes) + 0.5); model.DORAFewNote(n) != "" {
			with += fmt.Sprintf(": %d, %s", n, model.DORAFewNote(n))
		}
		notes = append(notes, fmt.Sprintf("lead time from %.0f %% of %d %s (%s)", model.PrintRound(*v, 0), successes, deployments, with))
	}
	notes = append(notes, "bands by the DORA 2023 State of DevOps thresholds; restore and lead time by their p50")
	if all.ChangeFailureRateLowPercent != nil {
		notes = append(notes, "the failure rate's range is its 95 % interval: its band is the rate's, which one deployment can move when there are few")
	}
	p.Note = strings.ToUpper(notes[0][:1]) + strings.Join(notes, "; ")[1:] + "."
	return p
}

// doraSpark draws values (0 or more) as a sparkline from 0 to the highest,
// a gap where one is nil; first and last are the first and last values
// drawn. From the lowest instead, 0.74 then 0.69 deployments a day drew
// as a fall to the floor.
func doraSpark(values []*float64) (path string, first, last *float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v != nil {
			lo, hi = min(lo, *v), max(hi, *v)
			if first == nil {
				first = v
			}
			last = v
		}
	}
	if first == nil {
		return "", nil, nil
	}
	lo = min(lo, 0)
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	var p pathBuilder
	n := float64(len(values))
	for i, v := range values {
		if v == nil {
			p.gap()
			continue
		}
		x, y := sparkW*(float64(i)+0.5)/n, 2+(sparkH-4)*(hi-*v)/(hi-lo)
		alone := (i == 0 || values[i-1] == nil) && (i == len(values)-1 || values[i+1] == nil)
		if alone {
			// A point between gaps would draw nothing: a short dash.
			p.to(x-1.5, y)
			p.to(x+1.5, y)
			p.gap()
			continue
		}
		p.to(x, y)
	}
	return p.String(), first, last
}
