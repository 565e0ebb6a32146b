package configkeys_test

import (
	"testing"

	"github.com/steps-dev/steps/internal/configkeys"
)

func TestCheck(t *testing.T) {
	known := []string{"listen", "limits.rate_limit", "log.level"}
	for _, keys := range [][]string{nil, {"listen", "limits.rate_limit"}, {"log"}, {"limits", "log.level"}} {
		if err := configkeys.Check(keys, known, nil); err != nil {
			t.Errorf("Check(%q) = %v, want nil", keys, err)
		}
	}
	for keys, want := range map[string]string{
		"limits.rate_limt": `unknown key "limits.rate_limt" (known: listen, limits.rate_limit, log.level)`,
		"rate_limit":       `unknown key "rate_limit" (known: listen, limits.rate_limit, log.level)`,
		"log.lvl":          `unknown key "log.lvl" (known: listen, limits.rate_limit, log.level)`,
	} {
		if err := configkeys.Check([]string{"listen", keys}, known, nil); err == nil || err.Error() != want {
			t.Errorf("Check(%q) = %v, want %s", keys, err, want)
		}
	}
}

func TestCheckRefusesASectionGivenAValue(t *testing.T) {
	known := []string{"listen", "auth.tokens", "hooks.github.secret"}
	values := map[string]any{"auth": "write:ci-secret-123", "hooks.github": []any{"x"}, "listen": ":8080"}
	get := func(k string) any { return values[k] }
	for key, want := range map[string]string{
		"auth":         `key "auth" has a value, but it is a section: write its settings (auth.tokens) indented under it ("auth:", then "  tokens: …" on the next line)`,
		"hooks.github": `key "hooks.github" has a value, but it is a section: write its settings (hooks.github.secret) indented under it ("github:", then "  secret: …" on the next line)`,
	} {
		if err := configkeys.Check([]string{"listen", key}, known, get); err == nil || err.Error() != want {
			t.Errorf("Check(%q) = %v, want %s", key, err, want)
		}
	}
	// A section whose settings are all commented out has no value.
	if err := configkeys.Check([]string{"hooks"}, known, get); err != nil {
		t.Errorf("Check(hooks) = %v, want nil", err)
	}
}
