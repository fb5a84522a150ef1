package cards

import (
	"strconv"
	"strings"
	"time"

	"snowbot/servicenow"
)

// Verbs of the approval cards' Action.Execute buttons.
const (
	VerbApprove = "approve"
	VerbReject  = "reject"
	VerbRefresh = "refresh"
)

// Approval cards come in two kinds: one approval, or the list of a person's
// pending approvals; the invoke answers with a card of the same kind.
const (
	ApprovalOne  = "approval"
	ApprovalList = "approvals"
)

// ApprovalData is what an approval card's buttons send back.
type ApprovalData struct {
	Card     string `json:"card"`               // ApprovalOne or ApprovalList
	Approval string `json:"approval,omitempty"` // the approval's sys_id
}

// ReasonInput names the reason field of an approval's Reject form.
func ReasonInput(approval string) string { return "reason-" + approval }

// ApprovalCard shows one approval: what it is for, and while it waits,
// Approve and Reject. note (may be empty) says what just happened. userIDs are
// the Teams users for whom the card refreshes itself when shown again.
func ApprovalCard(v View, a servicenow.Approval, note Note, userIDs []string) Card {
	body := note.elements()
	items, fb := approvalItems(v, a, ApprovalOne)
	body = append(body, items...)
	return Card{Body: body, Fallback: note.fallback() + fb, Refresh: refresh(ApprovalData{Card: ApprovalOne, Approval: a.SysID}, userIDs)}
}

// ApprovalsCard lists a person's pending approvals, total counting them all.
func ApprovalsCard(v View, list []servicenow.Approval, total int, note Note, userIDs []string) Card {
	body := note.elements()
	body = append(body, Title("Waiting for your approval"))
	var fb strings.Builder
	fb.WriteString(note.fallback())
	fb.WriteString("Waiting for your approval:\n")
	if len(list) == 0 {
		body = append(body, Para("Nothing waits for your approval."))
		fb.WriteString("Nothing waits for your approval.\n")
	}
	for _, a := range list {
		items, text := approvalItems(v, a, ApprovalList)
		body = append(body, Element{Type: "Container", Separator: true, Items: items})
		fb.WriteString(text)
	}
	if more := total - len(list); more > 0 {
		body = append(body, Subtle("…and "+strconv.Itoa(more)+" more."))
		fb.WriteString("…and " + strconv.Itoa(more) + " more.\n")
	}
	return Card{Body: body, Fallback: fb.String(), Refresh: refresh(ApprovalData{Card: ApprovalList}, userIDs)}
}

func refresh(data ApprovalData, userIDs []string) *Refresh {
	return &Refresh{Action: Execute("Refresh", VerbRefresh, data), UserIDs: userIDs}
}

// timed is a fact that may hold times: as the card shows it, and as plain text.
type timed struct{ title, card, text string }

// approvalItems are one approval's elements, and its plain-text version.
func approvalItems(v View, a servicenow.Approval, kind string) ([]Element, string) {
	r := a.Record
	number, kind2 := Plain(orDash(r.Number)), Plain(r.Table.Display)
	heading := number
	if link := v.Links.Record(r.Table.Value, r.SysID); link != "" {
		heading = "[" + number + "](" + link + ")"
	}
	if kind2 != "" {
		heading += " · " + kind2
	}
	asked := r.Opened
	if asked.IsZero() {
		asked = a.Created
	}
	facts := []timed{{"Asked by", plainOrDash(r.OpenedBy), ""}, {"Asked", When(asked) + " (" + Ago(asked, v.now()) + ")", v.Reader.Time(asked)}}
	if r.Risk != "" {
		facts = append(facts, timed{"Risk", Plain(r.Risk), ""})
	}
	if !r.PlannedStart.IsZero() || !r.PlannedEnd.IsZero() {
		facts = append(facts, timed{"Planned", When(r.PlannedStart) + " to " + When(r.PlannedEnd), v.Reader.Time(r.PlannedStart) + " to " + v.Reader.Time(r.PlannedEnd)})
	}
	if r.Item != "" {
		facts = append(facts, timed{"Item", Plain(r.Item), ""})
	}
	if r.RequestedFor != "" {
		facts = append(facts, timed{"For", Plain(r.RequestedFor), ""})
	}
	cardFacts := make([]Fact, len(facts))
	var line []string
	for i, f := range facts {
		cardFacts[i] = Fact{f.title, f.card}
		text := f.text
		if text == "" {
			text = f.card
		}
		line = append(line, f.title+": "+text)
	}
	items := []Element{
		{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: heading},
		Para(Plain(Clip(r.ShortDescription, maxShort))),
		Facts(cardFacts...),
	}
	var fb strings.Builder
	fb.WriteString("- " + number + " (" + kind2 + "): " + Plain(Clip(r.ShortDescription, maxShort)) + "\n")
	fb.WriteString("  " + strings.Join(line, " · ") + "\n")
	if a.Requested() {
		data := ApprovalData{Card: kind, Approval: a.SysID}
		items = append(items, ActionSet(
			Execute("Approve", VerbApprove, data),
			Element{Type: "Action.ShowCard", Action: &Action{Title: "Reject", Card: &cardJSON{Type: "AdaptiveCard",
				Body: []Element{{Type: "Input.Text", ID: ReasonInput(a.SysID), Input: &Input{Label: "Why do you reject it?",
					IsMultiline: true, IsRequired: true, ErrorMessage: "Say why, for the person who asked", MaxLength: 4000}}},
				Actions: []Element{Execute("Reject", VerbReject, data)}}}},
		))
		fb.WriteString("  Type: approve " + number + "   or: reject " + number + " <reason>\n")
	} else {
		items = append(items, Element{Type: "TextBlock", Wrap: true, Weight: "Bolder", Color: decisionColor(a), Text: decision(a, Plain(orDash(a.State.Display)), When)})
		fb.WriteString("  " + decision(a, Plain(orDash(a.State.Display)), v.Reader.Time) + "\n")
	}
	return items, fb.String()
}

// AlreadyDecided is the note for a press on an approval decided before:
// what became of it, by whom and when ("approved by Ada Lovelace on …"), the
// time in each viewer's zone on the card and in reader's in the fallback.
func AlreadyDecided(number string, a servicenow.Approval, reader Reader) Note {
	state := strings.ToLower(Plain(orDash(a.State.Display)))
	lead := "Nothing to do: " + number + " is already "
	return Note{Tone: Info, Text: lead + decision(a, state, When) + ".", Plain: lead + decision(a, state, reader.Time) + "."}
}

func decision(a servicenow.Approval, state string, at func(time.Time) string) string {
	switch a.State.Value {
	case servicenow.ApprovalApproved, servicenow.ApprovalRejected:
		return state + " by " + plainOrDash(a.Approver) + " on " + at(a.Updated)
	}
	return state + " (since " + at(a.Updated) + ")"
}

func decisionColor(a servicenow.Approval) string {
	switch a.State.Value {
	case servicenow.ApprovalApproved:
		return "Good"
	case servicenow.ApprovalRejected:
		return "Accent" // a decision, not something gone wrong
	}
	return "Default"
}
