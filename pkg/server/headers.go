package server

import (
	"net/http"
	"strings"

	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// singleHeaders answers 400, naming the header, when the request carries
// any of names more than once. Each of them holds one value; with two,
// Header.Get would take the first and drop the other without a word: two
// Idempotency-Keys (a script's and a wrapper's) would store the step under
// whichever came first, and a retry with the other would store it again.
func singleHeaders(r *http.Request, names ...string) error {
	for _, name := range names {
		if n := len(r.Header.Values(name)); n > 1 {
			return model.Invalid(name, "the %s header is given %d times; send it once", name, n)
		}
	}
	return nil
}

// identityBody refuses a body sent with a Content-Encoding other than
// identity (gzip, deflate, br, …), with 415 and, as RFC 7694 asks,
// Accept-Encoding: identity. Bodies are read as sent: decoding one would
// need a second limit, on the decoded size, for every body reader (a small
// gzip body can inflate a thousandfold), and no client of ours compresses.
// Read unencoded, a compressed body would only fail later, as a confusing
// 400 about its first bytes.
func identityBody(w http.ResponseWriter, r *http.Request) error {
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, coding := range strings.Split(v, ",") {
			coding = strings.TrimSpace(coding)
			if coding == "" || strings.EqualFold(coding, "identity") {
				continue
			}
			w.Header().Set("Accept-Encoding", "identity")
			return model.Errorf(model.EUNSUPPORTED, "Content-Encoding %s is not supported: send the body uncompressed, without a Content-Encoding header", model.Quote(coding))
		}
	}
	return nil
}

// clientIdempotencyKey checks the Idempotency-Key of an API write: it must
// not be in the key space of the webhooks (hooks.IsHookKey), whose records
// it would otherwise suppress.
func clientIdempotencyKey(r *http.Request) error {
	key := r.Header.Get("Idempotency-Key")
	if hooks.IsHookKey(key) {
		return model.Invalid("Idempotency-Key", "Idempotency-Key %s is in the webhooks' key space (keys beginning %s are theirs); send another key, e.g. a random UUID",
			model.Quote(key), strings.Join(hooks.KeyPrefixes(), ", "))
	}
	return nil
}

// bodyHeaders checks the headers of a request whose body is read: its
// Content-Type and each of names at most once, and the body not compressed.
func bodyHeaders(w http.ResponseWriter, r *http.Request, names ...string) error {
	if err := singleHeaders(r, "Content-Type"); err != nil {
		return err
	}
	if err := singleHeaders(r, names...); err != nil {
		return err
	}
	return identityBody(w, r)
}
