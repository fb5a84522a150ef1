package servicenow

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Incident states, as stored.
const (
	StateResolved = "6"
	StateClosed   = "7"
	StateCanceled = "8"
)

// Incident is what the bot shows of an incident: values and their labels.
type Incident struct {
	SysID            string
	Number           string
	ShortDescription string
	Description      string
	State            Value
	Priority         Value
	Urgency          Value
	AssignmentGroup  string
	AssignedTo       string
	Caller           string
	OpenedBy         string
	Updated          time.Time
	Opened           time.Time
	Comments         []JournalEntry // newest first
}

// Closed reports whether the incident is resolved, closed or canceled.
func (i Incident) Closed() bool {
	return i.State.Value == StateResolved || i.State.Value == StateClosed || i.State.Value == StateCanceled
}

// JournalEntry is one entry of a journal field (customer-visible comments).
type JournalEntry struct {
	At     time.Time
	Author string
	Text   string
}

// User is the signed-in ServiceNow user.
type User struct {
	SysID    string
	UserName string
	Name     string
}

var (
	listFields   = []string{"sys_id", "number", "short_description", "state", "priority", "sys_updated_on"}
	detailFields = []string{"sys_id", "number", "short_description", "description", "state", "priority", "urgency",
		"assignment_group", "assigned_to", "caller_id", "opened_by", "sys_updated_on", "opened_at", "comments"}
)

func incidentFrom(r Record) Incident {
	return Incident{
		SysID:            r.Get("sys_id").Value,
		Number:           r.Get("number").Display,
		ShortDescription: r.Get("short_description").Display,
		Description:      r.Get("description").Display,
		State:            r.Get("state"),
		Priority:         r.Get("priority"),
		Urgency:          r.Get("urgency"),
		AssignmentGroup:  r.Get("assignment_group").Display,
		AssignedTo:       r.Get("assigned_to").Display,
		Caller:           r.Get("caller_id").Display,
		OpenedBy:         r.Get("opened_by").Display,
		Updated:          r.Time("sys_updated_on"),
		Opened:           r.Time("opened_at"),
		Comments:         ParseJournal(r.Get("comments").Display, r.displayOffset("sys_updated_on")),
	}
}

// CurrentUser looks up the signed-in user (the instance resolves gs.getUserID()
// for whoever the token belongs to).
func (s *Session) CurrentUser(ctx context.Context) (User, error) {
	recs, _, err := s.List(ctx, "sys_user", NewQuery().IsCurrentUser("sys_id"),
		Params{Fields: []string{"sys_id", "user_name", "name"}, Limit: 1})
	if err != nil {
		return User{}, err
	}
	if len(recs) == 0 {
		return User{}, &Error{Status: 404, Message: "The signed-in user's record cannot be read"}
	}
	r := recs[0]
	return User{SysID: r.Get("sys_id").Value, UserName: r.Get("user_name").Value, Name: r.Get("name").Value}, nil
}

// MyOpenIncidents lists the signed-in user's active incidents (caller is the
// user), newest first, at most limit, with the total number of matches.
func (s *Session) MyOpenIncidents(ctx context.Context, limit int) ([]Incident, int, error) {
	q := NewQuery().IsCurrentUser("caller_id").Eq("active", "true").OrderByDesc("sys_created_on")
	recs, total, err := s.List(ctx, "incident", q, Params{Fields: listFields, Limit: limit, DisplayValue: "all"})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Incident, 0, len(recs))
	for _, r := range recs {
		out = append(out, incidentFrom(r))
	}
	return out, total, nil
}

// IncidentByNumber returns an incident's details; ErrNotFound when there is
// none (or the user may not see it).
func (s *Session) IncidentByNumber(ctx context.Context, number string) (Incident, error) {
	return s.incidentByNumber(ctx, number, detailFields)
}

// IncidentByID returns an incident's details by sys_id; ErrNotFound when
// there is none (or the user may not see it).
func (s *Session) IncidentByID(ctx context.Context, sysID string) (Incident, error) {
	r, err := s.Get(ctx, "incident", sysID, Params{Fields: detailFields, DisplayValue: "all"})
	if err != nil {
		return Incident{}, err
	}
	return incidentFrom(r), nil
}

func (s *Session) incidentByNumber(ctx context.Context, number string, fields []string) (Incident, error) {
	n, ok := ParseIncidentNumber(number)
	if !ok {
		return Incident{}, ErrInvalidNumber
	}
	recs, _, err := s.List(ctx, "incident", NewQuery().Eq("number", n), Params{Fields: fields, Limit: 1, DisplayValue: "all"})
	if err != nil {
		return Incident{}, err
	}
	if len(recs) == 0 {
		return Incident{}, &Error{Status: 404, Message: "No Record found"}
	}
	return incidentFrom(recs[0]), nil
}

// ErrInvalidNumber is a text that is not an incident number.
var ErrInvalidNumber = errors.New("not a record number (letters followed by digits)")

// NewIncident is what a person gives to create an incident.
type NewIncident struct {
	ShortDescription string
	Description      string
	Urgency          string // "1", "2" or "3"; empty leaves the instance's default
	CallerSysID      string
	// Key, when set, makes creating it idempotent: the incident carries it
	// in correlation_id (the field ServiceNow keeps for an outside system's
	// id), and creating with a key an incident already carries returns that
	// incident. A form sent again after ServiceNow did not answer, although
	// it created the incident, gets that one instead of a second.
	Key string
}

// correlationPrefix marks the correlation ids snowbot gives.
const correlationPrefix = "snowbot:"

// CreateIncident creates an incident and returns its number, sys_id, state and priority.
func (s *Session) CreateIncident(ctx context.Context, n NewIncident) (Incident, error) {
	fields := map[string]string{"short_description": n.ShortDescription, "caller_id": n.CallerSysID}
	if n.Key != "" {
		inc, found, err := s.incidentByCorrelation(ctx, correlationPrefix+n.Key)
		if err != nil || found {
			return inc, err
		}
		fields["correlation_id"], fields["correlation_display"] = correlationPrefix+n.Key, "snowbot"
	}
	if n.Description != "" {
		fields["description"] = n.Description
	}
	if n.Urgency != "" {
		fields["urgency"] = n.Urgency
	}
	r, err := s.Create(ctx, "incident", fields, Params{Fields: []string{"sys_id", "number", "short_description", "state", "priority"}, DisplayValue: "all"})
	if err != nil {
		return Incident{}, err
	}
	return incidentFrom(r), nil
}

// incidentByCorrelation finds the incident created with this correlation
// id. The answer's own correlation_id is checked too: an instance ignores a
// condition on a field the person may not read, and would answer with any.
func (s *Session) incidentByCorrelation(ctx context.Context, id string) (Incident, bool, error) {
	recs, _, err := s.List(ctx, "incident", NewQuery().Eq("correlation_id", id), Params{
		Fields: []string{"sys_id", "number", "short_description", "state", "priority", "correlation_id"}, DisplayValue: "all", Limit: 1})
	if err != nil {
		return Incident{}, false, err
	}
	if len(recs) == 0 || recs[0].Get("correlation_id").Value != id {
		return Incident{}, false, nil
	}
	return incidentFrom(recs[0]), true, nil
}

// AddComment adds a customer-visible comment to the incident with this number.
func (s *Session) AddComment(ctx context.Context, number, text string) (Incident, error) {
	inc, err := s.incidentByNumber(ctx, number, []string{"sys_id", "number", "state"})
	if err != nil {
		return Incident{}, err
	}
	_, err = s.Update(ctx, "incident", inc.SysID, map[string]string{"comments": text}, Params{Fields: []string{"sys_id"}})
	return inc, err
}

// ErrAlreadyClosed is a resolve of an incident that is no longer open.
var ErrAlreadyClosed = errors.New("the incident is already resolved or closed")

// Resolve sets the incident to Resolved with a resolution code and notes.
func (s *Session) Resolve(ctx context.Context, number, code, notes string) (Incident, error) {
	inc, err := s.incidentByNumber(ctx, number, []string{"sys_id", "number", "state"})
	if err != nil {
		return Incident{}, err
	}
	if inc.Closed() {
		return inc, ErrAlreadyClosed
	}
	_, err = s.Update(ctx, "incident", inc.SysID, map[string]string{
		"state": StateResolved, "close_code": code, "close_notes": notes,
	}, Params{Fields: []string{"sys_id"}})
	return inc, err
}

// journalHeader is the line ServiceNow puts before each journal entry:
// "2026-11-02 09:30:00 - Ada Lovelace (Additional comments)".
var journalHeader = regexp.MustCompile(`(?m)^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) - (.+) \((Additional comments|Work notes|Comments)\)\s*$`)

// ParseJournal splits a journal field's display text into entries, newest
// first. The text carries its times as the reader's display values (their
// ServiceNow time zone): offset is how far that zone is ahead of UTC, so
// that every entry's At is UTC.
func ParseJournal(text string, offset time.Duration) []JournalEntry {
	idx := journalHeader.FindAllStringSubmatchIndex(text, -1)
	var out []JournalEntry
	for k, m := range idx {
		end := len(text)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		at, _ := time.ParseInLocation(DateTimeLayout, text[m[2]:m[3]], time.UTC)
		out = append(out, JournalEntry{
			At:     at.Add(-offset),
			Author: text[m[4]:m[5]],
			Text:   strings.TrimSpace(text[m[1]:end]),
		})
	}
	return out
}
