package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	buildversion "github.com/steps-dev/steps/internal/version"
	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
	"github.com/steps-dev/steps/pkg/traces"
)

// Config is stepsd's configuration, gathered from flags, env and file.
type Config struct {
	Listen string
	DB     string
	Tokens string
	// AllowedHosts are the host names an open server answers browsers on
	// besides localhost and IP addresses (server.Config.AllowedHosts).
	AllowedHosts  []string
	TLSCert       string
	TLSKey        string
	MaxBodyBytes  int64
	MaxBatchBytes int64
	// MaxWriteBytes bounds the request bodies held by the writes in
	// progress (server.Config.MaxWriteBytes); ClientBatches the batches
	// one client may have in progress.
	MaxWriteBytes int64
	ClientBatches int
	// MaxAnswerBytes bounds the answers of analyses and pages held while
	// their clients read them (server.Config.MaxAnswerBytes).
	MaxAnswerBytes int64
	// MaxAnalyses bounds the analyses computed at once
	// (server.Config.MaxAnalyses); 0: half the CPUs.
	MaxAnalyses   int
	Rules         model.DeploymentRules
	MaxFutureSkew time.Duration
	RateLimit     float64
	RateBurst     int
	// MaxClientConns bounds the connections one client address holds
	// open; 0 turns the bound off.
	MaxClientConns int
	// MaxConns bounds the connections all clients hold open together; 0
	// turns the bound off.
	MaxConns        int
	ShutdownTimeout time.Duration
	// SprintStart and SprintDays are the team's sprint calendar, the
	// default of /v1/stats and the page.
	SprintStart time.Time
	SprintDays  int
	// Location is the calendar's time zone (nil: UTC).
	Location *time.Location
	// WaitForDB is how long start-up waits for an unreachable database,
	// so that stepsd and its database can start together.
	WaitForDB time.Duration
	// GitHubSecret and GitLabToken enable the webhooks; HooksMapping is
	// the optional mapping file (see pkg/hooks).
	GitHubSecret string
	GitLabToken  string
	HooksMapping string
	// OTLPEndpoint, when set, exports finished deployments as traces to
	// this OTLP/HTTP collector (see pkg/traces).
	OTLPEndpoint string
	// OTLPTracesEndpoint, when set, is the URL traces are posted to as it
	// is (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's meaning); it wins over
	// OTLPEndpoint, as the OpenTelemetry convention has it.
	OTLPTracesEndpoint string
}

// Main is the daemon: open the store, migrate, serve; Close stops it. Tests
// run it in-process on port 0.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Now stamps received steps; nil means time.Now.
	Now func() time.Time

	store    *store.Store
	traces   *traces.Exporter
	certs    *server.CertFiles // nil without TLS
	listener net.Listener
	http     *http.Server
	stopped  chan struct{} // closed when Serve returns
	serveErr error         // what Serve returned, once stopped is closed
	// stopSealing ends the sealing goroutine, closing sealed once done.
	stopSealing context.CancelFunc
	sealed      chan struct{}
	// writeByteTimeout is how long an HTTP/2 connection may take no byte
	// of what stepsd writes before it is closed; zero means
	// server.WriteTimeout. Tests shorten it.
	writeByteTimeout time.Duration
}

// minHookSecret is the shortest webhook secret taken, as for tokens: a
// hook needs no bearer token, so its secret alone stands between anyone
// who can reach stepsd and recording steps.
const minHookSecret = 8

// checkHookSecret refuses a webhook secret that is too short to resist
// guessing, or that has white space around it: HTTP strips that from
// header values, so a GitLab token read with a file's newline (a
// Kubernetes Secret made with --from-file) refused every delivery with
// 401, as did a GitHub secret whose copy at GitHub has no newline.
func checkHookSecret(flag, secret string) error {
	switch {
	case secret == "":
		return nil // the route is off
	case strings.TrimSpace(secret) != secret:
		return fmt.Errorf("%s has white space around it (a newline from a file?), which no delivery can match: remove it", flag)
	case len(secret) < minHookSecret:
		return fmt.Errorf("%s must be at least %d characters long (e.g. openssl rand -hex 32): a short one can be guessed", flag, minHookSecret)
	case strings.Contains(strings.ToUpper(secret), "CHANGE-ME"):
		// configs/stepsd.yaml's example, uncommented as it is: a secret
		// anyone can read there lets anyone record steps.
		return fmt.Errorf("%s is an example value (it says change-me), published with steps: set a secret of your own (e.g. openssl rand -hex 32)", flag)
	}
	return nil
}

// warnHookEnds warns, when a webhook is on, of the statuses its records
// end deployments with that the deployment rules do not count as
// terminal: a server given its own --failure-statuses without cancelled
// or timed-out kept such deployments in progress (and stuck) for good.
func (m *Main) warnHookEnds() {
	if m.Config.GitHubSecret == "" && m.Config.GitLabToken == "" {
		return
	}
	rules := withDefaultRules(m.Config.Rules)
	var open []string
	for _, s := range hooks.EndStatuses() {
		if rules.Outcome(s) == model.OutcomeInProgress {
			open = append(open, s)
		}
	}
	if len(open) > 0 {
		m.Logger.Warn("webhook records end deployments with statuses the deployment rules do not count as terminal: such deployments stay in progress; add them to --success-statuses or --failure-statuses",
			"statuses", strings.Join(open, ","))
	}
}

// withDefaultRules fills in the parts of r left unset with the defaults.
func withDefaultRules(r model.DeploymentRules) model.DeploymentRules {
	defaults := model.DefaultDeploymentRules()
	if len(r.SuccessStatuses) == 0 {
		r.SuccessStatuses = defaults.SuccessStatuses
	}
	if len(r.FailureStatuses) == 0 {
		r.FailureStatuses = defaults.FailureStatuses
	}
	if r.StuckAfter == 0 {
		r.StuckAfter = defaults.StuckAfter
	}
	return r
}

// checkSettings refuses, as usage errors, the settings serve would refuse
// that need no file, network or database: "stepsd config" runs it too, so
// that it never prints with exit 0 what serve then refuses.
func checkSettings(c Config) error {
	if err := server.CheckAllowedHosts(c.AllowedHosts); err != nil {
		return usageError{fmt.Errorf("--allowed-hosts: %w", err)}
	}
	if err := withDefaultRules(c.Rules).Validate(); err != nil {
		return usageError{fmt.Errorf("deployment rules: %w", err)}
	}
	if err := checkHookSecret("--github-webhook-secret", c.GitHubSecret); err != nil {
		return usageError{err}
	}
	if err := checkHookSecret("--gitlab-webhook-token", c.GitLabToken); err != nil {
		return usageError{err}
	}
	return nil
}

// sealEvery is how often stepsd seals the deployments that ended since
// (store.SealLoop).
const sealEvery = time.Minute

// Run opens and migrates the database and starts serving in the
// background. It returns once the listener is open.
func (m *Main) Run(ctx context.Context) error {
	tokens, err := server.ParseTokens(m.Config.Tokens)
	if err != nil {
		return usageError{fmt.Errorf("--tokens: %w", err)}
	}
	m.Config.Rules = withDefaultRules(m.Config.Rules)
	if err := checkSettings(m.Config); err != nil {
		return err
	}
	var mapping *hooks.Mapping
	if m.Config.HooksMapping != "" {
		if mapping, err = hooks.LoadMapping(m.Config.HooksMapping); err != nil {
			return usageError{fmt.Errorf("--hooks-mapping: %w", err)}
		}
	}
	if (m.Config.TLSCert == "") != (m.Config.TLSKey == "") {
		return usageError{errors.New("--tls-cert and --tls-key go together: give both or neither")}
	}

	// The address and the certificate are checked before the database is
	// opened: a typo should stop start-up at once, not after a migration.
	if err := checkListen(m.Config.Listen); err != nil {
		return err
	}
	// A port already taken (another stepsd, a second "go run") is found
	// now, not after a wait for the database and a migration of a file
	// made for nothing. The listener is not kept: held unserved through
	// a long migration, it would leave clients hanging where a refused
	// connection tells them, and pkg/client's stamping, that the server
	// is not there yet.
	probe, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	probe.Close()
	var tlsConfig *tls.Config
	if m.Config.TLSCert != "" {
		// Loaded now, so that a bad certificate stops start-up with a clear
		// error instead of failing every handshake; read again when its
		// files change (a renewal), without a restart.
		m.certs, err = server.NewCertFiles(m.Config.TLSCert, m.Config.TLSKey, m.Logger)
		if err != nil {
			return err
		}
		tlsConfig = &tls.Config{GetCertificate: m.certs.GetCertificate, MinVersion: tls.VersionTLS12}
	}

	// The store logs each migration as it applies it.
	m.store, err = m.openStore(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", store.RedactDSN(m.Config.DB), err)
	}

	// Each write numbers its deployment; when the terminal statuses differ
	// from those the stored numbering follows (after an upgrade, or a change
	// of configuration), the history is numbered again now, before serving.
	if err := m.store.UseRules(ctx, m.Config.Rules, m.Logger); err != nil {
		return fmt.Errorf("database %s: %w", store.RedactDSN(m.Config.DB), err)
	}

	// Ended deployments are sealed into blocks in the background, so
	// that reads over all history read blocks, not rows (issue 13).
	sealCtx, stopSealing := context.WithCancel(context.WithoutCancel(ctx))
	m.stopSealing, m.sealed = stopSealing, make(chan struct{})
	go func() {
		defer close(m.sealed)
		m.store.SealLoop(sealCtx, m.Logger, sealEvery)
	}()

	m.warnHookEnds()
	if len(tokens) == 0 {
		m.Logger.Warn("NO TOKENS CONFIGURED: the API is open to anyone who can reach it; set --tokens or STEPSD_TOKENS (e.g. write:CI_SECRET,read:DASHBOARD_SECRET)")
	}

	var observer server.StepObserver
	if m.Config.OTLPEndpoint != "" || m.Config.OTLPTracesEndpoint != "" {
		flag := "--otlp-endpoint"
		if m.Config.OTLPTracesEndpoint != "" {
			flag = "--otlp-traces-endpoint"
		}
		m.traces, err = traces.New(traces.Config{Endpoint: m.Config.OTLPEndpoint, TracesEndpoint: m.Config.OTLPTracesEndpoint,
			Store: m.store, Rules: m.Config.Rules, Logger: m.Logger})
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		observer = m.traces
		m.Logger.Info("exporting finished deployments as traces", "otlp_endpoint", redactURL(m.traces.URL()))
	}

	// Requests in progress per client address are bounded as its
	// connections are, so that an HTTP/2 client's streams (250 on each
	// connection) hold no more than an HTTP/1 client's connections.
	clientRequests := m.Config.MaxClientConns
	if clientRequests == 0 {
		clientRequests = -1 // --max-client-conns 0: both bounds off
	}
	handler := server.New(server.Config{
		Store:          m.store,
		Logger:         m.Logger,
		Now:            m.Now,
		MaxBodyBytes:   m.Config.MaxBodyBytes,
		MaxBatchBytes:  m.Config.MaxBatchBytes,
		MaxWriteBytes:  m.Config.MaxWriteBytes,
		ClientBatches:  m.Config.ClientBatches,
		MaxAnswerBytes: m.Config.MaxAnswerBytes,
		MaxAnalyses:    m.Config.MaxAnalyses,
		Rules:          m.Config.Rules,
		RateLimit:      m.Config.RateLimit,
		RateBurst:      m.Config.RateBurst,
		Version:        buildversion.Number(version),
		MaxFutureSkew:  m.Config.MaxFutureSkew,
		Tokens:         tokens,
		AllowedHosts:   m.Config.AllowedHosts,
		SprintStart:    m.Config.SprintStart,
		SprintDays:     m.Config.SprintDays,
		Location:       m.Config.Location,
		GitHubSecret:   m.Config.GitHubSecret,
		GitLabToken:    m.Config.GitLabToken,
		HookMapping:    mapping,
		Observer:       observer,

		MaxClientRequests: clientRequests,
	})
	m.listener, err = net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	maxConns := server.FitMaxConns(m.Config.MaxConns)
	if maxConns != m.Config.MaxConns {
		m.Logger.Warn("fewer connections than asked for: the open-file limit leaves room for no more; raise it (ulimit -n, LimitNOFILE=) to allow more",
			"max_conns", m.Config.MaxConns, "allowed", maxConns)
	}
	m.listener = server.LimitConns(m.listener, m.Config.MaxClientConns, maxConns)
	m.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// No WriteTimeout: an export of years of history may stream for
		// minutes. Idle keep-alive connections are closed.
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		TLSConfig:      tlsConfig,
		// Over HTTP/2 (TLS) a handler cut off by its write deadline waits
		// for its stream's reset to be written, and nothing is written to a
		// client that has stopped reading at the TCP level: 128 such
		// connections asking for an export held every list slot, and their
		// goroutines and pages, for as long as they stayed connected (past
		// the 60 s of a write and the 120 s idle), so every other client's
		// lists got 503. A connection that takes no byte for as long as a
		// write may take is closed, which ends its streams.
		HTTP2:    &http.HTTP2Config{WriteByteTimeout: cmp.Or(m.writeByteTimeout, server.WriteTimeout)},
		ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.stopped = make(chan struct{})
	go func() {
		defer close(m.stopped)
		var err error
		if tlsConfig != nil {
			err = m.http.ServeTLS(m.listener, "", "")
		} else {
			err = m.http.Serve(m.listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			m.serveErr = err
		}
	}()
	page, _ := probeURL(Config{Listen: m.listener.Addr().String(), TLSCert: m.Config.TLSCert}, "/")
	attrs := []any{"addr", m.listener.Addr().String(), "page", page, "db", store.RedactDSN(m.Config.DB),
		"database", m.store.Kind(), "tls", m.Config.TLSCert != ""}
	if file := m.store.SQLiteFile(); file != "" {
		// sqlite:steps.db is relative to where stepsd started: a start
		// from another directory serves a new, empty file.
		attrs = append(attrs, "file", file)
	}
	m.Logger.Info("stepsd listening", attrs...)
	return nil
}

// openStore opens and migrates the database, retrying while it is
// unreachable for up to WaitForDB: a database starting beside stepsd
// (Compose, Kubernetes) is waited for instead of crash-looping stepsd. The
// migration is inside the wait because a Galera node out of the quorum, or
// still joining, accepts connections and pings but refuses every query
// (error 1047): Open succeeds there and the first statement fails.
func (m *Main) openStore(ctx context.Context) (*store.Store, error) {
	if err := store.CheckDSN(m.Config.DB); err != nil {
		return nil, usageError{err}
	}
	deadline := time.Now().Add(m.Config.WaitForDB)
	wait := 250 * time.Millisecond
	for {
		st, err := store.Open(ctx, m.Config.DB, store.WithLogger(m.Logger))
		if err == nil {
			if _, err = st.Migrate(ctx); err == nil {
				return st, nil
			}
			err = errors.Join(err, st.Close())
		}
		if model.ErrorCode(err) != model.EUNAVAILABLE {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			if m.Config.WaitForDB <= 0 {
				return nil, err
			}
			// Said, so that the operator knows the wait was spent and which
			// setting lengthens it, rather than read "try again shortly".
			return nil, fmt.Errorf("still unreachable after waiting %s (--wait-for-db): %w", m.Config.WaitForDB, err)
		}
		wait = min(wait, time.Until(deadline))
		m.Logger.Warn("database unreachable; waiting for it", "db", store.RedactDSN(m.Config.DB), "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		if wait <= 0 {
			wait = 250 * time.Millisecond
		}
	}
}

// Addr is the address stepsd listens on (useful with port 0).
func (m *Main) Addr() string {
	return m.listener.Addr().String()
}

// Done is closed when the server stops serving; Err then says why.
func (m *Main) Done() <-chan struct{} {
	return m.stopped
}

// Err is the serving error after Done is closed (nil after Close).
func (m *Main) Err() error {
	return m.serveErr
}

// Reload is SIGHUP: it reads the TLS certificate and key again (which
// stepsd also does by itself when their files change). Every other setting
// (tokens, database, limits) is read at start-up only and needs a restart;
// SIGHUP used to be Go's default, which killed stepsd at once, cutting the
// requests in flight.
func (m *Main) Reload() {
	if m.certs == nil {
		m.Logger.Info("SIGHUP: nothing to read again without TLS; restart stepsd to change its settings")
		return
	}
	m.Logger.Info("SIGHUP: reading the TLS certificate and key again; restart stepsd to change other settings")
	m.certs.Reload()
}

// Close stops accepting connections, lets requests in flight finish (up to
// the shutdown timeout), then closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.http != nil {
		timeout := m.Config.ShutdownTimeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := m.http.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			// The shutdown timeout is the bound asked for, not a failure:
			// the requests still running (a slow client's export, say) are
			// cut, their connections closed before the database is, and
			// stepsd stops as on any SIGTERM. It exited 1 with a bare
			// "shutdown: context deadline exceeded", leaving them open.
			m.Logger.Warn("requests still in flight after the shutdown timeout: closing their connections", "shutdown_timeout", timeout.String())
			if err := m.http.Close(); err != nil {
				errs = append(errs, fmt.Errorf("shutdown: %w", err))
			}
		} else if err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
		<-m.stopped
		if m.serveErr != nil {
			errs = append(errs, m.serveErr)
		}
	}
	if m.traces != nil {
		// What is queued goes out, within the exporter's timeout, while
		// the database it is read from is still open.
		ctx, cancel := context.WithTimeout(context.Background(), traces.DefaultTimeout)
		if err := m.traces.Close(ctx); err != nil {
			m.Logger.Warn("OTLP exporter did not flush", "err", err)
		}
		cancel()
	}
	if m.stopSealing != nil {
		m.stopSealing()
		<-m.sealed
	}
	if m.store != nil {
		if err := m.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkListen refuses a --listen address serve could not listen on, as a
// usage error with the forms it takes.
func checkListen(addr string) error {
	if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
		return usageError{fmt.Errorf("--listen %q: %w; use HOST:PORT, or :PORT for every interface (e.g. :8080, 127.0.0.1:8080)", addr, err)}
	}
	return nil
}
