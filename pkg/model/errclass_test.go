package model_test

import (
	"testing"

	"github.com/steps-dev/steps/pkg/model"
)

// TestErrorClasses: the one classification of errors, by code, that the
// client's retry, IsTemporary, the spool and stepsctl use.
func TestErrorClasses(t *testing.T) {
	for _, c := range []struct {
		code                                 string
		retryable, temporary, rejected, auth bool
	}{
		{model.EINVALID, false, false, true, false},
		{model.ETOOLARGE, false, false, true, false},
		{model.EUNAUTHORIZED, false, false, false, true},
		{model.EFORBIDDEN, false, false, false, true},
		{model.ENOTFOUND, false, false, false, false},
		{model.ENOENDPOINT, false, false, false, false},
		{model.ECONFLICT, false, false, false, false},
		{model.EUNPROCESSABLE, false, false, false, false},
		{model.ERATELIMITED, true, true, false, false},
		{model.EUNAVAILABLE, true, true, false, false},
		{model.EINTERNAL, false, true, false, false},
	} {
		got := [4]bool{model.Retryable(c.code), model.Temporary(c.code), model.Rejected(c.code), model.AuthRefused(c.code)}
		if want := [4]bool{c.retryable, c.temporary, c.rejected, c.auth}; got != want {
			t.Errorf("%s: retryable, temporary, rejected, auth refused = %v, want %v", c.code, got, want)
		}
	}
}
