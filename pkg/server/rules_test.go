package server_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// TestRulesAreTheServersOwn: GET /v1/rules states the configured terminal
// statuses and stuck threshold, and the client reads them back exactly.
func TestRulesAreTheServersOwn(t *testing.T) {
	rules := model.DeploymentRules{SuccessStatuses: []string{"Shipped", "live"}, FailureStatuses: []string{"broken"}, StuckAfter: 90 * time.Minute}
	srv := httptest.NewServer(server.New(server.Config{Store: testdb.Open(t, testdb.SQLite(t)), Rules: rules}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.SuccessStatuses, rules.SuccessStatuses) || !slices.Equal(got.FailureStatuses, rules.FailureStatuses) || got.StuckAfter != rules.StuckAfter {
		t.Errorf("Rules = %+v, want %+v", got, rules)
	}
	if got.Outcome("shipped") != model.OutcomeSuccess || got.Outcome("finished") != model.OutcomeInProgress {
		t.Errorf("the client's rules do not decide outcomes as the server's")
	}
}
