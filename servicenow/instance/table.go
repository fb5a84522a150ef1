package instance

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// field is one field of a record as the Table API sees it.
type field struct {
	value, display string
	ref            string // referenced table for reference fields
	journal        bool   // journal fields have no stored value
}

type record map[string]field

const dateLayout = "2006-01-02 15:04:05"

// tableFields lists the fields of each table the fake serves.
var tableFields = map[string][]string{
	"incident": {"sys_id", "number", "short_description", "description", "state", "priority", "urgency", "impact",
		"caller_id", "opened_by", "assigned_to", "assignment_group", "close_code", "close_notes", "active", "opened_at",
		"sys_created_on", "sys_updated_on", "comments", "work_notes", "watch_list", "correlation_id", "correlation_display"},
	"sys_user":       {"sys_id", "user_name", "name", "email"},
	"sys_user_group": {"sys_id", "name"},
}

// incidentRecord needs s.mu held.
func (s *Instance) incidentRecord(i *Incident) record {
	ref := func(table, id string) field {
		f := field{value: id, ref: table}
		if table == "sys_user" {
			if u := s.userByID(id); u != nil {
				f.display = u.Name
			}
		} else {
			for _, g := range s.groups {
				if g.SysID == id {
					f.display = g.Name
				}
			}
		}
		return f
	}
	choice := func(v int, labels map[int]string) field { return field{value: strconv.Itoa(v), display: labels[v]} }
	plain := func(v string) field { return field{value: v, display: v} }
	active := i.State != 6 && i.State != 7 && i.State != 8
	return record{
		"sys_id":              plain(i.SysID),
		"number":              plain(i.Number),
		"short_description":   plain(i.ShortDescription),
		"description":         plain(i.Description),
		"state":               choice(i.State, stateLabels),
		"priority":            choice(i.Priority, priorityLabels),
		"urgency":             choice(i.Urgency, urgencyLabels),
		"impact":              choice(i.Impact, impactLabels),
		"caller_id":           ref("sys_user", i.Caller),
		"opened_by":           ref("sys_user", cmp.Or(i.OpenedBy, i.Caller)),
		"assigned_to":         ref("sys_user", i.AssignedTo),
		"assignment_group":    ref("sys_user_group", i.AssignmentGroup),
		"close_code":          plain(i.CloseCode),
		"close_notes":         plain(i.CloseNotes),
		"active":              plain(strconv.FormatBool(active)),
		"opened_at":           plain(i.Opened.UTC().Format(dateLayout)),
		"sys_created_on":      plain(i.Opened.UTC().Format(dateLayout)),
		"sys_updated_on":      plain(i.Updated.UTC().Format(dateLayout)),
		"sys_class_name":      {value: "incident", display: tableLabels["incident"]},
		"comments":            {journal: true, display: s.journalText(i.Comments, "Additional comments")},
		"work_notes":          {journal: true, display: s.journalText(i.WorkNotes, "Work notes")},
		"watch_list":          s.userList(i.WatchList),
		"correlation_id":      plain(i.Correlation),
		"correlation_display": plain(i.CorrelationDisplay),
	}
}

// userList is a glide_list of users: sys_ids, and names, comma-separated.
func (s *Instance) userList(ids []string) field {
	var names []string
	for _, id := range ids {
		if u := s.userByID(id); u != nil {
			names = append(names, u.Name)
		}
	}
	return field{value: strings.Join(ids, ","), display: strings.Join(names, ", ")}
}

// journalText renders entries newest first, as ServiceNow shows a journal field.
func (s *Instance) journalText(entries []Journal, label string) string {
	var b strings.Builder
	for k := len(entries) - 1; k >= 0; k-- {
		e := entries[k]
		name := e.By
		if u := s.userByID(e.By); u != nil {
			name = u.Name
		}
		fmt.Fprintf(&b, "%s - %s (%s)\n%s\n\n", e.At.UTC().Format(dateLayout), name, label, e.Text)
	}
	return b.String()
}

// render writes a record in the requested display mode with the requested fields.
func (s *Instance) render(table string, rec record, fields []string, mode string, noLinks bool, user *User) map[string]any {
	if len(fields) == 0 {
		fields = tableFields[table]
	}
	out := map[string]any{}
	for _, name := range fields {
		f, ok := s.field(table, rec, name, user)
		if !ok {
			continue // ServiceNow leaves unknown fields out of the result
		}
		link := ""
		if f.ref != "" && f.value != "" {
			link = s.BaseURL + "/api/now/table/" + f.ref + "/" + f.value
		}
		switch mode {
		case "all":
			m := map[string]string{"display_value": f.display, "value": f.value}
			if link != "" && !noLinks {
				m["link"] = link
			}
			out[name] = m
		case "true":
			if link != "" && !noLinks {
				out[name] = map[string]string{"display_value": f.display, "link": link}
			} else {
				out[name] = f.display
			}
		default:
			if f.journal {
				out[name] = ""
			} else if link != "" && !noLinks {
				out[name] = map[string]string{"value": f.value, "link": link}
			} else {
				out[name] = f.value
			}
		}
	}
	return out
}

// table serves /api/now/table/{table}[/{sys_id}].
func (s *Instance) table(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	status := http.StatusOK
	fail := func(st int, msg, detail string) {
		status = st
		WriteError(w, st, msg, detail)
	}

	user := s.bearerUser(r)
	if user == nil {
		fail(http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	table, id := r.PathValue("table"), r.PathValue("sys_id")
	if _, ok := tableFields[table]; !ok {
		fail(http.StatusBadRequest, "Invalid table "+table, "")
		return
	}
	q := r.URL.Query()
	mode := strings.ToLower(q.Get("sysparm_display_value"))
	noLinks := q.Get("sysparm_exclude_reference_link") == "true"
	var fields []string
	if f := q.Get("sysparm_fields"); f != "" {
		fields = strings.Split(f, ",")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	out := tableOut{table: table, fields: fields, mode: mode, noLinks: noLinks, user: user}
	switch {
	case r.Method == http.MethodGet && id == "":
		recs, err := s.query(table, q.Get("sysparm_query"), user)
		if err != nil {
			fail(http.StatusBadRequest, "Invalid query", err.Error())
			return
		}
		s.writeList(w, recs, q, out)
	case r.Method == http.MethodGet:
		rec := s.byID(table, id, user)
		if rec == nil {
			fail(http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
			return
		}
		writeJSON(w, status, map[string]any{"result": s.render(table, rec, fields, mode, noLinks, user)})
	default:
		rec, st, msg, detail := s.write(w, r.Method, table, id, body, user)
		if st >= 300 {
			fail(st, msg, detail)
			return
		}
		writeJSON(w, st, map[string]any{"result": s.render(table, rec, fields, mode, noLinks, user)})
	}
}

// tableOut is how a Table API request wants its records written.
type tableOut struct {
	table, mode string
	fields      []string
	noLinks     bool
	user        *User
}

// writeList writes a page of records, with the total count in X-Total-Count.
func (s *Instance) writeList(w http.ResponseWriter, recs []record, q url.Values, out tableOut) {
	w.Header().Set("X-Total-Count", strconv.Itoa(len(recs)))
	offset, _ := strconv.Atoi(q.Get("sysparm_offset"))
	limit, err := strconv.Atoi(q.Get("sysparm_limit"))
	if err != nil || limit <= 0 {
		limit = 10000
	}
	result := []map[string]any{}
	for k := offset; k < len(recs) && k < offset+limit; k++ {
		result = append(result, s.render(out.table, recs[k], out.fields, out.mode, out.noLinks, out.user))
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

// write serves a POST, PATCH or PUT: the record as it is afterwards and the
// status, or the status and ServiceNow's message and detail. Needs s.mu held.
func (s *Instance) write(w http.ResponseWriter, method, table, id string, body []byte, user *User) (record, int, string, string) {
	patch := method == http.MethodPatch || method == http.MethodPut
	switch {
	case method == http.MethodPost && id == "" && table == "incident":
		inc, st, msg, detail := s.createIncident(body, user)
		if st != http.StatusCreated {
			return nil, st, msg, detail
		}
		w.Header().Set("Location", s.BaseURL+"/api/now/table/incident/"+inc.SysID)
		return s.incidentRecord(inc), http.StatusCreated, "", ""
	case patch && id != "" && table == "incident":
		inc := s.incidentByID(id)
		if inc == nil || !canRead(user, inc) {
			return nil, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
		}
		if st, msg, detail := s.updateIncident(inc, body, user); st != http.StatusOK {
			return nil, st, msg, detail
		}
		return s.incidentRecord(inc), http.StatusOK, "", ""
	case patch && id != "" && slices.Contains(taskTables, table):
		t := s.taskByID(id)
		if t == nil || t.Table != table || !s.canReadTask(user, t) {
			return nil, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
		}
		if st, msg, detail := s.updateTask(t, body, user); st != http.StatusOK {
			return nil, st, msg, detail
		}
		return s.byID(table, id, user), http.StatusOK, "", ""
	case patch && id != "" && table == "sysapproval_approver":
		a, st, msg, detail := s.decide(id, body, user)
		if st != http.StatusOK {
			return nil, st, msg, detail
		}
		return s.approvalRecord(a), http.StatusOK, "", ""
	}
	return nil, http.StatusMethodNotAllowed, "Method not Supported", method + " is not supported on " + table
}

func canRead(u *User, i *Incident) bool { return u.ITIL || i.Caller == u.SysID }

func (s *Instance) incidentByID(id string) *Incident {
	for _, i := range s.incidents {
		if i.SysID == id {
			return i
		}
	}
	return nil
}

// rows returns the records of a table that user may read.
func (s *Instance) rows(table string, user *User) []record { return s.rowsWhere(table, user, nil) }

// key narrows rows to the one with this sys_id or number (a query that
// starts with sys_id= or number=), so that an instance holding thousands of
// incidents answers such a query without building every row.
type key struct{ field, value string }

func (k *key) admits(sysID, number string) bool {
	switch {
	case k == nil:
		return true
	case k.field == "sys_id":
		return sysID == k.value
	}
	return number == k.value
}

func (s *Instance) rowsWhere(table string, user *User, only *key) []record {
	var out []record
	switch table {
	case "incident":
		for _, i := range s.incidents {
			if only.admits(i.SysID, i.Number) && canRead(user, i) {
				out = append(out, s.incidentRecord(i))
			}
		}
	case "sys_user":
		for _, u := range s.users {
			out = append(out, record{"sys_id": {value: u.SysID, display: u.SysID}, "user_name": {value: u.UserName, display: u.UserName},
				"name": {value: u.Name, display: u.Name}, "email": {value: u.Email, display: u.Email}})
		}
	case "sys_user_group":
		for _, g := range s.groups {
			out = append(out, record{"sys_id": {value: g.SysID, display: g.SysID}, "name": {value: g.Name, display: g.Name}})
		}
	case "task", "change_request", "change_task", "problem", "problem_task", "sc_request", "sc_req_item", "sc_task":
		out = s.taskRows(table, user, only)
	case "sys_documentation":
		out = s.documentation()
	case "sc_cat_item":
		for _, c := range s.catItems {
			out = append(out, record{"sys_id": plain(c.SysID), "name": plain(c.Name)})
		}
	case "sysapproval_approver":
		out = s.approvalRows(user)
	case "kb_knowledge":
		out = s.articleRows(user)
	}
	return out
}

func (s *Instance) byID(table, id string, user *User) record {
	for _, r := range s.rowsWhere(table, user, &key{"sys_id", id}) {
		if r["sys_id"].value == id {
			return r
		}
	}
	return nil
}

// field reads a field of a row, following a dot-walk (sysapproval.number)
// through reference fields as far as user may read; ok is false for a field
// the table does not have. A dot-walk through an empty or unreadable
// reference is an empty value, as on an instance.
func (s *Instance) field(table string, rec record, name string, user *User) (field, bool) {
	first, rest, walk := strings.Cut(name, ".")
	f, ok := rec[first]
	if !walk || !ok {
		return f, ok
	}
	if f.ref == "" || f.value == "" {
		return field{}, true
	}
	target := s.byID(f.ref, f.value, user)
	if target == nil {
		return field{}, true
	}
	v, _ := s.field(f.ref, target, rest, user)
	return v, true
}

// query filters and orders the rows of a table with an encoded query.
func (s *Instance) query(table, encoded string, user *User) ([]record, error) {
	q, err := parseQuery(encoded, tableFields[table])
	if err != nil {
		return nil, err
	}
	q.noTextSearch = s.NoTextSearch
	var out []record
	for _, r := range s.rowsWhere(table, user, q.leadingKey()) {
		get := func(name string) string { f, _ := s.field(table, r, name, user); return f.value }
		if q.matches(get, user) {
			out = append(out, r)
		}
	}
	for k := len(q.order) - 1; k >= 0; k-- {
		o := q.order[k]
		sort.SliceStable(out, func(a, b int) bool {
			if o.desc {
				return out[a][o.field].value > out[b][o.field].value
			}
			return out[a][o.field].value < out[b][o.field].value
		})
	}
	return out, nil
}

// incidentWrite is the JSON a client may send to create or update an incident.
type incidentWrite map[string]any

func (w incidentWrite) str(k string) (string, bool) {
	v, ok := w[k]
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return fmt.Sprint(v), true
}

func (s *Instance) createIncident(body []byte, user *User) (*Incident, int, string, string) {
	var in incidentWrite
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON."
	}
	now := time.Now().UTC().Truncate(time.Second)
	inc := &Incident{
		SysID:  randomHex(16),
		Number: fmt.Sprintf("INC%07d", s.nextInc),
		State:  1, Urgency: 3, Impact: 3, Caller: user.SysID, OpenedBy: user.SysID,
		Opened: now, Updated: now,
	}
	if st, msg, detail := s.apply(inc, in, user, true); st != http.StatusOK {
		return nil, st, msg, detail
	}
	s.nextInc++
	s.incidents = append(s.incidents, inc)
	s.emit(incidentEvents(nil, inc, user.SysID)...)
	return inc, http.StatusCreated, "", ""
}

func (s *Instance) updateIncident(inc *Incident, body []byte, user *User) (int, string, string) {
	var in incidentWrite
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON."
	}
	copyInc := *inc
	if st, msg, detail := s.apply(&copyInc, in, user, false); st != http.StatusOK {
		return st, msg, detail
	}
	copyInc.Updated = time.Now().UTC().Truncate(time.Second)
	before := *inc
	*inc = copyInc
	s.emit(incidentEvents(&before, inc, user.SysID)...)
	return http.StatusOK, "", ""
}

// apply sets fields on an incident with the instance's ACLs and data policies.
func (s *Instance) apply(inc *Incident, in incidentWrite, user *User, creating bool) (int, string, string) {
	aclDenied := func() (int, string, string) {
		return http.StatusForbidden, "Operation Failed", "ACL Exception Update Failed due to security constraints"
	}
	for k := range in {
		if !slices.Contains(tableFields["incident"], k) {
			continue // the Table API ignores fields it does not know
		}
		if !user.ITIL && !creating && k != "comments" {
			return aclDenied()
		}
	}
	setChoice := func(k string, labels map[int]string, dst *int) (bool, string) {
		v, ok := in.str(k)
		if !ok {
			return true, ""
		}
		n, err := strconv.Atoi(v)
		if _, known := labels[n]; err != nil || !known {
			return false, k
		}
		*dst = n
		return true, ""
	}
	if st, msg, detail := s.setPeople(inc, in); st != http.StatusOK {
		return st, msg, detail
	}
	for _, c := range []struct {
		k      string
		labels map[int]string
		dst    *int
	}{{"urgency", urgencyLabels, &inc.Urgency}, {"impact", impactLabels, &inc.Impact}, {"state", stateLabels, &inc.State}} {
		if ok, bad := setChoice(c.k, c.labels, c.dst); !ok {
			return http.StatusBadRequest, "Invalid value", bad + ": not a valid choice"
		}
	}
	inc.Priority = priority(inc.Urgency, inc.Impact)
	if v, ok := in.str("close_code"); ok {
		inc.CloseCode = v
	}
	if v, ok := in.str("close_notes"); ok {
		inc.CloseNotes = v
	}
	if inc.State == 6 || inc.State == 7 {
		if !slices.Contains(closeCodes, inc.CloseCode) || strings.TrimSpace(inc.CloseNotes) == "" {
			return http.StatusForbidden, "Operation Failed",
				"Data Policy Exception: \n Resolution code is mandatory and must be a valid choice; Resolution notes is mandatory"
		}
	}
	if creating && inc.Urgency == 1 && strings.TrimSpace(inc.Description) == "" {
		// The demo's data policy: whoever reports something urgent says more.
		return http.StatusForbidden, "Operation Failed", "Data Policy Exception: \n Description is mandatory when Urgency is 1 - High"
	}
	now := time.Now().UTC().Truncate(time.Second)
	if v, ok := in.str("comments"); ok && v != "" {
		inc.Comments = append(inc.Comments, Journal{At: now, By: user.SysID, Text: v})
	}
	if v, ok := in.str("work_notes"); ok && v != "" {
		inc.WorkNotes = append(inc.WorkNotes, Journal{At: now, By: user.SysID, Text: v})
	}
	return http.StatusOK, "", ""
}

// setPeople sets an incident's text and people: its descriptions, caller,
// assignee and watch list, each reference checked.
func (s *Instance) setPeople(inc *Incident, in incidentWrite) (int, string, string) {
	if v, ok := in.str("short_description"); ok {
		inc.ShortDescription = v
	}
	if v, ok := in.str("description"); ok {
		inc.Description = v
	}
	if v, ok := in.str("correlation_id"); ok {
		inc.Correlation = v
	}
	if v, ok := in.str("correlation_display"); ok {
		inc.CorrelationDisplay = v
	}
	if v, ok := in.str("caller_id"); ok && v != "" {
		if s.userByID(v) == nil {
			return http.StatusBadRequest, "Invalid reference", "caller_id: no sys_user " + v
		}
		inc.Caller = v
	}
	if v, ok := in.str("assigned_to"); ok {
		if v != "" && s.userByID(v) == nil {
			return http.StatusBadRequest, "Invalid reference", "assigned_to: no sys_user " + v
		}
		inc.AssignedTo = v
	}
	if v, ok := in.str("watch_list"); ok {
		inc.WatchList = nil
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				if s.userByID(id) == nil {
					return http.StatusBadRequest, "Invalid reference", "watch_list: no sys_user " + id
				}
				inc.WatchList = append(inc.WatchList, id)
			}
		}
	}
	return http.StatusOK, "", ""
}
