package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/steps-dev/steps/api"
	"github.com/steps-dev/steps/pkg/model"
)

// APIError is an error response of the server: the request arrived and was
// answered with a non-2xx status. It unwraps to a *model.Error with the same
// code, so code that handles domain errors handles it too:
//
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound { … }
//	if model.ErrorCode(err) == model.EINVALID { … }
type APIError struct {
	StatusCode int // HTTP status, e.g. 400
	// Code is one of the model.E* codes, e.g. model.EINVALID: the
	// server's, or its status's (api.CodeOf) when the answer carries
	// none, or one this client does not know (a newer server's).
	Code    string
	Message string // the server's message, safe to show to a user
	Field   string // the offending parameter, when the server names one
	// Params lists the parameters that Message's advice names, each
	// written "name=" or "name=value" in it (see AdviceIn).
	Params []string

	// RetryAfter is the wait the server asked for with Retry-After (429,
	// 503), or 0.
	RetryAfter time.Duration

	// Rows lists the invalid rows when a batch was refused (nothing of it
	// was stored): the first 100; Message says how many there were in all.
	Rows []model.RowError

	// FromAPI reports that the answer was the API's own JSON error. A 404
	// without it is no missing step or deployment but a URL that reaches
	// something other than stepsd: a proxy's page, another server.
	FromAPI bool
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.StatusCode, e.Code)
}

// Unwrap returns the error as the domain's *model.Error.
func (e *APIError) Unwrap() error {
	return &model.Error{Code: e.Code, Message: e.Message, Field: e.Field, Params: e.Params}
}

// AdviceIn returns the message with the parameters its advice names
// (Params) written as a command line's flags, as in "narrow the range with
// --since and --until, or use a larger bucket (--by month)": see
// model.Error.AdviceIn.
func (e *APIError) AdviceIn(flag func(param string) string) string {
	return (&model.Error{Message: e.Message, Params: e.Params}).AdviceIn(flag)
}

// NetError is a request that got no complete response: the server could not
// be reached, the connection broke, or no answer came in time, on every
// attempt. Its outcome is unknown: a write may have been stored. Resend it
// with the same idempotency key to find out safely.
type NetError struct {
	Method   string // e.g. "POST"
	URL      string // the request URL, a password in it shown as "xxxxx"
	Attempts int    // how many times the request was sent
	Err      error  // the last attempt's error

	retryable bool
	unsent    bool // the request never reached the server (see dialTrace)
}

func (e *NetError) Error() string {
	s := fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return s
}

// Unwrap returns the last attempt's error.
func (e *NetError) Unwrap() error { return e.Err }

// endedError is a call whose context was cancelled or ran out before the
// call had its answer. It is the context's error to errors.Is, and the
// last attempt's (a *NetError or an *APIError) to errors.As and
// IsTemporary: a write cut short by its caller's deadline may have been
// stored, or not, exactly as after a *NetError, so a caller that keeps
// temporary failures to send again later (package spool) keeps it too.
type endedError struct {
	method, url string
	ctxErr      error
	last        error
}

func (e *endedError) Error() string {
	s := fmt.Sprintf("%s %s: %v", e.method, e.url, e.ctxErr)
	var apiErr *APIError
	var netErr *NetError
	switch {
	case errors.As(e.last, &apiErr):
		s += fmt.Sprintf(" (the server last answered: %v)", apiErr)
	case errors.As(e.last, &netErr) && !errors.Is(netErr.Err, context.Canceled) && !errors.Is(netErr.Err, context.DeadlineExceeded):
		// Cancelled while waiting to try again: why the last attempt
		// failed (connection refused: the server is down) is the news.
		s += fmt.Sprintf(" (the last attempt: %v)", netErr.Err)
	}
	return s
}

// Unwrap returns the context's error and the last attempt's.
func (e *endedError) Unwrap() []error { return []error{e.ctxErr, e.last} }

// ProtocolError is a 2xx response that does not follow the API, as when a
// proxy or another service answers in the server's place. A write that got
// one may or may not be stored, as after a *NetError: resend it with the
// same idempotency key once the path to the server is fixed.
type ProtocolError struct {
	URL string // the request URL, a password in it shown as "xxxxx"
	Err error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("unexpected response from %s: %v", e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// IsTemporary reports whether err may go away if the same request is sent
// later: no response (*NetError, also when the call's context ran out or
// was cancelled while waiting for one), an answer that is not the API's
// (*ProtocolError: a proxy or a login page in the server's place, until it
// is fixed; not a redirect of a write, which the server URL must avoid),
// or an answer whose code says the server is overloaded, out of
// reach or broken (model.Temporary: 408, 429, 5xx). Refusals (other 4xx) are
// permanent: sending the same request again gets the same answer.
func IsTemporary(err error) bool {
	var netErr *NetError
	if errors.As(err, &netErr) {
		return true
	}
	var protoErr *ProtocolError
	if errors.As(err, &protoErr) {
		// A redirect that would drop a write is the server URL's mistake:
		// sent again to the same URL, it is redirected again.
		_, redirected := errors.AsType[*redirectError](err)
		return !redirected
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return model.Temporary(apiErr.Code)
	}
	return false
}

// errorBody is the server's JSON error.
type errorBody struct {
	Error  string           `json:"error"`
	Code   string           `json:"code"`
	Field  string           `json:"field"`
	Params []string         `json:"params"`
	Rows   []model.RowError `json:"rows"`
}

// readAPIError turns a non-2xx response into an *APIError. Bodies that are
// not the server's JSON (a proxy's HTML 502 page) get the code of their
// status and a message built from the status line.
func readAPIError(resp *http.Response) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Code:       api.CodeOf(resp.StatusCode),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body errorBody
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Unmarshal(raw, &body) == nil && body.Error != "" {
		e.Message = body.Error
		e.Field = body.Field
		e.Params = body.Params
		e.Rows = body.Rows
		if api.Known(body.Code) {
			// A code this client does not know (a newer server's, such as
			// a narrower case of 503) is read as its status's: kept, the
			// retries, IsTemporary and the spool, which go by the code,
			// took a 503 for a refusal, and stepsctl record failed the
			// deploy instead of waiting or spooling.
			e.Code = body.Code
		}
		e.FromAPI = true
		return e
	}
	e.Message = fmt.Sprintf("server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	// Go's servers answer a plain-HTTP request on a TLS port with a
	// text body and no Content-Type: an http:// URL of a stepsd that
	// serves HTTPS (--tls-cert).
	if snippet := firstLine(raw); snippet != "" && (mt == "text/plain" || mt == "") {
		e.Message += ": " + snippet
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(snippet, "HTTP request to an HTTPS server") {
			e.Message += " (use https:// in the server URL)"
		}
	}
	return e
}

// firstLine returns the first line of a plain-text body, shortened and with
// control characters removed, so that it fits in a one-line message.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return strings.TrimSpace(s)
}
