// Package server serves the steps HTTP API over a store.
package server

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/steps-dev/steps/pkg/hooks"
	"github.com/steps-dev/steps/pkg/model"
)

// Store is what the server needs of persistence; *store.Store implements it.
type Store interface {
	CreateStep(ctx context.Context, in model.StepInput, meta model.RecordMeta) (model.Step, bool, error)
	FindStep(ctx context.Context, id int64) (model.Step, error)
	CreateSteps(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) ([]model.Step, bool, error)
	// CreateStepsDeduped is CreateSteps that skips the rows already
	// stored, and returns their indexes.
	CreateStepsDeduped(ctx context.Context, ins []model.StepInput, meta model.RecordMeta) ([]model.Step, []int, error)
	ListSteps(ctx context.Context, f model.Filter, fn func(model.Step) error) (*model.Cursor, error)
	ListDeployments(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) (*model.DeploymentKey, error)
	EachDeployment(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error
	// EachDeploymentPassing is EachDeployment for an fn that keeps
	// nothing of a deployment past its call: the store reuses the memory.
	EachDeploymentPassing(ctx context.Context, f model.DeploymentFilter, rules model.DeploymentRules, now time.Time, fn func(*model.Deployment) error) error
	FindDeployment(ctx context.Context, key model.DeploymentKey, rules model.DeploymentRules, now time.Time) (*model.Deployment, error)
	RecentSuccesses(ctx context.Context, g model.ETAGroup, rules model.DeploymentRules, now time.Time) ([]*model.Deployment, error)
	Values(ctx context.Context, q model.ValuesQuery) ([]string, error)
	Ping(ctx context.Context) error
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxBatchBytes = 32 << 20
	DefaultMaxFutureSkew = 5 * time.Minute
	DefaultMaxQueryBytes = 8 << 10
	DefaultListReaders   = 4
)

// Config configures the HTTP API. Only Store is required.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Now is the clock that stamps received steps; tests set it.
	Now func() time.Time
	// MaxBodyBytes bounds a request body (413 beyond it).
	MaxBodyBytes int64
	// MaxBatchBytes bounds a POST /v1/steps/batch body.
	MaxBatchBytes int64
	// MaxFutureSkew is how far ahead of the server's clock an explicit step
	// time may be: a little for unsynchronised clocks, never a typo's year.
	MaxFutureSkew time.Duration
	// Rules group steps into deployments; zero means the defaults.
	Rules model.DeploymentRules
	// RateLimit is the requests per second each client may make (429
	// beyond); 0 means DefaultRateLimit, negative turns the limit off.
	RateLimit float64
	// RateBurst is how many requests a client may make at once.
	RateBurst int
	// RateClients bounds the clients the rate limiter remembers at once;
	// 0 means DefaultRateClients.
	RateClients int
	// ListReaders is how many list pages may be read from the database at
	// once (others wait their turn); 0 means DefaultListReaders. Keep it
	// well under the database pool (16 on SQLite, 32 on MySQL).
	ListReaders int
	// ClientLists bounds the list answers (GET /v1/steps,
	// GET /v1/deployments), analyses (GET /v1/stats, /v1/dora,
	// /v1/changes) and pages one client, keyed as the rate limit keys it,
	// may have in progress at once (429 beyond); 0 means
	// DefaultClientLists.
	ClientLists int
	// MaxClientRequests bounds the requests one client address (an IPv6
	// /64) has in progress at once over all its connections and HTTP/2
	// streams (429 beyond); 0 means DefaultMaxClientConns, negative turns
	// the bound off. Keep it at the connections' bound: HTTP/1 clients
	// then never meet it, and HTTP/2 clients get what HTTP/1 ones have.
	MaxClientRequests int
	// MaxRequests bounds the requests in progress across all clients (503
	// beyond, /healthz and /readyz excepted up to 64 more, 4 per
	// address): the bound per address multiplies by the addresses a
	// client has. 0 means DefaultMaxRequests, negative turns the bound off.
	MaxRequests int
	// MaxLists bounds the same answers across all clients (503 beyond):
	// each holds up to a page in memory while its client reads, and
	// clients from many addresses, each within ClientLists, took stepsd
	// past a gigabyte. 0 means DefaultMaxLists.
	MaxLists int
	// MaxAnswerBytes bounds the bytes of the answers of analyses, pages
	// and the lists' pages asked with limit (each built whole before it is
	// sent) held at once while their clients read them, across all clients: MaxLists bounds how many, not
	// their size, and 128 stalled stats answers held over a gigabyte. An
	// answer that finds no room within AnswerWait gets 503. 0 means
	// DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
	// AnswerWait is how long an answer waits for room under
	// MaxAnswerBytes; 0 means DefaultAnswerWait.
	AnswerWait time.Duration
	// MaxAnalyses bounds the analyses (GET /v1/stats, /v1/dora,
	// /v1/changes, the page's dashboard and a timeline's colours)
	// computed at once, across all clients: others wait their turn (in
	// turn by client, first come first served within one) for up to
	// AnalysisWait, then get 503. 0 means DefaultMaxAnalyses(): half of
	// GOMAXPROCS, at least 1.
	MaxAnalyses int
	// AnalysisWait is how long an analysis waits for its turn under
	// MaxAnalyses; 0 means DefaultAnalysisWait.
	AnalysisWait time.Duration
	// MaxWriteBytes bounds the bytes of request bodies held at once by
	// the writes in progress (each counted at its Content-Length, or at
	// its route's limit without one); a write that finds no room within
	// WriteWait gets 503. 0 means DefaultMaxWriteBytes; it is raised to
	// MaxBatchBytes if below, so that a batch of the largest size always
	// fits when nothing else is in progress.
	MaxWriteBytes int64
	// WriteWait is how long a write waits for room under MaxWriteBytes;
	// 0 means DefaultWriteWait.
	WriteWait time.Duration
	// ClientWriteBytes bounds the bytes of request bodies one client,
	// keyed as the rate limit keys it, may have held or waiting under
	// MaxWriteBytes at once (429 beyond), so that one client stalling its
	// bodies cannot take all the room. The bytes of writes waiting for
	// room count too, so that the client cannot keep others waiting
	// behind its own. 0 means half of MaxWriteBytes, and never less than
	// MaxBatchBytes, so that a batch of the largest size is always
	// admissible (and a step's body of the largest).
	ClientWriteBytes int64
	// ClientBatches bounds the POST /v1/steps/batch requests one client,
	// keyed as the rate limit keys it, may have in progress at once (429
	// beyond); 0 means DefaultClientBatches.
	ClientBatches int
	// MaxQueryBytes bounds the query string (400 beyond it).
	MaxQueryBytes int
	// Version labels steps_build_info.
	Version string
	// Tokens, when any, are required on the API (see ParseTokens).
	Tokens []Token
	// AllowedHosts are the host names, besides localhost and IP
	// addresses, on which an open server (no Tokens) answers browsers:
	// "steps.corp", ".corp" for every name under corp, "*" for any. A
	// browser naming another host gets 403, so that a page cannot reach
	// the server through DNS rebinding (docs/security.md).
	AllowedHosts []string
	// SprintStart and SprintDays are the team's sprint calendar: the
	// defaults of /v1/stats and the page when a request names no
	// sprint_start or sprint_days. Zero means model.DefaultSprintStart and
	// model.DefaultSprintDays.
	SprintStart time.Time
	SprintDays  int
	// Location is the sprint calendar's time zone (nil: UTC): buckets of
	// stats, DORA and the page start at its midnight, unless a request
	// names another with tz. SprintStart's date and clock time, as it
	// reads them in its own location, are read in the request's zone.
	Location *time.Location
	// GitHubSecret enables POST /v1/hooks/github: the webhook's secret,
	// which signs each delivery. GitLabToken enables POST /v1/hooks/gitlab:
	// the webhook's secret token. HookMapping, when set, says which CI
	// runs count as deploys and how they are named (see pkg/hooks).
	GitHubSecret string
	GitLabToken  string
	HookMapping  *hooks.Mapping
	// Observer, when set, is told of every step stored (not of replays),
	// after its write: the OTLP exporter. It must not block. If it is a
	// prometheus.Collector, its metrics join /metrics.
	Observer StepObserver
}

// StepObserver hears of stored steps; StepStored must return at once.
type StepObserver interface {
	StepStored(model.Step)
}

// Server is the HTTP API. Create it with New.
type Server struct {
	store         Store
	log           *slog.Logger
	now           func() time.Time
	maxBodyBytes  int64
	maxBatchBytes int64
	rules         model.DeploymentRules
	maxFutureSkew time.Duration
	tokens        *tokenSet
	allowedHosts  []string // lower case, without a trailing dot
	limiter       *rateLimiter
	maxQueryBytes int
	listReads     chan struct{} // a slot per list page being read
	lists         *listGate     // list answers in progress, per client
	requests      *listGate     // requests in progress, per client address; nil: no bound
	probes        *listGate     // probes answered past requests' total; nil when it has none
	batches       *listGate     // batches in progress, per client
	analyses      *fairGate     // a slot per analysis being computed
	analysisWait  time.Duration // how long an analysis waits for a turn
	writes        *byteGate     // bytes of bodies held by writes in progress
	clientWrites  *clientBytes  // the same, per client
	writeWait     time.Duration // how long a write waits for room in writes
	answers       *byteGate     // bytes of answers held while their clients read
	answerWait    time.Duration // how long an answer waits for room in answers
	metrics       *metrics
	refusals      refusalLog // the 503s, logged once in a while
	handler       http.Handler
	sprintStart   time.Time
	sprintDays    int
	location      *time.Location
	githubSecret  string
	gitlabToken   string
	hookMapping   *hooks.Mapping
	observer      StepObserver
	jsonDecoders  sync.Pool // of *jsonDecoder
	// writeTimeout is the time each answer has to be written (the
	// constant writeTimeout; tests shorten it).
	writeTimeout time.Duration
}

// New returns the API as an http.Handler.
func New(cfg Config) *Server {
	s := &Server{
		writeTimeout:  writeTimeout,
		store:         cfg.Store,
		log:           cfg.Logger,
		now:           cfg.Now,
		maxBodyBytes:  cfg.MaxBodyBytes,
		maxBatchBytes: cfg.MaxBatchBytes,
		rules:         cfg.Rules,
		maxFutureSkew: cfg.MaxFutureSkew,
		tokens:        newTokenSet(cfg.Tokens),
		allowedHosts:  normalHosts(cfg.AllowedHosts),
		sprintStart:   cfg.SprintStart,
		sprintDays:    cfg.SprintDays,
		location:      cfg.Location,
		githubSecret:  cfg.GitHubSecret,
		gitlabToken:   cfg.GitLabToken,
		hookMapping:   cfg.HookMapping,
		observer:      cfg.Observer,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBodyBytes <= 0 {
		s.maxBodyBytes = DefaultMaxBodyBytes
	}
	if s.maxBatchBytes <= 0 {
		s.maxBatchBytes = DefaultMaxBatchBytes
	}
	if len(s.rules.SuccessStatuses) == 0 && len(s.rules.FailureStatuses) == 0 && s.rules.StuckAfter == 0 {
		s.rules = model.DefaultDeploymentRules()
	}
	if s.sprintDays <= 0 {
		s.sprintDays = model.DefaultSprintDays
	}
	if s.sprintStart.IsZero() {
		s.sprintStart = model.DefaultSprintStart
	}
	if s.location == nil {
		s.location = time.UTC
	}
	if s.maxFutureSkew <= 0 {
		s.maxFutureSkew = DefaultMaxFutureSkew
	}
	readers := cfg.ListReaders
	if readers <= 0 {
		readers = DefaultListReaders
	}
	s.listReads = make(chan struct{}, readers)
	s.lists = newListGate(cfg.ClientLists)
	if cfg.MaxClientRequests >= 0 || cfg.MaxRequests >= 0 {
		s.requests = newListGate(math.MaxInt)
		if cfg.MaxClientRequests >= 0 {
			s.requests.max = cmp.Or(cfg.MaxClientRequests, DefaultMaxClientConns)
		}
		if cfg.MaxRequests >= 0 {
			s.requests.total = cmp.Or(cfg.MaxRequests, DefaultMaxRequests)
			s.probes = newListGate(clientProbesPastBound)
			s.probes.total = probesPastBound
		}
	}
	s.lists.total = cfg.MaxLists
	if s.lists.total <= 0 {
		s.lists.total = DefaultMaxLists
	}
	maxAnalyses := cfg.MaxAnalyses
	if maxAnalyses <= 0 {
		maxAnalyses = DefaultMaxAnalyses()
	}
	s.analyses = newFairGate(maxAnalyses)
	s.analysisWait = cfg.AnalysisWait
	if s.analysisWait <= 0 {
		s.analysisWait = DefaultAnalysisWait
	}
	batches := cfg.ClientBatches
	if batches <= 0 {
		batches = DefaultClientBatches
	}
	s.batches = newListGate(batches)
	s.writes = &byteGate{size: cfg.MaxWriteBytes}
	if s.writes.size <= 0 {
		s.writes.size = DefaultMaxWriteBytes
	}
	s.writes.size = max(s.writes.size, s.maxBatchBytes, s.maxBodyBytes)
	s.clientWrites = &clientBytes{max: cfg.ClientWriteBytes, held: map[string]int64{}}
	if s.clientWrites.max <= 0 {
		s.clientWrites.max = max(s.writes.size/2, s.maxBatchBytes, s.maxBodyBytes)
	}
	s.writeWait = cfg.WriteWait
	if s.writeWait <= 0 {
		s.writeWait = DefaultWriteWait
	}
	s.answers = &byteGate{size: cfg.MaxAnswerBytes}
	if s.answers.size <= 0 {
		s.answers.size = DefaultMaxAnswerBytes
	}
	s.answerWait = cfg.AnswerWait
	if s.answerWait <= 0 {
		s.answerWait = DefaultAnswerWait
	}
	s.maxQueryBytes = cfg.MaxQueryBytes
	if s.maxQueryBytes <= 0 {
		s.maxQueryBytes = DefaultMaxQueryBytes
	}
	rate, burst := cfg.RateLimit, cfg.RateBurst
	if rate == 0 {
		rate = DefaultRateLimit
	}
	if burst == 0 {
		burst = DefaultRateBurst
	}
	s.limiter = newRateLimiter(rate, burst, cfg.RateClients, time.Now)
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	s.metrics = newMetrics(cfg.Store, version)
	s.metrics.watchLimiter(s.limiter)
	if c, ok := cfg.Observer.(prometheus.Collector); ok {
		s.metrics.registry.MustRegister(c)
	}
	s.handler = s.logRequests(noSniff(s.recoverPanics(s.limitRequests(s.limitRate(s.limitQuery(s.routes()))))))
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// stored tells the observer, if any, of newly stored steps.
func (s *Server) stored(steps ...model.Step) {
	if s.observer == nil {
		return
	}
	for _, st := range steps {
		s.observer.StepStored(st)
	}
}
