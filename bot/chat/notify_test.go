package chat

import (
	"encoding/json"
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
