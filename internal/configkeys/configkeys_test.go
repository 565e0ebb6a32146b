package configkeys_test

import (
	"testing"

	"github.com/steps-dev/steps/internal/configkeys"
)

func TestCheck(t *testing.T) {
	known := []string{"listen", "limits.rate_limit", "log.level"}
	for _, keys := range [][]string{nil, {"listen", "limits.rate_limit"}, {"log"}, {"limits", "log.level"}} {
		if err := configkeys.Check(keys, known); err != nil {
			t.Errorf("Check(%q) = %v, want nil", keys, err)
		}
	}
	for keys, want := range map[string]string{
		"limits.rate_limt": `unknown key "limits.rate_limt" (known: listen, limits.rate_limit, log.level)`,
		"rate_limit":       `unknown key "rate_limit" (known: listen, limits.rate_limit, log.level)`,
		"log.lvl":          `unknown key "log.lvl" (known: listen, limits.rate_limit, log.level)`,
	} {
		if err := configkeys.Check([]string{"listen", keys}, known); err == nil || err.Error() != want {
			t.Errorf("Check(%q) = %v, want %s", keys, err, want)
		}
	}
}
