package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/steps-dev/steps/pkg/model"
)

// DORA fetches the DORA four keys per bucket and overall, each with its
// performance band (see model.DORA). f selects deployments by component,
// environment and start (Since, Until, which are also the period the
// frequency is per day of); opts gives the calendar only (Bucket,
// SprintDays, SprintStart, Location), its zero fields taking the server's
// defaults (a nil Location: the server's time zone; a Location is sent by
// its name, as for Stats).
// Figures that cannot be computed are nil. The change failure rate comes
// with its 95 % interval (ChangeFailureRateLowPercent, …HighPercent): the
// band is the rate's, and with few deployments one more can move it.
//
//	d, err := c.DORA(ctx, model.Filter{Component: "api", Environment: "production"}, model.DORAOptions{Bucket: model.BucketMonth})
//	…
//	fmt.Println(d.Overall.Bands.DeploymentFrequency) // elite
func (c *Client) DORA(ctx context.Context, f model.Filter, opts model.DORAOptions) (model.DORA, error) {
	q, err := doraQuery(f, opts, FormatJSON)
	if err != nil {
		return model.DORA{}, err
	}
	var d model.DORA
	err = c.do(ctx, request{method: http.MethodGet, path: "/v1/dora", query: q}, func(resp *http.Response) error {
		d = model.DORA{}
		return decodeJSON(resp, &d)
	})
	if d.Buckets == nil {
		d.Buckets = []model.DORABucket{}
	}
	return d, err
}

// WriteDORA writes the four keys of DORA to w exactly as the server
// renders them, in format FormatJSON or FormatCSV (a row per bucket and a
// last overall row). The answer is read whole before anything is written.
func (c *Client) WriteDORA(ctx context.Context, w io.Writer, f model.Filter, opts model.DORAOptions, format string) error {
	if err := checkRenderedFormat(format); err != nil {
		return err
	}
	q, err := doraQuery(f, opts, format)
	if err != nil {
		return err
	}
	return c.writeRendered(ctx, w, request{method: http.MethodGet, path: "/v1/dora", query: q}, format)
}

// doraQuery encodes the query of GET /v1/dora, refusing locally what the
// endpoint does not take.
func doraQuery(f model.Filter, opts model.DORAOptions, format string) (url.Values, error) {
	switch {
	case f.Version != "":
		return nil, model.Invalid("version", "the four keys are a component's, not filtered by version")
	case f.Owner != "":
		return nil, model.Invalid("owner", "the four keys are a component's, not filtered by owner")
	case f.Status != "":
		return nil, model.Invalid("status", "the four keys do not filter by status")
	case f.Order != "", f.Limit != 0, f.After != nil:
		return nil, model.Invalid(pagingField(f), "the four keys take no order, limit or cursor")
	case !opts.Since.IsZero(), !opts.Until.IsZero(), !opts.Now.IsZero():
		return nil, model.Invalid("since", "give the range in the filter (Since, Until); the server's clock is its own")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	check := opts
	if err := check.Validate(); err != nil {
		return nil, err
	}
	q := url.Values{"format": {format}}
	if f.Component != "" {
		q.Set("component", f.Component)
	}
	if f.Environment != "" {
		q.Set("environment", f.Environment)
	}
	if !f.Since.IsZero() {
		q.Set("since", sinceParam(f.Since, f.Until))
	}
	if !f.Until.IsZero() {
		q.Set("until", untilParam(f.Until))
	}
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
	return q, nil
}
