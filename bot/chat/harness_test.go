package chat

// The conversation, tested in-process: a Conversation wired as wire.go wires
// it (sign-in with a bbolt store, the ServiceNow client), against the
// in-memory ServiceNow instance served on loopback, with its answers
// recorded instead of outgoing to Teams.

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

// outgoing is one activity the conversation outgoing, as the recorder saw it.
type outgoing struct {
	Conversation string
	Update       string // the id of the message it replaces, for an update
	Message      bot.Message
}

// JSON is the message as JSON text, for searching.
func (s outgoing) JSON() string { b, _ := json.Marshal(s.Message); return string(b) }

// recorder is a bot.Replier that keeps what would have gone to Teams.
type recorder struct {
	mu       sync.Mutex
	outgoing []outgoing
	n        int
}

func (r *recorder) Send(ctx context.Context, ref schema.ConversationReference, m bot.Message) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	r.outgoing = append(r.outgoing, outgoing{Conversation: ref.Conversation.ID, Message: m})
	return fmt.Sprintf("1%012d", r.n), nil
}

func (r *recorder) Update(ctx context.Context, ref schema.ConversationReference, id string, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outgoing = append(r.outgoing, outgoing{Conversation: ref.Conversation.ID, Update: id, Message: m})
	return nil
}

func (r *recorder) Typing(context.Context, schema.ConversationReference) error { return nil }

func (r *recorder) OpenPersonal(ctx context.Context, serviceURL string, bot, member schema.ChannelAccount, tenant string) (string, error) {
	return "a:" + strings.TrimPrefix(member.ID, "29:") + "-personal", nil
}

// since returns what was sent after the first n activities.
func (r *recorder) since(n int) []outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outgoing(nil), r.outgoing[n:]...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.outgoing)
}

// person is someone in Teams.
type person struct {
	ID, Name, ObjectID, Tenant string
	Zone, Locale               string
}

func (p person) conversation() string { return "a:" + strings.TrimPrefix(p.ID, "29:") + "-personal" }

var (
	ada = person{ID: "29:1ada", Name: "Ada Lovelace", ObjectID: "a0a0a0a0-0000-4000-8000-00000000000a", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		Zone: "Europe/Paris", Locale: "fr-FR"}
	bob = person{ID: "29:1bob", Name: "Bob Smith", ObjectID: "b0b0b0b0-0000-4000-8000-00000000000b", Tenant: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		Zone: "America/New_York", Locale: "en-US"}
)

// harness is a conversation and what it talks to.
type harness struct {
	t   *testing.T
	c   *Conversation
	sn  *instance.Instance
	rec *recorder
	seq int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sn := instance.New()
	srv := httptest.NewServer(sn.Handler())
	t.Cleanup(srv.Close)
	sn.BaseURL = srv.URL
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
	return &harness{t: t, sn: sn, rec: &recorder{},
		c: &Conversation{Log: log, Auth: a, ServiceNow: client, ResolveCode: "Solution provided", Locks: st}}
}

// activity is what Teams sends for p in their 1:1 chat with the bot.
func (h *harness) activity(p person, kind schema.ActivityTypes) schema.Activity {
	h.seq++
	return schema.Activity{
		Type: kind, ID: fmt.Sprintf("1%012d", h.seq), ServiceURL: "https://smba.example.net/amer/", ChannelID: "msteams",
		From:          schema.ChannelAccount{ID: p.ID, Name: p.Name, AadObjectID: p.ObjectID},
		Recipient:     schema.ChannelAccount{ID: "28:snowbot", Name: "snowbot"},
		Conversation:  schema.ConversationAccount{ID: p.conversation(), ConversationType: "personal", TenantID: p.Tenant},
		LocalTimezone: p.Zone, Locale: p.Locale,
	}
}

// say sends text from p and returns what the conversation answered.
func (h *harness) say(p person, text string) []outgoing {
	h.t.Helper()
	a := h.activity(p, schema.Message)
	a.Text = text
	return h.run(a)
}

// run answers an activity as the bot would and returns what was outgoing.
func (h *harness) run(a schema.Activity) []outgoing {
	h.t.Helper()
	before := h.rec.count()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.c.OnMessage(ctx, bot.NewTurn(a, h.rec)); err != nil {
		h.t.Fatalf("the turn failed: %v", err)
	}
	return h.rec.since(before)
}

// one is the only message of an answer.
func one(t *testing.T, got []outgoing) outgoing {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1: %+v", len(got), got)
	}
	return got[0]
}

var signInURLPattern = regexp.MustCompile(`https?://[^"\s]*/oauth_auth\.do\?[^"\s]*`)

// signIn signs p in as the ServiceNow user snUser: a command that needs
// ServiceNow, the authorize page, the callback, the code typed in the chat.
func (h *harness) signIn(p person, snUser string) {
	h.t.Helper()
	card := one(h.t, h.say(p, "notifications"))
	link := signInURLPattern.FindString(strings.ReplaceAll(card.JSON(), `\u0026`, "&"))
	if link == "" {
		h.t.Fatalf("no sign-in card: %s", card.JSON())
	}
	h.sn.Configure(func(s *instance.Instance) { s.BrowserUser = snUser })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	q := back.Query()
	res := h.c.Auth.Callback(context.Background(), q.Get("state"), q.Get("code"), q.Get("error"), q.Get("error_description"))
	if res.Err != nil {
		h.t.Fatalf("callback: %v", res.Err)
	}
	if got := h.say(p, res.Code); len(got) == 0 || !strings.Contains(got[0].Message.Text, "signed in") {
		h.t.Fatalf("the code was not confirmed: %+v", got)
	}
}

func mustContain(t *testing.T, what, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if !strings.Contains(haystack, n) {
			t.Errorf("%s lacks %q:\n%s", what, n, haystack)
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
