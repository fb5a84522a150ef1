package cards

// The forms of the message actions: Teams shows them in a dialog over the
// conversation, prefilled from the message they were started on. They are
// written as version 1.3 cards, as the cards people share: the dialogs of
// message extensions render no newer ones (Agents Playground shows a 1.5
// card there as an empty box).

// What a comment from a message is added as: the journal fields of a task.
const (
	WorkNotes = "work_notes"
	Comments  = "comments"
)

// withValue prefills an input.
func withValue(e Element, value string) Element {
	e.Value = value
	return e
}

// formNote is the line above a form that says why it came back; none when
// there is nothing to say.
func formNote(note string) []Element {
	if note == "" {
		return nil
	}
	return []Element{Warning(note)}
}

// IncidentFromMessageForm asks for a new incident, prefilled with values
// (short_description, description, urgency); note says why it came back.
func IncidentFromMessageForm(form string, values map[string]string, note string) Card {
	urgency := values["urgency"]
	if urgency == "" {
		urgency = "3"
	}
	body := append(formNote(note),
		withValue(TextInput("short_description", "What is wrong? (short description)", false, true, "Describe the problem in a few words", 160), values["short_description"]),
		withValue(TextInput("description", "Details", true, false, "", 4000), values["description"]),
		Element{Type: "Input.ChoiceSet", ID: "urgency", Input: &Input{Label: "Urgency", Value: urgency, Choices: []Choice{
			{Title: "High", Value: "1"}, {Title: "Medium", Value: "2"}, {Title: "Low", Value: "3"}}}},
	)
	return Card{Version: ShareVersion, Body: body, Actions: []Element{Submit("Create incident", map[string]any{"form": form})},
		Fallback: "Report an incident from this message."}
}

// CommentFromMessageForm asks for a record number and the text to add to it,
// prefilled with values (number, text, kind); the comment-or-work-note
// choice only when workNotes.
func CommentFromMessageForm(form string, values map[string]string, workNotes bool, note string) Card {
	body := append(formNote(note),
		withValue(TextInput("number", "Record number", false, true, "Type the number of the record, such as INC0010001 or CHG0030001", 40), values["number"]),
		withValue(TextInput("text", "Text to add", true, true, "Say what to add", 4000), values["text"]),
	)
	if workNotes {
		kind := values["kind"]
		if kind != WorkNotes {
			kind = Comments
		}
		body = append(body, Element{Type: "Input.ChoiceSet", ID: "kind", Input: &Input{Label: "Add it as", Value: kind, Choices: []Choice{
			{Title: "Comment (the caller or requester sees it)", Value: Comments}, {Title: "Work note (only those who work on it see it)", Value: WorkNotes}}}})
	}
	return Card{Version: ShareVersion, Body: body, Actions: []Element{Submit("Add to record", map[string]any{"form": form})},
		Fallback: "Add this message to a record."}
}
