package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// Token scopes. A write token may also read.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Token is one configured bearer token and what it may do.
type Token struct {
	Scope  string
	Secret string
}

// ParseTokens parses "SCOPE:TOKEN,SCOPE:TOKEN" as given to --tokens.
func ParseTokens(list string) ([]Token, error) {
	var tokens []Token
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		scope, secret, ok := strings.Cut(item, ":")
		if !ok || secret == "" {
			return nil, fmt.Errorf("token %d: want SCOPE:TOKEN (scopes: read, write)", len(tokens)+1)
		}
		if scope != ScopeRead && scope != ScopeWrite {
			return nil, fmt.Errorf("token %d: unknown scope %q (scopes: read, write)", len(tokens)+1, scope)
		}
		if len(secret) < 8 {
			return nil, fmt.Errorf("token %d: a token must be at least 8 characters long", len(tokens)+1)
		}
		// The example tokens of deploy/kubernetes/stepsd-secret.yaml and
		// configs/stepsd.yaml say CHANGE-ME; applied unedited, stepsd
		// served with tokens anyone can read in the repository, without
		// the warning an open stepsd gives.
		if strings.Contains(strings.ToUpper(secret), "CHANGE-ME") {
			return nil, fmt.Errorf("token %d: is an example value (it says CHANGE-ME), published with steps: set a token of your own, such as the output of openssl rand -hex 24", len(tokens)+1)
		}
		for i, t := range tokens {
			// One secret under two scopes matched the first listed, so
			// "write:X,read:X" left X unable to write, with a 403 for it.
			if t.Secret == secret && t.Scope != scope {
				return nil, fmt.Errorf("token %d: the same token as token %d, with another scope; give a token once, with one scope (write implies read)", len(tokens)+1, i+1)
			}
		}
		tokens = append(tokens, Token{Scope: scope, Secret: secret})
	}
	return tokens, nil
}

// tokenSet checks bearer tokens in constant time. Secrets are held as
// SHA-256 digests, so every comparison is over 32 bytes whatever the
// lengths, and the set is walked whole whatever matches.
type tokenSet struct {
	digests [][32]byte
	scopes  []string
}

func newTokenSet(tokens []Token) *tokenSet {
	if len(tokens) == 0 {
		return nil
	}
	ts := &tokenSet{}
	for _, t := range tokens {
		ts.digests = append(ts.digests, sha256.Sum256([]byte(t.Secret)))
		ts.scopes = append(ts.scopes, t.Scope)
	}
	return ts
}

// scope returns the scope of the presented token, or "" if none matches.
func (ts *tokenSet) scope(presented string) string {
	if i := ts.match(presented); i >= 0 {
		return ts.scopes[i]
	}
	return ""
}

// match returns the index of the presented token in the configured list,
// or -1 if none matches.
func (ts *tokenSet) match(presented string) int {
	d := sha256.Sum256([]byte(strings.TrimSpace(presented)))
	found := -1
	for i := range ts.digests {
		if subtle.ConstantTimeCompare(d[:], ts.digests[i][:]) == 1 {
			found = i
		}
	}
	return found
}

// requireScope wraps an API handler: with tokens configured, writes need a
// write token and reads a read (or write) token. Without tokens the API is
// open, as stepsd warns at start-up.
func (s *Server) requireScope(scope string, next http.Handler) http.Handler {
	if s.tokens == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Two credentials are a malformed request (RFC 6750's
		// invalid_request), not a choice of the first.
		if err := singleHeaders(r, "Authorization"); err != nil {
			s.writeError(w, r, err)
			return
		}
		presented, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="steps"`)
			s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "this server needs a token: send Authorization: Bearer TOKEN"))
			return
		}
		got := s.tokens.scope(presented)
		switch {
		case got == "":
			w.Header().Set("WWW-Authenticate", `Bearer realm="steps", error="invalid_token"`)
			s.writeError(w, r, model.Errorf(model.EUNAUTHORIZED, "the token is not valid"))
		case scope == ScopeWrite && got != ScopeWrite:
			s.writeError(w, r, model.Errorf(model.EFORBIDDEN, "this token may only read; recording needs a write token"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN"
// header. The scheme is matched in any case ("bearer", "BEARER"), as RFC
// 7235 makes auth schemes case-insensitive. A request with two
// Authorization headers has none that counts.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
