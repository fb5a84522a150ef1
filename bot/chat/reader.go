package chat

import (
	"strings"
	"sync"
	"time"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
)

// readerOf is who reads the answer to a turn: the time zone and locale
// Teams sends with each activity (UTC and ISO dates when it sends none).
func readerOf(t *bot.Turn) cards.Reader {
	return reader(t.Activity.LocalTimezone, t.Activity.Locale)
}

// reader is a reader of an IANA time zone name and a locale.
func reader(zone, locale string) cards.Reader {
	return cards.Reader{Zone: location(zone), Locale: locale}
}

// view is what the cards of a turn's answer need: the instance for links,
// and the reader.
func (c *Conversation) view(t *bot.Turn) cards.View {
	return cards.View{Links: c.ServiceNow.Links(), Reader: readerOf(t)}
}

// locations caches time zones by name: loading one parses the zone database,
// and a card is made for most turns.
var locations sync.Map

// location is the time zone of an IANA name, or nil (UTC) for an empty or
// unknown one.
func location(name string) *time.Location {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, l)
	return l
}
