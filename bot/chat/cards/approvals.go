package cards

import (
	"strconv"
	"strings"

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
func ApprovalCard(instanceURL string, a servicenow.Approval, note string, userIDs []string) Card {
	body := []Element{}
	if note != "" {
		body = append(body, Warning(note))
	}
	items, fb := approvalItems(instanceURL, a, ApprovalOne)
	body = append(body, items...)
	return Card{Body: body, Fallback: note + "\n" + fb, Refresh: refresh(ApprovalData{Card: ApprovalOne, Approval: a.SysID}, userIDs)}
}

// ApprovalsCard lists a person's pending approvals, total counting them all.
func ApprovalsCard(instanceURL string, list []servicenow.Approval, total int, note string, userIDs []string) Card {
	body := []Element{}
	if note != "" {
		body = append(body, Warning(note))
	}
	body = append(body, Title("Waiting for your approval"))
	var fb strings.Builder
	if note != "" {
		fb.WriteString(note + "\n")
	}
	if len(list) == 0 {
		body = append(body, Para("Nothing waits for your approval."))
		fb.WriteString("Nothing waits for your approval.\n")
	}
	for _, a := range list {
		items, text := approvalItems(instanceURL, a, ApprovalList)
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

// approvalItems are one approval's elements, and its plain-text version.
func approvalItems(instanceURL string, a servicenow.Approval, kind string) ([]Element, string) {
	r := a.Record
	number, kind2 := Plain(orDash(r.Number)), Plain(r.Table.Display)
	heading := number
	if ValidLink(r.SysID) {
		heading = "[" + number + "](" + RecordLink(instanceURL, r.Table.Value, r.SysID) + ")"
	}
	if kind2 != "" {
		heading += " · " + kind2
	}
	facts := []Fact{{"Asked by", plainOrDash(r.OpenedBy)}, {"Asked on", plainOrDash(orFirst(r.Opened, a.Created))}}
	if r.Risk != "" {
		facts = append(facts, Fact{"Risk", Plain(r.Risk)})
	}
	if r.PlannedStart != "" || r.PlannedEnd != "" {
		facts = append(facts, Fact{"Planned", plainOrDash(r.PlannedStart) + " to " + plainOrDash(r.PlannedEnd)})
	}
	if r.Item != "" {
		facts = append(facts, Fact{"Item", Plain(r.Item)})
	}
	if r.RequestedFor != "" {
		facts = append(facts, Fact{"For", Plain(r.RequestedFor)})
	}
	items := []Element{
		{Type: "TextBlock", Wrap: true, Weight: "Bolder", Text: heading},
		Para(Plain(Clip(r.ShortDescription, maxShort))),
		Facts(facts...),
	}
	var fb strings.Builder
	fb.WriteString("- " + number + " (" + kind2 + "): " + Plain(Clip(r.ShortDescription, maxShort)) + "\n")
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
		outcome := Decision(a)
		items = append(items, Element{Type: "TextBlock", Wrap: true, Weight: "Bolder", Color: decisionColor(a), Text: outcome})
		fb.WriteString("  " + outcome + "\n")
	}
	return items, fb.String()
}

// Decision says what became of an approval, by whom and when:
// "Approved by Ada Lovelace on 2026-11-25 10:00:00".
func Decision(a servicenow.Approval) string { return decision(a, Plain(orDash(a.State.Display))) }

// DecisionInSentence is Decision to follow "is already":
// "approved by Ada Lovelace on …", "no longer required (since …)".
func DecisionInSentence(a servicenow.Approval) string {
	return decision(a, strings.ToLower(Plain(orDash(a.State.Display))))
}

func decision(a servicenow.Approval, state string) string {
	switch a.State.Value {
	case servicenow.ApprovalApproved, servicenow.ApprovalRejected:
		return state + " by " + plainOrDash(a.Approver) + " on " + plainOrDash(a.Updated)
	}
	return state + " (since " + plainOrDash(a.Updated) + ")"
}

func decisionColor(a servicenow.Approval) string {
	switch a.State.Value {
	case servicenow.ApprovalApproved:
		return "Good"
	case servicenow.ApprovalRejected:
		return "Attention"
	}
	return "Default"
}

// RecordLink opens a record of any table in ServiceNow's UI. A table name
// that is not one (it comes from ServiceNow) links through "task" instead.
func RecordLink(instanceURL, table, sysID string) string {
	if table == "" || strings.Trim(table, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		table = "task"
	}
	return instanceURL + "/nav_to.do?uri=" + table + ".do?sys_id=" + sysID
}

// ValidLink reports whether a sys_id may go into a link.
func ValidLink(sysID string) bool { return servicenow.ValidSysID(sysID) }

func orFirst(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
