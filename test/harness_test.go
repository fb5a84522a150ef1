package test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"snowbot/auth/store/storetest"
	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// botBinary is the snowbot executable under test, built once for all tests.
var botBinary string

// The version and commit the tests' binary is stamped with.
const (
	testVersion = "9.9.9-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "snowbot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	botBinary = filepath.Join(dir, "snowbot")
	// Stamped as the image build stamps it, so tests see what operators see.
	args := []string{"build", "-o", botBinary, "-trimpath", "-ldflags", "-X main.version=" + testVersion + " -X main.commit=" + testCommit}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "..")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building snowbot:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output safely while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// output is where a process writes: a file of the test's, read back when a
// test looks, so that the test process spends nothing on what the bot logs.
type output struct{ f *os.File }

func newOutput(t testing.TB) *output {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &output{f: f}
}

func (o *output) String() string {
	b, _ := os.ReadFile(o.f.Name())
	return string(b)
}

// botProcess is a running snowbot.
type botProcess struct {
	t      testing.TB
	cmd    *exec.Cmd
	URL    string
	Dir    string
	stdout *output
	stderr *output
	done   chan struct{}
	err    error
	// channel is this process's fake channel client (see newChannel).
	channel *http.Client
}

// freePort finds a port that is free right now.
func freePort(t testing.TB) int { return storetest.FreePort(t) }

// randomKey is a fresh TOKEN_ENCRYPTION_KEY.
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// randomSecret is a fresh SERVICENOW_WEBHOOK_SECRET.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// baseEnv is a complete, valid production configuration against a fake Bot
// Framework and a fresh fake ServiceNow instance.
func baseEnv(t testing.TB, bf *fakebotframework.Server, port int) map[string]string {
	sn := fakeservicenow.New()
	t.Cleanup(sn.Close)
	return envFor(t, bf, sn, port)
}

// envFor is a complete, valid production configuration against these fakes.
func envFor(t testing.TB, bf *fakebotframework.Server, sn *fakeservicenow.Server, port int) map[string]string {
	public := fmt.Sprintf("http://127.0.0.1:%d", port)
	sn.Configure(func(s *fakeservicenow.Server) { s.RedirectURI = public + "/auth/callback" })
	return map[string]string{
		"PORT":                      strconv.Itoa(port),
		"PUBLIC_BASE_URL":           public,
		"MICROSOFT_APP_ID":          bf.AppID,
		"MICROSOFT_APP_PASSWORD":    bf.AppPassword,
		"MICROSOFT_APP_TYPE":        "SingleTenant",
		"MICROSOFT_APP_TENANT_ID":   bf.AppTenant,
		"BOT_OPENID_METADATA_URL":   bf.MetadataURL(),
		"BOT_TOKEN_ISSUER":          bf.Issuer,
		"BOT_LOGIN_URL":             bf.LoginURL(),
		"SERVICENOW_INSTANCE_URL":   sn.URL,
		"SERVICENOW_CLIENT_ID":      sn.ClientID,
		"SERVICENOW_CLIENT_SECRET":  sn.ClientSecret,
		"TOKEN_ENCRYPTION_KEY":      randomKey(),
		"SERVICENOW_WEBHOOK_SECRET": randomSecret(),
		"STORE_URL":                 "bolt://" + filepath.Join(t.TempDir(), "snowbot.db"),
		"LOG_LEVEL":                 "debug",
	}
}

// startBot runs snowbot serve with exactly env (plus PATH and HOME) in a fresh
// directory, and waits until it answers /healthz.
func startBot(t testing.TB, env map[string]string) *botProcess {
	t.Helper()
	p := launch(t, env, "serve")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("snowbot exited at start: %v\nstderr:\n%s\nstdout:\n%s", p.err, p.stderr, p.stdout)
		default:
		}
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("snowbot did not become healthy\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	return nil
}

// launch starts snowbot with these arguments without waiting for it.
func launch(t testing.TB, env map[string]string, args ...string) *botProcess {
	t.Helper()
	dir := env["SNOWBOT_TEST_DIR"]
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(botBinary, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		if k != "SNOWBOT_TEST_DIR" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	p := &botProcess{t: t, cmd: cmd, Dir: dir, stdout: newOutput(t), stderr: newOutput(t), done: make(chan struct{}), channel: newChannel()}
	if port := env["PORT"]; port != "" {
		p.URL = "http://127.0.0.1:" + port
	}
	cmd.Stdout, cmd.Stderr = p.stdout.f, p.stderr.f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("snowbot stdout:\n%s\nsnowbot stderr:\n%s", p.stdout, p.stderr)
		}
	})
	return p
}

// Logs is everything the bot wrote.
func (p *botProcess) Logs() string { return p.stdout.String() + p.stderr.String() }

// Stop sends SIGTERM and waits for the exit code.
func (p *botProcess) Stop(timeout time.Duration) (int, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("snowbot still running %s after SIGTERM", timeout)
	}
}

// Kill ends the process at once, like a crash.
func (p *botProcess) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits for the process to exit on its own.
func (p *botProcess) Wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return -1, false
	}
}

// post sends an activity with an optional bearer token and returns status and body.
func (p *botProcess) post(t testing.TB, token string, activity any) (int, string) {
	t.Helper()
	body, err := json.Marshal(activity)
	if err != nil {
		t.Fatal(err)
	}
	return p.postRaw(t, token, body)
}

func (p *botProcess) postRaw(t testing.TB, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/api/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.channel.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// newChannel is an HTTP client of the fake channel: it keeps connections to
// a bot open as the Bot Framework does, rather than dialling for every
// activity. Each bot process has its own, so that a test closing its idle
// connections touches no other test's requests.
func newChannel() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 128}}
}

// user is a Teams user of the fake tenant.
type user struct {
	ID, Name, ObjectID, Tenant, Conversation string
}

var (
	ada = user{ID: "29:1ada", Name: "Ada Lovelace", ObjectID: "a0a0a0a0-0000-4000-8000-00000000000a", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", Conversation: "a:1ada-personal"}
	bob = user{ID: "29:1bob", Name: "Bob Smith", ObjectID: "b0b0b0b0-0000-4000-8000-00000000000b", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", Conversation: "a:1bob-personal"}
)

var activitySeq struct {
	sync.Mutex
	n int
}

func nextActivityID() string {
	activitySeq.Lock()
	defer activitySeq.Unlock()
	activitySeq.n++
	return fmt.Sprintf("1%012d", activitySeq.n)
}

// activity is what Teams sends for u in their 1:1 chat with the bot.
func activity(bf *fakebotframework.Server, u user, kind string) map[string]any {
	return map[string]any{
		"type":       kind,
		"id":         nextActivityID(),
		"timestamp":  time.Now().UTC().Format(time.RFC3339Nano),
		"serviceUrl": bf.ServiceURL(),
		"channelId":  "msteams",
		"from":       map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.ObjectID},
		"conversation": map[string]any{
			"id": u.Conversation, "conversationType": "personal", "tenantId": u.Tenant,
		},
		"recipient":   map[string]any{"id": "28:" + bf.AppID, "name": "snowbot"},
		"channelData": map[string]any{"tenant": map[string]any{"id": u.Tenant}},
		"locale":      "en-US",
	}
}

func message(bf *fakebotframework.Server, u user, text string) map[string]any {
	a := activity(bf, u, "message")
	a["text"] = text
	return a
}

// waitFor polls until cond holds or fails the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// messagesTo returns the delivered messages (not typing indicators) of a conversation.
func messagesTo(bf *fakebotframework.Server, conversation string) []fakebotframework.Activity {
	return messagesOnly(bf.DeliveredTo(conversation))
}

// messagesOnly keeps the new messages of a list of activities: no typing
// indicators, no updates.
func messagesOnly(all []fakebotframework.Activity) []fakebotframework.Activity {
	var out []fakebotframework.Activity
	for _, a := range all {
		if a.Method == http.MethodPost && a.Type() == "message" {
			out = append(out, a)
		}
	}
	return out
}

// waitMessages waits until the conversation has received at least n messages and returns them.
func waitMessages(t testing.TB, bf *fakebotframework.Server, conversation string, n int) []fakebotframework.Activity {
	t.Helper()
	return waitMessagesWithin(t, bf, conversation, n, 15*time.Second)
}

// waitMessagesWithin is waitMessages with its own patience.
func waitMessagesWithin(t testing.TB, bf *fakebotframework.Server, conversation string, n int, d time.Duration) []fakebotframework.Activity {
	t.Helper()
	if !bf.WaitConversation(conversation, d, func(all []fakebotframework.Activity) bool { return len(messagesOnly(all)) >= n }) {
		t.Fatalf("timed out waiting for %d message(s) in %s", n, conversation)
	}
	return messagesTo(bf, conversation)
}
