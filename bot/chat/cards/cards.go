// Package cards builds the Adaptive Cards (schema 1.5, as Teams renders them)
// that the bot sends, each with a plain-text fallback for clients that cannot
// render cards. Any text from ServiceNow goes through Plain.
package cards

import (
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// ContentType is the attachment type of an Adaptive Card.
const ContentType = "application/vnd.microsoft.card.adaptive"

// Version is the Adaptive Card schema version the bot writes.
const Version = "1.5"

// Element is one body element or action of a card: only the fields its type
// uses are set, and the rest stay out of its JSON. (A struct, not a map: a card
// is encoded for every answer, and a map's keys would be sorted and its values
// boxed each time. Inputs and actions keep their fields apart, so that the text
// blocks that make most of a card stay small.)
type Element struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`

	// TextBlock
	Text      string `json:"text,omitempty"`
	Size      string `json:"size,omitempty"`
	Weight    string `json:"weight,omitempty"`
	Color     string `json:"color,omitempty"`
	IsSubtle  bool   `json:"isSubtle,omitempty"`
	Wrap      bool   `json:"wrap,omitempty"`
	Separator bool   `json:"separator,omitempty"`
	Spacing   string `json:"spacing,omitempty"`

	// Container, ActionSet and FactSet
	Items        []Element `json:"items,omitempty"`
	Actions      []Element `json:"actions,omitempty"`
	SelectAction *Element  `json:"selectAction,omitempty"`
	Facts        []Fact    `json:"facts,omitempty"`

	*Input
	*Action
}

// Input holds the fields of an input element.
type Input struct {
	Label        string   `json:"label,omitempty"`
	Placeholder  string   `json:"placeholder,omitempty"`
	IsMultiline  bool     `json:"isMultiline,omitempty"`
	IsRequired   bool     `json:"isRequired,omitempty"`
	ErrorMessage string   `json:"errorMessage,omitempty"`
	MaxLength    int      `json:"maxLength,omitempty"`
	Value        string   `json:"value,omitempty"`
	Choices      []Choice `json:"choices,omitempty"`
	Style        string   `json:"style,omitempty"` // a choice set's: compact, expanded or filtered
	// Data fills a filtered choice set as the person types (Teams' typeahead:
	// an application/search invoke per query).
	Data     *DataQuery `json:"choices.data,omitempty"`
	ValueOn  string     `json:"valueOn,omitempty"` // a toggle's values
	ValueOff string     `json:"valueOff,omitempty"`
}

// DataQuery asks the bot for a choice set's choices: Teams sends the dataset
// with what was typed.
type DataQuery struct {
	Type    string `json:"type"` // Data.Query
	Dataset string `json:"dataset"`
}

// Action holds the fields of an action (a button).
type Action struct {
	Title string    `json:"title,omitempty"`
	URL   string    `json:"url,omitempty"`
	Verb  string    `json:"verb,omitempty"`
	Data  any       `json:"data,omitempty"`
	Card  *cardJSON `json:"card,omitempty"`
}

// Fact is one title/value pair of a FactSet.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Choice is one choice of an Input.ChoiceSet.
type Choice struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Card is an Adaptive Card.
type Card struct {
	Version  string // the schema version; Version when empty
	Body     []Element
	Actions  []Element
	Fallback string   // plain text for clients that cannot render the card
	Refresh  *Refresh // how Teams gets the card as it is now when it shows it again
}

// Refresh makes Teams ask the bot for the card's current state (an
// adaptiveCard/action invoke) whenever one of UserIDs sees the card.
type Refresh struct {
	Action  Element  `json:"action"`
	UserIDs []string `json:"userIds,omitempty"`
}

// cardJSON is a card as Adaptive Card JSON. (No "$schema": it is for
// editors, Teams reads the type and version, and it would cost every answer
// 56 bytes.)
type cardJSON struct {
	Type     string    `json:"type"`
	Version  string    `json:"version,omitempty"`
	Body     []Element `json:"body"`
	Actions  []Element `json:"actions,omitempty"`
	Fallback string    `json:"fallbackText,omitempty"`
	Refresh  *Refresh  `json:"refresh,omitempty"`
}

// JSON returns the card as the Adaptive Card JSON object.
func (c Card) JSON() any {
	version := c.Version
	if version == "" {
		version = Version
	}
	return cardJSON{
		Type:     "AdaptiveCard",
		Version:  version,
		Body:     nonNil(c.Body),
		Actions:  c.Actions,
		Fallback: c.Fallback,
		Refresh:  c.Refresh,
	}
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
	return Element{Type: "TextBlock", Text: text, Size: "Large", Weight: "Bolder", Wrap: true}
}

// Heading is a medium bold line.
func Heading(text string) Element {
	return Element{Type: "TextBlock", Text: text, Size: "Medium", Weight: "Bolder", Wrap: true}
}

// Para is a wrapped paragraph of text.
func Para(text string) Element {
	return Element{Type: "TextBlock", Text: text, Wrap: true}
}

// Subtle is a small, muted paragraph.
func Subtle(text string) Element {
	return Element{Type: "TextBlock", Text: text, Wrap: true, IsSubtle: true, Size: "Small"}
}

// Warning is a paragraph in the attention colour.
func Warning(text string) Element {
	return Element{Type: "TextBlock", Text: text, Wrap: true, Color: "Attention", Weight: "Bolder"}
}

// Facts is a two-column list of titles and values.
func Facts(facts ...Fact) Element {
	return Element{Type: "FactSet", Facts: facts}
}

// OpenURL is a button that opens a link.
func OpenURL(title, url string) Element {
	return Element{Type: "Action.OpenUrl", Action: &Action{Title: title, URL: url}}
}

// Submit is a button that sends data (and the card's inputs) back to the bot as a message.
func Submit(title string, data any) Element {
	return Element{Type: "Action.Submit", Action: &Action{Title: title, Data: data}}
}

// ShowCard is a button that unfolds a card with inputs and a submit button.
func ShowCard(title string, body []Element, submit Element) Element {
	return Element{Type: "Action.ShowCard", Action: &Action{Title: title, Card: &cardJSON{Type: "AdaptiveCard", Body: body, Actions: []Element{submit}}}}
}

// TextInput is a text field; multiline for longer text.
func TextInput(id, label string, multiline, required bool, errorMessage string, maxLength int) Element {
	return Element{Type: "Input.Text", ID: id, Input: &Input{Label: label, IsMultiline: multiline, IsRequired: required, ErrorMessage: errorMessage, MaxLength: maxLength}}
}

// Toggle is a check box: "true" when ticked, "false" when not. (Its title is
// the one field a toggle shares with actions, so it is kept in Action.)
func Toggle(id, title string, on bool) Element {
	value := "false"
	if on {
		value = "true"
	}
	return Element{Type: "Input.Toggle", ID: id, Input: &Input{Value: value, ValueOn: "true", ValueOff: "false"}, Action: &Action{Title: title}}
}

// Execute is a Universal Action button: Teams sends it to the bot as an
// adaptiveCard/action invoke with verb and data (and the card's inputs), and
// the bot answers with the card that replaces this one.
func Execute(title, verb string, data any) Element {
	return Element{Type: "Action.Execute", Action: &Action{Title: title, Verb: verb, Data: data}}
}

// ActionSet is a row of buttons inside the body.
func ActionSet(actions ...Element) Element {
	return Element{Type: "ActionSet", Actions: actions}
}
