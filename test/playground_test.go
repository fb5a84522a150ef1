package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPlaygroundConversation runs `snowbot demo` and Microsoft 365 Agents
// Playground (Microsoft's Teams emulator), and drives the Playground's web UI
// in headless Chromium: incidents → sign-in card → the real OAuth round trip
// in the browser → the code → the incidents card → the create form → the new
// number. Screenshots of each step go to test/artifacts/playground.
func TestPlaygroundConversation(t *testing.T) {
	t.Parallel()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: bash test/run installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed: run bash test/run, or apt-get install -y chromium")
	}
	drive := nodeTool(t, "playground-drive.mjs") // skips when the Node tools are missing

	demoPort, playgroundPort := freePort(t), freePort(t)
	demo := launch(t, map[string]string{"PORT": strconv.Itoa(demoPort), "LOG_LEVEL": "warn"}, "demo")
	waitHTTP(t, demo.URL+"/healthz", demo)

	cli, _ := filepath.Abs(filepath.Join("js", "node_modules", "@microsoft", "m365agentsplayground", "cli.js"))
	pg := exec.Command("node", cli,
		"-e", fmt.Sprintf("http://localhost:%d/api/messages", demoPort), "-c", "msteams",
		"-p", strconv.Itoa(playgroundPort), "--disable-telemetry")
	pg.Dir = t.TempDir() // it writes its log under devTools/ in the working directory
	pg.Env = append(os.Environ(), "TEAMSAPPTESTER_BROWSER=none")
	pg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var pgOut syncBuffer
	pg.Stdout, pg.Stderr = &pgOut, &pgOut
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-pg.Process.Pid, syscall.SIGKILL)
		_ = pg.Wait()
		if t.Failed() {
			t.Logf("Playground output:\n%s", pgOut.String())
		}
	})
	playground := fmt.Sprintf("http://localhost:%d/", playgroundPort)
	waitHTTP(t, playground, nil)

	shots, _ := filepath.Abs(filepath.Join("artifacts", "playground"))
	_ = os.RemoveAll(shots)
	drive.Args = append(drive.Args, playground, shots)
	drive.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := drive.CombinedOutput()
	t.Logf("browser test:\n%s", out)
	if err != nil {
		t.Fatalf("the conversation in the Playground failed: %v (screenshots in %s)\nbot logs:\n%s", err, shots, demo.Logs())
	}
	for _, want := range []string{"sign-in-card", "servicenow-consent", "verification-code", "incidents-card", "create-form", "created-card", "approvals-card", "approved-card", "notification-card", "search-results", "search-shared-card", "card-with-date", "empty-search", "link-unfurl", "message-action-form", "message-action-result"} {
		if !strings.Contains(string(out), want+".png") {
			t.Errorf("no screenshot of %s", want)
		}
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, p *botProcess) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p != nil {
		t.Fatalf("%s did not answer:\n%s", url, p.Logs())
	}
	t.Fatalf("%s did not answer", url)
}
