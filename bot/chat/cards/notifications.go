package cards

import (
	"fmt"
	"slices"
	"strings"

	"snowbot/servicenow"
)

// Change is what happened to an incident, as the events of a few seconds
// told it: it was created, fields changed, someone commented.
type Change struct {
	Created   bool
	Fields    []string // Table API names: state, priority, assigned_to, …
	Commented bool
}

// fieldLabels name the fields a person is told about, in the order they are told.
var fieldLabels = []struct{ field, label string }{
	{"state", "state"}, {"priority", "priority"}, {"assigned_to", "assigned to"}, {"assignment_group", "assignment group"},
	{"urgency", "urgency"}, {"impact", "impact"}, {"short_description", "short description"},
}

// What a notification card says at the top: the same words whatever order
// the events came in.
func (c Change) headline(number string) string {
	var changed []string
	for _, l := range fieldLabels {
		if slices.Contains(c.Fields, l.field) {
			changed = append(changed, l.label)
		}
	}
	switch {
	case c.Created:
		return "New incident " + number
	case len(changed) > 0 && c.Commented:
		return number + ": " + strings.Join(changed, ", ") + " changed, and a new comment"
	case len(changed) > 0:
		return number + ": " + strings.Join(changed, ", ") + " changed"
	case c.Commented:
		return "New comment on " + number
	}
	return number + " was updated"
}

// IncidentNews tells a person that an incident changed: what changed, where
// it stands now, and the latest comment with its author. Everything in it was
// read from ServiceNow with that person's own token.
func IncidentNews(v View, inc servicenow.Incident, c Change) Card {
	number := Plain(inc.Number)
	headline := c.headline(number)
	changed := map[string]bool{}
	for _, f := range c.Fields {
		changed[f] = true
	}
	mark := func(field, value string) string {
		if changed[field] && !c.Created {
			return value + " (changed)"
		}
		return value
	}
	facts := []Fact{
		{"State", mark("state", label(inc.State))},
		{"Priority", mark("priority", label(inc.Priority))},
		{"Assigned to", mark("assigned_to", plainOrDash(inc.AssignedTo))},
		{"Caller", plainOrDash(inc.Caller)},
	}
	link := v.Links.Record("incident", inc.SysID)
	body := []Element{
		Title(headline),
		Heading(Plain(Clip(inc.ShortDescription, maxShort))),
		Facts(facts...),
	}
	var fb strings.Builder
	fmt.Fprintf(&fb, "%s\n%s\n", headline, Plain(Clip(inc.ShortDescription, maxShort)))
	for _, f := range facts {
		fmt.Fprintf(&fb, "%s: %s\n", f.Title, f.Value)
	}
	if len(inc.Comments) > 0 {
		elements, text := latestComment(v, inc.Comments[0])
		body = append(body, elements...)
		fb.WriteString(text)
	}
	fmt.Fprintf(&fb, "Open it in ServiceNow: %s\n", link)
	return Card{
		Body: body,
		Actions: []Element{
			OpenURL("Open in ServiceNow", link),
			Submit("Details", incidentData{Action: ActionShowIncident, Number: inc.Number}),
		},
		Fallback: fb.String(),
	}
}

// latestComment shows a record's latest comment with its author and time,
// and says it as a line of text.
func latestComment(v View, c servicenow.JournalEntry) ([]Element, string) {
	return []Element{
			Heading("Latest comment"),
			{Type: "TextBlock", Wrap: true, IsSubtle: true, Size: "Small", Spacing: "Small", Text: Plain(c.Author) + " · " + When(c.At)},
			{Type: "TextBlock", Wrap: true, Spacing: "None", Text: Plain(Clip(c.Text, maxComment))},
		},
		fmt.Sprintf("Latest comment, by %s (%s): %s\n", Plain(c.Author), v.Reader.Time(c.At), Plain(Clip(c.Text, maxComment)))
}
