package command

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/steps-dev/steps/internal/cliargs"
	"github.com/steps-dev/steps/internal/configkeys"
	"github.com/steps-dev/steps/internal/version"
	"github.com/steps-dev/steps/pkg/client"
)

// Defaults of the global settings.
const (
	DefaultServer  = "http://localhost:8080"
	DefaultTimeout = 30 * time.Second
)

const rootLong = `stepsctl records the steps of deploys (build, tests, migrate, rollout, …)
in a steps server, and answers from them: how long each deploy took, which
step is slow, and whether deploys are getting slower.

A deploy script calls "stepsctl record" at each step, or wraps each step's
command in "stepsctl run". If the server cannot be reached, the record is
kept in a local spool and delivered, with its original time, by the next
stepsctl command or by "stepsctl flush": a tracker outage neither loses a
record nor breaks the deploy.

Configuration, highest precedence first:
  flags               --server, --token, --timeout, --spool-dir
  environment         STEPSCTL_SERVER, STEPSCTL_TOKEN, STEPSCTL_TIMEOUT,
                      STEPSCTL_SPOOL_DIR, STEPSCTL_CONFIG
  config file         $XDG_CONFIG_HOME/stepsctl/config.yaml
                      (~/.config/stepsctl/config.yaml), keys server, token,
                      timeout, spool-dir, and sprint.start, sprint.days,
                      timezone (the team's calendar, defaults of "stepsctl
                      stats" and "dora"; env STEPSCTL_SPRINT_START,
                      STEPSCTL_SPRINT_DAYS, STEPSCTL_TIMEZONE)
  defaults            server http://localhost:8080, timeout 30s,
                      spool $XDG_STATE_HOME/stepsctl (~/.local/state/stepsctl;
                      $TMPDIR/stepsctl-UID when the home cannot be written,
                      or a new private stepsctl-UID-* beside it when that
                      name is not the user's own)

STEPSCTL_DEBUG=1 prints on stderr what stepsctl does quietly (why a record
carries no revision from git).

Exit codes:
  0  success (an empty list, and a record kept in the spool, are successes)
  1  failure: the server refused the request or could not be reached,
     or a local error
  2  usage error: unknown command, bad flag or argument
  "stepsctl run" exits with its command's exit code (128 + N when a signal
  N killed it; 127 when it was not found), whatever the server does.`

const rootExample = `  # Record a step of a deploy (owner defaults to the current user)
  stepsctl record --component api --version 1.4.2 --env production --status build

  # Or run the step's command and record its start and end
  stepsctl run --component api --version 1.4.2 --env production --step tests -- make test

  # What happened in the last 7 days, as a table
  stepsctl list --since 7d

  # The same as CSV for a spreadsheet, or NDJSON for jq
  stepsctl list --since 7d -o csv > steps.csv
  stepsctl list --component api -o ndjson | jq .status

  # How long each deploy took, step by step
  stepsctl deployments --component api --since 7d --steps

  # Are deploys getting slower? Per two-week sprint
  stepsctl stats --component api --by sprint

  # When did they get slower, and which step moved?
  stepsctl changes --component api --env production

  # The DORA four keys of the last 90 days, with their bands
  stepsctl dora --component api --env production --since 90d

  # Move history over from the original service
  stepsctl import old-service-export.csv

  # Send records kept while the server was down
  stepsctl flush`

// skipConfig annotates commands that never talk to the server, so that a
// broken config file does not stop them.
const skipConfig = "stepsctl/skip-config"

// globalKeys are the settings bound to flags, env and the config file.
var globalKeys = []string{"server", "token", "timeout", "spool-dir"}

// sprintKeys are the team's sprint calendar, from env or the config file:
// the defaults of stats' --sprint-start and --sprint-days. They are read
// as given and checked by the commands that use them, so that a mistake
// there never stops a deploy script's record.
var sprintKeys = []string{"sprint.start", "sprint.days", "timezone"}

// NewCmdRoot returns the stepsctl command with all its subcommands.
func NewCmdRoot(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "stepsctl <command> [flags]",
		Short:         "Record the steps of deploys, and see how long they take",
		Long:          rootLong,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := suggestion(cmd, args[0]); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			return &UsageError{Err: errors.New(msg)}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Annotations[skipConfig] != "" || cmd.Name() == "help" || strings.HasPrefix(cmd.Name(), "__") {
				return nil
			}
			return f.loadConfig(cmd)
		},
	}
	pf := cmd.PersistentFlags()
	pf.String("server", DefaultServer, "URL of the steps server (env STEPSCTL_SERVER)")
	pf.String("token", "", "bearer token for the server (env STEPSCTL_TOKEN)")
	pf.String("config", "", "config file (env STEPSCTL_CONFIG; default $XDG_CONFIG_HOME/stepsctl/config.yaml)")
	timeout := timeoutValue(DefaultTimeout)
	pf.Var(&timeout, "timeout", "give up on the server after this long (10s, 2m, or seconds: 5), retries and the delivery of spooled records included (env STEPSCTL_TIMEOUT)")
	pf.String("spool-dir", "", "where undelivered records wait (env STEPSCTL_SPOOL_DIR; default $XDG_STATE_HOME/stepsctl, else $TMPDIR/stepsctl-UID)")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: cliargs.SuggestFlag(c, err)}
	})
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SuggestionsMinimumDistance = 2
	// "stepsctl --version" is what people try first; it prints what
	// "stepsctl version" does. Cobra adds the flag to the root only, so
	// record's --version (the component's) is untouched.
	cmd.Version = version.String("stepsctl", f.Version)
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.Flags().Bool("version", false, `print the version of stepsctl, as "stepsctl version" does`)

	cmd.AddCommand(
		NewCmdRecord(f, nil),
		NewCmdList(f, nil),
		NewCmdFlush(f, nil),
		NewCmdDeployments(f, nil),
		NewCmdWatch(f, nil),
		NewCmdStats(f, nil),
		NewCmdChanges(f, nil),
		NewCmdDORA(f, nil),
		NewCmdRun(f, nil),
		NewCmdImport(f, nil),
		NewCmdVersion(f),
		NewCmdCompletion(f),
	)
	completeValuesFromServer(f, cmd)
	cliargs.RefuseUnknownHelpTopic(cmd, func(err error) error { return &UsageError{Err: err} })
	return cmd
}

// loadConfig binds the program's viper to the flags, the STEPSCTL_*
// environment and the config file, and copies the resolved values into
// f.Config.
func (f *Factory) loadConfig(cmd *cobra.Command) error {
	f.startClock()
	v := f.Viper
	v.SetEnvPrefix("STEPSCTL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	flags := cmd.Flags()
	for _, key := range append(globalKeys, "config") {
		if err := v.BindPFlag(key, flags.Lookup(key)); err != nil {
			return err
		}
	}

	file, explicit := v.GetString("config"), true
	if file == "" {
		file, explicit = f.DefaultConfigFile(), false
	}
	if _, err := os.Stat(file); err == nil || explicit {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return usageErrorf("config file %s does not exist", file)
			}
			// A file that is not YAML is a mistake in how stepsctl was
			// set up, as a bad flag is; one that cannot be read is not.
			if errors.As(err, new(viper.ConfigParseError)) {
				return usageErrorf("config file %s: %w", file, err)
			}
			return fmt.Errorf("config file %s: %w", file, err)
		}
		f.Config.File = file
		if err := checkConfigKeys(v.AllKeys(), v.Get); err != nil {
			return usageErrorf("config file %s: %w", file, err)
		}
	}

	// viper's GetString reads a YAML list or mapping as "": "token: [x]"
	// would send no token, and the 401 would point to a token that the
	// file seems to set. Every key takes one value.
	for _, key := range []string{"server", "token", "timeout", "spool-dir", "sprint.start", "sprint.days", "timezone"} {
		switch v.Get(key).(type) {
		case []any, map[string]any:
			return usageErrorf("config file %s: %s is a list or a mapping; it takes one value", f.Config.File, key)
		}
	}
	f.Config.Server = v.GetString("server")
	// A token read from a file or a Kubernetes secret often ends in a
	// newline; stepsd trims its own tokens, so none has spaces around it.
	f.Config.Token = strings.TrimSpace(v.GetString("token"))
	if t := f.Config.Token; len(t) > len("Bearer ") && strings.EqualFold(t[:len("Bearer ")], "Bearer ") {
		// pkg/client sends it without its scheme (WithToken); stepsctl
		// says so, since the user may paste it elsewhere. Not a usage
		// error: that would stop record and run, and a token problem must
		// never stop a deploy.
		fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: the token begins with %q, which stepsctl adds itself; sending the token without it\n", t[:len("Bearer ")])
	}
	f.Config.SpoolDir = v.GetString("spool-dir")
	f.Config.SprintStart = configText(v.Get("sprint.start"))
	f.Config.SprintDays = configText(v.Get("sprint.days"))
	f.Config.TimeZone = strings.TrimSpace(v.GetString("timezone"))
	timeout, err := parseDuration(v.GetString("timeout"))
	if err != nil || timeout <= 0 {
		return usageErrorf("%s: %q is not a positive duration; use one such as 10s or 2m, or seconds alone (5)", timeoutSource(cmd, f.Config.File), v.GetString("timeout"))
	}
	f.Config.Timeout = timeout
	if _, err := client.New(f.Config.Server, client.WithToken(f.Config.Token)); err != nil {
		return &UsageError{Err: errors.New(strings.TrimPrefix(err.Error(), "client: "))}
	}
	return nil
}

// timeoutSource names where the timeout came from, for its error: a
// STEPSCTL_TIMEOUT exported in a CI file, or a config file's key, is not
// where a user who typed no --timeout would look. viper reads the variable
// from the process's environment, and so does this.
func timeoutSource(cmd *cobra.Command, file string) string {
	switch {
	case cmd.Flags().Changed("timeout"):
		return "--timeout"
	case os.Getenv("STEPSCTL_TIMEOUT") != "":
		return "STEPSCTL_TIMEOUT"
	case file != "":
		return "config file " + file + ": timeout"
	}
	return "timeout"
}

// configText reads a setting as text. YAML hands an unquoted date over
// as a time, which is taken back to its day.
func configText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case time.Time:
		// The day as written: in UTC, 2026-01-07T02:00:00+05:00 is the 6th.
		return v.Format(time.DateOnly)
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// timeoutValue is --timeout: a duration, or a number of seconds as
// STEPSCTL_TIMEOUT and the config file take it (parseDuration), so that
// "--timeout 5" means what STEPSCTL_TIMEOUT=5 means rather than exit 2.
type timeoutValue time.Duration

func (t *timeoutValue) String() string { return time.Duration(*t).String() }
func (t *timeoutValue) Type() string   { return "duration" }

func (t *timeoutValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*t = timeoutValue(d)
	return nil
}

// parseDuration reads a duration as viper hands it over: "30s" from a flag
// or env, or a number of seconds from YAML.
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	// The whole text is the number: a scan of its start would take "1h30"
	// (a typo for 1h30m) as 1 second.
	secs, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs > math.MaxInt64/float64(time.Second) {
		return 0, fmt.Errorf("%q is neither a duration nor a number of seconds", s)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// checkConfigKeys rejects unknown keys, so a typo in the config file is
// not silently ignored.
func checkConfigKeys(keys []string, get func(string) any) error {
	// --config is bound to the same viper; it is no key of the file.
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "config" })
	return configkeys.Check(keys, append(append([]string{}, globalKeys...), sprintKeys...), get)
}

// requireFlags returns a usage error naming every one of names that is
// unset, so that one run of the command shows all that is missing.
func requireFlags(flags *pflag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if fl := flags.Lookup(n); fl != nil && fl.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return usageErrorf("%s is required", missing[0])
	}
	last := len(missing) - 1
	return usageErrorf("%s and %s are required", strings.Join(missing[:last], ", "), missing[last])
}

// suggestion is the command to propose for an unknown one: first a command
// that names it in SuggestFor (what a user means by "export" or "eta"),
// else the closest by spelling, which alone would answer "export" with
// "import".
func suggestion(root *cobra.Command, typed string) string {
	for _, c := range root.Commands() {
		if slices.Contains(c.SuggestFor, typed) {
			return c.Name()
		}
	}
	if s := root.SuggestionsFor(typed); len(s) > 0 {
		return s[0]
	}
	return ""
}
