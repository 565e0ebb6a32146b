package doctest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// block is one fenced code block of a markdown file.
type block struct {
	file string // relative to the repository root
	line int    // line of the first code line
	lang string
	text string
}

func (b block) String() string { return b.file + ":" + strconv.Itoa(b.line) }

// repoRoot is the repository root, found from this file so the tests run
// from any directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// docFiles are the markdown files whose examples are kept true.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		files = append(files, rel)
	}
	return files
}

// blocks returns the fenced blocks of the given languages in the doc files.
func blocks(t *testing.T, langs ...string) []block {
	t.Helper()
	root := repoRoot(t)
	var out []block
	for _, name := range docFiles(t, root) {
		f, err := os.Open(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var cur *block
		var text strings.Builder
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			switch {
			case cur == nil && strings.HasPrefix(trimmed, "```"):
				cur = &block{file: name, line: n + 1, lang: strings.TrimPrefix(trimmed, "```")}
				text.Reset()
			case cur != nil && trimmed == "```":
				cur.text = text.String()
				for _, l := range langs {
					if cur.lang == l {
						out = append(out, *cur)
					}
				}
				cur = nil
			case cur != nil:
				text.WriteString(line)
				text.WriteByte('\n')
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
