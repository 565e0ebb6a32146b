// Package model holds the domain of steps: the step record, its validation,
// list filters, time parsing and the one error type. It imports only the
// standard library, so every other package can depend on it.
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field length limits, in characters (not bytes): the database columns are
// sized to match, so a value that passes validation always fits.
const (
	MaxComponentLen   = 128
	MaxVersionLen     = 128
	MaxOwnerLen       = 128
	MaxStatusLen      = 64
	MaxEnvironmentLen = 64
	MaxIdempotencyKey = 128
	MaxRevisionLen    = 64
)

// Step is one stored record: a step of a deploy, as the server stamped it.
type Step struct {
	ID          int64     `json:"id"`
	Component   string    `json:"component"`
	Version     string    `json:"version"`
	Owner       string    `json:"owner"`
	Status      string    `json:"status"`
	Environment string    `json:"environment"`
	Time        time.Time `json:"time"`
	ReceivedAt  time.Time `json:"received_at"`
	// Revision and CommittedAt say which commit was deployed and when it
	// was made (lead time for changes); both are optional.
	Revision    string     `json:"revision,omitempty"`
	CommittedAt *time.Time `json:"committed_at,omitempty"`
}

// StepInput is what a caller sends to record a step. Time is optional: when
// zero, the server's receipt time is used.
type StepInput struct {
	Component   string    `json:"component"`
	Version     string    `json:"version"`
	Owner       string    `json:"owner"`
	Status      string    `json:"status"`
	Environment string    `json:"environment,omitempty"`
	Time        time.Time `json:"time,omitzero"`
	Revision    string    `json:"revision,omitempty"`
	CommittedAt time.Time `json:"committed_at,omitzero"`
}

// RecordMeta is what the server adds to a StepInput when it records it.
type RecordMeta struct {
	ReceivedAt     time.Time
	IdempotencyKey string // optional; a repeat returns the first step stored under it
}

// earliest and latest bound explicit times to what every supported database
// stores exactly.
var (
	earliestTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Validate checks every field against the rules of the spec and returns an
// EINVALID *Error naming the first field that breaks one.
func (in StepInput) Validate() error {
	fields := []struct {
		name     string
		value    string
		max      int
		required bool
	}{
		{"component", in.Component, MaxComponentLen, true},
		{"version", in.Version, MaxVersionLen, true},
		{"owner", in.Owner, MaxOwnerLen, true},
		{"status", in.Status, MaxStatusLen, true},
		{"environment", in.Environment, MaxEnvironmentLen, false},
		{"revision", in.Revision, MaxRevisionLen, false},
	}
	for _, f := range fields {
		if err := ValidateText(f.name, f.value, f.max, f.required); err != nil {
			return err
		}
	}
	if !in.Time.IsZero() {
		if err := ValidateStepTime("time", in.Time); err != nil {
			return err
		}
	}
	if !in.CommittedAt.IsZero() {
		return ValidateStepTime("committed_at", in.CommittedAt)
	}
	return nil
}

// ValidateStepTime checks an explicit step time: between 1970-01-01 and
// 9999-12-31, what every supported database stores exactly. The zero time
// (0001-01-01) fails too: given explicitly it is a mistake, and taking it
// for "no time" would store the receipt time in its place.
func ValidateStepTime(field string, t time.Time) error {
	if t.Before(earliestTime) || t.After(latestTime) {
		// Only a step's own time falls back to the receipt time; an
		// omitted commit time is no commit time.
		advice := "omit it to use the server's receipt time"
		if field != "time" {
			advice = "omit it if it is not known"
		}
		return Invalid(field, "%s must be between 1970-01-01 and 9999-12-31 (UTC), not %s; %s", field, t.UTC().Format(time.RFC3339Nano), advice)
	}
	return nil
}

// ValidateText checks one text value: valid UTF-8, no control characters,
// no bidirectional controls, not blank, at most max characters, and
// present when required.
//
// Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C) make a value display in another order than it is stored: a
// page or terminal would show one component and the records say another.
// Blank means nothing visible: white space and default-ignorable
// characters only (zero-width spaces and joiners, U+2060, U+FEFF, Hangul
// fillers, …), so an invisible name cannot pass for a present one.
func ValidateText(name, value string, max int, required bool) error {
	if value == "" {
		if required {
			return Invalid(name, "%s is required", name)
		}
		return nil
	}
	if !utf8.ValidString(value) {
		return Invalid(name, "%s must be valid UTF-8%s", name, encodingHint(value))
	}
	n := 0
	blank := true
	for _, r := range value {
		if r >= 0x20 && r < 0x7f {
			// Printable ASCII, nearly every value: neither control nor
			// bidirectional, and invisible only as a space. The Unicode
			// tables below cost far more.
			if r != ' ' {
				blank = false
			}
			n++
			continue
		}
		if unicode.IsControl(r) {
			return Invalid(name, "%s must not contain control characters (found %U%s)", name, r, controlHint(r))
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			return Invalid(name, "%s must not contain bidirectional control characters, which change how text is shown (found %U)", name, r)
		}
		if blank && !invisible(r) {
			blank = false
		}
		n++
	}
	if blank {
		return Invalid(name, "%s must not be blank (it holds only spaces or invisible characters)", name)
	}
	if n > max {
		return Invalid(name, "%s is %d characters long; the limit is %d", name, n, max)
	}
	return nil
}

// encodingHint says where text that is not UTF-8 comes from: mostly a
// Windows script's, in Latin-1 or Windows-1252, which Windows PowerShell
// 5.1 sends a string -Body in unless -ContentType names charset=utf-8.
// "owner must be valid UTF-8" alone left its author to find that out.
func encodingHint(value string) string {
	i := 0
	for i < len(value) {
		r, size := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	if i >= len(value) {
		return ""
	}
	return fmt.Sprintf(" (byte 0x%02X at byte %d is not: %s)", value[i], i+1, NotUTF8Advice)
}

// NotUTF8Advice ends the message of a text refused for not being UTF-8.
const NotUTF8Advice = "text in another encoding, such as Latin-1 or Windows-1252? Windows PowerShell 5.1 sends a string -Body so unless -ContentType names charset=utf-8"

// controlHint names the control characters a script sends without
// meaning to, and where they come from. A carriage return is the usual
// one: a script or file saved on Windows ends its lines with CR LF, and
// the shell keeps the CR in the value of the line's last word.
func controlHint(r rune) string {
	switch r {
	case '\r':
		return ", a carriage return: a Windows line ending (CR LF) from the script or the file the value was read from; convert it with dos2unix, or strip it: ${VAR%$'\\r'}"
	case '\n':
		return ", a line break: the value holds more than one line"
	case '\t':
		return ", a tab"
	}
	return ""
}

// invisible reports whether r shows nothing: white space, or a
// default-ignorable code point (format characters, variation selectors,
// Hangul fillers and the other code points Unicode says render as
// nothing), or the blank braille pattern, which fonts draw empty.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == '\u2800'
}

// ValidateIdempotencyKey checks an Idempotency-Key header value.
func ValidateIdempotencyKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > MaxIdempotencyKey {
		return Invalid("Idempotency-Key", "Idempotency-Key is %d bytes long; the limit is %d", len(key), MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return Invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// TrimText trims what surrounds a value by accident: white space, and
// byte-order marks (U+FEFF). Windows' Notepad and PowerShell 5.1's
// Set-Content -Encoding UTF8 start a file with one, so a script's
// VERSION=$(cat VERSION) reads "\uFEFF1.2.3": kept, it shows as 1.2.3
// but is another version, and the deploy splits into two deployments.
func TrimText(s string) string {
	// TrimSpace first: it reads ASCII ends without decoding runes, and
	// the mark is rare. TrimFunc on every field of every step cost about
	// 800 instructions a request (BenchmarkNormalized).
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, bom) && !strings.HasSuffix(s, bom) {
		return s
	}
	return strings.TrimFunc(s, func(r rune) bool { return r == '\uFEFF' || unicode.IsSpace(r) })
}

// bom is the byte-order mark, U+FEFF, in UTF-8.
const bom = "\uFEFF"

// Normalized returns the input with its time in UTC at the stored
// precision (microseconds), so equal inputs compare and hash equal.
func (in StepInput) Normalized() StepInput {
	// Surrounding spaces are noise from scripts, and MySQL's PAD SPACE
	// collations ignore trailing ones where SQLite does not: trimmed, the
	// same deploy is the same on both.
	for _, f := range []*string{&in.Component, &in.Version, &in.Owner, &in.Status, &in.Environment, &in.Revision} {
		*f = TrimText(*f)
	}
	if !in.Time.IsZero() {
		in.Time = TruncateTime(in.Time)
	}
	if !in.CommittedAt.IsZero() {
		in.CommittedAt = TruncateTime(in.CommittedAt)
	}
	return in
}

// Fingerprint is a digest of the input, stored beside an idempotency key so
// that a replay with a different payload is told apart from a true retry.
func (in StepInput) Fingerprint() string {
	in = in.Normalized()
	h := sha256.New()
	for _, s := range []string{in.Component, in.Version, in.Owner, in.Status, in.Environment} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if !in.Time.IsZero() {
		h.Write([]byte(in.Time.Format(time.RFC3339Nano)))
	}
	// Only when given, so that keys stored before these fields existed
	// keep their digests.
	if in.Revision != "" || !in.CommittedAt.IsZero() {
		h.Write([]byte{0, 'r'})
		h.Write([]byte(in.Revision))
		h.Write([]byte{0})
		if !in.CommittedAt.IsZero() {
			h.Write([]byte(in.CommittedAt.Format(time.RFC3339Nano)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TruncateTime converts t to UTC at microsecond precision: what the
// databases store.
func TruncateTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
