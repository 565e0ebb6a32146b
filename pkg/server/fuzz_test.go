package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

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
