package command_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/steps-dev/steps/cmd/stepsctl/internal/command"
)

// checkParsed parses cli with the command newCmd builds, and compares the
// options its run function receives with want once clear drops what the
// comparison must ignore (the Factory).
func checkParsed[O any](t *testing.T, newCmd func(*command.Factory, func(context.Context, *O) error) *cobra.Command, cli string, clear func(*O), want O) {
	t.Helper()
	var got *O
	cmd := newCmd(newFactory(t), func(_ context.Context, o *O) error {
		got = o
		return nil
	})
	cmd.SetArgs(strings.Fields(cli))
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	clear(got)
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("options\ngot  %+v\nwant %+v", *got, want)
	}
}
