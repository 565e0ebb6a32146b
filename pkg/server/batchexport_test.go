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

// TestBatchCSVTimesAsStepsctlImport: a CSV batch reads its times by the
// rule stepsctl import checks them with, so that a file a spreadsheet saved
// again stores the same steps through either. A date alone (a column shown
// as dates) is a 400 naming the row and field, not every step of the day
// at midnight; a time whose seconds were dropped is read at :00.
func TestBatchCSVTimesAsStepsctlImport(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for _, tt := range []struct{ body, field string }{
			{"component,version,owner,status,ts\napi,1,ana,build,2026-02-27 09:00:00\napi,1,ana,finished,2026-02-27\n", "time"},
			{"component,version,owner,status,ts,committed_at\napi,1,ana,build,2026-02-27 09:00:00,2026-02-26\n", "committed_at"},
		} {
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(tt.body), "Content-Type", "text/csv")
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"field":"`+tt.field+`","error":"`+tt.field+`: \"2026-02-2`) ||
				!strings.Contains(string(r.body), "is a date without its time of day") {
				t.Errorf("%q: %d %s; want 400 naming %s, a date without its time of day", tt.body, r.status, r.body, tt.field)
			}
		}
		if n := ts.count(t); n != 0 {
			t.Fatalf("%d steps stored, want none", n)
		}
		r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status,ts\napi,1,ana,build,2026-02-27 09:05\n"), "Content-Type", "text/csv")
		if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"time":"2026-02-27T09:05:00Z"`) {
			t.Errorf("a time without seconds: %d %s; want 201 at 09:05:00", r.status, r.body)
		}
	})
}

// TestBatchCSVHeaderAgain: a CSV batch of two exports joined with cat is
// refused at the second header, named as such, and nothing is stored.
func TestBatchCSVHeaderAgain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		body := "component,version,owner,status,ts\napi,1,ana,build,2026-02-27 09:00:00\ncomponent,version,owner,status,ts\napi,1,ana,finished,2026-02-27 09:05:00\n"
		r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Content-Type", "text/csv")
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `{"row":2,"field":"body","error":"the CSV header again, among the rows`) {
			t.Errorf("%d %s; want 400 naming row 2 as the header again", r.status, r.body)
		}
		if n := ts.count(t); n != 0 {
			t.Errorf("%d steps stored, want none", n)
		}
	})
}
