package model

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sort orders of a list.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// MaxLimit is the largest page a list request may ask for. Without a limit,
// a list streams every matching row instead.
const MaxLimit = 10000

// Filter selects steps. Empty strings and zero times match everything.
// Since and Until are inclusive. Steps are ordered by time, then id.
type Filter struct {
	Component   string
	Version     string
	Owner       string
	Status      string
	Environment string
	Since       time.Time
	Until       time.Time
	Order       string // OrderAsc (default) or OrderDesc
	Limit       int    // 0: every matching step; otherwise one page
	After       *Cursor
}

// Normalized returns the filter with its text values trimmed of
// surrounding spaces and byte-order marks (TrimText), as
// StepInput.Normalized trims the values it stores:
// "api " then finds what was stored as "api" on SQLite as on MySQL, whose
// PAD SPACE collations ignore trailing spaces where SQLite does not.
func (f Filter) Normalized() Filter {
	for _, v := range []*string{&f.Component, &f.Version, &f.Owner, &f.Status, &f.Environment} {
		*v = TrimText(*v)
	}
	return f
}

// Descending reports whether the filter lists newest first.
func (f Filter) Descending() bool {
	return f.Order == OrderDesc
}

// Validate checks the filter's text values, order and limit.
func (f Filter) Validate() error {
	// A value no step can hold (invalid UTF-8, a control character, more
	// characters than the field stores) would match nothing: an empty
	// answer that hides the mistake, where the same value written gets a
	// 400 naming the field.
	for _, t := range []struct {
		name, value string
		max         int
	}{
		{"component", f.Component, MaxComponentLen},
		{"version", f.Version, MaxVersionLen},
		{"owner", f.Owner, MaxOwnerLen},
		{"status", f.Status, MaxStatusLen},
		{"environment", f.Environment, MaxEnvironmentLen},
	} {
		if err := ValidateText(t.name, t.value, t.max, false); err != nil {
			return err
		}
	}
	switch f.Order {
	case "", OrderAsc, OrderDesc:
	default:
		return Invalid("order", "order must be %q or %q, not %s", OrderAsc, OrderDesc, Quote(f.Order))
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return Invalid("limit", "limit must be between 1 and %d (omit it to stream every row)", MaxLimit)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return Invalid("until", "until (%s) is before since (%s)", FormatSpreadsheetTime(f.Until), FormatSpreadsheetTime(f.Since))
	}
	return nil
}

// Cursor marks the last step of a page; the next page starts after it in
// the list's order.
type Cursor struct {
	Time time.Time
	ID   int64
}

// CursorAfter returns the cursor that continues a list after step s.
func CursorAfter(s Step) *Cursor {
	return &Cursor{Time: s.Time, ID: s.ID}
}

// String encodes the cursor as an opaque, URL-safe token.
func (c Cursor) String() string {
	raw := strconv.FormatInt(c.Time.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor decodes a token made by Cursor.String.
func ParseCursor(token string) (*Cursor, error) {
	bad := Invalid("cursor", "cursor %s is not one this server issued; use the \"next\" value of the previous page", Quote(token))
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, bad
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 1 {
		return nil, bad
	}
	c := &Cursor{Time: time.UnixMicro(us).UTC(), ID: n}
	// Every field is checked, and the token must be the one String makes:
	// a forged time beyond what steps can hold would compare as text on
	// SQLite and fail as a DATETIME on MySQL, answering differently.
	if c.String() != token || ValidateStepTime("cursor", c.Time) != nil {
		return nil, bad
	}
	return c, nil
}

// GoString helps test failure messages.
func (c Cursor) GoString() string {
	return fmt.Sprintf("Cursor{%s, %d}", c.Time.Format(time.RFC3339Nano), c.ID)
}
