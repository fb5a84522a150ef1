package chat

// This file is following records: watch, unwatch and watching. A person's
// watches are kept twice: in their own list (what watching shows and signout
// forgets) and in each record's list of watchers (what a change event reads:
// one store read for the record, however many people watch other records).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// maxWatches bounds what one person follows.
const maxWatches = 100

// Record names of watches: the person's list, and a record's watchers.
const (
	recordWatching = "watching"
	recordWatchers = "watchers"
)

// watch is one record a person follows.
type watch struct {
	Table  string    `json:"table"`
	SysID  string    `json:"sys_id"`
	Number string    `json:"number"`
	Short  string    `json:"short,omitempty"` // its short description when they started
	Since  time.Time `json:"since"`
}

// watchersRecords are the records of one ServiceNow record's watchers.
func (c *Conversation) watchersRecords(table, sysID string) sealedRecords {
	return c.records("\x00watchers\x00" + table + "\x00" + sysID)
}

// watchersOf are the people (Teams user keys) who follow a record.
func (c *Conversation) watchersOf(ctx context.Context, table, sysID string) ([]string, error) {
	raw, err := c.watchersRecords(table, sysID).Get(ctx, recordWatchers)
	if err != nil {
		return nil, ignoreMissing(err)
	}
	var users []string
	_ = json.Unmarshal(raw, &users)
	return users, nil
}

// watchesOf is the person's list.
func (c *Conversation) watchesOf(ctx context.Context, user string) ([]watch, error) {
	raw, err := c.records(user).Get(ctx, recordWatching)
	if err != nil {
		return nil, ignoreMissing(err)
	}
	var list []watch
	_ = json.Unmarshal(raw, &list)
	return list, nil
}

// watchRecord answers "watch NUMBER": the record is read with the person's
// token (they may only follow what they may read), then kept in both lists.
func (c *Conversation) watchRecord(ctx context.Context, t *bot.Turn, rest string) error {
	table, number, answer := c.recordNumber(firstWord(rest), "watch CHG0030001")
	switch {
	case answer != nil:
		return c.reply(ctx, t, *answer)
	case table == "kb_knowledge":
		return c.reply(ctx, t, bot.Text("Knowledge articles can't be watched: watch an incident, change, problem or request."))
	}
	user := t.User.Key()
	return c.answer(ctx, t, c.asUser(ctx, t, resume{Text: "watch " + number}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		r, err := s.RecordByNumber(ctx, table, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return said(bot.Text(number + ": not found, or not yours to see.")), nil
		}
		if err != nil {
			return outcome{}, err
		}
		w := watch{Table: table, SysID: r.SysID, Number: r.Number, Short: cards.Clip(r.ShortDescription, 80), Since: time.Now().UTC()}
		added, err := c.addWatch(ctx, user, w)
		if errors.Is(err, errTooManyWatches) {
			return said(bot.Text(fmt.Sprintf("You follow %d records already: unwatch one first (type **watching** to see them).", maxWatches))), nil
		}
		if err != nil {
			return outcome{}, err
		}
		if !added {
			return said(bot.Text(fmt.Sprintf("You already watch %s. Type **unwatch %s** to stop.", number, number))), nil
		}
		text := fmt.Sprintf("Watching %s: %s. I'll tell you here whenever it changes. Type **unwatch %s** to stop, **watching** to see all you follow.",
			number, cards.Plain(w.Short), number)
		if ct, err := c.contact(ctx, user); err == nil && ct.Muted {
			text += " Notifications are off for you: type **notifications on** to hear about it."
		}
		return said(bot.Text(text)), nil
	}))
}

// errTooManyWatches is a person following maxWatches records already.
var errTooManyWatches = errors.New("too many watches")

// addWatch keeps w in the person's list, then in the record's watchers;
// added is false when they followed it already.
func (c *Conversation) addWatch(ctx context.Context, user string, w watch) (added bool, err error) {
	_, err = c.records(user).Update(ctx, recordWatching, 0, func(cur []byte) ([]byte, error) {
		var list []watch
		_ = json.Unmarshal(cur, &list)
		added = !slices.ContainsFunc(list, func(x watch) bool { return x.Table == w.Table && x.SysID == w.SysID })
		if added && len(list) >= maxWatches {
			return nil, errTooManyWatches
		}
		if added {
			list = append(list, w)
		}
		return json.Marshal(list)
	})
	if err != nil {
		return false, err
	}
	// Also when it was in the list already: a watcher lost to a crash between
	// the two writes is put back.
	return added, c.editWatchers(ctx, w.Table, w.SysID, func(users []string) []string {
		if slices.Contains(users, user) {
			return users
		}
		return append(users, user)
	})
}

// editWatchers changes a record's watchers.
func (c *Conversation) editWatchers(ctx context.Context, table, sysID string, edit func([]string) []string) error {
	_, err := c.watchersRecords(table, sysID).Update(ctx, recordWatchers, 0, func(cur []byte) ([]byte, error) {
		var users []string
		_ = json.Unmarshal(cur, &users)
		return json.Marshal(edit(users))
	})
	return err
}

// unwatchRecord answers "unwatch NUMBER". It asks nothing of ServiceNow:
// the person's own list says which record the number was.
func (c *Conversation) unwatchRecord(ctx context.Context, t *bot.Turn, rest string) error {
	_, number, answer := c.recordNumber(firstWord(rest), "unwatch CHG0030001")
	if answer != nil {
		return c.reply(ctx, t, *answer)
	}
	user := t.User.Key()
	var gone *watch
	_, err := c.records(user).Update(ctx, recordWatching, 0, func(cur []byte) ([]byte, error) {
		var list []watch
		_ = json.Unmarshal(cur, &list)
		gone = nil
		list = slices.DeleteFunc(list, func(w watch) bool {
			if w.Number == number {
				gone = &w
				return true
			}
			return false
		})
		return json.Marshal(list)
	})
	if err == nil && gone != nil {
		err = c.editWatchers(ctx, gone.Table, gone.SysID, func(users []string) []string {
			return slices.DeleteFunc(users, func(u string) bool { return u == user })
		})
	}
	switch {
	case err != nil:
		return c.answerFailure(ctx, t, err, resume{Text: "unwatch " + number})
	case gone == nil:
		return c.reply(ctx, t, bot.Text(fmt.Sprintf("You don't watch %s. Type **watching** to see what you follow.", number)))
	}
	return c.reply(ctx, t, bot.Text(fmt.Sprintf("You no longer watch %s.", number)))
}

// listWatches answers "watching".
func (c *Conversation) listWatches(ctx context.Context, t *bot.Turn, _ string) error {
	list, err := c.watchesOf(ctx, t.User.Key())
	if err != nil {
		return c.answerFailure(ctx, t, err, resume{Text: "watching"})
	}
	if len(list) == 0 {
		return c.reply(ctx, t, bot.Text("You don't watch any record. Type **watch** and a number (**watch CHG0030001**) to hear about every change to it."))
	}
	return c.reply(ctx, t, cardMessage(cards.Watching(c.view(t), watchedRecords(list))))
}

func watchedRecords(list []watch) []cards.Watched {
	out := make([]cards.Watched, len(list))
	for i, w := range list {
		out[i] = cards.Watched{Table: w.Table, SysID: w.SysID, Number: w.Number, Short: w.Short, Since: w.Since}
	}
	return out
}

// forgetWatches removes the person from the watchers of everything they
// follow, then their list: at signout.
func (c *Conversation) forgetWatches(ctx context.Context, user string) error {
	list, err := c.watchesOf(ctx, user)
	if err != nil {
		return err
	}
	for _, w := range list {
		if err := c.editWatchers(ctx, w.Table, w.SysID, func(users []string) []string {
			return slices.DeleteFunc(users, func(u string) bool { return u == user })
		}); err != nil {
			return err
		}
	}
	return c.records(user).Delete(ctx, recordWatching)
}

// ignoreMissing makes "no such record" no error: an empty list.
func ignoreMissing(err error) error {
	if errors.Is(err, auth.ErrNoRecord) {
		return nil
	}
	return err
}

// answerFailure answers a command whose own work (not ServiceNow's) failed.
func (c *Conversation) answerFailure(ctx context.Context, t *bot.Turn, err error, again resume) error {
	m, aerr := c.forChat(ctx, t, classify(err), again)
	if aerr != nil {
		return aerr
	}
	return c.reply(ctx, t, m)
}
