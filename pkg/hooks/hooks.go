// Package hooks turns CI webhook payloads (GitHub Actions, GitLab CI) into
// step records. It decides nothing about HTTP or storage: pkg/server checks
// the provider's signature, calls GitHub or GitLab here, and stores what
// comes back, each record under its own idempotency key.
package hooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"go.yaml.in/yaml/v3"

	"github.com/steps-dev/steps/pkg/model"
)

// Record is one step to store and the key that makes storing it twice a
// no-op. Keys come from the event's identity (job id, run attempt, step
// number, status id), never from the delivery alone: the same step shows
// up in several deliveries (in_progress, then completed) and must be
// stored once.
type Record struct {
	Step model.StepInput
	Key  string
}

// keyPrefixes begin the key of every record of a webhook (see GitHub and
// GitLab): the key space the webhooks own.
var keyPrefixes = []string{"github:job:", "github:deployment_status:",
	"gitlab:build:", "gitlab:pipeline:", "gitlab:deployment:"}

// KeyPrefixes returns how the keys of webhook records begin, for messages
// and docs.
func KeyPrefixes() []string {
	return append([]string(nil), keyPrefixes...)
}

// IsHookKey reports whether key is in the webhooks' key space. An API
// client must not store a step under such a key: the record the webhook
// later brings under it would be taken for a replay and dropped (a job's
// failed end, say, so that its deployment never fails), which anyone who
// may write, on an open server anyone, could do for ids to come.
func IsHookKey(key string) bool {
	for _, p := range keyPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// EndStatuses returns the statuses a webhook's record ends a deployment
// with (a job's or pipeline's end): each must be terminal under the
// server's deployment rules, else such deployments stay in progress.
func EndStatuses() []string {
	return []string{"finished", "failed", "cancelled", "timed-out"}
}

// Result is what a payload maps to: records to store, or the reason why
// there is nothing to store (an event we do not use, a job filtered out by
// the mapping, a payload missing what a step needs).
type Result struct {
	Records []Record
	Ignored string
}

func ignored(format string, args ...any) Result {
	return Result{Ignored: fmt.Sprintf(format, args...)}
}

// Mapping says which CI runs count as deploys and how their names map to
// steps' components and environments. The zero Mapping takes every run and
// maps component = repository name, environment = the deployment's or
// job's environment, else the workflow (pipeline) name.
type Mapping struct {
	// Deploys filters: when a list is not empty, a run counts only when
	// its name matches one of its patterns (path.Match globs, compared
	// case-insensitively).
	Deploys struct {
		Workflows    []string `yaml:"workflows"`
		Jobs         []string `yaml:"jobs"`
		Environments []string `yaml:"environments"`
	} `yaml:"deploys"`
	// Components maps a repository, by full name ("org/api") or name
	// ("api"), to a component.
	Components map[string]string `yaml:"components"`
	// Environments maps an environment or workflow (pipeline) name to the
	// environment to record.
	Environments map[string]string `yaml:"environments"`
}

// LoadMapping reads a mapping file (YAML).
func LoadMapping(file string) (*Mapping, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseMapping(b)
}

// ParseMapping parses a mapping file's YAML; unknown keys are errors, so a
// typo does not silently turn a filter off.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	for _, list := range [][]string{m.Deploys.Workflows, m.Deploys.Jobs, m.Deploys.Environments} {
		for _, p := range list {
			if _, err := path.Match(strings.ToLower(p), ""); err != nil {
				return nil, fmt.Errorf("mapping file: pattern %q: %w", p, err)
			}
		}
	}
	return &m, nil
}

// matches reports whether name matches one of patterns, or patterns is
// empty (no filter).
func matches(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	name = strings.ToLower(name)
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), name); ok {
			return true
		}
	}
	return false
}

// lookup finds key in m, exactly or case-insensitively.
func lookup(m map[string]string, keys ...string) (string, bool) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if v, ok := m[k]; ok {
			return v, true
		}
		for mk, v := range m {
			if strings.EqualFold(mk, k) {
				return v, true
			}
		}
	}
	return "", false
}

func (m *Mapping) orZero() *Mapping {
	if m == nil {
		return &Mapping{}
	}
	return m
}

// component maps a repository to a component: the mapping file's entry for
// its full name or name, else its name.
func (m *Mapping) component(fullName, name string) string {
	if c, ok := lookup(m.Components, fullName, name); ok {
		return c
	}
	if name == "" {
		_, name, _ = strings.Cut(fullName, "/")
	}
	return name
}

// environment maps the run's environment (else its workflow name) through
// the mapping file's environments.
func (m *Mapping) environment(env, workflow string) string {
	if e, ok := lookup(m.Environments, env, workflow); ok {
		return e
	}
	if env != "" {
		return env
	}
	return workflow
}

// versionLike matches refs that name a release: v1, 1.2.3, v2.0.0-rc.1.
// A number alone, or followed by words, is not one: GitHub names the
// branch it makes for an issue after the issue ("123-fix-login"), and a
// branch's deploys would all have taken its name for their version.
var versionLike = regexp.MustCompile(`^(v[0-9]+|v?[0-9]+(\.[0-9]+)+([-+.][0-9A-Za-z.-]+)?)$`)

// version is the tag when the run is of one, else the short commit.
// GitHub's job and deployment payloads do not say whether their ref is a
// tag (but for a deployment's refs/tags/…), so a ref that looks like a
// version (v1.2.3, 2.0) counts as one.
func version(ref string, isTag bool, sha string, short int) string {
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		ref, isTag = tag, true
	}
	if ref != "" && (isTag || versionLike.MatchString(ref)) {
		return ref
	}
	if len(sha) > short {
		return sha[:short]
	}
	return sha
}

// revision is a commit id from a payload, or "" when it is not one: a
// payload's odd value leaves the step without a revision rather than get
// it refused.
func revision(sha string) string {
	if sha == "" || len(sha) > model.MaxRevisionLen || strings.Trim(sha, "0123456789abcdefABCDEF") != "" {
		return ""
	}
	return sha
}

// VerifyGitHubSignature reports whether header ("sha256=HEX", GitHub's
// X-Hub-Signature-256) is the HMAC-SHA256 of body keyed with secret. The
// digests are compared in constant time.
func VerifyGitHubSignature(secret, header string, body []byte) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// SignGitHub returns the X-Hub-Signature-256 value of body: what GitHub
// sends, for tests and for trying a hook locally.
func SignGitHub(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyGitLabToken reports whether presented is the configured token,
// comparing SHA-256 digests in constant time so neither the token's
// content nor its length leaks through timing.
func VerifyGitLabToken(token, presented string) bool {
	if token == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// parseTime reads the times CI providers send: RFC 3339 (GitHub, GitLab's
// *_iso fields) and GitLab's "2021-04-28 21:50:00 UTC" and
// "2021-04-28 21:50:00 +0200". An empty value is the zero time.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05.999999999 -0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			if zone, _ := t.Zone(); layout == "2006-01-02 15:04:05 MST" && zone != "UTC" && zone != "GMT" {
				// time.Parse reads an abbreviation it does not know
				// ("CEST") as UTC, and one the server's own zone uses
				// ("EST" under TZ=America/New_York) at that zone's offset:
				// the same delivery stored hours apart, machine by machine.
				// GitLab writes "UTC", or a numeric offset; GMT is UTC too.
				return time.Time{}, fmt.Errorf("%s %s names its zone by the abbreviation %s, which does not say its offset; want RFC 3339, \"YYYY-MM-DD hh:mm:ss UTC\" or \"YYYY-MM-DD hh:mm:ss +hhmm\"", field, model.Quote(v), model.Quote(zone))
			}
			if t.IsZero() {
				// Given, it is not "no time": left zero, the step would be
				// stamped with its receipt time, as POST /v1/steps refuses to.
				return time.Time{}, fmt.Errorf("%s %s is the zero time; leave it out if it is not known", field, model.Quote(v))
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %s is not a time (want RFC 3339 or \"YYYY-MM-DD hh:mm:ss UTC\")", field, model.Quote(v))
}

// validate checks every record as POST /v1/steps would, so that nothing
// is stored from a payload one of whose steps would be refused. Two
// records under one key (two steps of a job with the same number) are
// refused too: the second would be taken for a replay of the first and
// dropped, with a 201 for the delivery.
func (r Result) validate() (Result, error) {
	keys := make(map[string]string, len(r.Records))
	for i := range r.Records {
		key := r.Records[i].Key
		if other, ok := keys[key]; ok {
			return Result{}, fmt.Errorf("steps %s and %s have the same id or number (key %s)", model.Quote(other), model.Quote(r.Records[i].Step.Status), model.Quote(key))
		}
		keys[key] = r.Records[i].Step.Status
		if !IsHookKey(key) {
			// A key outside the reserved space could be taken by an API
			// client first (see IsHookKey): a mistake of ours.
			return Result{}, fmt.Errorf("step %s: key %s is not in the webhooks' key space", model.Quote(r.Records[i].Step.Status), model.Quote(key))
		}
		r.Records[i].Step = r.Records[i].Step.Normalized()
		if err := r.Records[i].Step.Validate(); err != nil {
			return Result{}, fmt.Errorf("step %s: %s", model.Quote(r.Records[i].Step.Status), model.ErrorMessage(err))
		}
		if err := model.ValidateIdempotencyKey(r.Records[i].Key); err != nil {
			return Result{}, fmt.Errorf("step %s: %s", model.Quote(r.Records[i].Step.Status), model.ErrorMessage(err))
		}
	}
	return r, nil
}

// decode reads a payload (what names it in errors) into v. The body is
// read with jsontext first, as the API reads JSON: encoding/json alone
// turns invalid UTF-8 and escaped lone surrogates ("\ud800") into U+FFFD,
// which a step would then store as if sent, and lets the last of a member
// given twice win. The errors quote no more of the payload than
// model.Quote does, since they go back to the provider and into the log.
func decode(what string, body []byte, v any) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := dec.SkipValue(); err != nil {
		return fmt.Errorf("%s payload: %s", what, syntaxProblem(err))
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return fmt.Errorf("%s payload: more than one JSON value", what)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("%s payload is %s, not a JSON object", what, jsonKind(te.Value))
			}
			want := goKind(te.Type)
			if n, ok := strings.CutPrefix(te.Value, "number "); ok && want == "a whole number" {
				// A number, but a fraction or out of range (an id past int64).
				return fmt.Errorf("%s payload: %s is %s, not a whole number in range", what, model.Quote(te.Field), model.Shorten(n))
			}
			return fmt.Errorf("%s payload: %s is %s, not %s", what, model.Quote(te.Field), jsonKind(te.Value), want)
		}
		return fmt.Errorf("%s payload: %s", what, model.Shorten(err.Error()))
	}
	return nil
}

// syntaxProblem says what is wrong with a payload that jsontext refused,
// and where.
func syntaxProblem(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "it ends too soon"
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return model.Shorten(err.Error())
	}
	cause := se.Err.Error()
	if errors.Is(se.Err, jsontext.ErrDuplicateName) {
		cause = "a member is given twice" // the error's text holds the name, however long
	}
	where := ""
	if se.JSONPointer != "" {
		where = " in " + model.Quote(string(se.JSONPointer))
	}
	return fmt.Sprintf("%s%s (at byte %d)", model.Shorten(cause), where, se.ByteOffset)
}

// jsonKind names a JSON value as encoding/json's UnmarshalTypeError
// describes it ("string", "number", "number 1.5", "array", …).
func jsonKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "string", "number":
		return "a " + kind
	}
	return model.Shorten(value)
}

// goKind names the JSON value a Go type is read from.
func goKind(t reflect.Type) string {
	if t == nil {
		return "what was expected"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
