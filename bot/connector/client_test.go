package connector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"golang.org/x/oauth2"
)

func reply(serviceURL string) Activity {
	return Activity{
		Type:         schema.Message,
		Text:         "hi",
		ServiceURL:   serviceURL,
		Conversation: schema.ConversationAccount{ID: "19:abc@thread.tacv2;messageid=42"},
		ReplyToID:    "1700",
	}
}

// noSleep records the waits instead of sleeping.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.mu.Lock()
	n.waits = append(n.waits, d)
	n.mu.Unlock()
	return nil
}

func TestRetriesThrottlingHonouringRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		path = r.URL.EscapedPath()
		switch n {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "new-id"})
		}
	}))
	defer srv.Close()
	ns := &noSleep{}
	c := &Client{Sleep: ns.sleep}
	id, err := c.Send(context.Background(), reply(srv.URL+"/amer/"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "new-id" || calls.Load() != 3 {
		t.Errorf("id %q after %d calls", id, calls.Load())
	}
	if ns.waits[0] != 3*time.Second {
		t.Errorf("first wait %s, want the Retry-After of 3s", ns.waits[0])
	}
	if ns.waits[1] < baseDelay || ns.waits[1] > 2*baseDelay {
		t.Errorf("second wait %s, want backoff between %s and %s", ns.waits[1], baseDelay, 2*baseDelay)
	}
	if want := "/amer/v3/conversations/19:abc@thread.tacv2;messageid=42/activities/1700"; path != want {
		t.Errorf("path %s, want %s", path, want)
	}
}

func TestGivesUpAfterMaxTriesAndOnClientErrors(t *testing.T) {
	var calls atomic.Int32
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := &Client{Sleep: (&noSleep{}).sleep}
	_, err := c.Send(context.Background(), reply(srv.URL))
	var he *HTTPError
	if !errors.Is(err, ErrNotDelivered) || !errors.As(err, &he) || he.Status != status || calls.Load() != MaxTries {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	status = http.StatusBadRequest
	if _, err := c.Send(context.Background(), reply(srv.URL)); err == nil || calls.Load() != 1 {
		t.Fatalf("400 retried: %d calls, err %v", calls.Load(), err)
	}
}

func TestRetryAfterBeyondTheBudgetStopsEarly(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := &Client{Sleep: (&noSleep{}).sleep}
	if _, err := c.Send(context.Background(), reply(srv.URL)); err == nil || calls.Load() != 1 {
		t.Fatalf("%d calls, err %v", calls.Load(), err)
	}
}

type countingTokens struct {
	invalidated atomic.Int32
	n           atomic.Int32
}

func (c *countingTokens) Token(context.Context) (string, error) {
	return "tok-" + string(rune('0'+c.n.Add(1))), nil
}
func (c *countingTokens) Invalidate() { c.invalidated.Add(1) }

func TestRefusedBotTokenIsReplacedOnce(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			t.Errorf("retry carried %q", r.Header.Get("Authorization"))
		}
	}))
	defer srv.Close()
	tokens := &countingTokens{}
	c := &Client{Tokens: tokens, Sleep: (&noSleep{}).sleep}
	if _, err := c.Send(context.Background(), reply(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if tokens.invalidated.Load() != 1 {
		t.Errorf("invalidated %d times", tokens.invalidated.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	if d := parseRetryAfter("7"); d != 7*time.Second {
		t.Errorf("seconds: %s", d)
	}
	if d := parseRetryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); d < 8*time.Second || d > 10*time.Second {
		t.Errorf("date: %s", d)
	}
	if d := parseRetryAfter("soon"); d != 0 {
		t.Errorf("garbage: %s", d)
	}
}

func TestAnActivityCarriesOnlyWhatTheBotSet(t *testing.T) {
	b, err := json.Marshal(Activity{
		Type: schema.Message,
		Text: "hi",
		Attachments: []schema.Attachment{{ContentType: "application/vnd.microsoft.card.adaptive",
			Content: map[string]any{"type": "AdaptiveCard", "actions": []any{map[string]any{"type": "Action.Submit", "data": map[string]any{}}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, bad := range []string{"0001-01-01", "suggestedActions", "relatesTo", "semanticAction", "expiration"} {
		if strings.Contains(s, bad) {
			t.Errorf("encoded activity has %s: %s", bad, s)
		}
	}
	if !strings.Contains(s, `"data":{}`) {
		t.Errorf("the card's own empty object was lost: %s", s)
	}
}

func TestCachedTokenFetchesOnceForConcurrentCallers(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	c := NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		fetches.Add(1)
		<-release
		return &oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)}, nil
	})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := c.Token(context.Background()); err != nil || tok != "t" {
				t.Errorf("token %q, err %v", tok, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if fetches.Load() != 1 {
		t.Errorf("%d fetches, want 1", fetches.Load())
	}
}

func TestCachedTokenRenewsFiveMinutesBeforeExpiry(t *testing.T) {
	var fetches atomic.Int32
	expiry := time.Now().Add(4 * time.Minute)
	c := NewCachedToken(func(ctx context.Context) (*oauth2.Token, error) {
		fetches.Add(1)
		return &oauth2.Token{AccessToken: "t", Expiry: expiry}, nil
	})
	_, _ = c.Token(context.Background())
	_, _ = c.Token(context.Background())
	if fetches.Load() != 2 {
		t.Errorf("a token 4 minutes from expiry was reused (%d fetches)", fetches.Load())
	}
	expiry = time.Now().Add(time.Hour)
	_, _ = c.Token(context.Background())
	_, _ = c.Token(context.Background())
	if fetches.Load() != 3 {
		t.Errorf("%d fetches, want 3", fetches.Load())
	}
	c.Invalidate()
	_, _ = c.Token(context.Background())
	if fetches.Load() != 4 {
		t.Errorf("Invalidate did not force a fetch")
	}
}

func TestActivitiesURLKeepsAThreadsMessageID(t *testing.T) {
	got := ActivitiesURL("https://smba.trafficmanager.net/emea/", "19:abc@thread.tacv2;messageid=1733300000000", "")
	if want := "https://smba.trafficmanager.net/emea/v3/conversations/19:abc@thread.tacv2;messageid=1733300000000/activities"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := ActivitiesURL("https://x/", "a/b?c#d e%", "1"); got != "https://x/v3/conversations/a%2Fb%3Fc%23d%20e%25/activities/1" {
		t.Errorf("got %s", got)
	}
}
