package test

import (
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"snowbot/test/fakebotframework"
)

// newBotFramework starts a fake Bot Framework for one test.
func newBotFramework(t *testing.T) *fakebotframework.Server {
	bf := fakebotframework.New()
	t.Cleanup(bf.Close)
	return bf
}

func TestValidTurnIsAnsweredThroughTheConnectorWithTheBotToken(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	p := startBot(t, env)

	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))
	in := message(bf, ada, "<at>snowbot</at> HELP")
	status, _ := p.post(t, tok, in)
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	msgs := waitMessages(t, bf, ada.Conversation, 1)
	reply := msgs[0]
	bearer, _ := strings.CutPrefix(reply.Authorization, "Bearer ")
	if !bf.ValidBotToken(bearer) {
		t.Fatalf("reply carried %q, not a bot token issued by the fake Entra endpoint", reply.Authorization)
	}
	if want := "/amer/v3/conversations/" + ada.Conversation + "/activities/" + in["id"].(string); reply.Path != want {
		t.Errorf("reply posted to %s, want %s", reply.Path, want)
	}
	js := reply.JSON()
	for _, want := range []string{"application/vnd.microsoft.card.adaptive", "incidents", "signout"} {
		if !strings.Contains(js, want) {
			t.Errorf("help reply lacks %q: %s", want, js)
		}
	}
	if strings.Contains(js, "0001-01-01") {
		t.Errorf("reply carries zero timestamps: %s", js)
	}
	if reply.Body["replyToId"] != in["id"] {
		t.Errorf("replyToId = %v, want %v", reply.Body["replyToId"], in["id"])
	}
	reqs := bf.TokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d bot token requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Tenant != bf.AppTenant || !strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded") ||
		r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "https://api.botframework.com/.default" {
		t.Errorf("bot token request: tenant %q, content type %q, form %v", r.Tenant, r.ContentType, r.Form)
	}

	// The same token again: served from the verified-token cache, still answered.
	status, _ = p.post(t, tok, message(bf, ada, "what?"))
	if status != http.StatusOK {
		t.Fatalf("second turn: status %d", status)
	}
	msgs = waitMessages(t, bf, ada.Conversation, 2)
	if !strings.Contains(msgs[1].Text(), "help") {
		t.Errorf("unknown command answered with %q, want a hint towards help", msgs[1].Text())
	}

	logs := p.Logs()
	for _, secret := range []string{tok, bearer, bf.AppPassword, env["SERVICENOW_CLIENT_SECRET"], env["TOKEN_ENCRYPTION_KEY"]} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token or secret appears in the logs")
		}
	}
	// Log lines are written in batches, at most 20 ms apart.
	waitFor(t, 2*time.Second, "the logs to carry a request id", func() bool { return strings.Contains(p.Logs(), `"request_id"`) })
}

func TestRequestsThatFailAuthenticationAre401WithNoSideEffect(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	su := bf.ServiceURL()

	expired := bf.ChannelClaims(su)
	expired["exp"] = time.Now().Add(-10 * time.Minute).Unix()
	expired["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
	notYet := bf.ChannelClaims(su)
	notYet["nbf"] = time.Now().Add(10 * time.Minute).Unix()
	wrongAud := bf.ChannelClaims(su)
	wrongAud["aud"] = "11111111-2222-3333-4444-555555555555"
	wrongIss := bf.ChannelClaims(su)
	wrongIss["iss"] = "https://sts.windows.net/evil/"
	noServiceURL := bf.ChannelClaims(su)
	delete(noServiceURL, "serviceurl")
	farFuture := bf.ChannelClaims(su)
	farFuture["exp"] = time.Now().Add(10 * 365 * 24 * time.Hour).Unix()
	issuedLater := bf.ChannelClaims(su)
	issuedLater["iat"] = time.Now().Add(time.Hour).Unix()

	none := jwt.NewWithClaims(jwt.SigningMethodNone, bf.ChannelClaims(su))
	none.Header["kid"] = bf.TrustedKID
	algNone, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	pubDER, _ := x509.MarshalPKIXPublicKey(&bf.TrustedKey.PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, bf.ChannelClaims(su))
	hs.Header["kid"] = bf.TrustedKID
	hsWithPublicKey, _ := hs.SignedString(pubDER)

	cases := []struct {
		name  string
		token string
		edit  func(a map[string]any)
	}{
		{"no Authorization header", "", nil},
		{"not a JWT", "not-a-token", nil},
		{"signed by an untrusted key under the trusted kid", fakebotframework.SignWith(bf.ChannelClaims(su), bf.UntrustedKey, bf.TrustedKID), nil},
		{"expired", bf.Sign(expired), nil},
		{"not yet valid", bf.Sign(notYet), nil},
		{"wrong audience", bf.Sign(wrongAud), nil},
		{"wrong issuer", bf.Sign(wrongIss), nil},
		{"serviceurl claim missing", bf.Sign(noServiceURL), nil},
		{"exp ten years ahead", bf.Sign(farFuture), nil},
		{"iat an hour ahead", bf.Sign(issuedLater), nil},
		{"serviceUrl of the activity differs from the claim", bf.Sign(bf.ChannelClaims(su)), func(a map[string]any) { a["serviceUrl"] = "https://evil.example/" }},
		{"channel the key is not endorsed for", bf.Sign(bf.ChannelClaims(su)), func(a map[string]any) { a["channelId"] = "slack" }},
		{"alg none", algNone, nil},
		{"HS256 signed with the public key", hsWithPublicKey, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := message(bf, ada, "help")
			if c.edit != nil {
				c.edit(a)
			}
			status, _ := p.post(t, c.token, a)
			if status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
		})
	}

	// Unknown kid: the keys are fetched again once, then the token is refused;
	// another unknown kid right after does not hammer the key endpoint.
	before := bf.KeyFetches()
	if status, _ := p.post(t, fakebotframework.SignWith(bf.ChannelClaims(su), bf.UntrustedKey, "kid-nobody-knows"), message(bf, ada, "help")); status != http.StatusUnauthorized {
		t.Fatalf("unknown kid: status %d, want 401", status)
	}
	if got := bf.KeyFetches() - before; got != 1 {
		t.Errorf("unknown kid caused %d key fetches, want 1", got)
	}
	if status, _ := p.post(t, fakebotframework.SignWith(bf.ChannelClaims(su), bf.UntrustedKey, "another-unknown-kid"), message(bf, ada, "help")); status != http.StatusUnauthorized {
		t.Fatalf("second unknown kid: status %d, want 401", status)
	}
	if got := bf.KeyFetches() - before; got != 1 {
		t.Errorf("two unknown kids within 5 minutes caused %d key fetches, want 1", got)
	}

	// Nothing was answered, and no bot token was even requested.
	time.Sleep(300 * time.Millisecond)
	if n := len(bf.Attempts()); n != 0 {
		t.Fatalf("refused requests caused %d connector calls", n)
	}
	if n := len(bf.TokenRequests()); n != 0 {
		t.Fatalf("refused requests caused %d bot token requests", n)
	}
	// A genuine turn still works afterwards.
	if status, _ := p.post(t, bf.Sign(bf.ChannelClaims(su)), message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("genuine turn: status %d", status)
	}
	waitMessages(t, bf, ada.Conversation, 1)
}

func TestBadBodiesAre400And413(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	if status, _ := p.postRaw(t, tok, []byte(`this is not json`)); status != http.StatusBadRequest {
		t.Errorf("garbage body: status %d, want 400", status)
	}
	if status, _ := p.postRaw(t, tok, []byte(`{"hello":"world"}`)); status != http.StatusBadRequest {
		t.Errorf("JSON that is not an activity: status %d, want 400", status)
	}
	big := message(bf, ada, strings.Repeat("x", 300<<10))
	if status, _ := p.post(t, tok, big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("300 KB activity: status %d, want 413", status)
	}
	resp, err := http.Get(p.URL + "/api/messages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/messages: status %d, want 405", resp.StatusCode)
	}
}

func TestInvokesAreAnsweredInTheResponseBody(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	unknown := activity(bf, ada, "invoke")
	unknown["name"] = "composeExtension/setting" // the app package declares no settings page
	unknown["value"] = map[string]any{}
	if status, _ := p.post(t, tok, unknown); status != http.StatusNotImplemented {
		t.Errorf("unknown invoke: status %d, want 501", status)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(bf.Attempts()); n != 0 {
		t.Errorf("an invoke was answered through the connector (%d calls)", n)
	}
}

func TestWelcomeWhenTheBotIsAdded(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	// A user joining is not the bot: no welcome.
	other := activity(bf, ada, "conversationUpdate")
	other["membersAdded"] = []map[string]any{{"id": ada.ID}}
	if status, _ := p.post(t, tok, other); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	added := activity(bf, ada, "conversationUpdate")
	added["membersAdded"] = []map[string]any{{"id": "28:" + bf.AppID}}
	if status, _ := p.post(t, tok, added); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	install := activity(bf, ada, "installationUpdate")
	install["action"] = "add"
	if status, _ := p.post(t, tok, install); status != http.StatusOK {
		t.Fatalf("installationUpdate: status %d", status)
	}
	reaction := activity(bf, ada, "messageReaction")
	if status, _ := p.post(t, tok, reaction); status != http.StatusOK {
		t.Fatalf("messageReaction: status %d", status)
	}
	waitMessages(t, bf, ada.Conversation, 1)
	time.Sleep(300 * time.Millisecond)
	msgs := messagesTo(bf, ada.Conversation)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text(), "snowbot") {
		t.Fatalf("want exactly one welcome, got %d messages: %+v", len(msgs), msgs)
	}
}

func TestThrottledReplyIsRetriedAndDeliveredOnce(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	bf.FailNext(fakebotframework.Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"}, fakebotframework.Failure{Status: http.StatusBadGateway})
	start := time.Now()
	if status, _ := p.post(t, tok, message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	waitMessages(t, bf, ada.Conversation, 1)
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Errorf("delivered after %s: Retry-After: 1 was not honoured", elapsed)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(messagesTo(bf, ada.Conversation)); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
	if n := len(bf.Attempts()); n != 3 {
		t.Errorf("%d connector calls, want 3 (429, 502, 200)", n)
	}
}

func TestReplyThatCannotBeDeliveredIsLoggedWithTheConversation(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	fail := fakebotframework.Failure{Status: http.StatusServiceUnavailable}
	bf.FailNext(fail, fail, fail, fail, fail)
	if status, _ := p.post(t, tok, message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	waitFor(t, 20*time.Second, "the failure to be logged", func() bool {
		return strings.Contains(p.Logs(), "activity not delivered")
	})
	var line map[string]any
	for _, l := range strings.Split(p.Logs(), "\n") {
		if strings.Contains(l, "activity not delivered") {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line["conversation"] != ada.Conversation || line["level"] != "ERROR" {
		t.Errorf("failure log line: %v", line)
	}
	if n := len(bf.Attempts()); n != 4 {
		t.Errorf("%d connector calls, want 4 tries", n)
	}
}

func TestConcurrentTurnsShareOneBotToken(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	su := bf.ServiceURL()

	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := ada
			u.Conversation = ada.Conversation + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			if status, _ := p.post(t, bf.Sign(bf.ChannelClaims(su)), message(bf, u, "help")); status != http.StatusOK {
				t.Errorf("status %d", status)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "50 replies", func() bool { return len(bf.Delivered()) >= 50 })
	if n := len(bf.TokenRequests()); n != 1 {
		t.Errorf("50 concurrent turns made %d bot token requests, want 1", n)
	}
}

func TestMultiTenantBotAsksTheBotFrameworkTenant(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	bf.Configure(func(s *fakebotframework.Server) { s.MultiTenant = true })
	env := baseEnv(t, bf, freePort(t))
	env["MICROSOFT_APP_TYPE"] = "MultiTenant"
	delete(env, "MICROSOFT_APP_TENANT_ID")
	p := startBot(t, env)
	if status, _ := p.post(t, bf.Sign(bf.ChannelClaims(bf.ServiceURL())), message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	waitMessages(t, bf, ada.Conversation, 1)
	if reqs := bf.TokenRequests(); len(reqs) != 1 || reqs[0].Tenant != "botframework.com" {
		t.Errorf("token requests: %+v", reqs)
	}
}

func TestUserAssignedManagedIdentityGetsTheBotToken(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["MICROSOFT_APP_TYPE"] = "UserAssignedMSI"
	delete(env, "MICROSOFT_APP_PASSWORD")
	env["IDENTITY_ENDPOINT"] = bf.IdentityEndpoint()
	env["IDENTITY_HEADER"] = bf.IdentityHeader
	p := startBot(t, env)
	if status, _ := p.post(t, bf.Sign(bf.ChannelClaims(bf.ServiceURL())), message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	msgs := waitMessages(t, bf, ada.Conversation, 1)
	bearer, _ := strings.CutPrefix(msgs[0].Authorization, "Bearer ")
	if !bf.ValidBotToken(bearer) {
		t.Errorf("reply carried no managed-identity token")
	}
	if reqs := bf.TokenRequests(); len(reqs) != 1 || reqs[0].Tenant != "msi" || reqs[0].Form.Get("client_id") != bf.AppID {
		t.Errorf("token requests: %+v", reqs)
	}
}

func TestTenantsThatAreNotAllowedGetAPoliteRefusal(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["ALLOWED_TENANT_IDS"] = "11111111-1111-1111-1111-111111111111, " + ada.Tenant
	p := startBot(t, env)
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))

	eve := user{ID: "29:1eve", Name: "Eve", ObjectID: "e0e0e0e0-0000-4000-8000-00000000000e", Tenant: "99999999-9999-9999-9999-999999999999", Conversation: "a:1eve-personal"}
	if status, _ := p.post(t, tok, message(bf, eve, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	msgs := waitMessages(t, bf, eve.Conversation, 1)
	if !strings.Contains(msgs[0].Text(), "not enabled for your organisation") {
		t.Errorf("refusal: %q", msgs[0].Text())
	}
	if status, _ := p.post(t, tok, message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	msgs = waitMessages(t, bf, ada.Conversation, 1)
	if strings.Contains(msgs[0].Text(), "not enabled") {
		t.Errorf("an allowed tenant was refused")
	}
}

func TestDevelopmentModeAcceptsLoopbackOnly(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	bf.Configure(func(s *fakebotframework.Server) { s.RequireBotToken = false })
	env := baseEnv(t, bf, freePort(t))
	env["MICROSOFT_APP_ID"] = ""
	p := startBot(t, env)
	if !strings.Contains(p.Logs(), "DEVELOPMENT MODE") {
		t.Errorf("no development-mode warning at start")
	}
	if status, _ := p.post(t, "", message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("loopback without a token: status %d, want 200", status)
	}
	msgs := waitMessages(t, bf, ada.Conversation, 1)
	if msgs[0].Authorization != "" {
		t.Errorf("development mode sent a bot token")
	}

	// An activity whose replies would go anywhere but this machine is refused:
	// a proxy on this host could otherwise turn the bot into an open relay.
	evil := message(bf, ada, "help")
	evil["serviceUrl"] = "https://evil.example/"
	if status, _ := p.post(t, "", evil); status != http.StatusUnauthorized {
		t.Errorf("development mode with a remote serviceUrl: status %d, want 401", status)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(bf.Attempts()); n != 1 {
		t.Errorf("%d connector calls, want 1 (the loopback turn's reply only)", n)
	}

	// A non-loopback address of this machine does not even reach the bot: it
	// listens on the loopback interfaces only.
	ip := nonLoopbackIP()
	if ip == nil {
		t.Log("no non-loopback address on this machine; listening on loopback only is not checked here")
		return
	}
	body, _ := json.Marshal(message(bf, ada, "help"))
	resp, err := http.Post("http://"+net.JoinHostPort(ip.String(), env["PORT"])+"/api/messages", "application/json", strings.NewReader(string(body)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("development mode answered on %s: status %d", ip, resp.StatusCode)
	}
}

func TestDevelopmentModeRefusesAPublicAddress(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["MICROSOFT_APP_ID"] = ""
	env["PUBLIC_BASE_URL"] = "https://snowbot.example.com"
	p := launch(t, env, "serve")
	code, ok := p.Wait(10 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("development mode started with a public PUBLIC_BASE_URL (exit %d)", code)
	}
	var line string
	for _, l := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(l, "PUBLIC_BASE_URL") && strings.Contains(l, "MICROSOFT_APP_ID") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no line naming both MICROSOFT_APP_ID and PUBLIC_BASE_URL:\n%s", p.stderr.String())
	}
}

func nonLoopbackIP() net.IP {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP
		}
	}
	return nil
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	// A reply in flight, held back by throttling, still goes out before the exit.
	bf.FailNext(fakebotframework.Failure{Status: http.StatusTooManyRequests, RetryAfter: "2"})
	if status, _ := p.post(t, bf.Sign(bf.ChannelClaims(bf.ServiceURL())), message(bf, ada, "help")); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	waitFor(t, 5*time.Second, "the first (throttled) try", func() bool { return len(bf.Attempts()) >= 1 })
	code, err := p.Stop(12 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if n := len(messagesTo(bf, ada.Conversation)); n != 1 {
		t.Errorf("the turn in flight was not finished before exit (%d replies)", n)
	}
}

func TestBadConfigurationExitsWithOneLinePerProblem(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["PUBLIC_BASE_URL"] = "http://snowbot.example.com"
	env["MICROSOFT_APP_TYPE"] = "SomethingElse"
	env["TOKEN_ENCRYPTION_KEY"] = "too-short"
	env["STORE_URL"] = "postgres://db"
	env["SERVICENOW_CLIENT_AUTH"] = "header"
	delete(env, "SERVICENOW_CLIENT_ID")
	p := launch(t, env, "serve")
	code, ok := p.Wait(10 * time.Second)
	if !ok {
		t.Fatal("snowbot did not exit on a bad configuration")
	}
	if code == 0 {
		t.Fatal("exit code 0 on a bad configuration")
	}
	out := p.stderr.String()
	for _, name := range []string{"PUBLIC_BASE_URL", "MICROSOFT_APP_TYPE", "TOKEN_ENCRYPTION_KEY", "STORE_URL", "SERVICENOW_CLIENT_AUTH", "SERVICENOW_CLIENT_ID"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, name+": ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no line for %s in:\n%s", name, out)
		}
	}
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
		t.Errorf("bad configuration panicked:\n%s", out)
	}
	if strings.Contains(out, env["SERVICENOW_CLIENT_SECRET"]) {
		t.Errorf("a secret was printed")
	}
	// Nothing listens.
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+env["PORT"], 200*time.Millisecond); err == nil {
		conn.Close()
		t.Errorf("a server is listening despite the bad configuration")
	}

	// Missing required settings, from an empty environment.
	p = launch(t, map[string]string{"PORT": "eighty"}, "serve")
	if code, _ := p.Wait(10 * time.Second); code == 0 {
		t.Fatal("exit code 0 without configuration")
	}
	for _, name := range []string{"PORT", "PUBLIC_BASE_URL", "SERVICENOW_INSTANCE_URL", "SERVICENOW_CLIENT_ID", "SERVICENOW_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY"} {
		if !strings.Contains(p.stderr.String(), name+": ") {
			t.Errorf("no line for missing %s", name)
		}
	}
}

func TestAKeyOutageAsksTheChannelToRetryWithoutAFetchStorm(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	bf.Configure(func(s *fakebotframework.Server) { s.KeysDown = true })
	p := startBot(t, baseEnv(t, bf, freePort(t)))
	tok := bf.Sign(bf.ChannelClaims(bf.ServiceURL()))
	for range 50 {
		if status, _ := p.post(t, tok, message(bf, ada, "help")); status != http.StatusServiceUnavailable {
			t.Fatalf("status %d while no signing key can be had, want 503 so that the channel retries", status)
		}
	}
	if n := bf.MetadataFetches(); n > 3 {
		t.Errorf("50 requests during a key outage caused %d metadata fetches", n)
	}
	// Once the keys are back (and the backoff is over), the same turn is answered.
	bf.Configure(func(s *fakebotframework.Server) { s.KeysDown = false })
	waitFor(t, 40*time.Second, "the keys to be fetched again", func() bool {
		status, _ := p.post(t, tok, message(bf, ada, "help"))
		if status != http.StatusOK {
			time.Sleep(500 * time.Millisecond)
		}
		return status == http.StatusOK
	})
	waitMessages(t, bf, ada.Conversation, 1)
}

// On App Service a Key Vault reference that could not be resolved reaches the
// bot as the reference itself. Taken as the secret, a signing secret would even
// seem to work: the bot must stop and say what happened instead.
func TestAnUnresolvedKeyVaultReferenceStopsTheBotWithTheReason(t *testing.T) {
	t.Parallel()
	bf := newBotFramework(t)
	env := baseEnv(t, bf, freePort(t))
	env["SERVICENOW_WEBHOOK_SECRET"] = "@Microsoft.KeyVault(VaultName=kv-contoso-abcdefghijklm;SecretName=servicenow-webhook-secret)"
	p := launch(t, env, "serve")
	code, ok := p.Wait(10 * time.Second)
	if !ok {
		t.Fatal("snowbot started with an unresolved Key Vault reference as its webhook secret")
	}
	if code == 0 {
		t.Fatal("exit code 0 with an unresolved Key Vault reference")
	}
	mustContain(t, "serve's error output", p.stderr.String(),
		"SERVICENOW_WEBHOOK_SECRET: is a Key Vault reference that App Service could not resolve", "Key Vault Secrets User", "restart the app")

	d := launch(t, env, "doctor")
	if code, _ := d.Wait(20 * time.Second); code == 0 {
		t.Fatal("doctor passed an unresolved Key Vault reference")
	}
	mustContain(t, "doctor's output", d.stdout.String(), "SERVICENOW_WEBHOOK_SECRET", "az webapp restart")
}
