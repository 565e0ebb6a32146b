package hooks

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/steps-dev/steps/pkg/model"
)

func TestStepStatus(t *testing.T) {
	long := "Post Run actions/setup-node@2fdd0f6d2c2b1f5e9a0f2b7c9d1e3f4a5b6c7d8e"
	for _, c := range []struct{ name, want string }{
		{"Build", "Build"},
		{"  Roll out ", "Roll out"},
		{strings.Repeat("x", 64), strings.Repeat("x", 64)},
		// docs/integrations.md's example.
		{long, "Post Run actions/setup-node@2fdd0f6d2c2b1f5e9a0f2b7c9d1…eef14240"},
	} {
		if got := stepStatus(c.name); got != c.want {
			t.Errorf("stepStatus(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	seen := map[string]string{}
	for _, name := range []string{
		long, long + " ", long[:len(long)-1] + "f", // the same first 55 characters
		strings.Repeat("x", 65), strings.Repeat("x", 66),
		strings.Repeat("é", 64) + "e\u0301", strings.Repeat("本", 255),
		"tab\there", "line\nbreak", "bidi \u202eevil", "", "   ", "\u200b",
		"Build…eef14240", "Post Run actions/setup-node@2fdd0f6d2c2b1f5e9a0f2b7c9d1…eef14240", // shaped like a derived form
	} {
		got := stepStatus(name)
		if err := model.ValidateText("status", got, model.MaxStatusLen, true); err != nil {
			t.Errorf("stepStatus(%q) = %q: %v", name, got, err)
		}
		if !derivedShape.MatchString(got) {
			t.Errorf("stepStatus(%q) = %q: not derived", name, got)
		}
		if got != stepStatus(name) {
			t.Errorf("stepStatus(%q) is not the same twice", name)
		}
		if other, ok := seen[got]; ok && strings.TrimSpace(other) != strings.TrimSpace(name) { // trimmed as every status is
			t.Errorf("stepStatus(%q) = stepStatus(%q) = %q", name, other, got)
		}
		seen[got] = name
	}
	// Whatever the name, a valid status, whole characters only.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		r := make([]rune, rng.IntN(300))
		for i := range r {
			switch rng.IntN(4) {
			case 0:
				r[i] = rune(rng.IntN(0x80))
			case 1:
				r[i] = rune(0x80 + rng.IntN(0x800))
			case 2:
				r[i] = rune(0x2000 + rng.IntN(0x100)) // spaces, bidi controls, …
			default:
				r[i] = rune(0x10000 + rng.IntN(0x1000))
			}
		}
		name := string(r)
		got := stepStatus(name)
		if err := model.ValidateText("status", got, model.MaxStatusLen, true); err != nil || !utf8.ValidString(got) {
			t.Fatalf("stepStatus(%q) = %q: %v", name, got, err)
		}
		if got != strings.TrimSpace(name) && !derivedShape.MatchString(got) {
			t.Fatalf("stepStatus(%q) = %q: neither the name nor derived", name, got)
		}
	}
}
