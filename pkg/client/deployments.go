package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/steps-dev/steps/pkg/model"
)

// DeploymentPage is one page of a list of deployments.
type DeploymentPage struct {
	Deployments []model.Deployment
	Next        *model.DeploymentKey // where the next page starts; nil on the last page
}

// DeploymentsPage fetches one page of the deployments matching f, ordered
// by start: at most f.Limit deployments (the client's page size when 0),
// starting after f.After. Pass the returned Next as f.After to fetch the
// following page. f.Filter.After, a step cursor, is refused (EINVALID,
// field "cursor"): it cannot continue a list of deployments.
//
// Component, version and environment select deployments; owner is who
// started one (the owner of its first step); status keeps deployments with
// a step of that status; since and until bound its start.
func (c *Client) DeploymentsPage(ctx context.Context, f model.DeploymentFilter) (DeploymentPage, error) {
	if f.Limit == 0 {
		f.Limit = c.pages()
	}
	if err := f.Filter.Validate(); err != nil {
		return DeploymentPage{}, err
	}
	if f.Filter.After != nil {
		// Dropped, it would restart the list: a loop paging this way
		// would get its first page again on every call.
		return DeploymentPage{}, model.Invalid("cursor", "a step cursor (DeploymentFilter.Filter.After) cannot continue a list of deployments; pass the previous DeploymentPage's Next as DeploymentFilter.After")
	}
	req := request{method: http.MethodGet, path: "/v1/deployments", query: deploymentsQuery(f)}
	ds, next, err := getPage[model.Deployment](ctx, c, req, "deployments", model.ParseDeploymentCursor)
	return DeploymentPage{Deployments: ds, Next: next}, err
}

// Deployments returns an iterator over the deployments matching f (see
// DeploymentsPage), fetching one page at a time as the loop goes on, so
// memory does not grow with the number of deployments. f.Limit caps the
// total (0: all). An error ends the iteration with a zero deployment and
// the error; so does ctx once it is done, even in the middle of a page:
//
//	for d, err := range c.Deployments(ctx, model.DeploymentFilter{Filter: model.Filter{Component: "api"}}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(d.Version, d.Outcome, model.HumanDuration(d.DurationSeconds))
//	}
func (c *Client) Deployments(ctx context.Context, f model.DeploymentFilter) iter.Seq2[model.Deployment, error] {
	return paginate(ctx, f.Limit, c.pages(), f.After, func(limit int, after *model.DeploymentKey) ([]model.Deployment, *model.DeploymentKey, error) {
		page := f
		page.Limit, page.After = limit, after
		p, err := c.DeploymentsPage(ctx, page)
		return p.Deployments, p.Next, err
	})
}

// ListDeployments returns all the deployments matching f (at most f.Limit
// when it is set), fetching as many pages as needed. For long lists, range
// over Deployments instead.
func (c *Client) ListDeployments(ctx context.Context, f model.DeploymentFilter) ([]model.Deployment, error) {
	out := []model.Deployment{}
	for d, err := range c.Deployments(ctx, f) {
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// deploymentsQuery encodes a deployment filter as the query of
// GET /v1/deployments, asking for JSON. Its cursor is a deployment key,
// never the step cursor of f.Filter.After.
func deploymentsQuery(f model.DeploymentFilter) url.Values {
	q := listQuery(f.Filter)
	q.Del("cursor")
	if f.After != nil {
		q.Set("cursor", f.After.String())
	}
	return q
}
