package cards

// The cards of following records: the list of what a person watches, the
// news of a watched record, and a channel subscription's posts and thread
// replies.

import (
	"fmt"
	"strings"
	"time"

	"snowbot/servicenow"
)

// Watched is one record a person follows, as kept when they started.
type Watched struct {
	Table, SysID, Number, Short string
	Since                       time.Time
}

// Watching lists what a person follows.
func Watching(v View, list []Watched) Card {
	body := []Element{Title("What you watch")}
	var fb strings.Builder
	fb.WriteString("What you watch:\n")
	for _, w := range list {
		link := v.Links.Record(w.Table, w.SysID)
		body = append(body,
			Element{Type: "TextBlock", Wrap: true, Separator: true, Text: fmt.Sprintf("[%s](%s) · %s", Plain(w.Number), link, Plain(w.Short))},
			Subtle("since "+When(w.Since)))
		fmt.Fprintf(&fb, "- %s: %s (since %s) %s\n", Plain(w.Number), Plain(w.Short), v.Reader.Time(w.Since), link)
	}
	body = append(body, Subtle("Type **unwatch** and a number to stop following it."))
	return Card{Body: body, Fallback: fb.String()}
}

// kindOf is a record's kind in a sentence ("change request"), from its class label.
func kindOf(r servicenow.TaskRecord) string {
	if k := strings.TrimSpace(r.Kind.Display); k != "" {
		return strings.ToLower(Plain(k))
	}
	return "record"
}

// headlineOf says what happened to a record of any table.
func (c Change) headlineOf(r servicenow.TaskRecord) string {
	number := Plain(r.Number)
	if c.Created {
		return "New " + kindOf(r) + " " + number
	}
	return c.headline(number)
}

// recordFacts are what a record's news shows of where it stands, the
// fields that changed marked.
func (c Change) recordFacts(r servicenow.TaskRecord) []Fact {
	changed := map[string]bool{}
	for _, f := range c.Fields {
		changed[f] = !c.Created
	}
	mark := func(field, value string) string {
		if changed[field] {
			return value + " (changed)"
		}
		return value
	}
	return []Fact{
		{"State", mark("state", label(r.State))},
		{"Priority", mark("priority", label(r.Priority))},
		{"Assigned to", mark("assigned_to", plainOrDash(r.AssignedTo))},
	}
}

// RecordNews tells a person that a record they follow changed: what changed,
// where it stands, the latest comment. Read with that person's own token.
func RecordNews(v View, r servicenow.TaskRecord, c Change) Card {
	headline := c.headlineOf(r)
	return newsCard(v, r, c, headline, nil)
}

// newsCard is a record's news: headline, short description, facts, the
// latest comment when one was made, more lines, and the link.
func newsCard(v View, r servicenow.TaskRecord, c Change, headline string, more []Element) Card {
	short := Plain(Clip(r.ShortDescription, maxShort))
	facts := c.recordFacts(r)
	body := []Element{Title(headline), Heading(short), Facts(facts...)}
	var fb strings.Builder
	fmt.Fprintf(&fb, "%s\n%s\n", headline, short)
	for _, f := range facts {
		fmt.Fprintf(&fb, "%s: %s\n", f.Title, f.Value)
	}
	if c.Commented && len(r.Comments) > 0 {
		elements, text := latestComment(v, r.Comments[0])
		body = append(body, elements...)
		fb.WriteString(text)
	}
	for _, e := range more {
		body = append(body, e)
		fmt.Fprintf(&fb, "%s\n", e.Text)
	}
	card := Card{Body: body}
	if link := v.Links.Record(r.Table, r.SysID); link != "" {
		card.Actions = []Element{OpenURL("Open in ServiceNow", link)}
		fmt.Fprintf(&fb, "Open it in ServiceNow: %s\n", link)
	}
	card.Fallback = fb.String()
	return card
}

// sharedBy says whose view of ServiceNow a channel sees.
func sharedBy(owner string) Element {
	return Subtle("Shared by " + Plain(owner) + ": shown as they see it in ServiceNow.")
}

// ChannelPost is a record that newly matches a channel's subscription: the
// first post of its thread.
func ChannelPost(v View, r servicenow.TaskRecord, c Change, owner string) Card {
	headline := Plain(r.Number)
	if kind := Plain(r.Kind.Display); kind != "" {
		headline += " · " + kind
	}
	what := "Now matches this channel's subscription"
	if c.Created {
		what = "New, and matches this channel's subscription"
	} else if h := c.changedList(); h != "" {
		what = "Changed: " + h + "; now matches this channel's subscription"
	}
	return newsCard(v, r, c, headline, []Element{Para(what + "."), sharedBy(owner)})
}

// ChannelUpdate is a later change to a record while it matches: a reply in
// its thread.
func ChannelUpdate(v View, r servicenow.TaskRecord, c Change, owner string) Card {
	return newsCard(v, r, c, c.headline(Plain(r.Number)), []Element{sharedBy(owner)})
}

// ChannelLeft is the last reply in a record's thread: it no longer matches.
func ChannelLeft(number, query string) Card {
	text := Plain(number) + " no longer matches this channel's subscription (" + Plain(Clip(query, 200)) + "), or its owner may no longer read it. No more updates in this thread."
	return Card{Body: []Element{Para(text)}, Fallback: text}
}

// changedList names the fields that changed, in a sentence, and a comment.
func (c Change) changedList() string {
	var out []string
	for _, l := range fieldLabels {
		for _, f := range c.Fields {
			if f == l.field {
				out = append(out, l.label)
			}
		}
	}
	if c.Commented {
		out = append(out, "a new comment")
	}
	return strings.Join(out, ", ")
}

// Subscription is one of a channel's subscriptions, as listed.
type Subscription struct {
	N                   int
	Table, Query, Owner string
	Paused              bool
}

// Subscriptions lists a channel's subscriptions, numbered as unsubscribe takes them.
func Subscriptions(list []Subscription) Card {
	body := []Element{Title("This channel's subscriptions")}
	var fb strings.Builder
	fb.WriteString("This channel's subscriptions:\n")
	for _, s := range list {
		state := ""
		if s.Paused {
			state = " (paused until " + Plain(s.Owner) + " signs in again)"
		}
		line := fmt.Sprintf("%d. %s where %s, as %s sees it%s", s.N, Plain(s.Table), Plain(Clip(s.Query, 300)), Plain(s.Owner), state)
		body = append(body, Element{Type: "TextBlock", Wrap: true, Separator: true, Text: line})
		fb.WriteString(line + "\n")
	}
	body = append(body, Subtle("Mention me with **unsubscribe** and a number to end one."))
	return Card{Body: body, Fallback: fb.String()}
}
