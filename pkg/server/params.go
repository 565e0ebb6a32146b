package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// stepParams are the parameters POST /v1/steps accepts.
var stepParams = []string{"component", "version", "owner", "status", "environment", "time"}

// listParams are the parameters GET /v1/steps accepts.
var listParams = []string{"component", "version", "owner", "status", "environment",
	"since", "start_datetime", "until", "end_datetime", "format", "order", "limit", "cursor"}

// params is a flat set of request parameters: each given at most once.
type params map[string]string

// singleValues flattens url.Values, rejecting unknown names and repeats:
// a misspelt filter silently ignored would return rows nobody asked for.
func singleValues(values url.Values, accepted []string) (params, error) {
	p := params{}
	for name, vs := range values {
		if !slices.Contains(accepted, name) {
			return nil, model.Invalid(name, "unknown parameter %q; accepted: %s", name, strings.Join(accepted, ", "))
		}
		if len(vs) > 1 {
			return nil, model.Invalid(name, "%s is given %d times; give it once", name, len(vs))
		}
		p[name] = vs[0]
	}
	return p, nil
}

// merge adds other to p; a name given in both with different values is an
// error rather than a guess.
func (p params) merge(other params) error {
	for name, v := range other {
		if old, ok := p[name]; ok && old != v {
			return model.Invalid(name, "%s is given twice with different values (%q and %q)", name, old, v)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, bodyError(err, limit)
	}
	return body, nil
}

// bodyError is the answer to a failed read of a body limited to limit bytes.
func bodyError(err error, limit int64) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return model.Errorf(model.ETOOLARGE, "request body is larger than %d bytes", limit)
	}
	return model.Errorf(model.EINVALID, "read request body: %v", err)
}

// stepInputParams gathers the parameters of a step from the query string
// (as the original API) and from a form or JSON body.
func (s *Server) stepInputParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p, err := singleValues(r.URL.Query(), stepParams)
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
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, model.Invalid("body", "form body is not valid: %v", err)
		}
		fromBody, err = singleValues(values, stepParams)
		if err != nil {
			return nil, err
		}
	case "application/json", "":
		fromBody, err = jsonStepParams(body, stepParams)
		if err != nil {
			return nil, err
		}
	default:
		return nil, model.Errorf(model.EUNSUPPORTED, "Content-Type %q is not supported; send application/json, application/x-www-form-urlencoded, or parameters in the query string", r.Header.Get("Content-Type"))
	}
	if err := p.merge(fromBody); err != nil {
		return nil, err
	}
	return p, nil
}

func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// jsonStepParams reads a JSON object of string fields; null means absent.
// Fields in ignored are accepted and dropped.
func jsonStepParams(body []byte, accepted []string, ignored ...string) (params, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, model.Invalid("body", "body is not a JSON object: %v", jsonProblem(err))
	}
	p := params{}
	for name, value := range raw {
		if slices.Contains(ignored, name) {
			continue
		}
		if !slices.Contains(accepted, name) {
			return nil, model.Invalid(name, "unknown field %q; accepted: %s", name, strings.Join(accepted, ", "))
		}
		if string(value) == "null" {
			continue
		}
		var v string
		if err := json.Unmarshal(value, &v); err != nil {
			return nil, model.Invalid(name, "%s must be a JSON string", name)
		}
		p[name] = v
	}
	return p, nil
}

func jsonProblem(err error) string {
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
	}
	if v, ok := p["time"]; ok && v != "" {
		t, _, err := model.ParseTime(v)
		if err != nil {
			return in, model.Invalid("time", "time: %v", err)
		}
		if limit := s.now().Add(s.maxFutureSkew); t.After(limit) {
			return in, model.Invalid("time", "time %s is in the future (more than %s ahead of the server's clock)", v, s.maxFutureSkew)
		}
		in.Time = t
	}
	return in, in.Validate()
}

// listFilter reads the filters, order, limit and cursor of a list request.
func listFilter(p params) (model.Filter, error) {
	f := model.Filter{
		Component:   p["component"],
		Version:     p["version"],
		Owner:       p["owner"],
		Status:      p["status"],
		Environment: p["environment"],
		Order:       p["order"],
	}
	since, err := alias(p, "since", "start_datetime")
	if err != nil {
		return f, err
	}
	until, err := alias(p, "until", "end_datetime")
	if err != nil {
		return f, err
	}
	if since != "" {
		if f.Since, err = model.ParseSince(sinceName(p), since); err != nil {
			return f, err
		}
	}
	if until != "" {
		if f.Until, err = model.ParseUntil(untilName(p), until); err != nil {
			return f, err
		}
	}
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > model.MaxLimit {
			return f, model.Invalid("limit", "limit must be a whole number from 1 to %d (omit it to stream every row), not %q", model.MaxLimit, v)
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
