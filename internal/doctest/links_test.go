package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// prose returns the lines of a markdown file outside its fenced blocks,
// each with its line number; lines inside a block are empty.
func prose(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	fenced := false
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			lines[i] = ""
			continue
		}
		if fenced {
			lines[i] = ""
		}
	}
	return lines
}

var heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)

// anchors returns the anchors GitHub gives the headings of a markdown
// file: lower case, every character but letters, marks, digits, "_",
// "-" and spaces dropped, spaces made "-", and a repeated one numbered
// ("-1", "-2").
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range prose(t, path) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, m[1])
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

var docLink = regexp.MustCompile(`\]\(([^)\s]+)\)|(?:href|src)="([^"]+)"`)

// TestDocsLinksResolve: every link of README.md and docs/*.md to a file of
// the repository names one that exists, and its #anchor a heading of that
// page (or of the same page), so that a new reader following them never
// lands on a missing page or at the top of the right one.
func TestDocsLinksResolve(t *testing.T) {
	root := repoRoot(t)
	cache := map[string]map[string]bool{}
	for _, name := range docFiles(t, root) {
		for n, line := range prose(t, filepath.Join(root, name)) {
			for _, m := range docLink.FindAllStringSubmatch(line, -1) {
				target := m[1] + m[2]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				file := filepath.Join(root, name)
				if path != "" {
					file = filepath.Join(root, filepath.Dir(name), path)
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s:%d links to %s, which does not exist", name, n+1, target)
					continue
				}
				if anchor == "" || !strings.HasSuffix(file, ".md") {
					continue
				}
				if cache[file] == nil {
					cache[file] = anchors(t, file)
				}
				if !cache[file][anchor] {
					t.Errorf("%s:%d links to %s, but %s has no heading with that anchor", name, n+1, target, filepath.Base(file))
				}
			}
		}
	}
}

var tableSeparator = regexp.MustCompile(`^\|\s*:?-{3,}`)

// TestDocsTablesAreWhole: every table row of README.md and docs/*.md
// follows a header and its separator or another row. A paragraph written
// between two rows ends the table there, and the rows after it show as a
// line of text full of "|" (api.md's list parameters format, order, limit
// and cursor did).
func TestDocsTablesAreWhole(t *testing.T) {
	root := repoRoot(t)
	for _, name := range docFiles(t, root) {
		lines := prose(t, filepath.Join(root, name))
		for i, line := range lines {
			if !strings.HasPrefix(line, "|") {
				continue
			}
			if i > 0 && strings.HasPrefix(lines[i-1], "|") {
				continue
			}
			if i+1 < len(lines) && tableSeparator.MatchString(lines[i+1]) {
				continue
			}
			t.Errorf("%s:%d: a table row that follows no table (a paragraph between rows ends the table): %.60s", name, i+1, line)
		}
	}
}
