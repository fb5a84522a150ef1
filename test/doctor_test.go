package test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"snowbot/test/fakeservicenow"
)

// doctor runs snowbot doctor with env and returns its exit code and output.
func doctor(t *testing.T, env map[string]string) (int, string) {
	t.Helper()
	p := launch(t, env, "doctor")
	code, ok := p.Wait(60 * time.Second)
	if !ok {
		t.Fatalf("doctor did not finish:\n%s", p.Logs())
	}
	return code, p.Logs()
}

// failedLine returns the ✗ line (with its fix) that mentions what.
func failedLine(out, what string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "✗") && strings.Contains(l, what) && i+1 < len(lines) {
			return l + "\n" + lines[i+1]
		}
	}
	return ""
}

func TestDoctorPassesAGoodConfiguration(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	code, out := doctor(t, env)
	if code != 0 {
		t.Fatalf("doctor exited %d:\n%s", code, out)
	}
	mustContain(t, "doctor", out, "✓ settings", "✓ redirect URI: "+env["PUBLIC_BASE_URL"]+"/auth/callback", "✓ Bot Framework OpenID metadata",
		"✓ bot token", "✓ ServiceNow accepts SERVICENOW_CLIENT_ID", "the store file", "All ")
	mustNotContain(t, "doctor", out, env["SERVICENOW_CLIENT_SECRET"], bf.AppPassword, env["TOKEN_ENCRYPTION_KEY"])
}

func TestDoctorNamesTheFixForEachMisconfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(t *testing.T, env map[string]string, sn *fakeservicenow.Server)
		about string // the failed check
		fix   string // the fix line must name this
	}{
		{"wrong bot secret", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["MICROSOFT_APP_PASSWORD"] = "the-secret-id-not-its-value"
		}, "bot token", "MICROSOFT_APP_PASSWORD"},
		{"wrong tenant", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["MICROSOFT_APP_TENANT_ID"] = "11111111-2222-3333-4444-555555555555"
		}, "bot token", "MICROSOFT_APP_TENANT_ID"},
		{"wrong ServiceNow secret", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["SERVICENOW_CLIENT_SECRET"] = "not-the-secret"
		}, "refuses the client credentials both", "SERVICENOW_CLIENT_SECRET"},
		{"wrong client auth style", func(t *testing.T, env map[string]string, sn *fakeservicenow.Server) {
			sn.Configure(func(s *fakeservicenow.Server) { s.ClientAuth = "basic" })
		}, "accepts them as basic", "SERVICENOW_CLIENT_AUTH=basic"},
		{"unreachable instance", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["SERVICENOW_INSTANCE_URL"] = "http://127.0.0.1:1"
		}, "cannot be reached", "SERVICENOW_INSTANCE_URL"},
		{"http public URL", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["PUBLIC_BASE_URL"] = "http://snowbot.example.com"
		}, "PUBLIC_BASE_URL", "PUBLIC_BASE_URL"},
		{"malformed key", func(t *testing.T, env map[string]string, _ *fakeservicenow.Server) {
			env["TOKEN_ENCRYPTION_KEY"] = "c2hvcnQ="
		}, "TOKEN_ENCRYPTION_KEY", "TOKEN_ENCRYPTION_KEY"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bf := newBotFramework(t)
			sn := fakeservicenow.New()
			t.Cleanup(sn.Close)
			env := envFor(t, bf, sn, freePort(t))
			c.edit(t, env, sn)
			code, out := doctor(t, env)
			if code == 0 {
				t.Fatalf("doctor passed:\n%s", out)
			}
			line := failedLine(out, c.about)
			if line == "" || !strings.Contains(line, "fix:") || !strings.Contains(line, c.fix) {
				t.Fatalf("no ✗ line about %q with a fix naming %s:\n%s", c.about, c.fix, out)
			}
			if strings.Contains(out, "panic") {
				t.Fatal(out)
			}
		})
	}
}

func TestDoctorFindsAKeyThatDoesNotOpenTheStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	if _, err := w.bot.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	code, out := doctor(t, env)
	if code != 0 || !strings.Contains(out, "✓ TOKEN_ENCRYPTION_KEY opens the stored sign-ins") {
		t.Fatalf("the right key: %d\n%s", code, out)
	}
	old := env["TOKEN_ENCRYPTION_KEY"]
	env["TOKEN_ENCRYPTION_KEY"] = randomKey()
	code, out = doctor(t, env)
	if line := failedLine(out, "TOKEN_ENCRYPTION_KEY does not open"); code == 0 || !strings.Contains(line, "TOKEN_ENCRYPTION_KEY_PREVIOUS") {
		t.Fatalf("a new key without the old one passed:\n%s", out)
	}
	// Rotating properly: the old key as previous.
	env["TOKEN_ENCRYPTION_KEY_PREVIOUS"] = old
	if code, out = doctor(t, env); code != 0 {
		t.Fatalf("rotation with TOKEN_ENCRYPTION_KEY_PREVIOUS: %d\n%s", code, out)
	}
	// And the bot still knows Ada after the rotation.
	w.env = env
	w.bot = startBot(t, env)
	w.say(ada, "incidents")
	if reply := w.next(ada); signInURL(reply) != "" {
		t.Fatal("key rotation signed Ada out")
	}
}

func TestDoctorRefusesTheSampleKeyOutsideDevelopment(t *testing.T) {
	t.Parallel()
	const sample = "c25vd2JvdC1zYW1wbGUta2V5LWRvLW5vdC11c2UtaXQ=" // the key of .env.example
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["TOKEN_ENCRYPTION_KEY"] = sample
	code, out := doctor(t, env)
	if line := failedLine(out, "TOKEN_ENCRYPTION_KEY"); code == 0 || !strings.Contains(line, "fix: set TOKEN_ENCRYPTION_KEY to the output of: openssl rand -base64 32") {
		t.Fatalf("the sample key passed, or without the fix:\n%s", out)
	}
	// In development mode it is accepted, with a note.
	env["MICROSOFT_APP_ID"] = ""
	code, out = doctor(t, env)
	if code != 0 || !strings.Contains(out, "• TOKEN_ENCRYPTION_KEY is the public sample key") {
		t.Fatalf("development mode with the sample key: %d\n%s", code, out)
	}
}

func TestDoctorKeepsTheRedisClientsOwnLinesOut(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["STORE_URL"] = "redis://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/0" // nothing listens there
	code, out := doctor(t, env)
	if code == 0 || failedLine(out, "does not answer") == "" {
		t.Fatalf("an unreachable Redis passed:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "redis:") {
			t.Errorf("doctor printed the Redis client's own line: %s", line)
		}
	}
}

// The binary says which build it is: snowbot version, and /healthz (which the
// deployment waits on to know the new build answers).
func TestTheBuildIsShownByVersionAndHealthz(t *testing.T) {
	t.Parallel()
	p := launch(t, map[string]string{}, "version")
	if code, _ := p.Wait(10 * time.Second); code != 0 {
		t.Fatalf("snowbot version exited %d", code)
	}
	mustContain(t, "snowbot version", p.Logs(), "snowbot "+testVersion+" (commit "+testCommit)
	w := newWorld(t, nil)
	_, body := browse(t, w.bot.URL+"/healthz")
	mustContain(t, "/healthz", body, `"version":"`+testVersion+`"`, `"commit":"`+testCommit+`"`)
}

// With telemetry on, doctor checks that the OTLP receiver takes traces, with
// the headers the exporter would send; without, it says telemetry is off.
func TestDoctorChecksTheTelemetryReceiver(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	_, out := doctor(t, env)
	mustContain(t, "telemetry off", out, "• telemetry: off")

	var gotHeader atomic.Value // the header the receiver was sent
	gotHeader.Store("")
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader.Store(r.Header.Get("Api-Key"))
		if r.URL.Path != "/v1/traces" || r.Header.Get("Api-Key") != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(rcv.Close)
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = rcv.URL
	env["OTEL_EXPORTER_OTLP_HEADERS"] = "api-key=s3cret"
	code, out := doctor(t, env)
	if code != 0 || gotHeader.Load() != "s3cret" {
		t.Fatalf("doctor exited %d (header %q):\n%s", code, gotHeader.Load(), out)
	}
	mustContain(t, "telemetry on", out, "✓ telemetry: the OTLP receiver at "+rcv.URL+"/v1/traces accepts traces")
	mustNotContain(t, "telemetry on", out, "s3cret")

	env["OTEL_EXPORTER_OTLP_HEADERS"] = "api-key=wrong"
	code, out = doctor(t, env)
	if code == 0 {
		t.Fatalf("doctor passed a receiver that refuses:\n%s", out)
	}
	mustContain(t, "refused", out, "✗ telemetry: "+rcv.URL+"/v1/traces answered HTTP 401", "OTEL_EXPORTER_OTLP_HEADERS")
}
