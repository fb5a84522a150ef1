package bot

import (
	"context"
	"sync"
	"time"
)

// Window is one of Teams' limits: at most Max messages within Span.
type Window struct {
	Span time.Duration
	Max  int
}

// Teams' limits on the messages a bot sends of its own accord. Per
// conversation, every window holds at once; per tenant, an app may send about
// 30 a second in all. A 429 beyond these is still honoured by the connector's
// Retry-After handling.
var (
	conversationLimits = inHand([]Window{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}, {time.Hour, 1800}})
	tenantLimits       = inHand([]Window{{time.Second, 30}})
)

// inHand widens each window by a tenth, and by at least minHand: sends paced
// exactly at a limit's edge arrive as the way there lets them, some closer
// together than they left, and Teams counts arrivals.
func inHand(limits []Window) []Window {
	const minHand = 250 * time.Millisecond
	out := make([]Window, len(limits))
	for i, w := range limits {
		out[i] = Window{Span: w.Span + max(w.Span/10, minHand), Max: w.Max}
	}
	return out
}

// pacer hands out send times so that no window of any key is ever over its
// limit. It is a sliding log written by hand: golang.org/x/time/rate's token
// bucket holds one rate, and a bucket that honours 7 per second lets 9 through
// within some second-long windows, and Teams counts several windows at once.
type pacer struct {
	limits []Window
	mu     sync.Mutex
	sent   map[string][]time.Time // per key, the send times handed out, oldest first
}

func newPacer(limits []Window) *pacer {
	return &pacer{limits: limits, sent: map[string][]time.Time{}}
}

// reserve returns the earliest time from now at which a message for key may
// go out, in the order asked, and counts it as sent then.
func (p *pacer) reserve(key string, now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	longest := p.limits[len(p.limits)-1].Span
	log := p.sent[key]
	for len(log) > 0 && !log[0].After(now.Add(-longest)) {
		log = log[1:]
	}
	at := now
	if n := len(log); n > 0 && log[n-1].After(at) {
		at = log[n-1]
	}
	for _, w := range p.limits {
		if n := len(log); n >= w.Max {
			if t := log[n-w.Max].Add(w.Span); t.After(at) {
				at = t
			}
		}
	}
	p.sent[key] = append(log, at)
	if len(p.sent) > 10000 {
		p.forgetIdle(now.Add(-longest))
	}
	return at
}

// forgetIdle drops keys that sent nothing since before.
func (p *pacer) forgetIdle(before time.Time) {
	for k, log := range p.sent {
		if len(log) == 0 || log[len(log)-1].Before(before) {
			delete(p.sent, k)
		}
	}
}

// wait blocks until a message for key may go out.
func (p *pacer) wait(ctx context.Context, key string) error {
	return sleepFor(ctx, time.Until(p.reserve(key, time.Now())))
}
