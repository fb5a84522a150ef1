package chat

// The conversation, tested in-process: a Conversation wired as wire.go wires
// it (sign-in with a bbolt store, the ServiceNow client, the store's locks),
// against the in-memory ServiceNow instance served on loopback (its requests
// recorded), with what it sends to Teams recorded instead of sent. Turns run
// synchronously, so a test reads the answer as soon as it has spoken.
//
// What needs the wire (channel authentication, faults of ServiceNow or
// Teams, crashes, several instances) is tested end to end in test/.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/auth/store/boltstore"
	"snowbot/bot"
	"snowbot/servicenow"
	"snowbot/servicenow/instance"
)

// outgoing is one activity the conversation sent, as the recorder saw it.
type outgoing struct {
	ID           string // the id a new message was given
	Conversation string
	Update       string // for an update: the id of the message it replaces
	Message      bot.Message
}

// JSON is the message as JSON text, for searching.
func (o outgoing) JSON() string { b, _ := json.Marshal(o.Message); return string(b) }

// Text is the message's text.
func (o outgoing) Text() string { return o.Message.Text }

// recorder is a bot.Replier that keeps what would have gone to Teams.
type recorder struct {
	mu     sync.Mutex
	sent   []outgoing
	n      int
	opened []string // the 1:1 chats asked for: member@tenant
}

// openedChats are the 1:1 chats the conversation asked Teams for.
func (r *recorder) openedChats() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.opened...)
}

func (r *recorder) Send(ctx context.Context, ref schema.ConversationReference, m bot.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	id := fmt.Sprintf("1%012d", r.n)
	r.sent = append(r.sent, outgoing{ID: id, Conversation: ref.Conversation.ID, Message: m})
	return id, nil
}

func (r *recorder) Update(ctx context.Context, ref schema.ConversationReference, id string, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, outgoing{Conversation: ref.Conversation.ID, Update: id, Message: m})
	return nil
}

func (r *recorder) Typing(context.Context, schema.ConversationReference) error { return nil }

func (r *recorder) OpenPersonal(ctx context.Context, serviceURL string, bot, member schema.ChannelAccount, tenant string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, member.ID+"@"+tenant)
	return personalChatOf(member.ID), nil
}

func personalChatOf(memberID string) string {
	return "a:" + strings.TrimPrefix(memberID, "29:") + "-personal"
}

// messages are the new messages (not updates) sent to a conversation.
func (r *recorder) messages(conversation string) []outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []outgoing
	for _, o := range r.sent {
		if o.Conversation == conversation && o.Update == "" {
			out = append(out, o)
		}
	}
	return out
}

// updates are the updates of the message with this id.
func (r *recorder) updates(id string) []outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []outgoing
	for _, o := range r.sent {
		if o.Update == id {
			out = append(out, o)
		}
	}
	return out
}

// user is someone in Teams.
type user struct {
	ID, Name, ObjectID, Tenant, Conversation string
	Zone, Locale                             string
}

var (
	ada = user{ID: "29:1ada", Name: "Ada Lovelace", ObjectID: "a0a0a0a0-0000-4000-8000-00000000000a", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		Conversation: "a:1ada-personal", Zone: "Europe/Paris", Locale: "fr-FR"}
	bob = user{ID: "29:1bob", Name: "Bob Smith", ObjectID: "b0b0b0b0-0000-4000-8000-00000000000b", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		Conversation: "a:1bob-personal", Zone: "America/New_York", Locale: "en-US"}
)

// request is one request the instance received.
type request struct {
	Method, Path string
	Query        url.Values
	Bearer       string
	Body         string
}

// instanceServer is the in-memory instance on loopback, recording requests.
type instanceServer struct {
	*instance.Instance
	URL string

	mu       sync.Mutex
	requests []request
}

// Requests lists the requests whose path starts with prefix.
func (s *instanceServer) Requests(prefix string) []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []request
	for _, r := range s.requests {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// world is a conversation and what it talks to.
type world struct {
	t   *testing.T
	c   *Conversation
	sn  *instanceServer
	rec *recorder

	mu   sync.Mutex
	seq  int
	seen map[string]int // messages already read per conversation
}

// newWorld wires a conversation; edit may change it first.
func newWorld(t *testing.T, edit func(c *Conversation)) *world {
	t.Helper()
	sn := &instanceServer{Instance: instance.New()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sn.mu.Lock()
		sn.requests = append(sn.requests, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Bearer: bearer, Body: string(body)})
		sn.mu.Unlock()
		sn.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sn.URL, sn.BaseURL = srv.URL, srv.URL
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "snowbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := servicenow.New(srv.URL, srv.Client())
	a, err := auth.New(auth.Config{
		InstanceURL: srv.URL, ClientID: sn.ClientID, ClientSecret: sn.ClientSecret, ClientAuth: "body", PKCE: true,
		RedirectURL: "http://localhost:3978/auth/callback", Key: key, Store: st, HTTPClient: srv.Client(), Log: log,
		Identify: func(ctx context.Context, token string) (auth.Identity, error) {
			u, err := client.Identify(ctx, token)
			return auth.Identity{SysID: u.SysID, UserName: u.UserName, Name: u.Name}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &Conversation{Log: log, Auth: a, ServiceNow: client, ResolveCode: "Solution provided", Locks: st}
	if edit != nil {
		edit(c)
	}
	return &world{t: t, c: c, sn: sn, rec: &recorder{}, seen: map[string]int{}}
}

// activity is what Teams sends for u in their 1:1 chat with the bot.
func (w *world) activity(u user, kind schema.ActivityTypes) schema.Activity {
	w.mu.Lock()
	w.seq++
	id := fmt.Sprintf("1%012d", w.seq)
	w.mu.Unlock()
	return schema.Activity{
		Type: kind, ID: id, ServiceURL: "https://smba.example.net/amer/", ChannelID: "msteams",
		From:          schema.ChannelAccount{ID: u.ID, Name: u.Name, AadObjectID: u.ObjectID},
		Recipient:     schema.ChannelAccount{ID: "28:snowbot", Name: "snowbot"},
		Conversation:  schema.ConversationAccount{ID: u.Conversation, ConversationType: "personal", TenantID: u.Tenant},
		LocalTimezone: u.Zone, Locale: u.Locale,
	}
}

// run answers a message activity as the bot does, to the end.
func (w *world) run(a schema.Activity) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.c.OnMessage(ctx, bot.NewTurn(a, w.rec)); err != nil {
		w.t.Fatalf("the turn failed: %v", err)
	}
}

// say sends text from u.
func (w *world) say(u user, text string) {
	w.t.Helper()
	a := w.activity(u, schema.Message)
	a.Text = text
	w.run(a)
}

// submit sends what a card's Action.Submit sends: no text, the data and inputs as value.
func (w *world) submit(u user, value map[string]any) {
	w.t.Helper()
	a := w.activity(u, schema.Message)
	a.Value = value
	w.run(a)
}

// submitTo sends what pressing a button of the card in message m sends.
func (w *world) submitTo(u user, m outgoing, value map[string]any) {
	w.t.Helper()
	a := w.activity(u, schema.Message)
	a.Value = value
	a.ReplyToID = m.ID
	w.run(a)
}

// invoke sends an invoke from u and returns its answer, once the work it
// leaves for later is done too.
func (w *world) invoke(u user, name string, value map[string]any) bot.InvokeResponse {
	w.t.Helper()
	a := w.activity(u, schema.Invoke)
	a.Name, a.Value = name, value
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	turn := bot.NewTurn(a, w.rec)
	resp := bot.Invoke(ctx, w.c, turn)
	turn.RunLater(ctx)
	return resp
}

// next is the next message to u's conversation that the test has not read yet.
func (w *world) next(u user) outgoing {
	w.t.Helper()
	w.mu.Lock()
	n := w.seen[u.Conversation]
	w.seen[u.Conversation] = n + 1
	w.mu.Unlock()
	got := w.rec.messages(u.Conversation)
	if len(got) <= n {
		w.t.Fatalf("no message %d in %s (%d sent)", n+1, u.Conversation, len(got))
	}
	return got[n]
}

// quiet checks that u was sent nothing the test has not read.
func (w *world) quiet(u user) {
	w.t.Helper()
	w.mu.Lock()
	n := w.seen[u.Conversation]
	w.mu.Unlock()
	if got := w.rec.messages(u.Conversation); len(got) > n {
		w.t.Fatalf("unexpected message: %s", got[n].JSON())
	}
}

var signInURLPattern = regexp.MustCompile(`"url":"([^"]*/oauth_auth\.do\?[^"]*)"`)

// signInURL returns the sign-in button's URL of a message, or "".
func signInURL(o outgoing) string {
	m := signInURLPattern.FindStringSubmatch(o.JSON())
	if m == nil {
		return ""
	}
	var s string
	_ = json.Unmarshal([]byte(`"`+m[1]+`"`), &s)
	return s
}

// startSignIn sends a command that needs ServiceNow and returns the sign-in
// URL of the card that answers it.
func (w *world) startSignIn(u user, command string) string {
	w.t.Helper()
	w.say(u, command)
	reply := w.next(u)
	link := signInURL(reply)
	if link == "" {
		w.t.Fatalf("%q was not answered with a sign-in card: %s", command, reply.JSON())
	}
	return link
}

// codeFor follows a sign-in link as the browser would, consenting as
// snUser, through the callback, and returns the code the page would show.
func (w *world) codeFor(link, snUser string) string {
	w.t.Helper()
	w.sn.Configure(func(s *instance.Instance) { s.BrowserUser = snUser })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		w.t.Fatal(err)
	}
	q := back.Query()
	res := w.c.Auth.Callback(context.Background(), q.Get("state"), q.Get("code"), q.Get("error"), q.Get("error_description"))
	if res.Err != nil {
		w.t.Fatalf("callback: %v", res.Err)
	}
	return res.Code
}

// signIn signs u in as the ServiceNow user snUser through a typed code, and
// returns the confirmation and the first answer of the resumed command.
func (w *world) signIn(u user, snUser, command string) []outgoing {
	w.t.Helper()
	w.say(u, w.codeFor(w.startSignIn(u, command), snUser))
	confirm := w.next(u)
	if !strings.Contains(confirm.Text(), "signed in") {
		w.t.Fatalf("code not confirmed: %s", confirm.JSON())
	}
	return []outgoing{confirm, w.next(u)}
}

// signedIn is a world where Ada is signed in as ada.lovelace and Bob as bob.smith.
func signedIn(t *testing.T, edit func(c *Conversation)) *world {
	w := newWorld(t, edit)
	w.signIn(ada, "ada.lovelace", "incidents")
	w.signIn(bob, "bob.smith", "incidents")
	return w
}

// incidentID is the sys_id of an incident of the instance.
func (w *world) incidentID(number string) string {
	w.t.Helper()
	inc, ok := w.sn.Incident(number)
	if !ok {
		w.t.Fatalf("no incident %s", number)
	}
	return inc.SysID
}

func mustContain(t *testing.T, what, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			t.Errorf("%s lacks %q:\n%s", what, n, haystack)
		}
	}
}

func mustNotContain(t *testing.T, what, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			t.Errorf("%s contains %q", what, fmt.Sprintf("%.12s…", n))
		}
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// invokeActivity answers an invoke activity as the bot does, with the work it leaves for later.
func (w *world) invokeActivity(a schema.Activity) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	turn := bot.NewTurn(a, w.rec)
	resp := bot.Invoke(ctx, w.c, turn)
	turn.RunLater(ctx)
	return resp
}
