package chat

// This file delivers one batch: what each recipient is told about one record,
// read with that recipient's own token, so the instance's ACLs decide what each
// one sees and a forged event reveals nothing. Each recipient's outcome is one
// of three: told, never to be told (final), or not now (transient: tried again).

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow/events"
)

// batchResult is what became of a batch: how many recipients are still to
// be told, since when the oldest of their events waits, and the longest
// pause a service asked for.
type batchResult struct {
	pending    int
	oldest     time.Time
	retryAfter time.Duration
}

// outcome kinds of one recipient.
type delivery int

const (
	told      delivery = iota
	neverTold          // final: nothing is sent, now or later
	notYet             // transient: tried again later
)

// news is what one recipient is told about one record: the events it covers.
type news struct {
	event   string // the kind of the first event; approval_requested for approvals
	created bool
	fields  []string
	comment bool
	ids     []string  // the events, for the marks that say they were told
	oldest  time.Time // when the oldest of them was accepted
}

func (nw *news) add(q queued) {
	e := q.Event
	if len(nw.ids) == 0 {
		nw.event, nw.oldest = e.Event, q.Accepted
	}
	nw.ids = append(nw.ids, e.ID)
	nw.created = nw.created || e.Event == events.Created
	nw.comment = nw.comment || e.Event == events.Commented || slices.Contains(e.Changed, "comments")
	for _, f := range e.Changed {
		if f != "comments" && !slices.Contains(nw.fields, f) {
			nw.fields = append(nw.fields, f)
		}
	}
}

// change is what the news says happened.
func (nw news) change() cards.Change {
	return cards.Change{Created: nw.created, Fields: nw.fields, Commented: nw.comment}
}

// decodeBatch reads the events of a batch, skipping what cannot be read.
// Items queued before events carried their time count from now.
func decodeBatch(b Batch) []queued {
	var out []queued
	for _, raw := range b.Items {
		var q queued
		if json.Unmarshal(raw, &q) != nil || q.Event.ID == "" {
			q = queued{Accepted: time.Now()}
			if json.Unmarshal(raw, &q.Event) != nil || q.Event.ID == "" {
				continue
			}
		}
		out = append(out, q)
	}
	return out
}

// toldKey names the mark that says target (a person, "user:<key>", or a
// channel subscription, "subscription:<id>") was told of event.
func toldKey(event, target string) string {
	h := sha256.Sum256([]byte("told\x00" + event + "\x00" + target))
	return "told:" + hex.EncodeToString(h[:])
}

// deliver tells each person a batch concerns what concerns them, in one
// message each, and each subscribed channel in the record's thread, and says
// what is left to do.
func (n *Notifier) deliver(ctx context.Context, b Batch) batchResult {
	log := n.Conversation.Log
	list := decodeBatch(b)
	if len(list) == 0 {
		return batchResult{}
	}
	table, sysID := list[0].Event.Table, list[0].Event.SysID
	ctx, span := tracer.Start(ctx, "deliver "+table, trace.WithAttributes(attrTable.String(table), attribute.Int("snowbot.notification.events", len(list))))
	defer span.End()
	a := n.audienceOf(ctx, list, table, sysID)
	n.dropExpired(ctx, a.expired)

	var (
		mu  sync.Mutex
		res = a.pending
		wg  sync.WaitGroup
	)
	run := func(recipient string, oldest time.Time, work func(ctx context.Context) (delivery, time.Duration)) {
		select {
		case n.reading <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			mu.Lock()
			res.add(notYet, 0, oldest)
			mu.Unlock()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-n.reading }()
			d, after := traced(ctx, recipient, table, work)
			mu.Lock()
			res.add(d, after, oldest)
			mu.Unlock()
		}()
	}
	for _, user := range a.order {
		nw := *a.people[user]
		run("person", nw.oldest, func(ctx context.Context) (delivery, time.Duration) {
			d, after := n.deliverTo(ctx, log.With("table", table), user, table, sysID, nw)
			n.noteFinal(ctx, d, nw.ids, "user:"+user)
			return d, after
		})
	}
	for _, s := range a.channels {
		nw, expired := channelNews(list, s)
		for _, id := range expired {
			a.expired[id] = append(a.expired[id], "subscription:"+s.ID)
		}
		if len(nw.ids) == 0 {
			continue
		}
		run("channel", nw.oldest, func(ctx context.Context) (delivery, time.Duration) {
			d, after := n.deliverToChannel(ctx, log.With("table", table), s, table, sysID, nw)
			n.noteFinal(ctx, d, nw.ids, "subscription:"+s.ID)
			return d, after
		})
	}
	wg.Wait()
	n.dropExpired(ctx, a.expired)
	return res
}

func (r *batchResult) add(d delivery, after time.Duration, oldest time.Time) {
	if d != notYet {
		return
	}
	r.pending++
	r.retryAfter = max(r.retryAfter, after)
	if r.oldest.IsZero() || oldest.Before(r.oldest) {
		r.oldest = oldest
	}
}

// noteFinal notes, when a delivery came out final with nothing sent (the
// person may not read the record, turned notifications off, left…), that
// target is done with these events, as if told: a retry of the batch for
// others does not read for it again, and a drop after deliveryWindow does
// not count it among those not reached.
func (n *Notifier) noteFinal(ctx context.Context, d delivery, ids []string, target string) {
	if d != neverTold {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = toldKey(id, target)
	}
	if err := n.Queue.Mark(ctx, keys, toldMemory); err != nil {
		n.Conversation.Log.DebugContext(ctx, "a final outcome is not noted; it is found again on the next try", "error", err)
	}
}

// dropExpired gives up on what an event could not reach within
// deliveryWindow: one ERROR line per event with how many it never reached,
// then marks, so that it is not said again.
func (n *Notifier) dropExpired(ctx context.Context, expired map[string][]string) {
	for id, targets := range expired {
		delete(expired, id)
		keys := make([]string, len(targets))
		for i, t := range targets {
			keys[i] = toldKey(id, t)
		}
		marked, err := n.Queue.Marked(ctx, keys)
		if err != nil {
			continue // said when the store answers again
		}
		untold := 0
		for _, m := range marked {
			if !m {
				untold++
			}
		}
		if untold > 0 {
			n.Conversation.Log.ErrorContext(ctx, "notification dropped: it could not be delivered within 24 hours", "event", id, "count", untold)
		}
		_ = n.Queue.Mark(ctx, keys, toldMemory)
	}
}

// deliverTo tells one person, if they are signed in, have a chat with the
// bot, want to hear, are of an allowed tenant and may read the record, and
// have not been told already. Reasons for telling nobody are logged without
// naming the person or the record.
func (n *Notifier) deliverTo(ctx context.Context, log *slog.Logger, user, table, sysID string, nw news) (delivery, time.Duration) {
	c := n.Conversation
	contact, err := c.contact(ctx, user)
	switch {
	case errors.Is(err, auth.ErrNoRecord):
		log.DebugContext(ctx, "notification not sent: the recipient is not signed in to snowbot")
		return neverTold, 0
	case err != nil:
		log.WarnContext(ctx, "notification delayed: the store did not answer", "error", err)
		return notYet, 0
	case contact.Muted:
		log.DebugContext(ctx, "notification not sent: the recipient turned notifications off")
		return neverTold, 0
	case contact.Gone:
		log.DebugContext(ctx, "notification not sent: the recipient's chat with the bot no longer exists")
		return neverTold, 0
	}
	var ref schema.ConversationReference
	if len(contact.Chat) == 0 || json.Unmarshal(contact.Chat, &ref) != nil {
		log.DebugContext(ctx, "notification not sent: the recipient has no 1:1 chat with the bot")
		return neverTold, 0
	}
	if !n.Sender.TenantAllowed(ref.Conversation.TenantID) {
		log.InfoContext(ctx, "notification not sent: the recipient's tenant is not allowed")
		return neverTold, 0
	}
	keys := make([]string, len(nw.ids))
	for i, id := range nw.ids {
		keys[i] = toldKey(id, "user:"+user)
	}
	marked, err := n.Queue.Marked(ctx, keys)
	if err != nil {
		log.WarnContext(ctx, "notification delayed: the store did not answer", "error", err)
		return notYet, 0
	}
	if !slices.Contains(marked, false) {
		return told, 0 // told before a crash or a lapsed claim: not again
	}

	rctx, cancel := context.WithTimeout(ctx, serviceNowBudget)
	card, ok, err := n.read(rctx, user, ref, reader(contact.Zone, contact.Locale), table, sysID, nw)
	cancel()
	if err != nil {
		return classify(err).forNotification(ctx, log, ctx.Err() != nil)
	}
	if !ok {
		return neverTold, 0 // nothing to tell any more (an approval decided meanwhile)
	}
	msg := cardMessage(card)
	if !contact.Told {
		msg.Text = "You get these because you're signed in to snowbot. Type **notifications off** to stop them."
	}
	return n.send(ctx, log, user, ref, keys, msg, contact.Told, card.Fallback)
}

// send sends a personal notification and marks its events as told.
func (n *Notifier) send(ctx context.Context, log *slog.Logger, user string, ref schema.ConversationReference, keys []string, msg bot.Message, hinted bool, summary string) (delivery, time.Duration) {
	c := n.Conversation
	_, err := n.post(ctx, log, ref, keys, msg, nil)
	if err != nil {
		if errors.Is(err, bot.ErrConversationGone) {
			log.InfoContext(ctx, "the recipient's chat no longer takes messages (the app was removed); skipping them until they write again")
			c.chats.forget(user) // their next message keeps the chat again
			if _, err := c.updateContact(ctx, user, func(ct *Contact) { ct.Gone = true }); err != nil {
				log.WarnContext(ctx, "could not note that a chat is gone", "error", err)
			}
		}
		return sendOutcome(ctx, log, err)
	}
	if !hinted {
		if _, err := c.updateContact(ctx, user, func(ct *Contact) { ct.Told = true }); err != nil {
			log.WarnContext(ctx, "could not note that the recipient was told how to stop notifications", "error", err)
		}
	}
	c.addToHistory(ctx, user, summary)
	return told, 0
}

// sendOutcome says what a failed post means for its delivery.
func sendOutcome(ctx context.Context, log *slog.Logger, err error) (delivery, time.Duration) {
	if errors.Is(err, errNotSentNow) {
		return notYet, 0
	}
	final, after := bot.SendFailure(err)
	switch {
	case errors.Is(err, bot.ErrConversationGone):
		return neverTold, 0
	case final:
		log.ErrorContext(ctx, "notification not sent: Teams refused it", "error", err)
		return neverTold, 0
	}
	log.WarnContext(ctx, "notification delayed: Teams did not take it now", "error", err)
	return notYet, after
}

// errNotSentNow is a post that did not start: its moment did not come before
// the work was cut short.
var errNotSentNow = errors.New("not sent: the work was cut short")

// post sends msg to the conversation of ref and returns the new activity's
// id; once it went out, kept (when given) keeps what must be kept of it (the
// thread a channel post starts), and the told marks are written. Only one
// post is under way in a process at any time, and the next starts only once
// the marks of the last are kept: so a crash repeats at most the one message
// whose send it cut short, as the delivery guarantee promises. (Reading, the
// slow part, goes on for many recipients at once.)
func (n *Notifier) post(ctx context.Context, log *slog.Logger, ref schema.ConversationReference, keys []string, msg bot.Message, kept func(id string)) (string, error) {
	for {
		at, err := n.Sender.Pace(ctx, ref)
		if err != nil {
			return "", errNotSentNow
		}
		select {
		case n.sending <- struct{}{}:
		case <-ctx.Done():
			return "", errNotSentNow
		}
		if bot.OnTime(at) {
			break
		}
		<-n.sending // late for its moment: take another
	}
	defer func() { <-n.sending }()
	id, err := n.Sender.Notify(ctx, ref, msg)
	if err != nil {
		return "", err
	}
	if kept != nil {
		kept(id)
	}
	n.keepMarks(ctx, log, keys)
	return id, nil
}

// keepMarks writes the told marks of a message that went out, trying until
// the store takes them: a message sent but not marked would be sent again.
func (n *Notifier) keepMarks(ctx context.Context, log *slog.Logger, keys []string) {
	n.keep(ctx, log, "the marks of a sent notification", func(ctx context.Context) error {
		return n.Queue.Mark(ctx, keys, toldMemory)
	})
}

// keep writes what a message that went out left to keep (what, in the log),
// trying until the store takes it, or until shutdown gives up.
func (n *Notifier) keep(ctx context.Context, log *slog.Logger, what string, write func(ctx context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	pause := 100 * time.Millisecond
	for try := 1; ; try++ {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := write(wctx)
		cancel()
		if err == nil {
			if try > 1 {
				log.InfoContext(ctx, "the store took "+what+" again")
			}
			return
		}
		if try == 1 {
			log.WarnContext(ctx, what+" cannot be kept yet; trying until the store answers", "error", err)
		}
		select {
		case <-n.abandon:
			log.ErrorContext(ctx, what+" could not be kept before shutdown; the message may be sent again", "error", err)
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// read builds the card the recipient is sent, from the record as they may
// read it. ok is false when there is nothing to send.
func (n *Notifier) read(ctx context.Context, user string, ref schema.ConversationReference, rd cards.Reader, table, sysID string, nw news) (cards.Card, bool, error) {
	c := n.Conversation
	s := c.ServiceNow.As(c.Auth.Tokens(user))
	v := cards.View{Links: c.ServiceNow.Links(), Reader: rd}
	switch table {
	case events.TableIncident:
		inc, err := s.IncidentByID(ctx, sysID)
		if err != nil {
			return cards.Card{}, false, err
		}
		return cards.IncidentNews(v, inc, nw.change()), true, nil
	case events.TableApproval:
		a, err := s.ApprovalByID(ctx, sysID)
		if err != nil {
			return cards.Card{}, false, err
		}
		if !a.Requested() {
			return cards.Card{}, false, nil // decided meanwhile: nothing waits for them
		}
		return cards.ApprovalCard(v, a, cards.Note{}, []string{ref.User.ID}), true, nil
	}
	r, err := s.RecordNews(ctx, table, sysID)
	if err != nil {
		return cards.Card{}, false, err
	}
	return cards.RecordNews(v, r, nw.change()), true, nil
}
