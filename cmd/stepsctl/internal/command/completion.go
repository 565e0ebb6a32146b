package command

import (
	"github.com/spf13/cobra"
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

// NewCmdCompletion returns the completion command.
func NewCmdCompletion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long:  completionLong,
		Example: `  source <(stepsctl completion bash)
  stepsctl completion zsh > "${fpath[1]}/_stepsctl"`,
		ValidArgs:   []string{"bash", "zsh", "fish", "powershell"},
		Args:        usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
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
