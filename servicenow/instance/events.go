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
// (deploy/servicenow): one per rule that fires, on incidents when one is
// created, when its state, priority or assignee changes and when it gets a
// comment (the caller, the assignee and the watch list are told), and on
// approvals when one is requested (the approver is told).

// emit hands events to OnEvent, each on a goroutine of its own, as ServiceNow
// runs async business rules after the transaction. It needs s.mu held.
func (s *Instance) emit(list ...events.Event) {
	if s.OnEvent == nil {
		return
	}
	for _, e := range list {
		if len(e.Recipients) == 0 {
			continue
		}
		go s.OnEvent(e)
	}
}

// incidentEvents are the events of an incident's change from before (nil
// when it was created) to after, made by the user actor.
func incidentEvents(before, after *Incident, actor string) []events.Event {
	event := func(kind string, changed ...string) events.Event {
		return events.Event{ID: randomHex(16), Table: events.TableIncident, SysID: after.SysID, Event: kind,
			Recipients: recipients(after), Actor: actor, Changed: changed}
	}
	if before == nil {
		return []events.Event{event(events.Created)}
	}
	var out []events.Event
	for _, f := range []struct {
		name     string
		old, new string
	}{
		{"state", strconv.Itoa(before.State), strconv.Itoa(after.State)},
		{"priority", strconv.Itoa(before.Priority), strconv.Itoa(after.Priority)},
		{"assigned_to", before.AssignedTo, after.AssignedTo},
	} {
		if f.old != f.new {
			out = append(out, event(events.Updated, f.name))
		}
	}
	if len(after.Comments) > len(before.Comments) {
		out = append(out, event(events.Commented, "comments"))
	}
	return out
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

// taskEvents are the events of a task's change; snowbot's business rules
// send none for these tables yet.
func taskEvents(before, after *Task, actor string) []events.Event { return nil }
