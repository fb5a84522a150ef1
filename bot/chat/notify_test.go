package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/servicenow/events"
)

// The pause before a batch is tried again grows with how long it has failed,
// stays within its bounds, and is never shorter than a service asked for.
func TestRetryDelayGrowsWithTheWait(t *testing.T) {
	cases := []struct {
		age, after, min, max time.Duration
	}{
		{0, 0, retryMin, retryMin * 11 / 10},
		{10 * time.Second, 0, 5 * time.Second, 5500 * time.Millisecond},
		{time.Hour, 0, retryMax, retryMax * 11 / 10},
		{0, 20 * time.Second, 20 * time.Second, 20 * time.Second},
	}
	for _, c := range cases {
		for range 20 {
			if d := retryDelay(c.age, c.after); d < c.min || d > c.max {
				t.Errorf("retryDelay(%s, %s) = %s, want within [%s, %s]", c.age, c.after, d, c.min, c.max)
			}
		}
	}
}

// Events queued before they carried their time are still delivered, as
// accepted now; what cannot be read is skipped.
func TestDecodeBatchReadsBothShapes(t *testing.T) {
	e := events.Event{ID: "e1", Table: "incident", SysID: "0123456789abcdef0123456789abcdef", Event: "updated", Recipients: []string{"0123456789abcdef0123456789abcdef"}}
	plain, _ := json.Marshal(e)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	wrapped, _ := json.Marshal(queued{Event: events.Event{ID: "e2"}, Accepted: at})
	got := decodeBatch(Batch{Items: [][]byte{plain, wrapped, []byte("not json")}})
	if len(got) != 2 || got[0].Event.ID != "e1" || time.Since(got[0].Accepted) > time.Minute || got[1].Event.ID != "e2" || !got[1].Accepted.Equal(at) {
		t.Fatalf("decodeBatch = %+v", got)
	}
}

// One mark per event and recipient: the same event for another person, or
// another event for the same person, is another mark.
func TestToldKeysAreDistinct(t *testing.T) {
	a, b, c := toldKey("e1", "r1"), toldKey("e1", "r2"), toldKey("e2", "r1")
	if a == b || a == c || b == c || a != toldKey("e1", "r1") {
		t.Fatalf("keys %s %s %s", a, b, c)
	}
}

// marks is the told marks of a Queue, in memory.
type marks struct {
	Queue
	mu   sync.Mutex
	keys map[string]bool
}

func (m *marks) Mark(_ context.Context, keys []string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		m.keys[k] = true
	}
	return nil
}

func (m *marks) Marked(_ context.Context, keys []string) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]bool, len(keys))
	for i, k := range keys {
		out[i] = m.keys[k]
	}
	return out, nil
}

// An event older than the delivery window is tried for nobody; it is given up
// with one ERROR line that counts whom it never reached (not whoever was told,
// nor whoever could never be: a final outcome is noted when it comes).
func TestAnEventPastTheWindowIsDroppedWithOneLine(t *testing.T) {
	var logs bytes.Buffer
	q := &marks{keys: map[string]bool{}}
	n := &Notifier{Conversation: &Conversation{Log: slog.New(slog.NewJSONHandler(&logs, nil))}, Queue: q}
	ctx := context.Background()
	n.noteFinal(ctx, neverTold, []string{"old"}, "user:muted") // notifications off, found on an earlier try
	n.noteFinal(ctx, notYet, []string{"old"}, "user:later")    // ServiceNow did not answer: not final
	q.keys[toldKey("old", "user:told")] = true                 // told before

	a := audience{people: map[string]*news{}, expired: map[string][]string{}}
	old := queued{Event: events.Event{ID: "old"}, Accepted: time.Now().Add(-deliveryWindow - time.Minute)}
	fresh := queued{Event: events.Event{ID: "fresh"}, Accepted: time.Now().Add(-time.Hour)}
	for _, user := range []string{"muted", "later", "told", "never"} {
		a.add(user, old)
	}
	a.add("later", fresh)
	if len(a.people) != 1 || a.people["later"] == nil || len(a.people["later"].ids) != 1 || a.people["later"].ids[0] != "fresh" {
		t.Fatalf("who is tried: %+v", a.people)
	}
	n.dropExpired(ctx, a.expired)
	n.dropExpired(ctx, map[string][]string{"old": {"user:later", "user:never"}}) // a later try of the same batch
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"ERROR"`) || !strings.Contains(lines[0], `"event":"old","count":2`) {
		t.Fatalf("the log:\n%s", logs.String())
	}
}

// notifications lists the last five sent, newest first.
func TestTheHistoryKeepsTheLastFiveNewestFirst(t *testing.T) {
	w := signedIn(t, nil)
	key := strings.ToLower(ada.Tenant) + "/" + strings.ToLower(ada.ObjectID)
	for i := 1; i <= 7; i++ {
		w.c.addToHistory(context.Background(), key, fmt.Sprintf("Notification number %d", i))
	}
	w.say(ada, "notifications")
	got := w.next(ada).JSON()
	at := func(n int) int { return strings.Index(got, fmt.Sprintf("Notification number %d", n)) }
	for n := 3; n <= 7; n++ {
		if at(n) < 0 {
			t.Fatalf("the list lacks number %d: %s", n, got)
		}
	}
	if at(1) >= 0 || at(2) >= 0 || !(at(7) < at(6) && at(6) < at(5) && at(5) < at(4) && at(4) < at(3)) {
		t.Errorf("not the last five, newest first: %s", got)
	}
}
