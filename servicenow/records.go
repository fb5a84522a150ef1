package servicenow

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
)

// TaskRecord is a record of any task table as the bot shows it: what every
// task has, and the key fields of its own table, as far as the person who
// read it may read them.
type TaskRecord struct {
	Table            string // the table it was read from
	Kind             Value  // sys_class_name: its class and the class's label
	SysID            string
	Number           string
	ShortDescription string
	State, Priority  Value
	AssignedTo       string
	AssignmentGroup  string
	OpenedBy         string
	Updated          time.Time
	Active           bool
	// Fields are the table's own key fields, in order, those the person may read.
	Fields []Field
	// Comments are its customer-visible comments, newest first, when they were read.
	Comments []JournalEntry
	// Approvals are the approvals asked for on it, when they were read.
	Approvals []Approval
	// has says which fields the answer held: a field the person may not read
	// is left out of it.
	has map[string]bool
}

// Field is one of a table's own key fields.
type Field struct {
	Name  string    // as the Table API names it
	Value string    // its display value
	At    time.Time // for a date and time: the moment, in UTC
}

// Has reports whether the record holds a field (the person may read it).
func (r TaskRecord) Has(name string) bool { return r.has[name] }

// commonFields are read for every task; keyFields are each table's own.
var (
	commonFields = []string{"sys_id", "number", "short_description", "state", "priority", "assigned_to", "assignment_group",
		"opened_by", "sys_updated_on", "sys_class_name", "active"}
	keyFields = map[string][]string{
		"change_request": {"type", "risk", "start_date", "end_date"},
		"sc_req_item":    {"cat_item", "request", "stage"},
		"problem":        {"known_error"},
		"sc_task":        {"request_item"},
		"incident":       {"caller_id", "urgency"},
	}
	// timeFields are the key fields that are moments.
	timeFields = map[string]bool{"start_date": true, "end_date": true}
)

// KeyFields are the key fields a table's card shows beside the common ones.
func KeyFields(table string) []string { return keyFields[table] }

func taskRecordFrom(table string, r Record) TaskRecord {
	t := TaskRecord{
		Table: table, Kind: r.Get("sys_class_name"), SysID: r.Get("sys_id").Value, Number: r.Get("number").Display,
		ShortDescription: r.Get("short_description").Display, State: r.Get("state"), Priority: r.Get("priority"),
		AssignedTo: r.Get("assigned_to").Display, AssignmentGroup: r.Get("assignment_group").Display,
		OpenedBy: r.Get("opened_by").Display, Updated: r.Time("sys_updated_on"), Active: r.Get("active").Value != "false",
		has: map[string]bool{},
	}
	for name := range r {
		t.has[name] = true
	}
	if c, ok := r["comments"]; ok {
		t.Comments = ParseJournal(c.Display, r.displayOffset("sys_updated_on"))
	}
	for _, name := range keyFields[table] {
		if _, ok := r[name]; !ok {
			continue // not the person's to read
		}
		f := Field{Name: name, Value: r.Get(name).Display}
		if timeFields[name] {
			f.At = r.Time(name)
		}
		t.Fields = append(t.Fields, f)
	}
	return t
}

func recordFields(table string) []string {
	return append(append([]string(nil), commonFields...), keyFields[table]...)
}

// RecordByNumber reads a record of table by its number; ErrNotFound when there
// is none the person may read.
func (s *Session) RecordByNumber(ctx context.Context, table, number string) (TaskRecord, error) {
	recs, _, err := s.List(ctx, table, NewQuery().Eq("number", number), Params{Fields: recordFields(table), Limit: 1, DisplayValue: "all"})
	if err != nil {
		return TaskRecord{}, err
	}
	if len(recs) == 0 {
		return TaskRecord{}, &Error{Status: 404, Message: "No Record found"}
	}
	return taskRecordFrom(table, recs[0]), nil
}

// RecordByID reads a record of table by its sys_id.
func (s *Session) RecordByID(ctx context.Context, table, sysID string) (TaskRecord, error) {
	r, err := s.Get(ctx, table, sysID, Params{Fields: recordFields(table), DisplayValue: "all"})
	if err != nil {
		return TaskRecord{}, err
	}
	return taskRecordFrom(table, r), nil
}

// RecordNews reads a record of table by its sys_id with its comments: what a
// notification about it shows.
func (s *Session) RecordNews(ctx context.Context, table, sysID string) (TaskRecord, error) {
	r, err := s.Get(ctx, table, sysID, Params{Fields: append(recordFields(table), "comments"), DisplayValue: "all"})
	if err != nil {
		return TaskRecord{}, err
	}
	return taskRecordFrom(table, r), nil
}

// AddJournal adds a comment (field "comments", which the caller or requester
// sees) or a work note (field "work_notes", for those who work on it) to the
// record of table with this number, and returns the record.
func (s *Session) AddJournal(ctx context.Context, table, number, field, text string) (TaskRecord, error) {
	if field != "comments" && field != "work_notes" {
		return TaskRecord{}, errors.New("servicenow: a journal is comments or work_notes")
	}
	r, err := s.RecordByNumber(ctx, table, number)
	if err != nil {
		return TaskRecord{}, err
	}
	updated, err := s.Update(ctx, table, r.SysID, map[string]string{field: text}, Params{Fields: recordFields(table), DisplayValue: "all"})
	if err != nil {
		return TaskRecord{}, err
	}
	return taskRecordFrom(table, updated), nil
}

// CanWriteWorkNotes reports whether the person may write work notes on the
// record of table with this number: ServiceNow lets a person read the work
// notes of what they may work on, so the answer is whether the field came
// back when read. ErrNotFound when there is no record the person may read.
func (s *Session) CanWriteWorkNotes(ctx context.Context, table, number string) (bool, error) {
	recs, _, err := s.List(ctx, table, NewQuery().Eq("number", number), Params{Fields: []string{"sys_id", "work_notes"}, Limit: 1})
	if err != nil {
		return false, err
	}
	if len(recs) == 0 {
		return false, &Error{Status: 404, Message: "No Record found"}
	}
	_, ok := recs[0]["work_notes"]
	return ok, nil
}

// SearchRecords finds records of tables that the person may read whose number
// starts with text or whose short description holds its words: the person's
// own first (they opened it, are its caller or it is for them), active before
// closed, most recently updated first. One call per table, all at once;
// skip and count page through the merged results. me is the person's sys_id.
func (s *Session) SearchRecords(ctx context.Context, tables []string, text, me string, skip, count int) ([]TaskRecord, error) {
	type ranked struct {
		rec  TaskRecord
		mine bool
	}
	type found struct {
		recs []ranked
		err  error
	}
	results := make([]found, len(tables))
	var wg sync.WaitGroup
	for i, table := range tables {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := matchingRecords(NewQuery(), text).OrderByDesc("active").OrderByDesc("sys_updated_on")
			fields := append(recordFields(table), "caller_id", "requested_for")
			recs, _, err := s.List(ctx, table, q, Params{Fields: fields, Limit: skip + count, DisplayValue: "all"})
			for _, r := range recs {
				mine := me != "" && (r.Get("opened_by").Value == me || r.Get("caller_id").Value == me || r.Get("requested_for").Value == me)
				results[i].recs = append(results[i].recs, ranked{taskRecordFrom(table, r), mine})
			}
			results[i].err = err
		}()
	}
	wg.Wait()
	var all []ranked
	var errs []error
	for _, f := range results {
		all = append(all, f.recs...)
		if f.err != nil {
			errs = append(errs, f.err)
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		x, y := all[a], all[b]
		switch {
		case x.mine != y.mine:
			return x.mine
		case x.rec.Active != y.rec.Active:
			return x.rec.Active
		}
		return x.rec.Updated.After(y.rec.Updated)
	})
	var page []TaskRecord
	for i := skip; i < len(all) && i < skip+count; i++ {
		page = append(page, all[i].rec)
	}
	if len(page) == 0 && len(errs) > 0 {
		return nil, errs[0]
	}
	return page, errors.Join(errs...)
}

// matchingRecords adds to q what text asks for: a number's start (letters
// and digits, as in CHG003), or words, each of which the short description
// must contain.
func matchingRecords(q *Query, text string) *Query {
	text = strings.TrimSpace(text)
	if m := numberPattern.FindStringSubmatch(text); m != nil {
		return q.StartsWith("number", strings.ToUpper(text))
	}
	return matching(q, "short_description", text)
}
