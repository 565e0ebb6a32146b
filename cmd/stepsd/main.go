// Command stepsd serves the steps API: it records deploy steps over HTTP and
// keeps them in SQLite (default) or MySQL.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	buildversion "github.com/steps-dev/steps/internal/version"
	"github.com/steps-dev/steps/pkg/model"
	"github.com/steps-dev/steps/pkg/server"
	"github.com/steps-dev/steps/pkg/store"
)

// version is set at build time with -ldflags "-X main.version=…"; when
// empty, "stepsd version" reads the build info.
var version string

// defaultConfigFile is read when present and no other file is named.
const defaultConfigFile = "configs/stepsd.yaml"

// usageError marks a mistake in how stepsd was called: exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes stepsd with args and returns the exit code: 0 success,
// 1 failure, 2 usage error. This is the one place exit codes are chosen.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "stepsd: "+oneLine(err))
	var usage usageError
	if errors.As(err, &usage) || isCobraUsageError(err) {
		// One line that says where the usage is, not the whole usage
		// burying the error.
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// isCobraUsageError recognises the errors cobra returns for bad flags and
// arguments, which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "invalid argument", "flag needs an argument", "accepts ", "requires "} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// options holds the settings of every subcommand, copied out of viper once
// flags, env and config file are merged.
type options struct {
	v      *viper.Viper
	config Config
	logLvl string
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	opts := &options{v: viper.New(), stdout: stdout, stderr: stderr}
	serve := newServeCmd(opts)
	root := &cobra.Command{
		Use:   "stepsd",
		Short: "Record deploy steps over HTTP and serve them back",
		Long: `stepsd records each step of each deploy (component, version, owner, status)
sent over HTTP, stamps it with the time, and keeps it in an embedded SQLite file
(the default) or in MySQL/MariaDB. Lists export as CSV, JSON or NDJSON.

"stepsd" alone is "stepsd serve".

Settings come from flags, then environment variables (STEPSD_LISTEN, STEPSD_DB,
STEPSD_TOKENS, STEPSD_CONFIG, STEPSD_SPRINT_START, …), then the config file
(--config, or configs/stepsd.yaml when present), then defaults.

The team's sprint calendar (--sprint-start, --sprint-days; config keys
sprint.start and sprint.days) is the default of GET /v1/stats and the page
when a request names no sprint_start or sprint_days.

Exit codes: 0 success (including a clean shutdown on SIGTERM/SIGINT),
1 failure, 2 usage error.`,
		Example: `  # Serve on :8080 with ./steps.db
  stepsd

  # Two-week sprints that start on Wednesday 2026-01-07
  stepsd --sprint-start 2026-01-07 --sprint-days 14

  # Serve on MySQL, with tokens
  STEPSD_DB='mysql://steps:secret@db:3306/steps' \
  STEPSD_TOKENS='write:ci-secret-123,read:dashboard-secret' stepsd

  # Record and list with curl
  curl -X POST 'localhost:8080/v1/steps?component=api&version=1.2.0&owner=ana&status=build'
  curl 'localhost:8080/v1/steps?component=api'`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: opts.load,
		RunE:              serve.RunE,
	}
	// "stepsd --version" prints what "stepsd version" does: it is what
	// people try first.
	root.Version = buildversion.String("stepsd", version)
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().Bool("version", false, `print the version of stepsd, as "stepsd version" does`)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err}
	})

	pf := root.PersistentFlags()
	pf.String("config", "", "config file (env STEPSD_CONFIG; default configs/stepsd.yaml when present)")
	pf.String("db", "sqlite:steps.db", "database: sqlite:PATH or mysql://USER:PASS@HOST:PORT/DB (env STEPSD_DB)")
	pf.String("log-level", "info", "log level: debug, info, warn, error (env STEPSD_LOG_LEVEL)")
	addServeFlags(root.Flags())

	root.AddCommand(serve, newMigrateCmd(opts), newConfigCmd(opts), newHealthcheckCmd(opts), newVersionCmd(opts))
	return root
}

func addServeFlags(fs *pflag.FlagSet) {
	fs.String("listen", ":8080", "address to listen on (env STEPSD_LISTEN)")
	fs.String("tokens", "", "bearer tokens, comma-separated SCOPE:TOKEN with scopes read and write, e.g. write:ci-secret,read:dash-secret (env STEPSD_TOKENS); none: the API is open")
	fs.String("tls-cert", "", "TLS certificate file; serve HTTPS directly (env STEPSD_TLS_CERT)")
	fs.String("tls-key", "", "TLS private key file (env STEPSD_TLS_KEY)")
	fs.Int64("max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted (env STEPSD_MAX_BODY_BYTES)")
	fs.Int64("max-batch-bytes", server.DefaultMaxBatchBytes, "largest POST /v1/steps/batch body accepted (env STEPSD_MAX_BATCH_BYTES)")
	fs.Float64("rate-limit", server.DefaultRateLimit, "requests per second each client (token, or address) may make; 429 beyond; 0 turns the limit off (env STEPSD_RATE_LIMIT)")
	fs.Int("rate-burst", server.DefaultRateBurst, "requests a client may make at once before the rate applies (env STEPSD_RATE_BURST)")
	fs.StringSlice("success-statuses", model.DefaultSuccessStatuses, "statuses that end a deployment successfully, case-insensitive (env STEPSD_SUCCESS_STATUSES)")
	fs.StringSlice("failure-statuses", model.DefaultFailureStatuses, "statuses that end a deployment in failure, case-insensitive (env STEPSD_FAILURE_STATUSES)")
	fs.Duration("stuck-after", model.DefaultStuckAfter, "flag an in-progress deployment as stuck when its last step is older than this (env STEPSD_STUCK_AFTER)")
	fs.Duration("max-future-skew", server.DefaultMaxFutureSkew, "how far ahead of the server's clock an explicit step time may be (env STEPSD_MAX_FUTURE_SKEW)")
	fs.Duration("wait-for-db", time.Minute, "at start-up, how long to wait for an unreachable database before giving up (env STEPSD_WAIT_FOR_DB)")
	fs.String("sprint-start", model.DefaultSprintStart.Format(time.DateOnly), "the team's sprint calendar: first day of any sprint, YYYY-MM-DD; sprints repeat from it both ways (env STEPSD_SPRINT_START)")
	fs.Int("sprint-days", model.DefaultSprintDays, "the team's sprint calendar: sprint length in days, 1 to 366; the default of /v1/stats and the page (env STEPSD_SPRINT_DAYS)")
	fs.String("github-webhook-secret", "", "secret of the GitHub webhook; enables POST /v1/hooks/github (env STEPSD_GITHUB_WEBHOOK_SECRET)")
	fs.String("gitlab-webhook-token", "", "secret token of the GitLab webhook; enables POST /v1/hooks/gitlab (env STEPSD_GITLAB_WEBHOOK_TOKEN)")
	fs.String("hooks-mapping", "", "YAML file saying which CI runs are deploys and how they are named, see docs/integrations.md (env STEPSD_HOOKS_MAPPING)")
	fs.String("otlp-endpoint", "", "OTLP/HTTP collector base URL, e.g. http://collector:4318: export each finished deployment as a trace (env OTEL_EXPORTER_OTLP_ENDPOINT or STEPSD_OTLP_ENDPOINT)")
	fs.Duration("shutdown-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish (env STEPSD_SHUTDOWN_TIMEOUT)")
}

// configKeys maps flags to config-file keys, where they differ.
var configKeys = map[string]string{
	"tokens":                "auth.tokens",
	"tls-cert":              "tls.cert",
	"tls-key":               "tls.key",
	"max-body-bytes":        "limits.max_body_bytes",
	"max-batch-bytes":       "limits.max_batch_bytes",
	"rate-limit":            "limits.rate_limit",
	"rate-burst":            "limits.rate_burst",
	"success-statuses":      "deployments.success_statuses",
	"failure-statuses":      "deployments.failure_statuses",
	"stuck-after":           "deployments.stuck_after",
	"max-future-skew":       "limits.max_future_skew",
	"shutdown-timeout":      "shutdown_timeout",
	"wait-for-db":           "wait_for_db",
	"log-level":             "log.level",
	"sprint-start":          "sprint.start",
	"sprint-days":           "sprint.days",
	"github-webhook-secret": "hooks.github.secret",
	"gitlab-webhook-token":  "hooks.gitlab.token",
	"hooks-mapping":         "hooks.mapping",
	"otlp-endpoint":         "otlp.endpoint",
}

// load merges flags > env > config file > defaults into opts. It runs before
// every subcommand.
func (o *options) load(cmd *cobra.Command, _ []string) error {
	v := o.v
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" || f.Name == "help" {
			return
		}
		key := f.Name
		if k, ok := configKeys[f.Name]; ok {
			key = k
		}
		envs := []string{"STEPSD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))}
		if f.Name == "otlp-endpoint" {
			envs = append(envs, "OTEL_EXPORTER_OTLP_ENDPOINT") // the standard variable
		}
		if err := v.BindPFlag(key, f); err != nil {
			bindErr = err
		}
		if err := v.BindEnv(append([]string{key}, envs...)...); err != nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return bindErr
	}

	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		file = os.Getenv("STEPSD_CONFIG")
	}
	explicit := file != ""
	if !explicit {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			file = defaultConfigFile
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return usageError{fmt.Errorf("config file %s: %w", file, err)}
		}
	}

	lvl := new(slog.LevelVar)
	if err := lvl.UnmarshalText([]byte(v.GetString("log.level"))); err != nil {
		return usageError{fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", v.GetString("log.level"))}
	}
	o.logLvl = v.GetString("log.level")
	sprint, err := sprintCalendar(v.Get("sprint.start"), v.GetString("sprint.days"))
	if err != nil {
		return usageError{err}
	}
	o.config = Config{
		SprintStart:   sprint.SprintStart,
		SprintDays:    sprint.SprintDays,
		Listen:        v.GetString("listen"),
		DB:            v.GetString("db"),
		Tokens:        v.GetString("auth.tokens"),
		TLSCert:       v.GetString("tls.cert"),
		TLSKey:        v.GetString("tls.key"),
		MaxBodyBytes:  v.GetInt64("limits.max_body_bytes"),
		MaxBatchBytes: v.GetInt64("limits.max_batch_bytes"),
		RateLimit:     rateLimit(v.GetFloat64("limits.rate_limit")),
		RateBurst:     v.GetInt("limits.rate_burst"),
		Rules: model.DeploymentRules{
			SuccessStatuses: stringList(v, "deployments.success_statuses"),
			FailureStatuses: stringList(v, "deployments.failure_statuses"),
			StuckAfter:      v.GetDuration("deployments.stuck_after"),
		},
		MaxFutureSkew:   v.GetDuration("limits.max_future_skew"),
		ShutdownTimeout: v.GetDuration("shutdown_timeout"),
		WaitForDB:       v.GetDuration("wait_for_db"),
		GitHubSecret:    v.GetString("hooks.github.secret"),
		GitLabToken:     v.GetString("hooks.gitlab.token"),
		HooksMapping:    v.GetString("hooks.mapping"),
		OTLPEndpoint:    v.GetString("otlp.endpoint"),
	}
	if file != "" {
		o.logger().Info("read config file", "file", file)
	}
	return nil
}

// sprintCalendar reads the team's sprint calendar: a start date and a
// length in days, checked by the same rule as a request's. Either may be
// unset (commands that do not serve have no such flags): the defaults.
// YAML hands an unquoted date over as a time.
func sprintCalendar(start any, days string) (model.StatsOptions, error) {
	var opts model.StatsOptions
	switch v := start.(type) {
	case time.Time:
		opts.SprintStart = v.UTC()
	case nil:
	default:
		if s := strings.TrimSpace(fmt.Sprint(v)); s != "" {
			t, _, err := model.ParseTime(s)
			if err != nil {
				return opts, fmt.Errorf("--sprint-start: %w", err)
			}
			opts.SprintStart = t
		}
	}
	if days = strings.TrimSpace(days); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			return opts, fmt.Errorf("--sprint-days: %q is not a whole number of days from 1 to 366", days)
		}
		opts.SprintDays = n
	}
	if err := opts.Validate(); err != nil {
		return opts, fmt.Errorf("--sprint-days: %s", model.ErrorMessage(err))
	}
	return opts, nil
}

// rateLimit maps the flag's 0 ("off") to the server's negative "off".
func rateLimit(perSecond float64) float64 {
	if perSecond == 0 {
		return -1
	}
	return perSecond
}

// stringList reads a list given as a YAML list, a flag's comma-separated
// values or an environment variable's comma-separated string.
func stringList(v *viper.Viper, key string) []string {
	var out []string
	for _, item := range v.GetStringSlice(key) {
		for _, s := range strings.Split(item, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (o *options) logger() *slog.Logger {
	lvl := new(slog.LevelVar)
	lvl.UnmarshalText([]byte(o.logLvl)) //nolint:errcheck // checked in load
	return slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: lvl}))
}

func newServeCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (the default command)",
		Long: `Serve the steps API. Migrations are applied first. On SIGTERM or SIGINT stepsd
stops accepting connections, lets requests in flight finish, closes the
database and exits 0.

Each step is numbered into its deployment in the transaction that writes it.
After the upgrade that adds this, or when --success-statuses or
--failure-statuses change, stepsd numbers the whole history again at start-up,
logging its progress, before it serves (docs/operations.md).`,
		Example: `  stepsd serve --listen :9090 --db sqlite:/var/lib/steps/steps.db
  stepsd serve --success-statuses finished,deployed --failure-statuses failed,rolled-back`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			m := &Main{Config: opts.config, Logger: opts.logger()}
			if err := m.Run(ctx); err != nil {
				m.Close() //nolint:errcheck // the start-up error is the one to report
				return err
			}
			select {
			case <-ctx.Done():
				m.Logger.Info("shutting down: finishing requests in flight")
			case <-m.Done():
				m.Logger.Error("server stopped", "err", m.Err())
			}
			if err := m.Close(); err != nil {
				return err
			}
			m.Logger.Info("stopped")
			return nil
		},
	}
	addServeFlags(cmd.Flags())
	return cmd
}

func newMigrateCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long: `Create or upgrade the database schema to this version of stepsd, then exit.
"stepsd serve" does the same at start-up; run this on its own to upgrade
before rolling out new replicas, or to check a DSN.`,
		Example: `  stepsd migrate --db 'mysql://steps:secret@db:3306/steps'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := opts.logger()
			s, err := store.Open(cmd.Context(), opts.config.DB)
			if err != nil {
				return fmt.Errorf("database %s: %w", store.RedactDSN(opts.config.DB), err)
			}
			defer s.Close()
			applied, err := s.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			for _, name := range applied {
				log.Info("applied migration", "migration", name)
			}
			fmt.Fprintf(opts.stdout, "database %s is up to date (%d migrations applied now)\n", store.RedactDSN(opts.config.DB), len(applied))
			return nil
		},
	}
}

func newVersionCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stepsd",
		Long: `Print the version of stepsd, the commit it was built from and the Go
release that built it, in the same format as "stepsctl version".`,
		Example: `  $ stepsd version
  stepsd 1.4.2 (commit 0123456789ab, go1.26.8, linux/amd64)`,
		Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(opts.stdout, buildversion.String("stepsd", version))
		},
	}
}

func newConfigCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, secrets hidden",
		Long: `Print the settings stepsd would run with, after merging flags, environment
variables, the config file and defaults, with passwords and tokens hidden.
Use it to check what a deployment's environment really sets.

The output is the YAML of the config file (configs/stepsd.yaml): it can be
pasted back into it. Tokens are not: they are shown hidden, in a comment,
so that a pasted file never holds a placeholder for a secret; a database
password is shown as "xxxxx", to be put back by hand.`,
		Example: `  STEPSD_LISTEN=:9090 stepsd config
  stepsd config > /etc/steps/stepsd.yaml   # freeze today's settings`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := configYAML(opts.config, opts.logLvl)
			if err != nil {
				return err
			}
			_, err = opts.stdout.Write(out)
			return err
		},
	}
	addServeFlags(cmd.Flags())
	return cmd
}

// configFile is the config file's layout, in the order of
// configs/stepsd.yaml, for "stepsd config".
type configFile struct {
	Listen string `yaml:"listen"`
	DB     string `yaml:"db"`
	TLS    struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	Limits struct {
		MaxBodyBytes  int64   `yaml:"max_body_bytes"`
		MaxBatchBytes int64   `yaml:"max_batch_bytes"`
		RateLimit     float64 `yaml:"rate_limit"`
		RateBurst     int     `yaml:"rate_burst"`
		MaxFutureSkew string  `yaml:"max_future_skew"`
	} `yaml:"limits"`
	Deployments struct {
		SuccessStatuses []string `yaml:"success_statuses,flow"`
		FailureStatuses []string `yaml:"failure_statuses,flow"`
		StuckAfter      string   `yaml:"stuck_after"`
	} `yaml:"deployments"`
	Sprint struct {
		Start string `yaml:"start"`
		Days  int    `yaml:"days"`
	} `yaml:"sprint"`
	Hooks struct {
		Mapping string `yaml:"mapping,omitempty"`
	} `yaml:"hooks"`
	OTLP struct {
		Endpoint string `yaml:"endpoint,omitempty"`
	} `yaml:"otlp"`
	WaitForDB       string `yaml:"wait_for_db"`
	ShutdownTimeout string `yaml:"shutdown_timeout"`
	Log             struct {
		Level string `yaml:"level"`
	} `yaml:"log"`
}

// configYAML renders c as the config file's YAML, secrets hidden.
func configYAML(c Config, logLevel string) ([]byte, error) {
	tokens, err := server.ParseTokens(c.Tokens)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tokens: %w", err)}
	}
	var f configFile
	f.Listen = c.Listen
	f.DB = store.RedactDSN(c.DB)
	f.TLS.Cert, f.TLS.Key = c.TLSCert, c.TLSKey
	f.Limits.MaxBodyBytes, f.Limits.MaxBatchBytes = c.MaxBodyBytes, c.MaxBatchBytes
	f.Limits.RateLimit, f.Limits.RateBurst = max(0, c.RateLimit), c.RateBurst
	f.Limits.MaxFutureSkew = c.MaxFutureSkew.String()
	f.Deployments.SuccessStatuses = c.Rules.SuccessStatuses
	f.Deployments.FailureStatuses = c.Rules.FailureStatuses
	f.Deployments.StuckAfter = c.Rules.StuckAfter.String()
	f.Sprint.Start = c.SprintStart.UTC().Format(time.DateOnly)
	f.Sprint.Days = c.SprintDays
	f.WaitForDB, f.ShutdownTimeout = c.WaitForDB.String(), c.ShutdownTimeout.String()
	f.Log.Level = logLevel
	f.Hooks.Mapping = c.HooksMapping
	f.OTLP.Endpoint = c.OTLPEndpoint

	var doc yaml.Node
	if err := doc.Encode(&f); err != nil {
		return nil, err
	}
	if len(tokens) > 0 {
		var scopes []string
		for _, t := range tokens {
			scopes = append(scopes, t.Scope+":***")
		}
		// Tokens go in a comment, never as a value: a pasted file must not
		// replace the real secrets with a placeholder.
		for _, k := range doc.Content { // doc is the top mapping: keys and values
			if k.Value == "tls" {
				k.HeadComment = fmt.Sprintf("auth:\n  tokens: %q  (hidden: set them with STEPSD_TOKENS)", strings.Join(scopes, ","))
			}
		}
	}
	// Webhook secrets, like tokens, are only said to be set.
	var hooks []string
	if c.GitHubSecret != "" {
		hooks = append(hooks, "  github:\n    secret: \"***\"  (hidden: set it with STEPSD_GITHUB_WEBHOOK_SECRET)")
	}
	if c.GitLabToken != "" {
		hooks = append(hooks, "  gitlab:\n    token: \"***\"  (hidden: set it with STEPSD_GITLAB_WEBHOOK_TOKEN)")
	}
	for _, k := range doc.Content {
		if k.Value == "hooks" && len(hooks) > 0 {
			k.HeadComment = "hooks:\n" + strings.Join(hooks, "\n")
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func newHealthcheckCmd(opts *options) *cobra.Command {
	var path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the local stepsd answers its probe",
		Long: `Ask the stepsd listening on --listen (on this host) for a probe and exit 0 if
it answers 200, 1 otherwise: a health check for container images that have no
shell or curl. With TLS configured it speaks HTTPS (without verifying the
certificate: it checks liveness, not identity).`,
		Example: `  stepsd healthcheck                 # GET /healthz on the --listen port
  stepsd healthcheck --path /readyz  # also checks the database`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := probeURL(opts.config, path)
			if err != nil {
				return usageError{err}
			}
			hc := &http.Client{Timeout: timeout, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a liveness probe of our own process
			}}
			res, err := hc.Get(url)
			if err != nil {
				return fmt.Errorf("%s: %w", url, err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s answered %s", url, res.Status)
			}
			fmt.Fprintf(opts.stdout, "%s: ok\n", url)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", "/healthz", "probe to ask: /healthz (process alive) or /readyz (database reachable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	addServeFlags(cmd.Flags())
	return cmd
}

// probeURL is the URL of the local stepsd's probe, from its listen address.
func probeURL(c Config, path string) (string, error) {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + path, nil
}
