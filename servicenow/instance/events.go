package instance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"snowbot/servicenow/events"
)

// The change events the instance sends are those of snowbot's business rules
// (deploy/servicenow): one async rule per table, so one event per save, on
// incidents, changes, problems, requested items and catalog tasks when one is
// created, when its state, priority or assignee changes and when it gets a
// comment (an incident's caller, assignee and watch list are told; another
// task's assignee), and on approvals when one is requested (the approver is
// told). An event may name nobody: watchers and channel subscriptions hear
// of it all the same.

// emit hands events to OnEvent, each on a goroutine of its own, as ServiceNow
// runs async business rules after the transaction. It needs s.mu held.
func (s *Instance) emit(list ...events.Event) {
	if s.OnEvent == nil {
		return
	}
	for _, e := range list {
		go s.OnEvent(e)
	}
}

// saveEvent is the one event of a save of a record of table, from its state
// before (nil when it was created) to after, as the field values old and new
// tell, with a comment added or not; made by actor and told to recipients.
// nil when nothing snowbot follows changed.
func saveEvent(table, sysID string, created bool, fields []changedField, commented bool, actor string, recipients []string) []events.Event {
	e := events.Event{ID: randomHex(16), Table: table, SysID: sysID, Actor: actor, Recipients: recipients}
	if e.Recipients == nil {
		e.Recipients = []string{}
	}
	if created {
		e.Event = events.Created
		return []events.Event{e}
	}
	for _, f := range fields {
		if f.old != f.new {
			e.Changed = append(e.Changed, f.name)
		}
	}
	switch {
	case len(e.Changed) == 0 && !commented:
		return nil
	case len(e.Changed) == 0:
		e.Event, e.Changed = events.Commented, []string{"comments"}
	default:
		e.Event = events.Updated
		if commented {
			e.Changed = append(e.Changed, "comments")
		}
	}
	return []events.Event{e}
}

// changedField is a field snowbot follows, before and after a save.
type changedField struct{ name, old, new string }

// incidentEvents are the events of an incident's change from before (nil
// when it was created) to after, made by the user actor.
func incidentEvents(before, after *Incident, actor string) []events.Event {
	if before == nil {
		return saveEvent(events.TableIncident, after.SysID, true, nil, false, actor, recipients(after))
	}
	return saveEvent(events.TableIncident, after.SysID, false, []changedField{
		{"state", strconv.Itoa(before.State), strconv.Itoa(after.State)},
		{"priority", strconv.Itoa(before.Priority), strconv.Itoa(after.Priority)},
		{"assigned_to", before.AssignedTo, after.AssignedTo},
	}, len(after.Comments) > len(before.Comments), actor, recipients(after))
}

// recipients are the people an incident's events concern: the caller, the
// assignee and the watch list, each once.
func recipients(i *Incident) []string {
	var out []string
	for _, id := range append([]string{i.Caller, i.AssignedTo}, i.WatchList...) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// ChangeIncident changes an incident as the user with this user_name would in
// ServiceNow's own user interface (fields as the Table API names them:
// "state", "assigned_to" as a user_name, "comments", "watch_list" as
// comma-separated user_names), with the same rules as a Table API write, and
// sends the events the change causes.
func (s *Instance) ChangeIncident(number, byUserName string, fields map[string]string) error {
	by := s.findUser(byUserName)
	if by == nil {
		return fmt.Errorf("no user %s", byUserName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var inc *Incident
	for _, i := range s.incidents {
		if i.Number == number {
			inc = i
		}
	}
	if inc == nil {
		return fmt.Errorf("no incident %s", number)
	}
	in := incidentWrite{}
	for k, v := range fields {
		switch k {
		case "assigned_to", "caller_id":
			u := s.userNamed(v)
			if u == nil && v != "" {
				return fmt.Errorf("no user %s", v)
			}
			if u != nil {
				v = u.SysID
			}
		case "watch_list":
			var ids []string
			for _, name := range strings.Split(v, ",") {
				if u := s.userNamed(strings.TrimSpace(name)); u != nil {
					ids = append(ids, u.SysID)
				}
			}
			v = strings.Join(ids, ",")
		}
		in[k] = v
	}
	before := *inc
	admin := *by
	admin.ITIL = true // the UI of an agent: the instance's ACLs are the Table API's concern
	if st, msg, detail := s.apply(inc, in, &admin, false); st != 200 {
		*inc = before
		return fmt.Errorf("%s: %s", msg, detail)
	}
	inc.Updated = time.Now().UTC().Truncate(time.Second)
	s.emit(incidentEvents(&before, inc, by.SysID)...)
	return nil
}

// followedTables are the task tables whose saves send events.
var followedTables = []string{"change_request", "problem", "sc_req_item", "sc_task"}

// taskEvents are the events of a task's change from before (nil when it was
// created) to after, made by the user actor; its assignee is told.
func taskEvents(before, after *Task, actor string) []events.Event {
	if !slices.Contains(followedTables, after.Table) {
		return nil
	}
	var to []string
	if after.AssignedTo != "" {
		to = []string{after.AssignedTo}
	}
	if before == nil {
		return saveEvent(after.Table, after.SysID, true, nil, false, actor, to)
	}
	return saveEvent(after.Table, after.SysID, false, []changedField{
		{"state", strconv.Itoa(before.State), strconv.Itoa(after.State)},
		{"priority", strconv.Itoa(before.Priority), strconv.Itoa(after.Priority)},
		{"assigned_to", before.AssignedTo, after.AssignedTo},
	}, len(after.Comments) > len(before.Comments), actor, to)
}

// ChangeTask changes a task as the user with this user_name would in
// ServiceNow's own user interface ("state", "priority" as numbers,
// "assigned_to", "opened_by" and "requested_for" as user_names, "comments",
// "short_description"), and sends
// the event the save causes.
func (s *Instance) ChangeTask(number, byUserName string, fields map[string]string) error {
	by := s.findUser(byUserName)
	if by == nil {
		return fmt.Errorf("no user %s", byUserName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *Task
	for _, x := range s.tasks {
		if x.Number == number {
			t = x
		}
	}
	if t == nil {
		return fmt.Errorf("no task %s", number)
	}
	before := *t
	now := time.Now().UTC().Truncate(time.Second)
	for k, v := range fields {
		switch k {
		case "state", "priority":
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: not a number", k)
			}
			if k == "state" {
				t.State = n
			} else {
				t.Priority = n
			}
		case "assigned_to", "opened_by", "requested_for":
			u := s.userNamed(v)
			if u == nil && v != "" {
				*t = before
				return fmt.Errorf("no user %s", v)
			}
			id := ""
			if u != nil {
				id = u.SysID
			}
			switch k {
			case "assigned_to":
				t.AssignedTo = id
			case "opened_by":
				t.OpenedBy = id
			default:
				t.RequestedFor = id
			}
		case "comments":
			t.Comments = append(t.Comments, Journal{At: now, By: by.SysID, Text: v})
		case "short_description":
			t.ShortDescription = v
		default:
			*t = before
			return fmt.Errorf("%s: not a field ChangeTask sets", k)
		}
	}
	t.Updated = now
	s.emit(taskEvents(&before, t, by.SysID)...)
	return nil
}
