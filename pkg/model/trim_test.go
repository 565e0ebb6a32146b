package model_test

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/steps-dev/steps/pkg/model"
)

// TestTrimText: white space and byte-order marks around a value, in any
// mix and order, are trimmed, and nothing within it.
func TestTrimText(t *testing.T) {
	all := func(s string) string {
		return strings.TrimFunc(s, func(r rune) bool { return r == '\uFEFF' || unicode.IsSpace(r) })
	}
	for _, in := range []string{
		"", " ", "\uFEFF", "1.2.3", " 1.2.3 ", "\uFEFF1.2.3", "1.2.3\uFEFF", " \uFEFF 1.2.3\n",
		"\uFEFF \uFEFF1.2.3\u00a0\uFEFF", "1.2\uFEFF.3", "\u3000api\u2028", "\uFEFF\uFEFF", "é", " \uFEFFé\uFEFF ",
	} {
		if got, want := model.TrimText(in), all(in); got != want {
			t.Errorf("TrimText(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkNormalized is what the ingest path does to every step it
// takes: trim each text field and truncate the time.
//
//	go test ./pkg/model -run '^$' -bench Normalized
func BenchmarkNormalized(b *testing.B) {
	in := model.StepInput{Component: "payments-api", Version: "1.42.0", Owner: "deployer", Status: "rollout",
		Environment: "production", Revision: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 12, 3, 8, 0, 0, 123456789, time.UTC)}
	var out model.StepInput
	for b.Loop() {
		out = in.Normalized()
	}
	if out.Version != "1.42.0" {
		b.Fatal(out)
	}
}
