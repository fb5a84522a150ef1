package instance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"snowbot/servicenow/events"
)

// Approval is a sysapproval_approver record: one approver's decision on a task.
type Approval struct {
	SysID     string
	State     string // requested, approved, rejected, no_longer_required
	Approver  string // sys_user sys_id
	Task      string // the task's sys_id
	Group     string // sys_user_group sys_id of a group approval, or ""
	Created   time.Time
	Updated   time.Time
	UpdatedBy string // user_name
	Comments  []Journal
}

var (
	approvalLabels = map[string]string{"requested": "Requested", "approved": "Approved", "rejected": "Rejected",
		"no_longer_required": "No Longer Required", "not_requested": "Not Yet Requested", "cancelled": "Cancelled"}
	riskLabels = map[int]string{1: "Very High", 2: "High", 3: "Moderate", 4: "Low"}
)

func init() {
	tableFields["sc_cat_item"] = []string{"sys_id", "name"}
	tableFields["sysapproval_approver"] = []string{"sys_id", "state", "approver", "sysapproval", "document_id", "source_table",
		"group", "sys_created_on", "sys_updated_on", "sys_updated_by", "comments"}
	tableFields["incident"] = append(tableFields["incident"], "sys_class_name")
}

// ref is a reference field to a record of table; needs s.mu held.
func (s *Instance) ref(table, id string) field {
	f := field{value: id, ref: table}
	switch table {
	case "sys_user":
		if u := s.userByID(id); u != nil {
			f.display = u.Name
		}
	case "sys_user_group":
		for _, g := range s.groups {
			if g.SysID == id {
				f.display = g.Name
			}
		}
	case "sc_cat_item":
		for _, c := range s.catItems {
			if c.SysID == id {
				f.display = c.Name
			}
		}
	case "task":
		if t := s.taskByID(id); t != nil {
			f.display = t.Number
		} else if i := s.incidentByID(id); i != nil {
			f.display = i.Number
		}
	}
	return f
}

func plain(v string) field { return field{value: v, display: v} }

func date(t time.Time) field {
	if t.IsZero() {
		return field{}
	}
	return plain(t.UTC().Format(dateLayout))
}

// approvalRecord needs s.mu held.
func (s *Instance) approvalRecord(a *Approval) record {
	t := s.taskByID(a.Task)
	table := ""
	if t != nil {
		table = t.Table
	}
	return record{
		"sys_id":         plain(a.SysID),
		"state":          field{value: a.State, display: approvalLabels[a.State]},
		"approver":       s.ref("sys_user", a.Approver),
		"sysapproval":    s.ref("task", a.Task),
		"document_id":    plain(a.Task),
		"source_table":   plain(table),
		"group":          s.ref("sys_user_group", a.Group),
		"sys_created_on": date(a.Created),
		"sys_updated_on": date(a.Updated),
		"sys_updated_by": plain(a.UpdatedBy),
		"comments":       {journal: true, display: s.journalText(a.Comments, "Comments")},
	}
}

// approvalRows are the approvals user may read: their own (agents read all).
func (s *Instance) approvalRows(user *User) []record {
	var out []record
	for _, a := range s.approvals {
		// A requester follows the approvals of what they asked for.
		if t := s.taskByID(a.Task); user.ITIL || a.Approver == user.SysID || (t != nil && (t.RequestedFor == user.SysID || t.OpenedBy == user.SysID)) {
			out = append(out, s.approvalRecord(a))
		}
	}
	return out
}

// decide serves a PATCH of an approval: only its approver may decide it, and
// only while it is requested. Deciding one approval of a group approval makes
// the others no longer required. Needs s.mu held.
func (s *Instance) decide(id string, body []byte, user *User) (*Approval, int, string, string) {
	var a *Approval
	for _, x := range s.approvals {
		if x.SysID == id {
			a = x
		}
	}
	if a == nil || !(user.ITIL || a.Approver == user.SysID) {
		return nil, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON."
	}
	if a.Approver != user.SysID {
		return nil, http.StatusForbidden, "Operation Failed", "ACL Exception Update Failed due to security constraints"
	}
	state, _ := in["state"].(string)
	comment, _ := in["comments"].(string)
	if state != "" && state != "approved" && state != "rejected" {
		return nil, http.StatusBadRequest, "Invalid value", "state: not a valid choice"
	}
	if state != "" && a.State != "requested" {
		return nil, http.StatusForbidden, "Operation Failed", "The approval is " + approvalLabels[a.State] + " and can no longer be changed"
	}
	now := time.Now().UTC().Truncate(time.Second)
	if comment != "" {
		a.Comments = append(a.Comments, Journal{At: now, By: user.SysID, Text: comment})
	}
	if state != "" {
		a.State = state
		if a.Group != "" {
			for _, other := range s.approvals {
				if other != a && other.Task == a.Task && other.Group == a.Group && other.State == "requested" {
					other.State, other.Updated, other.UpdatedBy = "no_longer_required", now, "system"
				}
			}
		}
	}
	a.Updated, a.UpdatedBy = now, user.UserName
	return a, http.StatusOK, "", ""
}

// Approvals returns a snapshot of every approval.
func (s *Instance) Approvals() []Approval {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Approval, 0, len(s.approvals))
	for _, a := range s.approvals {
		c := *a
		c.Comments = append([]Journal(nil), a.Comments...)
		out = append(out, c)
	}
	return out
}

// ApprovalOf returns the approval of the task with this number by the user with this user_name.
func (s *Instance) ApprovalOf(number, approverUserName string) (Approval, bool) {
	u := s.findUser(approverUserName)
	s.mu.Lock()
	var task string
	for _, t := range s.tasks {
		if t.Number == number {
			task = t.SysID
		}
	}
	s.mu.Unlock()
	for _, a := range s.Approvals() {
		if u != nil && a.Task == task && a.Approver == u.SysID {
			return a, true
		}
	}
	return Approval{}, false
}

// RequestApproval asks the user with this user_name to approve the task with
// this number, as a workflow does, and sends the approval_requested event.
// It returns the new approval's sys_id.
func (s *Instance) RequestApproval(number, approverUserName string) (string, error) {
	u := s.findUser(approverUserName)
	if u == nil {
		return "", fmt.Errorf("no user %s", approverUserName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if t.Number != number {
			continue
		}
		now := time.Now().UTC().Truncate(time.Second)
		a := &Approval{SysID: randomHex(16), State: "requested", Approver: u.SysID, Task: t.SysID, Created: now, Updated: now, UpdatedBy: "system"}
		s.approvals = append(s.approvals, a)
		s.emit(events.Event{ID: randomHex(16), Table: events.TableApproval, SysID: a.SysID, Event: events.ApprovalRequested,
			Recipients: []string{u.SysID}})
		return a.SysID, nil
	}
	return "", fmt.Errorf("no task %s", number)
}
