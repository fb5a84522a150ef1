package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/test/fakebotframework"
	"snowbot/test/fakeservicenow"
)

// world is a running bot with its fakes, and what each conversation has seen.
type world struct {
	t   testing.TB
	bf  *fakebotframework.Server
	sn  *fakeservicenow.Server
	env map[string]string
	bot *botProcess

	mu   sync.Mutex
	seen map[string]int // messages already consumed per conversation
}

// newWorld starts the fakes and a bot configured against them; edit may change the settings first.
func newWorld(t testing.TB, edit func(env map[string]string)) *world {
	t.Helper()
	bf := fakebotframework.New()
	t.Cleanup(bf.Close)
	sn := fakeservicenow.New()
	t.Cleanup(sn.Close)
	env := envFor(t, bf, sn, freePort(t))
	if edit != nil {
		edit(env)
	}
	w := &world{t: t, bf: bf, sn: sn, env: env, seen: map[string]int{}}
	w.bot = startBot(t, env)
	return w
}

// restart kills the bot like a crash and starts it again with the same settings.
func (w *world) restart() {
	w.bot.Kill()
	w.bot = startBot(w.t, w.env)
}

func (w *world) token() string { return w.bf.Sign(w.bf.ChannelClaims(w.bf.ServiceURL())) }

// post sends an activity from Teams and checks it is accepted.
func (w *world) post(a map[string]any) {
	w.t.Helper()
	if status, body := w.bot.post(w.t, w.token(), a); status != http.StatusOK {
		w.t.Fatalf("activity refused: %d %s", status, body)
	}
}

// say sends a text message from u.
func (w *world) say(u user, text string) { w.t.Helper(); w.post(message(w.bf, u, text)) }

// submit sends what a card's Action.Submit sends: no text, the data and inputs as value.
func (w *world) submit(u user, value map[string]any) {
	w.t.Helper()
	a := activity(w.bf, u, "message")
	a["value"] = value
	w.post(a)
}

// invoke sends an invoke and returns the HTTP status and body.
func (w *world) invoke(u user, name string, value map[string]any) (int, string) {
	a := activity(w.bf, u, "invoke")
	a["name"] = name
	a["value"] = value
	return w.bot.post(w.t, w.token(), a)
}

// next waits for the next message in u's conversation.
func (w *world) next(u user) fakebotframework.Activity {
	w.t.Helper()
	w.mu.Lock()
	n := w.seen[u.Conversation]
	w.seen[u.Conversation] = n + 1
	w.mu.Unlock()
	msgs := waitMessages(w.t, w.bf, u.Conversation, n+1)
	return msgs[n]
}

// quiet checks that no further message arrives for u within d.
func (w *world) quiet(u user, d time.Duration) {
	w.t.Helper()
	time.Sleep(d)
	w.mu.Lock()
	n := w.seen[u.Conversation]
	w.mu.Unlock()
	if got := messagesTo(w.bf, u.Conversation); len(got) > n {
		w.t.Fatalf("unexpected message: %s", got[n].JSON())
	}
}

var signInURLPattern = regexp.MustCompile(`"url":"([^"]*/oauth_auth\.do\?[^"]*)"`)

// signInURL returns the sign-in button's URL of a reply, or "".
func signInURL(a fakebotframework.Activity) string {
	m := signInURLPattern.FindStringSubmatch(a.JSON())
	if m == nil {
		return ""
	}
	var s string
	_ = json.Unmarshal([]byte(`"`+m[1]+`"`), &s)
	return s
}

// browse opens a URL as a browser would, following redirects, and returns the final page.
func browse(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var codePattern = regexp.MustCompile(`data-code="(\d{6})"`)

// pageCode returns the verification code shown on the callback page.
func pageCode(t testing.TB, page string) string {
	t.Helper()
	m := codePattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no verification code on the page:\n%s", page)
	}
	return m[1]
}

// startSignIn sends a command that needs ServiceNow and returns the sign-in URL of the card that answers it.
func (w *world) startSignIn(u user, command string) string {
	w.t.Helper()
	w.say(u, command)
	reply := w.next(u)
	url := signInURL(reply)
	if url == "" {
		w.t.Fatalf("%q was not answered with a sign-in card: %s", command, reply.JSON())
	}
	return url
}

// signIn signs u in as the ServiceNow user snUser through a typed code, and
// returns the replies to the resumed command (the confirmation first).
func (w *world) signIn(u user, snUser, command string) []fakebotframework.Activity {
	w.t.Helper()
	w.sn.Configure(func(s *fakeservicenow.Server) { s.BrowserUser = snUser })
	url := w.startSignIn(u, command)
	status, page := browse(w.t, url)
	if status != http.StatusOK {
		w.t.Fatalf("callback page: %d\n%s", status, page)
	}
	w.say(u, pageCode(w.t, page))
	confirm := w.next(u)
	if !strings.Contains(confirm.Text(), "signed in") {
		w.t.Fatalf("code not confirmed: %s", confirm.JSON())
	}
	return []fakebotframework.Activity{confirm, w.next(u)}
}

// groupMessage is a message from u in a group chat where the bot is mentioned.
func groupMessage(bf *fakebotframework.Server, u user, text string) map[string]any {
	a := message(bf, u, "<at>snowbot</at> "+text)
	a["conversation"] = map[string]any{"id": "19:group-" + u.ID + "@thread.v2", "conversationType": "groupChat", "isGroup": true, "tenantId": u.Tenant}
	return a
}

func mustContain(t testing.TB, what, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			t.Errorf("%s lacks %q:\n%s", what, n, haystack)
		}
	}
}

func mustNotContain(t testing.TB, what, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			t.Errorf("%s contains %q", what, fmt.Sprintf("%.12s…", n))
		}
	}
}
