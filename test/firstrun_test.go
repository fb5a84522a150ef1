package test

// The first five minutes at the command line: what a newcomer meets when
// they copy .env.example, ask for help, or start the demo twice.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runOnce runs snowbot with args in dir with exactly env and returns its exit
// code and everything it wrote.
func runOnce(t *testing.T, dir string, env map[string]string, args ...string) (int, string) {
	t.Helper()
	env["SNOWBOT_TEST_DIR"] = dir
	p := launch(t, env, args...)
	code, ok := p.Wait(30 * time.Second)
	if !ok {
		t.Fatalf("snowbot %v did not finish:\n%s", args, p.Logs())
	}
	return code, p.Logs()
}

// withSampleEnv is a directory holding .env.example copied to .env, as the
// README once told a newcomer to do.
func withSampleEnv(t *testing.T) string {
	t.Helper()
	sample, err := os.ReadFile(filepath.Join("..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".env"), sample, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The sample settings of .env.example start nothing: serve names each
// placeholder and points to demo and doctor; doctor fails each; manifest
// will not write a package for the placeholder instance.
func TestTheSamplePlaceholdersAreRefused(t *testing.T) {
	t.Parallel()
	dir := withSampleEnv(t)
	code, out := runOnce(t, dir, map[string]string{}, "serve")
	if code == 0 {
		t.Fatalf("serve started with the placeholders:\n%s", out)
	}
	mustContain(t, "serve", out, "SERVICENOW_INSTANCE_URL: is still the sample placeholder", "SERVICENOW_CLIENT_ID: is still the sample placeholder",
		"SERVICENOW_CLIENT_SECRET: is still the sample placeholder", "snowbot demo", "snowbot doctor")
	mustNotContain(t, "serve", out, "snowbot listening")

	code, out = runOnce(t, dir, map[string]string{}, "doctor")
	if code == 0 {
		t.Fatalf("doctor passed the placeholders:\n%s", out)
	}
	for _, name := range []string{"SERVICENOW_INSTANCE_URL", "SERVICENOW_CLIENT_ID", "SERVICENOW_CLIENT_SECRET"} {
		if failedLine(out, "setting "+name+": is still the sample placeholder") == "" {
			t.Errorf("doctor does not fail %s:\n%s", name, out)
		}
	}
	mustNotContain(t, "doctor", out, "well-formed")

	code, out = runOnce(t, dir, map[string]string{"MICROSOFT_APP_ID": "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c", "PUBLIC_BASE_URL": "https://snowbot.example.com"},
		"manifest", "-o", filepath.Join(dir, "app.zip"))
	if code == 0 {
		t.Fatalf("manifest wrote a package for the placeholder instance:\n%s", out)
	}
	mustContain(t, "manifest", out, "SERVICENOW_INSTANCE_URL", "sample placeholder")
	if _, err := os.Stat(filepath.Join(dir, "app.zip")); err == nil {
		t.Error("a package was written")
	}
}

// Settings that cannot work stop serve at start, one line each.
func TestSettingsThatCannotWorkStopServe(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	for _, cmd := range []string{"serve", "doctor"} {
		for _, c := range []struct {
			name, value, want string
		}{
			{"PUBLIC_BASE_URL", "/api/messages", "drop the path /api/messages"},
			{"SERVICENOW_INSTANCE_URL", "/now/nav/ui/home", "drop the path /now/nav/ui/home"},
			{"SERVICENOW_INSTANCE_URL", "?id=1", "drop the query ?id=1"},
		} {
			env := baseEnv(t, bf, freePort(t))
			env[c.name] += c.value
			code, out := runOnce(t, t.TempDir(), env, cmd)
			if code == 0 || !strings.Contains(out, c.name+": must be the site's address alone") || !strings.Contains(out, c.want) {
				t.Errorf("%s with %s=%s: exit %d\n%s", cmd, c.name, env[c.name], code, out)
			}
		}
		port := freePort(t)
		env := map[string]string{"PORT": strconv.Itoa(port + 1), "PUBLIC_BASE_URL": "http://localhost:" + strconv.Itoa(port),
			"SERVICENOW_INSTANCE_URL": "https://acme.service-now.com", "SERVICENOW_CLIENT_ID": "id", "SERVICENOW_CLIENT_SECRET": "secret",
			"TOKEN_ENCRYPTION_KEY": randomKey()}
		code, out := runOnce(t, t.TempDir(), env, cmd)
		if code == 0 || !strings.Contains(out, "PUBLIC_BASE_URL: http://localhost:"+strconv.Itoa(port)+" is this machine, but the bot listens on PORT="+strconv.Itoa(port+1)) {
			t.Errorf("%s with a port that PUBLIC_BASE_URL does not name: exit %d\n%s", cmd, code, out)
		}
	}
}

// Every command explains itself with --help (or -h) and exits 0; help lists them.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "demo", "doctor", "manifest", "version"} {
		for _, flag := range []string{"--help", "-h"} {
			code, out := runOnce(t, t.TempDir(), map[string]string{}, cmd, flag)
			if code != 0 || !strings.Contains(out, "usage: snowbot "+cmd) {
				t.Errorf("snowbot %s %s: exit %d\n%s", cmd, flag, code, out)
			}
		}
	}
	_, out := runOnce(t, t.TempDir(), map[string]string{}, "manifest", "--help")
	mustContain(t, "manifest --help", out, "-o", "snowbot-teams-app.zip")
	code, out := runOnce(t, t.TempDir(), map[string]string{}, "help")
	if code != 0 {
		t.Errorf("help: exit %d", code)
	}
	mustContain(t, "help", out, "serve", "demo", "manifest", "doctor", "version")
	if code, _ := runOnce(t, t.TempDir(), map[string]string{}, "serve", "--nonsense"); code != 2 {
		t.Errorf("an unknown flag: exit %d, want 2", code)
	}
}

// The demo on a busy port says so in one line, before any banner.
func TestTheDemoOnABusyPortSaysSoInOneLine(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	code, out := runOnce(t, t.TempDir(), map[string]string{"PORT": strconv.Itoa(port)}, "demo")
	if code == 0 {
		t.Fatalf("the demo started on a busy port:\n%s", out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "PORT "+strconv.Itoa(port)+" is in use") {
		t.Errorf("want one line naming PORT, got:\n%s", out)
	}
}

// `go run . demo` runs the demo as its child; when go run is stopped with
// SIGTERM (or dies), the demo stops too, instead of holding its port.
func TestTheDemoStopsWithTheProcessThatStartedIt(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	parent := exec.Command("sh", "-c", botBinary+" demo & echo $! > "+pidFile+"; wait")
	parent.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "PORT=" + strconv.Itoa(port), "LOG_LEVEL=warn"}
	parent.Dir = dir
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/healthz", nil)
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	_ = parent.Process.Kill() // as go run ends on SIGTERM, leaving its child
	_ = parent.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for running(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatal("the demo kept running after the process that started it ended")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running reports whether a process lives (an exited one that nobody reaped
// yet, a zombie, does not).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}
