package model

import (
	"strings"
	"unicode/utf8"
)

// ShortRevision is a revision as a person reads it in a table or on the
// page: a commit id cut to its first 12 hex digits, as git abbreviates in
// large repositories, and any other revision (a tag, a build number) whole
// up to 20 characters, then cut with an ellipsis. The whole revision stays
// in JSON and CSV.
func ShortRevision(rev string) string {
	const hexLen, maxLen = 12, 20
	if len(rev) > hexLen && strings.Trim(strings.ToLower(rev), "0123456789abcdef") == "" {
		return rev[:hexLen]
	}
	if utf8.RuneCountInString(rev) > maxLen {
		return string([]rune(rev)[:maxLen-1]) + "…"
	}
	return rev
}
