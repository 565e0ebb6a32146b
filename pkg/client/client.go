package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/steps-dev/steps/pkg/model"
)

// DefaultPageSize is how many steps the iterator asks for per request.
const DefaultPageSize = 1000

// DefaultTimeout bounds one attempt of one request (connect, send, and read
// the whole response).
const DefaultTimeout = 15 * time.Second

// Client is a client of the stepsd HTTP API, made by New. It is safe for
// concurrent use: make one and share it. A zero Client is not one, nor a
// nil *Client; their calls fail with an error that says to use New.
type Client struct {
	base      *url.URL
	http      *http.Client
	token     string
	timeout   time.Duration
	retry     RetryPolicy
	pageSize  int
	userAgent string
	// keyedStamps: the calls with a key stamp as Record does (WithKeyedStamps).
	keyedStamps bool
}

// Option configures a Client. New skips a nil Option, so options chosen
// at run time can be passed as they are:
//
//	var auth client.Option
//	if tok := os.Getenv("STEPS_TOKEN"); tok != "" {
//		auth = client.WithToken(tok)
//	}
//	c, err := client.New(url, auth)
type Option func(*Client)

// WithToken sends token as a bearer token with every request. New refuses
// a token with a control character in it, such as the newline that ends a
// token read from a file: trim it first (strings.TrimSpace). A token given
// with its header's scheme ("Bearer ci-secret", copied from a curl line) is
// sent without it: the client adds the scheme itself (stepsctl, built on
// it, warns of it).
//
// The token takes the request's one Authorization header: a user and
// password in the server URL (basic auth for a proxy in front of stepsd)
// are then not sent, and such a proxy answers 401. A proxy that needs
// credentials of its own while stepsd needs a token must take them some
// other way (a header set by a WithHTTPClient transport, a client
// certificate).
func WithToken(token string) Option {
	return func(c *Client) { c.token = withoutScheme(token) }
}

// withoutScheme drops a leading "Bearer " (any case) from a token. Sent
// as it was, the header read "Bearer Bearer …" and the server answered
// only that the token is not valid, which sent people to check a token
// that was right. A bearer token holds no space (RFC 6750's b64token), so
// a real one never begins with the scheme and a space.
func withoutScheme(token string) string {
	const scheme = "Bearer "
	if len(token) > len(scheme) && strings.EqualFold(token[:len(scheme)], scheme) {
		return strings.TrimLeft(token[len(scheme):], " ")
	}
	return token
}

// WithKeyedStamps makes RecordWithKey, and the batch calls with a key
// (RecordBatchWithKey, SendBatch, SendBatchWith), keep a step's time
// across an outage as Record does: an input without a time whose first
// attempt could not connect carries that attempt's moment on its retries.
// The key's stored steps then hold a time the caller's input did not, so
// sending that input again under the key is a 422 (EUNPROCESSABLE) rather
// than a replay: use it where such a 422 means "already delivered", as
// stepsctl's spool does.
func WithKeyedStamps() Option {
	return func(c *Client) { c.keyedStamps = true }
}

// WithHTTPClient sends requests through hc instead of a client of the
// package's own (for a proxy, custom TLS, or tests). The package's own
// goes through a copy of http.DefaultTransport, shared by every Client,
// that keeps up to 64 idle connections to a server for the next call
// (Go's default keeps 2); once the program sets DefaultTransport to
// another RoundTripper, through that one, as net/http's clients do. The Client never
// changes hc; its own time limits come from WithTimeout and WithRetry. It
// follows redirects as hc does, except one that would change a write's
// method (a 301 answered to a POST, which net/http follows with a GET):
// that write fails with a *ProtocolError naming the URL to use instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithTimeout bounds each attempt of a request, including reading its
// response (DefaultTimeout if not set; 0 means no bound). The time for all
// attempts together is bounded by RetryPolicy.MaxElapsed.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithRetry sets how failed requests are retried. Zero fields of p take the
// values of DefaultRetryPolicy; use NoRetry() to send every request once.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p.withDefaults() }
}

// WithPageSize sets how many steps Steps and List, and how many
// deployments Deployments and ListDeployments, fetch per request, and the
// page of ListPage and DeploymentsPage without a Limit (DefaultPageSize if
// not set). New fails for a size below 1 or above model.MaxLimit, the most
// the server gives in one page.
func WithPageSize(n int) Option {
	return func(c *Client) { c.pageSize = n }
}

// WithUserAgent sets the User-Agent header, e.g. "deploybot/1.4". New
// refuses one that net/http would refuse to send (a control character
// other than a tab, such as a newline).
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// redactUnparsed hides the password of a server URL that url.Parse
// refuses (a bad port, a space in the host), as URL.Redacted hides a
// parsed one's: the message that quotes the URL goes to CI logs.
func redactUnparsed(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	colon := strings.Index(authority, ":")
	if at < 0 || colon < 0 || colon > at {
		return raw
	}
	start := len(raw) - len(rest) + colon + 1
	return raw[:start] + "xxxxx" + raw[len(raw)-len(rest)+at:]
}

// idleConnsPerHost is how many idle connections to one server the
// default transport of a Client keeps for the next call.
const idleConnsPerHost = 64

// startTransport is http.DefaultTransport as the program starts with it.
var startTransport = http.DefaultTransport

// pooledTransport is a copy of startTransport keeping idleConnsPerHost idle
// connections a host rather than Go's 2: a program calling from 16
// goroutines that pause between calls closed a connection after almost
// every call and dialled the next (320 calls, 155 connections, as many
// sockets left in TIME_WAIT). One copy for every Client, as
// DefaultTransport is one, so that a program making a Client per call
// does not keep a pool of idle connections for each.
var pooledTransport = sync.OnceValue(func() http.RoundTripper {
	t, ok := startTransport.(*http.Transport)
	if !ok {
		return startTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	return t
})

// sharedTransport is the transport of a Client's own http.Client: the
// pooled copy while http.DefaultTransport is the one the program started
// with, else DefaultTransport as it is at each call, as net/http's own
// clients use it. A program that sets DefaultTransport to instrumentation,
// or a test to a mock (httpmock.Activate), after a Client was made (by a
// package-level variable, say) had every call of it sent past theirs.
type sharedTransport struct{}

func (sharedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt := http.DefaultTransport; rt != startTransport {
		return rt.RoundTrip(r)
	}
	return pooledTransport().RoundTrip(r)
}

// New returns a client of the stepsd server at baseURL, such as
// "http://localhost:8080" or "https://steps.example.com/prefix". A URL of
// the API's root ("http://localhost:8080/v1", as the API's paths read), or
// of its list of steps ("http://localhost:8080/v1/steps", as curl examples
// read), is taken as the server's: every path the client sends begins
// with /v1.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	shown := redactUnparsed(baseURL)
	if err == nil {
		shown = u.Redacted()
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q must look like http://host:port or https://host", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: server URL %q must not have a query or fragment", shown)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	// Given the API's root, the client asked for /v1/v1/steps, a 404
	// that stopped a deploy script's stepsctl record (a 404 is no outage
	// to spool for). No stepsd route begins /v1/v1, so the server's own
	// URL is the only reading that answers.
	// So is the URL of the steps list that every curl example of the docs
	// writes (localhost:8080/v1/steps): copied as the server, it asked for
	// /v1/steps/v1/steps. No stepsd route begins /v1/steps/v1 either.
	u.Path = strings.TrimSuffix(u.Path, "/v1/steps")
	u.Path = strings.TrimSuffix(u.Path, "/v1")
	u.RawPath = ""
	c := &Client{
		base: u,
		// A client of its own: http.DefaultClient is the program's, and a
		// Timeout, Jar or CheckRedirect set on it for the program's own
		// calls cut the long answers WithTimeout allowed, or sent its
		// cookies to stepsd.
		http:      &http.Client{Transport: sharedTransport{}},
		timeout:   DefaultTimeout,
		retry:     DefaultRetryPolicy,
		pageSize:  DefaultPageSize,
		userAgent: "steps-client-go",
	}
	for _, opt := range opts {
		// A nil Option is one the caller chose not to set (an Option
		// variable left unset when a setting is absent): called, it
		// panicked inside New.
		if opt != nil {
			opt(c)
		}
	}
	if c.http == nil {
		return nil, errors.New("client: WithHTTPClient needs a non-nil *http.Client")
	}
	c.http = keepingMethod(c.http)
	if i := strings.IndexFunc(c.token, unicode.IsControl); i >= 0 {
		// Sent as it is, the header would be refused by net/http on
		// every attempt, and read as a server that cannot be reached.
		return nil, fmt.Errorf("client: the token holds a control character (%U at byte %d): a newline read with it from a file? pass the token alone", []rune(c.token[i:])[0], i)
	}
	if i := strings.IndexFunc(c.userAgent, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
		// net/http refuses such a header on every attempt, which would
		// read as a server that cannot be reached.
		return nil, fmt.Errorf("client: the user agent %q holds a control character (%U at byte %d)", c.userAgent, []rune(c.userAgent[i:])[0], i)
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("client: timeout %v is negative", c.timeout)
	}
	if c.pageSize < 1 || c.pageSize > maxPageSize {
		return nil, fmt.Errorf("client: page size %d must be between 1 and %d", c.pageSize, maxPageSize)
	}
	return c, nil
}

// BaseURL returns the server URL the client was made with, without a
// trailing slash ("" for a Client not made by New, or nil).
func (c *Client) BaseURL() string {
	if c == nil || c.base == nil {
		return ""
	}
	return c.base.String()
}

// pages is the client's page size, and stampsKeyed its WithKeyedStamps.
// A nil *Client (a struct's field never set) has neither, and its calls
// end in do's errNotMade, as a zero Client's do: read before that, they
// panicked Steps, Deployments, RecordWithKey and SendBatch on the nil
// pointer.
func (c *Client) pages() int {
	if c == nil {
		return 0
	}
	return c.pageSize
}

func (c *Client) stampsKeyed() bool { return c != nil && c.keyedStamps }

// errNotMade is the error of every call on a Client not made by New.
var errNotMade = errors.New("client: the Client was not made by client.New (a zero or nil Client); make it with client.New(serverURL, …)")

// request is one API call; its body is encoded once and sent again as is
// on every attempt, so that retries are byte-for-byte the same request.
type request struct {
	method         string
	path           string // below the base URL, e.g. "/v1/steps"
	query          url.Values
	body           []byte
	idempotencyKey string
	// stamp, when set, encodes the body again with an explicit time, at,
	// for the steps it has without one. do calls it at most once: when the
	// first attempt failed before reaching the server, so that the retries
	// carry the time the step was recorded rather than the server's later
	// receipt time.
	stamp func(at time.Time) ([]byte, error)
}

func (c *Client) url(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.String()
}

// shownURL is url for messages and errors: a password in the server URL
// (basic auth for a proxy in front of stepsd) shows as "xxxxx", so that
// no error line puts it in a CI log.
func (c *Client) shownURL(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.Redacted()
}

func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	return b, nil
}

// do sends req, retrying as the policy allows, and hands a 2xx response to
// handle. handle runs while the attempt is still open, so a connection that
// breaks while the body is read is retried like any other lost response.
func (c *Client) do(ctx context.Context, req request, handle func(*http.Response) error) error {
	if c == nil || c.base == nil {
		// A zero Client (a struct field never set, var c client.Client)
		// has no server: its calls panicked on a nil pointer.
		return errNotMade
	}
	target, shown := c.url(req.path, req.query), c.shownURL(req.path, req.query)
	p := c.retry
	start := time.Now()
	var deadline time.Time
	if p.MaxElapsed > 0 {
		deadline = start.Add(p.MaxElapsed)
	}
	var unstamped []byte // the caller's body, while a stamped one is sent
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, req, target, shown, deadline, handle)
		if err == nil {
			return nil
		}
		var apiErr *APIError
		if unstamped != nil && errors.As(err, &apiErr) && refusedTime(apiErr) && attempt < p.MaxAttempts {
			// The time stamped is this machine's clock, and the server
			// refused it (say, a clock minutes ahead of the server's): a
			// 400 stores nothing, and every stamped attempt sent the same
			// body, so none was stored. Send what the caller gave, as it
			// was sent before the outage, rather than lose the step.
			req.body, unstamped = unstamped, nil
			continue
		}
		var netErr *NetError
		if errors.As(err, &netErr) {
			netErr.Attempts = attempt
		}
		switch {
		case ctx.Err() != nil:
			return &endedError{method: req.method, url: shown, ctxErr: ctx.Err(), last: err}
		case netErr != nil:
			if !netErr.retryable {
				return err
			}
		case errors.As(err, &apiErr):
			if !model.Retryable(apiErr.Code) {
				return err
			}
		default:
			return err
		}
		if attempt >= p.MaxAttempts {
			return err
		}
		wait := p.backoff(attempt)
		last := deadline // the latest the next attempt may start
		if d, ok := ctx.Deadline(); ok && (last.IsZero() || d.Before(last)) {
			last = d
		}
		if apiErr != nil && apiErr.RetryAfter > wait {
			wait = apiErr.RetryAfter
			// Spread over up to half as long again, within the time
			// left: clients refused together are told the same whole
			// seconds, and would all come back at the same instant, to
			// be refused together again.
			spread := wait / 2
			if !last.IsZero() {
				spread = min(spread, time.Until(last)-wait)
			}
			if spread > 0 {
				wait += rand.N(spread)
			}
		}
		if !last.IsZero() && time.Now().Add(wait).After(last) {
			return err
		}
		if req.stamp != nil {
			// The time is decided once, before the first attempt that may
			// reach the server: the Idempotency-Key's fingerprint holds it,
			// so an attempt stored without a time and a retry with one
			// would be a 422. Only a first attempt that never left the
			// client (netErr.unsent) lets the retries carry its time.
			if netErr != nil && netErr.unsent {
				body, serr := req.stamp(start)
				if serr != nil {
					return serr
				}
				req.body, unstamped = body, req.body
			}
			req.stamp = nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &endedError{method: req.method, url: shown, ctxErr: ctx.Err(), last: err}
		case <-t.C:
		}
	}
}

// attempt sends req once to target, named shown in errors. It returns a
// *NetError when no complete response arrived and an *APIError for a
// non-2xx status.
func (c *Client) attempt(ctx context.Context, req request, target, shown string, deadline time.Time, handle func(*http.Response) error) error {
	if c.timeout > 0 {
		if d := time.Now().Add(c.timeout); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	actx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	var dial dialTrace
	actx = httptrace.WithClientTrace(actx, dial.clientTrace())
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, target, body)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if req.idempotencyKey != "" {
		hreq.Header.Set("Idempotency-Key", req.idempotencyKey)
	}
	resp, err := c.http.Do(hreq)
	if redirect, ok := errors.AsType[*redirectError](err); ok {
		return &ProtocolError{URL: shown, Err: redirect}
	}
	if err != nil {
		netErr := c.netError(req, shown, err)
		netErr.unsent = dial.unsent(netErr.Err)
		return netErr
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp)
	}
	if err := handle(resp); err != nil {
		if isTransport(err) {
			return c.netError(req, shown, err)
		}
		if _, ok := errors.AsType[*ProtocolError](err); !ok {
			err = &ProtocolError{URL: shown, Err: err}
		}
		return err
	}
	return nil
}

func (c *Client) netError(req request, shown string, err error) *NetError {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	retryable := !errors.As(err, &certErr) && !errors.As(err, &authErr) && !errors.As(err, &hostErr)
	if errors.Is(err, http.ErrSchemeMismatch) {
		// An https:// URL of a server that speaks plain HTTP: every
		// attempt would get the same answer, so none is sent again.
		retryable = false
		err = fmt.Errorf("%w: use http:// in the server URL", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no response within the time limit: %w", err)
	}
	return &NetError{Method: req.method, URL: shown, Err: err, retryable: retryable}
}

// refusedTime reports whether the server refused a request for its time
// (a step's, or a batch row's).
func refusedTime(e *APIError) bool {
	if e.StatusCode != http.StatusBadRequest {
		return false
	}
	return e.Field == "time" || slices.ContainsFunc(e.Rows, func(r model.RowError) bool { return r.Field == "time" })
}

// dialTrace watches how one attempt got its connection, to tell an
// attempt whose request never left the client from one that may have
// reached the server. The error alone cannot: net/http sends a request
// with an Idempotency-Key again on a new connection when a reused one
// breaks before the answer, and returns that dial's error, though the
// request was written on the first connection (and maybe stored).
type dialTrace struct {
	failed    atomic.Bool // a name lookup or a connect failed
	connected atomic.Bool // a connection was had, new or reused
}

func (d *dialTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSDone: func(info httptrace.DNSDoneInfo) {
			if info.Err != nil {
				d.failed.Store(true)
			}
		},
		ConnectDone: func(_, _ string, err error) {
			if err != nil {
				d.failed.Store(true)
			}
		},
		GotConn: func(httptrace.GotConnInfo) { d.connected.Store(true) },
	}
}

// unsent reports whether err, the error of an attempt traced by d, proves
// that its request never reached the server: a dial that failed
// (connection refused, no route, a name that does not resolve) and no
// connection at all. A timeout proves nothing: it may have struck after
// the request was written. A transport that does not report to
// httptrace (a custom RoundTripper) never proves it.
func (d *dialTrace) unsent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout() &&
		d.failed.Load() && !d.connected.Load()
}

// keepingMethod returns a copy of hc (hc itself is left as it is) that
// does not follow a redirect that changes the request's method. net/http
// follows a 301, 302 or 303 answered to a POST with a GET without the
// body: a server URL that redirects (http to https) would turn every
// write into a GET of the list, storing nothing.
func keepingMethod(hc *http.Client) *http.Client {
	c := *hc
	next := hc.CheckRedirect
	c.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if first := via[0]; r.Method != first.Method {
			return &redirectError{method: first.Method, to: r.URL.Redacted(), status: r.Response.StatusCode}
		}
		if next != nil {
			return next(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// redirectError is a write the server redirected in a way that would have
// dropped it (see keepingMethod).
type redirectError struct {
	method, to string
	status     int
}

func (e *redirectError) Error() string {
	base := e.to
	if i := strings.LastIndex(base, "/v1/"); i >= 0 {
		base = base[:i]
	}
	return fmt.Sprintf("it answers %s with a redirect (%d %s) to %s, which would send it again as a GET, without its body; use %s as the server URL",
		e.method, e.status, http.StatusText(e.status), e.to, base)
}

// isTransport reports whether an error from reading a response body means
// the connection broke (so the response was lost) rather than that the
// server sent something malformed.
func isTransport(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var proto *ProtocolError
	return !errors.As(err, &syntax) && !errors.As(err, &typ) && !errors.As(err, &proto)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// decodeJSON decodes a response body into v, requiring a JSON object or
// array and nothing after it. A body that is not JSON (a proxy's or a
// login portal's page answered in the server's place) is said to be one.
func decodeJSON(resp *http.Response, v any) error {
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		if _, ok := errors.AsType[*json.SyntaxError](err); ok {
			return fmt.Errorf("%d %s with a body that is not the API's JSON (Content-Type %q): %w",
				resp.StatusCode, http.StatusText(resp.StatusCode), resp.Header.Get("Content-Type"), err)
		}
		return err
	}
	return nil
}
