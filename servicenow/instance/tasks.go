package instance

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Task is a record of a task table other than incident: a change and its
// tasks, a problem and its tasks, a request, its requested items and their
// catalog tasks, or a plain task.
type Task struct {
	Table                           string // change_request, change_task, problem, problem_task, sc_request, sc_req_item, sc_task or task
	SysID, Number, ShortDescription string
	State, Priority                 int
	OpenedBy, RequestedFor          string // sys_user sys_ids
	AssignedTo, AssignmentGroup     string // a sys_user and a sys_user_group sys_id
	CatItem                         string // sc_req_item: the catalog item
	Parent                          string // sc_req_item: its request; sc_task: its requested item; change_task and problem_task: their change or problem
	Stage                           string // sc_req_item: request_approved, fulfillment, delivery, complete
	Type                            string // change_request: normal, standard, emergency
	KnownError                      bool   // problem
	// Private: only the people it names (opener, requester, assignee) may read
	// it, agents or not, as a record restricted by an ACL to its people.
	Private          bool
	Created, Updated time.Time
	Risk             int       // change_request: 1 Very High … 4 Low
	Start, End       time.Time // change_request: the planned window
	Comments         []Journal
	WorkNotes        []Journal
}

var (
	tableLabels = map[string]string{"change_request": "Change Request", "change_task": "Change Task", "problem": "Problem",
		"problem_task": "Problem Task", "sc_req_item": "Requested Item", "sc_request": "Request", "sc_task": "Catalog Task",
		"task": "Task", "incident": "Incident"}
	// stateLabelsOf are each table's state choices; tables not named use taskStates.
	stateLabelsOf = map[string]map[int]string{
		"change_request": {-5: "New", -4: "Assess", -3: "Authorize", -2: "Scheduled", -1: "Implement", 0: "Review", 3: "Closed", 4: "Canceled"},
		"problem":        {101: "New", 102: "Assess", 103: "Root Cause Analysis", 104: "Fix in Progress", 106: "Resolved", 107: "Closed"},
	}
	taskStates     = map[int]string{-5: "Pending", 1: "Open", 2: "Work in Progress", 3: "Closed Complete", 4: "Closed Incomplete", 7: "Closed Skipped"}
	closedStates   = []int{3, 4, 7, 106, 107}
	stageLabels    = map[string]string{"request_approved": "Request Approved", "fulfillment": "Fulfillment", "delivery": "Delivery", "complete": "Completed", "waiting_for_approval": "Waiting for Approval"}
	changeTypes    = map[string]string{"normal": "Normal", "standard": "Standard", "emergency": "Emergency"}
	taskTables     = []string{"change_request", "change_task", "problem", "problem_task", "sc_request", "sc_req_item", "sc_task"}
	agentOnlyField = map[string]bool{"work_notes": true, "known_error": true}
	// parentTables are the table each kind of task's parent is in.
	parentTables = map[string]string{"sc_req_item": "sc_request", "sc_task": "sc_req_item", "change_task": "change_request", "problem_task": "problem"}
)

func init() {
	common := []string{"sys_id", "number", "short_description", "sys_class_name", "state", "priority", "opened_by", "requested_for",
		"assigned_to", "assignment_group", "sys_created_on", "sys_updated_on", "active", "comments", "work_notes"}
	tableFields["task"] = common
	for _, t := range taskTables {
		tableFields[t] = append([]string(nil), common...)
	}
	tableFields["change_request"] = append(tableFields["change_request"], "type", "risk", "start_date", "end_date")
	tableFields["sc_req_item"] = append(tableFields["sc_req_item"], "cat_item", "request", "stage")
	tableFields["sc_task"] = append(tableFields["sc_task"], "request_item")
	tableFields["problem"] = append(tableFields["problem"], "known_error")
	tableFields["change_task"] = append(tableFields["change_task"], "change_request")
	tableFields["problem_task"] = append(tableFields["problem_task"], "problem")
	tableFields["sys_documentation"] = []string{"sys_id", "name", "element", "label", "language"}
}

func stateLabel(table string, state int) string {
	if labels, ok := stateLabelsOf[table]; ok {
		return labels[state]
	}
	return taskStates[state]
}

// taskRecord needs s.mu held.
func (s *Instance) taskRecord(t *Task) record {
	r := record{
		"sys_id":            plain(t.SysID),
		"number":            plain(t.Number),
		"short_description": plain(t.ShortDescription),
		"sys_class_name":    {value: t.Table, display: tableLabels[t.Table]},
		"state":             {value: strconv.Itoa(t.State), display: stateLabel(t.Table, t.State)},
		"priority":          {value: strconv.Itoa(t.Priority), display: priorityLabels[t.Priority]},
		"opened_by":         s.ref("sys_user", t.OpenedBy),
		"requested_for":     s.ref("sys_user", t.RequestedFor),
		"assigned_to":       s.ref("sys_user", t.AssignedTo),
		"assignment_group":  s.ref("sys_user_group", t.AssignmentGroup),
		"sys_created_on":    date(t.Created),
		"sys_updated_on":    date(t.Updated),
		"active":            plain(strconv.FormatBool(!slices.Contains(closedStates, t.State))),
		"comments":          {journal: true, display: s.journalText(t.Comments, "Additional comments")},
		"work_notes":        {journal: true, display: s.journalText(t.WorkNotes, "Work notes")},
	}
	switch t.Table {
	case "change_request":
		r["risk"] = field{value: strconv.Itoa(t.Risk), display: riskLabels[t.Risk]}
		r["start_date"], r["end_date"] = date(t.Start), date(t.End)
		r["type"] = field{value: t.Type, display: changeTypes[t.Type]}
	case "sc_req_item":
		r["cat_item"] = s.ref("sc_cat_item", t.CatItem)
		r["request"] = s.ref("task", t.Parent)
		r["stage"] = field{value: t.Stage, display: stageLabels[t.Stage]}
	case "sc_task":
		r["request_item"] = s.ref("task", t.Parent)
	case "problem":
		r["known_error"] = plain(strconv.FormatBool(t.KnownError))
	case "change_task":
		r["change_request"] = s.ref("task", t.Parent)
	case "problem_task":
		r["problem"] = s.ref("task", t.Parent)
	}
	return r
}

func (s *Instance) taskByID(id string) *Task {
	for _, t := range s.tasks {
		if t.SysID == id {
			return t
		}
	}
	return nil
}

// canReadTask: agents read every task but private ones; others those they
// opened, are the subject of, or are asked to approve. A private task is its
// people's alone.
func (s *Instance) canReadTask(u *User, t *Task) bool {
	if t.OpenedBy == u.SysID || t.RequestedFor == u.SysID || t.AssignedTo == u.SysID {
		return true
	}
	if t.Private {
		return false
	}
	if u.ITIL {
		return true
	}
	for _, a := range s.approvals {
		if a.Task == t.SysID && a.Approver == u.SysID {
			return true
		}
	}
	return false
}

// taskRows are the readable rows of a task table ("task" is all of them),
// without the fields only agents may read, for others.
func (s *Instance) taskRows(table string, user *User, only *key) []record {
	var out []record
	for _, t := range s.tasks {
		if (table == "task" || t.Table == table) && only.admits(t.SysID, t.Number) && s.canReadTask(user, t) {
			r := s.taskRecord(t)
			if !user.ITIL {
				for f := range agentOnlyField {
					delete(r, f)
				}
			}
			out = append(out, r)
		}
	}
	if table == "task" {
		for _, i := range s.incidents {
			if only.admits(i.SysID, i.Number) && canRead(user, i) {
				out = append(out, s.incidentRecord(i))
			}
		}
	}
	return out
}

// updateTask serves a PATCH of a task: comments from anyone who may read it,
// work notes from agents only. Needs s.mu held.
func (s *Instance) updateTask(t *Task, body []byte, user *User) (int, string, string) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON."
	}
	now := time.Now().UTC().Truncate(time.Second)
	before := *t
	for k, v := range in {
		text, _ := v.(string)
		switch {
		case k == "comments" && text != "":
			t.Comments = append(t.Comments, Journal{At: now, By: user.SysID, Text: text})
		case k == "work_notes" && text != "" && user.ITIL:
			t.WorkNotes = append(t.WorkNotes, Journal{At: now, By: user.SysID, Text: text})
		case k == "work_notes" || (slices.Contains(tableFields[t.Table], k) && !user.ITIL):
			*t = before
			return http.StatusForbidden, "Operation Failed", "ACL Exception Update Failed due to security constraints"
		}
	}
	t.Updated = now
	s.emit(taskEvents(&before, t, user.SysID)...)
	return http.StatusOK, "", ""
}

// documentation are the dictionary's English labels of the task fields,
// as sys_documentation holds them (the instance's own wording).
func (s *Instance) documentation() []record {
	var out []record
	add := func(table, element, label string) {
		if own, ok := s.relabels[[2]string{table, element}]; ok {
			label = own
		}
		out = append(out, record{"sys_id": plain(randomHex(16)), "name": plain(table), "element": plain(element),
			"label": plain(label), "language": plain("en")})
	}
	for el, label := range map[string]string{"number": "Number", "short_description": "Short description", "state": "State",
		"priority": "Priority", "assigned_to": "Assigned to", "assignment_group": "Assignment group", "opened_by": "Opened by",
		"sys_updated_on": "Updated"} {
		add("task", el, label)
	}
	add("change_request", "type", "Type")
	add("change_request", "risk", "Risk")
	add("change_request", "start_date", "Planned start date")
	add("change_request", "end_date", "Planned end date")
	add("sc_req_item", "cat_item", "Item")
	add("sc_req_item", "request", "Request")
	add("sc_req_item", "stage", "Stage")
	add("sc_task", "request_item", "Request item")
	add("problem", "known_error", "Known error")
	return out
}

// Relabel gives a field of table a label of the administrator's own, as
// sys_documentation would then hold it (table is where the field is
// defined: task for the fields every task shares).
func (s *Instance) Relabel(table, element, label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.relabels == nil {
		s.relabels = map[[2]string]string{}
	}
	s.relabels[[2]string{table, element}] = label
}

// Task returns a snapshot of the task with this number.
func (s *Instance) Task(number string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if t.Number == number {
			return *t, true
		}
	}
	return Task{}, false
}
