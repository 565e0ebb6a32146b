package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
)

func TestRateLimitPerClient(t *testing.T) {
	st := testdb.Open(t, testdb.SQLite(t))
	srv := httptest.NewServer(server.New(server.Config{Store: st, RateLimit: 0.5, RateBurst: 2,
		Tokens: []server.Token{{Scope: server.ScopeRead, Secret: "reader-one"}, {Scope: server.ScopeRead, Secret: "reader-two"}}}))
	defer srv.Close()
	get := func(path, token string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i := range 2 {
		if res := get("/v1/steps", "reader-one"); res.StatusCode != 200 {
			t.Fatalf("request %d within the burst: %d", i, res.StatusCode)
		}
	}
	res := get("/v1/steps", "reader-one")
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the limit: %d, want 429", res.StatusCode)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds", res.Header.Get("Retry-After"))
	}
	if res := get("/v1/steps", "reader-two"); res.StatusCode != 200 {
		t.Errorf("another client was limited: %d", res.StatusCode)
	}
	for range 5 {
		if res := get("/readyz", ""); res.StatusCode != 200 {
			t.Errorf("probe limited: %d", res.StatusCode)
		}
	}
}

func TestQueryStringLimit(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t))
	r := ts.do(t, "GET", "/v1/steps?component="+strings.Repeat("a", 9000), nil)
	if _, code, field := r.errorBody(t); r.status != 400 || code != model.EINVALID || field != "query" {
		t.Errorf("long query = %d %s", r.status, r.body)
	}
}

// TestAuthMatrix checks every route with no token, a wrong token, a read
// token and a write token.
func TestAuthMatrix(t *testing.T) {
	ts := newTestServer(t, testdb.SQLite(t),
		server.Token{Scope: server.ScopeWrite, Secret: "write-secret"},
		server.Token{Scope: server.ScopeRead, Secret: "read-secret"})
	routes := []struct {
		method, path, body, ctype string
		write, open               bool
		okStatus                  int
	}{
		{"POST", "/v1/steps?" + valid, "", "", true, false, 201},
		{"POST", "/v1/steps/batch", `[{"component":"a","version":"1","owner":"o","status":"s"}]`, "application/json", true, false, 201},
		{"GET", "/v1/steps", "", "", false, false, 200},
		{"GET", "/v1/steps/1", "", "", false, false, 200},
		{"GET", "/v1/deployments", "", "", false, false, 200},
		{"GET", "/v1/stats", "", "", false, false, 200},
		{"GET", "/healthz", "", "", false, true, 200},
		{"GET", "/readyz", "", "", false, true, 200},
	}
	tokens := []struct{ name, token string }{{"none", ""}, {"bad", "not-a-token"}, {"read", "read-secret"}, {"write", "write-secret"}}
	for _, rt := range routes {
		for _, tok := range tokens {
			want := rt.okStatus
			switch {
			case rt.open:
			case tok.name == "none" || tok.name == "bad":
				want = 401
			case tok.name == "read" && rt.write:
				want = 403
			}
			headers := []string{}
			if tok.token != "" {
				headers = append(headers, "Authorization", "Bearer "+tok.token)
			}
			if rt.ctype != "" {
				headers = append(headers, "Content-Type", rt.ctype)
			}
			r := ts.do(t, rt.method, rt.path, strings.NewReader(rt.body), headers...)
			if r.status != want {
				t.Errorf("%s %s with %s token: %d %s, want %d", rt.method, rt.path, tok.name, r.status, r.body, want)
			}
			if want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: 401 without WWW-Authenticate", rt.method, rt.path)
			}
		}
	}
}

// TestDeclaredOversizedBodyIsRefusedBeforeContinue: a body whose
// Content-Length is over the limit is a 413 before any of it is read, so a
// client that asked Expect: 100-continue (curl, for bodies over 1 MiB) is
// never told to send it. Reading it first made net/http answer 100
// Continue, and the client sent a mebibyte or 32 for nothing.
func TestDeclaredOversizedBodyIsRefusedBeforeContinue(t *testing.T) {
	srv := httptest.NewServer(server.New(server.Config{Store: testdb.Open(t, testdb.SQLite(t)),
		GitHubSecret: "github-secret", GitLabToken: "gitlab-token"}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct{ path, headers string }{
		{"/v1/steps", "Content-Type: application/json\r\n"},
		{"/v1/steps/batch", "Content-Type: text/csv\r\n"},
		{"/v1/hooks/github", "Content-Type: application/json\r\nX-GitHub-Event: ping\r\n"},
		{"/v1/hooks/gitlab", "Content-Type: application/json\r\nX-Gitlab-Event: Pipeline Hook\r\nX-Gitlab-Token: gitlab-token\r\n"},
	} {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", tt.path, tt.headers, 64<<20)
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(line, "HTTP/1.1 413 ") {
				t.Errorf("first answer %q, want 413 before any 100 Continue", line)
			}
		})
	}
}

// TestBatchRowBoundTakesValidRows: the bound on a batch's row
// (model.MaxBatchRowBytes) refuses nothing valid. A row with every field
// at its longest, each character one outside the BMP written as a JSON
// surrogate pair (12 bytes for one character) and every member name and
// time escaped too, is accepted as a JSON array's item, an NDJSON line and
// a CSV record; so is a row padded with white space to the bound itself,
// and one byte more is refused.
func TestBatchRowBoundTakesValidRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		srv := httptest.NewServer(server.New(server.Config{Store: testdb.Open(t, fresh(t))}))
		t.Cleanup(srv.Close)
		const rocket = "\U0001F680"
		long := func(n int) string { return strings.Repeat(rocket, n) }
		fields := []struct{ name, value string }{
			{"component", long(model.MaxComponentLen)},
			{"version", long(model.MaxVersionLen)},
			{"owner", long(model.MaxOwnerLen)},
			{"status", long(model.MaxStatusLen)},
			{"environment", long(model.MaxEnvironmentLen)},
			{"revision", long(model.MaxRevisionLen)},
			{"time", "2024-05-06T07:08:09.123456789+01:00"},
			{"committed_at", "2024-05-06T06:08:09.123456789+01:00"},
			{"received_at", "2024-05-06T07:08:09.123456789+01:00"},
			{"id", "-9223372036854775808"},
		}
		// escape writes every character of s as \uXXXX, a surrogate pair
		// past the BMP: the longest JSON a character can take.
		escape := func(s string) string {
			var b strings.Builder
			for _, u := range utf16.Encode([]rune(s)) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
			return b.String()
		}
		var row strings.Builder
		row.WriteByte('{')
		for i, f := range fields {
			if i > 0 {
				row.WriteByte(',')
			}
			if f.name == "id" {
				fmt.Fprintf(&row, `"%s":%s`, escape(f.name), f.value) // a number, as exports write it
				continue
			}
			fmt.Fprintf(&row, `"%s":"%s"`, escape(f.name), escape(f.value))
		}
		row.WriteByte('}')
		var csvHeader, csvRow []string
		for _, f := range fields {
			csvHeader = append(csvHeader, f.name)
			csvRow = append(csvRow, `"`+f.value+`"`)
		}
		longest := row.String()
		t.Logf("the longest valid row: %d bytes of JSON, %d of CSV; the bound %d", len(longest), len(strings.Join(csvRow, ",")), model.MaxBatchRowBytes)
		// pad fills a row with white space before its closing brace up to
		// n bytes.
		pad := func(n int) string { return longest[:len(longest)-1] + strings.Repeat(" ", n-len(longest)) + "}" }
		for _, tt := range []struct {
			name, ctype, body string
			status            int
		}{
			{"json", "application/json", "[" + longest + "," + longest + "]", 201},
			{"ndjson", "application/x-ndjson", longest + "\n" + longest + "\n", 201},
			{"csv", "text/csv", strings.Join(csvHeader, ",") + "\r\n" + strings.Join(csvRow, ",") + "\r\n" + strings.Join(csvRow, ",") + "\r\n", 201},
			// Row 1 counts the opening bracket, row 2 the comma before it.
			{"json padded to the bound", "application/json", "[" + pad(model.MaxBatchRowBytes-1) + "," + pad(model.MaxBatchRowBytes-1) + "]", 201},
			{"ndjson padded to the bound", "application/x-ndjson", pad(model.MaxBatchRowBytes) + "\r\n" + pad(model.MaxBatchRowBytes) + "\r\n", 201},
			{"json a byte past the bound", "application/json", "[" + pad(model.MaxBatchRowBytes-1) + "," + pad(model.MaxBatchRowBytes) + "]", 400},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res, err := http.Post(srv.URL+"/v1/steps/batch", tt.ctype, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				var got struct {
					Steps []model.Step `json:"steps"`
				}
				answer, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tt.status {
					t.Fatalf("answer %d %.600s, want %d", res.StatusCode, answer, tt.status)
				}
				if tt.status != http.StatusCreated {
					if !strings.Contains(string(answer), `"row":2`) {
						t.Errorf("answer %.600s does not list row 2", answer)
					}
					return
				}
				if err := json.Unmarshal(answer, &got); err != nil {
					t.Fatal(err)
				}
				if len(got.Steps) != 2 || got.Steps[1].Component != fields[0].value || got.Steps[1].Revision != fields[5].value {
					t.Errorf("stored %d steps, the second %+v, want 2 with the longest values", len(got.Steps), got.Steps)
				}
			})
		}
	})
}
