package doctest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// scopeParams is what a fragment may use without declaring it: the names a
// reader of the docs has at hand in the function the fragment is pasted
// into. A fragment that declares one of them again shadows it.
const scopeParams = "ctx context.Context, c *client.Client, err error, since time.Time"

// knownImports are the packages a fragment may use without importing them,
// as a reader's editor adds them; a fragment's own import block must be
// used in full, as the compiler would ask of a pasted program.
var knownImports = map[string]string{
	"context": "context",
	"errors":  "errors",
	"fmt":     "fmt",
	"io":      "io",
	"log":     "log",
	"os":      "os",
	"time":    "time",
	"http":    "net/http",
	"client":  "github.com/steps-dev/steps/pkg/client",
	"model":   "github.com/steps-dev/steps/pkg/model",
}

var importBlock = regexp.MustCompile(`(?s)^\s*import\s*(\([^)]*\)|"[^"]*")\s*\n`)

// goSource turns a snippet into a Go file. A snippet that starts with
// "package" is a program and is compiled as it stands. Any other is a
// fragment: its import block stays as written, and its statements become
// the body of a function that returns an error. //line directives point
// compiler errors at the markdown line.
func goSource(b block, pkg string, n int) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(b.text), "package ") {
		return fmt.Sprintf("//line %s:%d\n%s", b.file, b.line, b.text), nil
	}
	body := b.text
	bodyLine := b.line
	var imports []string
	if m := importBlock.FindStringSubmatch(body); m != nil {
		for _, q := range regexp.MustCompile(`"[^"]+"`).FindAllString(m[1], -1) {
			imports = append(imports, strings.Trim(q, `"`))
		}
		bodyLine += strings.Count(m[0], "\n")
		body = body[len(m[0]):]
	}
	// Parse the fragment once to learn which known packages it names, so
	// only those are imported (an unused import does not compile).
	probe := "package p\nfunc f() {\n" + body + "\n}\n"
	f, err := parser.ParseFile(token.NewFileSet(), b.String(), probe, parser.SkipObjectResolution)
	if err != nil {
		return "", fmt.Errorf("%s: not Go statements: %v", b, err)
	}
	ast.Inspect(f, func(node ast.Node) bool {
		if sel, ok := node.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if path, ok := knownImports[id.Name]; ok && !slices.Contains(imports, path) {
					imports = append(imports, path)
				}
			}
		}
		return true
	})
	for _, path := range []string{"context", knownImports["client"], "time"} {
		if !slices.Contains(imports, path) {
			imports = append(imports, path)
		}
	}
	var src strings.Builder
	fmt.Fprintf(&src, "package %s\n\nimport (\n", pkg)
	for _, path := range imports {
		fmt.Fprintf(&src, "\t%q\n", path)
	}
	fmt.Fprintf(&src, ")\n\nfunc snippet%d(%s) error {\n\t{\n//line %s:%d\n%s\n\t}\n\treturn nil\n}\n", n, scopeParams, b.file, bodyLine, body)
	return src.String(), nil
}

// TestDocsGoSnippetsCompile builds every ```go block of README.md and
// docs/*.md in a new module that requires this one, as a user starting a
// program of their own would.
func TestDocsGoSnippetsCompile(t *testing.T) {
	snippets := blocks(t, "go")
	if len(snippets) == 0 {
		t.Fatal("no Go snippets found: the test is not looking where the docs are")
	}
	root, err := filepath.Abs(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := fmt.Sprintf("module example.com/docsnippets\n\ngo 1.26\n\nrequire github.com/steps-dev/steps v0.0.0\n\nreplace github.com/steps-dev/steps => %s\n", root)
	mustWrite(t, filepath.Join(dir, "go.mod"), gomod)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "go.sum"), string(sum))
	for i, b := range snippets {
		// One package per snippet, so a program's main and the fragments'
		// names never clash.
		pkg := fmt.Sprintf("s%d", i)
		src, err := goSource(b, pkg, i)
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(b.text), "package ") {
			pkg = "main" + pkg
		}
		mustWrite(t, filepath.Join(dir, pkg, "snippet.go"), src)
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = dir
	// Offline: the snippets may use only what this module already needs.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the docs' Go snippets do not compile (%v):\n%s", err, out)
	}
	t.Logf("%d Go snippets compile", len(snippets))
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
