package chat

// This file finds who hears of a batch of change events: the people the
// events name, the people who watch the record, and the channels subscribed
// to its table, each once.

import (
	"context"
	"errors"
	"slices"
	"time"

	"snowbot/auth"
	"snowbot/servicenow/events"
)

// audience is who hears of one batch: each person once (whether the events
// name them or they watch the record), and each channel subscription of the
// record's table.
type audience struct {
	people   map[string]*news // Teams user key → what they are told
	order    []string
	channels []subscription
	expired  map[string][]string // event id → targets it reached no one of within deliveryWindow
	pending  batchResult         // who could not even be found out now
}

// add tells a person (or a channel, keyed "subscription:…") of q, unless
// it waited too long.
func (a *audience) add(user string, q queued) {
	if time.Since(q.Accepted) > deliveryWindow {
		a.expired[q.Event.ID] = append(a.expired[q.Event.ID], "user:"+user)
		return
	}
	nw := a.people[user]
	if nw == nil {
		nw = &news{}
		a.people[user] = nw
		a.order = append(a.order, user)
	}
	if !slices.Contains(nw.ids, q.Event.ID) {
		nw.add(q)
	}
}

// audienceOf finds who hears of a batch: the people its events name (by
// their ServiceNow identity, the actor aside), the people who watch the
// record (the actor aside), and the channels subscribed to its table.
func (n *Notifier) audienceOf(ctx context.Context, list []queued, table, sysID string) audience {
	c := n.Conversation
	a := audience{people: map[string]*news{}, expired: map[string][]string{}}
	notNow := func(q queued) { a.pending.add(notYet, 0, q.Accepted) }
	linked := map[string]string{} // ServiceNow sys_id → Teams user ("" when nobody)
	for _, q := range list {
		for _, r := range q.Event.Recipients {
			if r == q.Event.Actor {
				continue // nobody is told what they did themselves
			}
			user, known := linked[r]
			if !known {
				u, _, err := c.contactOf(ctx, r)
				switch {
				case errors.Is(err, auth.ErrNoRecord):
					c.Log.DebugContext(ctx, "notification not sent: the recipient is not signed in to snowbot", "table", table)
				case err != nil:
					notNow(q)
					continue
				default:
					user = u
				}
				linked[r] = user
			}
			if user != "" {
				a.add(user, q)
			}
		}
	}
	if table == events.TableApproval {
		return a // approvals are their approvers' alone
	}
	watchers, err := c.watchersOf(ctx, table, sysID)
	if err != nil {
		notNow(list[0])
	}
	for _, user := range watchers {
		id, err := c.Auth.Tokens(user).Identity(ctx)
		switch {
		case errors.Is(err, auth.ErrSignInRequired):
			continue // signed out: their watches went with them
		case err != nil && !errors.Is(err, auth.ErrNoIdentity):
			notNow(list[0])
			continue
		}
		for _, q := range list {
			if id.SysID == "" || id.SysID != q.Event.Actor {
				a.add(user, q)
			}
		}
	}
	subs, err := c.subscriptions(ctx)
	if err != nil {
		notNow(list[0])
	}
	for _, s := range subs {
		if s.Table == table && !s.Paused {
			a.channels = append(a.channels, s)
		}
	}
	return a
}

// channelNews is what a channel is told of a batch: every event but those
// that waited longer than deliveryWindow, which it names.
func channelNews(list []queued, s subscription) (nw news, expired []string) {
	for _, q := range list {
		if time.Since(q.Accepted) > deliveryWindow {
			expired = append(expired, q.Event.ID)
			continue
		}
		nw.add(q)
	}
	return nw, expired
}
