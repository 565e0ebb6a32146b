package server_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/steps-dev/steps/internal/testdb"
)

// utf16LE encodes s as Windows writes "Unicode" text: UTF-16, little
// endian, after a byte-order mark.
func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestBodyInAnotherCharsetIsRefusedAsSuch: a body declared in a charset
// other than UTF-8 was read as UTF-8 anyway. A spreadsheet's UTF-16 export
// sent as text/csv; charset=utf-16 got `unknown CSV column
// "\xff\xfec\x00o\x00m…"`, and a Latin-1 form or JSON body "component must
// be valid UTF-8": 400s about a field, when what is wrong is the charset
// the client itself named. It is a 415 that says so; UTF-8, ASCII and no
// charset are read as before.
func TestBodyInAnotherCharsetIsRefusedAsSuch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		for _, tt := range []struct {
			name, path, contentType string
			body                    []byte
		}{
			{"UTF16CSVBatch", "/v1/steps/batch", "text/csv; charset=utf-16", utf16LE("component,version,owner,status\r\napi,1,ana,build\r\n")},
			{"Latin1JSON", "/v1/steps", "application/json; charset=iso-8859-1", []byte("{\"component\":\"caf\xe9\",\"version\":\"1\",\"owner\":\"o\",\"status\":\"s\"}")},
			{"Latin1Form", "/v1/steps", "application/x-www-form-urlencoded; charset=ISO-8859-1", []byte("component=caf%E9&version=1&owner=o&status=s")},
			{"Latin1NDJSONBatch", "/v1/steps/batch", "application/x-ndjson; charset=latin1", []byte("{\"component\":\"caf\xe9\",\"version\":\"1\",\"owner\":\"o\",\"status\":\"s\"}\n")},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.do(t, "POST", tt.path, bytes.NewReader(tt.body), "Content-Type", tt.contentType)
				refused(t, ts, tt.name, before, r, 415, "")
				if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "charset") || !strings.Contains(msg, "UTF-8") {
					t.Errorf("error %q; want it to name the charset and ask for UTF-8", msg)
				}
			})
		}
		t.Run("UTF8AndASCIIAreRead", func(t *testing.T) {
			for _, ct := range []string{"application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json;charset=\"utf-8\"", "application/json; charset=us-ascii"} {
				r := ts.do(t, "POST", "/v1/steps", strings.NewReader(`{"component":"api","version":"1","owner":"o","status":"s"}`), "Content-Type", ct)
				if r.status != 201 {
					t.Errorf("%s: = %d %s, want 201", ct, r.status, r.body)
				}
			}
			r := ts.do(t, "POST", "/v1/steps/batch", strings.NewReader("component,version,owner,status\napi,1,o,s\n"), "Content-Type", "text/csv; charset=utf-8")
			if r.status != 201 {
				t.Errorf("CSV in UTF-8: = %d %s, want 201", r.status, r.body)
			}
		})
	})
}

// TestBodyWithAByteOrderMark: a body saved by a Windows tool starts with a
// byte-order mark. In UTF-16 ("Unicode" text, PowerShell's default) it was
// read as UTF-8 into `invalid character 'ÿ'` (for a JSON batch, with the
// advice to send NDJSON) or an unknown CSV column "\xff\xfec\x00o…"; it is
// now a 400 that says the body is UTF-16. A UTF-8 mark, which CSV already
// skipped, made a JSON body `invalid character '\ufeff'`; RFC 8259 lets a
// reader ignore it, and JSON, NDJSON and forms now do.
func TestBodyWithAByteOrderMark(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		step := `{"component":"api","version":"1","owner":"o","status":"s"}`
		for _, tt := range []struct {
			name, path, contentType string
			body                    []byte
		}{
			{"UTF16CSVBatch", "/v1/steps/batch", "text/csv", utf16LE("component,version,owner,status\r\napi,1,ana,build\r\n")},
			{"UTF16JSONBatch", "/v1/steps/batch", "application/json", utf16LE("[" + step + "]")},
			{"UTF16NDJSONBatch", "/v1/steps/batch", "application/x-ndjson", utf16LE(step + "\n")},
			{"UTF16JSONStep", "/v1/steps", "application/json", utf16LE(step)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.do(t, "POST", tt.path, bytes.NewReader(tt.body), "Content-Type", tt.contentType)
				refused(t, ts, tt.name, before, r, 400, "body")
				if msg, _, _ := r.errorBody(t); !strings.Contains(msg, "UTF-16") {
					t.Errorf("error %q; want it to say the body is UTF-16", msg)
				}
			})
		}
		bom := "\xef\xbb\xbf"
		for _, tt := range []struct {
			name, path, contentType, body string
		}{
			{"UTF8JSONStep", "/v1/steps", "application/json", bom + step},
			{"UTF8FormStep", "/v1/steps", "application/x-www-form-urlencoded", bom + "component=api&version=1&owner=o&status=s"},
			{"UTF8JSONBatch", "/v1/steps/batch", "application/json", bom + "[" + step + "]"},
			{"UTF8NDJSONBatch", "/v1/steps/batch", "application/x-ndjson", bom + step + "\n"},
			{"UTF8CSVBatch", "/v1/steps/batch", "text/csv", bom + "component,version,owner,status\napi,1,o,s\n"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := ts.count(t)
				r := ts.do(t, "POST", tt.path, strings.NewReader(tt.body), "Content-Type", tt.contentType)
				if r.status != 201 || ts.count(t) != before+1 {
					t.Errorf("= %d %s; want 201 and one step", r.status, r.body)
				}
			})
		}
	})
}
