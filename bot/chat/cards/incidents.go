package cards

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"snowbot/servicenow"
)

// Limits that keep every message well under Teams' size limit (about 28 KB).
const (
	maxShort       = 200
	maxDescription = 1500
	maxComment     = 500
	maxComments    = 3
)

// Actions the bot's cards submit, in the "action" field of their data.
const (
	ActionShowIncident = "incident"
	ActionComment      = "comment"
	ActionResolve      = "resolve"
	ActionCreate       = "create"
)

// incidentData is what a button about one incident sends back.
type incidentData struct {
	Action string `json:"action"`
	Number string `json:"number"`
}

// IncidentList shows a person's open incidents; total counts all matches.
func IncidentList(v View, incidents []servicenow.Incident, total int) Card {
	body := make([]Element, 0, len(incidents)+3)
	body = append(body, Title("Your open incidents"))
	var fb strings.Builder
	fb.WriteString("Your open incidents:\n")
	for _, inc := range incidents {
		// Concatenation rather than fmt: a list is built for every "incidents".
		link := v.Links.Record("incident", inc.SysID)
		number, state, priority, short := Plain(inc.Number), label(inc.State), label(inc.Priority), Plain(Clip(inc.ShortDescription, maxShort))
		age := "updated " + Ago(inc.Updated, v.now())
		details := Submit("Details", incidentData{Action: ActionShowIncident, Number: inc.Number})
		body = append(body, Element{
			Type:      "Container",
			Separator: true,
			Items: []Element{
				{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: "[" + number + "](" + link + ") · " + state + " · " + priority},
				Para(short),
				Subtle(age),
			},
			SelectAction: &details,
		})
		fb.WriteString("- " + number + " (" + state + ", " + priority + ", " + age + "): " + short + "\n")
	}
	if more := total - len(incidents); more > 0 {
		body = append(body, Subtle(fmt.Sprintf("…and %d more.", more)))
		fmt.Fprintf(&fb, "…and %d more.\n", more)
	}
	body = append(body, Subtle("Select an incident for its details, or type **incident INC…**."))
	return Card{
		Body:     body,
		Actions:  []Element{OpenURL("All my incidents in ServiceNow", v.Links.MyOpenIncidents())},
		Fallback: fb.String(),
	}
}

// IncidentDetail shows one incident with buttons to comment and resolve. form
// names this card in what its buttons submit, so a second click on the same
// button is recognised as such.
func IncidentDetail(v View, inc servicenow.Incident, form string) Card {
	link := v.Links.Record("incident", inc.SysID)
	facts := []Fact{
		{"State", label(inc.State)},
		{"Priority", label(inc.Priority)},
		{"Assignment group", plainOrDash(inc.AssignmentGroup)},
		{"Assigned to", plainOrDash(inc.AssignedTo)},
		{"Caller", plainOrDash(inc.Caller)},
		{"Opened by", plainOrDash(inc.OpenedBy)},
	}
	body := []Element{
		Title(Plain(inc.Number)),
		Heading(Plain(Clip(inc.ShortDescription, maxShort))),
		Facts(append(facts, Fact{"Last updated", When(inc.Updated)})...),
	}
	var fb strings.Builder
	fmt.Fprintf(&fb, "%s: %s\n", Plain(inc.Number), Plain(Clip(inc.ShortDescription, maxShort)))
	for _, f := range append(facts, Fact{"Last updated", v.Reader.Time(inc.Updated)}) {
		fmt.Fprintf(&fb, "%s: %s\n", f.Title, f.Value)
	}
	if inc.Description != "" {
		body = append(body, Para(Plain(Clip(inc.Description, maxDescription))))
	}
	if len(inc.Comments) > 0 {
		body = append(body, Heading("Latest comments"))
		fb.WriteString("Latest comments:\n")
		for k, c := range inc.Comments {
			if k == maxComments {
				break
			}
			body = append(body,
				Element{Type: "TextBlock", Wrap: true, IsSubtle: true, Size: "Small", Spacing: "Medium", Text: Plain(c.Author) + " · " + When(c.At)},
				Element{Type: "TextBlock", Wrap: true, Spacing: "None", Text: Plain(Clip(c.Text, maxComment))})
			fmt.Fprintf(&fb, "- %s (%s): %s\n", Plain(c.Author), v.Reader.Time(c.At), Plain(Clip(c.Text, maxComment)))
		}
	}
	actions := []Element{
		OpenURL("Open in ServiceNow", link),
		ShowCard("Comment", []Element{
			TextInput("comment", "Comment (the caller sees it)", true, true, "Type a comment", 4000),
		}, Submit("Add comment", map[string]any{"action": ActionComment, "number": inc.Number, "form": form})),
	}
	if !inc.Closed() {
		actions = append(actions, ShowCard("Resolve", []Element{
			TextInput("notes", "Resolution notes", true, true, "Say how it was resolved", 4000),
		}, Submit("Resolve incident", map[string]any{"action": ActionResolve, "number": inc.Number, "form": form})))
	}
	fmt.Fprintf(&fb, "Open it in ServiceNow: %s\n", link)
	return Card{Body: body, Actions: actions, Fallback: fb.String()}
}

// CreateForm asks for a new incident's details; form names this card in what
// it submits, so the same form sent twice creates one incident.
func CreateForm(form string) Card {
	return Card{
		Body: []Element{
			Title("Report an incident"),
			TextInput("short_description", "What is wrong? (short description)", false, true, "Describe the problem in a few words", 160),
			TextInput("description", "Details", true, false, "", 4000),
			{Type: "Input.ChoiceSet", ID: "urgency", Input: &Input{Label: "Urgency", Value: "3", Choices: []Choice{
				{Title: "High", Value: "1"}, {Title: "Medium", Value: "2"}, {Title: "Low", Value: "3"}}}},
		},
		Actions:  []Element{Submit("Create incident", map[string]any{"action": ActionCreate, "form": form})},
		Fallback: "To report an incident, type: create <short description>",
	}
}

// Created confirms a new incident.
func Created(v View, inc servicenow.Incident) Card {
	link := v.Links.Record("incident", inc.SysID)
	return Card{
		Body: []Element{
			Heading("Created " + Plain(inc.Number)),
			Para(Plain(Clip(inc.ShortDescription, maxShort))),
			Subtle("You are the caller. Type **incident " + Plain(inc.Number) + "** to follow it."),
		},
		Actions:  []Element{OpenURL("Open in ServiceNow", link)},
		Fallback: fmt.Sprintf("Created %s: %s\n%s", Plain(inc.Number), Plain(Clip(inc.ShortDescription, maxShort)), link),
	}
}

// Clip shortens text to n characters, marking the cut.
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s // no more bytes (or runes) than allowed: nothing to cut
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// label is a field's display value as plain text.
func label(v servicenow.Value) string {
	if v.Display != "" {
		return Plain(v.Display)
	}
	return plainOrDash(v.Value)
}

func plainOrDash(s string) string { return orDash(Plain(s)) }

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// Receipt replaces a form once it has been sent: its title and what came of
// it, with no inputs and no button left to send it again.
func Receipt(title, outcome string) Card {
	return Card{
		Body:     []Element{Heading(title), Subtle(outcome)},
		Fallback: title + ": " + outcome,
	}
}
