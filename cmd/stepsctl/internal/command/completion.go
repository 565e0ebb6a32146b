package command

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/internal/cliargs"
	"github.com/steps-dev/steps/pkg/client"
	"github.com/steps-dev/steps/pkg/model"
)

const completionLong = `Print a shell completion script for stepsctl.

bash (needs the bash-completion package):
  source <(stepsctl completion bash)                  # this shell
  stepsctl completion bash > /etc/bash_completion.d/stepsctl

zsh:
  stepsctl completion zsh > "${fpath[1]}/_stepsctl"   # then start a new shell

fish:
  stepsctl completion fish > ~/.config/fish/completions/stepsctl.fish

PowerShell:
  stepsctl completion powershell | Out-String | Invoke-Expression`

// completionArgs takes one shell among ValidArgs, and names them when the
// shell is missing or unknown.
func completionArgs(cmd *cobra.Command, args []string) error {
	last := len(cmd.ValidArgs) - 1
	shells := strings.Join(cmd.ValidArgs[:last], ", ") + " or " + cmd.ValidArgs[last]
	switch {
	case len(args) == 0:
		return usageErrorf("completion needs the shell to complete for: %s", shells)
	case len(args) > 1:
		return usageErrorf("completion takes one shell (%s), got %s", shells, cliargs.Quoted(args))
	case !slices.Contains(cmd.ValidArgs, args[0]):
		return usageErrorf("completion knows no shell %q; use %s", args[0], shells)
	}
	return nil
}

// NewCmdCompletion returns the completion command.
func NewCmdCompletion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long:  completionLong,
		Example: `  source <(stepsctl completion bash)
  stepsctl completion zsh > "${fpath[1]}/_stepsctl"`,
		ValidArgs:   []string{"bash", "zsh", "fish", "powershell"},
		Args:        completionArgs,
		Annotations: map[string]string{skipConfig: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.IO.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}

// completionTimeout bounds a completion's question to the server: a TAB
// that hangs is worse than one that offers nothing.
const completionTimeout = 2 * time.Second

// valueFlags are the flags whose values complete from the server, and the
// field of GET /v1/values each asks for.
var valueFlags = map[string]string{
	"component": "component",
	"env":       "environment",
	"owner":     "owner",
	"status":    "status",
}

// completeValuesFromServer makes --component, --env, --owner and --status
// complete, on every command that has them, from the values the server has
// seen (GET /v1/values). Any failure (no server, a bad token, a slow
// answer) completes nothing and says nothing: completion must never print
// an error into the user's command line.
func completeValuesFromServer(f *Factory, root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for flag, field := range valueFlags {
			if c.LocalFlags().Lookup(flag) != nil {
				_ = c.RegisterFlagCompletionFunc(flag, serverValues(f, field))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func serverValues(f *Factory, field string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		// Completion runs no PersistentPreRunE: read --server, --token and
		// the config file here.
		if err := f.loadConfig(cmd); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.client(f.Config.Server, client.NoRetry(), completionTimeout)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil { // cobra sets none on the command being completed
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		values, err := c.Values(ctx, field, prefix, model.DefaultValuesLimit)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
