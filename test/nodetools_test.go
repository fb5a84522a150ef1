package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// nodeTool returns the command that runs a script of test/js with Node, or
// skips the test when the tools are not installed (bash test/run installs
// them; in CI their absence is a failure).
func nodeTool(t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	abs, _ := filepath.Abs(filepath.Join("js", script))
	if _, err := os.Stat(filepath.Join("js", "node_modules")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("test/js/node_modules is missing: bash test/run installs it with npm ci")
		}
		t.Skip("test/js/node_modules is missing: run bash test/run (or npm ci in test/js) first")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	return exec.Command("node", append([]string{abs}, args...)...)
}
