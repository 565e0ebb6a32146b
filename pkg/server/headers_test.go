package server_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/hooks"
)

// doHeader sends a request with header as given, a name repeated as many
// times as it holds values (ts.do sets each name once).
func (ts *testServer) doHeader(t *testing.T, method, path string, body []byte, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return send(t, req)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	oneStepJSON = `{"component":"api","version":"1.2.0","owner":"ana","status":"build"}`
	batchNDJSON = oneStepJSON + "\n" + `{"component":"api","version":"1.2.0","owner":"ana","status":"finished"}` + "\n"
)

// TestRepeatedSingleHeadersAre400 checks that a header holding one value,
// sent twice, is refused naming it rather than read as its first value.
func TestRepeatedSingleHeadersAre400(t *testing.T) {
	ts := newHookServer(t, testdb.SQLite(t), nil)
	auth := "Bearer write-secret-123"
	hubSig := hooks.SignGitHub(testGitHubSecret, []byte(`{"zen":"x"}`))
	tests := []struct {
		name, path string
		body       string
		header     http.Header
		field      string
	}{
		{"two idempotency keys on a step", "/v1/steps?" + valid, "",
			http.Header{"Authorization": {auth}, "Idempotency-Key": {"a", "b"}}, "Idempotency-Key"},
		{"two idempotency keys on a JSON step", "/v1/steps", oneStepJSON,
			http.Header{"Authorization": {auth}, "Content-Type": {"application/json"}, "Idempotency-Key": {"a", "a"}}, "Idempotency-Key"},
		{"two idempotency keys on a batch", "/v1/steps/batch", batchNDJSON,
			http.Header{"Authorization": {auth}, "Content-Type": {"application/x-ndjson"}, "Idempotency-Key": {"a", "b"}}, "Idempotency-Key"},
		{"two content types on a step", "/v1/steps", oneStepJSON,
			http.Header{"Authorization": {auth}, "Content-Type": {"application/json", "application/x-www-form-urlencoded"}}, "Content-Type"},
		{"two content types on a batch", "/v1/steps/batch", batchNDJSON,
			http.Header{"Authorization": {auth}, "Content-Type": {"application/x-ndjson", "text/csv"}}, "Content-Type"},
		// Either token alone is valid: the first must not be picked.
		{"two authorizations", "/v1/steps?" + valid, "",
			http.Header{"Authorization": {auth, auth}}, "Authorization"},
		{"two gitlab tokens", "/v1/hooks/gitlab", `{"object_kind":"pipeline"}`,
			http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {"Pipeline Hook"}, "X-Gitlab-Token": {testGitLabToken, "other"}}, "X-Gitlab-Token"},
		{"two gitlab idempotency keys", "/v1/hooks/gitlab", `{"object_kind":"pipeline"}`,
			http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {"Pipeline Hook"}, "X-Gitlab-Token": {testGitLabToken}, "Idempotency-Key": {"a", "b"}}, "Idempotency-Key"},
		{"two github signatures", "/v1/hooks/github", `{"zen":"x"}`,
			http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"ping"}, "X-Hub-Signature-256": {hubSig, "sha256=00"}}, "X-Hub-Signature-256"},
		{"two github events", "/v1/hooks/github", `{"zen":"x"}`,
			http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"ping", "workflow_job"}, "X-Hub-Signature-256": {hubSig}}, "X-GitHub-Event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.count(t)
			r := ts.doHeader(t, "POST", tt.path, []byte(tt.body), tt.header)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", r.status, r.body)
			}
			msg, code, field := r.errorBody(t)
			if code != api.CodeOf(http.StatusBadRequest) || field != tt.field || !strings.Contains(msg, "given 2 times") {
				t.Errorf("error %q code %q field %q; want field %q and a message saying it is given 2 times", msg, code, field, tt.field)
			}
			if after := ts.count(t); after != before {
				t.Errorf("%d rows stored by a rejected request", after-before)
			}
		})
	}

	t.Run("each once is still accepted", func(t *testing.T) {
		r := ts.doHeader(t, "POST", "/v1/steps/batch", []byte(batchNDJSON), http.Header{
			"Authorization": {auth}, "Content-Type": {"application/x-ndjson"}, "Idempotency-Key": {"once"}})
		if r.status != http.StatusCreated {
			t.Fatalf("status %d %s, want 201", r.status, r.body)
		}
	})
}

// TestCompressedBodiesAre415 checks that a body sent with a
// Content-Encoding is refused as such, not parsed as text into a 400
// about its first bytes.
func TestCompressedBodiesAre415(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	tests := []struct {
		name, path, contentType string
		body                    []byte
		encoding                []string
	}{
		{"gzip step", "/v1/steps", "application/json", gzipped(t, oneStepJSON), []string{"gzip"}},
		{"gzip batch", "/v1/steps/batch", "application/x-ndjson", gzipped(t, batchNDJSON), []string{"gzip"}},
		{"gzip JSON array batch", "/v1/steps/batch", "application/json", gzipped(t, "["+oneStepJSON+"]"), []string{"gzip"}},
		{"br batch", "/v1/steps/batch", "text/csv", []byte("\x1b\x00"), []string{"br"}},
		// Encodings listed in one header or in several, identity or not.
		{"identity then gzip", "/v1/steps/batch", "application/x-ndjson", gzipped(t, batchNDJSON), []string{"identity, gzip"}},
		{"gzip in a second header", "/v1/steps", "application/json", gzipped(t, oneStepJSON), []string{"identity", "GZIP"}},
		// A step all in the query string, with an encoding claimed for
		// the body it does not send, is no less wrong.
		{"gzip on the query string form", "/v1/steps?" + valid, "", nil, []string{"gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.count(t)
			h := http.Header{"Content-Encoding": tt.encoding}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			r := ts.doHeader(t, "POST", tt.path, tt.body, h)
			if r.status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d %s, want 415", r.status, r.body)
			}
			msg, code, _ := r.errorBody(t)
			if code != api.CodeOf(http.StatusUnsupportedMediaType) || !strings.Contains(msg, "Content-Encoding") || !strings.Contains(msg, "uncompressed") {
				t.Errorf("error %q code %q; want a message that names Content-Encoding and asks for the body uncompressed", msg, code)
			}
			if got := r.header.Get("Accept-Encoding"); got != "identity" {
				t.Errorf("Accept-Encoding %q, want identity (RFC 7694)", got)
			}
			if after := ts.count(t); after != before {
				t.Errorf("%d rows stored by a rejected request", after-before)
			}
		})
	}

	t.Run("identity is accepted", func(t *testing.T) {
		for _, path := range []string{"/v1/steps", "/v1/steps/batch"} {
			body, ct := oneStepJSON, "application/json"
			if path == "/v1/steps/batch" {
				ct = "application/x-ndjson"
			}
			r := ts.doHeader(t, "POST", path, []byte(body), http.Header{"Content-Type": {ct}, "Content-Encoding": {"identity"}})
			if r.status != http.StatusCreated {
				t.Errorf("POST %s with Content-Encoding: identity = %d %s, want 201", path, r.status, r.body)
			}
		}
	})
}
