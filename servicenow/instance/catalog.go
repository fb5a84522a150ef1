package instance

// This file is the Service Catalog API (namespace sn_sc) over a small
// catalog: the items a person may see, an item with its variables, and
// order_now, which makes a request, its requested item and, for items that
// need it, an approval for the requester's manager.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Variable types, as item_option_new.type stores them.
const (
	VarYesNo          = 1
	VarMultiLineText  = 2
	VarMultipleChoice = 3
	VarSelectBox      = 5
	VarSingleLineText = 6
	VarCheckBox       = 7
	VarReference      = 8
	VarDate           = 9
	VarDateTime       = 10
	VarLabel          = 11
	VarContainerStart = 19
	VarContainerEnd   = 20
	VarAttachment     = 33
)

// variableTypeNames are the display_type and friendly_type ServiceNow sends with each type.
var variableTypeNames = map[int][2]string{
	VarYesNo: {"Yes / No", "yes_no"}, VarMultiLineText: {"Multi Line Text", "multi_line_text"},
	VarMultipleChoice: {"Multiple Choice", "multiple_choice"}, VarSelectBox: {"Select Box", "select_box"},
	VarSingleLineText: {"Single Line Text", "single_line_text"}, VarCheckBox: {"CheckBox", "boolean"},
	VarReference: {"Reference", "reference"}, VarDate: {"Date", "date"}, VarDateTime: {"Date/Time", "date_time"},
	VarLabel: {"Label", "label"}, VarContainerStart: {"Container Start", "container_start"},
	VarContainerEnd: {"Container End", "container_end"}, VarAttachment: {"Attachment", "attachment"},
}

// CatItem is a service catalog item.
type CatItem struct {
	SysID, Name, ShortDescription, Category string
	// AgentsOnly items are seen by everyone but ordered by agents only (a
	// user criterion on who may order).
	AgentsOnly bool
	// ManagerApproval items wait for the requester's manager to approve.
	ManagerApproval bool
	Variables       []CatVariable
}

// CatVariable is a variable of an item, or of a variable set it includes
// (Set names it; the API lists a set's variables where the set is).
type CatVariable struct {
	Name, Label, HelpText, Set string
	Type                       int
	Mandatory                  bool
	Default                    string
	Choices                    [][2]string // label, value
	Reference                  string      // the referenced table
}

// Order is what an order_now made.
type Order struct {
	Request, RequestedItem string // numbers
	Variables              map[string]string
}

func (s *Instance) seedCatalog() {
	s.catItems = []*CatItem{
		{SysID: sysID("ca", 1), Name: "Developer Laptop (Mac)", Category: "Hardware", ManagerApproval: true,
			ShortDescription: "A MacBook Pro set up for software development",
			Variables: []CatVariable{
				{Name: "laptop_intro", Label: "Your manager approves this request before it is ordered.", Type: VarLabel},
				{Name: "memory", Label: "Memory", Type: VarSelectBox, Mandatory: true, Default: "32",
					Choices: [][2]string{{"16 GB", "16"}, {"32 GB", "32"}, {"64 GB", "64"}}},
				{Name: "adobe_cc", Label: "Install Adobe Creative Cloud", Type: VarCheckBox, Default: "false",
					HelpText: "Only if you edit images or video: it needs a licence."},
				{Name: "used_by", Label: "Who will use it?", Type: VarReference, Reference: "sys_user", Mandatory: true},
				{Name: "delivery_room", Label: "Deliver to (office or room)", Type: VarSingleLineText, Set: "Delivery"},
				{Name: "express", Label: "Express delivery", Type: VarYesNo, Default: "No", Set: "Delivery"},
			}},
		{SysID: sysID("ca", 2), Name: "Standing Desk", Category: "Office", ShortDescription: "An electric sit-stand desk",
			Variables: []CatVariable{
				{Name: "size", Label: "Desk size", Type: VarMultipleChoice, Default: "large",
					Choices: [][2]string{{"Small (120 × 60 cm)", "small"}, {"Large (160 × 80 cm)", "large"}}},
				{Name: "notes", Label: "Anything else?", Type: VarMultiLineText},
			}},
		{SysID: sysID("ca", 3), Name: "Adobe Acrobat Pro", Category: "Software", ShortDescription: "Edit and sign PDF documents"},
		{SysID: sysID("ca", 4), Name: "Access to a business system", Category: "Access",
			ShortDescription: "Get an account on the CRM, the ERP or the HR portal",
			Variables: []CatVariable{
				{Name: "system", Label: "System", Type: VarSelectBox, Mandatory: true,
					Choices: [][2]string{{"CRM", "crm"}, {"ERP", "erp"}, {"HR portal", "hr"}}},
				{Name: "access_level", Label: "Access", Type: VarMultipleChoice, Default: "read",
					Choices: [][2]string{{"Read only", "read"}, {"Read and write", "write"}}},
				{Name: "period", Label: "Access period", Type: VarContainerStart},
				{Name: "start_date", Label: "Start date", Type: VarDate, Mandatory: true, HelpText: "Today or later."},
				{Name: "end_at", Label: "Ends at", Type: VarDateTime},
				{Name: "period_end", Type: VarContainerEnd},
				{Name: "justification", Label: "Business justification", Type: VarMultiLineText, Mandatory: true},
			}},
		{SysID: sysID("ca", 5), Name: "Replacement badge", Category: "Facilities",
			ShortDescription: "A new building badge, with your photo",
			Variables: []CatVariable{
				{Name: "photo", Label: "Your photo", Type: VarAttachment, Mandatory: true},
				{Name: "badge_notes", Label: "What happened to the old one?", Type: VarMultiLineText},
			}},
		{SysID: sysID("ca", 6), Name: "Server room access", Category: "Access", AgentsOnly: true,
			ShortDescription: "A badge permission for the data centre's server rooms",
			Variables: []CatVariable{
				{Name: "room_reason", Label: "Why do you need it?", Type: VarMultiLineText, Mandatory: true},
			}},
	}
}

// catItemByID needs s.mu held.
func (s *Instance) catItemByID(id string) *CatItem {
	for _, c := range s.catItems {
		if c.SysID == id {
			return c
		}
	}
	return nil
}

// catalog serves /api/sn_sc/servicecatalog/items[/{sys_id}[/order_now]].
func (s *Instance) catalog(w http.ResponseWriter, r *http.Request) {
	user := s.bearerUser(r)
	if user == nil {
		WriteError(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, order := r.PathValue("sys_id"), r.PathValue("action")
	switch {
	case id == "" && r.Method == http.MethodGet:
		s.catalogItems(w, r)
	case order == "" && r.Method == http.MethodGet:
		item := s.catItemByID(id)
		if item == nil {
			WriteError(w, http.StatusNotFound, "Requested catalog item not found", "")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"result": s.itemDetail(item)})
	case order == "order_now" && r.Method == http.MethodPost:
		s.orderNow(w, r, id, user)
	default:
		WriteError(w, http.StatusMethodNotAllowed, "Method not Supported", "")
	}
}

// catalogItems lists items matching sysparm_text (name or short
// description, any of its words), by name.
func (s *Instance) catalogItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := strings.ToLower(strings.TrimSpace(q.Get("sysparm_text")))
	limit, err := strconv.Atoi(q.Get("sysparm_limit"))
	if err != nil || limit <= 0 {
		limit = 1000
	}
	offset, _ := strconv.Atoi(q.Get("sysparm_offset"))
	var found []*CatItem
	for _, c := range s.catItems {
		if text == "" || textMatches(func(string) string { return c.Name + " " + c.ShortDescription + " " + c.Category }, text) {
			found = append(found, c)
		}
	}
	slices.SortStableFunc(found, func(a, b *CatItem) int { return strings.Compare(a.Name, b.Name) })
	result := []map[string]any{}
	for k := offset; k < len(found) && k < offset+limit; k++ {
		result = append(result, itemSummary(found[k]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func itemSummary(c *CatItem) map[string]any {
	return map[string]any{
		"sys_id": c.SysID, "name": c.Name, "short_description": c.ShortDescription,
		"category": map[string]string{"title": c.Category, "sys_id": sysIDFor("cc", c.Category)},
		"type":     "catalog_item", "sys_class_name": "sc_cat_item", "price": "$0.00", "show_price": false,
		"content_type": "", "availability": "on_desktop", "picture": "",
	}
}

// sysIDFor is a stable made-up sys_id for a name.
func sysIDFor(prefix, name string) string {
	n := 0
	for _, r := range name {
		n = n*31 + int(r)
	}
	return sysID(prefix, n%1000000)
}

// itemDetail is an item with its variables; needs s.mu held.
func (s *Instance) itemDetail(c *CatItem) map[string]any {
	d := itemSummary(c)
	d["description"] = "<p>" + htmlEscape(c.ShortDescription) + "</p>"
	d["mandatory_attachment"] = false
	d["request_method"] = "order"
	d["variables"] = s.variableTree(c)
	return d
}

// variableTree is an item's variables as the API lists them: a container's
// (and a titled variable set's) variables nested under its "children",
// mandatory as the strings "true" and "false".
func (s *Instance) variableTree(c *CatItem) []map[string]any {
	root := []map[string]any{}
	var open []map[string]any // the containers being filled, innermost last
	add := func(m map[string]any) {
		if len(open) == 0 {
			root = append(root, m)
			return
		}
		parent := open[len(open)-1]
		parent["children"] = append(parent["children"].([]map[string]any), m)
	}
	set := ""
	for i, v := range c.Variables {
		if v.Set != set {
			if set != "" {
				open = open[:len(open)-1]
			}
			if set = v.Set; set != "" {
				box := map[string]any{"name": strings.ToLower(set) + "_set", "label": set, "type": VarContainerStart,
					"display_type": "Container Start", "friendly_type": "container_start", "mandatory": "false", "children": []map[string]any{}}
				add(box)
				open = append(open, box)
			}
		}
		m := variableJSON(c, v, i)
		switch v.Type {
		case VarContainerStart:
			m["children"] = []map[string]any{}
			add(m)
			open = append(open, m)
			continue
		case VarContainerEnd:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			continue
		}
		add(m)
	}
	return root
}

func variableJSON(c *CatItem, v CatVariable, i int) map[string]any {
	names := variableTypeNames[v.Type]
	m := map[string]any{
		"name": v.Name, "label": v.Label, "type": v.Type, "mandatory": strconv.FormatBool(v.Mandatory), "read_only": false,
		"display_type": names[0], "friendly_type": names[1], "render_label": true,
		"help_text": v.HelpText, "value": v.Default, "displayvalue": v.Default, "order": (i + 1) * 100,
		"id": sysIDFor("f0", c.SysID+v.Name), "visible_summary": true,
	}
	if len(v.Choices) > 0 {
		choices := []map[string]any{}
		for k, ch := range v.Choices {
			choices = append(choices, map[string]any{"label": ch[0], "value": ch[1], "index": k, "price": 0, "recurring_price": 0})
			if ch[1] == v.Default {
				m["displayvalue"] = ch[0]
			}
		}
		m["choices"] = choices
	}
	if v.Type == VarReference {
		m["reference"] = v.Reference
		m["ref_qualifier"] = ""
	}
	return m
}

// orderNow orders one item with the variables sent; needs s.mu held.
func (s *Instance) orderNow(w http.ResponseWriter, r *http.Request, id string, user *User) {
	item := s.catItemByID(id)
	if item == nil {
		WriteError(w, http.StatusNotFound, "Requested catalog item not found", "")
		return
	}
	var in struct {
		Quantity  any            `json:"sysparm_quantity"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		WriteError(w, http.StatusBadRequest, "Exception while reading request", "The payload is not valid JSON.")
		return
	}
	if item.AgentsOnly && !user.ITIL {
		WriteError(w, http.StatusForbidden, "Security restricted: you may not order "+item.Name, "")
		return
	}
	values := map[string]string{}
	for k, v := range in.Variables {
		values[k] = fmt.Sprint(v)
	}
	if msg := checkVariables(item, values); msg != "" {
		WriteError(w, http.StatusBadRequest, msg, "")
		return
	}
	req, ritm := s.placeOrder(item, values, user)
	s.orders = append(s.orders, Order{Request: req.Number, RequestedItem: ritm.Number, Variables: values})
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{
		"sys_id": req.SysID, "number": req.Number, "request_number": req.Number, "request_id": req.SysID, "table": "sc_request",
	}})
}

// checkVariables is the item's own checks: mandatory variables, choices
// among the item's, dates as dates (a start not in the past).
func checkVariables(item *CatItem, values map[string]string) string {
	missing := false
	for _, v := range item.Variables {
		val := strings.TrimSpace(values[v.Name])
		if v.Mandatory && (val == "" || (v.Type == VarCheckBox && val == "false")) {
			missing = true
			continue
		}
		if val == "" {
			continue
		}
		switch v.Type {
		case VarSelectBox, VarMultipleChoice:
			if !slices.ContainsFunc(v.Choices, func(c [2]string) bool { return c[1] == val }) {
				return fmt.Sprintf("%s: %q is not one of its choices", v.Label, val)
			}
		case VarDate:
			d, err := time.Parse("2006-01-02", val)
			if err != nil {
				return v.Label + ": not a date"
			}
			if v.Name == "start_date" && d.Before(time.Now().UTC().Truncate(24*time.Hour)) {
				return v.Label + " must be today or later"
			}
		case VarDateTime:
			if _, err := time.Parse(dateLayout, val); err != nil {
				return v.Label + ": not a date and time"
			}
		}
	}
	if missing {
		return "Mandatory Variables are required"
	}
	return ""
}

// placeOrder makes the request and its requested item; needs s.mu held.
func (s *Instance) placeOrder(item *CatItem, values map[string]string, user *User) (req, ritm *Task) {
	now := time.Now().UTC().Truncate(time.Second)
	s.nextTask++
	req = &Task{Table: "sc_request", SysID: randomHex(16), Number: fmt.Sprintf("REQ%07d", 1000000+s.nextTask),
		ShortDescription: item.Name, State: 1, Priority: 4, OpenedBy: user.SysID, RequestedFor: user.SysID, Created: now, Updated: now}
	s.nextTask++
	stage := "fulfillment"
	if item.ManagerApproval && user.Manager != "" {
		stage = "waiting_for_approval"
	}
	ritm = &Task{Table: "sc_req_item", SysID: randomHex(16), Number: fmt.Sprintf("RITM%07d", 1000000+s.nextTask),
		ShortDescription: item.Name, State: 1, Priority: 4, Stage: stage, Parent: req.SysID, CatItem: item.SysID,
		OpenedBy: user.SysID, RequestedFor: user.SysID, Created: now, Updated: now}
	s.tasks = append(s.tasks, req, ritm)
	if stage == "waiting_for_approval" {
		s.approvals = append(s.approvals, &Approval{SysID: randomHex(16), State: "requested", Approver: user.Manager, Task: ritm.SysID, Created: now})
	}
	s.emit(taskEvents(nil, ritm, user.SysID)...)
	return req, ritm
}

// Orders lists what was ordered, oldest first.
func (s *Instance) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Order(nil), s.orders...)
}

// portal stands in for the Service Portal (/sp?id=sc_cat_item&sys_id=…),
// where items the bot cannot show as a form are ordered.
func (s *Instance) portal(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	name := "a page"
	if item := s.catItemByID(r.URL.Query().Get("sys_id")); item != nil && r.URL.Query().Get("id") == "sc_cat_item" {
		name = "the order form of " + item.Name
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Service Portal</title><p>The Service Portal would show " + htmlEscape(name) + " here.</p>"))
}
