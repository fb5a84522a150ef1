package servicenow

// The service catalog, through ServiceNow's Service Catalog API (namespace
// sn_sc), with the person's own token, so that they see and order only what
// their user criteria allow. Shapes relied on, from ServiceNow's REST API
// reference, "Service Catalog API" (c_ServiceCatalogAPI):
//
//   - GET /api/sn_sc/servicecatalog/items?sysparm_text=&sysparm_limit= lists
//     items: {"result":[{"sys_id","name","short_description" (may be null),
//     "category":{"sys_id","title"},"type",…}]}.
//   - GET /api/sn_sc/servicecatalog/items/{sys_id} is one item with
//     "variables": each has "name", "label", "type" (item_option_new.type's
//     number), "mandatory", "value"/"displayvalue" (its default), "choices"
//     [{"label","value"}], "help_text", "reference" (the referenced table);
//     a container's variables are nested under its "children". Instances send
//     "mandatory" and "type" as strings or as JSON scalars: both are read.
//   - POST /api/sn_sc/servicecatalog/items/{sys_id}/order_now with
//     {"sysparm_quantity":"1","variables":{name: value}} answers with the
//     request, not its requested item: {"result":{"sys_id","number",
//     "request_number","request_id","table":"sc_request"}}; the requested
//     items are the sc_req_item records whose request is request_id.
//   - Variable type numbers (item_option_new.type's choices): 1 Yes / No,
//     2 Multi Line Text, 3 Multiple Choice, 5 Select Box, 6 Single Line Text,
//     7 CheckBox, 8 Reference, 9 Date, 10 Date/Time, 11 Label, 19 Container
//     Start, 20 Container End, 24 Container Split, 32 Rich Text Label,
//     33 Attachment; the others (list collector, lookup select box, masked,
//     duration, macro, …) are not shown as inputs.
//   - An item is ordered in the Service Portal at /sp?id=sc_cat_item&sys_id=….

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// VariableType is a catalog variable's type (item_option_new.type).
type VariableType int

// The variable types the bot knows.
const (
	YesNo          VariableType = 1
	MultiLineText  VariableType = 2
	MultipleChoice VariableType = 3
	SelectBox      VariableType = 5
	SingleLineText VariableType = 6
	CheckBox       VariableType = 7
	Reference      VariableType = 8
	Date           VariableType = 9
	DateTime       VariableType = 10
	Label          VariableType = 11
	ContainerStart VariableType = 19
	ContainerEnd   VariableType = 20
	ContainerSplit VariableType = 24
	RichTextLabel  VariableType = 32
	Attachment     VariableType = 33
)

// CatalogItem is an item of the service catalog.
type CatalogItem struct {
	SysID, Name, ShortDescription, Category string
	// Variables are its questions in order, variable sets and containers
	// flattened (a container shows as one ContainerStart with its label).
	Variables []Variable
}

// Variable is one question of a catalog item.
type Variable struct {
	Name, Label, HelpText string
	Type                  VariableType
	Mandatory, ReadOnly   bool
	Value, DisplayValue   string // its default
	Choices               []VariableChoice
	Reference             string // the referenced table
}

// VariableChoice is one choice of a select box or multiple choice.
type VariableChoice struct{ Label, Value string }

// Order is what ordering an item made: the request and its requested items.
type Order struct {
	RequestID, Request string
	Items              []TaskRecord // empty when they could not be read
}

// loose reads a JSON string, number, boolean or null as its text.
type loose string

func (l *loose) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = loose(s)
		return nil
	}
	if string(b) == "null" {
		*l = ""
		return nil
	}
	*l = loose(strings.TrimSpace(string(b)))
	return nil
}

type itemWire struct {
	SysID            string `json:"sys_id"`
	Name             loose  `json:"name"`
	ShortDescription loose  `json:"short_description"`
	Category         struct {
		Title loose `json:"title"`
	} `json:"category"`
	Variables []variableWire `json:"variables"`
}

type variableWire struct {
	Name         loose `json:"name"`
	Label        loose `json:"label"`
	HelpText     loose `json:"help_text"`
	Type         loose `json:"type"`
	Mandatory    loose `json:"mandatory"`
	ReadOnly     loose `json:"read_only"`
	Value        loose `json:"value"`
	DisplayValue loose `json:"displayvalue"`
	Reference    loose `json:"reference"`
	Choices      []struct {
		Label loose `json:"label"`
		Value loose `json:"value"`
	} `json:"choices"`
	Children []variableWire `json:"children"`
}

func (w itemWire) item() CatalogItem {
	return CatalogItem{SysID: w.SysID, Name: string(w.Name), ShortDescription: string(w.ShortDescription),
		Category: string(w.Category.Title), Variables: flatten(nil, w.Variables)}
}

// flatten appends vars and their children, in order, to out.
func flatten(out []Variable, vars []variableWire) []Variable {
	for _, w := range vars {
		kind, _ := strconv.Atoi(string(w.Type))
		v := Variable{Name: string(w.Name), Label: string(w.Label), HelpText: string(w.HelpText), Type: VariableType(kind),
			Mandatory: w.Mandatory == "true", ReadOnly: w.ReadOnly == "true", Value: string(w.Value),
			DisplayValue: string(w.DisplayValue), Reference: string(w.Reference)}
		for _, c := range w.Choices {
			v.Choices = append(v.Choices, VariableChoice{Label: string(c.Label), Value: string(c.Value)})
		}
		out = append(out, v)
		out = flatten(out, w.Children)
	}
	return out
}

const catalogItems = "/api/sn_sc/servicecatalog/items"

// CatalogItems lists up to limit items the person may order that match
// text (all items, in the catalog's order, when text is empty).
func (s *Session) CatalogItems(ctx context.Context, text string, limit int) ([]CatalogItem, error) {
	query := map[string]string{"sysparm_limit": strconv.Itoa(limit)}
	if text = strings.TrimSpace(text); text != "" {
		query["sysparm_text"] = text
	}
	var body struct {
		Result []itemWire `json:"result"`
	}
	if _, err := s.do(ctx, http.MethodGet, catalogItems, query, nil, decodeInto(&body)); err != nil {
		return nil, err
	}
	items := make([]CatalogItem, 0, len(body.Result))
	for _, w := range body.Result {
		items = append(items, w.item())
	}
	return items, nil
}

// CatalogItem reads an item with its variables.
func (s *Session) CatalogItem(ctx context.Context, sysID string) (CatalogItem, error) {
	if !ValidSysID(sysID) {
		return CatalogItem{}, ErrInvalidSysID
	}
	var body struct {
		Result itemWire `json:"result"`
	}
	if _, err := s.do(ctx, http.MethodGet, catalogItems+"/"+url.PathEscape(sysID), nil, nil, decodeInto(&body)); err != nil {
		return CatalogItem{}, err
	}
	return body.Result.item(), nil
}

// OrderNow orders one of the item with these variable values, then reads the
// requested items the order made. Once the order is placed it is returned,
// whatever happens to that read: it must not look as if it failed.
func (s *Session) OrderNow(ctx context.Context, sysID string, variables map[string]string) (Order, error) {
	if !ValidSysID(sysID) {
		return Order{}, ErrInvalidSysID
	}
	var body struct {
		Result struct {
			RequestID     string `json:"request_id"`
			SysID         string `json:"sys_id"`
			RequestNumber string `json:"request_number"`
			Number        string `json:"number"`
		} `json:"result"`
	}
	in := map[string]any{"sysparm_quantity": "1", "variables": variables}
	if _, err := s.do(ctx, http.MethodPost, catalogItems+"/"+url.PathEscape(sysID)+"/order_now", nil, in, decodeInto(&body)); err != nil {
		return Order{}, err
	}
	r := body.Result
	o := Order{RequestID: firstOf(r.RequestID, r.SysID), Request: firstOf(r.RequestNumber, r.Number)}
	if ValidSysID(o.RequestID) {
		recs, _, err := s.List(ctx, "sc_req_item", NewQuery().Eq("request", o.RequestID),
			Params{Fields: recordFields("sc_req_item"), Limit: 10, DisplayValue: "all"})
		if err == nil {
			for _, rec := range recs {
				o.Items = append(o.Items, taskRecordFrom("sc_req_item", rec))
			}
		}
	}
	return o, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ReferenceChoice is a record offered for a reference variable.
type ReferenceChoice struct{ SysID, Name string }

// ReferenceChoices are up to limit records of table whose name holds text,
// by name, as the person may read them: the choices of a reference variable.
func (s *Session) ReferenceChoices(ctx context.Context, table, text string, limit int) ([]ReferenceChoice, error) {
	if !validField(table) {
		return nil, ErrUnsafeValue
	}
	q := NewQuery()
	if text = strings.TrimSpace(text); text != "" {
		q.Like("name", text)
	}
	recs, _, err := s.List(ctx, table, q.OrderBy("name"), Params{Fields: []string{"sys_id", "name"}, Limit: limit, DisplayValue: "true"})
	if err != nil {
		return nil, err
	}
	out := make([]ReferenceChoice, 0, len(recs))
	for _, r := range recs {
		out = append(out, ReferenceChoice{SysID: r.Get("sys_id").Value, Name: r.Get("name").Display})
	}
	return out, nil
}

// MyOpenRequestedItems are the person's open requested items (requested for
// them or opened by them), newest first, and how many there are in all.
func (s *Session) MyOpenRequestedItems(ctx context.Context, limit int) ([]TaskRecord, int, error) {
	q := NewQuery().Eq("active", "true").IsCurrentUserIn("requested_for", "opened_by").OrderByDesc("sys_updated_on")
	recs, total, err := s.List(ctx, "sc_req_item", q, Params{Fields: recordFields("sc_req_item"), Limit: limit, DisplayValue: "all"})
	if err != nil {
		return nil, 0, err
	}
	out := make([]TaskRecord, 0, len(recs))
	for _, r := range recs {
		out = append(out, taskRecordFrom("sc_req_item", r))
	}
	return out, total, nil
}

// decodeInto reads a Service Catalog API answer into v.
func decodeInto(v any) func([]byte) error {
	return func(b []byte) error { return json.Unmarshal(b, v) }
}

// ApprovalsOf are the approvals asked for on a record, oldest first, as the
// person may read them: who approves, and where it stands.
func (s *Session) ApprovalsOf(ctx context.Context, sysID string) ([]Approval, error) {
	if !ValidSysID(sysID) {
		return nil, ErrInvalidSysID
	}
	recs, _, err := s.List(ctx, "sysapproval_approver", NewQuery().Eq("sysapproval", sysID).OrderBy("sys_created_on"),
		Params{Fields: []string{"sys_id", "state", "approver", "sys_created_on", "sys_updated_on"}, Limit: 20, DisplayValue: "all"})
	if err != nil {
		return nil, err
	}
	out := make([]Approval, 0, len(recs))
	for _, r := range recs {
		out = append(out, approvalFrom(r))
	}
	return out, nil
}

// ReferenceName is the name of a record a reference variable points to.
func (s *Session) ReferenceName(ctx context.Context, table, sysID string) (string, error) {
	if !validField(table) {
		return "", ErrUnsafeValue
	}
	r, err := s.Get(ctx, table, sysID, Params{Fields: []string{"name"}, DisplayValue: "true"})
	if err != nil {
		return "", err
	}
	return r.Get("name").Display, nil
}
