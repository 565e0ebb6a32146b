package server

import (
	"maps"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzQueryParams holds queryParams, the one-pass reader of the query
// string, to what url.ParseQuery and singleValues accept: the same
// parameters, and an error exactly when they give one. (limitQuery refuses
// a query with a bad escape or a ';' before either runs, so only their
// agreement on the rest matters; both drop such pairs alike here.)
func FuzzQueryParams(f *testing.F) {
	for _, q := range []string{
		"", "component=api&version=1.0", "component=a+b%20c&owner=%C3%A9", "component=api&component=api",
		"component=a&component=b&component=c", "colour=red", "&&component=x&", "component", "component=",
		"=x", "component=x;y", "component=%zz", "%zz=1", "owner=a%26b&status=ok%3Dyes", "time=2026-01-02T03:04:05Z",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("POST", "/v1/steps", nil)
		r.URL.RawQuery = raw
		got, err := queryParams(r, stepParams)
		values, _ := url.ParseQuery(raw)
		want, wantErr := singleValues(values, stepParams)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: queryParams error %v, singleValues error %v", raw, err, wantErr)
		}
		if err == nil && !maps.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%q: queryParams %v, singleValues %v", raw, got, want)
		}
	})
}
