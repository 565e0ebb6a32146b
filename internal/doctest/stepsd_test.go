package doctest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// stepsdCall is one way the docs start stepsd: a command line of a sh
// block, or a "$ " line of a transcript, with the variables it sets.
type stepsdCall struct {
	where block
	line  string
	env   []string // NAME=VALUE, set on the line or exported before it
	args  []string // after "stepsd"
	// shown is what a transcript shows the command printing; "" in sh
	// blocks.
	shown string
}

// envName is a variable assignment's name, as a shell reads it.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`)

// shellWords splits a command line as a shell would, for the plain lines
// the docs show: words, 'single' and "double" quotes. It reports false
// for what it cannot take literally: a placeholder (…, $VAR, $(…)), a
// redirection or a pipe.
func shellWords(line string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 || strings.Contains(line[i+1:i+1+j], "$") {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(line) && line[i+1] == '\n':
			i++
		case strings.IndexByte("$|<>;`", c) >= 0:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	for _, w := range words {
		if strings.Contains(w, "…") {
			return nil, false
		}
	}
	return words, true
}

// stepsdCalls returns the stepsd command lines of the docs that can be
// checked as they are written.
func stepsdCalls(t *testing.T) []stepsdCall {
	t.Helper()
	var out []stepsdCall
	for _, b := range blocks(t, "sh", "") {
		lines := strings.Split(strings.TrimSuffix(b.text, "\n"), "\n")
		var exported []string
		for i := 0; i < len(lines); i++ {
			first := i
			line := lines[i]
			if b.lang == "" {
				if !strings.HasPrefix(line, "$ ") {
					continue
				}
				line = strings.TrimPrefix(line, "$ ")
			}
			for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
				i++
				line += "\n" + lines[i]
			}
			line = strings.TrimSuffix(strings.TrimSpace(uncommented(line)), " &")
			words, ok := shellWords(line)
			if !ok || len(words) == 0 {
				continue
			}
			if words[0] == "export" {
				for _, w := range words[1:] {
					if envName.MatchString(w) {
						exported = append(exported, w)
					}
				}
				continue
			}
			env := slices.Clone(exported)
			for len(words) > 0 && envName.MatchString(words[0]) {
				env = append(env, words[0])
				words = words[1:]
			}
			switch {
			case len(words) > 0 && words[0] == "stepsd":
				words = words[1:]
			case len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./cmd/stepsd":
				words = words[3:]
			default:
				continue
			}
			c := stepsdCall{where: b, line: line, env: env, args: words}
			c.where.line += first
			if b.lang == "" {
				var shown []string
				for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "$ ") {
					i++
					shown = append(shown, lines[i])
				}
				c.shown = strings.Join(shown, "\n")
			}
			out = append(out, c)
		}
	}
	return out
}

// TestDocsStepsdCommands runs every stepsd command line of README.md and
// docs/*.md, so that a flag, a variable or a value the docs give is one
// stepsd takes, and a transcript of "stepsd config" shows what it prints.
// A line that would serve or migrate is checked with "stepsd config" and
// the same flags and variables: they are parsed and validated as for
// serving, and nothing is opened.
func TestDocsStepsdCommands(t *testing.T) {
	calls := stepsdCalls(t)
	if len(calls) < 10 {
		t.Fatalf("found %d stepsd command lines: the test is not looking where the docs are", len(calls))
	}
	bin := filepath.Join(t.TempDir(), "stepsd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/stepsd")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build stepsd: %v\n%s", err, out)
	}
	// stepsd's own settings come only from the line: none from this
	// environment, no configs/stepsd.yaml in the working directory.
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STEPSD_") && !strings.HasPrefix(kv, "OTEL_") {
			base = append(base, kv)
		}
	}
	work := t.TempDir()
	for _, c := range calls {
		args := c.args
		// 0, or 1 for a health check that finds no stepsd listening; 2 is
		// a usage error.
		codes := []int{0}
		sub := ""
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			sub = args[0]
		}
		env := slices.Clone(base)
		switch sub {
		case "", "serve", "migrate":
			rest := args
			if sub != "" {
				rest = args[1:]
			}
			args = append([]string{"config"}, rest...)
		case "healthcheck":
			// It asks a port where nothing listens, unless the line
			// names one.
			codes = []int{0, 1}
			env = append(env, "STEPSD_LISTEN=127.0.0.1:1")
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = append(env, c.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %s: %v", c.where, c.line, err)
		}
		if !slices.Contains(codes, code) {
			t.Errorf("%s: %s\nexit %d (ran stepsd %s), want %v:\n%s", c.where, c.line, code, strings.Join(args, " "), codes, stderr.String())
			continue
		}
		if sub == "config" && c.shown != "" {
			if got := strings.TrimSuffix(stdout.String(), "\n"); got != c.shown {
				t.Errorf("%s: %s\nprints:\n%s\nthe docs show:\n%s", c.where, c.line, got, c.shown)
			}
		}
	}
	t.Logf("%d stepsd command lines run", len(calls))
}
