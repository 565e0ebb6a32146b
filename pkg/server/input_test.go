package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// The input rules of docs/security.md, each checked through a real server
// on every database: what a hostile or careless client sends is refused
// with a 400 (or 403, 415) naming what is wrong, and nothing is stored.

// doRaw sends a request whose query string goes on the wire exactly as
// given: http.NewRequest would refuse, or re-escape, what a hostile client
// can still send.
func (ts *testServer) doRaw(t *testing.T, method, path, rawQuery string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = rawQuery
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return send(t, req)
}

// refused checks a JSON error with the status and field, and that no row
// was stored by it.
func refused(t *testing.T, ts *testServer, what string, before int, r response, status int, field string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s = %d %s, want %d", what, r.status, r.body, status)
		return
	}
	msg, code, gotField := r.errorBody(t)
	if code != api.CodeOf(status) || gotField != field || msg == "" {
		t.Errorf("%s: error %q code %q field %q; want code %q field %q", what, msg, code, gotField, api.CodeOf(status), field)
	}
	if after := ts.count(t); after != before {
		t.Errorf("%s stored %d rows", what, after-before)
	}
}

func TestMalformedOrUnknownQueryIsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.mustPost(t, valid) // step 1, for GET /v1/steps/1
		json := []string{"Content-Type", "application/json"}
		tests := []struct {
			name, method, path, query string
			body                      string
			headers                   []string
			field                     string
		}{
			{"bad escape in a value of a write", "POST", "/v1/steps", valid + "&time=%zz", "", nil, "time"},
			{"bad escape in a filter", "GET", "/v1/steps", "component=%zz", "", nil, "component"},
			{"half an escape", "GET", "/v1/steps", "owner=ana%2", "", nil, "owner"},
			{"bad escape in a name", "POST", "/v1/steps", "%zz=1&" + valid, "", nil, "query"},
			{"semicolon separator in a write", "POST", "/v1/steps", valid + "&environment=prod;eu", "", nil, "environment"},
			{"semicolon in a list", "GET", "/v1/steps", "since=2026-01-01;until=2026-01-02", "", nil, "since"},
			{"bad escape on deployments", "GET", "/v1/deployments", "environment=%G0", "", nil, "environment"},
			{"bad escape on stats", "GET", "/v1/stats", "bucket=%", "", nil, "bucket"},
			{"unknown parameter on one step", "GET", "/v1/steps/1", "format=csv", "", nil, "format"},
			{"unknown parameter on a batch", "POST", "/v1/steps/batch", "dry_run=1",
				`[{"component":"a","version":"1","owner":"o","status":"s"}]`, json, "dry_run"},
			{"bad escape on a batch", "POST", "/v1/steps/batch", "%zz",
				`[{"component":"a","version":"1","owner":"o","status":"s"}]`, json, "query"},
			{"unknown parameter on healthz", "GET", "/healthz", "verbose=1", "", nil, "verbose"},
			{"unknown parameter on readyz", "GET", "/readyz", "x", "", nil, "x"},
			{"unknown parameter on metrics", "GET", "/metrics", "name[]=steps_recorded_total", "", nil, "name[]"},
			{"unknown parameter on the description", "GET", "/v1/openapi.yaml", "v=2", "", nil, "v"},
			{"unknown parameter on the rules", "GET", "/v1/rules", "verbose=1", "", nil, "verbose"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.doRaw(t, tt.method, tt.path, tt.query, strings.NewReader(tt.body), tt.headers...)
				refused(t, ts, tt.method+" "+tt.path+"?"+tt.query, before, r, http.StatusBadRequest, tt.field)
			})
		}

		t.Run("TheOriginalAPIStillWorks", func(t *testing.T) {
			if r := ts.doRaw(t, "POST", "/v1/steps", valid+"&environment=prod%20eu", nil); r.status != http.StatusCreated || r.step(t).Environment != "prod eu" {
				t.Errorf("POST ?%s = %d %s", valid, r.status, r.body)
			}
			if r := ts.doRaw(t, "GET", "/v1/steps", "component=api&&format=json&", nil); r.status != http.StatusOK {
				t.Errorf("empty pairs = %d %s, want 200: they carry nothing to drop", r.status, r.body)
			}
		})

		t.Run("PagesIgnoreUnknownParameters", func(t *testing.T) {
			// A bookmark must survive a page change, and a tracking tag
			// must not break the dashboard; a malformed pair still does.
			if r := ts.doRaw(t, "GET", "/", "utm_source=mail", nil); r.status != http.StatusOK {
				t.Errorf("GET /?utm_source=mail = %d, want 200", r.status)
			}
		})
	})
}

func TestCrossSiteWritesAreRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t)) // open: no tokens, the default
		host := strings.TrimPrefix(ts.URL, "http://")
		form := []string{"Content-Type", "application/x-www-form-urlencoded"}
		tests := []struct {
			name    string
			query   string
			body    string
			headers []string
			status  int
		}{
			{"cross-site form", "", valid, append([]string{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"}, form...), 403},
			{"cross-site query-only post", valid, "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
			{"same-site sibling", valid, "", []string{"Sec-Fetch-Site", "same-site", "Origin", "http://other." + host}, 403},
			{"old browser, foreign origin", valid, "", []string{"Origin", "http://evil.example"}, 403},
			{"sandboxed page, null origin", valid, "", []string{"Origin", "null"}, 403},
			{"text/plain body, as a cross-site form sends", "", valid, []string{"Content-Type", "text/plain"}, 415},
			{"multipart body", "", "--x--", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415},
			{"JSON body without Content-Type", "", `{"component":"api","version":"1","owner":"o","status":"s"}`, nil, 415},
			{"same-origin page", valid, "", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://" + host}, 201},
			{"typed address", valid, "", []string{"Sec-Fetch-Site", "none"}, 201},
			{"old browser, same origin", valid, "", []string{"Origin", "http://" + host}, 201},
			{"curl with the original API's query", valid, "", nil, 201},
			{"curl -d form", "", valid, form, 201},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.doRaw(t, "POST", "/v1/steps", tt.query, strings.NewReader(tt.body), tt.headers...)
				if tt.status == 201 {
					if r.status != 201 || ts.count(t) != before+1 {
						t.Errorf("status %d %s, want 201 and a row", r.status, r.body)
					}
					return
				}
				refused(t, ts, tt.name, before, r, tt.status, "")
			})
		}

		t.Run("Batch", func(t *testing.T) {
			before := ts.count(t)
			body := `[{"component":"a","version":"1","owner":"o","status":"s"}]`
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body), "Sec-Fetch-Site", "cross-site", "Content-Type", "application/json")
			refused(t, ts, "cross-site batch", before, r, 403, "")
			r = ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(body))
			refused(t, ts, "batch without Content-Type", before, r, 415, "")
		})

		t.Run("CrossSiteReadsStillAnswer", func(t *testing.T) {
			// A browser keeps a cross-site answer from the page without
			// CORS, and a link from a wiki to a list must work.
			if r := ts.do(t, "GET", "/v1/steps?format=json", nil, "Sec-Fetch-Site", "cross-site"); r.status != 200 {
				t.Errorf("cross-site GET = %d %s", r.status, r.body)
			}
		})
	})

	t.Run("EvenWithAValidToken", func(t *testing.T) {
		ts := newTestServer(t, testdb.SQLite(t), server.Token{Scope: server.ScopeWrite, Secret: "write-secret"})
		r := ts.do(t, "POST", "/v1/steps?"+valid, nil, "Authorization", "Bearer write-secret", "Origin", "http://evil.example")
		refused(t, ts, "cross-site write with a token", 0, r, 403, "")
	})
}

func TestExplicitZeroTimeIsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for _, tc := range []struct{ name, method, path, ctype, body string }{
			{"query date", "POST", "/v1/steps?" + valid + "&time=0001-01-01", "", ""},
			{"query RFC 3339", "POST", "/v1/steps?" + valid + "&time=0001-01-01T00:00:00Z", "", ""},
			{"JSON", "POST", "/v1/steps", "application/json", `{"component":"a","version":"1","owner":"o","status":"s","time":"0001-01-01 00:00:00"}`},
			{"form", "POST", "/v1/steps", "application/x-www-form-urlencoded", valid + "&time=0001-01-01"},
		} {
			var headers []string
			if tc.ctype != "" {
				headers = []string{"Content-Type", tc.ctype}
			}
			r := ts.do(t, tc.method, tc.path, strings.NewReader(tc.body), headers...)
			refused(t, ts, tc.name, 0, r, 400, "time")
		}
		r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status,ts\na,1,o,s,0001-01-01 00:00:00\n"), "Content-Type", "text/csv")
		refused(t, ts, "CSV batch", 0, r, 400, "rows")
		if rows := batchRows(t, r); len(rows) != 1 || rows[0].Field != "time" {
			t.Errorf("CSV batch rows %+v, want one naming time", rows)
		}
	})
}

func batchRows(t *testing.T, r response) []model.RowError {
	t.Helper()
	var e struct{ Rows []model.RowError }
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Rows
}

func TestJSONTextIsStrict(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		jsonType := []string{"Content-Type", "application/json"}
		for _, tc := range []struct{ name, body, field string }{
			{"invalid UTF-8", "{\"component\":\"a\",\"version\":\"1\xff\",\"owner\":\"o\",\"status\":\"s\"}", "version"},
			{"lone high surrogate", `{"component":"a","version":"1","owner":"\ud800","status":"s"}`, "owner"},
			{"lone low surrogate", `{"component":"a","version":"1","owner":"o","status":"x\udc00y"}`, "status"},
			{"surrogates reversed", `{"component":"\udc00\ud800","version":"1","owner":"o","status":"s"}`, "component"},
			{"duplicate key", `{"component":"a","component":"b","version":"1","owner":"o","status":"s"}`, "component"},
			{"duplicate key, same value", `{"component":"a","version":"1","owner":"o","status":"s","status":"s"}`, "status"},
			{"invalid UTF-8 in a name", "{\"comp\xffonent\":\"a\"}", "body"},
			{"two objects", `{"component":"a","version":"1","owner":"o","status":"s"}{}`, "body"},
		} {
			r := ts.do(t, "POST", "/v1/steps", strings.NewReader(tc.body), jsonType...)
			refused(t, ts, tc.name, 0, r, 400, tc.field)
		}
		ok := `{"component":"a\ud83d\ude80","version":"1","owner":"o","status":"s","environment":null}`
		if r := ts.do(t, "POST", "/v1/steps", strings.NewReader(ok), jsonType...); r.status != 201 || r.step(t).Component != "a🚀" {
			t.Fatalf("a surrogate pair = %d %s, want 201 with a🚀", r.status, r.body)
		}

		for _, tc := range []struct{ name, ctype, body string }{
			{"NDJSON", "application/x-ndjson", "{\"component\":\"a\",\"version\":\"1\",\"owner\":\"o\",\"status\":\"s\"}\n{\"component\":\"a\",\"version\":\"1\",\"owner\":\"o\xc3\",\"status\":\"s\"}\n{\"component\":\"a\",\"version\":\"1\",\"version\":\"2\",\"owner\":\"o\",\"status\":\"s\"}\n"},
			{"JSON array", "application/json", "[{\"component\":\"a\",\"version\":\"1\",\"owner\":\"o\",\"status\":\"s\"},{\"component\":\"a\",\"version\":\"1\",\"owner\":\"o\xc3\",\"status\":\"s\"},{\"component\":\"a\",\"version\":\"1\",\"version\":\"2\",\"owner\":\"o\",\"status\":\"s\"}]"},
		} {
			before := ts.count(t)
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(tc.body), "Content-Type", tc.ctype)
			refused(t, ts, tc.name, before, r, 400, "rows")
			rows := batchRows(t, r)
			if len(rows) != 2 || rows[0].Row != 2 || rows[0].Field != "owner" || rows[1].Row != 3 || rows[1].Field != "version" {
				t.Errorf("%s: rows %+v, want row 2 owner and row 3 version", tc.name, rows)
			}
		}
	})
}

func TestTimeBoundsAndForgedCursors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for range 3 {
			ts.mustPost(t, valid)
		}
		for query, field := range map[string]string{
			"since=9999-12-31T23:00:00-02:00": "since", // year 10000 in UTC
			"until=9999-12-31T23:00:00-02:00": "until",
			"end_datetime=0001-01-01":         "end_datetime",
			"until=0001-01-01T00:00:00Z":      "until", // the zero time: not "no bound"
			"since=0999-12-31":                "since",
			"since=100000000h":                "since", // a span back before year 1000
		} {
			r := ts.do(t, "GET", "/v1/steps?format=json&"+query, nil)
			refused(t, ts, query, 3, r, 400, field)
		}
		for query, want := range map[string]int{
			"since=1000-01-01":                  3,
			"until=9999-12-31":                  3,
			"until=9999-12-31T23:59:59.999999Z": 3,
			"since=9999-12-31T23:59:59.999999Z": 0,
			"until=1970-01-01T00:00:00Z":        0,
			"since=1970-01-01&until=9999-12-31": 3,
		} {
			if got, _ := ts.listJSON(t, query); len(got) != want {
				t.Errorf("?%s: %d steps, want %d", query, len(got), want)
			}
		}

		b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for _, cursor := range []string{
			b64("253402300800000000.1"), // year 10000
			b64("-62135596800000000.1"), // year 1
			b64("-1.1"),                 // before 1970
			b64("1772442000000000.0"),   // id 0
			b64("+1772442000000000.1"),  // not the form the server writes
			b64("01772442000000000.1"),
			b64("1772442000000000.1 "),
			b64("1772442000000000.9223372036854775808"),
		} {
			r := ts.do(t, "GET", "/v1/steps?format=json&limit=2&cursor="+cursor, nil)
			refused(t, ts, "cursor "+cursor, 3, r, 400, "cursor")
		}
		_, next := ts.listJSON(t, "limit=2")
		if got, _ := ts.listJSON(t, "limit=2&cursor="+next); len(got) != 1 {
			t.Errorf("a real cursor gives %d steps, want 1", len(got))
		}

		for _, cursor := range []string{
			b64(`[253402300800000000,"api","1.2.0","",1]`),
			b64(`[1772442000000000,"api","1.2.0","",0]`),
			b64(`[1772442000000000,"` + strings.Repeat("a", 129) + `","1.2.0","",1]`),
			b64("[1772442000000000,\"api\xff\",\"1.2.0\",\"\",1]"),
			b64(`[1772442000000000, "api","1.2.0","",1]`),
		} {
			r := ts.do(t, "GET", "/v1/deployments?limit=2&cursor="+cursor, nil)
			refused(t, ts, "deployment cursor "+cursor, 3, r, 400, "cursor")
		}
	})
}

func TestFilterValuesAreTrimmedAsStoredValues(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.mustPost(t, "component=%20api%20&version=1&owner=ana&status=build&environment=prod")
		ts.mustPost(t, "component=web&version=1&owner=ana&status=build")
		// SQLite compares "api " and "api" as different, MySQL's PAD SPACE
		// as equal; trimmed as the stored values were, both answer alike.
		for query, want := range map[string]int{
			"component=api%20":          1,
			"component=%20api":          1,
			"component=%09api%0A":       1,
			"environment=prod%20%20":    1,
			"owner=ana%20&status=build": 2,
		} {
			if got, _ := ts.listJSON(t, query); len(got) != want {
				t.Errorf("?%s: %d steps, want %d", query, len(got), want)
			}
		}
		r := ts.do(t, "GET", "/v1/deployments?format=json&component=api%20", nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"component":"api"`) {
			t.Errorf("deployments ?component=api%%20 = %d %s", r.status, r.body)
		}
	})
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t), server.Token{Scope: server.ScopeWrite, Secret: "write-secret"})
	for _, h := range []string{"Bearer write-secret", "bearer write-secret", "BEARER write-secret", "bEaReR  write-secret "} {
		if r := ts.do(t, "POST", "/v1/steps?"+valid, nil, "Authorization", h); r.status != 201 {
			t.Errorf("Authorization: %q = %d %s, want 201", h, r.status, r.body)
		}
	}
	for _, h := range []string{"Basic write-secret", "Bearerwrite-secret", "Bearer", "Token write-secret"} {
		if r := ts.do(t, "POST", "/v1/steps?"+valid, nil, "Authorization", h); r.status != 401 {
			t.Errorf("Authorization: %q = %d %s, want 401", h, r.status, r.body)
		}
	}
}

// TestByteOrderMarkAroundAValueIsTrimmed: a script on Windows reads its
// version from a file that Notepad or PowerShell 5.1 saved with a
// byte-order mark (VERSION=$(cat VERSION) is "\uFEFF1.2.3"). Stored as
// sent, the mark made a second version that looks the same: the build
// stayed in progress for good in one deployment, and the finish made a
// deployment of its own.
func TestByteOrderMarkAroundAValueIsTrimmed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.mustPost(t, "component=api&version=%EF%BB%BF1.2.3&owner=ana&status=build")
		ts.clock.Set(t0.Add(time.Minute))
		body := "{\"component\":\"api\",\"version\":\"\uFEFF1.2.3\uFEFF\",\"owner\":\"ana\",\"status\":\"tests\"}"
		if r := ts.do(t, "POST", "/v1/steps", strings.NewReader(body), "Content-Type", "application/json"); r.status != 201 || r.step(t).Version != "1.2.3" {
			t.Fatalf("JSON step = %d %s, want 201 with version 1.2.3", r.status, r.body)
		}
		ts.clock.Set(t0.Add(2 * time.Minute))
		ts.mustPost(t, "component=api&version=1.2.3&owner=ana&status=finished")

		steps, _ := ts.listJSON(t, "component=api")
		for _, st := range steps {
			if st.Version != "1.2.3" {
				t.Errorf("step %d stored version %q, want \"1.2.3\"", st.ID, st.Version)
			}
		}
		if got, _ := ts.listJSON(t, "version=%EF%BB%BF1.2.3"); len(got) != 3 {
			t.Errorf("?version=<BOM>1.2.3: %d steps, want 3", len(got))
		}
		r := ts.do(t, "GET", "/v1/deployments?format=json&component=api", nil)
		var page struct{ Deployments []model.Deployment }
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("deployments = %d %s (%v)", r.status, r.body, err)
		}
		if len(page.Deployments) != 1 || page.Deployments[0].Outcome != model.OutcomeSuccess || len(page.Deployments[0].Steps) != 3 {
			t.Errorf("deployments %s: want one successful deployment of 3 steps", r.body)
		}
	})
}

// TestCarriageReturnErrorSaysWhereItComesFrom: a script saved with CRLF
// line endings sends its last word with a CR (-d status=build\r). "found
// U+000D" alone did not tell a Windows author what to fix.
func TestCarriageReturnErrorSaysWhereItComesFrom(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	r := ts.do(t, "POST", "/v1/steps", strings.NewReader("component=api&version=1&owner=ana&status=build\r"), "Content-Type", "application/x-www-form-urlencoded")
	refused(t, ts, "status with a CR", 0, r, 400, "status")
	if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "U+000D, a carriage return") || !strings.Contains(msg, "dos2unix") {
		t.Errorf("message %q: want it to name the carriage return and how to remove it", msg)
	}
}

// TestUnixTimeIsAnsweredWithTheDatetimeItMeans: a script sends the time
// as $(date +%s), Python's time.time() or JavaScript's Date.now(). The
// 400 said "time must be a JSON string", then, quoted, listed the forms
// taken: neither said how to get from the number to one of them.
func TestUnixTimeIsAnsweredWithTheDatetimeItMeans(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	step := `{"component":"api","version":"1","owner":"ana","status":"build",`
	for _, tc := range []struct{ name, body, field, want string }{
		{"seconds as a JSON number", step + `"time":1764756000}`, "time", `"2025-12-03T10:00:00Z"`},
		{"seconds as a string", step + `"time":"1764756000"}`, "time", `"2025-12-03T10:00:00Z"`},
		{"seconds with a fraction", step + `"time":1764756000.25}`, "time", `"2025-12-03T10:00:00Z"`},
		{"milliseconds", step + `"time":"1764756000123"}`, "time", `"2025-12-03T10:00:00Z"`},
		{"commit time", step + `"committed_at":1764756000}`, "committed_at", `"2025-12-03T10:00:00Z"`},
		{"a number that is no time", step + `"time":42}`, "time", `a datetime, such as "2026-01-02T15:04:05Z"`},
		{"version as a number", `{"component":"api","version":1.10,"owner":"ana","status":"build"}`, "version", `quote it ("1.10")`},
	} {
		r := ts.do(t, "POST", "/v1/steps", strings.NewReader(tc.body), "Content-Type", "application/json")
		refused(t, ts, tc.name, 0, r, 400, tc.field)
		if msg, _, _ := r.errorBody(t); r.status == 400 && !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message %q lacks %q", tc.name, msg, tc.want)
		}
	}
	r := ts.do(t, "POST", "/v1/steps?component=api&version=1&owner=ana&status=build&time=1764756000", nil)
	if msg, _, _ := r.errorBody(t); r.status != 400 || !strings.Contains(msg, "looks like unix time") {
		t.Errorf("time=1764756000 in the query = %d %s, want a 400 that says it looks like unix time", r.status, r.body)
	}
}

// TestLatin1TextSaysWhatToFix: Windows PowerShell 5.1 sends a string body
// in ISO-8859-1 unless its Content-Type names charset=utf-8, so an owner
// "José" arrives as "Jos\xe9". The 400 said "must be valid UTF-8" and no
// more; it now names the byte and the PowerShell setting.
func TestLatin1TextSaysWhatToFix(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	for name, r := range map[string]response{
		"form":  ts.do(t, "POST", "/v1/steps", strings.NewReader("component=api&version=1&owner=Jos\xe9&status=build"), "Content-Type", "application/x-www-form-urlencoded"),
		"query": ts.doRaw(t, "POST", "/v1/steps", "component=api&version=1&owner=Jos%E9&status=build", nil),
		"JSON":  ts.do(t, "POST", "/v1/steps", strings.NewReader(`{"component":"api","version":"1","owner":"Jos`+"\xe9"+`","status":"build"}`), "Content-Type", "application/json"),
	} {
		refused(t, ts, name, 0, r, 400, "owner")
		if msg, _, _ := r.errorBody(t); (name != "JSON" && !strings.Contains(msg, "byte 0xE9 at byte 4")) || !strings.Contains(msg, "charset=utf-8") {
			t.Errorf("%s: message %q: want the byte named and the PowerShell setting", name, msg)
		}
	}
}

func TestBidiAndInvisibleTextIsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for _, tc := range []struct{ name, value, inMsg string }{
			{"right-to-left override", "\u202Eipa", "bidirectional"},
			{"left-to-right embedding", "a\u202Ab", "bidirectional"},
			{"pop directional formatting", "ab\u202C", "bidirectional"},
			{"first strong isolate", "a\u2068b\u2069", "bidirectional"},
			{"right-to-left mark", "v1\u200F", "bidirectional"},
			{"zero-width spaces", "\u200B\u200B", "blank"},
			{"zero-width joiner", "\u200D", "blank"},
			{"word joiner and BOM", "\u2060\uFEFF", "blank"},
			{"Hangul filler", "\u3164", "blank"},
			{"soft hyphen and spaces", " \u00AD ", "blank"},
			{"variation selector", "\uFE0F", "blank"},
			{"blank braille", "\u2800\u2800", "blank"},
			{"ideographic space", "\u3000", "blank"},
		} {
			body, _ := json.Marshal(map[string]string{"component": "api", "version": "1", "owner": tc.value, "status": "s"})
			r := ts.do(t, "POST", "/v1/steps", strings.NewReader(string(body)), "Content-Type", "application/json")
			refused(t, ts, tc.name, 0, r, 400, "owner")
			if msg, _, _ := r.errorBody(t); !strings.Contains(msg, tc.inMsg) {
				t.Errorf("%s: message %q lacks %q", tc.name, msg, tc.inMsg)
			}
		}
		// Visible text that uses joiners and marks within words stays.
		for _, v := range []string{"👩\u200D💻", "می\u200Cخواهم", "עברית", "café"} {
			body, _ := json.Marshal(map[string]string{"component": "api", "version": "1", "owner": v, "status": "s"})
			if r := ts.do(t, "POST", "/v1/steps", strings.NewReader(string(body)), "Content-Type", "application/json"); r.status != 201 || r.step(t).Owner != v {
				t.Errorf("owner %q = %d %s, want 201", v, r.status, r.body)
			}
		}
	})
}

// TestBatchBodyErrorsSayWhatIsWrong: a batch's body error must describe the
// body the client sent. Two objects on one NDJSON line were answered with
// "send Content-Type: application/x-ndjson", which the client had done, and
// a JSON array cut short with "EOF".
func TestBatchBodyErrorsSayWhatIsWrong(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		step := `{"component":"a","version":"1","owner":"o","status":"s"}`

		r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(step+"\n"+step+step+"\n"), "Content-Type", "application/x-ndjson")
		refused(t, ts, "two steps on one NDJSON line", 0, r, 400, "rows")
		rows := batchRows(t, r)
		if len(rows) != 1 || rows[0].Row != 2 || strings.Contains(rows[0].Error, "Content-Type") || !strings.Contains(rows[0].Error, "one step per line") {
			t.Errorf("rows %+v: want row 2 saying to put one step per line, without advice to send the Content-Type already sent", rows)
		}

		r = ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("["+step+","), "Content-Type", "application/json")
		refused(t, ts, "a JSON array cut short", 0, r, 400, "body")
		if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "ends too soon") || strings.Contains(msg, "EOF") || strings.Contains(msg, "x-ndjson") {
			t.Errorf("cut array: %q, want it to say the array ends too soon (no EOF, no NDJSON advice)", msg)
		}

		r = ts.do(t, "POST", "/v1/steps/batch", strings.NewReader(step), "Content-Type", "application/json")
		refused(t, ts, "an object for an array", 0, r, 400, "body")
		if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "x-ndjson") {
			t.Errorf("an object for an array: %q, want the advice to send NDJSON", msg)
		}
	})
}

// TestStepArrayPointsToBatch: a JSON array sent to the one-step route is a
// batch sent to the wrong place; the 400 says where it goes, rather than
// only "it starts with an array", and stores nothing.
func TestStepArrayPointsToBatch(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	step := `{"component":"a","version":"1","owner":"o","status":"s"}`
	for _, body := range []string{"[" + step + "]", " \n[" + step + "," + step + "]", "[]"} {
		r := ts.do(t, "POST", "/v1/steps", strings.NewReader(body), "Content-Type", "application/json")
		refused(t, ts, "an array to /v1/steps", 0, r, 400, "body")
		if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "POST /v1/steps/batch") {
			t.Errorf("array %q: message %q, want it to point to POST /v1/steps/batch", body, msg)
		}
	}
	r := ts.do(t, "POST", "/v1/steps", strings.NewReader(`"a step"`), "Content-Type", "application/json")
	if msg, _, _ := r.errorBody(t); r.status != 400 || strings.Contains(msg, "batch") {
		t.Errorf("a JSON string = %d %q, want a 400 without batch advice", r.status, msg)
	}
}

// TestRebindingHostsAreRefused: an open server answers a browser only
// when the Host it names is localhost, an IP address or an allowed name,
// so that a page that rebinds its own name to stepsd's address reaches
// nothing; scripts (no browser headers) and servers with tokens are not
// concerned.
func TestRebindingHostsAreRefused(t *testing.T) {
	dsn := testdb.SQLite(t)
	st := testdb.Open(t, dsn)
	open := httptest.NewServer(server.New(server.Config{Store: st, AllowedHosts: []string{"steps.corp.example", ".Team.Example."}}))
	t.Cleanup(open.Close)
	withTokens := httptest.NewServer(server.New(server.Config{Store: st, Tokens: []server.Token{{Scope: server.ScopeWrite, Secret: "write-secret-1"}}}))
	t.Cleanup(withTokens.Close)

	const write = "/v1/steps?component=api&version=1&owner=ana&status=build"
	browser := []string{"Sec-Fetch-Site", "same-origin"}
	plainHTTPBrowser := []string{
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
		"Accept", "*/*", "Accept-Language", "en-US,en;q=0.9", "Referer", "http://evil.example:8080/",
	}
	cases := []struct {
		name, base, method, path, host string
		headers                        []string
		want                           int
	}{
		{"rebound write", open.URL, "POST", write, "evil.example:8080", append(browser, "Origin", "http://evil.example:8080"), http.StatusForbidden},
		{"rebound read", open.URL, "GET", "/v1/steps", "evil.example:8080", browser, http.StatusForbidden},
		{"rebound old browser write", open.URL, "POST", write, "evil.example", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"rebound page", open.URL, "GET", "/", "evil.example", browser, http.StatusForbidden},
		// Over plain HTTP, Chromium 156 sends no Sec-Fetch-Site and, on a
		// same-origin GET, no Origin: these are the headers of a rebound
		// page's fetch() of a list, and of a navigation to the page.
		{"rebound read over HTTP", open.URL, "GET", "/v1/steps", "evil.example:8080", plainHTTPBrowser, http.StatusForbidden},
		{"rebound page over HTTP", open.URL, "GET", "/", "evil.example:8080", append(plainHTTPBrowser, "Upgrade-Insecure-Requests", "1"), http.StatusForbidden},
		{"rebound read, User-Agent replaced", open.URL, "GET", "/v1/steps", "evil.example:8080", []string{"User-Agent", "x", "Accept-Language", ""}, http.StatusForbidden},
		{"a browser over HTTP on an IP address", open.URL, "GET", "/v1/steps", "10.1.2.3:8080", plainHTTPBrowser, http.StatusOK},
		{"a script with its own User-Agent", open.URL, "GET", "/v1/steps", "evil.example:8080", []string{"User-Agent", "deploybot/1.4"}, http.StatusOK},
		// A Windows deploy script: PowerShell's User-Agent starts as a browser's.
		{"PowerShell's Invoke-RestMethod", open.URL, "POST", write, "stepsd.example:8080",
			[]string{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.6"}, http.StatusCreated},
		{"a name like an allowed one", open.URL, "GET", "/v1/steps", "evilteam.example", browser, http.StatusForbidden},
		{"localhost", open.URL, "POST", write, "localhost:8080", append(browser, "Origin", "http://localhost:8080"), http.StatusCreated},
		{"a .localhost name", open.URL, "GET", "/v1/steps", "steps.localhost:8080", browser, http.StatusOK},
		{"IPv4", open.URL, "GET", "/v1/steps", "10.1.2.3:8080", browser, http.StatusOK},
		{"IPv6", open.URL, "GET", "/v1/steps", "[::1]:8080", browser, http.StatusOK},
		{"an allowed name", open.URL, "GET", "/v1/steps", "Steps.Corp.Example:8080", browser, http.StatusOK},
		{"a name under an allowed domain", open.URL, "GET", "/", "steps.team.example", browser, http.StatusOK},
		{"the allowed domain itself", open.URL, "GET", "/v1/steps", "team.example.", browser, http.StatusOK},
		{"a script", open.URL, "POST", write, "evil.example:8080", nil, http.StatusCreated},
		{"tokens: the token decides", withTokens.URL, "POST", write, "evil.example:8080", append(browser, "Origin", "http://evil.example:8080"), http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, c.base+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = c.host
			for i := 0; i+1 < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			res := send(t, req)
			if res.status != c.want {
				t.Fatalf("%s %s with Host %s: %d, want %d: %s", c.method, c.path, c.host, res.status, c.want, res.body)
			}
			if c.want != http.StatusForbidden {
				return
			}
			if c.path == "/" {
				if !strings.Contains(string(res.body), "--allowed-hosts") {
					t.Errorf("the page's refusal does not say what to do: %s", res.body)
				}
				return
			}
			if msg, code, _ := res.errorBody(t); code != "forbidden" || !strings.Contains(msg, "--allowed-hosts") || !strings.Contains(msg, "tokens") {
				t.Errorf("refusal %q (%s) does not say what to do", msg, code)
			}
		})
	}

	for _, bad := range []string{"https://steps.corp", "steps.corp:8080", "steps corp", "", "a..b", "steps.corp/ui"} {
		if err := server.CheckAllowedHosts([]string{bad}); err == nil {
			t.Errorf("CheckAllowedHosts(%q) took it", bad)
		}
	}
	if err := server.CheckAllowedHosts([]string{"*", ".corp.example", "steps-1.corp.example."}); err != nil {
		t.Errorf("CheckAllowedHosts refused good names: %v", err)
	}
}

// TestFilterNoStepCanHoldIsRefused checks that a filter value a step could
// never be stored with (invalid UTF-8, a control or bidirectional
// character, only invisible characters, too long) is a 400 naming the
// filter on every list and analysis route, as the same value written is,
// rather than an empty answer that hides the mistake.
func TestFilterNoStepCanHoldIsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		ts.mustPost(t, valid)
		tests := []struct{ query, field string }{
			{"component=%ff", "component"},
			{"version=a%00b", "version"},
			{"owner=%e2%80%aeana", "owner"},
			{"status=%e2%80%8b", "status"},
			{"environment=" + strings.Repeat("e", model.MaxEnvironmentLen+1), "environment"},
			{"component=" + strings.Repeat("%f0%9f%98%80", model.MaxComponentLen+1), "component"},
		}
		for _, route := range []string{"/v1/steps", "/v1/deployments", "/v1/stats", "/v1/dora", "/v1/changes"} {
			for _, tt := range tests {
				if route == "/v1/changes" && tt.field != "component" && tt.field != "environment" {
					continue // changes take no other filter
				}
				r := ts.doRaw(t, "GET", route, tt.query, nil)
				if _, _, field := r.errorBody(t); r.status != http.StatusBadRequest || field != tt.field {
					t.Errorf("GET %s?%.40s = %d %s, want 400 naming %s", route, tt.query, r.status, r.body, tt.field)
				}
			}
		}
		// The longest value a step holds is still a filter.
		r := ts.doRaw(t, "GET", "/v1/steps", "format=json&environment="+strings.Repeat("e", model.MaxEnvironmentLen), nil)
		if r.status != http.StatusOK {
			t.Errorf("a filter of the longest environment = %d %s, want 200", r.status, r.body)
		}
	})
}
