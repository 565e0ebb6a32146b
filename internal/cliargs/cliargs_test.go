package cliargs_test

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/internal/cliargs"
)

// A flag error names the flag meant, by spelling or by synonym, and only
// when one is close: an unrelated name gets pflag's message as it is.
func TestSuggestFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--componnet", "api"}, "unknown flag: --componnet; did you mean --component?"},
		{[]string{"--comp", "api"}, "unknown flag: --comp; did you mean --component?"},
		{[]string{"--environment=production"}, "unknown flag: --environment; did you mean --env?"},
		{[]string{"--lsiten", ":8080"}, "unknown flag: --lsiten; did you mean --listen?"},
		{[]string{"--port", "8080"}, "unknown flag: --port; did you mean --listen?"},
		{[]string{"--xyzzy"}, "unknown flag: --xyzzy"},
		{[]string{"--env"}, "flag needs an argument: --env"},
	} {
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }, SilenceErrors: true, SilenceUsage: true}
		cmd.Flags().String("component", "", "")
		cmd.Flags().String("env", "", "")
		cmd.Flags().String("listen", "", "")
		cmd.SetFlagErrorFunc(cliargs.SuggestFlag)
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && tc.want == "unknown flag: --xyzzy" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%v: suggests a flag far from the one typed: %v", tc.args, err)
		}
	}
}
