package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestBatchOfTheJSONListSaysHowToSendIt: the JSON a list answers,
// {"steps": […], "next": …}, sent to POST /v1/steps/batch is a 400 that
// names it and says to send its array or the NDJSON or CSV export, not
// the advice for one step object (send NDJSON), which would fail again;
// a list of deployments is named as one. Nothing is stored.
func TestBatchOfTheJSONListSaysHowToSendIt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.mustPost(t, valid)
		for _, tt := range []struct{ list, want string }{
			{"/v1/steps?format=json", "jq .steps"},
			{"/v1/deployments?format=json", "list of deployments"},
		} {
			export := ts.do(t, "GET", tt.list, nil)
			if export.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tt.list, export.status, export.body)
			}
			r := ts.do(t, "POST", "/v1/steps/batch", bytes.NewReader(export.body), "Content-Type", "application/json")
			msg, code, field := r.errorBody(t)
			if r.status != http.StatusBadRequest || code != "invalid" || field != "body" || !strings.Contains(msg, tt.want) || strings.Contains(msg, "one step per line") {
				t.Errorf("batch of GET %s's JSON: %d %s %s %q; want 400 invalid body saying %q", tt.list, r.status, code, field, msg, tt.want)
			}
		}
		if n := ts.count(t); n != 1 {
			t.Errorf("%d steps stored, want 1", n)
		}
	})
}
