package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A value that JSON cannot hold (a time past year 9999) was once sent as a
// 200 with an empty body, the encoder's error only logged.
func TestWriteJSONRefusesWhatItCannotEncode(t *testing.T) {
	s := New(Config{})
	for name, tc := range map[string]struct {
		v    any
		want int
	}{
		"encodable":  {map[string]time.Time{"end": time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}, http.StatusOK},
		"year 10000": {map[string]time.Time{"end": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.writeJSON(rec, httptest.NewRequest(http.MethodGet, "/v1/dora", nil), http.StatusOK, tc.v)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) == 0 {
				t.Fatalf("body %q is not a JSON object: %v", rec.Body, err)
			}
			if tc.want != http.StatusOK && body["code"] != "internal" {
				t.Errorf("body %v, want code internal", body)
			}
		})
	}
}
