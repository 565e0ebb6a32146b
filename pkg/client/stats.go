package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// Stats fetches how long deploys take and how fast that grows: durations
// per bucket, per step name, the slowest steps and the trend (see
// model.Stats). f selects the deployments by component, version, owner,
// environment and start (Since, Until); opts shape the answer, and their
// zero fields take the server's defaults (weekly buckets, 14-day sprints,
// successful deployments, the server's time zone: a nil Location). A
// Location is sent by its name, for the server to load: one of
// time.LoadLocation's, not time.Local (refused, EINVALID naming "tz"). The
// buckets' Start and End carry the offset of the zone they were cut in, so
// their Format gives the team's dates.
//
//	st, err := c.Stats(ctx, model.Filter{Component: "api"}, model.StatsOptions{Bucket: model.BucketSprint})
//	…
//	fmt.Println(st.Summary) // Deploy time grows 2.0 % a week (+4.0 % a sprint of 14 days); …
//
// Without a component or environment in f, the trend blends every
// series (component and environment) measured; st.Series gives each
// one's own trend, the largest first (at most model.MaxSeriesListed,
// st.SeriesNotListed counting the others).
func (c *Client) Stats(ctx context.Context, f model.Filter, opts model.StatsOptions) (model.Stats, error) {
	q, err := statsQuery(f, opts, "json")
	if err != nil {
		return model.Stats{}, err
	}
	var st model.Stats
	err = c.do(ctx, request{method: http.MethodGet, path: "/v1/stats", query: q}, func(resp *http.Response) error {
		st = model.Stats{}
		return decodeJSON(resp, &st)
	})
	return st, err
}

// FormatJSON and FormatCSV are the formats WriteStats, WriteChanges and
// WriteDORA write the server's answer in: its JSON document, or its CSV
// table, as GET /v1/stats, /v1/changes and /v1/dora return them with
// format=json or format=csv.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// WriteStats writes the stats of Stats to w exactly as the server renders
// them, in format FormatJSON or FormatCSV (one long table; see the API
// documentation). The answer is read whole before anything is written, so
// w gets a complete document or nothing.
func (c *Client) WriteStats(ctx context.Context, w io.Writer, f model.Filter, opts model.StatsOptions, format string) error {
	if err := checkRenderedFormat(format); err != nil {
		return err
	}
	q, err := statsQuery(f, opts, format)
	if err != nil {
		return err
	}
	return c.writeRendered(ctx, w, request{method: http.MethodGet, path: "/v1/stats", query: q}, format)
}

// checkRenderedFormat refuses a format the server does not render an
// analysis in: the Write* methods take FormatJSON or FormatCSV.
func checkRenderedFormat(format string) error {
	if format != FormatJSON && format != FormatCSV {
		return model.Invalid("format", "format must be %s or %s, not %q", FormatJSON, FormatCSV, format)
	}
	return nil
}

// writeRendered copies the server's rendering of req, in format FormatJSON
// or FormatCSV, to w once it has been read whole and checked.
func (c *Client) writeRendered(ctx context.Context, w io.Writer, req request, format string) error {
	var buf bytes.Buffer
	err := c.do(ctx, req, func(resp *http.Response) error {
		buf.Reset()
		if _, err := io.Copy(&buf, resp.Body); err != nil {
			return err
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch {
		case format == FormatJSON && !json.Valid(buf.Bytes()):
			return &ProtocolError{URL: c.shownURL(req.path, req.query), Err: errors.New("the body is not JSON")}
		case format == FormatCSV && mt != "text/csv":
			return &ProtocolError{URL: c.shownURL(req.path, req.query), Err: fmt.Errorf("Content-Type %q, want text/csv", mt)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// startParam writes a sprint start or a filter's Since: 00:00 in
// time.UTC, what ParseTime makes of a date, as that date, which the server
// reads at midnight in the calendar's zone (the same instant on a server
// in UTC); any other time as the instant it is.
func startParam(t time.Time) string {
	if t.Location() == time.UTC && t.Equal(t.Truncate(24*time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// sinceParam writes a filter's Since as startParam does, rounded up to
// the microsecond when it falls between two: steps are stored to the
// microsecond, so the first at or after such an instant is at the later
// one, where the server, which drops the finer digits, would start at the
// earlier and return a step before Since (a poll from last.Time.Add(1)
// would get last again). Left as it is when rounding up would pass Until,
// which the server would refuse as a range that ends before it starts.
func sinceParam(since, until time.Time) string {
	up := since.Truncate(time.Microsecond)
	if up.Equal(since) {
		return startParam(since)
	}
	up = up.Add(time.Microsecond)
	if !until.IsZero() && up.After(until.Truncate(time.Microsecond)) {
		return startParam(since)
	}
	return up.UTC().Format(time.RFC3339Nano)
}

// untilParam writes a filter's Until: 23:59:59.999999 in time.UTC, what
// model.ParseUntil makes of a date, as that date, which the server reads
// as the whole day in the calendar's zone; any other time as the instant
// it is.
func untilParam(t time.Time) string {
	if end := t.Add(time.Microsecond); t.Location() == time.UTC && end.Equal(end.Truncate(24*time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// pagingField names the paging parameter f sets (order, limit or cursor),
// for an answer that is not a page to refuse it by what the caller set.
func pagingField(f model.Filter) string {
	switch {
	case f.Order != "":
		return "order"
	case f.After != nil:
		return "cursor"
	}
	return "limit"
}

// statsQuery encodes the query of GET /v1/stats. Options left zero are
// not sent, so the server's defaults apply.
func statsQuery(f model.Filter, opts model.StatsOptions, format string) (url.Values, error) {
	switch {
	case f.Status != "":
		return nil, model.Invalid("status", "stats do not filter by status")
	case f.Order != "", f.Limit != 0, f.After != nil:
		return nil, model.Invalid(pagingField(f), "stats take no order, limit or cursor")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	check := opts
	if err := check.Validate(); err != nil {
		return nil, err
	}
	q := listQuery(f)
	q.Set("format", format)
	if opts.Bucket != "" {
		q.Set("bucket", opts.Bucket)
	}
	if opts.SprintDays != 0 {
		q.Set("sprint_days", strconv.Itoa(opts.SprintDays))
	}
	if !opts.SprintStart.IsZero() {
		q.Set("sprint_start", startParam(opts.SprintStart))
	}
	if err := setZone(q, opts.Location); err != nil {
		return nil, err
	}
	if opts.Outcome != "" {
		q.Set("outcome", opts.Outcome)
	}
	return q, nil
}

// setZone sends loc, the calendar's zone, by its name, which the server
// loads from its own copy of the tz database. time.Local is refused
// before sending: its name, "Local", is whatever zone a machine is set
// to, which the server refuses as it would cut other buckets elsewhere.
func setZone(q url.Values, loc *time.Location) error {
	switch {
	case loc == nil:
	case loc.String() == "Local":
		return model.Invalid("tz", `the Location is time.Local, whose name "Local" the server cannot load; pass a zone loaded by its IANA name (time.LoadLocation("Europe/Paris")), or nil for the server's zone`)
	default:
		q.Set("tz", loc.String())
	}
	return nil
}
