package chat

// This file tells people in Teams what changed in ServiceNow. ServiceNow's
// change events only name a record and whom it concerns; each recipient's
// message is read from ServiceNow with that recipient's own token, so the
// instance's ACLs decide what each one sees, and a forged event reveals
// nothing.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/auth/store"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
	"snowbot/servicenow/events"
)

const (
	// coalesceWindow: events for one record within it become one message.
	coalesceWindow = 2 * time.Second
	// eventMemory is how long an event id is remembered, so that ServiceNow
	// sending it again (a retry, a replay) changes nothing.
	eventMemory = 24 * time.Hour
	// claimLease bounds how long an instance may take over one record's
	// events before another instance takes them over (it stopped, say).
	claimLease = 2 * time.Minute
	// batchesAtOnce and sendsAtOnce bound the work in flight: records being
	// handled, and recipients being read and sent to.
	batchesAtOnce = 16
	sendsAtOnce   = 32
	// pollEvery is how often the queue is asked for due work when idle.
	pollEvery = 250 * time.Millisecond
	// readTries is how often a recipient's read is tried when ServiceNow is
	// busy or away, with readPause between tries.
	readTries = 3
	readPause = 3 * time.Second
)

// Notifier takes ServiceNow's change events (it is the events.Inbox behind
// POST /api/servicenow/events) into the store's queue, and delivers them:
// any instance may accept an event and any instance may deliver it.
type Notifier struct {
	Conversation *Conversation
	Store        store.Store
	Sender       *bot.Sender

	sends chan struct{}
}

var _ events.Inbox = (*Notifier)(nil)

// Accept queues an event once: an id seen within eventMemory is acknowledged
// and dropped, on whichever instance it arrives.
func (n *Notifier) Accept(ctx context.Context, e events.Event) error {
	h := sha256.Sum256([]byte("event\x00" + e.ID))
	seen := "event-" + hex.EncodeToString(h[:])
	first, err := n.Store.PutRecordIfAbsent(ctx, seen, []byte{1}, eventMemory)
	if err != nil {
		return err
	}
	if !first {
		n.Conversation.Log.InfoContext(ctx, "change event already handled", "event", e.ID)
		return nil
	}
	item, _ := json.Marshal(e)
	if err := n.Store.Enqueue(ctx, e.Table+":"+e.SysID, item, coalesceWindow); err != nil {
		// Not kept: forget the id, so that ServiceNow's next try is not taken for a repeat.
		_ = n.Store.DeleteRecord(context.WithoutCancel(ctx), seen)
		return err
	}
	return nil
}

// Run delivers queued events until ctx ends, then lets the records in hand
// finish within grace (a batch cut short is delivered again later, by this
// instance after a restart or by another).
func (n *Notifier) Run(ctx context.Context, grace time.Duration) {
	n.sends = make(chan struct{}, sendsAtOnce)
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	slots := make(chan struct{}, batchesAtOnce)
	var wg sync.WaitGroup
	failing := false
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		var batches []store.Batch
		var err error
		if free > 0 {
			batches, err = n.Store.Claim(ctx, free, claimLease)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				n.Conversation.Log.WarnContext(ctx, "the notification queue cannot be read; trying again", "error", err)
			}
			failing = true
			sleep(ctx, time.Second)
			continue
		case err == nil && failing:
			n.Conversation.Log.InfoContext(ctx, "the notification queue can be read again")
			failing = false
		}
		for _, b := range batches {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				n.deliver(work, b)
				fctx, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
				defer cancel()
				if err := n.Store.Finish(fctx, b, coalesceWindow); err != nil {
					n.Conversation.Log.WarnContext(fctx, "a delivered batch stays queued; it may be delivered again", "error", err)
				}
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
		<-done
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// news is what one recipient is told about one record.
type news struct {
	event   string // the kind of the first event; approval_requested for approvals
	created bool
	fields  []string
	comment bool
}

// deliver tells each recipient of a record's events what concerns them, in one message each.
func (n *Notifier) deliver(ctx context.Context, b store.Batch) {
	var table, sysID string
	perRecipient := map[string]*news{}
	var order []string
	for _, raw := range b.Items {
		var e events.Event
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		table, sysID = e.Table, e.SysID
		for _, r := range e.Recipients {
			if r == e.Actor {
				continue // nobody is told what they did themselves
			}
			nw := perRecipient[r]
			if nw == nil {
				nw = &news{event: e.Event}
				perRecipient[r] = nw
				order = append(order, r)
			}
			nw.created = nw.created || e.Event == events.Created
			nw.comment = nw.comment || e.Event == events.Commented
			for _, f := range e.Changed {
				if f != "comments" && !slices.Contains(nw.fields, f) {
					nw.fields = append(nw.fields, f)
				}
			}
		}
	}
	var wg sync.WaitGroup
	for _, r := range order {
		select {
		case n.sends <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-n.sends }()
			n.notify(ctx, r, table, sysID, *perRecipient[r])
		}()
	}
	wg.Wait()
}

// notify tells one recipient, if they are signed in, have a chat with the
// bot, want to hear and may read the record. Reasons for telling nobody are
// logged without naming the person or the record.
func (n *Notifier) notify(ctx context.Context, recipient, table, sysID string, nw news) {
	c := n.Conversation
	log := c.Log.With("table", table)
	user, contact, err := c.Auth.ContactOf(ctx, recipient)
	switch {
	case errors.Is(err, auth.ErrNoRecord):
		log.DebugContext(ctx, "notification not sent: the recipient is not signed in to snowbot")
		return
	case err != nil:
		log.WarnContext(ctx, "notification not sent: the store did not answer", "error", err)
		return
	case contact.Muted:
		log.DebugContext(ctx, "notification not sent: the recipient turned notifications off")
		return
	case contact.Gone:
		log.DebugContext(ctx, "notification not sent: the recipient's chat with the bot no longer exists")
		return
	}
	var ref schema.ConversationReference
	if len(contact.Chat) == 0 || json.Unmarshal(contact.Chat, &ref) != nil {
		log.DebugContext(ctx, "notification not sent: the recipient has no 1:1 chat with the bot")
		return
	}
	msg, ok := n.read(ctx, log, user, ref, table, sysID, nw)
	if !ok {
		return
	}
	if !contact.Told {
		msg.Text = "You get these because you're signed in to snowbot. Type **notifications off** to stop them."
	}
	_, err = n.Sender.Notify(ctx, ref, msg)
	switch {
	case errors.Is(err, bot.ErrConversationGone):
		log.InfoContext(ctx, "the recipient's chat no longer takes messages (the app was removed); skipping them until they write again")
		c.chats.forget(user) // their next message keeps the chat again
		if _, err := c.Auth.UpdateContact(ctx, user, func(ct *auth.Contact) { ct.Gone = true }); err != nil {
			log.WarnContext(ctx, "could not note that a chat is gone", "error", err)
		}
	case err != nil:
		log.WarnContext(ctx, "notification not delivered", "error", err)
	case !contact.Told:
		if _, err := c.Auth.UpdateContact(ctx, user, func(ct *auth.Contact) { ct.Told = true }); err != nil {
			log.WarnContext(ctx, "could not note that the recipient was told how to stop notifications", "error", err)
		}
	}
}

// read builds the recipient's message from the record as they may read it,
// trying again a few times while ServiceNow is busy or away. ok is false when
// there is nothing to send.
func (n *Notifier) read(ctx context.Context, log *slog.Logger, user string, ref schema.ConversationReference, table, sysID string, nw news) (bot.Message, bool) {
	c := n.Conversation
	session := c.ServiceNow.As(c.Auth.Tokens(user))
	for try := 1; ; try++ {
		rctx, cancel := context.WithTimeout(ctx, serviceNowBudget)
		msg, ok, err := n.readOnce(rctx, session, ref, table, sysID, nw)
		cancel()
		if err == nil {
			return msg, ok
		}
		var snErr *servicenow.Error
		errors.As(err, &snErr)
		switch {
		case errors.Is(err, servicenow.ErrNotFound), errors.Is(err, servicenow.ErrForbidden):
			log.InfoContext(ctx, "notification not sent: the recipient may not read the record")
			return bot.Message{}, false
		case errors.Is(err, auth.ErrSignInRequired), errors.Is(err, auth.ErrSessionEnded), errors.Is(err, auth.ErrMisconfigured),
			errors.Is(err, servicenow.ErrUnauthorized):
			log.InfoContext(ctx, "notification not sent: the recipient's ServiceNow session has ended")
			return bot.Message{}, false
		case briefly(err) == "" || try == readTries || ctx.Err() != nil:
			log.WarnContext(ctx, "notification not sent: the record could not be read", "error", err)
			return bot.Message{}, false
		}
		wait := readPause
		if snErr != nil && snErr.RetryAfter > wait {
			wait = snErr.RetryAfter
		}
		sleep(ctx, wait)
	}
}

func (n *Notifier) readOnce(ctx context.Context, s *servicenow.Session, ref schema.ConversationReference, table, sysID string, nw news) (bot.Message, bool, error) {
	base := n.Conversation.ServiceNow.InstanceURL()
	switch table {
	case events.TableIncident:
		inc, err := s.IncidentByID(ctx, sysID)
		if err != nil {
			return bot.Message{}, false, err
		}
		return cardMessage(cards.IncidentNews(base, inc, cards.Change{Created: nw.created, Fields: nw.fields, Commented: nw.comment})), true, nil
	case events.TableApproval:
		a, err := s.ApprovalByID(ctx, sysID)
		if err != nil {
			return bot.Message{}, false, err
		}
		if !a.Requested() {
			return bot.Message{}, false, nil // decided meanwhile: nothing waits for them
		}
		return cardMessage(cards.ApprovalCard(base, a, "", []string{ref.User.ID})), true, nil
	}
	return bot.Message{}, false, nil
}

// notifications answers "notifications", "notifications on" and "notifications off".
func (c *Conversation) notifications(ctx context.Context, t *bot.Turn, arg string) error {
	if !t.Personal() {
		return c.reply(ctx, t, bot.Text(oneToOneOnly))
	}
	arg = strings.ToLower(strings.TrimSpace(arg))
	if arg != "" && arg != "on" && arg != "off" {
		return c.reply(ctx, t, bot.Text("Type **notifications on**, **notifications off**, or **notifications** to see which it is."))
	}
	chat, _ := json.Marshal(personalChat(t))
	contact, err := c.Auth.UpdateContact(ctx, t.User.Key(), func(ct *auth.Contact) {
		ct.Chat, ct.Gone = chat, false
		switch arg {
		case "on":
			ct.Muted = false
		case "off":
			ct.Muted = true
		}
	})
	c.chats.forget(t.User.Key())
	switch {
	case errors.Is(err, auth.ErrSignInRequired):
		m, err := c.promptSignIn(ctx, t, "Notifications come once you're signed in to ServiceNow: I read what changed with your own account.", resume{Text: strings.TrimSpace("notifications " + arg)})
		if err != nil {
			return err
		}
		return c.reply(ctx, t, m)
	case errors.Is(err, auth.ErrUnavailable):
		return c.reply(ctx, t, cardMessage(cards.Problem(temporarilyUnavailable, tryAgainSoon)))
	case err != nil:
		return err
	case contact.Muted:
		return c.reply(ctx, t, bot.Text("Notifications are **off**: I won't tell you when something changes in ServiceNow. Type **notifications on** to get them again."))
	default:
		return c.reply(ctx, t, bot.Text("Notifications are **on**: I tell you here when an incident you raised, are assigned or watch changes or gets a comment, and when something waits for your approval. Type **notifications off** to stop them."))
	}
}

// personalChat is where notifications for the turn's person go: their 1:1 chat, as a new message.
func personalChat(t *bot.Turn) schema.ConversationReference {
	ref := t.Reference()
	ref.ActivityID = ""
	return ref
}

// rememberChat keeps the person's 1:1 chat with their contact whenever they
// write to the bot, so that notifications find them (and find them again
// after they removed and re-added the app). It asks the store once per
// person and chat per chatMemory, not at every message.
func (c *Conversation) rememberChat(ctx context.Context, t *bot.Turn) {
	if !t.Personal() {
		return
	}
	ref := personalChat(t)
	user := t.User.Key()
	where := ref.ServiceURL + "\x00" + ref.Conversation.ID + "\x00" + ref.Bot.ID + "\x00" + ref.User.ID
	if c.chats.known(user, where) {
		return
	}
	chat, _ := json.Marshal(ref)
	_, err := c.Auth.UpdateContact(ctx, user, func(ct *auth.Contact) { ct.Chat, ct.Gone = chat, false })
	switch {
	case err == nil, errors.Is(err, auth.ErrSignInRequired):
		c.chats.remember(user, where)
	default:
		c.Log.WarnContext(ctx, "could not keep the person's chat for notifications; trying again at their next message", "error", err)
	}
}

// chatMemory is how long a person's chat, once kept, is not written again:
// short enough that a chat another instance marked gone is found again soon.
const chatMemory = 10 * time.Minute

// knownChats remembers which people's chats are kept already.
type knownChats struct {
	mu sync.Mutex
	m  map[string]knownChat
}

// knownChat is where a person's chat was, and when it was kept.
type knownChat struct {
	where string
	at    time.Time
}

func (k *knownChats) known(user, where string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[user]
	return ok && e.where == where && time.Since(e.at) < chatMemory
}

func (k *knownChats) remember(user, where string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil || len(k.m) > 100000 {
		k.m = map[string]knownChat{} // a bound, not a cache policy: forgetting costs one store read each
	}
	k.m[user] = knownChat{where: where, at: time.Now()}
}

func (k *knownChats) forget(user string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, user)
}
