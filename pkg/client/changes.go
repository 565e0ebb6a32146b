package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/steps-dev/steps/pkg/model"
)

// Changes fetches the moments a component's deploy time shifted, per
// component and environment, each with the first deployment after it, its
// before and after p50, its p-value and the steps that moved (see
// model.Changes). f selects deployments by component, environment and
// start (Since, Until) only: a change is found in a whole history, not in
// one version's or one owner's. opts.Outcome left empty takes the server's
// default (successful deployments).
//
//	cs, err := c.Changes(ctx, model.Filter{Component: "api"}, model.ChangesOptions{})
//	…
//	for _, ch := range cs.Changes {
//		fmt.Printf("%s %s %+.0f %%\n", ch.Time.Format(time.DateOnly), ch.Version, ch.ChangePercent)
//	}
func (c *Client) Changes(ctx context.Context, f model.Filter, opts model.ChangesOptions) (model.Changes, error) {
	q, err := changesQuery(f, opts, FormatJSON)
	if err != nil {
		return model.Changes{}, err
	}
	var cs model.Changes
	err = c.do(ctx, request{method: http.MethodGet, path: "/v1/changes", query: q}, func(resp *http.Response) error {
		cs = model.Changes{}
		return decodeJSON(resp, &cs)
	})
	if cs.Changes == nil {
		cs.Changes = []model.Change{}
	}
	return cs, err
}

// WriteChanges writes the changes of Changes to w exactly as the server
// renders them, in format FormatJSON or FormatCSV (one row per change and
// step). The answer is read whole before anything is written.
func (c *Client) WriteChanges(ctx context.Context, w io.Writer, f model.Filter, opts model.ChangesOptions, format string) error {
	if err := checkRenderedFormat(format); err != nil {
		return err
	}
	q, err := changesQuery(f, opts, format)
	if err != nil {
		return err
	}
	return c.writeRendered(ctx, w, request{method: http.MethodGet, path: "/v1/changes", query: q}, format)
}

// changesQuery encodes the query of GET /v1/changes, refusing locally the
// filters the endpoint does not take.
func changesQuery(f model.Filter, opts model.ChangesOptions, format string) (url.Values, error) {
	switch {
	case f.Version != "":
		return nil, model.Invalid("version", "changes are found in a component's history, not filtered by version")
	case f.Owner != "":
		return nil, model.Invalid("owner", "changes are found in a component's history, not filtered by owner")
	case f.Status != "":
		return nil, model.Invalid("status", "changes do not filter by status")
	case f.Order != "", f.Limit != 0, f.After != nil:
		return nil, model.Invalid(pagingField(f), "changes take no order, limit or cursor")
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
	if opts.Outcome != "" {
		q.Set("outcome", opts.Outcome)
	}
	return q, nil
}
