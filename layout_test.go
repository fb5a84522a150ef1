package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The dependency rules of the layout (README, "How the code is laid out"):
// the binary links no test code, and the Teams transport knows nothing of
// ServiceNow or of signing in.
func TestDependenciesPointOneWay(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps(".") {
		if strings.HasPrefix(d, "snowbot/test") || d == "net/http/httptest" {
			t.Errorf("the snowbot binary links %s", d)
		}
	}
	for _, pkg := range []string{"./bot", "./auth/...", "./servicenow"} {
		for _, d := range deps(pkg) {
			bad := (pkg == "./bot" && (strings.HasPrefix(d, "snowbot/auth") || strings.HasPrefix(d, "snowbot/servicenow"))) ||
				(pkg == "./auth/..." && strings.HasPrefix(d, "snowbot/bot")) ||
				(pkg == "./servicenow" && (strings.HasPrefix(d, "snowbot/bot") || strings.HasPrefix(d, "snowbot/auth")))
			if bad {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
	// Direct imports: the conversation reaches the store only through what
	// wire.go hands it; the pages render what auth reports and no more.
	for pkg, may := range map[string]func(string) bool{
		"./bot/chat":  func(d string) bool { return !strings.HasPrefix(d, "snowbot/auth/store") },
		"./bot/pages": func(d string) bool { return !strings.HasPrefix(d, "snowbot/") || d == "snowbot/auth" },
	} {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, d := range strings.Fields(string(out)) {
			if !may(d) {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
}

// One capability per file in the conversation, and functions a reader can
// hold in their head: no file of bot/chat over 450 lines, and no function
// of the code the binary links over 80 lines.
func TestFilesAndFunctionsStayReadable(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, _ := os.Getwd()
	fset := token.NewFileSet()
	for _, dir := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dir, root) {
			continue // a library
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, file)
			if strings.HasPrefix(rel, filepath.Join("bot", "chat")+string(filepath.Separator)) && filepath.Dir(rel) == filepath.Join("bot", "chat") {
				if n := strings.Count(string(src), "\n"); n > 450 {
					t.Errorf("%s has %d lines: one capability per file, at most 450", rel, n)
				}
			}
			f, err := parser.ParseFile(fset, file, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > 80 {
						t.Errorf("%s: %s is %d lines long, over 80", rel, fd.Name.Name, n)
					}
				}
			}
		}
	}
}
