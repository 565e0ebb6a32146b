// Package command holds the stepsctl commands: one file per command, each
// with an options struct, a NewCmdX constructor and an xRun function, as
// in GitHub's gh. Commands get what they depend on from a Factory, so tests
// run them in-process with fake streams, environment and clock.
package command

import (
	"cmp"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/viper"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/output"
	"github.com/steps-dev/steps/pkg/client"
)

// Factory carries the dependencies of the commands. Config is filled by
// the root command before any command runs.
type Factory struct {
	IO      *output.Streams
	Getenv  func(string) string // for XDG directories, HOME and USER
	Now     func() time.Time
	Loc     *time.Location // for times in a terminal
	Version string
	// Dir is where record and run ask git for the commit deployed: the
	// current directory when "" (tests give one).
	Dir string

	// HTTPClient is used for the server when set (tests).
	HTTPClient *http.Client
	// Retry overrides the retry policy derived from --timeout (tests).
	Retry *client.RetryPolicy
	// AttemptTimeout overrides attemptTimeout, the bound of one attempt
	// of a request (tests).
	AttemptTimeout time.Duration

	// TempDir is the temporary directory when TMPDIR is unset or names
	// no directory: /tmp (os.TempDir's elsewhere) when "" (tests give
	// their own rather than share the machine's).
	TempDir string

	// LookupUser is user.Current when nil (tests fake an account that
	// has no entry in the passwd database).
	LookupUser func() (*user.User, error)

	// Notify and StopNotify relay the signals that run forwards to its
	// command: signal.Notify and signal.Stop when nil (tests fake them).
	Notify     func(c chan<- os.Signal, sig ...os.Signal)
	StopNotify func(c chan<- os.Signal)

	// commandSignal killed run's command: Exit dies of it (Main sets it).
	commandSignal syscall.Signal

	// Viper is the program's one configuration registry, bound to the
	// flags in the root command's PersistentPreRunE.
	Viper  *viper.Viper
	Config Config

	// started is when the command started, on the real clock: --timeout
	// counts from it.
	started time.Time
}

// Config is the resolved global configuration: flag > env > file > default.
type Config struct {
	Server   string
	Token    string
	Timeout  time.Duration
	SpoolDir string
	File     string // the config file read, if any
	// SprintStart and SprintDays are the team's sprint calendar as
	// configured (sprint.start, sprint.days), unchecked; "" when unset.
	SprintStart string
	SprintDays  string
	// TimeZone is the calendar's zone as configured (timezone),
	// unchecked; "" when unset.
	TimeZone string
}

// NewFactory returns the factory of the real program.
func NewFactory(version string) *Factory {
	return &Factory{
		IO:      output.System(),
		Getenv:  os.Getenv,
		Now:     time.Now,
		Loc:     time.Local,
		Version: version,
		Viper:   viper.New(),
	}
}

// attemptTimeout bounds one attempt so that a hung connection leaves time
// for retries within --timeout.
const attemptTimeout = 10 * time.Second

// startClock starts the --timeout budget of the command.
func (f *Factory) startClock() { f.started = time.Now() }

// remaining is what is left of --timeout: the spool delivered before the
// command has used its share of the same budget. It is never zero, which
// a retry policy would read as "the default".
func (f *Factory) remaining() time.Duration {
	d := f.Config.Timeout
	if !f.started.IsZero() {
		d -= time.Since(f.started)
	}
	return max(d, time.Millisecond)
}

// Client returns a client of the configured server that spends at most
// what is left of --timeout on each call, retries included. Make it after
// deliverSpool, so that delivery and the command share one --timeout.
func (f *Factory) Client() (*client.Client, error) {
	left := f.remaining()
	p := f.retryPolicy()
	p.MaxElapsed = min(p.MaxElapsed, left)
	return f.client(f.Config.Server, p, left)
}

// BatchClient is Client for import's batches: one attempt may last all
// that is left of --timeout. A batch of thousands of steps can take the
// server longer than an attempt of Client (10 s), and an attempt cut
// short is rolled back on the server: its retries would be cut short
// too, and the batch could never be stored, whatever --timeout said.
func (f *Factory) BatchClient() (*client.Client, error) {
	left := f.remaining()
	p := f.retryPolicy()
	p.MaxElapsed = min(p.MaxElapsed, left)
	return f.clientWithin(f.Config.Server, p, left)
}

// retryPolicy is the retry policy of a whole --timeout.
func (f *Factory) retryPolicy() client.RetryPolicy {
	if f.Retry != nil {
		return *f.Retry
	}
	return client.RetryPolicy{MaxElapsed: f.Config.Timeout}
}

// quickClient returns a client that tries each request once, for a record
// that must not hold run up when the server was just found down.
func (f *Factory) quickClient() (*client.Client, error) {
	return f.client(f.Config.Server, client.NoRetry(), f.remaining())
}

// client returns a client of server with the retry policy p; one attempt
// lasts at most budget.
func (f *Factory) client(server string, p client.RetryPolicy, budget time.Duration) (*client.Client, error) {
	return f.clientWithin(server, p, min(cmp.Or(f.AttemptTimeout, attemptTimeout), budget))
}

// clientWithin returns a client of server with the retry policy p; one
// attempt lasts at most attempt.
func (f *Factory) clientWithin(server string, p client.RetryPolicy, attempt time.Duration) (*client.Client, error) {
	opts := []client.Option{
		client.WithToken(f.Config.Token),
		client.WithRetry(p),
		client.WithTimeout(attempt),
		client.WithUserAgent("stepsctl/" + f.Version),
		// A step whose first attempt finds the server down keeps that
		// moment as its time on the retries that get through: the spool
		// takes a 422 on its key as delivered (spool.Deliver).
		client.WithKeyedStamps(),
	}
	if f.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(f.HTTPClient))
	}
	return client.New(server, opts...)
}

// SpoolDir returns the spool directory stepsctl prefers: the configured
// one, else $XDG_STATE_HOME/stepsctl, else ~/.local/state/stepsctl; "" when
// there is no home to put it in.
func (f *Factory) SpoolDir() string {
	if f.Config.SpoolDir != "" {
		return f.Config.SpoolDir
	}
	if d := f.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "stepsctl")
	}
	if h := f.home(); h != "" {
		return filepath.Join(h, ".local", "state", "stepsctl")
	}
	return ""
}

// DefaultConfigFile returns $XDG_CONFIG_HOME/stepsctl/config.yaml, else
// ~/.config/stepsctl/config.yaml; "" when there is no home.
func (f *Factory) DefaultConfigFile() string {
	if d := f.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "stepsctl", "config.yaml")
	}
	if h := f.home(); h != "" {
		return filepath.Join(h, ".config", "stepsctl", "config.yaml")
	}
	return ""
}

// home returns the user's home directory: $HOME, else the account's, else
// "" (never the current directory, which a deploy script changes between
// two commands).
func (f *Factory) home() string {
	if h := f.Getenv("HOME"); h != "" {
		return h
	}
	if u, err := f.lookupUser(); err == nil {
		return u.HomeDir
	}
	return ""
}

func (f *Factory) lookupUser() (*user.User, error) {
	if f.LookupUser != nil {
		return f.LookupUser()
	}
	return user.Current()
}

// CurrentUser returns the login name of the user running stepsctl, or "".
func (f *Factory) CurrentUser() string {
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if u := f.Getenv(k); u != "" {
			return u
		}
	}
	if u, err := f.lookupUser(); err == nil && u.Username != "" {
		return filepath.Base(u.Username) // DOMAIN\name on Windows
	}
	return ""
}

// defaultOwner is the owner of a step recorded without --owner: the
// current user, else, for an account that has no name (a container run
// under an arbitrary uid has no passwd entry, and often no USER), "uid-N",
// with a line on stderr that says how to name it. A deploy must not stop
// for want of a name: the uid still tells one runner's steps from
// another's. "" only where there is no uid either (Windows, where the
// account always has a name).
func (f *Factory) defaultOwner() string {
	if u := f.CurrentUser(); u != "" {
		return u
	}
	uid := os.Getuid()
	if uid < 0 {
		return ""
	}
	owner := fmt.Sprintf("uid-%d", uid)
	fmt.Fprintf(f.IO.ErrOut, "stepsctl: warning: uid %d has no user name (no passwd entry, USER and LOGNAME unset); recording owner %q: name who deploys with --owner or USER\n", uid, owner)
	return owner
}
