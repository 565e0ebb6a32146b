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

// RefuseUnknownHelpTopic makes "help TOPIC" refuse a TOPIC that names no
// command of root, with the error wrap makes of it (the program's usage
// error, exit 2), as "root TOPIC" itself is refused. cobra's help command
// printed the root's help for it and exited 0, so a mistyped command read
// as an answer, and a script checking "help CMD" learnt nothing.
func RefuseUnknownHelpTopic(root *cobra.Command, wrap func(error) error) {
	root.InitDefaultHelpCmd()
	help, _, err := root.Find([]string{"help"})
	if err != nil || help == root || help.Run == nil {
		return
	}
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := root.Find(args)
		if err != nil || target == nil || len(rest) > 0 {
			msg := "unknown help topic " + strconv.Quote(strings.Join(args, " "))
			if target == root && len(rest) > 0 {
				if s := root.SuggestionsFor(rest[0]); len(s) > 0 {
					msg += fmt.Sprintf("; did you mean %q?", s[0])
				}
			}
			return wrap(errors.New(msg))
		}
		show(c, args)
		return nil
	}
}

// HelpOwner is the command whose --help a usage error of cmd points to:
// cmd, but the root for its help command, whose own help says nothing of
// the commands.
func HelpOwner(cmd *cobra.Command) *cobra.Command {
	if cmd != nil && cmd.HasParent() && cmd.Name() == "help" && cmd.Parent() == cmd.Root() {
		return cmd.Root()
	}
	return cmd
}
