package chat

// This file takes ServiceNow's change events into a durable queue and works
// it: any instance may accept an event and any instance may deliver it. A
// batch (the events of one record) is finished only when every recipient was
// told or can never be; otherwise it goes back into the queue and is tried
// again, with growing pauses, for a day.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"time"

	"snowbot/bot"
	"snowbot/servicenow/events"
)

const (
	// coalesceWindow: events for one record within it become one message.
	coalesceWindow = 2 * time.Second
	// eventMemory is how long an event id is remembered, so that ServiceNow
	// sending it again (a retry, a replay) changes nothing.
	eventMemory = 24 * time.Hour
	// deliveryWindow is how long an event is tried for a recipient that could
	// not be told for now; then it is dropped, with an ERROR log line.
	deliveryWindow = 24 * time.Hour
	// toldMemory is how long "told" marks are kept: longer than anything is tried.
	toldMemory = deliveryWindow + 24*time.Hour
	// claimLease is how long a batch is an instance's without a sign of life:
	// its claim is extended every claimLease/3 while work goes on, so only an
	// instance that stopped (or lost the store for that long) lets it go.
	claimLease = 15 * time.Second
	// batchesAtOnce and recipientsAtOnce bound the work in flight: records
	// being handled, and recipients being read.
	batchesAtOnce    = 16
	recipientsAtOnce = 32
	// pollEvery is how often the queue is asked for due work when idle.
	pollEvery = 250 * time.Millisecond
	// retryMin and retryMax bound the pause before a batch is tried again: half
	// the time it has waited so far, so the pauses grow as a failure lasts.
	retryMin = time.Second
	retryMax = 10 * time.Minute
)

// Queue is the durable queue of change events, with the marks that say who
// was already told: the store, shared by every instance.
type Queue interface {
	// EnqueueOnce adds item to key's batch unless once was seen within
	// memory; remembering once and keeping item are one atomic step.
	EnqueueOnce(ctx context.Context, once string, memory time.Duration, key string, item []byte, delay time.Duration) (bool, error)
	// Claim takes up to max due batches for lease.
	Claim(ctx context.Context, max int, lease time.Duration) ([]Batch, error)
	// Extend keeps a claim for another lease; false when it is no longer b's.
	Extend(ctx context.Context, b Batch, lease time.Duration) (bool, error)
	// Finish removes what b handed out; what joined since is due after delay.
	Finish(ctx context.Context, b Batch, delay time.Duration) error
	// Retry gives b back whole, due after delay.
	Retry(ctx context.Context, b Batch, delay time.Duration) error
	// Mark and Marked keep and read flags shared by every instance.
	Mark(ctx context.Context, keys []string, ttl time.Duration) error
	Marked(ctx context.Context, keys []string) ([]bool, error)
	// Stats says how many batches wait and since when the oldest is due.
	Stats(ctx context.Context) (QueueStats, error)
}

// QueueStats describe what waits in the queue.
type QueueStats struct {
	Batches   int
	OldestDue time.Time // zero when nothing waits
}

// Batch is the items queued under one key (one record), oldest first, as one claim handed them out.
type Batch struct {
	Key   string
	Items [][]byte
	Claim string
}

// queued is an event as it waits in the queue: with when it was accepted,
// which says how long it has been tried.
type queued struct {
	Event    events.Event `json:"event"`
	Accepted time.Time    `json:"accepted"`
}

// Notifier takes ServiceNow's change events (it is the events.Inbox behind
// POST /api/servicenow/events) into the queue, and delivers them.
type Notifier struct {
	Conversation *Conversation
	Queue        Queue
	Sender       *bot.Sender

	reading chan struct{} // recipients being read at once
	sending chan struct{} // the one send under way (see deliverTo)
	// abandon ends what is still running after the shutdown grace: a send's
	// mark that the store would not take, say.
	abandon chan struct{}
	once    sync.Once
}

var _ events.Inbox = (*Notifier)(nil)

func (n *Notifier) init() {
	n.once.Do(func() {
		n.reading = make(chan struct{}, recipientsAtOnce)
		n.sending = make(chan struct{}, 1)
		n.abandon = make(chan struct{})
	})
}

// onceKey is the store's name for an event id.
func onceKey(id string) string {
	h := sha256.Sum256([]byte("event\x00" + id))
	return hex.EncodeToString(h[:])
}

// Accept queues an event once: an id seen within eventMemory is acknowledged
// and dropped, on whichever instance it arrives. An error means nothing was
// kept, so ServiceNow's next try is handled as the first.
func (n *Notifier) Accept(ctx context.Context, e events.Event) (fresh bool, err error) {
	item, err := json.Marshal(queued{Event: e, Accepted: time.Now().UTC()})
	if err != nil {
		return false, err
	}
	first, err := n.Queue.EnqueueOnce(ctx, onceKey(e.ID), eventMemory, e.Table+":"+e.SysID, item, coalesceWindow)
	if err != nil {
		return false, err
	}
	if !first {
		n.Conversation.Log.InfoContext(ctx, "change event already handled", "event", e.ID)
	}
	return first, nil
}

// Run delivers queued events until ctx ends, then lets the batches in hand
// finish within grace; what they did not finish goes back into the queue at
// once, for this instance after a restart or for another.
func (n *Notifier) Run(ctx context.Context, grace time.Duration) {
	n.init()
	defer n.observeQueue()()
	log := n.Conversation.Log
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	slots := make(chan struct{}, batchesAtOnce)
	var wg sync.WaitGroup
	failing := false
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		var batches []Batch
		var err error
		if free > 0 {
			batches, err = n.Queue.Claim(ctx, free, claimLease)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				log.WarnContext(ctx, "the notification queue cannot be read; trying again", "error", err)
			}
			failing = true
			sleep(ctx, time.Second)
			continue
		case err == nil && failing:
			log.InfoContext(ctx, "the notification queue can be read again")
			failing = false
		}
		for _, b := range batches {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				n.work(work, b)
			}()
		}
		if len(batches) < free {
			sleep(ctx, pollEvery)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		stopWork()
		select {
		case <-done:
		case <-time.After(grace):
			close(n.abandon)
			<-done
		}
	}
}

// work delivers one batch while keeping its claim, then settles it.
func (n *Notifier) work(ctx context.Context, b Batch) {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		n.keepClaim(bctx, cancel, b)
	}()
	res := n.deliver(bctx, b)
	cancel()
	<-kept
	n.settle(ctx, b, res)
}

// keepClaim extends b's claim every claimLease/3 until ctx ends. A claim that
// was lost meanwhile (the store was away for a whole lease and another
// instance took the batch) stops the work: the other instance does it.
func (n *Notifier) keepClaim(ctx context.Context, stop context.CancelFunc, b Batch) {
	t := time.NewTicker(claimLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := n.Queue.Extend(ctx, b, claimLease)
		if err == nil && !ok {
			n.Conversation.Log.WarnContext(ctx, "another instance took over a batch of notifications; leaving it to that one")
			stop()
			return
		}
	}
}

// settle finishes a batch whose every recipient was told or never can be,
// drops what was tried for deliveryWindow, and gives the rest back for a later try.
func (n *Notifier) settle(ctx context.Context, b Batch, res batchResult) {
	log := n.Conversation.Log
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if res.pending == 0 {
		if err := n.Queue.Finish(sctx, b, coalesceWindow); err != nil {
			log.WarnContext(sctx, "a delivered batch stays queued; it is worked again, and whoever was told is skipped", "error", err)
		}
		return
	}
	delay := retryDelay(time.Since(res.oldest), res.retryAfter)
	if ctx.Err() != nil {
		delay = 0 // cut short by a shutdown: any instance may go on at once
	}
	if err := n.Queue.Retry(sctx, b, delay); err != nil {
		log.WarnContext(sctx, "a batch of notifications could not be given back; it is worked again when its claim lapses", "error", err)
	}
}

// retryDelay is the pause before a batch whose oldest untold event waited
// for age is tried again: half of age within [retryMin, retryMax], never
// sooner than the service asked (after), with a little jitter so that
// instances do not move in step.
func retryDelay(age, after time.Duration) time.Duration {
	d := min(max(age/2, retryMin), retryMax)
	d += rand.N(d/10 + 1)
	return max(d, after)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
