package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error codes. Each one maps to exactly one HTTP status (api.StatusOf, in
// the HTTP layer) so the server, the client and the CLI agree on what a
// failure means.
const (
	ECONFLICT      = "conflict"               // 409: the request clashes with stored state
	EFORBIDDEN     = "forbidden"              // 403: authenticated, but not allowed
	EINTERNAL      = "internal"               // 500: a fault of ours; details only in the server log
	EINVALID       = "invalid"                // 400: bad input, named in Error.Field
	EMETHOD        = "method_not_allowed"     // 405
	ENOTFOUND      = "not_found"              // 404
	ENOENDPOINT    = "no_such_endpoint"       // 404: no route at the path (a wrong URL, an older server), not a missing step or deployment
	ERATELIMITED   = "rate_limited"           // 429
	ETOOLARGE      = "too_large"              // 413: request body over the limit
	EUNAUTHORIZED  = "unauthorized"           // 401: no valid token
	EUNAVAILABLE   = "unavailable"            // 503: the database cannot be reached
	EUNPROCESSABLE = "unprocessable"          // 422: well-formed but contradicts earlier input
	EUNSUPPORTED   = "unsupported_media_type" // 415
)

// Error classes: what a caller does about an error, decided by its code
// alone, so that the client's retry, IsTemporary, the spool and stepsctl
// agree. (A response without a code of its own gets its status's,
// api.CodeOf.)

// Retryable reports whether the same request may succeed if sent again
// after a short backoff: the server is overloaded (ERATELIMITED), or it, its
// database or a proxy in front is out of reach (EUNAVAILABLE).
func Retryable(code string) bool {
	return code == ERATELIMITED || code == EUNAVAILABLE
}

// Temporary reports whether the request may succeed later, unchanged:
// Retryable, or a fault of the server (EINTERNAL) that a fix or a restart
// clears. Any other code is a refusal that the same request gets again.
func Temporary(code string) bool {
	return Retryable(code) || code == EINTERNAL
}

// Rejected reports whether the input itself is refused (invalid, or too
// large): sent again, it is refused again, so it must be fixed or dropped.
func Rejected(code string) bool {
	return code == EINVALID || code == ETOOLARGE
}

// AuthRefused reports whether the credentials were refused: missing,
// wrong or expired (EUNAUTHORIZED), or without the scope (EFORBIDDEN).
func AuthRefused(code string) bool {
	return code == EUNAUTHORIZED || code == EFORBIDDEN
}

// Error is the one error type of the domain. Message is safe to show to a
// user; Field names the offending input when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
	// Params lists the request parameters that Message's advice names,
	// each written "name=" (or "name=value") in it, so that a client
	// with names of its own for them (stepsctl's flags) can translate
	// the advice. Empty for most errors.
	Params []string
}

func (e *Error) Error() string {
	return e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// MaxQuoted is how many characters of a value sent by a client an error
// message quotes. Values that are refused are often the longest ones (a
// 1 MiB time, a CSV column name as long as the body), and quoted whole
// they made the error as large as the request: a refused 32 MiB batch
// answered 32 MiB and held several times that in memory while it was
// built, and a 1 MiB unknown JSON field came back twice.
const MaxQuoted = 64

// Quote returns s quoted as %q does, for an error message. A value longer
// than MaxQuoted characters is cut to its first MaxQuoted, followed by
// "…" and its length: `"xxxx"… (1000000 characters)`.
func Quote(s string) string {
	short := Shorten(s)
	if len(short) == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(short[:len(short)-len("…")]) + "… (" + strconv.Itoa(utf8.RuneCountInString(s)) + " characters)"
}

// Shorten returns s, or its first MaxQuoted characters followed by "…"
// when it is longer: what an error's Field holds when it names something
// a client made up (an unknown parameter, field or CSV column).
func Shorten(s string) string {
	if len(s) <= MaxQuoted {
		return s // at most MaxQuoted bytes, so at most as many characters
	}
	n := 0
	for i := range s {
		if n == MaxQuoted {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// AdviceIn returns the message with the parameters its advice names
// (Params) in a client's own words: "name=" becomes flag(name), and
// "name=value" flag(name) and the value, as in "narrow the range with
// --since and --until, or use a larger bucket (--by month)". flag returns
// "" for a name it leaves as it is.
func (e *Error) AdviceIn(flag func(param string) string) string {
	msg := e.Message
	for _, p := range e.Params {
		f := flag(p)
		if f == "" {
			continue
		}
		var b strings.Builder
		rest := msg
		for {
			i := strings.Index(rest, p+"=")
			if i < 0 {
				b.WriteString(rest)
				break
			}
			// Only a whole name: "since=" is not in "nonsince=".
			if i > 0 && isNameByte(rest[i-1]) {
				b.WriteString(rest[:i+len(p)+1])
				rest = rest[i+len(p)+1:]
				continue
			}
			b.WriteString(rest[:i])
			b.WriteString(f)
			rest = rest[i+len(p)+1:]
			if j := strings.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) }); j != 0 {
				if j < 0 {
					j = len(rest)
				}
				b.WriteString(" " + rest[:j])
				rest = rest[j:]
			}
		}
		msg = b.String()
	}
	return msg
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the *Error's own
// message, or "internal error" so that internals never leak to users.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
