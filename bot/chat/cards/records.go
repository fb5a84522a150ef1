package cards

import (
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/servicenow"
)

// recordFacts are the facts every task's card shows, in order.
var recordFacts = []string{"state", "priority", "assigned_to", "assignment_group", "opened_by", "sys_updated_on"}

// Record shows a record of any task table as its reader may read it: the
// facts every task has and its table's own key fields, each under the
// instance's label, those the reader may not read left out; and its link.
// labels name the fields.
func Record(v View, r servicenow.TaskRecord, labels map[string]string) Card {
	title := Plain(r.Number)
	if kind := Plain(r.Kind.Display); kind != "" {
		title += " · " + kind
	}
	link := v.Links.Record(r.Table, r.SysID)
	var card, text []Fact
	add := func(name, value, plainValue string) {
		label := Plain(labels[name])
		card = append(card, Fact{label, value})
		text = append(text, Fact{label, plainValue})
	}
	for _, name := range recordFacts {
		if !r.Has(name) {
			continue // not the reader's to read
		}
		switch name {
		case "state":
			add(name, label(r.State), label(r.State))
		case "priority":
			add(name, label(r.Priority), label(r.Priority))
		case "assigned_to":
			add(name, plainOrDash(r.AssignedTo), plainOrDash(r.AssignedTo))
		case "assignment_group":
			add(name, plainOrDash(r.AssignmentGroup), plainOrDash(r.AssignmentGroup))
		case "opened_by":
			add(name, plainOrDash(r.OpenedBy), plainOrDash(r.OpenedBy))
		case "sys_updated_on":
			add(name, When(r.Updated), v.Reader.Time(r.Updated))
		}
	}
	for _, f := range r.Fields {
		if !f.At.IsZero() {
			add(f.Name, When(f.At), v.Reader.Time(f.At))
		} else {
			add(f.Name, plainOrDash(f.Value), plainOrDash(f.Value))
		}
	}
	short := Plain(Clip(r.ShortDescription, maxShort))
	var fb strings.Builder
	fb.WriteString(title + ": " + short + "\n")
	for _, f := range text {
		fb.WriteString(f.Title + ": " + f.Value + "\n")
	}
	c := Card{Body: []Element{Title(title), Heading(short), Facts(card...)}}
	if len(r.Approvals) > 0 {
		var who []Fact
		fb.WriteString("Approvals:\n")
		for _, a := range r.Approvals {
			who = append(who, Fact{plainOrDash(a.Approver), label(a.State)})
			fb.WriteString("- " + plainOrDash(a.Approver) + ": " + label(a.State) + "\n")
		}
		c.Body = append(c.Body, Element{Type: "TextBlock", Text: "Approvals", Weight: "Bolder", Wrap: true, Separator: true}, Facts(who...))
	}
	c.Fallback = fb.String()
	if link != "" {
		c.Actions = []Element{OpenURL("Open in ServiceNow", link)}
		fb.WriteString("Open it in ServiceNow: " + link + "\n")
		c.Fallback = fb.String()
	}
	return c
}

// RecordShare is a record of any task table as shared into a conversation:
// its number, title, state and priority, and the link.
func RecordShare(v View, r servicenow.TaskRecord) Card {
	link := v.Links.Record(r.Table, r.SysID)
	short := Plain(Clip(r.ShortDescription, maxShort))
	title := Plain(r.Number)
	if kind := Plain(r.Kind.Display); kind != "" {
		title += " · " + kind
	}
	c := Card{
		Version:  ShareVersion,
		Body:     []Element{Title(title), Heading(short), Facts(Fact{"State", label(r.State)}, Fact{"Priority", label(r.Priority)})},
		Fallback: Plain(r.Number) + ": " + short + " (" + label(r.State) + ") " + link,
	}
	if link != "" {
		c.Actions = []Element{OpenURL("Open in ServiceNow", link)}
	}
	return c
}

// RecordPreview is a record as a search result shows it.
func RecordPreview(r servicenow.TaskRecord) schema.Attachment {
	return Thumbnail(Plain(r.Number)+" · "+label(r.State), Plain(r.Kind.Display)+" · "+label(r.Priority), Plain(Clip(r.ShortDescription, maxShort)))
}
