package cards

import (
	"fmt"
	"strings"

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

// IncidentLink opens an incident in ServiceNow's UI.
func IncidentLink(instanceURL, sysID string) string {
	return instanceURL + "/nav_to.do?uri=incident.do?sys_id=" + sysID
}

// IncidentList shows a person's open incidents; total counts all matches.
func IncidentList(instanceURL string, incidents []servicenow.Incident, total int) Card {
	body := []Element{Title("Your open incidents")}
	var fb strings.Builder
	fb.WriteString("Your open incidents:\n")
	for _, inc := range incidents {
		link := IncidentLink(instanceURL, inc.SysID)
		body = append(body, Element{
			"type":      "Container",
			"separator": true,
			"items": []Element{
				{"type": "TextBlock", "wrap": true, "weight": "Bolder",
					"text": fmt.Sprintf("[%s](%s) · %s · %s", Plain(inc.Number), link, label(inc.State), label(inc.Priority))},
				Para(Plain(Clip(inc.ShortDescription, maxShort))),
			},
			"selectAction": Submit("Details", map[string]any{"action": ActionShowIncident, "number": inc.Number}),
		})
		fmt.Fprintf(&fb, "- %s (%s, %s): %s\n", Plain(inc.Number), label(inc.State), label(inc.Priority), Plain(Clip(inc.ShortDescription, maxShort)))
	}
	if more := total - len(incidents); more > 0 {
		body = append(body, Subtle(fmt.Sprintf("…and %d more.", more)))
		fmt.Fprintf(&fb, "…and %d more.\n", more)
	}
	body = append(body, Subtle("Select an incident for its details, or type **incident INC…**."))
	return Card{
		Body:     body,
		Actions:  []Element{OpenURL("All my incidents in ServiceNow", instanceURL+"/incident_list.do?sysparm_query=caller_id%3Djavascript:gs.getUserID()%5Eactive%3Dtrue")},
		Fallback: fb.String(),
	}
}

// IncidentDetail shows one incident with buttons to comment and resolve. form
// names this card in what its buttons submit, so a second click on the same
// button is recognised as such.
func IncidentDetail(instanceURL string, inc servicenow.Incident, form string) Card {
	link := IncidentLink(instanceURL, inc.SysID)
	facts := []Fact{
		{"State", label(inc.State)},
		{"Priority", label(inc.Priority)},
		{"Assignment group", plainOrDash(inc.AssignmentGroup)},
		{"Assigned to", plainOrDash(inc.AssignedTo)},
		{"Caller", plainOrDash(inc.Caller)},
		{"Last updated", plainOrDash(inc.Updated)},
	}
	body := []Element{
		Title(Plain(inc.Number)),
		Heading(Plain(Clip(inc.ShortDescription, maxShort))),
		Facts(facts...),
	}
	var fb strings.Builder
	fmt.Fprintf(&fb, "%s: %s\n", Plain(inc.Number), Plain(Clip(inc.ShortDescription, maxShort)))
	for _, f := range facts {
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
				Element{"type": "TextBlock", "wrap": true, "isSubtle": true, "size": "Small", "spacing": "Medium", "text": Plain(c.Author + " · " + c.At)},
				Element{"type": "TextBlock", "wrap": true, "spacing": "None", "text": Plain(Clip(c.Text, maxComment))})
			fmt.Fprintf(&fb, "- %s (%s): %s\n", Plain(c.Author), Plain(c.At), Plain(Clip(c.Text, maxComment)))
		}
	}
	actions := []Element{
		OpenURL("Open in ServiceNow", link),
		ShowCard("Comment", []Element{
			Element{"type": "Input.Text", "id": "comment", "label": "Comment (the caller sees it)", "isMultiline": true,
				"isRequired": true, "errorMessage": "Type a comment", "maxLength": 4000},
		}, Submit("Add comment", map[string]any{"action": ActionComment, "number": inc.Number, "form": form})),
	}
	if !inc.Closed() {
		actions = append(actions, ShowCard("Resolve", []Element{
			Element{"type": "Input.Text", "id": "notes", "label": "Resolution notes", "isMultiline": true,
				"isRequired": true, "errorMessage": "Say how it was resolved", "maxLength": 4000},
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
			{"type": "Input.Text", "id": "short_description", "label": "What is wrong? (short description)", "isRequired": true,
				"errorMessage": "Describe the problem in a few words", "maxLength": 160},
			{"type": "Input.Text", "id": "description", "label": "Details", "isMultiline": true, "maxLength": 4000},
			{"type": "Input.ChoiceSet", "id": "urgency", "label": "Urgency", "value": "3", "choices": []map[string]string{
				{"title": "High", "value": "1"}, {"title": "Medium", "value": "2"}, {"title": "Low", "value": "3"}}},
		},
		Actions:  []Element{Submit("Create incident", map[string]any{"action": ActionCreate, "form": form})},
		Fallback: "To report an incident, type: create <short description>",
	}
}

// Created confirms a new incident.
func Created(instanceURL string, inc servicenow.Incident) Card {
	link := IncidentLink(instanceURL, inc.SysID)
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

// ShowCard is a button that unfolds a card with inputs and a submit button.
func ShowCard(title string, body []Element, submit Element) Element {
	return Element{"type": "Action.ShowCard", "title": title, "card": map[string]any{
		"type": "AdaptiveCard", "body": body, "actions": []Element{submit},
	}}
}

// Clip shortens text to n characters, marking the cut.
func Clip(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
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
