package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// clock is a settable clock, so stamped times are exact in tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type testServer struct {
	*httptest.Server
	store *store.Store
	clock *clock
}

func newTestServer(t *testing.T, dsn string, tokens ...server.Token) *testServer {
	t.Helper()
	st := testdb.Open(t, dsn)
	c := &clock{now: t0}
	srv := httptest.NewServer(server.New(server.Config{Store: st, Now: c.Now, Tokens: tokens}))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, store: st, clock: c}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorBody(t *testing.T) (msg, code, field string) {
	t.Helper()
	var e struct{ Error, Code, Field string }
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", r.body, err)
	}
	return e.Error, e.Code, e.Field
}

func (r response) step(t *testing.T) model.Step {
	t.Helper()
	var s model.Step
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("body %q is not a step: %v", r.body, err)
	}
	return s
}

func (ts *testServer) do(t *testing.T, method, path string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req)
}

// send sends req and reads its whole answer.
func send(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (ts *testServer) post(t *testing.T, query string) response {
	t.Helper()
	return ts.do(t, "POST", "/v1/steps?"+query, nil)
}

func (ts *testServer) mustPost(t *testing.T, query string) model.Step {
	t.Helper()
	r := ts.post(t, query)
	if r.status != http.StatusCreated {
		t.Fatalf("POST %s = %d %s", query, r.status, r.body)
	}
	return r.step(t)
}

func (ts *testServer) listJSON(t *testing.T, query string) ([]model.Step, string) {
	t.Helper()
	r := ts.do(t, "GET", "/v1/steps?format=json&"+query, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET ?%s = %d %s", query, r.status, r.body)
	}
	var page struct {
		Steps []model.Step `json:"steps"`
		Next  *string      `json:"next"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatalf("list body %q: %v", r.body, err)
	}
	if page.Steps == nil || page.Next == nil {
		t.Fatalf("list body %q lacks steps or next", r.body)
	}
	return page.Steps, *page.Next
}

func (ts *testServer) count(t *testing.T) int {
	t.Helper()
	n := 0
	if _, err := ts.store.ListSteps(t.Context(), model.Filter{}, func(model.Step) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

const valid = "component=api&version=1.2.0&owner=ana&status=build"

func TestRecordStep(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))

		t.Run("QueryStringAsTheOriginalAPI", func(t *testing.T) {
			ts.clock.Set(t0.Add(123456789 * time.Nanosecond))
			r := ts.post(t, valid+"&environment=prod")
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201", r.status, r.body)
			}
			got := r.step(t)
			want := model.Step{ID: got.ID, Component: "api", Version: "1.2.0", Owner: "ana", Status: "build", Environment: "prod",
				Time: t0.Add(123456 * time.Microsecond), ReceivedAt: t0.Add(123456 * time.Microsecond)}
			if got != want {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if loc := r.header.Get("Location"); loc != fmt.Sprintf("/v1/steps/%d", got.ID) {
				t.Errorf("Location = %q", loc)
			}
			if !strings.Contains(string(r.body), `"time":"2026-03-02T09:00:00.123456Z"`) {
				t.Errorf("body %s: time is not UTC RFC 3339 with microseconds", r.body)
			}
			fetched := ts.do(t, "GET", r.header.Get("Location"), nil)
			if fetched.status != 200 || fetched.step(t) != got {
				t.Errorf("GET Location = %d %s", fetched.status, fetched.body)
			}
		})

		t.Run("FormBody", func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/steps", strings.NewReader(valid), "Content-Type", "application/x-www-form-urlencoded")
			if r.status != http.StatusCreated || r.step(t).Status != "build" {
				t.Fatalf("status %d %s", r.status, r.body)
			}
		})

		t.Run("JSONBodyWithExplicitTime", func(t *testing.T) {
			body := `{"component":"api","version":"1.2.0","owner":"ana","status":"tests","environment":null,"time":"2026-03-01T10:00:00+01:00"}`
			r := ts.do(t, "POST", "/v1/steps", strings.NewReader(body), "Content-Type", "application/json")
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			got := r.step(t)
			if !got.Time.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) || !got.ReceivedAt.Equal(ts.clock.Now().Truncate(time.Microsecond)) {
				t.Errorf("time %v received %v", got.Time, got.ReceivedAt)
			}
		})

		t.Run("QueryAndBodyCombine", func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/steps?component=api&version=1", strings.NewReader("owner=ana&status=x"), "Content-Type", "application/x-www-form-urlencoded")
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s", r.status, r.body)
			}
		})

		t.Run("IdempotencyKeyReplays", func(t *testing.T) {
			before := ts.count(t)
			first := ts.do(t, "POST", "/v1/steps?"+valid, nil, "Idempotency-Key", "retry-1")
			again := ts.do(t, "POST", "/v1/steps?"+valid, nil, "Idempotency-Key", "retry-1")
			if first.status != 201 || again.status != 200 || again.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("first %d, again %d %q", first.status, again.status, again.header.Get("Idempotent-Replayed"))
			}
			if first.step(t) != again.step(t) {
				t.Errorf("replay returned %s, want %s", again.body, first.body)
			}
			other := ts.do(t, "POST", "/v1/steps?"+valid+"&environment=prod", nil, "Idempotency-Key", "retry-1")
			if other.status != http.StatusUnprocessableEntity {
				t.Errorf("same key, different step = %d %s, want 422", other.status, other.body)
			}
			if n := ts.count(t) - before; n != 1 {
				t.Errorf("%d rows stored, want 1", n)
			}
		})
	})
}

func TestRecordStepRejectsBadInput(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	long := strings.Repeat("a", 129)
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		headers   []string
		status    int
		field     string
		wantInMsg string
	}{
		{"component missing", "POST", "/v1/steps?version=1&owner=o&status=s", "", nil, 400, "component", "component is required"},
		{"version missing", "POST", "/v1/steps?component=c&owner=o&status=s", "", nil, 400, "version", "version is required"},
		{"owner missing", "POST", "/v1/steps?component=c&version=1&status=s", "", nil, 400, "owner", "owner is required"},
		{"status missing", "POST", "/v1/steps?component=c&version=1&owner=o", "", nil, 400, "status", "status is required"},
		{"component empty", "POST", "/v1/steps?component=&version=1&owner=o&status=s", "", nil, 400, "component", "required"},
		{"too long", "POST", "/v1/steps?component=" + long + "&version=1&owner=o&status=s", "", nil, 400, "component", "limit is 128"},
		{"invalid UTF-8", "POST", "/v1/steps?component=c&version=%FF&owner=o&status=s", "", nil, 400, "version", "UTF-8"},
		{"control character", "POST", "/v1/steps?component=c&version=1&owner=o%0A&status=s", "", nil, 400, "owner", "control"},
		{"blank", "POST", "/v1/steps?component=%20%20&version=1&owner=o&status=s", "", nil, 400, "component", "blank"},
		{"unknown parameter", "POST", "/v1/steps?" + valid + "&colour=red", "", nil, 400, "colour", "unknown parameter"},
		{"repeated parameter", "POST", "/v1/steps?" + valid + "&status=tests", "", nil, 400, "status", "2 times"},
		{"conflicting query and body", "POST", "/v1/steps?" + valid, "status=tests", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "status", "different values"},
		{"bad time", "POST", "/v1/steps?" + valid + "&time=tomorrow", "", nil, 400, "time", "RFC 3339"},
		{"time far in the future", "POST", "/v1/steps?" + valid + "&time=2027-01-01", "", nil, 400, "time", "future"},
		{"JSON not an object", "POST", "/v1/steps", `["api"]`, []string{"Content-Type", "application/json"}, 400, "body", "JSON object"},
		{"JSON broken", "POST", "/v1/steps", `{"component":`, []string{"Content-Type", "application/json"}, 400, "body", "JSON"},
		{"JSON number", "POST", "/v1/steps", `{"component":"c","version":1,"owner":"o","status":"s"}`, []string{"Content-Type", "application/json"}, 400, "version", "string"},
		{"JSON unknown field", "POST", "/v1/steps", `{"component":"c","version":"1","owner":"o","status":"s","x":"y"}`, []string{"Content-Type", "application/json"}, 400, "x", "unknown field"},
		// curl -d sends a form's Content-Type: JSON sent that way must say so,
		// not call the whole object an unknown parameter.
		{"JSON sent as a form", "POST", "/v1/steps", `{"component":"c","version":"1","owner":"o","status":"s"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "", "Content-Type: application/json"},
		// fetch() sends a string body as text/plain;charset=UTF-8.
		{"JSON sent as fetch's text", "POST", "/v1/steps", `{"component":"c","version":"1","owner":"o","status":"s"}`, []string{"Content-Type", "text/plain;charset=UTF-8"}, 415, "", "the body is JSON but its Content-Type is \"text/plain;charset=UTF-8\" (fetch's default for a string body); send the header Content-Type: application/json"},
		{"unsupported content type", "POST", "/v1/steps", "<step/>", []string{"Content-Type", "application/xml"}, 415, "", "Content-Type"},
		{"body too large", "POST", "/v1/steps", `{"component":"` + strings.Repeat("a", 2<<20) + `"}`, []string{"Content-Type", "application/json"}, 413, "", "larger than"},
		{"bad idempotency key", "POST", "/v1/steps?" + valid, "", []string{"Idempotency-Key", "has space"}, 400, "Idempotency-Key", "printable"},
		{"bad id", "GET", "/v1/steps/abc", "", nil, 400, "id", "whole number from 1"},
		// A positive whole number past int64 must not be told it is not one.
		{"id past int64", "GET", "/v1/steps/99999999999999999999", "", nil, 400, "id", "from 1 to 9223372036854775807"},
		{"missing id", "GET", "/v1/steps/99999", "", nil, 404, "", "not found"},
		{"wrong method", "DELETE", "/v1/steps", "", nil, 405, "", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.count(t)
			r := ts.do(t, tt.method, tt.path, strings.NewReader(tt.body), tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
			}
			msg, code, field := r.errorBody(t)
			if code != api.CodeOf(tt.status) || field != tt.field || !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("error %q code %q field %q; want code %q field %q message containing %q", msg, code, field, api.CodeOf(tt.status), tt.field, tt.wantInMsg)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if after := ts.count(t); after != before {
				t.Errorf("%d rows stored by a rejected request", after-before)
			}
		})
	}
}

// A deploy script that appends a parameter its URL already holds
// (URL="$URL&environment=$ENV") sends it twice with one value: as docs/api.md
// has it, only different values are a 400; the same value is taken, as
// a query and a form body that agree are, and its step is not lost.
func TestRepeatedParameterWithOneValueIsTaken(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		const valid = "component=api&version=1.2.0&owner=ana&status=build"
		t.Run("query string", func(t *testing.T) {
			s := ts.mustPost(t, valid+"&environment=production&environment=production")
			if s.Component != "api" || s.Environment != "production" {
				t.Errorf("stored %+v, want api in production", s)
			}
		})
		t.Run("form body", func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/steps", strings.NewReader(valid+"&status=build"), "Content-Type", "application/x-www-form-urlencoded")
			if r.status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201", r.status, r.body)
			}
		})
		t.Run("list filter", func(t *testing.T) {
			steps, _ := ts.listJSON(t, "component=api&component=api&environment=production")
			if len(steps) != 1 {
				t.Errorf("%d steps listed, want 1", len(steps))
			}
		})
		for _, tt := range []struct{ name, method, path, body, field string }{
			{"different values in the query", "POST", "/v1/steps?" + valid + "&status=tests&status=build", "", "status"},
			{"different values in a form", "POST", "/v1/steps", valid + "&owner=bob", "owner"},
			{"different filters", "GET", "/v1/steps?component=api&component=web", "", "component"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.do(t, tt.method, tt.path, strings.NewReader(tt.body), "Content-Type", "application/x-www-form-urlencoded")
				if r.status != http.StatusBadRequest {
					t.Fatalf("status %d %s, want 400", r.status, r.body)
				}
				if msg, _, field := r.errorBody(t); field != tt.field || !strings.Contains(msg, "different values") {
					t.Errorf("error %q field %q, want field %q and a message naming different values", msg, field, tt.field)
				}
				if after := ts.count(t); after != before {
					t.Errorf("%d rows stored by a rejected request", after-before)
				}
			})
		}
	})
}

func TestListSteps(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		var all []model.Step
		for i, q := range []string{
			"component=api&version=1&owner=ana&status=build&environment=prod",
			"component=api&version=1&owner=ana&status=rollout&environment=prod",
			"component=web&version=7&owner=bob&status=build&environment=staging",
			"component=api&version=2&owner=bob&status=build",
		} {
			ts.clock.Set(t0.Add(time.Duration(i) * time.Hour))
			all = append(all, ts.mustPost(t, q))
		}
		evil := ts.mustPost(t, "component="+url.QueryEscape("x' OR '1'='1")+"&version=1&owner=eve&status=s")

		tests := []struct {
			query string
			want  []model.Step
		}{
			{"component=api", []model.Step{all[0], all[1], all[3]}},
			{"version=7", []model.Step{all[2]}},
			{"owner=bob", []model.Step{all[2], all[3]}},
			{"status=build", []model.Step{all[0], all[2], all[3]}},
			{"environment=prod", []model.Step{all[0], all[1]}},
			{"since=2026-03-02%2010:00:00", []model.Step{all[1], all[2], all[3], evil}},
			{"start_datetime=2026-03-02%2010:00:00&end_datetime=2026-03-02%2011:00:00", []model.Step{all[1], all[2]}},
			{"until=2026-03-02T10:00:00Z", []model.Step{all[0], all[1]}},
			{"until=2026-03-01", []model.Step{}},
			{"component=api&status=build&owner=bob", []model.Step{all[3]}},
			{"component=" + url.QueryEscape("x' OR '1'='1"), []model.Step{evil}},
			{"order=desc&owner=ana", []model.Step{all[1], all[0]}},
		}
		for _, tt := range tests {
			got, next := ts.listJSON(t, tt.query)
			if len(got) != len(tt.want) || next != "" {
				t.Errorf("?%s: got %d steps (next %q), want %d", tt.query, len(got), next, len(tt.want))
				continue
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("?%s: step %d = %+v, want %+v", tt.query, i, got[i], tt.want[i])
				}
			}
		}

		t.Run("BadParameters", func(t *testing.T) {
			for query, field := range map[string]string{
				"since=03/02/2026":                  "since",
				"end_datetime=noon":                 "end_datetime",
				"format=xml":                        "format",
				"order=up":                          "order",
				"limit=0":                           "limit",
				"limit=10001":                       "limit",
				"limit=ten":                         "limit",
				"cursor=garbage":                    "cursor",
				"componnet=api":                     "componnet",
				"since=2026-03-03&until=2026-03-02": "until",
			} {
				r := ts.do(t, "GET", "/v1/steps?"+query, nil)
				_, code, gotField := r.errorBody(t)
				if r.status != 400 || code != model.EINVALID || gotField != field {
					t.Errorf("?%s = %d %s, want 400 naming %s", query, r.status, r.body, field)
				}
			}
			r := ts.do(t, "GET", "/v1/steps?since=yesterday", nil)
			if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "YYYY-MM-DD hh:mm:ss") || !strings.Contains(msg, "RFC 3339") {
				t.Errorf("bad datetime message %q does not state the accepted formats", msg)
			}
		})

		t.Run("CSVIsTheDefaultWithAHeaderAndNeutralisedFormulas", func(t *testing.T) {
			ts.clock.Set(t0.Add(10 * time.Hour))
			formula := ts.mustPost(t, "component="+url.QueryEscape("=HYPERLINK(\"http://x\")")+"&version=-1&owner=%40ana&status=%2Bok")
			r := ts.do(t, "GET", "/v1/steps?owner=@ana", nil)
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d type %q", r.status, r.header.Get("Content-Type"))
			}
			rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{
				model.CSVHeader,
				{`'=HYPERLINK("http://x")`, "'-1", "'@ana", "'+ok", "2026-03-02 19:00:00", "", fmt.Sprint(formula.ID), "2026-03-02 19:00:00", "", ""},
			}
			if fmt.Sprint(rows) != fmt.Sprint(want) {
				t.Errorf("CSV\n%q\nwant\n%q", rows, want)
			}
		})

		t.Run("NDJSON", func(t *testing.T) {
			r := ts.do(t, "GET", "/v1/steps?format=ndjson&component=api", nil)
			lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
			if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 {
				t.Fatalf("status %d type %q lines %d", r.status, r.header.Get("Content-Type"), len(lines))
			}
			var s model.Step
			if err := json.Unmarshal([]byte(lines[2]), &s); err != nil || s != all[3] {
				t.Errorf("last line %s = %+v, %v", lines[2], s, err)
			}
		})

		t.Run("EmptyListsAreWellFormed", func(t *testing.T) {
			if r := ts.do(t, "GET", "/v1/steps?format=json&owner=nobody", nil); string(r.body) != "{\"steps\":[],\"next\":\"\"}\n" {
				t.Errorf("empty JSON = %q", r.body)
			}
			if r := ts.do(t, "GET", "/v1/steps?owner=nobody", nil); string(r.body) != strings.Join(model.CSVHeader, ",")+"\n" {
				t.Errorf("empty CSV = %q", r.body)
			}
		})
	})
}

func TestPaginationReturnsEveryRowOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		want := map[int64]bool{}
		for i := range 37 {
			ts.clock.Set(t0.Add(time.Duration(i/4) * time.Second)) // ties on time
			want[ts.mustPost(t, valid).ID] = true
		}
		for _, format := range []string{"json", "csv", "ndjson"} {
			seen := map[int64]int{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("pagination does not end")
				}
				r := ts.do(t, "GET", "/v1/steps?limit=5&format="+format+"&cursor="+cursor, nil)
				if r.status != 200 {
					t.Fatalf("%s page: %d %s", format, r.status, r.body)
				}
				for _, id := range idsIn(t, format, r.body) {
					seen[id]++
				}
				cursor = r.header.Get("X-Next-Cursor")
				if cursor == "" {
					break
				}
			}
			if len(seen) != len(want) {
				t.Errorf("%s: saw %d distinct rows, want %d", format, len(seen), len(want))
			}
			for id, n := range seen {
				if n != 1 || !want[id] {
					t.Errorf("%s: row %d seen %d times", format, id, n)
				}
			}
		}
	})
}

func idsIn(t *testing.T, format string, body []byte) []int64 {
	t.Helper()
	var out []int64
	switch format {
	case "json":
		var page struct{ Steps []model.Step }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Steps {
			out = append(out, s.ID)
		}
	case "ndjson":
		dec := json.NewDecoder(bytes.NewReader(body))
		for dec.More() {
			var s model.Step
			if err := dec.Decode(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s.ID)
		}
	case "csv":
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows[1:] {
			var id int64
			fmt.Sscan(row[6], &id)
			out = append(out, id)
		}
	}
	return out
}

func TestConcurrentPostsOnSQLiteAllStored(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	const n = 500
	var wg sync.WaitGroup
	statuses := make([]int, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	for i := range n {
		wg.Go(func() {
			res, err := client.Post(ts.URL+"/v1/steps?component=api&version=1&owner=ana&status=s"+fmt.Sprint(i), "", nil)
			if err != nil {
				t.Errorf("POST %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("POST %d: status %d", i, s)
		}
	}
	if got := ts.count(t); got != n {
		t.Errorf("%d rows stored, want %d", got, n)
	}
}

func TestProbes(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := ts.do(t, "GET", path, nil); r.status != 200 || !strings.Contains(string(r.body), "ok") {
			t.Errorf("%s = %d %s", path, r.status, r.body)
		}
	}
	ts.store.Close()
	if r := ts.do(t, "GET", "/readyz", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed = %d %s, want 503", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/healthz", nil); r.status != 200 {
		t.Errorf("/healthz with the database closed = %d, want 200 (the process is alive)", r.status)
	}
}

// TestDeploymentsAreListedOnceWritten: an import of history is numbered
// as it is written, so the list that follows answers 200 with every
// deployment at once (it once answered 503 while a background pass caught
// up).
func TestDeploymentsAreListedOnceWritten(t *testing.T) {
	skipVolumeUnderRace(t, "writes 20,000 steps, one batch at a time")
	ts := newTestServer(t, testdb.SQLite(t))
	var batch []model.StepInput
	for i := range 20_000 {
		batch = append(batch, model.StepInput{Component: "api", Version: fmt.Sprint(i / 4), Owner: "ana",
			Status: []string{"build", "finished"}[i%2], Time: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)})
		if len(batch) == store.MaxBatch {
			if _, _, err := ts.store.CreateSteps(context.Background(), batch, model.RecordMeta{ReceivedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	r := ts.do(t, "GET", "/v1/deployments?format=ndjson", nil)
	if r.status != 200 {
		t.Fatalf("list after an import = %d %s", r.status, r.body)
	}
	// Two deployments per version (build, finished; build, finished).
	if n := strings.Count(string(r.body), "\n"); n != 10_000 {
		t.Errorf("list after an import has %d deployments, want 10000", n)
	}
	if !strings.Contains(string(r.body), `"attempt":2`) {
		t.Error("no redeploy numbered attempt 2")
	}
}

func TestTokens(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t),
		server.Token{Scope: server.ScopeWrite, Secret: "write-secret"},
		server.Token{Scope: server.ScopeRead, Secret: "read-secret"})
	tests := []struct {
		method, path, token string
		want                int
	}{
		{"POST", "/v1/steps?" + valid, "", 401},
		{"POST", "/v1/steps?" + valid, "wrong-secret", 401},
		{"POST", "/v1/steps?" + valid, "read-secret", 403},
		{"POST", "/v1/steps?" + valid, "write-secret", 201},
		{"GET", "/v1/steps", "", 401},
		{"GET", "/v1/steps", "wrong-secret", 401},
		{"GET", "/v1/steps", "read-secret", 200},
		{"GET", "/v1/steps", "write-secret", 200},
		{"GET", "/v1/steps/1", "", 401},
		{"GET", "/v1/steps/1", "read-secret", 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
	}
	for _, tt := range tests {
		var headers []string
		if tt.token != "" {
			headers = []string{"Authorization", "Bearer " + tt.token}
		}
		if r := ts.do(t, tt.method, tt.path, nil, headers...); r.status != tt.want {
			t.Errorf("%s %s with %q = %d %s, want %d", tt.method, tt.path, tt.token, r.status, r.body, tt.want)
		}
	}
}

func TestParseTokens(t *testing.T) {
	got, err := server.ParseTokens("write:ci-secret-1, read:dash-secret")
	if err != nil || len(got) != 2 || got[0] != (server.Token{Scope: "write", Secret: "ci-secret-1"}) || got[1].Scope != "read" {
		t.Errorf("ParseTokens = %+v, %v", got, err)
	}
	for _, bad := range []string{"admin:xxxxxxxx", "nocolon", "write:", "read:short"} {
		if _, err := server.ParseTokens(bad); err == nil {
			t.Errorf("ParseTokens(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "xxxxxxxx") || strings.Contains(err.Error(), "short") {
			t.Errorf("ParseTokens(%q) error %q echoes the secret", bad, err)
		}
	}
}

// TestValuesEndpoint checks GET /v1/values: its shape, its prefix and
// limit, and a 400 naming the parameter for each bad one.
func TestValuesEndpoint(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for _, c := range []string{"api", "api-gateway", "web"} {
		if r := ts.do(t, "POST", "/v1/steps?component="+c+"&version=1&owner=ana&status=build", nil); r.status != 201 {
			t.Fatalf("POST = %d %s", r.status, r.body)
		}
	}
	r := ts.do(t, "GET", "/v1/values?field=component&prefix=api&limit=5", nil)
	if r.status != 200 || string(r.body) != `{"field":"component","values":["api","api-gateway"]}`+"\n" {
		t.Errorf("GET /v1/values = %d %s", r.status, r.body)
	}
	r = ts.do(t, "GET", "/v1/values?field=status&prefix=zzz", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"values":[]`) {
		t.Errorf("no match = %d %s, want an empty list", r.status, r.body)
	}
	for q, field := range map[string]string{
		"":                              "field",
		"field=version":                 "field",
		"field=component&limit=0":       "limit",
		"field=component&limit=1001":    "limit",
		"field=component&limit=ten":     "limit",
		"field=component&prefix=%01":    "prefix",
		"field=component&component=api": "component",
	} {
		r := ts.do(t, "GET", "/v1/values?"+q, nil)
		if _, _, f := r.errorBody(t); r.status != 400 || f != field {
			t.Errorf("?%s = %d %s, want 400 naming %s", q, r.status, r.body, field)
		}
	}
}

// TestUnknownEndpoint: a path without a route answers 404 with a code of
// its own, not a missing step's, and says where the routes are listed.
func TestUnknownEndpoint(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for _, tt := range []struct{ method, path string }{
		{"GET", "/v1/nosuch"},
		{"POST", "/v1/nosuch"},
		{"DELETE", "/v1/nosuch/1"},
		{"GET", "/v1/"},
		{"GET", "/v2/nothing"},
	} {
		r := ts.do(t, tt.method, tt.path, nil)
		msg, code, _ := r.errorBody(t)
		want := "no such endpoint: " + tt.method + " " + tt.path + "; the API's endpoints are listed at /v1/openapi.yaml"
		if r.status != http.StatusNotFound || code != model.ENOENDPOINT || msg != want {
			t.Errorf("%s %s = %d %s; want 404 no_such_endpoint %q", tt.method, tt.path, r.status, r.body, want)
		}
	}
	// A missing step keeps its own code.
	r := ts.do(t, "GET", "/v1/steps/999", nil)
	if _, code, _ := r.errorBody(t); r.status != http.StatusNotFound || code != model.ENOTFOUND {
		t.Errorf("GET /v1/steps/999 = %d %s; want 404 not_found", r.status, r.body)
	}
}
