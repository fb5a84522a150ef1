package instance

import (
	"fmt"
	"time"
)

// User is a sys_user record.
type User struct {
	SysID, UserName, Name, Email string
	ITIL                         bool   // holds the itil role: may read and change every incident
	Manager                      string // sys_id of their manager, who approves what they order
}

// Group is a sys_user_group record.
type Group struct{ SysID, Name string }

// Journal is one entry of a journal field (comments, work notes).
type Journal struct {
	At   time.Time
	By   string // user sys_id
	Text string
}

// Incident is an incident record.
type Incident struct {
	SysID, Number, ShortDescription, Description string
	State, Priority, Urgency, Impact             int
	Caller, AssignedTo, AssignmentGroup          string   // sys_ids
	OpenedBy                                     string   // sys_id; the caller when empty (they raised it themselves)
	Correlation, CorrelationDisplay              string   // an outside system's id for it, and that system's name
	WatchList                                    []string // sys_ids of people told of changes
	CloseCode, CloseNotes                        string
	Opened, Updated                              time.Time
	Comments, WorkNotes                          []Journal
}

// Choice labels, as an instance shows them.
var (
	stateLabels    = map[int]string{1: "New", 2: "In Progress", 3: "On Hold", 6: "Resolved", 7: "Closed", 8: "Canceled"}
	priorityLabels = map[int]string{1: "1 - Critical", 2: "2 - High", 3: "3 - Moderate", 4: "4 - Low", 5: "5 - Planning"}
	urgencyLabels  = map[int]string{1: "1 - High", 2: "2 - Medium", 3: "3 - Low"}
	impactLabels   = urgencyLabels
	// closeCodes are the resolution codes of a current instance.
	closeCodes = []string{"Duplicate", "Known error", "No resolution provided", "Resolved by caller", "Resolved by change",
		"Resolved by problem", "Resolved by request", "Solution provided", "Workaround provided", "User error"}
)

// DemoUser is the account the demo's sign-in page consents as.
const DemoUser = "ada.lovelace"

// sysID is a 32-character hexadecimal id, as ServiceNow's.
func sysID(prefix string, n int) string { return fmt.Sprintf("%s%030d", prefix, n) }

// seed fills the instance with a few people and a dozen incidents in several states.
func (s *Instance) seed() {
	s.users = []*User{
		{SysID: sysID("a1", 1), UserName: "ada.lovelace", Name: "Ada Lovelace", Email: "ada.lovelace@example.com", ITIL: true},
		{SysID: sysID("b2", 2), UserName: "bob.smith", Name: "Bob Smith", Email: "bob.smith@example.com"},
		{SysID: sysID("c3", 3), UserName: "beth.anglin", Name: "Beth Anglin", Email: "beth.anglin@example.com", ITIL: true},
		{SysID: sysID("d4", 4), UserName: "david.miller", Name: "David Miller", Email: "david.miller@example.com", ITIL: true},
		{SysID: sysID("e5", 5), UserName: "chloe.zhang", Name: "Chloé Zhang", Email: "chloe.zhang@example.com"},
	}
	s.groups = []*Group{
		{SysID: sysID("90", 1), Name: "Service Desk"},
		{SysID: sysID("91", 2), Name: "Network"},
		{SysID: sysID("92", 3), Name: "Hardware"},
	}
	ada, bob, beth, david, chloe := s.users[0].SysID, s.users[1].SysID, s.users[2].SysID, s.users[3].SysID, s.users[4].SysID
	s.users[0].Manager, s.users[1].Manager, s.users[4].Manager = david, ada, beth
	desk, network, hardware := s.groups[0].SysID, s.groups[1].SysID, s.groups[2].SysID
	base := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	type seedIncident struct {
		caller, short, desc   string
		state, urgency, imp   int
		assignee, group       string
		daysAgo, hoursUpdated int
		comments              []Journal
	}
	rows := []seedIncident{
		{ada, "Laptop does not connect to the office Wi-Fi", "Since this morning my laptop drops the connection every few minutes on the 3rd floor.", 2, 2, 2, beth, network, 20, 3,
			[]Journal{{By: beth, Text: "Could you tell me your laptop's asset tag?"}, {By: ada, Text: "It is LT-0042."}}},
		{ada, "Printer on 3rd floor jams", "The printer near the kitchen jams on every second page.", 1, 3, 3, "", hardware, 15, 15, nil},
		{ada, "VPN disconnects every hour", "The VPN client disconnects every hour and asks me to log in again.", 3, 2, 2, david, network, 12, 30,
			[]Journal{{By: david, Text: "Waiting for the vendor's answer; I'll update you on Friday."}}},
		{ada, "Request a second monitor", "I would like a second 27\" monitor for my desk.", 2, 3, 3, beth, hardware, 9, 5, nil},
		{ada, "Outlook keeps asking for my password", "Outlook prompts for my password several times a day.", 6, 2, 3, beth, desk, 30, 200,
			[]Journal{{By: beth, Text: "Your cached credentials were reset. Please confirm it works now."}}},
		{ada, "Cannot open the expense report template", "Excel says the file is corrupt.", 7, 3, 3, david, desk, 60, 800, nil},
		{bob, "Email bounces from the customer domain", "Mails to contoso.com bounce with 550.", 2, 1, 2, david, network, 4, 2, nil},
		{bob, "Keyboard missing keys", "The E and R keys came off.", 1, 3, 3, "", hardware, 2, 2, nil},
		{bob, "Shared drive is read-only", "I cannot save to the team share since yesterday.", 2, 2, 2, beth, desk, 6, 6, nil},
		{bob, "Phone headset crackles", "Teams calls have a crackling sound.", 8, 3, 3, "", hardware, 40, 500, nil},
		{chloe, "Badge does not open the garage door", "My badge works everywhere except the garage.", 1, 2, 3, "", desk, 1, 1, nil},
		{chloe, "New hire needs access to the CRM", "Please create a CRM account for our new colleague.", 2, 2, 3, beth, desk, 3, 8, nil},
	}
	for i, r := range rows {
		opened := base.Add(-time.Duration(r.daysAgo) * 24 * time.Hour)
		inc := &Incident{
			SysID: sysID("1c", i+1), Number: fmt.Sprintf("INC%07d", 10001+i),
			ShortDescription: r.short, Description: r.desc,
			State: r.state, Urgency: r.urgency, Impact: r.imp, Priority: priority(r.urgency, r.imp),
			Caller: r.caller, AssignedTo: r.assignee, AssignmentGroup: r.group,
			Opened: opened, Updated: base.Add(-time.Duration(r.hoursUpdated) * time.Hour),
		}
		if inc.Updated.Before(opened) {
			inc.Updated = opened
		}
		if r.state == 6 || r.state == 7 {
			inc.CloseCode, inc.CloseNotes = "Solution provided", "Fixed."
		}
		for j, c := range r.comments {
			c.At = opened.Add(time.Duration(j+1) * time.Hour)
			inc.Comments = append(inc.Comments, c)
		}
		s.incidents = append(s.incidents, inc)
	}
	s.nextInc = 10001 + len(rows)
	s.seedApprovals(base)
	s.seedKnowledge(base)
}

// seedApprovals adds changes and catalog requests that wait for the demo
// people's approval, one of them a group approval shared by Ada and Beth.
func (s *Instance) seedApprovals(base time.Time) {
	ada, bob, beth, david, chloe := s.users[0].SysID, s.users[1].SysID, s.users[2].SysID, s.users[3].SysID, s.users[4].SysID
	cab := sysID("93", 4)
	s.groups = append(s.groups, &Group{SysID: cab, Name: "Change Advisory Board"})
	s.seedCatalog()
	day := 24 * time.Hour
	network, hardware := sysID("91", 2), sysID("92", 3)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	s.tasks = []*Task{
		{Table: "change_request", SysID: sysID("c0", 1), Number: "CHG0030001", ShortDescription: "Upgrade the VPN concentrator firmware",
			State: -3, Priority: 3, Type: "normal", OpenedBy: david, RequestedFor: david, AssignedTo: david, AssignmentGroup: network,
			Created: at(-3 * day), Updated: at(-3 * day), Risk: 3, Start: at(5*day + 20*time.Hour), End: at(5*day + 22*time.Hour)},
		{Table: "change_request", SysID: sysID("c0", 2), Number: "CHG0030002", ShortDescription: "Replace the core switch in building B",
			State: -3, Priority: 2, Type: "normal", OpenedBy: david, RequestedFor: david, AssignedTo: david, AssignmentGroup: network,
			Created: at(-2 * day), Updated: at(-2 * day), Risk: 2, Start: at(9*day + 18*time.Hour), End: at(10*day + 2*time.Hour)},
		{Table: "change_request", SysID: sysID("c0", 3), Number: "CHG0030003", ShortDescription: "Emergency patch of the mail gateway",
			State: -1, Priority: 1, Type: "emergency", OpenedBy: david, RequestedFor: david, AssignedTo: beth, AssignmentGroup: network,
			Created: at(-5 * time.Hour), Updated: at(-4 * time.Hour), Risk: 1, Start: at(-2 * time.Hour), End: at(2 * time.Hour)},
		{Table: "sc_request", SysID: sysID("c2", 2), Number: "REQ0010001", ShortDescription: "Developer Laptop (Mac) for Bob",
			State: 1, Priority: 4, OpenedBy: bob, RequestedFor: bob, Created: at(-1 * day), Updated: at(-1 * day)},
		{Table: "sc_request", SysID: sysID("c2", 3), Number: "REQ0010002", ShortDescription: "Standing Desk for Chloé",
			State: 1, Priority: 4, OpenedBy: chloe, RequestedFor: chloe, Created: at(-4 * time.Hour), Updated: at(-4 * time.Hour)},
		{Table: "sc_req_item", SysID: sysID("c1", 1), Number: "RITM0010001", ShortDescription: "Developer Laptop (Mac)",
			State: 1, Priority: 4, Stage: "waiting_for_approval", Parent: sysID("c2", 2), AssignmentGroup: hardware,
			OpenedBy: bob, RequestedFor: bob, CatItem: sysID("ca", 1), Created: at(-1 * day), Updated: at(-1 * day)},
		{Table: "sc_req_item", SysID: sysID("c1", 2), Number: "RITM0010002", ShortDescription: "Standing Desk",
			State: 1, Priority: 4, Stage: "waiting_for_approval", Parent: sysID("c2", 3), AssignmentGroup: hardware,
			OpenedBy: chloe, RequestedFor: chloe, CatItem: sysID("ca", 2), Created: at(-4 * time.Hour), Updated: at(-4 * time.Hour)},
		{Table: "sc_request", SysID: sysID("c2", 1), Number: "REQ0010003", ShortDescription: "Adobe Acrobat Pro for the legal team",
			State: 1, Priority: 4, OpenedBy: chloe, RequestedFor: chloe, Created: at(-6 * day), Updated: at(-6 * day)},
		{Table: "sc_task", SysID: sysID("c3", 1), Number: "SCTASK0010001", ShortDescription: "Prepare the laptop and install the developer tools",
			State: 1, Priority: 4, Parent: sysID("c1", 1), AssignedTo: beth, AssignmentGroup: hardware,
			OpenedBy: beth, Created: at(-20 * time.Hour), Updated: at(-20 * time.Hour)},
		{Table: "problem", SysID: sysID("c4", 1), Number: "PRB0040001", ShortDescription: "Recurring VPN disconnects after an hour",
			State: 103, Priority: 2, KnownError: true, AssignedTo: david, AssignmentGroup: network,
			OpenedBy: david, Created: at(-10 * day), Updated: at(-1 * day)},
		{Table: "problem", SysID: sysID("c4", 2), Number: "PRB0040002", ShortDescription: "Payroll export shows every salary to managers",
			State: 102, Priority: 1, Private: true, AssignedTo: beth, OpenedBy: beth, Created: at(-3 * day), Updated: at(-2 * day)},
		{Table: "problem", SysID: sysID("c4", 3), Number: "PRB0040003", ShortDescription: "Shared drive mapping lost at every login",
			State: 101, Priority: 3, KnownError: true, AssignmentGroup: network, OpenedBy: bob, Created: at(-2 * day), Updated: at(-2 * day)},
		{Table: "task", SysID: sysID("c7", 1), Number: "TASK0010001", ShortDescription: "Renew the TLS certificate of the intranet",
			State: 1, Priority: 3, AssignedTo: ada, AssignmentGroup: network, OpenedBy: david, Created: at(-1 * day), Updated: at(-1 * day)},
		{Table: "change_task", SysID: sysID("c5", 1), Number: "CTASK0010001", ShortDescription: "Back up the concentrator's configuration",
			State: 1, Priority: 3, Parent: sysID("c0", 1), AssignedTo: david, AssignmentGroup: network,
			OpenedBy: david, Created: at(-3 * day), Updated: at(-3 * day)},
		{Table: "problem_task", SysID: sysID("c6", 1), Number: "PTASK0010001", ShortDescription: "Collect VPN client logs from three laptops",
			State: 2, Priority: 2, Parent: sysID("c4", 1), AssignedTo: beth, AssignmentGroup: network,
			OpenedBy: david, Created: at(-2 * day), Updated: at(-1 * day)},
	}
	s.approvals = []*Approval{
		{SysID: sysID("a0", 1), State: "requested", Approver: ada, Task: sysID("c0", 1), Created: base.Add(-3*day + time.Hour)},
		{SysID: sysID("a0", 2), State: "requested", Approver: ada, Task: sysID("c0", 2), Group: cab, Created: base.Add(-2*day + time.Hour)},
		{SysID: sysID("a0", 3), State: "requested", Approver: beth, Task: sysID("c0", 2), Group: cab, Created: base.Add(-2*day + time.Hour)},
		{SysID: sysID("a0", 4), State: "requested", Approver: ada, Task: sysID("c1", 1), Created: base.Add(-1*day + time.Hour)},
		{SysID: sysID("a0", 5), State: "requested", Approver: ada, Task: sysID("c1", 2), Created: base.Add(-3 * time.Hour)},
		{SysID: sysID("a0", 6), State: "requested", Approver: beth, Task: sysID("c2", 1), Created: base.Add(-6*day + time.Hour)},
		{SysID: sysID("a0", 7), State: "approved", Approver: beth, Task: sysID("c0", 1), Created: base.Add(-3*day + time.Hour),
			Updated: base.Add(-2 * day), UpdatedBy: "beth.anglin"},
	}
}

// priority follows the instance's default urgency × impact matrix.
func priority(urgency, impact int) int {
	p := urgency + impact - 1
	if p < 1 {
		p = 1
	}
	if p > 5 {
		p = 5
	}
	return p
}

func (s *Instance) findUser(userName string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userNamed(userName)
}

// userNamed needs s.mu held.
func (s *Instance) userNamed(userName string) *User {
	for _, u := range s.users {
		if u.UserName == userName {
			return u
		}
	}
	return nil
}

// userByID needs s.mu held.
func (s *Instance) userByID(id string) *User {
	for _, u := range s.users {
		if u.SysID == id {
			return u
		}
	}
	return nil
}

// User returns the seeded user with this user_name (nil if none).
func (s *Instance) User(userName string) *User { return s.findUser(userName) }

// Incidents returns a snapshot of every incident.
func (s *Instance) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, 0, len(s.incidents))
	for _, i := range s.incidents {
		c := *i
		c.Comments = append([]Journal(nil), i.Comments...)
		out = append(out, c)
	}
	return out
}

// Incident returns a snapshot of the incident with this number.
func (s *Instance) Incident(number string) (Incident, bool) {
	for _, i := range s.Incidents() {
		if i.Number == number {
			return i, true
		}
	}
	return Incident{}, false
}

// AddIncident creates an active incident for the user with this user_name and returns its number.
func (s *Instance) AddIncident(callerUserName, shortDescription string) string {
	u := s.findUser(callerUserName)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Second)
	inc := &Incident{
		SysID: randomHex(16), Number: fmt.Sprintf("INC%07d", s.nextInc), ShortDescription: shortDescription,
		State: 1, Urgency: 3, Impact: 3, Priority: priority(3, 3), Caller: u.SysID, Opened: now, Updated: now,
	}
	s.nextInc++
	s.incidents = append(s.incidents, inc)
	s.emit(incidentEvents(nil, inc, u.SysID)...)
	return inc.Number
}

// AddTask creates an open record of a task table (change_request, problem,
// …) opened by the user with this user_name, and returns its number and sys_id.
func (s *Instance) AddTask(table, openedByUserName, shortDescription string, priority int) (number, sysID string) {
	u := s.findUser(openedByUserName)
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := map[string]string{"change_request": "CHG", "problem": "PRB", "sc_req_item": "RITM", "sc_task": "SCTASK", "change_task": "CTASK",
		"problem_task": "PTASK", "sc_request": "REQ"}[table]
	if prefix == "" {
		prefix = "TASK"
	}
	s.nextTask++
	now := time.Now().UTC().Truncate(time.Second)
	t := &Task{Table: table, SysID: randomHex(16), Number: fmt.Sprintf("%s%07d", prefix, 1000000+s.nextTask), ShortDescription: shortDescription,
		State: 1, Priority: priority, OpenedBy: u.SysID, Created: now, Updated: now}
	if table == "change_request" {
		t.State, t.Type, t.Risk = -5, "normal", 3
	}
	if table == "problem" {
		t.State = 101
	}
	s.tasks = append(s.tasks, t)
	s.emit(taskEvents(nil, t, u.SysID)...)
	return t.Number, t.SysID
}

// AddUser adds a person to the instance, an agent (with the itil role) or
// not, and returns their record.
func (s *Instance) AddUser(userName, name string, itil bool) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{SysID: randomHex(16), UserName: userName, Name: name, Email: userName + "@example.com", ITIL: itil}
	s.users = append(s.users, u)
	return *u
}
