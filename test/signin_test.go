package test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/auth/seal"
	"snowbot/test/fakeservicenow"
)

func TestSignInWithATypedCodeResumesTheCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	signInLink := w.startSignIn(ada, "incidents")

	u, err := url.Parse(signInLink)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(signInLink, w.sn.URL+"/oauth_auth.do?") || q.Get("response_type") != "code" || q.Get("client_id") != w.sn.ClientID ||
		q.Get("redirect_uri") != w.env["PUBLIC_BASE_URL"]+"/auth/callback" || q.Get("state") == "" ||
		q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("sign-in URL %s", signInLink)
	}
	if strings.Contains(signInLink, "code_verifier") {
		t.Fatal("the PKCE verifier left the server")
	}

	status, page := browse(t, signInLink)
	if status != http.StatusOK {
		t.Fatalf("callback page %d:\n%s", status, page)
	}
	code := pageCode(t, page)
	mustContain(t, "callback page", page, "teams-js", "/auth/signin.js")

	reqs := w.sn.TokenRequests("authorization_code")
	if len(reqs) != 1 {
		t.Fatalf("%d code exchanges, want 1", len(reqs))
	}
	ex := reqs[0]
	if !strings.HasPrefix(ex.ContentType, "application/x-www-form-urlencoded") || ex.Status != http.StatusOK ||
		ex.Form.Get("client_id") != w.sn.ClientID || ex.Form.Get("client_secret") != w.sn.ClientSecret ||
		ex.Form.Get("code_verifier") == "" || ex.Form.Get("redirect_uri") != q.Get("redirect_uri") || ex.BasicUser != "" {
		t.Fatalf("code exchange: %+v", ex)
	}

	w.say(ada, code)
	if reply := w.next(ada); !strings.Contains(reply.Text(), "signed in") {
		t.Fatalf("confirmation: %s", reply.JSON())
	}
	list := w.next(ada).JSON()
	mustContain(t, "resumed incidents list", list, "INC0010001", "INC0010002", "INC0010004")
	mustNotContain(t, "resumed incidents list", list, "INC0010005", "INC0010007") // resolved; Bob's

	// Signed in now: the next command needs no sign-in.
	w.say(ada, "incidents")
	mustContain(t, "second list", w.next(ada).JSON(), "INC0010001")
	calls := w.sn.Requests("/api/now/table/incident")
	if len(calls) != 2 || calls[0].Bearer == "" {
		t.Fatalf("table calls: %+v", calls)
	}
}

func TestSignInThroughTeamsVerifyStateInvoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	_, page := browse(t, w.startSignIn(ada, "incident INC0010003"))
	code := pageCode(t, page)

	status, body := w.invoke(ada, "signin/verifyState", map[string]any{"state": code})
	if status != http.StatusOK {
		t.Fatalf("verifyState: %d %s", status, body)
	}
	if reply := w.next(ada); !strings.Contains(reply.Text(), "signed in") {
		t.Fatalf("confirmation: %s", reply.JSON())
	}
	mustContain(t, "resumed detail", w.next(ada).JSON(), "INC0010003", "VPN disconnects every hour", "David Miller")

	// The person also types the code the page showed: no false alarm.
	w.say(ada, code)
	reply := w.next(ada).Text()
	mustContain(t, "the same code typed after Teams passed it on", reply, "You're already signed in as Ada Lovelace.")
	mustNotContain(t, "the same code typed after Teams passed it on", reply, "no sign-in is waiting")

	// The pop-up closed without a code: acknowledged, nothing said.
	if status, _ := w.invoke(ada, "signin/verifyState", map[string]any{"state": "CancelledByUser"}); status != http.StatusOK {
		t.Fatalf("cancelled verifyState: %d", status)
	}
	w.quiet(ada, 300*time.Millisecond)
}

func TestBasicClientAuthentication(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(env map[string]string) { env["SERVICENOW_CLIENT_AUTH"] = "basic" })
	w.sn.Configure(func(s *fakeservicenow.Server) { s.ClientAuth = "basic" })
	w.signIn(ada, "ada.lovelace", "incidents")
	ex := w.sn.TokenRequests("authorization_code")[0]
	if ex.BasicUser != w.sn.ClientID || ex.Form.Get("client_secret") != "" {
		t.Fatalf("basic client auth: basic user %q, form %v", ex.BasicUser, ex.Form)
	}
}

func TestPKCECanBeTurnedOff(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(env map[string]string) { env["SERVICENOW_PKCE"] = "false" })
	link := w.startSignIn(ada, "incidents")
	if strings.Contains(link, "code_challenge") {
		t.Fatalf("PKCE off but the URL has a challenge: %s", link)
	}
	_, page := browse(t, link)
	pageCode(t, page)
	if w.sn.TokenRequests("authorization_code")[0].Form.Has("code_verifier") {
		t.Fatal("PKCE off but a verifier was sent")
	}
}

func TestCodesBindOnlyForTheUserWhoAskedAndOnlyFiveTries(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	_, page := browse(t, w.startSignIn(ada, "incidents"))
	code := pageCode(t, page)

	// Bob types Ada's code: nothing is bound to Bob.
	w.say(bob, code)
	mustContain(t, "Bob's reply", w.next(bob).Text(), "no sign-in is waiting")
	w.say(bob, "incidents")
	if signInURL(w.next(bob)) == "" {
		t.Fatal("Bob got signed in with Ada's code")
	}

	// Ada mistypes four times, then gets it right.
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for i := 4; i >= 1; i-- {
		w.say(ada, wrong)
		mustContain(t, "wrong code reply", w.next(ada).Text(), "not right")
	}
	w.say(ada, code)
	mustContain(t, "confirmation", w.next(ada).Text(), "signed in")
	w.next(ada) // the resumed list

	// A used code binds nothing a second time: she is signed in already, as herself.
	w.say(ada, code)
	mustContain(t, "reused code", w.next(ada).Text(), "You're already signed in as Ada Lovelace.")
	w.quiet(ada, 300*time.Millisecond)
}

func TestFiveWrongCodesDiscardTheSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	_, page := browse(t, w.startSignIn(ada, "incidents"))
	code := pageCode(t, page)
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for range 4 {
		w.say(ada, wrong)
		mustContain(t, "wrong code", w.next(ada).Text(), "not right")
	}
	w.say(ada, wrong)
	mustContain(t, "fifth wrong code", w.next(ada).Text(), "cancelled")
	w.say(ada, code)
	mustContain(t, "right code after the sign-in was discarded", w.next(ada).Text(), "no sign-in is waiting")
}

// forgeState makes a state signed with the bot's key, as only the bot could.
func forgeState(t *testing.T, keyB64 string, id []byte, expires time.Time) string {
	key, _ := base64.StdEncoding.DecodeString(keyB64)
	stateKey, err := seal.Derive(key, "snowbot sign-in state v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 24)
	copy(raw, id)
	binary.BigEndian.PutUint64(raw[16:], uint64(expires.Unix()))
	mac := hmac.New(sha256.New, stateKey)
	mac.Write(raw)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func TestBadStatesAreRefusedWithAPlainExplanation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	link := w.startSignIn(ada, "incidents")
	state, _ := url.Parse(link)
	st := state.Query().Get("state")
	callback := w.env["PUBLIC_BASE_URL"] + "/auth/callback?code=whatever&state="

	tampered := []byte(st)
	tampered[3] ^= 1
	cases := map[string]struct{ state, want string }{
		"tampered": {string(tampered), "not one snowbot made"},
		"unknown":  {forgeState(t, w.env["TOKEN_ENCRYPTION_KEY"], bytes.Repeat([]byte{7}, 16), time.Now().Add(time.Minute)), "already used"},
		"expired":  {forgeState(t, w.env["TOKEN_ENCRYPTION_KEY"], bytes.Repeat([]byte{8}, 16), time.Now().Add(-time.Minute)), "expired"},
		"missing":  {"", "not one snowbot made"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, page := browse(t, callback+url.QueryEscape(c.state))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d", status)
			}
			mustContain(t, "page", page, c.want, "type your command again")
		})
	}

	// Replayed: the genuine callback works once.
	status, page := browse(t, link)
	if status != http.StatusOK {
		t.Fatalf("genuine callback: %d", status)
	}
	pageCode(t, page)
	replay := w.sn.Requests("/oauth_auth.do")
	_ = replay
	status, page = browse(t, w.env["PUBLIC_BASE_URL"]+"/auth/callback?code=again&state="+url.QueryEscape(st))
	if status != http.StatusBadRequest || !strings.Contains(page, "already used") {
		t.Fatalf("replayed state: %d\n%s", status, page)
	}
	if n := len(w.sn.TokenRequests("")); n != 1 {
		t.Fatalf("bad states caused code exchanges: %d token requests", n)
	}
}

func TestCallbackExplainsWhatServiceNowAnswered(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(w *world)
		want  []string
	}{
		{"wrong client secret", func(w *world) {
			w.sn.Configure(func(s *fakeservicenow.Server) { s.ClientSecret = "rotated-secret" })
		}, []string{"did not accept snowbot&#39;s client credentials", "SERVICENOW_CLIENT_SECRET", "SERVICENOW_CLIENT_AUTH=basic", "invalid_client"}},
		{"instance expects basic auth", func(w *world) {
			w.sn.Configure(func(s *fakeservicenow.Server) { s.ClientAuth = "basic" })
		}, []string{"SERVICENOW_CLIENT_AUTH=basic"}},
		{"user declines", func(w *world) {
			w.sn.Configure(func(s *fakeservicenow.Server) { s.ConsentPage = true })
		}, []string{"You declined"}},
		{"token response without access_token", func(w *world) {
			w.sn.Fail(fakeservicenow.Failure{Path: "/oauth_token.do", Status: http.StatusOK, Body: `{"scope":"useraccount","token_type":"Bearer","expires_in":1799}`})
		}, []string{"without an access token", "SERVICENOW_INSTANCE_URL"}},
		{"instance error", func(w *world) {
			w.sn.Fail(fakeservicenow.Failure{Path: "/oauth_token.do", Status: http.StatusInternalServerError})
		}, []string{"internal error", "again"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, nil)
			c.setup(w)
			link := w.startSignIn(ada, "incidents")
			var page string
			if c.name == "user declines" {
				// The consent page's Deny button posts the decision back to the instance.
				_, consent := browse(t, link)
				mustContain(t, "consent page", consent, "Allow", "Deny")
				u, _ := url.Parse(link)
				form := u.Query()
				form.Set("decision", "deny")
				resp, err := http.PostForm(w.sn.URL+"/oauth_auth.do", form)
				if err != nil {
					t.Fatal(err)
				}
				buf := new(bytes.Buffer)
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				page = buf.String()
			} else {
				_, page = browse(t, link)
			}
			mustContain(t, "callback page", page, c.want...)
			mustNotContain(t, "callback page", page, w.sn.IssuedSecrets()...)
			mustNotContain(t, "callback page", page, w.env["SERVICENOW_CLIENT_SECRET"], "data-code")
		})
	}
}

func TestTokensAreRefreshedBeforeExpiryAndAfterA401(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.sn.Configure(func(s *fakeservicenow.Server) { s.AccessTTL = 62 * time.Second })
	w.signIn(ada, "ada.lovelace", "incidents")
	if n := len(w.sn.TokenRequests("refresh_token")); n != 0 {
		t.Fatalf("%d refreshes right after sign-in", n)
	}

	// Within a minute of expiry the token is refreshed before it is used.
	time.Sleep(2500 * time.Millisecond)
	w.say(ada, "incidents")
	mustContain(t, "list", w.next(ada).JSON(), "INC0010001")
	refreshes := w.sn.TokenRequests("refresh_token")
	if len(refreshes) != 1 || !strings.HasPrefix(refreshes[0].ContentType, "application/x-www-form-urlencoded") ||
		refreshes[0].Form.Get("client_secret") != w.sn.ClientSecret {
		t.Fatalf("refresh before expiry: %+v", refreshes)
	}
	for _, r := range w.sn.Requests("/api/now/table/") {
		if r.Status == http.StatusUnauthorized {
			t.Fatal("a token close to expiry was used and refused")
		}
	}

	// The instance drops the token early: the 401 leads to one refresh and a retry.
	w.sn.Configure(func(s *fakeservicenow.Server) { s.AccessTTL = time.Hour })
	w.say(ada, "incidents")
	w.next(ada)
	before := len(w.sn.TokenRequests("refresh_token"))
	w.sn.ExpireAccessTokens()
	w.say(ada, "incident INC0010001")
	mustContain(t, "detail after 401", w.next(ada).JSON(), "INC0010001", "Beth Anglin")
	if n := len(w.sn.TokenRequests("refresh_token")) - before; n != 1 {
		t.Fatalf("%d refreshes after a 401, want 1", n)
	}
}

func TestConcurrentCallersCauseOneRefresh(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.ExpireAccessTokens()

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); w.say(ada, "incidents") }()
	}
	wg.Wait()
	for range 50 {
		mustContain(t, "list", w.next(ada).JSON(), "INC0010001")
	}
	if n := len(w.sn.TokenRequests("refresh_token")); n != 1 {
		t.Fatalf("50 concurrent callers caused %d refresh requests, want 1", n)
	}
}

func TestDeadRefreshTokenAsksToSignInAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.RevokeRefreshTokens("ada.lovelace")

	w.say(ada, "incidents")
	reply := w.next(ada)
	if signInURL(reply) == "" {
		t.Fatalf("no sign-in card after the session ended: %s", reply.JSON())
	}
	mustContain(t, "sign-in card", reply.JSON(), "session has ended")
	// The dead tokens were forgotten: the next command asks again without calling ServiceNow.
	calls := len(w.sn.Requests("/api/now/table/"))
	w.say(ada, "incidents")
	if signInURL(w.next(ada)) == "" || len(w.sn.Requests("/api/now/table/")) != calls {
		t.Fatal("forgotten tokens were used again")
	}
}

func TestSignedInUsersStaySignedInAfterACrash(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.restart()
	w.say(ada, "incidents")
	reply := w.next(ada)
	if signInURL(reply) != "" {
		t.Fatal("signed out by a crash")
	}
	mustContain(t, "list after restart", reply.JSON(), "INC0010001")
}

func TestSignOutRevokesAndForgets(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.say(ada, "signout")
	mustContain(t, "signout reply", w.next(ada).Text(), "revoked")
	revokes := w.sn.Requests("/oauth_revoke_token.do")
	if len(revokes) != 2 {
		t.Fatalf("%d revocations, want 2 (refresh and access token)", len(revokes))
	}
	for _, r := range revokes {
		if !strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded") || r.Status != http.StatusOK || r.Form.Get("token") == "" {
			t.Errorf("revocation: %+v", r)
		}
	}
	if w.sn.ActiveRefreshTokens() != 0 {
		t.Error("the refresh token is still valid at the instance")
	}
	w.say(ada, "incidents")
	if signInURL(w.next(ada)) == "" {
		t.Fatal("still signed in after signout")
	}
}

func TestSignOutForgetsEvenWhenRevocationFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.Fail(fakeservicenow.Failure{Path: "/oauth_revoke_token.do", Status: http.StatusInternalServerError},
		fakeservicenow.Failure{Path: "/oauth_revoke_token.do", Status: http.StatusInternalServerError})
	w.say(ada, "signout")
	mustContain(t, "signout reply", w.next(ada).Text(), "did not confirm")
	w.say(ada, "incidents")
	if signInURL(w.next(ada)) == "" {
		t.Fatal("still signed in after signout")
	}
	w.say(bob, "signout")
	mustContain(t, "signout when not signed in", w.next(bob).Text(), "not signed in")
}

func TestNoSignInLinkInGroupChats(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	msg := groupMessage(w.bf, ada, "incidents")
	w.post(msg)
	conv := msg["conversation"].(map[string]any)["id"].(string)
	reply := waitMessages(t, w.bf, conv, 1)[0]
	mustContain(t, "group reply", reply.Text(), "1:1 chat")
	mustNotContain(t, "group reply", reply.JSON(), "oauth_auth.do", w.sn.URL)
}

func TestNoSecretInPlainTextInStoreLogsOrReplies(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.sn.Configure(func(s *fakeservicenow.Server) { s.RotateRefresh = true })
	_, page := browse(t, w.startSignIn(ada, "incidents"))
	code := pageCode(t, page)
	w.say(ada, code)
	w.next(ada)
	w.next(ada)
	w.sn.ExpireAccessTokens()
	w.say(ada, "incidents") // 401, refresh, retry
	w.next(ada)
	// A second sign-in is held (not yet bound) while we look.
	_, page2 := browse(t, w.startSignIn(bob, "incidents"))
	held := pageCode(t, page2)
	w.bot.Stop(10 * time.Second)

	db, err := os.ReadFile(filepath.Clean(strings.TrimPrefix(w.env["STORE_URL"], "bolt://")))
	if err != nil {
		t.Fatal(err)
	}
	secrets := append(w.sn.IssuedSecrets(), w.env["SERVICENOW_CLIENT_SECRET"], w.bf.AppPassword, w.env["TOKEN_ENCRYPTION_KEY"])
	if len(w.sn.IssuedSecrets()) < 5 {
		t.Fatalf("the flow issued only %d secrets", len(w.sn.IssuedSecrets()))
	}
	mustNotContain(t, "store file", string(db), secrets...)
	mustNotContain(t, "store file", string(db), code, held)
	logs := w.bot.Logs()
	mustNotContain(t, "logs", logs, secrets...)
	mustNotContain(t, "logs", logs, "code="+code, held)
	for _, a := range w.bf.Delivered() {
		mustNotContain(t, "reply", a.JSON(), secrets...)
		mustNotContain(t, "reply", a.JSON(), code, held)
	}
}

func TestFakeServiceNowRefusesJSONTokenRequests(t *testing.T) {
	t.Parallel()
	sn := fakeservicenow.New()
	defer sn.Close()
	resp, err := http.Post(sn.URL+"/oauth_token.do", "application/json", strings.NewReader(`{"grant_type":"refresh_token","refresh_token":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := new(bytes.Buffer)
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(buf.String(), `"error":"server_error"`) || !strings.Contains(buf.String(), `"error_description":"access_denied"`) {
		t.Fatalf("JSON token request: %d %s", resp.StatusCode, buf)
	}
	resp, err = http.PostForm(sn.URL+"/oauth_token.do", url.Values{"grant_type": {"authorization_code"}})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(buf.String(), "Missing parameters: code, redirect_uri") {
		t.Fatalf("missing parameters: %d %s", resp.StatusCode, buf)
	}
}

func TestAFailedRefreshAnswersWithASignInCardThatSaysWhy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.sn.ExpireAccessTokens()
	w.sn.Fail(fakeservicenow.Failure{Path: "/oauth_token.do", Status: http.StatusServiceUnavailable})
	w.say(ada, "incidents")
	reply := w.next(ada)
	if signInURL(reply) == "" {
		t.Fatalf("no sign-in card after a failed refresh: %s", reply.JSON())
	}
	mustContain(t, "sign-in card", reply.JSON(), "did not answer when I tried to renew your session")
	// The tokens were kept: once the token endpoint answers again, no sign-in is needed.
	w.say(ada, "incidents")
	mustContain(t, "list after the token endpoint recovered", w.next(ada).JSON(), "INC0010001")
}

func TestTheSignInPageRunsOnlyScriptsTheBotServes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	resp, err := http.Get(w.startSignIn(ada, "incidents"))
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "http") {
		t.Fatalf("the page's CSP allows scripts from elsewhere: %s", csp)
	}
	scripts := regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(scripts) != 2 {
		t.Fatalf("want the Teams library and the page's script, got %v", scripts)
	}
	for _, s := range scripts {
		if !strings.HasPrefix(s[1], "/") || strings.HasPrefix(s[1], "//") {
			t.Errorf("script from elsewhere: %s", s[1])
		}
		r, err := http.Get(w.bot.URL + s[1])
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(r)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "javascript") || len(body) == 0 {
			t.Errorf("%s: %d %s", s[1], r.StatusCode, r.Header.Get("Content-Type"))
		}
		if strings.Contains(s[1], "teams-js") {
			// Byte for byte the file of the pinned npm package.
			npm, err := os.ReadFile(filepath.Join("js", "node_modules", "@microsoft", "teams-js", "dist", "umd", "MicrosoftTeams.min.js"))
			if err != nil {
				nodeTool(t, "render-cards.mjs") // skips (or fails in CI) when the Node tools are missing
				t.Fatal(err)
			}
			if body != string(npm) {
				t.Errorf("the served Teams library differs from npm @microsoft/teams-js")
			}
		}
	}
	// Without scripts the code is still there to type.
	pageCode(t, page)
}
