package server

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// deploymentParams are the parameters GET /v1/deployments accepts.
var deploymentParams = listParams

// handleListDeployments serves GET /v1/deployments: deployments with their
// phases and durations, ordered by start, as JSON (default), CSV or NDJSON.
// Streamed without limit; one page and a cursor with it.
func (s *Server) handleListDeployments(w http.ResponseWriter, r *http.Request) {
	p, err := queryParams(r, deploymentParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The step cursor differs from the deployment cursor: parse it apart.
	cursor := p["cursor"]
	delete(p, "cursor")
	f, err := listFilter(p, s.location)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	df := model.DeploymentFilter{Filter: f}
	if cursor != "" {
		if df.After, err = model.ParseDeploymentCursor(cursor); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	format := p["format"]
	if format == "" {
		format = formatJSON
	}
	enc, err := newDeploymentEncoder(format)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	etas := s.newETAs(now)
	serveList(s, w, r, f.Limit, exportChunkDeployments, enc, func(limit int, after string, emit func(*model.Deployment) error) (string, error) {
		page := df
		page.Limit = limit
		if after != "" {
			if page.After, err = model.ParseDeploymentCursor(after); err != nil {
				return "", err
			}
		}
		// serveList collects a page before it encodes it: the ETAs of
		// its running deployments are set once the page is read, with
		// no query open.
		var running []*model.Deployment
		var full *model.DeploymentKey
		steps := 0
		next, err := s.store.ListDeployments(r.Context(), page, s.rules, now, func(d *model.Deployment) error {
			if d.Outcome == model.OutcomeInProgress {
				running = append(running, d)
			}
			if err := emit(d); err != nil {
				return err
			}
			if steps += len(d.Steps); df.Limit == 0 && steps >= exportChunkSteps {
				k := d.Key()
				full = &k
				return errChunkFull
			}
			return nil
		})
		if errors.Is(err, errChunkFull) {
			next, err = full, nil
		}
		if err == nil {
			err = etas.set(r.Context(), running)
		}
		if next == nil {
			return "", err
		}
		return next.String(), err
	})
}

// etaGroupsPerRequest bounds the history one request reads for ETAs: one
// query of at most model.ETAScan rows per component and environment with
// a deployment in progress, for this many of them; running deployments
// of any others get no ETA.
const etaGroupsPerRequest = 20

// etas sets the ETAs of running deployments, reading the history of each
// component and environment once per request and judging its outliers
// once (model.ETAPast).
type etas struct {
	s       *Server
	now     time.Time
	history map[model.ETAGroup][]*model.Deployment // model.ETAPast's
}

func (s *Server) newETAs(now time.Time) *etas {
	return &etas{s: s, now: now, history: map[model.ETAGroup][]*model.Deployment{}}
}

func (e *etas) set(ctx context.Context, running []*model.Deployment) error {
	for _, d := range running {
		g := d.Group()
		h, ok := e.history[g]
		if !ok {
			if len(e.history) == etaGroupsPerRequest {
				continue
			}
			var err error
			if h, err = e.s.store.RecentSuccesses(ctx, g, e.s.rules, e.now); err != nil {
				return err
			}
			h = model.ETAPast(h, g)
			e.history[g] = h
		}
		d.SetETA(h, e.now)
	}
	return nil
}

// exportChunkDeployments is how many deployments an unlimited list reads
// per query (see exportChunkSteps): at 100, the 200,000 deployments of a
// million steps on MariaDB took 2.6 s and 1.7 s of stepsd's CPU to list,
// at 1,000 1.4 s and 1.0 s. A chunk also ends after the deployment that
// brings its steps to exportChunkSteps: each list holds its chunk while its
// client reads, and 128 stalled exports of deployments of 50 steps (50,000
// steps a chunk) took stepsd from 86 MB to 648 MB.
const exportChunkDeployments = 1000

// errChunkFull ends the read of a chunk of deployments that holds
// exportChunkSteps steps.
var errChunkFull = errors.New("chunk full")

func newDeploymentEncoder(format string) (listEncoder[*model.Deployment], error) {
	switch format {
	case formatJSON:
		return &jsonListEncoder[*model.Deployment]{field: "deployments", appendItem: appendDeployment}, nil
	case formatNDJSON:
		return &jsonListEncoder[*model.Deployment]{lines: true, appendItem: appendDeployment}, nil
	case formatCSV:
		return &deploymentCSV{}, nil
	}
	return nil, model.Invalid("format", "format must be json, csv or ndjson, not %s", model.Quote(format))
}

type deploymentCSV struct {
	cw *csv.Writer
}

func (e *deploymentCSV) begin(h http.Header, w *streamWriter) {
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="deployments.csv"`)
	e.cw = csv.NewWriter(w)
	e.cw.Write(model.DeploymentCSVHeader) //nolint:errcheck // kept by streamWriter
}

func (e *deploymentCSV) item(w *streamWriter, d *model.Deployment) {
	e.cw.Write(model.DeploymentCSVRow(d)) //nolint:errcheck // kept by streamWriter
}

func (e *deploymentCSV) end(w *streamWriter, next string) {
	e.cw.Flush()
}

// statsParams are the parameters GET /v1/stats accepts.
var statsParams = []string{"component", "version", "owner", "environment", "since", "start_datetime", "until", "end_datetime",
	"bucket", "sprint_days", "sprint_start", "tz", "outcome", "format"}

// handleStats serves GET /v1/stats: deploy durations per bucket and per
// step, the slowest steps, and the trend, computed in one pass over the
// deployments.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	p, f, format, zone, err := deploymentQuery(r, statsParams, s.location)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := statsOptions(p, s.sprintDefaults(zone))
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	now := s.now()
	acc, err := s.statsOf(r.Context(), f, opts, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stats := acc.Result()
	stats.MarkPartial(f.Since, f.Until, now)
	if format == formatCSV {
		s.writeStatsCSV(w, r, stats)
		return
	}
	s.writeJSON(w, r, http.StatusOK, stats)
}

// fittingAccumulator is what readLatestThatFit needs of an accumulator:
// stats', the four keys' and the page's (dashboardPass).
type fittingAccumulator interface {
	Add(*model.Deployment)
	CheckSize() error
	FittingSince() time.Time
}

// readLatestThatFit reads the deployments f selects into the accumulator
// newAcc makes, one pass (the accumulator keeps no deployment). A request
// that named no since is not refused for a history of more buckets with
// deployments than the figures are computed over: it is read again, into
// newAcc(since), from the latest that fit, and the answer says so
// (fitted_since). One back-dated batch would otherwise make the default
// request a 400 for every reader.
func readLatestThatFit[A fittingAccumulator](ctx context.Context, s *Server, f model.Filter, now time.Time, newAcc func(fitted time.Time) A) (A, error) {
	var fitted time.Time
	for {
		acc := newAcc(fitted)
		err := s.store.EachDeploymentPassing(ctx, model.DeploymentFilter{Filter: f}, s.rules, now, func(d *model.Deployment) error {
			acc.Add(d)
			return nil
		})
		if err != nil {
			return acc, err
		}
		err = acc.CheckSize()
		if err == nil || !f.Since.IsZero() {
			return acc, err
		}
		if fitted = acc.FittingSince(); fitted.IsZero() {
			return acc, err
		}
		f.Since = fitted
	}
}

// statsOf reads the stats of f's deployments (readLatestThatFit).
func (s *Server) statsOf(ctx context.Context, f model.Filter, opts model.StatsOptions, now time.Time) (*model.StatsAccumulator, error) {
	return readLatestThatFit(ctx, s, f, now, func(fitted time.Time) *model.StatsAccumulator {
		opts.FittedSince = fitted
		return model.NewStatsAccumulator(opts)
	})
}

// deploymentFilterParams are the parameters that filter deployments.
var deploymentFilterParams = []string{"component", "version", "owner", "environment",
	"since", "start_datetime", "until", "end_datetime"}

// deploymentQuery reads what GET /v1/stats, /v1/dora and /v1/changes
// share: the request's parameters (those named, each at most once), the
// deployment filter among them, the format, json (the default) or csv,
// and the calendar's zone: the request's tz where the endpoint takes one,
// else loc, the server's. Dates in the filter are days of that zone.
func deploymentQuery(r *http.Request, names []string, loc *time.Location) (params, model.Filter, string, *time.Location, error) {
	p, err := queryParams(r, names)
	if err != nil {
		return nil, model.Filter{}, "", nil, err
	}
	if v, ok := p["tz"]; ok {
		if loc, err = model.LoadZone("tz", v); err != nil {
			return nil, model.Filter{}, "", nil, err
		}
	}
	given := params{}
	for _, name := range deploymentFilterParams {
		if v, ok := p[name]; ok {
			given[name] = v
		}
	}
	f, err := listFilter(given, loc)
	if err != nil {
		return nil, model.Filter{}, "", nil, err
	}
	format := p["format"]
	if format != "" && format != formatJSON && format != formatCSV {
		return nil, model.Filter{}, "", nil, model.Invalid("format", "format must be json or csv, not %s", model.Quote(format))
	}
	return p, f, format, loc, nil
}

// sprintDefaults are the team's sprint calendar, the server's setting,
// in zone, the request's calendar zone (deploymentQuery): what a request
// that names no sprint_start or sprint_days gets.
func (s *Server) sprintDefaults(zone *time.Location) model.StatsOptions {
	return model.StatsOptions{SprintDays: s.sprintDays, SprintStart: s.sprintStart, Location: zone}
}

// statsOptions reads the bucket, sprint and outcome parameters of a stats
// request (GET /v1/stats and the retrospective page) and validates them.
// Sprint parameters not given take def's (the server's calendar, in the
// request's zone, def.Location); the server's sprint start, a day, and a
// sprint_start given as a date are read at midnight in that zone.
func statsOptions(p params, def model.StatsOptions) (model.StatsOptions, error) {
	opts := model.StatsOptions{Bucket: p["bucket"], Outcome: p["outcome"], SprintDays: def.SprintDays, Location: def.Location,
		SprintStart: model.SameClock(def.SprintStart, def.Location)}
	if v, ok := p["sprint_days"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return opts, model.Invalid("sprint_days", "sprint_days must be a whole number of days, not %s", model.Quote(v))
		}
		opts.SprintDays = n
		if n == 0 {
			opts.SprintDays = -1 // rejected by Validate, not taken as "default"
		}
	}
	if v, ok := p["sprint_start"]; ok {
		t, dateOnly, err := model.ParseTime(v)
		if err != nil {
			// ParseSinceIn refuses the same values, saying that a date is
			// a day of the calendar's zone, as it is read below: ParseTime
			// said "(UTC)" under tz=Australia/Sydney.
			if _, err := model.ParseSinceIn("sprint_start", v, opts.Location); err != nil {
				return opts, err
			}
			return opts, model.Invalid("sprint_start", "sprint_start: %v", err)
		}
		if dateOnly {
			t = model.SameClock(t, opts.Location)
		}
		opts.SprintStart = t
	}
	return opts, opts.Validate()
}

// StatsCSVHeader is the header row of stats as CSV: one long table. kind is
// bucket (deploy durations per bucket), step (a step name over the whole
// range, with its own growth and its share of the deployment's growth),
// step_bucket (a step name per bucket) or trend (name and value: the
// robust growth with its interval, direction, method, outliers and blame,
// then the least-squares fields kept for continuity). outliers, last as it
// came last, counts those a bucket's figures leave out; partial, after it,
// is true of a bucket the range or now cuts (BucketStats.Partial).
var StatsCSVHeader = []string{"kind", "name", "start", "end", "count", "p50_seconds", "p90_seconds", "max_seconds",
	"mean_seconds", "share_percent", "value",
	"growth_percent_per_week", "growth_percent_per_week_low", "growth_percent_per_week_high", "direction", "share_of_growth_percent",
	"outliers", "partial"}

func (s *Server) writeStatsCSV(w http.ResponseWriter, r *http.Request, st model.Stats) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="stats.csv"`)
	cw, answer := newAnswerCSV()
	opt := func(v *float64) string { return formatOptional(v, model.FormatSeconds) }
	day := func(t time.Time) string { return model.FormatSpreadsheetTime(t) }
	row := func(kind, name string, start, end string, d model.Durations, share, value string, growth ...string) {
		rec := []string{kind, model.NeutraliseCell(name), start, end, strconv.Itoa(d.Count), opt(d.P50Seconds),
			opt(d.P90Seconds), opt(d.MaxSeconds), opt(d.MeanSeconds), share, value}
		rec = append(rec, growth...)
		for len(rec) < len(StatsCSVHeader) {
			rec = append(rec, "")
		}
		cw.Write(rec) //nolint:errcheck // into memory: cannot fail
	}
	cw.Write(StatsCSVHeader) //nolint:errcheck // into memory: cannot fail
	// Bucket rows leave the growth columns empty and end with outliers
	// and partial (true, or empty).
	bucketRow := func(kind, name string, b model.BucketStats) {
		partial := ""
		if b.Partial {
			partial = "true"
		}
		row(kind, name, day(b.Start), day(b.End), b.Durations, "", "", "", "", "", "", "", strconv.Itoa(b.Outliers), partial)
	}
	for _, b := range st.Buckets {
		bucketRow("bucket", "", b)
	}
	for _, step := range st.Steps {
		share := formatOptional(step.ShareOfGrowthPercent, model.FormatPercent)
		row("step", step.Status, "", "", step.Durations, model.FormatPercent(step.SharePercent), "",
			model.FormatPercent(step.Trend.GrowthPercentPerWeek), model.FormatPercent(step.Trend.GrowthPercentPerWeekLow),
			model.FormatPercent(step.Trend.GrowthPercentPerWeekHigh), step.Trend.Direction, share)
	}
	for _, step := range st.Steps {
		for _, b := range step.Buckets {
			bucketRow("step_bucket", step.Status, b)
		}
	}
	t := st.Trend
	for _, kv := range [][2]string{
		{"growth_percent_per_week", model.FormatPercent(t.GrowthPercentPerWeek)},
		{"growth_percent_per_week_low", model.FormatPercent(t.GrowthPercentPerWeekLow)},
		{"growth_percent_per_week_high", model.FormatPercent(t.GrowthPercentPerWeekHigh)},
		{"growth_percent_per_sprint", model.FormatPercent(t.GrowthPercentPerSprint)},
		{"direction", t.Direction},
		{"method", t.Method},
		{"points", strconv.Itoa(t.Points)},
		{"outliers", strconv.Itoa(t.Outliers)},
		// Statuses are the users' text: neutralised like every name.
		{"blame", model.NeutraliseCell(model.JoinListItems(t.Blame))},
		{"slope_seconds_per_week", model.FormatEstimateSeconds(t.SlopeSecondsPerWeek)},
		{"slope_percent_of_mean_per_week", model.FormatPercent(t.SlopePercentOfMeanPerWeek)},
		{"mean_seconds", model.FormatEstimateSeconds(t.MeanSeconds)},
	} {
		row("trend", kv[0], "", "", model.Durations{Count: st.Deployments}, "", kv[1])
	}
	s.sendAnswerCSV(w, r, cw, answer)
}
