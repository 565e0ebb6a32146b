package model_test

import (
	"testing"

	"github.com/steps-dev/steps/pkg/model"
)

// TestErrorClasses: the one classification of errors, by code, that the
// client's retry, IsTemporary, the spool and stepsctl use; and the code a
// bare status (a proxy's page) gets.
func TestErrorClasses(t *testing.T) {
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
		code := model.CodeOf(c.status)
		got := [4]bool{model.Retryable(code), model.Temporary(code), model.Rejected(code), model.AuthRefused(code)}
		if want := [4]bool{c.retryable, c.temporary, c.rejected, c.auth}; got != want {
			t.Errorf("%d (%s): retryable, temporary, rejected, auth refused = %v, want %v", c.status, code, got, want)
		}
	}
}
