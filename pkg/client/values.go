package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/steps-dev/steps/pkg/model"
)

// Values lists the distinct values of field (one of model.ValueFields:
// component, environment, owner, status) that start with prefix, at most
// limit of them (0: the server's default, 50), from GET /v1/values. It is
// meant for completion: cheap on the server however long the history.
//
//	components, err := c.Values(ctx, "component", "ap", 20)
func (c *Client) Values(ctx context.Context, field, prefix string, limit int) ([]string, error) {
	q := url.Values{"field": {field}}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var doc model.Values
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/values", query: q}, func(resp *http.Response) error {
		doc = model.Values{}
		return decodeJSON(resp, &doc)
	})
	if err != nil {
		return nil, err
	}
	return doc.Values, nil
}
