package server

import (
	"net/http"
	"strings"

	"github.com/steps-dev/steps/pkg/model"
)

// refuseCrossSite stops a web page on another site from using a visitor's
// browser to write to stepsd: with no token configured (the default), any
// page could otherwise post a cross-site form or fetch() and forge deploy
// records on a local or intranet stepsd.
//
// net/http's CrossOriginProtection decides: a write (any method but GET,
// HEAD, OPTIONS) is refused when the browser says it comes from another
// origin (Sec-Fetch-Site: cross-site or same-site) or, from browsers too old
// to send Sec-Fetch-Site, when its Origin does not match Host. Requests
// with neither header, which is what curl, scripts and stepsctl send, pass.
// Same-site is refused too: a sibling host on an intranet is not stepsd.
func (s *Server) refuseCrossSite(next http.Handler) http.Handler {
	guard := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := guard.Check(r); err != nil {
			if isPagePath(r.URL.Path) {
				// A browser shows a page's HTML; the API's JSON would be
				// a wall of text.
				s.renderPage(w, r, http.StatusForbidden, &pageView{Title: "Refused", Content: "none", Query: uiQuery{Since: uiDefaultSince},
					Error: "This form was sent from another site, so stepsd refused it. Open stepsd's own page and send it from there."})
				return
			}
			s.writeError(w, r, model.Errorf(model.EFORBIDDEN,
				"cross-site request refused: a page from another origin may not make a browser write to stepsd (Sec-Fetch-Site %s, Origin %s, Host %s)",
				model.Quote(r.Header.Get("Sec-Fetch-Site")), model.Quote(r.Header.Get("Origin")), model.Quote(r.Host)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPagePath reports whether path is the page's (served as HTML) rather
// than the API's.
func isPagePath(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/ui/")
}

// unsupportedBody is the 415 for a body whose Content-Type the endpoint
// does not take. A body without any Content-Type is refused too rather
// than guessed at: a browser sends one only as text/plain, a type no form
// of ours uses, and guessing JSON let a cross-site page post steps.
func unsupportedBody(r *http.Request, accepted string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return model.Errorf(model.EUNSUPPORTED, "the request body has no Content-Type; send %s", accepted)
	}
	return model.Errorf(model.EUNSUPPORTED, "Content-Type %s is not supported; send %s", model.Quote(ct), accepted)
}
