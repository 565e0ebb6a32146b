// Package cliargs words, for stepsd and stepsctl alike, the refusal of
// positional arguments to a command that takes none. cobra.NoArgs says
// `unknown command "x" for "stepsctl list"`, which sends the reader
// looking for a subcommand that was never there, when the usual cause is a
// value given without its flag (stepsctl list api) or a value with a space
// left unquoted in a script (--status $STATUS).
package cliargs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// Refuse returns nil without args, else an error naming them; when cmd
// has the flag named flag, it says to give each kind (a "value", a
// "setting") after its flag, such as --flag placeholder.
func Refuse(cmd *cobra.Command, args []string, flag, kind, placeholder string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s takes no arguments, got %s", cmd.Name(), Quoted(args))
	if cmd.Flags().Lookup(flag) != nil {
		msg += fmt.Sprintf(": give each %s after its flag (such as --%s %s), and quote a value that holds spaces", kind, flag, placeholder)
	}
	return errors.New(msg)
}

// Quoted quotes each argument, so that an empty or spaced one shows.
func Quoted(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, " ")
}
