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
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	// Zones from the binary: a minimal image may have no /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/cast"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/steps-dev/steps/internal/cliargs"
	"github.com/steps-dev/steps/internal/configkeys"
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
	tuneGC(os.Getenv)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// The garbage collector's settings where the operator gave none (GOGC,
// GOMEMLIMIT). A read over all history (stats, changes, DORA, the page)
// allocates for every deployment it reads and keeps a flat few MiB: at
// Go's default 100 %, collecting took about a fifth of its CPU. At 400 %
// the page over 10M steps takes 1.8–2.1 s instead of 2.2–2.3 s, for a
// peak RSS of 75 MiB instead of 52 (docs/benchmarks.md, "Both cores to
// the end"; docs/operations.md, "Memory"). The soft limit makes the
// collector work harder before many heavy reads at once take more than
// it, well inside the 512 MiB the Kubernetes manifest allows.
const (
	gcPercent     = 400
	gcMemoryLimit = 256 << 20
)

// tuneGC applies gcPercent and gcMemoryLimit unless getenv gives GOGC or
// GOMEMLIMIT, which the runtime has applied already.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gcMemoryLimit)
	}
}

// run executes stepsd with args and returns the exit code: 0 success,
// 1 failure, 2 usage error. This is the one place exit codes are chosen.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, opts := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var usage usageError
	isUsage := errors.As(err, &usage)
	msg := oneLine(err)
	if isUsage {
		msg += opts.setBy(cmd, msg)
	}
	fmt.Fprintln(stderr, "stepsd: "+msg)
	if isUsage {
		// One line that says where the usage is, not the whole usage
		// burying the error.
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cliargs.HelpOwner(cmd).CommandPath())
		return 2
	}
	return 1
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// typeUsageErrors makes every error cobra reports about how a command was
// called a usageError, by type rather than by its message: flag errors
// through the flag error func (inherited by every subcommand), argument
// errors by wrapping each command's Args check. A root command without an
// Args check reports an unknown subcommand on its own, untyped: it gets
// cobra.NoArgs, which says the same.
func typeUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cliargs.SuggestFlag(c, err)}
	})
	if root.Args == nil {
		root.Args = cobra.NoArgs
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// noArgs refuses positional arguments to a subcommand (cliargs).
func noArgs(cmd *cobra.Command, args []string) error {
	return cliargs.Refuse(cmd, args, "db", "setting", "DSN")
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
	root, _ := newRoot(stdout, stderr)
	return root
}

// newRoot returns the root command and the options its commands read.
func newRoot(stdout, stderr io.Writer) (*cobra.Command, *options) {
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
when a request names no sprint_start or sprint_days. Its days, weeks, months
and sprints start at midnight in --timezone (config key timezone; UTC unless
set), unless a request names another with tz; so does a date given as
since or until, on every endpoint and the page. The page shows the times
of deployments and steps in that zone too; the API's JSON and CSV keep UTC.

Exit codes: 0 success (including a clean shutdown on SIGTERM/SIGINT),
1 failure, 2 usage error.`,
		Example: `  # Serve on :8080 with ./steps.db
  stepsd

  # Two-week sprints that start on Wednesday 2026-01-07
  stepsd --sprint-start 2026-01-07 --sprint-days 14

  # Weeks and sprints that start at midnight in Sydney, not UTC
  stepsd --timezone Australia/Sydney

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
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (env STEPSD_CONFIG; default configs/stepsd.yaml when present)")
	addFlags(pf, true)
	addServeFlags(root.Flags())

	root.AddCommand(serve, newMigrateCmd(opts), newConfigCmd(opts), newHealthcheckCmd(opts), newVersionCmd(opts))
	// cobra's own completion command, made now rather than at Execute so
	// that its help can show how to install the script.
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Example = `  source <(stepsd completion bash)                # this shell
  stepsd completion bash > /etc/bash_completion.d/stepsd
  stepsd completion zsh > "${fpath[1]}/_stepsd"   # then start a new shell`
		// cobra's command only has a subcommand per shell: without one, or
		// with a shell it has not, it printed its help and exited 0.
		c.Args = cobra.ArbitraryArgs // RunE names what is wrong
		c.RunE = func(cmd *cobra.Command, args []string) error {
			shells := "bash, zsh, fish or powershell"
			if len(args) == 0 {
				return usageError{fmt.Errorf("completion needs the shell to complete for: %s", shells)}
			}
			return usageError{fmt.Errorf("completion knows no shell %q; use %s", args[0], shells)}
		}
	}
	cliargs.RefuseUnknownHelpTopic(root, func(err error) error { return usageError{err} })
	typeUsageErrors(root)
	return root, opts
}

// setBy says where the value a usage error refuses came from, when that is
// not the flag it names ("--tokens: …", "--github-webhook-secret must …"): an operator who set
// STEPSD_TOKENS in a Secret, or auth.tokens in a file, never typed
// --tokens, and would look for it in vain. It returns "" for a message
// that names no setting, or a value given as the flag or left at its
// default.
func (o *options) setBy(cmd *cobra.Command, msg string) string {
	rest, ok := strings.CutPrefix(msg, "--")
	end := strings.IndexAny(rest, ": ")
	if !ok || end < 0 {
		return ""
	}
	name := rest[:end]
	for _, s := range settings {
		if s.flag != name {
			continue
		}
		if cmd != nil {
			if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
				return ""
			}
		}
		for _, env := range []string{s.env(), s.alsoEnv} {
			if env == "" {
				continue
			}
			if v, set := os.LookupEnv(env); set && v != "" {
				return " (set by " + env + ")"
			}
		}
		if file := o.v.ConfigFileUsed(); file != "" && o.v.InConfig(s.key) {
			return " (set by " + s.key + " in " + file + ")"
		}
		return ""
	}
	return ""
}

// readsSettings says whether cmd runs with stepsd's settings. "stepsd
// version", "help" and the completion scripts print the same whatever
// they are, so a broken config file or environment variable, which they
// are often run to investigate, does not stop them, and they log nothing.
func readsSettings(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		switch c.Name() {
		case "version", "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
			return false
		}
	}
	return true
}

// setting is one stepsd setting, the one place it is declared: its flag
// (and from it the environment variable, STEPSD_ and the flag's name in
// capitals), its config-file key, its default and help, how it is read
// into options and how "stepsd config" prints it. Adding a setting is
// adding an entry to settings.
type setting struct {
	flag  string
	key   string // dotted path in the config file
	usage string // help; " (env STEPSD_…)" is added
	// alsoEnv is a standard variable read too, after STEPSD_…
	// (OTEL_EXPORTER_OTLP_ENDPOINT).
	alsoEnv string
	// everywhere puts the flag on every command (the database, the log
	// level); the others are on the commands that read a server's
	// settings: the root (serve), serve, config and healthcheck.
	everywhere bool
	define     func(fs *pflag.FlagSet, name, usage string)
	load       func(v *viper.Viper, key string, o *options) error
	// print is the value "stepsd config" writes at key; nil for a
	// setting that is never printed (tokens: see configYAML).
	print func(o *options) any
}

// env is the environment variable of s.
func (s setting) env() string {
	return "STEPSD_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_"))
}

// field is a setting kept in one field of Config, of type string, int,
// int64, float64, time.Duration or []string, printed as it is (durations
// as 1m30s, lists in flow style).
func field[T string | int | int64 | float64 | time.Duration | []string](flag, key string, def T, usage string, ptr func(*Config) *T) setting {
	return setting{
		flag: flag, key: key, usage: usage,
		define: func(fs *pflag.FlagSet, name, usage string) {
			switch d := any(def).(type) {
			case string:
				fs.String(name, d, usage)
			case int:
				fs.Int(name, d, usage)
			case int64:
				fs.Int64(name, d, usage)
			case float64:
				fs.Float64(name, d, usage)
			case time.Duration:
				fs.Duration(name, d, usage)
			case []string:
				fs.StringSlice(name, d, usage)
			}
		},
		// viper's GetInt and GetDuration read a value they cannot parse
		// as 0, which for a limit means "no limit": STEPSD_RATE_LIMIT=5O
		// would turn rate limiting off without a word. So a number or a
		// duration is parsed here, and a bad one is a usage error naming
		// the flag, from whichever layer it came.
		load: func(v *viper.Viper, key string, o *options) (err error) {
			p := ptr(&o.config)
			raw := v.Get(key)
			switch p := any(p).(type) {
			case *string:
				if *p, err = text(v, key, flag); err != nil {
					return err
				}
			case *int:
				if *p, err = cast.ToIntE(raw); err != nil {
					return badNumber(flag, raw, "a whole number")
				}
			case *int64:
				if *p, err = cast.ToInt64E(raw); err != nil {
					return badNumber(flag, raw, "a whole number")
				}
			case *float64:
				if *p, err = cast.ToFloat64E(raw); err != nil {
					return badNumber(flag, raw, "a number")
				}
			case *time.Duration:
				// With its unit, as the flag takes it: cast reads a bare
				// 30 (STEPSD_SHUTDOWN_TIMEOUT=30, or a YAML number) as 30ns.
				switch r := raw.(type) {
				case nil: // a command without the setting
					*p = 0
				case time.Duration:
					*p = r
				case string:
					*p, err = time.ParseDuration(strings.TrimSpace(r))
				default:
					err = errors.New("no unit")
				}
				if err != nil {
					return badNumber(flag, raw, "a duration with its unit, such as 90s, 5m or 1h")
				}
			case *[]string:
				*p = stringList(v, key)
			}
			return nil
		},
		print: func(o *options) any {
			switch p := any(ptr(&o.config)).(type) {
			case *time.Duration:
				return p.String()
			case *[]string:
				return flowList(*p)
			default:
				return *ptr(&o.config)
			}
		},
	}
}

// settings are all of stepsd's settings, in the order of the config file
// (configs/stepsd.yaml) and of "stepsd config".
var settings = []setting{
	field("listen", "listen", ":8080", "address to listen on", func(c *Config) *string { return &c.Listen }),
	field("allowed-hosts", "allowed_hosts", []string{}, "host names besides localhost and IP addresses on which stepsd without tokens answers browsers (steps.corp, .corp for every name under it, * for any); others get 403, against DNS rebinding", func(c *Config) *[]string { return &c.AllowedHosts }),
	withPrint(everywhere(field("db", "db", "sqlite:steps.db", "database: sqlite:PATH or mysql://USER:PASS@HOST:PORT/DB", func(c *Config) *string { return &c.DB })),
		func(o *options) any { return store.RedactDSN(o.config.DB) }),
	withPrint(field("tokens", "auth.tokens", "", "bearer tokens, comma-separated SCOPE:TOKEN with scopes read and write, e.g. write:ci-secret,read:dash-secret; none: the API is open", func(c *Config) *string { return &c.Tokens }), nil),
	field("tls-cert", "tls.cert", "", "TLS certificate file; serve HTTPS directly", func(c *Config) *string { return &c.TLSCert }),
	field("tls-key", "tls.key", "", "TLS private key file", func(c *Config) *string { return &c.TLSKey }),
	field("max-body-bytes", "limits.max_body_bytes", server.DefaultMaxBodyBytes, "largest request body accepted", func(c *Config) *int64 { return &c.MaxBodyBytes }),
	field("max-batch-bytes", "limits.max_batch_bytes", server.DefaultMaxBatchBytes, "largest POST /v1/steps/batch body accepted", func(c *Config) *int64 { return &c.MaxBatchBytes }),
	field("max-write-bytes", "limits.max_write_bytes", int64(server.DefaultMaxWriteBytes), "request-body bytes the writes in progress may hold at once, waiting for the database (each counted at its Content-Length); a write that finds no room in 5s gets 503 with Retry-After; never below --max-batch-bytes", func(c *Config) *int64 { return &c.MaxWriteBytes }),
	field("max-answer-bytes", "limits.max_answer_bytes", int64(server.DefaultMaxAnswerBytes), "bytes of the answers of analyses, pages and list pages asked with limit (each built whole before it is sent) held at once while their clients read them, across all clients; an answer that finds no room in 5s gets 503 with Retry-After", func(c *Config) *int64 { return &c.MaxAnswerBytes }),
	field("client-batches", "limits.client_batches", server.DefaultClientBatches, "POST /v1/steps/batch requests one client (token, or address) may have in progress at once; 429 beyond", func(c *Config) *int { return &c.ClientBatches }),
	field("max-analyses", "limits.max_analyses", 0, "analyses (GET /v1/stats, /v1/dora, /v1/changes, the page) computed at once across all clients, CPU-bound, so that writes and probes keep the rest of the CPU; others wait their turn up to 10s, then get 503 with Retry-After; 0: half the CPUs (GOMAXPROCS), at least 1", func(c *Config) *int { return &c.MaxAnalyses }),
	{
		flag: "rate-limit", key: "limits.rate_limit",
		usage:  "requests per second each client (token, or address) may make; 429 beyond; 0 turns the limit off",
		define: func(fs *pflag.FlagSet, name, usage string) { fs.Float64(name, server.DefaultRateLimit, usage) },
		// 0 ("off") is the server's negative "off".
		load: func(v *viper.Viper, key string, o *options) (err error) {
			raw := v.Get(key)
			if o.config.RateLimit, err = cast.ToFloat64E(raw); err != nil {
				return badNumber("rate-limit", raw, "a number")
			}
			// A negative rate was read as "off" and NaN let every request
			// through: neither says so.
			if r := o.config.RateLimit; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
				return badNumber("rate-limit", raw, "a number of requests per second, 0 or more (0 turns the limit off)")
			}
			if o.config.RateLimit == 0 {
				o.config.RateLimit = -1
			}
			return nil
		},
		print: func(o *options) any { return max(0, o.config.RateLimit) },
	},
	field("rate-burst", "limits.rate_burst", server.DefaultRateBurst, "requests a client may make at once before the rate applies", func(c *Config) *int { return &c.RateBurst }),
	field("max-client-conns", "limits.max_client_conns", server.DefaultMaxClientConns, "connections one client address (an IPv6 /64) may hold open, and requests it may have in progress over them (HTTP/2 streams included); past it a new connection is closed at once, a new request gets 429; 0 turns both bounds off", func(c *Config) *int { return &c.MaxClientConns }),
	field("max-conns", "limits.max_conns", server.DefaultMaxConns, "connections all clients together may hold open, lowered to what the open-file limit allows; past it a newcomer takes the place of the oldest connection of the client holding the most, or is closed at once; 0 turns the bound off", func(c *Config) *int { return &c.MaxConns }),
	field("max-future-skew", "limits.max_future_skew", server.DefaultMaxFutureSkew, "how far ahead of the server's clock an explicit step time may be", func(c *Config) *time.Duration { return &c.MaxFutureSkew }),
	field("success-statuses", "deployments.success_statuses", model.DefaultSuccessStatuses, "statuses that end a deployment successfully, case-insensitive", func(c *Config) *[]string { return &c.Rules.SuccessStatuses }),
	field("failure-statuses", "deployments.failure_statuses", model.DefaultFailureStatuses, "statuses that end a deployment in failure, case-insensitive", func(c *Config) *[]string { return &c.Rules.FailureStatuses }),
	field("stuck-after", "deployments.stuck_after", model.DefaultStuckAfter, "flag an in-progress deployment as stuck when its last step is older than this", func(c *Config) *time.Duration { return &c.Rules.StuckAfter }),
	{
		flag: "sprint-start", key: "sprint.start",
		usage: "the team's sprint calendar: first day of any sprint, YYYY-MM-DD; sprints repeat from it both ways",
		define: func(fs *pflag.FlagSet, name, usage string) {
			fs.String(name, model.DefaultSprintStart.Format(time.DateOnly), usage)
		},
		load: func(v *viper.Viper, key string, o *options) (err error) {
			o.config.SprintStart, err = sprintStart(v.Get(key))
			return err
		},
		print: func(o *options) any { return o.config.SprintStart.UTC().Format(time.DateOnly) },
	},
	{
		flag: "sprint-days", key: "sprint.days",
		usage:  "the team's sprint calendar: sprint length in days, 1 to 366; the default of /v1/stats and the page",
		define: func(fs *pflag.FlagSet, name, usage string) { fs.Int(name, model.DefaultSprintDays, usage) },
		load: func(v *viper.Viper, key string, o *options) (err error) {
			days, err := text(v, key, "sprint-days")
			if err != nil {
				return err
			}
			o.config.SprintDays, err = sprintDays(days)
			return err
		},
		print: func(o *options) any { return o.config.SprintDays },
	},
	{
		flag: "timezone", key: "timezone",
		usage:  "the team's calendar time zone, an IANA name such as Australia/Sydney, or UTC: days, weeks, months and sprints of /v1/stats, /v1/dora and the page start at its midnight, and so does a since or until given as a date, on every endpoint",
		define: func(fs *pflag.FlagSet, name, usage string) { fs.String(name, "UTC", usage) },
		load: func(v *viper.Viper, key string, o *options) (err error) {
			name, err := text(v, key, "timezone")
			if err != nil {
				return err
			}
			o.config.Location, err = timezone(name)
			return err
		},
		print: func(o *options) any { return model.ZoneName(o.config.Location) },
	},
	field("wait-for-db", "wait_for_db", time.Minute, "at start-up, how long to wait for an unreachable database before giving up", func(c *Config) *time.Duration { return &c.WaitForDB }),
	field("shutdown-timeout", "shutdown_timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish; those still running then are cut", func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	// Webhook secrets, like tokens, are never printed as values: see
	// configYAML.
	withPrint(field("github-webhook-secret", "hooks.github.secret", "", "secret of the GitHub webhook, at least 8 characters; enables POST /v1/hooks/github", func(c *Config) *string { return &c.GitHubSecret }), nil),
	withPrint(field("gitlab-webhook-token", "hooks.gitlab.token", "", "secret token of the GitLab webhook, at least 8 characters; enables POST /v1/hooks/gitlab", func(c *Config) *string { return &c.GitLabToken }), nil),
	field("hooks-mapping", "hooks.mapping", "", "YAML file saying which CI runs are deploys and how they are named, see docs/integrations.md", func(c *Config) *string { return &c.HooksMapping }),
	withPrint(alsoEnv(field("otlp-endpoint", "otlp.endpoint", "", "OTLP/HTTP collector base URL, e.g. http://collector:4318: export each finished deployment as a trace", func(c *Config) *string { return &c.OTLPEndpoint }), "OTEL_EXPORTER_OTLP_ENDPOINT"),
		func(o *options) any { return redactURL(o.config.OTLPEndpoint) }),
	// Set on its own, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT exported nothing
	// without a word, and beside OTEL_EXPORTER_OTLP_ENDPOINT it lost to it:
	// the opposite of what the OpenTelemetry convention says.
	withPrint(alsoEnv(field("otlp-traces-endpoint", "otlp.traces_endpoint", "", "OTLP/HTTP URL the traces are posted to as it is, e.g. http://collector:4318/v1/traces; wins over --otlp-endpoint", func(c *Config) *string { return &c.OTLPTracesEndpoint }), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		func(o *options) any { return redactURL(o.config.OTLPTracesEndpoint) }),
	{
		flag: "log-level", key: "log.level", everywhere: true,
		usage:  "log level: debug, info, warn, error",
		define: func(fs *pflag.FlagSet, name, usage string) { fs.String(name, "info", usage) },
		load: func(v *viper.Viper, key string, o *options) (err error) {
			if o.logLvl, err = text(v, key, "log-level"); err != nil {
				return err
			}
			if err := new(slog.LevelVar).UnmarshalText([]byte(o.logLvl)); err != nil {
				return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", o.logLvl)
			}
			return nil
		},
		print: func(o *options) any { return o.logLvl },
	},
}

func everywhere(s setting) setting { s.everywhere = true; return s }

func withPrint(s setting, print func(o *options) any) setting { s.print = print; return s }

func alsoEnv(s setting, env string) setting { s.alsoEnv = env; return s }

// addFlags declares the settings on fs: those on every command when
// everywhere is true, the server's others when false.
func addFlags(fs *pflag.FlagSet, everywhere bool) {
	for _, s := range settings {
		if s.everywhere == everywhere {
			env := s.env()
			if s.alsoEnv != "" {
				env += ", else " + s.alsoEnv
			}
			s.define(fs, s.flag, s.usage+" (env "+env+")")
		}
	}
}

func addServeFlags(fs *pflag.FlagSet) { addFlags(fs, false) }

// addRulesFlags declares the settings of the deployment rules on fs:
// "stepsd migrate" numbers the history with them, as serve does.
func addRulesFlags(fs *pflag.FlagSet) {
	for _, s := range settings {
		if strings.HasPrefix(s.key, "deployments.") {
			s.define(fs, s.flag, s.usage+" (env "+s.env()+")")
		}
	}
}

// load merges flags > env > config file > defaults into opts. It runs before
// every subcommand.
func (o *options) load(cmd *cobra.Command, _ []string) error {
	if !readsSettings(cmd) {
		return nil
	}
	v := o.v
	for _, s := range settings {
		if f := cmd.Flags().Lookup(s.flag); f != nil {
			if err := v.BindPFlag(s.key, f); err != nil {
				return err
			}
		}
		envs := []string{s.key, s.env()}
		if s.alsoEnv != "" {
			envs = append(envs, s.alsoEnv)
		}
		if err := v.BindEnv(envs...); err != nil {
			return err
		}
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
		// The file is YAML whatever its name: without this, viper guesses
		// from the extension, and a ConfigMap key or /etc/stepsd.conf (or
		// a missing file so named) fails with "Unsupported Config Type".
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return usageError{fmt.Errorf("config file %s: %w", file, err)}
		}
		if err := checkConfigKeys(v); err != nil {
			return usageError{fmt.Errorf("config file %s: %w", file, err)}
		}
	}

	o.config = Config{}
	for _, s := range settings {
		if err := s.load(v, s.key, o); err != nil {
			return usageError{err}
		}
	}
	if err := checkBounds(&o.config, func(key string) bool { return v.Get(key) != nil }); err != nil {
		return usageError{err}
	}
	// A DSN from a file or a Secret made with echo ends in a newline, which
	// would make it "not a valid URL"; tokens are trimmed the same way.
	o.config.DB = strings.TrimSpace(o.config.DB)
	cal := model.StatsOptions{SprintStart: o.config.SprintStart, SprintDays: o.config.SprintDays}
	if err := cal.Validate(); err != nil {
		return usageError{fmt.Errorf("--sprint-days: %s", model.ErrorMessage(err))}
	}
	o.config.SprintStart, o.config.SprintDays = cal.SprintStart, cal.SprintDays
	if file != "" {
		o.logger().Info("read config file", "file", file)
	}
	for _, name := range unknownEnv(os.Environ()) {
		o.logger().Warn("environment variable "+name+" is no setting of stepsd and is ignored; check its spelling",
			"variable", name, "known", strings.Join(knownEnv(), ", "))
	}
	return nil
}

// redactURL returns u with the password of its user information, if any,
// replaced by xxxxx, as a MySQL DSN's is: a collector's URL may carry one
// (http://user:pass@collector:4318), and it is logged and printed.
func redactURL(u string) string {
	if parsed, err := url.Parse(u); err == nil && parsed.User != nil {
		return parsed.Redacted()
	}
	return u
}

// knownEnv are the environment variables stepsd reads its settings from.
func knownEnv() []string {
	names := []string{"STEPSD_CONFIG"}
	for _, s := range settings {
		names = append(names, s.env())
	}
	return names
}

// unknownEnv returns the names of environ's STEPSD_ variables that no
// setting reads: a typo (STEPSD_TOKEN for STEPSD_TOKENS) would otherwise
// leave the default in force, the API open, without a word. Those
// Kubernetes sets for a Service named stepsd (STEPSD_PORT…,
// STEPSD_SERVICE_…) are not stepsd's and are left alone. The value is
// never shown: it may be a secret.
func unknownEnv(environ []string) []string {
	known := map[string]bool{}
	for _, name := range knownEnv() {
		known[name] = true
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "STEPSD_") || known[name] ||
			name == "STEPSD_PORT" || strings.HasPrefix(name, "STEPSD_PORT_") || strings.HasPrefix(name, "STEPSD_SERVICE_") {
			continue
		}
		unknown = append(unknown, name)
	}
	return unknown
}

// sprintStart reads the first day of the sprint calendar; unset (commands
// that do not serve have no such flag) is the default. YAML hands an
// unquoted date over as a time.
func sprintStart(start any) (time.Time, error) {
	switch v := start.(type) {
	case time.Time:
		return startOfDay(v), nil
	case nil:
		return time.Time{}, nil
	default:
		s := strings.TrimSpace(fmt.Sprint(v))
		if s == "" {
			return time.Time{}, nil
		}
		day, ok := model.ParseDay(s)
		if !ok {
			// A datetime is taken too, but a date is what is asked for.
			return time.Time{}, fmt.Errorf("--sprint-start: %q is not a date; use YYYY-MM-DD, such as 2026-01-05", s)
		}
		return day, nil
	}
}

// startOfDay is midnight UTC of the date t reads in its own zone. Sprints
// start at midnight in the calendar's zone, and "stepsd config" prints the
// start as a date: a clock time kept here would start every sprint at it,
// unseen in config and unlike what the docs promise.
func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// checkConfigKeys rejects a key of the config file that is no setting.
// Every setting's key is bound, so v.AllKeys is the settings' keys plus
// the file's own.
func checkConfigKeys(v *viper.Viper) error {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return configkeys.Check(v.AllKeys(), keys, v.Get)
}

// checkBounds refuses a limit or duration that parses but is out of its
// range, naming the flag. The server reads 0 or a negative value of these
// as its default (or, for --max-client-conns, a negative one as no bound),
// so --max-body-bytes -5 ran with 1 MiB, --max-future-skew 0 with 5 minutes
// and --shutdown-timeout 0s with 30 s, while "stepsd config" printed what
// was asked. given says whether the setting at key was read at all (a
// command without the flag, such as migrate, leaves it at zero).
func checkBounds(c *Config, given func(key string) bool) error {
	for _, b := range []struct {
		flag, key string
		value     any
		bad       bool
		want      string
	}{
		{"max-body-bytes", "limits.max_body_bytes", c.MaxBodyBytes, c.MaxBodyBytes < 1, "a number of bytes, 1 or more"},
		{"max-batch-bytes", "limits.max_batch_bytes", c.MaxBatchBytes, c.MaxBatchBytes < 1, "a number of bytes, 1 or more"},
		{"max-write-bytes", "limits.max_write_bytes", c.MaxWriteBytes, c.MaxWriteBytes < 1, "a number of bytes, 1 or more"},
		{"max-answer-bytes", "limits.max_answer_bytes", c.MaxAnswerBytes, c.MaxAnswerBytes < 1, "a number of bytes, 1 or more"},
		{"client-batches", "limits.client_batches", c.ClientBatches, c.ClientBatches < 1, "a number of batches, 1 or more"},
		{"max-analyses", "limits.max_analyses", c.MaxAnalyses, c.MaxAnalyses < 0, "a number of analyses, 0 or more (0: half the CPUs, at least 1)"},
		{"rate-burst", "limits.rate_burst", c.RateBurst, c.RateBurst < 1, "a number of requests, 1 or more"},
		{"max-client-conns", "limits.max_client_conns", c.MaxClientConns, c.MaxClientConns < 0, "a number of connections, 0 or more (0: no bound)"},
		{"max-conns", "limits.max_conns", c.MaxConns, c.MaxConns < 0, "a number of connections, 0 or more (0: no bound)"},
		{"max-future-skew", "limits.max_future_skew", c.MaxFutureSkew, c.MaxFutureSkew <= 0, "a duration above 0, such as 30s or 5m"},
		{"stuck-after", "deployments.stuck_after", c.Rules.StuckAfter, c.Rules.StuckAfter <= 0, "a duration above 0, such as 30m or 1h"},
		{"wait-for-db", "wait_for_db", c.WaitForDB, c.WaitForDB < 0, "a duration, 0 or more, such as 0s (try once) or 1m"},
		{"shutdown-timeout", "shutdown_timeout", c.ShutdownTimeout, c.ShutdownTimeout <= 0, "a duration above 0, such as 30s"},
	} {
		if b.bad && given(b.key) {
			return badNumber(b.flag, b.value, b.want)
		}
	}
	return nil
}

// text reads a setting that is one value. viper's GetString reads a YAML
// list or mapping as "", which left the tokens unset (the API open, where
// "tokens: [write:…]" asked for a token), listen on a random port, or the
// zone UTC, without a word. Only the file can give one: flags and
// variables are text.
func text(v *viper.Viper, key, flag string) (string, error) {
	raw := v.Get(key)
	s, err := cast.ToStringE(raw)
	if err != nil {
		kind := "a mapping"
		if _, ok := raw.([]any); ok {
			kind = "a list"
		}
		hint := "one value"
		if key == "auth.tokens" {
			hint = `one string, its tokens comma-separated: "write:…,read:…"`
		}
		return "", fmt.Errorf("--%s: the config file gives %s %s; it takes %s", flag, key, kind, hint)
	}
	return s, nil
}

// badNumber is the usage error of a setting whose value does not parse.
func badNumber(flag string, raw any, want string) error {
	return fmt.Errorf("--%s: %q is not %s", flag, fmt.Sprint(raw), want)
}

// sprintDays reads the sprint length; unset is the default. The range is
// checked with the start, by the same rule as a request's (load).
// timezone reads the calendar's time zone; unset (commands that do not
// serve have no such flag) is UTC.
func timezone(name string) (*time.Location, error) {
	if name = strings.TrimSpace(name); name == "" {
		return time.UTC, nil
	}
	loc, err := model.LoadZone("timezone", name)
	if err != nil {
		return nil, fmt.Errorf("--timezone: %q is not a time zone; use an IANA name such as Australia/Sydney or America/New_York, or UTC", name)
	}
	return loc, nil
}

func sprintDays(days string) (int, error) {
	if days = strings.TrimSpace(days); days == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(days)
	if err != nil || n < 1 || n > model.MaxSprintDays {
		return 0, fmt.Errorf("--sprint-days: %q is not a whole number of days from 1 to %d", days, model.MaxSprintDays)
	}
	return n, nil
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
database and exits 0. On SIGHUP it reads --tls-cert and --tls-key again (it
also does when their files change) and goes on serving; other settings need
a restart.

Each step is numbered into its deployment in the transaction that writes it.
After the upgrade that adds this, or when --success-statuses or
--failure-statuses change, stepsd numbers the whole history again at start-up,
logging its progress, before it serves (docs/operations.md).`,
		Example: `  stepsd serve --listen :9090 --db sqlite:/var/lib/steps/steps.db
  stepsd serve --success-statuses finished,deployed --failure-statuses failed,rolled-back`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// Caught from the start: a SIGHUP during a long migration
			// would otherwise kill stepsd midway.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			m := &Main{Config: opts.config, Logger: opts.logger()}
			if err := m.Run(ctx); err != nil {
				m.Close() //nolint:errcheck // the start-up error is the one to report
				if ctx.Err() != nil && cmd.Context().Err() == nil {
					// SIGTERM while waiting for the database or its
					// migration lock (a rollout, "docker stop"): asked to
					// stop, stepsd stopped, as cleanly as once serving.
					m.Logger.Info("stopped before serving: signal during start-up", "cut", err.Error())
					return nil
				}
				return err
			}
			serveUntilStopped(ctx, m, hup)
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

// serveUntilStopped waits for a stop signal or the server's end, and reads
// the TLS files again on each SIGHUP in between.
func serveUntilStopped(ctx context.Context, m *Main, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			m.Logger.Info("shutting down: finishing requests in flight")
			return
		case <-m.Done():
			m.Logger.Error("server stopped", "err", m.Err())
			return
		case <-hup:
			m.Reload()
		}
	}
}

func newMigrateCmd(opts *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long: `Create or upgrade the database schema to this version of stepsd, then exit.
"stepsd serve" does the same at start-up; run this on its own to upgrade
before rolling out new replicas, or to check a DSN.

It also numbers the deployments, as serve does before it serves: the whole
history after the upgrade that stores deployments or when the terminal
statuses change (give it the --success-statuses and --failure-statuses that
serve runs with), and the steps an older stepsd wrote. Replicas started
after it then serve at once.

It tries the database once: serve's --wait-for-db does not apply, so run it
once the database is up, or from a Job or script that retries.

Exit codes: 0 the schema is up to date (it says how many migrations it
applied now), 1 the database cannot be reached or migrated (or a newer
stepsd migrated it), 2 usage error (a --db stepsd cannot take).`,
		Example: `  stepsd migrate --db 'mysql://steps:secret@db:3306/steps'
  stepsd migrate --success-statuses finished,deployed --failure-statuses failed,rolled-back`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := opts.logger()
			if err := store.CheckDSN(opts.config.DB); err != nil {
				return usageError{err}
			}
			rules := withDefaultRules(opts.config.Rules)
			if err := rules.Validate(); err != nil {
				return usageError{fmt.Errorf("deployment rules: %w", err)}
			}
			s, err := store.Open(cmd.Context(), opts.config.DB, store.WithLogger(log))
			if err != nil {
				return fmt.Errorf("database %s: %w", store.RedactDSN(opts.config.DB), err)
			}
			defer s.Close()
			// The store logs each migration as it applies it.
			applied, err := s.Migrate(cmd.Context())
			if err != nil {
				return fmt.Errorf("database %s: %w", store.RedactDSN(opts.config.DB), err)
			}
			// The numbering is the long part of an upgrade (18 s against
			// 1.5 s of migrations at 100,000 steps on MariaDB): done here,
			// by the Job that runs before a rollout, not by the first
			// replica, under its startup probe.
			if err := s.UseRules(cmd.Context(), rules, log); err != nil {
				return fmt.Errorf("database %s: %w", store.RedactDSN(opts.config.DB), err)
			}
			fmt.Fprintf(opts.stdout, "database %s is up to date (%d migrations applied now)\n", store.RedactDSN(opts.config.DB), len(applied))
			return nil
		},
	}
	addRulesFlags(cmd.Flags())
	return cmd
}

func newVersionCmd(opts *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stepsd",
		Long: `Print the version of stepsd, the commit it was built from and the Go
release that built it, in the same format as "stepsctl version".`,
		Example: `  $ stepsd version
  stepsd 1.4.2 (commit 0123456789ab, go1.26.8, linux/amd64)`,
		Args: noArgs,
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
password is shown as "xxxxx", to be put back by hand.

Exit codes: 0 printed; 2 a flag, environment variable or config file that
"stepsd serve" would refuse (nothing printed on stdout, the reason on
stderr).`,
		Example: `  STEPSD_LISTEN=:9090 stepsd config
  stepsd config > /etc/steps/stepsd.yaml   # freeze today's settings`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := configYAML(opts)
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

// flowList is a list "stepsd config" prints on one line, [a, b].
type flowList []string

func (l flowList) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range l {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
	}
	return n, nil
}

// configYAML renders o's settings as the config file's YAML, in the order
// of settings, secrets hidden.
func configYAML(o *options) ([]byte, error) {
	tokens, err := server.ParseTokens(o.config.Tokens)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tokens: %w", err)}
	}
	// A DSN serve would refuse is refused here too, rather than printed as
	// "mysql://(unparseable)" under exit 0 by the command meant to check it.
	if err := store.CheckDSN(o.config.DB); err != nil {
		return nil, usageError{err}
	}
	// So is a listen address serve could not listen on (a bare port, 8080).
	if err := checkListen(o.config.Listen); err != nil {
		return nil, err
	}
	// And the other settings serve refuses before it opens anything.
	if err := checkSettings(o.config); err != nil {
		return nil, err
	}
	doc := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range settings {
		if s.print == nil {
			continue
		}
		m, path := doc, strings.Split(s.key, ".")
		for _, name := range path[:len(path)-1] {
			m = child(m, name)
		}
		var value yaml.Node
		if err := value.Encode(s.print(o)); err != nil {
			return nil, fmt.Errorf("%s: %w", s.key, err)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: path[len(path)-1]}, &value)
	}
	if len(tokens) > 0 {
		var scopes []string
		for _, t := range tokens {
			scopes = append(scopes, t.Scope+":***")
		}
		// Tokens go in a comment, never as a value: a pasted file must not
		// replace the real secrets with a placeholder. The comment stands
		// where auth goes in configs/stepsd.yaml, before tls.
		for _, k := range doc.Content {
			if k.Value == "tls" {
				k.HeadComment = fmt.Sprintf("auth:\n  tokens: %q  (hidden: set them with STEPSD_TOKENS)", strings.Join(scopes, ","))
			}
		}
	}
	// Webhook secrets, like tokens, are only said to be set.
	var hooks []string
	if o.config.GitHubSecret != "" {
		hooks = append(hooks, "  github:\n    secret: \"***\"  (hidden: set it with STEPSD_GITHUB_WEBHOOK_SECRET)")
	}
	if o.config.GitLabToken != "" {
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
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// child is the mapping under key name in mapping m, added at the end when
// m has none yet.
func child(m *yaml.Node, name string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i+1]
		}
	}
	c := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, c)
	return c
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
certificate: it checks liveness, not identity). It accepts every flag of
serve too, so it can be given the server's own arguments.`,
		Example: `  stepsd healthcheck                 # GET /healthz on the --listen port
  stepsd healthcheck --path /readyz  # also checks the database`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// "readyz" means /readyz: without the slash the URL would read
			// it as part of the port.
			if !strings.HasPrefix(path, "/") {
				path = "/" + path
			}
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
	// It takes every flag serve takes, so a probe can run with the
	// server's own arguments, but only these say where the probe goes.
	addServeFlags(cmd.Flags())
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "listen":
			f.Usage = "address the stepsd to probe listens on (env STEPSD_LISTEN)"
		case "path", "timeout", "tls-cert", "tls-key", "help":
		default:
			f.Hidden = true
		}
	})
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
