package chat

// This file is channel subscriptions: a team channel follows the records of
// a table that match a filter, as the member who set it up (its owner) sees
// them. The subscriptions of every channel are one record in the store, so
// that adding, ending and pausing one is a single atomic update however many
// instances run; change events pick from it the subscriptions of their table.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// Bounds on subscriptions: per channel, and in all.
const (
	maxChannelSubscriptions = 20
	maxSubscriptions        = 1000
)

// subscription is one channel's subscription to a table's records.
type subscription struct {
	ID        string          `json:"id"`
	Table     string          `json:"table"`
	Query     string          `json:"query"`
	Owner     string          `json:"owner"`      // the Teams user whose token reads the records
	OwnerName string          `json:"owner_name"` // as Teams names them
	Channel   json.RawMessage `json:"channel"`    // where new posts go: schema.ConversationReference
	ChannelID string          `json:"channel_id"`
	Created   time.Time       `json:"created"`
	Paused    bool            `json:"paused,omitempty"` // the owner signed out, or can no longer sign in
}

func (s subscription) channel() schema.ConversationReference {
	var ref schema.ConversationReference
	_ = json.Unmarshal(s.Channel, &ref)
	return ref
}

// registry is where every channel's subscriptions are kept.
func (c *Conversation) registry() sealedRecords { return c.records("\x00subscriptions") }

const recordSubscriptions = "all"

// subscriptions are every channel's subscriptions, in the order they were made.
func (c *Conversation) subscriptions(ctx context.Context) ([]subscription, error) {
	raw, err := c.registry().Get(ctx, recordSubscriptions)
	if err != nil {
		return nil, ignoreMissing(err)
	}
	var all []subscription
	_ = json.Unmarshal(raw, &all)
	return all, nil
}

// editSubscriptions changes the subscriptions in one atomic update.
func (c *Conversation) editSubscriptions(ctx context.Context, edit func(all []subscription) ([]subscription, error)) error {
	_, err := c.registry().Update(ctx, recordSubscriptions, 0, func(cur []byte) ([]byte, error) {
		var all []subscription
		_ = json.Unmarshal(cur, &all)
		next, err := edit(all)
		if err != nil {
			return nil, err
		}
		return json.Marshal(next)
	})
	return err
}

// ofChannel are a channel's subscriptions, numbered from 1 as listed.
func ofChannel(all []subscription, channelID string) []subscription {
	var out []subscription
	for _, s := range all {
		if s.ChannelID == channelID {
			out = append(out, s)
		}
	}
	return out
}

// onlyInChannel is the answer to a channel command elsewhere.
const onlyInChannel = "Channel subscriptions are set up in a team channel: mention me there, as in **@snowbot subscribe incident priority<=2**."

// subscribe answers "@snowbot subscribe <table> <encoded query>" in a channel.
func (c *Conversation) subscribe(ctx context.Context, t *bot.Turn, rest string) error {
	if !t.InChannel() {
		return c.reply(ctx, t, bot.Text(onlyInChannel))
	}
	table, query := splitFirst(rest)
	table = strings.ToLower(table)
	filter, err := servicenow.ParseFilter(query)
	switch {
	case table == "" || query == "":
		return c.reply(ctx, t, bot.Text("Say which records: **subscribe** a table and a filter, as in **subscribe incident priority<=2^assignment_group.name=Network** (copy the filter from a list view: right-click the breadcrumb, Copy query)."))
	case !servicenow.ValidTable(table):
		return c.reply(ctx, t, bot.Text("“"+cards.Plain(cards.Clip(table, 40))+"” is not a table name: use its name as ServiceNow writes it, such as **incident** or **change_request**."))
	case err != nil:
		return c.reply(ctx, t, bot.Text("I can't use that filter: "+classify(err).detail+"."))
	}
	user := t.User.Key()
	again := resume{Text: "subscribe " + rest}
	sctx, cancel := context.WithTimeout(ctx, budgetWithin(ctx))
	stopTyping := t.TypingWhile(sctx)
	err = c.ServiceNow.As(c.Auth.Tokens(user)).CheckFilter(sctx, table, filter)
	stopTyping()
	cancel()
	if err != nil {
		return c.forChannel(ctx, t, err, again)
	}
	sub := subscription{ID: newSubscriptionID(), Table: table, Query: filter.String(), Owner: user, OwnerName: t.User.Name,
		ChannelID: bot.ChannelOf(t.Activity.Conversation.ID), Created: time.Now().UTC()}
	sub.Channel, _ = json.Marshal(t.ChannelReference())
	n := 0
	err = c.editSubscriptions(ctx, func(all []subscription) ([]subscription, error) {
		mine := ofChannel(all, sub.ChannelID)
		if len(mine) >= maxChannelSubscriptions || len(all) >= maxSubscriptions {
			return nil, errTooManySubscriptions
		}
		n = len(mine) + 1
		return append(all, sub), nil
	})
	switch {
	case errors.Is(err, errTooManySubscriptions):
		return c.reply(ctx, t, bot.Text(fmt.Sprintf("This channel has %d subscriptions, as many as it may: end one with **@snowbot unsubscribe** and its number first.", maxChannelSubscriptions)))
	case err != nil:
		return c.answerFailure(ctx, t, err, again)
	}
	return c.reply(ctx, t, bot.Text(fmt.Sprintf("Subscribed this channel to %s records where %s (subscription %d). "+
		"They are shown to everyone in this channel as **%s** sees them in ServiceNow: each record that matches gets a post, and its later changes come as replies in that post's thread. "+
		"Anyone here can end it with **@snowbot unsubscribe %d**.",
		cards.Plain(table), cards.Plain(cards.Clip(sub.Query, 300)), n, cards.Plain(sub.OwnerName), n)))
}

var errTooManySubscriptions = errors.New("too many subscriptions")

func newSubscriptionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listSubscriptions answers "@snowbot subscriptions" in a channel.
func (c *Conversation) listSubscriptions(ctx context.Context, t *bot.Turn, _ string) error {
	if !t.InChannel() {
		return c.reply(ctx, t, bot.Text(onlyInChannel))
	}
	all, err := c.subscriptions(ctx)
	if err != nil {
		return c.answerFailure(ctx, t, err, resume{Text: "subscriptions"})
	}
	mine := ofChannel(all, bot.ChannelOf(t.Activity.Conversation.ID))
	if len(mine) == 0 {
		return c.reply(ctx, t, bot.Text("This channel has no subscriptions. "+strings.TrimPrefix(onlyInChannel, "Channel subscriptions are set up in a team channel: ")))
	}
	list := make([]cards.Subscription, len(mine))
	for i, s := range mine {
		list[i] = cards.Subscription{N: i + 1, Table: s.Table, Query: s.Query, Owner: s.OwnerName, Paused: s.Paused}
	}
	return c.reply(ctx, t, cardMessage(cards.Subscriptions(list)))
}

// unsubscribe answers "@snowbot unsubscribe N": any signed-in member may end
// any of the channel's subscriptions, and the channel is told who did.
func (c *Conversation) unsubscribe(ctx context.Context, t *bot.Turn, rest string) error {
	if !t.InChannel() {
		return c.reply(ctx, t, bot.Text(onlyInChannel))
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 1 {
		return c.reply(ctx, t, bot.Text("Which one? Mention me with **unsubscribe** and its number from **subscriptions**, as in **@snowbot unsubscribe 1**."))
	}
	if _, ok := c.signedInAs(ctx, t.User.Key()); !ok {
		return c.forChannel(ctx, t, auth.ErrSignInRequired, resume{Text: "unsubscribe " + rest})
	}
	channelID := bot.ChannelOf(t.Activity.Conversation.ID)
	var ended *subscription
	err = c.editSubscriptions(ctx, func(all []subscription) ([]subscription, error) {
		ended = nil
		mine := ofChannel(all, channelID)
		if n > len(mine) {
			return all, nil
		}
		id := mine[n-1].ID
		return slices.DeleteFunc(all, func(s subscription) bool {
			if s.ID == id {
				ended = &s
				return true
			}
			return false
		}), nil
	})
	switch {
	case err != nil:
		return c.answerFailure(ctx, t, err, resume{Text: "unsubscribe " + rest})
	case ended == nil:
		return c.reply(ctx, t, bot.Text(fmt.Sprintf("This channel has no subscription %d. Mention me with **subscriptions** to see them.", n)))
	}
	return c.reply(ctx, t, bot.Text(fmt.Sprintf("%s ended subscription %d (%s records where %s, as %s saw them). No more posts come from it.",
		cards.Plain(t.User.Name), n, cards.Plain(ended.Table), cards.Plain(cards.Clip(ended.Query, 300)), cards.Plain(ended.OwnerName))))
}

// pauseSubscriptionsOf pauses the subscriptions a person owns, when they
// signed out or can no longer sign in, and says so once in each channel.
func (c *Conversation) pauseSubscriptionsOf(ctx context.Context, owner string, post func(ctx context.Context, ref schema.ConversationReference, m bot.Message) error) {
	c.setPaused(ctx, owner, true, post, "is paused: %s is no longer signed in to ServiceNow. It starts again when they sign in.")
}

// resumeSubscriptionsOf lets a person's paused subscriptions go on, at their next sign-in.
func (c *Conversation) resumeSubscriptionsOf(ctx context.Context, owner string, post func(ctx context.Context, ref schema.ConversationReference, m bot.Message) error) {
	c.setPaused(ctx, owner, false, post, "is back on: %s signed in to ServiceNow again.")
}

func (c *Conversation) setPaused(ctx context.Context, owner string, paused bool, post func(ctx context.Context, ref schema.ConversationReference, m bot.Message) error, says string) {
	var changed []subscription
	var numbers []int
	err := c.editSubscriptions(ctx, func(all []subscription) ([]subscription, error) {
		changed, numbers = nil, nil
		counts := map[string]int{}
		for i := range all {
			counts[all[i].ChannelID]++
			if all[i].Owner == owner && all[i].Paused != paused {
				all[i].Paused = paused
				changed = append(changed, all[i])
				numbers = append(numbers, counts[all[i].ChannelID])
			}
		}
		return all, nil
	})
	if err != nil {
		c.Log.WarnContext(ctx, "subscriptions could not be paused or resumed", "error", err)
		return
	}
	for i, s := range changed {
		text := fmt.Sprintf("Subscription %d (%s records where %s) "+says, numbers[i], cards.Plain(s.Table), cards.Plain(cards.Clip(s.Query, 300)), cards.Plain(s.OwnerName))
		if err := post(ctx, s.channel(), bot.Text(text)); err != nil {
			c.Log.WarnContext(ctx, "a channel was not told that its subscription paused or resumed", "error", err)
		}
	}
}
