package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"snowbot/auth/store/boltstore"
)

// tokenEndpoint is a minimal oauth_token.do: it answers what the test queues,
// or issues tokens.
type tokenEndpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []url.Values
	answers  []func(w http.ResponseWriter)
	n        int
	noRotate bool
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	te := &tokenEndpoint{}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		te.mu.Lock()
		te.requests = append(te.requests, r.PostForm)
		te.n++
		n := te.n
		var answer func(http.ResponseWriter)
		if len(te.answers) > 0 {
			answer, te.answers = te.answers[0], te.answers[1:]
		}
		noRotate := te.noRotate
		te.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		body := map[string]any{"access_token": "access-" + string(rune('a'+n)), "token_type": "Bearer", "expires_in": 1799}
		if !noRotate || r.PostForm.Get("grant_type") == "authorization_code" {
			body["refresh_token"] = "refresh-" + string(rune('a'+n))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) answer(status int, body string) {
	te.mu.Lock()
	te.answers = append(te.answers, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	te.mu.Unlock()
}

func (te *tokenEndpoint) count() int {
	te.mu.Lock()
	defer te.mu.Unlock()
	return len(te.requests)
}

func newService(t *testing.T, te *tokenEndpoint, edit func(c *Config)) (*Service, *boltstore.Store) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{
		InstanceURL: te.URL, ClientID: "id", ClientSecret: "secret", ClientAuth: "body", PKCE: true,
		RedirectURL: "https://bot.example/auth/callback", Key: key, Store: st,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// callback completes the ServiceNow redirect for the state in authURL.
func callback(t *testing.T, s *Service, authURL string) CallbackResult {
	t.Helper()
	u, _ := url.Parse(authURL)
	return s.Callback(context.Background(), u.Query().Get("state"), "the-code", "", "")
}

func signedIn(t *testing.T, s *Service, user string) {
	t.Helper()
	ctx := context.Background()
	link, err := s.StartSignIn(ctx, user, json.RawMessage(`{"text":"incidents"}`))
	if err != nil {
		t.Fatal(err)
	}
	res := callback(t, s, link)
	if res.Err != nil {
		t.Fatalf("callback: %v", res.Err)
	}
	done, err := s.CompleteSignIn(ctx, user, res.Code)
	resume := done.Resume
	if err != nil || string(resume) != `{"text":"incidents"}` {
		t.Fatalf("CompleteSignIn = %s, %v", resume, err)
	}
}

func TestLateCodeBindsNothing(t *testing.T) {
	te := newTokenEndpoint(t)
	s, _ := newService(t, te, func(c *Config) { c.CodeTTL = 300 * time.Millisecond })
	link, _ := s.StartSignIn(context.Background(), "t/ada", nil)
	res := callback(t, s, link)
	time.Sleep(600 * time.Millisecond)
	if _, err := s.CompleteSignIn(context.Background(), "t/ada", res.Code); !errors.Is(err, ErrNoSignInWaiting) {
		t.Fatalf("late code: %v", err)
	}
	if _, err := s.Tokens("t/ada").Token(context.Background()); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("a late code signed the user in: %v", err)
	}
}

func TestExpiredStateIsRefused(t *testing.T) {
	te := newTokenEndpoint(t)
	s, _ := newService(t, te, func(c *Config) { c.StateTTL = time.Second })
	link, _ := s.StartSignIn(context.Background(), "t/ada", nil)
	time.Sleep(2100 * time.Millisecond)
	res := callback(t, s, link)
	if !errors.Is(res.Err, ErrStateExpired) || te.count() != 0 {
		t.Fatalf("expired state: %v, %d token requests", res.Err, te.count())
	}
}

func TestRefreshKeepsTheOldRefreshTokenAndPersistsFirst(t *testing.T) {
	te := newTokenEndpoint(t)
	s, _ := newService(t, te, nil)
	signedIn(t, s, "t/ada")
	te.mu.Lock()
	te.noRotate = true
	te.mu.Unlock()
	ctx := context.Background()
	tokens := s.Tokens("t/ada")
	old, _ := tokens.Token(ctx)
	fresh, err := tokens.Refresh(ctx, old)
	if err != nil || fresh == old {
		t.Fatalf("Refresh = %q, %v", fresh, err)
	}
	stored, _ := s.loadTokens(ctx, "t/ada")
	if stored.Access != fresh || stored.Refresh != "refresh-b" {
		t.Fatalf("stored %+v", stored)
	}
	// The stale token was already replaced: no second refresh.
	again, err := tokens.Refresh(ctx, old)
	if err != nil || again != fresh || te.count() != 2 {
		t.Fatalf("second Refresh = %q, %v after %d requests", again, err, te.count())
	}
	last := te.requests[1]
	if last.Get("grant_type") != "refresh_token" || last.Get("refresh_token") != "refresh-b" || last.Get("client_secret") != "secret" {
		t.Fatalf("refresh request %v", last)
	}
}

func TestRefreshFailures(t *testing.T) {
	cases := []struct {
		status  int
		body    string
		want    error
		deletes bool
	}{
		{http.StatusBadRequest, `{"error":"invalid_grant","error_description":"expired"}`, ErrSessionEnded, true},
		{http.StatusUnauthorized, `{"error":"server_error","error_description":"access_denied"}`, ErrSessionEnded, true},
		{http.StatusUnauthorized, `{"error":"invalid_client","error_description":"Client authentication failed"}`, ErrMisconfigured, false},
		{http.StatusInternalServerError, `oops`, ErrServiceNowUnavailable, false},
		{http.StatusServiceUnavailable, ``, ErrServiceNowUnavailable, false},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			te := newTokenEndpoint(t)
			s, _ := newService(t, te, nil)
			signedIn(t, s, "t/ada")
			te.answer(c.status, c.body)
			ctx := context.Background()
			old, _ := s.Tokens("t/ada").Token(ctx)
			_, err := s.Tokens("t/ada").Refresh(ctx, old)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if errors.Is(err, ErrSessionEnded) && !errors.Is(err, ErrSignInRequired) {
				t.Fatal("ErrSessionEnded is not a sign-in-required error")
			}
			_, lerr := s.loadTokens(ctx, "t/ada")
			if ok := lerr == nil; ok == c.deletes {
				t.Fatalf("signed in after failure: %v", ok)
			}
		})
	}
}

func TestARecordMovedToAnotherUserDoesNotOpen(t *testing.T) {
	te := newTokenEndpoint(t)
	s, st := newService(t, te, nil)
	signedIn(t, s, "t/ada")
	ctx := context.Background()
	sealed, _ := st.GetTokens(ctx, "t/ada")
	_ = st.PutTokens(ctx, "t/mallory", sealed)
	if _, err := s.Tokens("t/mallory").Token(ctx); !errors.Is(err, ErrSignInRequired) {
		t.Fatalf("Ada's record opened for Mallory: %v", err)
	}
}

func TestVerificationCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newVerificationCode()
		if len(c) != 6 || NormalizeCode(c) != c {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for in, want := range map[string]string{"123 456": "123456", " 123-456 ": "123456", "12345": "", "1234567": "", "12a456": "", "incidents": ""} {
		if got := NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q", in, got)
		}
	}
}
