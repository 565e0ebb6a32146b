package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Signing in to the page: a token from the form, kept in a cookie.

// uiCookie holds the token a browser signed in with, base64url-encoded so
// that any token survives as a cookie value.
const uiCookie = "steps_token"

// uiCookieMaxAge is how long a browser stays signed in.
const uiCookieMaxAge = 7 * 24 * time.Hour

// uiAllowed reports whether the request may see data. With tokens
// configured it needs a valid one, in the cookie set by the sign-in form
// or as a bearer token; otherwise it answers with the sign-in form.
func (s *Server) uiAllowed(w http.ResponseWriter, r *http.Request) bool {
	if s.tokens == nil {
		return true
	}
	msg := ""
	if c, err := r.Cookie(uiCookie); err == nil {
		if s.tokens.scope(cookieToken(c.Value)) != "" {
			return true
		}
		msg = "The token this browser signed in with is no longer accepted. Enter a current one."
	}
	if presented, ok := bearerToken(r); ok {
		if s.tokens.scope(presented) != "" {
			return true
		}
	}
	s.renderLogin(w, r, msg, r.URL.RequestURI())
	return false
}

func cookieToken(v string) string {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// loginView is the sign-in form's data.
type loginView struct {
	Next string
}

// renderLogin answers with the sign-in form instead of the page asked for.
// The form is what the page is until the browser has a token, so a GET gets
// it with 200 (a browser logs any 4xx page as an error); a rejected token
// gets 401.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, msg, next string) {
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="steps"`)
	}
	s.renderPage(w, r, status, &pageView{Title: "Sign in", Error: msg, Content: "login",
		Query: uiQuery{Since: uiDefaultSince}, Data: loginView{Next: localPath(next)}})
}

// handleLogin serves POST /ui/login: the sign-in form. A valid token is
// kept in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS); the
// browser then goes back to the page it came from.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, "The form could not be read.", "/")
		return
	}
	next := localPath(r.PostForm.Get("next"))
	if s.tokens == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" || s.tokens.scope(token) == "" {
		s.renderLogin(w, r, "That token is not valid. Check it and try again.", next)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     uiCookie,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		MaxAge:   int(uiCookieMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   isHTTPS(r),
		SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// handleLogout serves POST /ui/logout: it forgets the browser's token.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// isHTTPS reports whether the browser reached us over HTTPS, directly or
// through a proxy that terminates TLS.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// localPath returns p if it is a path on this server, else "/": the form
// must not become a redirect to another site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/ui/login") || strings.HasPrefix(u.Path, "/ui/logout") {
		return "/"
	}
	return p
}
