package client

import (
	"context"
	"net/http"

	"github.com/steps-dev/steps/pkg/model"
)

// Rules fetches the server's deployment rules (GET /v1/rules): which
// statuses end a deployment there, as a success or a failure, and when one
// in progress is stuck. A server older than the endpoint answers 404.
//
//	rules, err := c.Rules(ctx)
//	…
//	if rules.Outcome("deployed") == model.OutcomeSuccess { … }
func (c *Client) Rules(ctx context.Context) (model.DeploymentRules, error) {
	var doc model.RulesDocument
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/rules"}, func(resp *http.Response) error {
		doc = model.RulesDocument{}
		return decodeJSON(resp, &doc)
	})
	if err != nil {
		return model.DeploymentRules{}, err
	}
	return doc.Rules(), nil
}
