package test

// The service catalog over the wire: a search, the form, the typeahead,
// and ordering once through ServiceNow's failures.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"snowbot/test/fakeservicenow"
)

// cardData finds the data of the first Action.Submit titled title in a's card.
func cardData(t *testing.T, a map[string]any, title string) map[string]any {
	t.Helper()
	var found map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.Submit" && x["title"] == title && found == nil {
				found, _ = x["data"].(map[string]any)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(a)
	if found == nil {
		b, _ := json.Marshal(a)
		t.Fatalf("no %s button in %s", title, b)
	}
	return found
}

func TestOrderingFromTheCatalogOverTheWire(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	replies := w.signIn(ada, "ada.lovelace", "catalog laptop")
	list := replies[1]
	mustContain(t, "the search", list.JSON(), "Developer Laptop (Mac)")
	w.submit(ada, cardData(t, list.Body, "Order"))
	form := w.next(ada)
	mustContain(t, "the form", form.JSON(), `"id":"v_memory"`, `"id":"v_adobe_cc"`, `"type":"Input.Toggle"`, `"id":"v_used_by"`,
		`"dataset":"reference:sys_user"`, `"id":"v_express"`)
	if r := w.sn.Requests("/api/sn_sc/servicecatalog/items/ca000000000000000000000000000001"); len(r) != 1 {
		t.Fatalf("the item was read %d times", len(r))
	}

	// The typeahead of "Who will use it?", as Teams sends it.
	status, body := w.invoke(ada, "application/search", map[string]any{"queryText": "chlo", "dataset": "reference:sys_user",
		"queryOptions": map[string]any{"skip": 0, "top": 15}})
	if status != http.StatusOK {
		t.Fatalf("typeahead: %d %s", status, body)
	}
	mustContain(t, "the typeahead", body, `"type":"application/vnd.microsoft.search.searchResponse"`, `{"title":"Chloé Zhang","value":"e5000000000000000000000000000005"}`)

	data := cardData(t, form.Body, "Order")
	send := map[string]any{"v_memory": "16", "v_adobe_cc": "false", "v_used_by": "e5000000000000000000000000000005", "v_express": "No"}
	for k, v := range data {
		send[k] = v
	}
	orderNow := "/api/sn_sc/servicecatalog/items/ca000000000000000000000000000001/order_now"

	// ServiceNow answers 503: the order may have been made behind it (a
	// gateway's timeout says nothing of what happened), so the form orders
	// no more, and says where to look.
	w.sn.Fail(fakeservicenow.Failure{Path: orderNow, Status: http.StatusServiceUnavailable})
	w.submit(ada, send)
	mustContain(t, "a 503", w.next(ada).JSON(), "may or may not have gone through", "requests")
	w.submit(ada, send)
	mustContain(t, "pressed again after a 503", w.next(ada).JSON(), "You already sent this", "may or may not have gone through")
	if n := len(w.sn.Orders()); n != 0 {
		t.Fatalf("%d orders after a 503", n)
	}

	// A new form, pressed twice at once: one order, both presses answered with it.
	w.submit(ada, cardData(t, list.Body, "Order"))
	form = w.next(ada)
	send["form"] = cardData(t, form.Body, "Order")["form"]
	if send["form"] == data["form"] {
		t.Fatal("the second form has the first one's id")
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); w.submit(ada, send) }()
	}
	wg.Wait()
	first, second := w.next(ada), w.next(ada)
	orders := w.sn.Orders()
	if len(orders) != 1 {
		t.Fatalf("%d orders from one form", len(orders))
	}
	ritm := orders[0].RequestedItem
	for _, m := range []string{first.JSON(), second.JSON()} {
		mustContain(t, "both answers", m, ritm, orders[0].Request)
	}
	if posts := w.sn.Requests(orderNow); len(posts) != 2 { // the 503 (once, though pressed twice) and the order
		t.Errorf("%d order_now calls", len(posts))
	}

	w.say(ada, "requests")
	mustContain(t, "requests", w.next(ada).JSON(), ritm, "Developer Laptop (Mac)", "Waiting for Approval")
}

// An order that ServiceNow takes but answers too late: the person is told it
// may have gone through, and the form orders no more.
func TestAnUnansweredOrderIsNotSentAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	list := w.signIn(bob, "bob.smith", "catalog desk")[1]
	w.submit(bob, cardData(t, list.Body, "Order"))
	form := w.next(bob)
	send := map[string]any{"v_size": "small", "v_notes": "By the window"}
	for k, v := range cardData(t, form.Body, "Order") {
		send[k] = v
	}
	w.sn.Fail(fakeservicenow.Failure{Path: "/api/sn_sc/servicecatalog/items/ca000000000000000000000000000002/order_now", Late: 17 * time.Second})
	start := time.Now()
	w.submit(bob, send)
	got := w.next(bob)
	mustContain(t, "the answer", got.JSON(), "may or may not have gone through", "requests")
	if took := time.Since(start); took > 17*time.Second {
		t.Errorf("answered after %s", took)
	}
	w.submit(bob, send)
	mustContain(t, "pressed again", w.next(bob).JSON(), "You already sent this", "may or may not have gone through")
	if n := len(w.sn.Orders()); n != 1 {
		t.Errorf("%d orders", n)
	}
	number := w.sn.Orders()[0].RequestedItem
	w.say(bob, "requests")
	if got := w.next(bob).JSON(); !strings.Contains(got, number) || !regexp.MustCompile(`RITM0010001`).MatchString(got) {
		t.Errorf("requests: %s", got)
	}
}
