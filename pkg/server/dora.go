package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// doraParams are the parameters GET /v1/dora accepts. Version and owner
// are left out on purpose: the four keys describe how a component reaches
// an environment, and a restore is the next success whoever ran it.
var doraParams = []string{"component", "environment", "since", "start_datetime", "until", "end_datetime",
	"bucket", "sprint_days", "sprint_start", "tz", "format"}

// handleDORA serves GET /v1/dora: the DORA four keys per bucket and
// overall, with their bands, in one pass over the deployments.
func (s *Server) handleDORA(w http.ResponseWriter, r *http.Request) {
	p, f, format, zone, err := deploymentQuery(r, doraParams, s.location)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The calendar is read exactly as stats read it: the same buckets,
	// the same sprints for the same request.
	cal, err := statsOptions(p, s.sprintDefaults(zone))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts := model.DORAOptions{Bucket: cal.Bucket, SprintDays: cal.SprintDays, SprintStart: cal.SprintStart, Location: cal.Location,
		Since: f.Since, Until: f.Until, Now: model.TruncateTime(s.now())}
	if err := opts.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The period ends now at the latest, so one that starts later has no
	// day to count deployments per. (The page refuses it too.)
	if opts.Since.After(opts.Now) {
		s.writeError(w, r, model.Invalid("since", "since (%s) is after now (%s): the four keys are over a period that ends now at the latest",
			model.FormatSpreadsheetTime(opts.Since), model.FormatSpreadsheetTime(opts.Now)))
		return
	}
	acc, err := s.doraOf(r.Context(), f, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dora := acc.Result()
	if dora.LegEnvironments, err = s.legsOf(r.Context(), f); err != nil {
		s.writeError(w, r, err)
		return
	}
	if format == formatCSV {
		s.writeDORACSV(w, r, dora)
		return
	}
	s.writeJSON(w, r, http.StatusOK, dora)
}

// doraOf reads the four keys of f's deployments (readLatestThatFit).
func (s *Server) doraOf(ctx context.Context, f model.Filter, opts model.DORAOptions) (*model.DORAAccumulator, error) {
	return readLatestThatFit(ctx, s, f, opts.Now, func(fitted time.Time) *model.DORAAccumulator {
		if !fitted.IsZero() {
			opts.Since, opts.FittedSince = fitted, fitted
		}
		return model.NewDORAAccumulator(opts)
	})
}

// legsOf lists the matrix legs of f's environment (model.LegOf) that
// hold deployments of f's component, for DORA.LegEnvironments: each is a
// seek for the names (Values) and, with a component, a page of one
// deployment a leg.
func (s *Server) legsOf(ctx context.Context, f model.Filter) ([]string, error) {
	legs := []string{}
	if f.Environment == "" {
		return legs, nil
	}
	names, err := s.store.Values(ctx, model.ValuesQuery{Field: "environment", Prefix: f.Environment + " (", Limit: model.MaxLegsListed})
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if !model.LegOf(name, f.Environment) {
			continue
		}
		if f.Component != "" {
			found := false
			one := model.DeploymentFilter{Filter: model.Filter{Component: f.Component, Environment: name, Limit: 1}}
			if _, err := s.store.ListDeployments(ctx, one, s.rules, s.now(), func(*model.Deployment) error {
				found = true
				return nil
			}); err != nil {
				return nil, err
			}
			if !found {
				continue
			}
		}
		legs = append(legs, name)
	}
	return legs, nil
}

// DORACSVHeader is the header row of the four keys as CSV: the JSON's
// fields, one row per bucket (kind bucket) and a last row for the whole
// period (kind overall). Null figures are empty cells. Columns added later
// come last, so that a reader by position keeps working.
var DORACSVHeader = []string{"kind", "start", "end", "deployments", "failed_deployments",
	"deployment_frequency_per_day", "change_failure_rate_percent",
	"time_to_restore_p50_seconds", "time_to_restore_p90_seconds", "unrestored_failures",
	"lead_time_p50_seconds", "lead_time_p90_seconds", "lead_time_coverage_percent",
	"band_deployment_frequency", "band_change_failure_rate", "band_time_to_restore", "band_lead_time",
	"retried_failures", "redeployments", "change_failure_rate_low_percent", "change_failure_rate_high_percent",
	"restored_failures", "superseded_deployments", "rollbacks"}

func (s *Server) writeDORACSV(w http.ResponseWriter, r *http.Request, d model.DORA) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="dora.csv"`)
	cw, answer := newAnswerCSV()
	cw.Write(DORACSVHeader) //nolint:errcheck // into memory: cannot fail
	row := func(kind, start, end string, f model.DORAFigures) {
		opt := func(v *float64) string { return formatOptional(v, model.FormatSeconds) }
		perDay := func(v *float64) string { return formatOptional(v, model.FormatPerDay) }
		percent := func(v *float64) string { return formatOptional(v, model.FormatPercent) }
		cw.Write([]string{kind, start, end, strconv.Itoa(f.Deployments), strconv.Itoa(f.FailedDeployments), //nolint:errcheck // into memory: cannot fail
			perDay(f.DeploymentFrequencyPerDay), percent(f.ChangeFailureRatePercent),
			opt(f.TimeToRestoreP50Seconds), opt(f.TimeToRestoreP90Seconds), strconv.Itoa(f.UnrestoredFailures),
			opt(f.LeadTimeP50Seconds), opt(f.LeadTimeP90Seconds), percent(f.LeadTimeCoveragePercent),
			string(f.Bands.DeploymentFrequency), string(f.Bands.ChangeFailureRate), string(f.Bands.TimeToRestore), string(f.Bands.LeadTime),
			strconv.Itoa(f.RetriedFailures), strconv.Itoa(f.Redeployments),
			percent(f.ChangeFailureRateLowPercent), percent(f.ChangeFailureRateHighPercent),
			strconv.Itoa(f.RestoredFailures), strconv.Itoa(f.SupersededDeployments), strconv.Itoa(f.Rollbacks)})
	}
	for _, b := range d.Buckets {
		row("bucket", model.FormatSpreadsheetTime(b.Start), model.FormatSpreadsheetTime(b.End), b.DORAFigures)
	}
	var start, end string
	if d.Overall.Start != nil {
		start, end = model.FormatSpreadsheetTime(*d.Overall.Start), model.FormatSpreadsheetTime(*d.Overall.End)
	}
	row("overall", start, end, d.Overall.DORAFigures)
	s.sendAnswerCSV(w, r, cw, answer)
}

// formatOptional is a CSV cell of a figure that may be absent (nil): empty
// then, else v written by format.
func formatOptional(v *float64, format func(float64) string) string {
	if v == nil {
		return ""
	}
	return format(*v)
}
