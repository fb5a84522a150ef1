package main

import (
	"os/exec"
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
}
