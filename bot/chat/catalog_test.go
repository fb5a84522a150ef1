package chat

// The service catalog: items, their variables as a form, one order per
// form, the typeahead of references, and the person's requests.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// cardInputs are the body elements of the card in m (containers opened),
// in order.
func cardInputs(t *testing.T, m outgoing) []map[string]any {
	t.Helper()
	if len(m.Message.Attachments) == 0 {
		t.Fatalf("no card in %s", m.JSON())
	}
	var card struct {
		Body []map[string]any `json:"body"`
	}
	if err := json.Unmarshal([]byte(jsonOf(m.Message.Attachments[0].Content)), &card); err != nil {
		t.Fatal(err)
	}
	return card.Body
}

// byID finds the element with this id.
func byID(els []map[string]any, id string) map[string]any {
	for _, e := range els {
		if e["id"] == id {
			return e
		}
	}
	return nil
}

// orderButton is the data of the Order button of the item named name in a list.
func orderButton(t *testing.T, m outgoing, name string) map[string]any {
	t.Helper()
	for _, e := range cardInputs(t, m) {
		items, _ := e["items"].([]any)
		if len(items) < 3 || !strings.Contains(jsonOf(items[0]), name) {
			continue
		}
		set := items[2].(map[string]any)
		return set["actions"].([]any)[0].(map[string]any)["data"].(map[string]any)
	}
	t.Fatalf("no Order button for %s in %s", name, m.JSON())
	return nil
}

// formData is the data of a form's Order button.
func formData(t *testing.T, m outgoing) map[string]any {
	t.Helper()
	var card struct {
		Actions []struct {
			Data map[string]any `json:"data"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(jsonOf(m.Message.Attachments[0].Content)), &card); err != nil || len(card.Actions) == 0 {
		t.Fatalf("no Order button in %s", m.JSON())
	}
	return card.Actions[0].Data
}

// openForm asks for the catalog, presses Order on the item, and returns the form.
func (w *world) openForm(u user, words, name string) outgoing {
	w.t.Helper()
	w.say(u, "catalog "+words)
	list := w.next(u)
	w.submitTo(u, list, orderButton(w.t, list, name))
	return w.next(u)
}

func TestCatalogListsItemsWithTheirOrderButtons(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "catalog laptop")
	list := w.next(ada)
	mustContain(t, "a search", list.JSON(), "Developer Laptop (Mac)", "Hardware", "A MacBook Pro", `"title":"Order"`)
	mustNotContain(t, "a search", list.JSON(), "Standing Desk")
	calls := w.sn.Requests("/api/sn_sc/servicecatalog/items")
	last := calls[len(calls)-1]
	if last.Query.Get("sysparm_text") != "laptop" || last.Query.Get("sysparm_limit") != "10" || w.sn.UserOfToken(last.Bearer).UserName != "ada.lovelace" {
		t.Errorf("the search was %+v", last)
	}
	if data := orderButton(t, list, "Developer Laptop"); data["action"] != "order" || data["item"] != "ca000000000000000000000000000001" {
		t.Errorf("Order sends %v", data)
	}
	w.say(ada, "catalog")
	whole := w.next(ada)
	mustContain(t, "the whole catalog", whole.JSON(), "What the service catalog offers", "Adobe Acrobat Pro", "Standing Desk", "Access to a business system")
	// Under each category's heading, its items: the two of Access together.
	mustContain(t, "the whole catalog by category", whole.JSON(), "Access:\\n- Access to a business system", "- Server room access", "Office:\\n- Standing Desk")
	calls = w.sn.Requests("/api/sn_sc/servicecatalog/items")
	if last := calls[len(calls)-1]; last.Query.Has("sysparm_text") || last.Query.Get("sysparm_limit") != "100" {
		t.Errorf("the whole catalog was read with %v", last.Query)
	}
	w.say(ada, "catalog zzzqqq")
	mustContain(t, "nothing found", w.next(ada).Text(), "No catalog item matches “zzzqqq”")
}

// Each variable type becomes its input: ids, labels, choices, defaults,
// required, in the item's order, a variable set's and a container's
// variables in place.
func TestTheOrderFormAsksForEveryVariable(t *testing.T) {
	w := signedIn(t, nil)
	form := w.openForm(ada, "laptop", "Developer Laptop")
	els := cardInputs(t, form)
	var order []string
	for _, e := range els {
		if id, _ := e["id"].(string); id != "" {
			order = append(order, id)
		} else if text, _ := e["text"].(string); text != "" {
			order = append(order, text)
		}
	}
	want := "Order: Developer Laptop (Mac)|A MacBook Pro set up for software development|Your manager approves this request before it is ordered.|v_memory|v_adobe_cc|Only if you edit images or video: it needs a licence.|v_used_by|Delivery|v_delivery_room|v_express"
	if got := strings.Join(order, "|"); got != want {
		t.Errorf("the form's elements:\n got %s\nwant %s", got, want)
	}
	memory := byID(els, "v_memory")
	mustContain(t, "a select box", jsonOf(memory), `"type":"Input.ChoiceSet"`, `"style":"compact"`, `"value":"32"`, `"isRequired":true`,
		`{"title":"16 GB","value":"16"}`, `{"title":"64 GB","value":"64"}`, `"label":"Memory"`)
	mustContain(t, "a check box", jsonOf(byID(els, "v_adobe_cc")), `"type":"Input.Toggle"`, `"title":"Install Adobe Creative Cloud"`, `"value":"false"`, `"valueOn":"true"`)
	mustContain(t, "a reference", jsonOf(byID(els, "v_used_by")), `"style":"filtered"`, `"choices.data":{"dataset":"reference:sys_user","type":"Data.Query"}`, `"isRequired":true`)
	mustContain(t, "a single line", jsonOf(byID(els, "v_delivery_room")), `"type":"Input.Text"`, `"label":"Deliver to (office or room)"`)
	mustNotContain(t, "a single line", jsonOf(byID(els, "v_delivery_room")), "isRequired", "isMultiline")
	mustContain(t, "a yes/no", jsonOf(byID(els, "v_express")), `"style":"expanded"`, `"value":"No"`, `{"title":"Yes","value":"Yes"}`)

	access := cardInputs(t, w.openForm(ada, "access", "Access to a business system"))
	mustContain(t, "a multiple choice", jsonOf(byID(access, "v_access_level")), `"style":"expanded"`, `"value":"read"`, "Read and write")
	mustContain(t, "a date", jsonOf(byID(access, "v_start_date")), `"type":"Input.Date"`, `"isRequired":true`)
	mustContain(t, "a date and time", jsonOf(byID(access, "v_end_at")), `"type":"Input.Date"`)
	mustContain(t, "a date and time", jsonOf(byID(access, "v_end_at@time")), `"type":"Input.Time"`)
	mustContain(t, "a multi line", jsonOf(byID(access, "v_justification")), `"isMultiline":true`, `"isRequired":true`)
	mustContain(t, "a container", jsonOf(access), `"text":"Access period"`, "Today or later.")
}

// The typeahead reads the referenced table with the asker's own token.
func TestAReferenceTypeaheadReadsTheTableAsTheAsker(t *testing.T) {
	w := signedIn(t, nil)
	resp := w.invoke(bob, "application/search", map[string]any{"queryText": "an", "dataset": "reference:sys_user", "queryOptions": map[string]any{"skip": 0, "top": 15}})
	body := jsonOf(resp.Body)
	mustContain(t, "the choices", body, `"type":"application/vnd.microsoft.search.searchResponse"`, `"title":"Beth Anglin"`, `"value":"c3000000000000000000000000000003"`, `"title":"Chloé Zhang"`)
	mustNotContain(t, "the choices", body, "Bob Smith", "David Miller")
	calls := w.sn.Requests("/api/now/table/sys_user")
	last := calls[len(calls)-1]
	if w.sn.UserOfToken(last.Bearer).UserName != "bob.smith" || !strings.Contains(last.Query.Get("sysparm_query"), "nameLIKEan") {
		t.Errorf("the typeahead read %+v", last)
	}
	resp = w.invoke(bob, "application/search", map[string]any{"queryText": "x", "dataset": "something_else"})
	mustContain(t, "an unknown list", jsonOf(resp.Body), "application/vnd.microsoft.error")
}

// Ordering: once per form, however often it is sent; the receipt names
// the request and the requested item; the manager is asked to approve.
func TestAFormOrdersOnce(t *testing.T) {
	w := signedIn(t, nil)
	form := w.openForm(ada, "laptop", "Developer Laptop")
	data := formData(t, form)
	typed := map[string]any{"v_memory": "64", "v_adobe_cc": "true", "v_used_by": "b2000000000000000000000000000002", "v_delivery_room": "B-204", "v_express": "Yes"}
	w.submitTo(ada, form, formSent(data, typed))
	receipt := w.next(ada)
	orders := w.sn.Orders()
	if len(orders) != 1 {
		t.Fatalf("%d orders", len(orders))
	}
	o := orders[0]
	mustContain(t, "the receipt", receipt.JSON(), "Ordered: Developer Laptop (Mac)", o.Request, o.RequestedItem, "Waiting for Approval")
	if v := o.Variables; v["memory"] != "64" || v["adobe_cc"] != "true" || v["used_by"] != "b2000000000000000000000000000002" || v["express"] != "Yes" || v["delivery_room"] != "B-204" {
		t.Errorf("ordered with %v", v)
	}
	if ups := w.rec.updates(form.ID); len(ups) != 1 || !strings.Contains(ups[0].JSON(), "Sent: ordered as "+o.Request) {
		t.Errorf("the form became %v", ups)
	}
	if _, ok := w.sn.ApprovalOf(o.RequestedItem, "david.miller"); !ok {
		t.Errorf("Ada's manager is not asked to approve %s", o.RequestedItem)
	}
	// Pressed again, on another device, even with other values: one order.
	w.submitTo(ada, form, formSent(data, typed))
	mustContain(t, "a repeat", w.next(ada).JSON(), "You already sent this", o.RequestedItem)
	typed["v_memory"] = "16"
	w.submitTo(ada, form, formSent(data, typed))
	mustContain(t, "a repeat with other values", w.next(ada).JSON(), "You already sent this", o.RequestedItem)
	if n := len(w.sn.Orders()); n != 1 {
		t.Errorf("%d orders from one form", n)
	}
	// Where it stands.
	w.say(ada, "requests")
	mustContain(t, "requests", w.next(ada).JSON(), o.RequestedItem, "Developer Laptop (Mac)", "Waiting for Approval", "Open")
	w.say(ada, "show "+o.RequestedItem)
	mustContain(t, "the requested item", w.next(ada).JSON(), "Stage", "Waiting for Approval", "Approvals", "David Miller", "Requested")
}

// What ServiceNow refuses, and what is left out, brings the form back with
// the reason and what was typed; put right, the same form orders.
func TestARefusedOrderKeepsWhatWasTyped(t *testing.T) {
	w := signedIn(t, nil)
	form := w.openForm(ada, "access", "Access to a business system")
	data := formData(t, form)
	typed := map[string]any{"v_system": "crm", "v_access_level": "write", "v_start_date": "", "v_justification": "New role in sales"}
	w.submitTo(ada, form, formSent(data, typed))
	mustContain(t, "left out", w.next(ada).Text(), "Fill in Start date.", "The form above keeps what you typed")
	back := w.rec.updates(form.ID)
	if len(back) != 1 {
		t.Fatalf("the form was not given back: %v", back)
	}
	mustContain(t, "the form again", back[0].JSON(), "Fill in Start date.", `"value":"crm"`, `"value":"write"`, "New role in sales")

	yesterday := time.Now().UTC().Add(-48 * time.Hour).Format("2006-01-02")
	typed["v_start_date"], typed["v_end_at"], typed["v_end_at@time"] = yesterday, "2027-01-31", "18:00"
	w.submitTo(ada, form, formSent(data, typed))
	mustContain(t, "refused", w.next(ada).Text(), "ServiceNow did not take the order: Start date must be today or later")
	back = w.rec.updates(form.ID)
	mustContain(t, "the form again", back[len(back)-1].JSON(), `"value":"`+yesterday+`"`, `"value":"2027-01-31"`, `"value":"18:00"`, "New role in sales")
	if n := len(w.sn.Orders()); n != 0 {
		t.Fatalf("%d orders", n)
	}

	typed["v_start_date"] = time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02")
	w.submitTo(ada, form, formSent(data, typed))
	mustContain(t, "put right", w.next(ada).JSON(), "Ordered: Access to a business system")
	if o := w.sn.Orders(); len(o) != 1 || o[0].Variables["end_at"] != "2027-01-31 18:00:00" || o[0].Variables["access_level"] != "write" {
		t.Errorf("orders %+v", o)
	}
}

// An item someone may not order: ServiceNow's 403 in the form.
func TestAnItemServiceNowRefusesToOrder(t *testing.T) {
	w := signedIn(t, nil)
	form := w.openForm(bob, "server", "Server room access")
	w.submitTo(bob, form, formSent(formData(t, form), map[string]any{"v_room_reason": "Replace a disk"}))
	mustContain(t, "a 403", w.next(bob).Text(), "ServiceNow did not take the order: Security restricted: you may not order Server room access")
	back := w.rec.updates(form.ID)
	if len(back) != 1 || !strings.Contains(back[0].JSON(), "Replace a disk") {
		t.Errorf("the form came back as %v", back)
	}
	for _, r := range w.sn.Requests("/api/sn_sc/") {
		if r.Method == http.MethodPost && w.sn.UserOfToken(r.Bearer).UserName != "bob.smith" {
			t.Errorf("ordered with another's token")
		}
	}
	if len(w.sn.Orders()) != 0 {
		t.Error("ordered")
	}
}

// An item with a mandatory variable a card cannot ask for: a link to order
// it in ServiceNow, no half form.
func TestAnItemWithAnAttachmentLinksToServiceNow(t *testing.T) {
	w := signedIn(t, nil)
	got := w.openForm(ada, "badge", "Replacement badge")
	mustContain(t, "the link card", got.JSON(), "needs “Your photo”", "Order in ServiceNow", `/sp?id=sc_cat_item\u0026sys_id=ca000000000000000000000000000005`)
	mustNotContain(t, "the link card", got.JSON(), "Input.")
}

// Requests are the person's own, open ones, newest first.
func TestRequestsListsThePersonsOwn(t *testing.T) {
	w := signedIn(t, nil)
	w.say(bob, "requests")
	got := w.next(bob).JSON()
	mustContain(t, "Bob's", got, "RITM0010001", "Developer Laptop (Mac)", "Waiting for Approval")
	mustNotContain(t, "Bob's", got, "RITM0010002")
	w.say(ada, "requests")
	mustContain(t, "none", w.next(ada).Text(), "You have no open requests")
}
