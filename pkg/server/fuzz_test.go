package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

// The fuzz targets drive the real handler over a real SQLite store: any
// input must get a 2xx or a 4xx, never a 5xx or a panic, and what is
// acknowledged must be stored as sent. Run one for a minute with:
//
//	go test ./pkg/server -run '^$' -fuzz FuzzRecordStep -fuzztime 60s

func fuzzServer(f *testing.F) http.Handler {
	st := testdb.Open(f, testdb.SQLite(f))
	return server.New(server.Config{Store: st, RateLimit: -1, Now: func() time.Time { return t0 }})
}

func serve(h http.Handler, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	// Set the target by hand: httptest.NewRequest panics on what a real
	// client could still send.
	req.URL = &url.URL{Path: "/v1/steps", RawQuery: target}
	req.RequestURI = req.URL.RequestURI()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkStatus(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 || rec.Code < 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if rec.Code >= 400 {
		var e struct{ Error, Code string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Code == "" {
			t.Fatalf("status %d with body %q: not a JSON error", rec.Code, rec.Body.String())
		}
	}
}

func FuzzRecordStep(f *testing.F) {
	f.Add("component=c1&version=v1&owner=o1&status=s1", "", []byte(nil))
	f.Add("", "application/x-www-form-urlencoded", []byte("component=api&version=1.2.0&owner=ana&status=build&environment=prod"))
	f.Add("", "application/json", []byte(`{"component":"api","version":"1","owner":"o","status":"s","time":"2026-03-01T10:00:00Z"}`))
	f.Add("component=a&version=%FF&owner=o&status=s", "", []byte(nil))
	f.Add("component=a&version=1&owner=o&status=s&time=2026-03-01", "application/json", []byte(`{"status":"s"}`))
	f.Add("component=%00&version=1&owner=o&status=s", "text/plain", []byte("x"))
	f.Add("component=x'+OR+'1'%3D'1&version=1&owner=o&status=s", "", []byte(nil))
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		rec := serve(h, "POST", query, contentType, body)
		checkStatus(t, rec)
		if rec.Code != http.StatusCreated {
			return
		}
		var st model.Step
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("201 with body %q", rec.Body.String())
		}
		in := model.StepInput{Component: st.Component, Version: st.Version, Owner: st.Owner, Status: st.Status, Environment: st.Environment}
		if err := in.Validate(); err != nil {
			t.Fatalf("stored an invalid step %+v: %v", st, err)
		}
		if st.Time.After(t0.Add(server.DefaultMaxFutureSkew)) {
			t.Fatalf("stored a time beyond the allowed skew: %v", st.Time)
		}
	})
}

func FuzzBatch(f *testing.F) {
	f.Add("text/csv", []byte("component,version,owner,status,ts\nc,1,o,s,2025-01-02 03:04:05\n"))
	f.Add("text/csv", []byte("component,version,owner,status,ts,environment,id,received_at\n'=x,1,o,s,2025-01-02 03:04:05,,7,2025-01-02 03:04:05\n"))
	f.Add("application/x-ndjson", []byte(`{"component":"c","version":"1","owner":"o","status":"s"}`+"\n"+`{"id":3,"received_at":"x","component":"c","version":"1","owner":"o","status":"s"}`))
	f.Add("application/json", []byte(`[{"component":"c","version":"1","owner":"o","status":"s"},{"component":""}]`))
	f.Add("text/csv", []byte("\uFEFFcomponent,version\n\"unterminated"))
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest("POST", "/v1/steps/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkStatus(t, rec)
	})
}

func FuzzListSteps(f *testing.F) {
	for _, q := range []string{"owner=o1", "format=json&limit=5", "since=2026-01-01&until=2026-01-02", "start_datetime=2026-01-01%2000:00:00",
		"cursor=MTc2NzMyMzA0NTAwMDAwMC4y&limit=1", "format=ndjson&order=desc", "limit=-1", "since=%ff", "a=1&a=2"} {
		f.Add(q)
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		checkStatus(t, serve(h, "GET", query, "", nil))
	})
}

// FuzzJSONStep sends any bytes as a JSON step. What is acknowledged must be
// what the body says, as encoding/json reads a valid body: no invalid byte
// or lone surrogate turned into U+FFFD, no repeated field resolved by a
// guess.
func FuzzJSONStep(f *testing.F) {
	f.Add([]byte(`{"component":"api","version":"1","owner":"o","status":"s","environment":null}`))
	f.Add([]byte(`{"component":"api","version":"1","owner":"o","status":"s","status":"t"}`))
	f.Add([]byte(`{"component":"a\ud800","version":"1","owner":"o","status":"s"}`))
	f.Add([]byte(`{"component":"a\ud83d\ude80","version":"1","owner":"o","status":"s"}`))
	f.Add([]byte("{\"component\":\"a\xff\",\"version\":\"1\",\"owner\":\"o\",\"status\":\"s\"}"))
	f.Add([]byte(`{"component":"\u202eipa","version":"1","owner":"\u200b","status":"s"}`))
	f.Add([]byte(`{"component":"a","version":"1","owner":"o","status":"s","time":"0001-01-01"}`))
	f.Add([]byte(`{"component":"a","version":"1","owner":"o","status":"s"} {}`))
	f.Add([]byte(`{"component":"\ufffd","version":"1","owner":"o","status":"s"}`))
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serve(h, "POST", "", "application/json", body)
		checkStatus(t, rec)
		if rec.Code != http.StatusCreated {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("201 for a body with invalid UTF-8: %q", body)
		}
		var sent map[string]*string
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatalf("201 for %q, which is not a JSON object of strings: %v", body, err)
		}
		var st model.Step
		if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
			t.Fatalf("201 with body %q", rec.Body.String())
		}
		for name, got := range map[string]string{"component": st.Component, "version": st.Version, "owner": st.Owner, "status": st.Status, "environment": st.Environment} {
			want := ""
			if v := sent[name]; v != nil {
				want = model.TrimText(*v)
			}
			if got != want {
				t.Fatalf("%s stored as %q, sent %q", name, got, want)
			}
			if strings.ContainsRune(got, utf8.RuneError) && !bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
				t.Fatalf("%s stored with U+FFFD that %q did not send", name, body)
			}
		}
	})
}

// FuzzJSONBatch sends any bytes as a JSON array or NDJSON batch. A 201
// stores one step per item; a 400 names rows that exist.
func FuzzJSONBatch(f *testing.F) {
	f.Add(true, []byte(`{"component":"c","version":"1","owner":"o","status":"s"}`+"\n\n"+`{"id":3,"component":"c","version":"1","owner":"o","status":"s"}`))
	f.Add(false, []byte(`[{"component":"c","version":"1","owner":"o","status":"s"},{"component":"c","version":"1","owner":"o","status":"s"}]`))
	f.Add(true, []byte("{\"component\":\"c\",\"version\":\"1\",\"owner\":\"o\xc3\",\"status\":\"s\"}\n{\"component\":\"c\",\"component\":\"c\"}"))
	f.Add(false, []byte(`[{"component":"\udc00","version":"1","owner":"o","status":"s"}]`))
	f.Add(false, []byte(`[{"component":"c","version":"1","owner":"o","status":"s","received_at":{"x":[1,2]}}]`))
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, ndjson bool, body []byte) {
		contentType := "application/json"
		items := 0
		if ndjson {
			contentType = "application/x-ndjson"
			for line := range bytes.Lines(body) {
				if len(bytes.TrimSpace(line)) > 0 {
					items++
				}
			}
		} else {
			var raw []json.RawMessage
			if json.Unmarshal(body, &raw) == nil {
				items = len(raw)
			}
		}
		req := httptest.NewRequest("POST", "/v1/steps/batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkStatus(t, rec)
		switch rec.Code {
		case http.StatusCreated:
			if !utf8.Valid(body) {
				t.Fatalf("201 for a batch with invalid UTF-8: %q", body)
			}
			var out struct{ Count int }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Count != items {
				t.Fatalf("201 storing %d steps for %d items (%v): %q", out.Count, items, err, body)
			}
		case http.StatusBadRequest:
			var e struct{ Rows []model.RowError }
			json.Unmarshal(rec.Body.Bytes(), &e) //nolint:errcheck // checkStatus saw JSON
			for _, row := range e.Rows {
				if row.Row < 1 || row.Row > items {
					t.Fatalf("row %d reported of %d items: %s", row.Row, items, rec.Body.String())
				}
			}
		}
	})
}

// FuzzRawQuery sends any bytes as the query string of a write and of a
// list. A query that url.ParseQuery cannot parse whole, which r.URL.Query()
// would have quietly thinned, must never be acted upon.
func FuzzRawQuery(f *testing.F) {
	for _, q := range []string{
		"component=c1&version=v1&owner=o1&status=s1",
		"component=c1&version=v1&owner=o1&status=s1&environment=prod;eu",
		"component=c1&version=v1&owner=o1&status=s1&time=%zz",
		"component=%E2%80%AEipa&version=v1&owner=o1&status=s1",
		"%zz&component=c1&version=v1&owner=o1&status=s1",
		"component=c1&&version=v1&owner=o1&status=s1&",
		"component=c1&version=v1&owner=o1&status=s1&time=0001-01-01",
		"format=json&since=9999-12-31T23:00:00-02:00",
		"format=json&component=c1%20&limit=1&cursor=MTc2NzMyMzA0NTAwMDAwMC4y",
		"component=c\xff&version=v1&owner=o1&status=s1",
	} {
		f.Add(q)
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		for _, method := range []string{"POST", "GET"} {
			rec := serve(h, method, query, "", nil)
			checkStatus(t, rec)
			if _, err := url.ParseQuery(query); err != nil && rec.Code < 300 {
				t.Fatalf("%s ?%q = %d, though the query does not parse (%v)", method, query, rec.Code, err)
			}
		}
	})
}
