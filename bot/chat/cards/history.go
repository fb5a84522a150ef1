package cards

import (
	"strings"
	"time"
)

// Sent is a notification a person was sent: when, and what it said (its
// text fallback, already made safe when it was sent).
type Sent struct {
	At      time.Time
	Summary string
}

// History lists the last notifications a person was sent, newest first,
// each with its time as Teams shows times to the person reading it.
func History(v View, list []Sent) Card {
	body := []Element{Heading("Your last notifications")}
	var fb strings.Builder
	fb.WriteString("Your last notifications:\n")
	if len(list) == 0 {
		body = append(body, Subtle("None yet."))
		fb.WriteString("None yet.\n")
	}
	for _, s := range list {
		headline, rest, _ := strings.Cut(strings.TrimSpace(s.Summary), "\n")
		what, _, _ := strings.Cut(rest, "\n")
		items := []Element{
			{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: headline},
			Subtle(When(s.At)),
		}
		if what != "" {
			items = append(items, Para(what))
		}
		body = append(body, Element{Type: "Container", Separator: true, Items: items})
		fb.WriteString("- " + v.Reader.Time(s.At) + ": " + headline + "\n")
	}
	return Card{Body: body, Fallback: fb.String()}
}
