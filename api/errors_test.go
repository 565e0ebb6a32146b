package api_test

import (
	"testing"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

func TestStatusCodeMapIsOneToOne(t *testing.T) {
	for _, code := range []string{model.ECONFLICT, model.EFORBIDDEN, model.EINTERNAL, model.EINVALID, model.EMETHOD,
		model.ENOTFOUND, model.ERATELIMITED, model.ETOOLARGE, model.EUNAUTHORIZED, model.EUNAVAILABLE,
		model.EUNPROCESSABLE, model.EUNSUPPORTED} {
		if got := api.CodeOf(api.StatusOf(code)); got != code {
			t.Errorf("CodeOf(StatusOf(%q)) = %q", code, got)
		}
	}
}

// TestNarrowerCodes: a code that names a case of another's status answers
// with that status, and a bare status still reads as the general code.
func TestNarrowerCodes(t *testing.T) {
	if got := api.StatusOf(model.ENOENDPOINT); got != 404 {
		t.Errorf("StatusOf(no_such_endpoint) = %d, want 404", got)
	}
	for range 20 { // the map's order changes from run to run
		if got := api.CodeOf(404); got != model.ENOTFOUND {
			t.Fatalf("CodeOf(404) = %q, want not_found", got)
		}
	}
}

// TestBareStatusesAreClassed: a status without a code of its own (a
// proxy's page) gets the code whose class (model.Retryable, Temporary,
// Rejected, AuthRefused) says what to do about it.
func TestBareStatusesAreClassed(t *testing.T) {
	for _, c := range []struct {
		status                               int
		retryable, temporary, rejected, auth bool
	}{
		{400, false, false, true, false},
		{401, false, false, false, true},
		{403, false, false, false, true},
		{404, false, false, false, false},
		{408, true, true, false, false}, // gave up waiting: nothing refused
		{409, false, false, false, false},
		{413, false, false, true, false},
		{422, false, false, false, false},
		{429, true, true, false, false},
		{500, false, true, false, false},
		{501, false, true, false, false},
		{502, true, true, false, false},
		{503, true, true, false, false},
		{504, true, true, false, false},
	} {
		code := api.CodeOf(c.status)
		got := [4]bool{model.Retryable(code), model.Temporary(code), model.Rejected(code), model.AuthRefused(code)}
		if want := [4]bool{c.retryable, c.temporary, c.rejected, c.auth}; got != want {
			t.Errorf("%d (%s): retryable, temporary, rejected, auth refused = %v, want %v", c.status, code, got, want)
		}
	}
}
