package chat

// This file is the "notifications" command: whether a person hears of changes
// in ServiceNow, and what they were told last, so they can check whether
// something reached them.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
)

const (
	// recordHistory names the record of the last notifications a person was sent.
	recordHistory = "notifications-sent"
	// historyLength is how many of them are kept and shown.
	historyLength = 5
)

// sent is one notification as the history keeps it: when, and its summary
// (the card's text fallback, as it was sent).
type sent struct {
	At      time.Time `json:"at"`
	Summary string    `json:"summary"`
}

// addToHistory keeps a notification that went out among the person's last
// few. The history is a convenience: a failure to keep it is only logged.
func (c *Conversation) addToHistory(ctx context.Context, user, summary string) {
	records := c.records(user)
	var list []sent
	if raw, err := records.Get(ctx, recordHistory); err == nil {
		_ = json.Unmarshal(raw, &list)
	}
	list = append([]sent{{At: time.Now().UTC().Truncate(time.Second), Summary: summary}}, list...)
	if len(list) > historyLength {
		list = list[:historyLength]
	}
	if err := records.Put(ctx, recordHistory, mustJSON(list), 0); err != nil {
		c.Log.WarnContext(ctx, "a sent notification was not added to the person's history", "error", err)
	}
}

// history returns the person's last notifications, newest first.
func (c *Conversation) history(ctx context.Context, user string) []sent {
	var list []sent
	if raw, err := c.records(user).Get(ctx, recordHistory); err == nil {
		_ = json.Unmarshal(raw, &list)
	}
	return list
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
	contact, err := c.updateContact(ctx, t.User.Key(), func(ct *Contact) {
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
		return c.reply(ctx, t, storeDown())
	case err != nil:
		return err
	}
	state := "Notifications are **on**: I tell you here when an incident you raised, are assigned or watch changes or gets a comment, and when something waits for your approval. Type **notifications off** to stop them."
	if contact.Muted {
		state = "Notifications are **off**: I won't tell you when something changes in ServiceNow. Type **notifications on** to get them again."
	}
	if arg != "" {
		return c.reply(ctx, t, bot.Text(state))
	}
	var list []cards.Sent
	for _, s := range c.history(ctx, t.User.Key()) {
		list = append(list, cards.Sent{At: s.At, Summary: s.Summary})
	}
	m := cardMessage(cards.History(c.view(t), list))
	m.Text = state
	return c.reply(ctx, t, m)
}
