// Package cards builds the Adaptive Cards (schema 1.5, as Teams renders them)
// that the bot sends, each with a plain-text fallback for clients that cannot
// render cards.
package cards

import (
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// ContentType is the attachment type of an Adaptive Card.
const ContentType = "application/vnd.microsoft.card.adaptive"

// Version is the Adaptive Card schema version the bot writes.
const Version = "1.5"

// Element is one body element or action of a card, as JSON.
type Element = map[string]any

// Card is an Adaptive Card.
type Card struct {
	Body     []Element
	Actions  []Element
	Fallback string // plain text for clients that cannot render the card
}

// JSON returns the card as the Adaptive Card JSON object.
func (c Card) JSON() map[string]any {
	m := map[string]any{
		"type":    "AdaptiveCard",
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"version": Version,
		"body":    nonNil(c.Body),
	}
	if len(c.Actions) > 0 {
		m["actions"] = c.Actions
	}
	if c.Fallback != "" {
		m["fallbackText"] = c.Fallback
	}
	return m
}

// Attachment wraps the card for an activity.
func (c Card) Attachment() schema.Attachment {
	return schema.Attachment{ContentType: ContentType, Content: c.JSON()}
}

func nonNil(e []Element) []Element {
	if e == nil {
		return []Element{}
	}
	return e
}

// Title is a large bold heading.
func Title(text string) Element {
	return Element{"type": "TextBlock", "text": text, "size": "Large", "weight": "Bolder", "wrap": true}
}

// Heading is a medium bold line.
func Heading(text string) Element {
	return Element{"type": "TextBlock", "text": text, "size": "Medium", "weight": "Bolder", "wrap": true}
}

// Para is a wrapped paragraph of text.
func Para(text string) Element {
	return Element{"type": "TextBlock", "text": text, "wrap": true}
}

// Subtle is a small, muted paragraph.
func Subtle(text string) Element {
	return Element{"type": "TextBlock", "text": text, "wrap": true, "isSubtle": true, "size": "Small"}
}

// Warning is a paragraph in the attention colour.
func Warning(text string) Element {
	return Element{"type": "TextBlock", "text": text, "wrap": true, "color": "Attention", "weight": "Bolder"}
}

// Fact is one title/value pair of a FactSet.
type Fact struct{ Title, Value string }

// Facts is a two-column list of titles and values.
func Facts(facts ...Fact) Element {
	list := make([]map[string]string, 0, len(facts))
	for _, f := range facts {
		list = append(list, map[string]string{"title": f.Title, "value": f.Value})
	}
	return Element{"type": "FactSet", "facts": list}
}

// OpenURL is a button that opens a link.
func OpenURL(title, url string) Element {
	return Element{"type": "Action.OpenUrl", "title": title, "url": url}
}

// Submit is a button that sends data (and the card's inputs) back to the bot as a message.
func Submit(title string, data map[string]any) Element {
	return Element{"type": "Action.Submit", "title": title, "data": data}
}
