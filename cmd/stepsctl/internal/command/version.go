package command

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/internal/version"
)

// NewCmdVersion returns the version command.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of stepsctl",
		Long: `Print the version of stepsctl, the commit it was built from and the Go
release that built it, in the same format as "stepsd version".`,
		Example: `  $ stepsctl version
  stepsctl 1.4.2 (commit 0123456789ab, go1.26.8, linux/amd64)`,
		Args:        noArgs,
		Annotations: map[string]string{skipConfig: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(f.IO.Out, version.String("stepsctl", f.Version))
			return err
		},
	}
}
