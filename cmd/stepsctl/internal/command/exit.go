package command

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/internal/cliargs"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

// Exit codes of stepsctl.
const (
	ExitOK      = 0 // success, including an empty list and a spooled record
	ExitFailure = 1 // the server refused, could not be reached, or a local error
	ExitUsage   = 2 // bad flags or arguments; where to find the usage is printed
)

// UsageError is a mistake in the command line. It exits with ExitUsage,
// and the error is followed by where to read the command's usage.
type UsageError struct {
	Err error
}

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// noArgs refuses positional arguments as a usage error (cliargs).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cliargs.Refuse(cmd, args, "component", "value", "NAME"); err != nil {
		return &UsageError{Err: err}
	}
	return nil
}

// silentError has already been reported on stderr; it only sets the exit
// code.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

// exitStatus is the exit code of a command that run ran and that failed:
// stepsctl exits with it. The failure was reported on stderr. signal is
// the one that killed the command, if one did.
type exitStatus struct {
	code   int
	signal syscall.Signal
}

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode chooses the exit code for the error a command returned. It is
// the only place that does.
func ExitCode(err error) int {
	var usage *UsageError
	var status *exitStatus
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &status):
		return status.code
	case errors.As(err, &usage):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// Main runs stepsctl with args and returns its exit code. Errors are
// printed on stderr as one line (usage errors followed by the usage);
// never a stack trace, even for a panic.
func Main(ctx context.Context, f *Factory, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(f.IO.ErrOut, "stepsctl: internal error: %v\n", r)
			code = ExitFailure
		}
	}()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		printError(f.IO.ErrOut, cmd, err)
	}
	var status *exitStatus
	if errors.As(err, &status) {
		f.commandSignal = status.signal
	}
	return ExitCode(err)
}

// Exit ends stepsctl with code, Main's. When run's command was killed by
// SIGINT, SIGTERM or SIGHUP, stepsctl dies of the same signal instead,
// its end recorded: a shell that waits for a command during a SIGINT
// (a Ctrl-C, a CI runner cancelling the job) stops its script only if the
// command died of it, and goes on when it exited, even with 130. To the
// shell, $? is 128 + the signal's number either way.
func (f *Factory) Exit(code int) {
	switch f.commandSignal {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
		dieOf(f.commandSignal)
	}
	os.Exit(code)
}

// printError prints err as one line on w. After a usage error it points to
// the command's help in one more line, as gh and kubectl do, rather than
// burying the error under the whole usage.
func printError(w io.Writer, cmd *cobra.Command, err error) {
	var silent *silentError
	var status *exitStatus
	if errors.As(err, &silent) || errors.As(err, &status) {
		return
	}
	fmt.Fprintf(w, "stepsctl: %s\n", message(err))
	var usage *UsageError
	if errors.As(err, &usage) && cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cliargs.HelpOwner(cmd).CommandPath())
	}
}

// message renders err for a person, on one line.
func message(err error) string {
	msg := err.Error()
	var apiErr *client.APIError
	var netErr *client.NetError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	case errors.As(err, &netErr) && errors.Is(err, syscall.ECONNREFUSED):
		// Nothing listens there: most often stepsd is not started, or
		// stepsctl was not told where it is and tried the default.
		msg += "; is stepsd running there? Give its URL with --server or STEPSCTL_SERVER"
	case errors.As(err, &netErr) && errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// A host name mistyped, or one only a VPN or the cluster's DNS
		// knows: nothing to start, unlike a refused connection.
		msg += "; check the host name in --server or STEPSCTL_SERVER (a name only a VPN or a cluster's DNS knows resolves only there)"
	case errors.As(err, &netErr) && errors.As(err, new(x509.UnknownAuthorityError)):
		// stepsd serving TLS itself often has a certificate of the team's
		// own CA (or a self-signed one), which the system does not trust.
		msg += "; for a certificate of your own CA, point SSL_CERT_FILE at its PEM file (Linux)"
	case errors.As(err, &apiErr):
		if len(apiErr.Params) > 0 {
			// The server's advice names its parameters (since=, bucket=);
			// say it with the flags a stepsctl user types.
			msg = strings.Replace(msg, apiErr.Message, apiErr.AdviceIn(flagOfParam), 1)
		}
		if hint := statusHint(apiErr); hint != "" {
			msg += "; " + hint
		}
	}
	return strings.Join(strings.Fields(msg), " ")
}

// fieldUsageError is a usage error naming the flag behind the field the
// model refuses ("--env: environment is 65 characters long"): the model
// speaks of API fields (environment), and the user typed --env.
func fieldUsageError(err error) error {
	var merr *model.Error
	if !errors.As(err, &merr) || merr.Field == "" {
		return &UsageError{Err: err}
	}
	return usageErrorf("%s: %s", flagOfParam(merr.Field), merr.Message)
}

// flagOfParam is the flag that sets an API parameter: --env for
// environment, --by for bucket, and the same name, dashed, for the others.
func flagOfParam(param string) string {
	switch param {
	case "environment":
		return "--env"
	case "bucket":
		return "--by"
	}
	return "--" + strings.ReplaceAll(param, "_", "-")
}

// statusHint says what to do about a refusal, when the server's message
// does not already say it.
func statusHint(apiErr *client.APIError) string {
	switch apiErr.StatusCode {
	case 401:
		return "set a token with --token or STEPSCTL_TOKEN"
	case 403:
		if strings.Contains(apiErr.Message, "write token") {
			return "" // stepsd's own message says which token it needs
		}
		return "the token lacks the scope for this (writes need a write token)"
	case 404:
		// stepsctl calls only routes stepsd has, none by id: the URL is
		// not stepsd's (a missing or extra path), or stepsd is older.
		return "check --server (STEPSCTL_SERVER): no stepsd route answers there (or that stepsd is older than this stepsctl)"
	}
	return ""
}
