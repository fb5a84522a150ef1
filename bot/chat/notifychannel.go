package chat

// This file delivers a record's changes to the channels subscribed to its
// table: the subscription's owner's token asks ServiceNow whether the record
// matches (and reads it, in the same call); a record that newly matches gets
// a post, its later changes replies in that post's thread, and its leaving
// the match one last reply. Which post is a record's thread is kept in the
// store, so it survives restarts and every instance finds it.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// thread is a record's thread in a channel: the post that started it.
type thread struct {
	Root   string `json:"root"`   // the activity id of the first post
	Number string `json:"number"` // the record's number, for the last reply
	Ended  bool   `json:"ended,omitempty"`
}

// threadMemory is how long a record's thread is kept after its last reply.
const threadMemory = 180 * 24 * time.Hour

const recordThread = "thread"

func (c *Conversation) threadRecords(s subscription, table, sysID string) sealedRecords {
	return c.records("\x00thread\x00" + s.ID + "\x00" + table + "\x00" + sysID)
}

// deliverToChannel tells a subscribed channel of a record's change, in the
// record's thread, as the subscription's owner may read it.
func (n *Notifier) deliverToChannel(ctx context.Context, log *slog.Logger, s subscription, table, sysID string, nw news) (delivery, time.Duration) {
	c := n.Conversation
	ref := s.channel()
	if !n.Sender.TenantAllowed(ref.Conversation.TenantID) {
		log.InfoContext(ctx, "channel post not sent: the channel's tenant is not allowed")
		return neverTold, 0
	}
	keys := make([]string, len(nw.ids))
	for i, id := range nw.ids {
		keys[i] = toldKey(id, "subscription:"+s.ID)
	}
	marked, err := n.Queue.Marked(ctx, keys)
	if err != nil {
		return notYet, 0
	}
	if !slices.Contains(marked, false) {
		return told, 0
	}
	filter, err := servicenow.ParseFilter(s.Query)
	if err != nil {
		log.ErrorContext(ctx, "a kept subscription's filter cannot be read", "error", err)
		return neverTold, 0
	}
	rctx, cancel := context.WithTimeout(ctx, serviceNowBudget)
	r, matches, err := c.ServiceNow.As(c.Auth.Tokens(s.Owner)).MatchingRecord(rctx, table, sysID, filter)
	cancel()
	if err != nil {
		f := classify(err)
		switch {
		case f.signInNeeded():
			log.InfoContext(ctx, "channel post not sent: the subscription's owner can no longer sign in; pausing their subscriptions")
			c.pauseSubscriptionsOf(ctx, s.Owner, n.notice)
			return neverTold, 0
		case f.hiddenFromThem():
			matches = false
		default:
			return f.forNotification(ctx, log, ctx.Err() != nil)
		}
	}
	threads := c.threadRecords(s, table, sysID)
	var th thread
	raw, err := threads.Get(ctx, recordThread)
	switch {
	case errors.Is(err, auth.ErrNoRecord):
	case err != nil:
		return notYet, 0
	default:
		_ = json.Unmarshal(raw, &th)
	}
	v := cards.View{Links: c.ServiceNow.Links(), Reader: reader("UTC", "en-US")}
	card, inThread, keepThread := threadStep(v, s, r, matches, th, nw.change())
	if keepThread == nil && !inThread && card.Fallback == "" {
		return neverTold, 0 // neither matches nor did: nothing to say
	}
	if inThread {
		ref.Conversation.ID = bot.ThreadOf(s.ChannelID, th.Root)
	}
	var kept func(id string)
	if keepThread != nil {
		kept = func(id string) {
			value, _ := json.Marshal(keepThread(id))
			n.keep(ctx, log, "a channel thread", func(ctx context.Context) error {
				return threads.Put(ctx, recordThread, value, threadMemory)
			})
		}
	}
	_, err = n.post(ctx, log, ref, keys, cardMessage(card), kept)
	if err != nil {
		return sendOutcome(ctx, log, err)
	}
	return told, 0
}

// threadStep is what a change to a record says in a channel: a new post (a
// record that newly matches), a reply in its thread (a change while it
// matches), or a last reply (it no longer matches); keepThread, when set,
// is what its thread becomes once the message went out (given its id).
// Nothing, when the record neither matches nor did.
func threadStep(v cards.View, s subscription, r servicenow.TaskRecord, matches bool, th thread, ch cards.Change) (card cards.Card, inThread bool, keepThread func(id string) thread) {
	open := th.Root != "" && !th.Ended
	switch {
	case matches && !open:
		return cards.ChannelPost(v, r, ch, s.OwnerName), false, func(id string) thread { return thread{Root: id, Number: r.Number} }
	case matches:
		return cards.ChannelUpdate(v, r, ch, s.OwnerName), true, nil
	case open:
		return cards.ChannelLeft(th.Number, s.Query), true, func(string) thread { th.Ended = true; return th }
	}
	return cards.Card{}, false, nil
}

// notice posts a line to a channel outside any turn (a subscription paused),
// paced as every message nobody asked for; once, without retries.
func (n *Notifier) notice(ctx context.Context, ref schema.ConversationReference, m bot.Message) error {
	if _, err := n.Sender.Pace(ctx, ref); err != nil {
		return err
	}
	_, err := n.Sender.Notify(ctx, ref, m)
	return err
}
