package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/steps-dev/steps/pkg/model"
)

// stepParams are the parameters POST /v1/steps accepts.
var stepParams = []string{"component", "version", "owner", "status", "environment", "time", "revision", "committed_at"}

// listParams are the parameters GET /v1/steps accepts.
var listParams = []string{"component", "version", "owner", "status", "environment",
	"since", "start_datetime", "until", "end_datetime", "format", "order", "limit", "cursor"}

// params is a flat set of request parameters: each with one value.
type params map[string]string

// singleValues flattens url.Values, rejecting unknown names and repeats
// with different values: a misspelt filter silently ignored would return
// rows nobody asked for, and of two values either would be a guess. A
// repeat with the same value is taken, as a query and a body that agree
// are (merge): a script that appends a parameter its URL already holds
// (URL="$URL&environment=$ENV") must not lose its step over it.
func singleValues(values url.Values, accepted []string) (params, error) {
	p := params{}
	for name, vs := range values {
		if !slices.Contains(accepted, name) {
			return nil, unknownParam(name, accepted)
		}
		for _, v := range vs[1:] {
			if v != vs[0] {
				return nil, repeatedParam(name, len(vs), vs[0], v)
			}
		}
		p[name] = vs[0]
	}
	return p, nil
}

// repeatedParam is the error for a parameter given count times, first
// and other among its values.
func repeatedParam(name string, count int, first, other string) error {
	return model.Invalid(name, "%s is given %d times with different values (%s and %s); give it once", name, count, model.Quote(first), model.Quote(other))
}

// queryParams reads a request's query string with the rules of
// singleValues, in one pass over the raw string: no url.Values, no slice
// per name, and no copy of a name or value that holds no escape. A pair
// url.ParseQuery would drop (a ';', a bad escape) is dropped here too;
// limitQuery has refused such a query before any handler reads it. An
// empty query gives a nil map, which reads as empty.
func queryParams(r *http.Request, accepted []string) (params, error) {
	raw := r.URL.RawQuery
	if raw == "" {
		return nil, nil
	}
	p := make(params, len(accepted))
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		name, value, ok := queryPair(pair)
		if !ok {
			continue
		}
		if !slices.Contains(accepted, name) {
			return nil, unknownParam(name, accepted)
		}
		if first, ok := p[name]; ok {
			if value == first {
				continue
			}
			return nil, repeatedParam(name, countParam(raw, name), first, value)
		}
		p[name] = value
	}
	return p, nil
}

// queryPair unescapes one name=value pair as url.ParseQuery does; ok is
// false for a pair it would skip.
func queryPair(pair string) (name, value string, ok bool) {
	if pair == "" || strings.Contains(pair, ";") {
		return "", "", false
	}
	rawName, rawValue, _ := strings.Cut(pair, "=")
	name, err := url.QueryUnescape(rawName)
	if err != nil {
		return "", "", false
	}
	value, err = url.QueryUnescape(rawValue)
	if err != nil {
		return "", "", false
	}
	return name, value, true
}

// countParam counts the pairs of a raw query string that name name.
func countParam(raw, name string) int {
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if got, _, ok := queryPair(pair); ok && got == name {
			n++
		}
	}
	return n
}

func unknownParam(name string, accepted []string) error {
	if len(accepted) == 0 {
		return model.Invalid(model.Shorten(name), "unknown parameter %s; this endpoint takes no query parameters", model.Quote(name))
	}
	return model.Invalid(model.Shorten(name), "unknown parameter %s; accepted: %s", model.Quote(name), strings.Join(accepted, ", "))
}

// checkQuery parses a raw query string pair by pair and names the first
// pair that does not parse, where url.ParseQuery gives only its first
// error and r.URL.Query() drops the pair without a word.
func checkQuery(raw string) error {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return model.Invalid("query", "the query has a parameter name that is not validly escaped (%s): use %%XX escapes, e.g. %%20 for a space and %%25 for %%", model.Quote(rawName))
		}
		if strings.Contains(pair, ";") {
			return model.Invalid(model.Shorten(name), "%s: the query pair %s holds a ';'; separate parameters with an ampersand and escape a ';' in a value as %%3B", model.Shorten(name), model.Quote(pair))
		}
		if _, err := url.QueryUnescape(rawValue); err != nil {
			return model.Invalid(model.Shorten(name), "%s is not validly escaped (%s): use %%XX escapes, e.g. %%20 for a space and %%25 for %%", model.Shorten(name), model.Quote(rawValue))
		}
	}
	return nil
}

// rejectQuery wraps a route that takes no query parameters: one sent
// anyway is a mistake worth a 400, not a silent no-op.
func (s *Server) rejectQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			if _, err := queryParams(r, nil); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// merge adds other to p; a name given in both with different values is an
// error rather than a guess.
func (p params) merge(other params) error {
	for name, v := range other {
		if old, ok := p[name]; ok && old != v {
			return model.Invalid(name, "%s is given twice with different values (%s and %s)", name, model.Quote(old), model.Quote(v))
		}
		p[name] = v
	}
	return nil
}

// readBody reads the whole body within the size limit: 413 beyond it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBody(w, r, s.maxBodyBytes)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if err := declaredTooLarge(r, limit); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, bodyError(err, limit)
	}
	return body, nil
}

// declaredTooLarge is the 413 for a body whose Content-Length is over
// limit, answered before a byte of it is read: a client that sent
// Expect: 100-continue (curl does for bodies over 1 MiB) is then never
// told to go on, and sends nothing, where reading was what made net/http
// answer 100 Continue, so the client sent up to the limit before its 413.
func declaredTooLarge(r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return bodyError(&http.MaxBytesError{Limit: limit}, limit)
	}
	return nil
}

// bodyError is the answer to a failed read of a body limited to limit bytes.
func bodyError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return model.Errorf(model.ETOOLARGE, "request body is larger than %d bytes", limit)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's error names both ends' addresses and says only
		// "i/o timeout": the client needs to know which limit it met.
		return model.Errorf(model.EINVALID, "the request body was still arriving when the server's time to read a request ran out; send it faster, or a batch in smaller parts")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// net/http's words for a body shorter than its Content-Length
		// (or a chunked one cut off): say which.
		return model.Invalid("body", "the request body ended early: it is shorter than its Content-Length, or a chunked body without its last chunk; send it whole")
	}
	return model.Invalid("body", "read request body: %v", err)
}

// stepBodyTypes are the bodies POST /v1/steps takes, as a 415 lists them.
const stepBodyTypes = "application/json, application/x-www-form-urlencoded, or the parameters in the query string with no body"

// stepInputParams gathers the parameters of a step from the query string
// (as the original API) and from a form or JSON body.
func (s *Server) stepInputParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p, err := queryParams(r, stepParams)
	if err != nil {
		return nil, err
	}
	if r.ContentLength == 0 {
		return p, nil // the original API's form: everything in the query string
	}
	body, err := s.readBody(w, r)
	if err != nil || len(body) == 0 {
		return p, err
	}
	var fromBody params
	mt := mediaType(r)
	if mt == "application/json" || mt == "application/x-www-form-urlencoded" {
		skip, err := byteOrderMark(body)
		if err != nil {
			return nil, err
		}
		body = body[skip:]
	}
	if err := jsonUnderAnotherType(r, mt, body); err != nil {
		return nil, err
	}
	switch mt {
	case "text/plain":
		return nil, unsupportedBody(r, stepBodyTypes)
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, model.Invalid("body", "form body is not valid: %v", err)
		}
		fromBody, err = singleValues(values, stepParams)
		if err != nil {
			return nil, err
		}
	case "application/json":
		fromBody, err = s.jsonStepParams(body)
		if err != nil {
			return nil, err
		}
	default:
		return nil, unsupportedBody(r, stepBodyTypes)
	}
	if len(p) == 0 {
		return fromBody, nil // all in the body, as stepsctl sends
	}
	if err := p.merge(fromBody); err != nil {
		return nil, err
	}
	return p, nil
}

// jsonUnderAnotherType is the 415 for JSON sent with the Content-Type a
// client sends unless told otherwise, naming that client, so that the fix
// (one header) is plain; nil when head (the body's start) is not JSON or
// the type is another.
func jsonUnderAnotherType(r *http.Request, mt string, head []byte) error {
	if !looksLikeJSON(head) {
		return nil
	}
	switch mt {
	case "text/plain":
		// fetch() in Node and browsers sends a string body so.
		return model.Errorf(model.EUNSUPPORTED, "the body is JSON but its Content-Type is %s (fetch's default for a string body); send the header Content-Type: application/json", model.Quote(r.Header.Get("Content-Type")))
	case "application/x-www-form-urlencoded":
		// curl -d and Python's urllib send this Content-Type unless
		// told otherwise.
		return model.Errorf(model.EUNSUPPORTED, "the body is JSON but its Content-Type is %s (curl -d's and Python urllib's default); send the header Content-Type: application/json", mt)
	}
	return nil
}

// looksLikeJSON tells a JSON object or array from a form body: no form
// parameter name starts with a brace or a bracket.
func looksLikeJSON(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// mediaType returns the media type of the request's body, lower case and
// without parameters. A body declared in a charset other than UTF-8 has
// none any route takes (its whole Content-Type is returned, which matches
// no case), so that it is a 415 saying so (see unsupportedBody), not read
// as UTF-8 into a 400 about a field it garbled.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" || ct == "application/json" {
		return ct // the common cases, without ParseMediaType's map
	}
	mt, ps, err := mime.ParseMediaType(ct)
	if err != nil || !utf8Charset(ps["charset"]) {
		return ct
	}
	return mt
}

// utf8Charset reports whether a Content-Type's charset parameter (empty
// when absent) declares UTF-8, or ASCII, which is a part of it.
func utf8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// jsonStepParams reads a JSON object of string fields; null means absent.
// Fields in ignored are accepted and dropped. It reads the object token by
// token with jsontext, which, unlike encoding/json, refuses what would
// otherwise be stored other than as sent: invalid UTF-8 and lone
// surrogate escapes (encoding/json turns both into U+FFFD) and a field
// given twice (encoding/json keeps the last). Each is a 400 naming the
// field, as the query string, forms and CSV answer.
func jsonStepParams(body []byte, accepted []string, ignored ...string) (params, error) {
	p, err := readStepObject(jsontext.NewDecoder(bytes.NewReader(body)), accepted, ignored)
	if errors.Is(err, errMoreThanOneValue) {
		// A batch row is an NDJSON line (an array's item is one value by
		// construction): the client already sent NDJSON.
		return nil, model.Invalid("body", "the line holds more than one JSON value; put one step per line")
	}
	return p, err
}

// errMoreThanOneValue is readStepObject's error for a body with more after
// its object; each caller says what the client should send instead.
var errMoreThanOneValue = errors.New("more than one JSON value")

// jsonDecoder is a pooled decoder and its reader.
type jsonDecoder struct {
	dec  *jsontext.Decoder
	body bytes.Reader
}

// jsonStepParams reads the JSON body of POST /v1/steps as jsonStepParams
// does, with a decoder reused from request to request: a new one costs
// its buffers and name sets each time.
func (s *Server) jsonStepParams(body []byte) (params, error) {
	d, ok := s.jsonDecoders.Get().(*jsonDecoder)
	if !ok {
		d = new(jsonDecoder)
		d.dec = jsontext.NewDecoder(&d.body)
	}
	d.body.Reset(body)
	d.dec.Reset(&d.body)
	p, err := readStepObject(d.dec, stepParams, nil)
	switch {
	case errors.Is(err, errMoreThanOneValue):
		err = model.Invalid("body", "body holds more than one JSON value (for one step per line, send Content-Type: application/x-ndjson to /v1/steps/batch)")
	case err != nil && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")):
		// An array of steps is a batch sent to the one-step route.
		err = model.Invalid("body", "body is a JSON array: send one step here as a JSON object, or the array to POST /v1/steps/batch")
	}
	d.body.Reset(nil) // the pool keeps no request's body
	d.dec.Reset(&d.body)
	s.jsonDecoders.Put(d)
	return p, err
}

func readStepObject(dec *jsontext.Decoder, accepted, ignored []string) (params, error) {
	known := func(name string) bool { return slices.Contains(accepted, name) || slices.Contains(ignored, name) }
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, jsonTextError(err, known)
	}
	if tok.Kind() != '{' {
		return nil, model.Invalid("body", "body is not a JSON object: it starts with %s", jsonKind(tok.Kind()))
	}
	p := params{}
	for dec.PeekKind() != '}' {
		nameTok, err := dec.ReadToken()
		if err != nil {
			return nil, jsonTextError(err, known)
		}
		name := nameTok.String()
		// A value that is refused is not read through: skipping an array
		// or object makes jsontext keep every member name it holds, to
		// refuse duplicates, and one of millions of members in a 32 MiB
		// batch row cost 300 MB and seconds before its 400.
		if slices.Contains(ignored, name) {
			switch dec.PeekKind() {
			case '{', '[', 't', 'f':
				return nil, model.Invalid(name, "%s must be a JSON string or number, as an export writes it", name)
			}
			// Kept as text, not a step's field: a batch reads an export's
			// id for its order (model.ExportedOutOfOrder).
			v, err := dec.ReadValue()
			if err != nil {
				return nil, jsonTextError(err, known)
			}
			p[name] = strings.Trim(string(v), `"`)
			continue
		}
		if !slices.Contains(accepted, name) {
			return nil, model.Invalid(model.Shorten(name), "unknown field %s; accepted: %s", model.Quote(name), strings.Join(accepted, ", "))
		}
		switch dec.PeekKind() {
		case 'n', '"':
			v, err := dec.ReadToken()
			if err != nil {
				return nil, jsonTextError(err, known)
			}
			if v.Kind() == '"' {
				p[name] = v.String()
			}
		case '0':
			return nil, numberNotString(dec, name)
		case '{', '[', 't', 'f':
			return nil, model.Invalid(name, "%s must be a JSON string", name)
		default: // no value: the syntax error says what is wrong
			if err := dec.SkipValue(); err != nil {
				return nil, jsonTextError(err, known)
			}
			return nil, model.Invalid(name, "%s must be a JSON string", name)
		}
	}
	if _, err := dec.ReadToken(); err != nil { // the closing brace
		return nil, jsonTextError(err, known)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errMoreThanOneValue
	}
	return p, nil
}

// numberNotString refuses a number sent for a field that takes a string,
// with what the script meant to send: a time as unix seconds
// ("time": $(date +%s)) said only "must be a JSON string", and the string
// of it was then refused with a list of forms that names no way from the
// number to one of them.
func numberNotString(dec *jsontext.Decoder, name string) error {
	v, err := dec.ReadValue()
	if err != nil {
		return model.Invalid(name, "%s must be a JSON string", name)
	}
	if name == "time" || name == "committed_at" {
		if hint := model.UnixTimeHint(string(v)); hint != "" {
			return model.Invalid(name, "%s must be a JSON string holding a datetime: %s", name, hint)
		}
		return model.Invalid(name, "%s must be a JSON string holding a datetime, such as \"2026-01-02T15:04:05Z\"", name)
	}
	return model.Invalid(name, "%s must be a JSON string: quote it (%s), as a number loses how it was written (1.10 reads as 1.1)", name, model.Quote(string(v)))
}

// jsonTextError turns a jsontext error into a 400 that names the field it
// happened in, when that field is one of ours, else the body.
func jsonTextError(err error, known func(string) bool) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return model.Invalid("body", "body is not a JSON object: it ends too soon")
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return model.Invalid("body", "body is not a JSON object: %v", err)
	}
	field := "body"
	for tok := range se.JSONPointer.Tokens() {
		if known(tok) {
			field = tok
		}
		break
	}
	if errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return model.Invalid(field, "%s is given twice in the JSON object; give it once", field)
	}
	if field == "body" {
		return model.Invalid("body", "body is not a JSON object: %v at byte %d", se.Err, se.ByteOffset)
	}
	if strings.Contains(se.Err.Error(), "invalid UTF-8") {
		return model.Invalid(field, "%s is not a valid JSON string: %v (%s)", field, se.Err, model.NotUTF8Advice)
	}
	return model.Invalid(field, "%s is not a valid JSON string: %v (text must be valid UTF-8, with no lone surrogate escapes such as \\ud800)", field, se.Err)
}

func jsonKind(k jsontext.Kind) string {
	switch k {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return k.String()
}

func jsonProblem(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too soon"
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("%v at byte %d", syntax, syntax.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "expected an object, found " + typ.Value
	}
	return err.Error()
}

// stepInput turns parameters into a validated StepInput.
func (s *Server) stepInput(p params) (model.StepInput, error) {
	in := model.StepInput{
		Component:   p["component"],
		Version:     p["version"],
		Owner:       p["owner"],
		Status:      p["status"],
		Environment: p["environment"],
		Revision:    p["revision"],
	}
	var err error
	if in.Time, err = s.stepTime(p, "time"); err != nil {
		return in, err
	}
	// A commit is made before it is deployed: one in the future is a
	// wrong clock or a wrong field, and would make lead times negative.
	if in.CommittedAt, err = s.stepTime(p, "committed_at"); err != nil {
		return in, err
	}
	return in, in.Validate()
}

// stepTime reads the optional time parameter name: zero when absent or
// empty, else a time within the bounds of a step's and not in the future.
func (s *Server) stepTime(p params, name string) (time.Time, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return time.Time{}, nil
	}
	t, _, err := model.ParseTime(v)
	if err != nil {
		return time.Time{}, model.Invalid(name, "%s: %v", name, err)
	}
	if err := model.ValidateStepTime(name, t); err != nil {
		return time.Time{}, err // the zero time among others: given, it is never "no time"
	}
	if limit := s.now().Add(s.maxFutureSkew); t.After(limit) {
		return time.Time{}, model.Invalid(name, "%s %s is in the future (more than %s ahead of the server's clock)", name, v, s.maxFutureSkew)
	}
	return t, nil
}

// listFilter reads the filters, order, limit and cursor of a list request.
// A since or until given as a date is a day of loc, the calendar's zone:
// a team's dates are its own on every endpoint, not only in its buckets.
func listFilter(p params, loc *time.Location) (model.Filter, error) {
	f := model.Filter{
		Component:   p["component"],
		Version:     p["version"],
		Owner:       p["owner"],
		Status:      p["status"],
		Environment: p["environment"],
		Order:       p["order"],
	}.Normalized()
	since, err := alias(p, "since", "start_datetime")
	if err != nil {
		return f, err
	}
	until, err := alias(p, "until", "end_datetime")
	if err != nil {
		return f, err
	}
	if since != "" {
		if f.Since, err = model.ParseSinceIn(sinceName(p), since, loc); err != nil {
			return f, err
		}
	}
	if until != "" {
		if f.Until, err = model.ParseUntilIn(untilName(p), until, loc); err != nil {
			return f, err
		}
	}
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > model.MaxLimit {
			return f, model.Invalid("limit", "limit must be a whole number from 1 to %d (omit it to stream every row), not %s", model.MaxLimit, model.Quote(v))
		}
		f.Limit = n
	}
	if v := p["cursor"]; v != "" {
		if f.After, err = model.ParseCursor(v); err != nil {
			return f, err
		}
	}
	return f, f.Validate()
}

// alias reads a parameter that has two names (the original API's and ours).
func alias(p params, name, other string) (string, error) {
	a, okA := p[name]
	b, okB := p[other]
	if okA && okB && a != b {
		return "", model.Invalid(name, "%s and %s name the same bound; give one", name, other)
	}
	if okA {
		return a, nil
	}
	return b, nil
}

func sinceName(p params) string {
	if _, ok := p["start_datetime"]; ok {
		return "start_datetime"
	}
	return "since"
}

func untilName(p params) string {
	if _, ok := p["end_datetime"]; ok {
		return "end_datetime"
	}
	return "until"
}
