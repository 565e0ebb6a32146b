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
	"github.com/spf13/pflag"
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

// flagSynonyms are names a new user types for a flag that has another
// name here, from the API's parameters or from other tools: the curl
// examples say environment=, other servers take --port or --dsn.
var flagSynonyms = map[string][]string{
	"environment": {"env"},
	"step":        {"status"},
	"status":      {"step"},
	"port":        {"listen"},
	"addr":        {"listen"},
	"address":     {"listen"},
	"dsn":         {"db"},
	"database":    {"db"},
	"token":       {"tokens"},
	"url":         {"server"},
	"host":        {"server", "listen"},
	"bind":        {"listen"},
	"endpoint":    {"server"},
	"format":      {"output"},
	"json":        {"output"},
	"csv":         {"output"},
	"debug":       {"log-level"},
	"verbose":     {"log-level"},
}

// SuggestFlag adds to pflag's "unknown flag: --NAME" the flag of cmd that
// was most likely meant ("did you mean --component?"), by spelling or by
// synonym; cobra suggests commands but never flags, so a typo such as
// --componnet or the API's --environment got no hint. Any other error is
// returned as it is.
func SuggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok || cmd == nil {
		return err
	}
	name, _, _ = strings.Cut(name, "=")
	for _, s := range flagSynonyms[name] {
		if cmd.Flags().Lookup(s) != nil {
			return fmt.Errorf("%w; did you mean --%s?", err, s)
		}
	}
	best, bestDist := "", 3 // at most 2 edits, as cobra's command suggestions
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if len(name) >= 3 && strings.HasPrefix(f.Name, name) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w; did you mean --%s?", err, best)
}

// editDistance is the Levenshtein distance between a and b, counting an
// exchange of two neighbouring letters (componnet, lsiten) as one edit.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
