package server

import (
	"mime"
	"net"
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
		if s.tokens == nil && fromBrowser(r) && !s.hostAllowed(r.Host) {
			host := hostName(r.Host)
			if isPagePath(r.URL.Path) {
				s.renderPageError(w, r, http.StatusForbidden, "Refused",
					"This stepsd has no tokens, so it answers browsers only on localhost, IP addresses and the host names it is told. "+
						"If "+host+" is its name, start stepsd with --allowed-hosts "+host+" (or STEPSD_ALLOWED_HOSTS), or configure tokens.")
				return
			}
			s.writeError(w, r, model.Errorf(model.EFORBIDDEN,
				"host %s refused: an open stepsd (no tokens) answers browsers only on localhost, IP addresses and --allowed-hosts, "+
					"so that a page cannot reach it through DNS rebinding; if it is stepsd's name, start stepsd with --allowed-hosts %s, or configure tokens",
				model.Quote(host), host))
			return
		}
		if err := guard.Check(r); err != nil {
			if isPagePath(r.URL.Path) {
				s.renderPageError(w, r, http.StatusForbidden, "Refused",
					"This form was sent from another site, so stepsd refused it. Open stepsd's own page and send it from there.")
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

// fromBrowser reports whether r comes from a browser. Sec-Fetch-Site and
// Origin are not enough: browsers send Sec-Fetch-Site only to HTTPS and
// localhost, and Origin only on writes and cross-origin reads, so over
// plain HTTP (an open stepsd's usual setting) a rebound page's own fetch()
// of a list, and its navigation to the page, carry neither. Every browser
// also sends Accept-Language on every request, which a page's script can
// change but not remove. curl, scripts, stepsctl and pkg/client send none
// of these. The User-Agent tells nothing: PowerShell's Invoke-RestMethod,
// in Windows deploy scripts, sends one starting "Mozilla/5.0".
func fromBrowser(r *http.Request) bool {
	_, language := r.Header["Accept-Language"]
	return r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" || language
}

// hostAllowed reports whether an open stepsd answers a browser that names
// it host (the Host header). A page that rebinds its own name to stepsd's
// address sends that name: an attacker's, never an IP address or
// localhost, which browsers resolve themselves. So those always pass, and
// other names only when the operator listed them (--allowed-hosts): an
// entry ".corp.example" takes every name under corp.example, and "*"
// takes any.
func (s *Server) hostAllowed(host string) bool {
	name := strings.ToLower(strings.TrimSuffix(hostName(host), "."))
	if name == "" || name == "localhost" || strings.HasSuffix(name, ".localhost") || net.ParseIP(strings.Trim(name, "[]")) != nil {
		return true
	}
	for _, allowed := range s.allowedHosts {
		if allowed == "*" || allowed == name || (strings.HasPrefix(allowed, ".") && (strings.HasSuffix(name, allowed) || name == allowed[1:])) {
			return true
		}
	}
	return false
}

// hostName is host (a Host header) without its port.
func hostName(host string) string {
	if name, _, err := net.SplitHostPort(host); err == nil {
		return name
	}
	return host
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
	if _, ps, err := mime.ParseMediaType(ct); err == nil && !utf8Charset(ps["charset"]) {
		return model.Errorf(model.EUNSUPPORTED, "Content-Type %s declares the charset %s; send the body in UTF-8 (charset=utf-8, or no charset)", model.Quote(ct), model.Quote(ps["charset"]))
	}
	return model.Errorf(model.EUNSUPPORTED, "Content-Type %s is not supported; send %s", model.Quote(ct), accepted)
}

// CheckAllowedHosts checks --allowed-hosts: each entry is a host name
// ("steps.corp"), a domain with a leading dot (".corp", every name under
// it) or "*"; a scheme, port or path is a mistake worth saying, as the
// name would never match.
func CheckAllowedHosts(hosts []string) error {
	for _, h := range hosts {
		if h == "*" {
			continue
		}
		name := strings.TrimPrefix(strings.TrimSuffix(h, "."), ".")
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" || strings.Contains(name, "..") {
			return model.Errorf(model.EINVALID, "allowed host %s: give a host name such as steps.corp.example, without scheme, port or path; .corp.example for every name under it; * for any",
				model.Quote(h))
		}
	}
	return nil
}

// normalHosts is hosts as hostAllowed compares them.
func normalHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, strings.ToLower(strings.TrimSuffix(h, ".")))
	}
	return out
}
