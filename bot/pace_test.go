package bot

import (
	"testing"
	"time"
)

// Send times handed out for a burst never put more into any window than Teams
// allows, and come as early as the limits let them.
func TestPacerKeepsEveryWindowWithinItsLimit(t *testing.T) {
	p := newPacer(conversationLimits)
	start := time.Unix(1_800_000_000, 0)
	var times []time.Time
	for range 200 {
		times = append(times, p.reserve("a:conversation", start))
	}
	for _, w := range conversationLimits {
		for i := range times {
			n := 0
			for _, u := range times[i:] {
				if u.Sub(times[i]) < w.Span {
					n++
				}
			}
			if n > w.Max {
				t.Fatalf("%d messages within %s from %s (limit %d)", n, w.Span, times[i].Sub(start), w.Max)
			}
		}
	}
	if got := times[6].Sub(start); got != 0 {
		t.Errorf("the seventh message waited %s: seven per second may go at once", got)
	}
	if got := times[59].Sub(start); got > 30*time.Second {
		t.Errorf("the 60th message waited %s", got)
	}
	// Another conversation is not held up by this one.
	if at := p.reserve("another", start); !at.Equal(start) {
		t.Errorf("another conversation waits %s", at.Sub(start))
	}
}
