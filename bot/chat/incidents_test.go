package chat

// The incident commands, in-process: what each answers, what it asks of
// ServiceNow, and what it refuses to ask.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var incidentNumbers = regexp.MustCompile(`\[(INC\d+)\]`)

// cardOf is the Adaptive Card of a message, checked for its shape.
func cardOf(t *testing.T, o outgoing) map[string]any {
	t.Helper()
	var m struct {
		Attachments []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		}
	}
	if err := jsonDecode(o.JSON(), &m); err != nil || len(m.Attachments) != 1 {
		t.Fatalf("want one attachment: %s", o.JSON())
	}
	if m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || m.Attachments[0].Content["version"] != "1.5" {
		t.Fatalf("not an Adaptive Card 1.5: %s", o.JSON())
	}
	return m.Attachments[0].Content
}

func TestIncidentsListsTheUsersOpenIncidentsNewestFirst(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "incidents")
	reply := w.next(ada)
	js := reply.JSON()
	got := incidentNumbers.FindAllStringSubmatch(js, -1)
	var numbers []string
	for _, m := range got {
		numbers = append(numbers, m[1])
	}
	if strings.Join(numbers, ",") != "INC0010004,INC0010003,INC0010002,INC0010001" {
		t.Fatalf("listed %v", numbers)
	}
	inc, _ := w.sn.Incident("INC0010001")
	mustContain(t, "list", js, "In Progress", "3 - Moderate", "Laptop does not connect",
		w.sn.URL+"/nav_to.do?uri=incident.do?sys_id="+inc.SysID)
	mustContain(t, "fallback", cardOf(t, reply)["fallbackText"].(string), "INC0010001")

	calls := w.sn.Requests("/api/now/table/incident")
	q := calls[len(calls)-1].Query
	if q.Get("sysparm_query") != "caller_id=javascript:gs.getUserID()^active=true^ORDERBYDESCsys_created_on" ||
		q.Get("sysparm_display_value") != "all" || q.Get("sysparm_exclude_reference_link") != "true" ||
		q.Get("sysparm_limit") != "10" || !strings.Contains(q.Get("sysparm_fields"), "short_description") {
		t.Errorf("list request: %v", q)
	}
}

func TestLongListsSayHowManyMore(t *testing.T) {
	w := signedIn(t, nil)
	for i := range 9 {
		w.sn.AddIncident("ada.lovelace", fmt.Sprintf("Extra problem %d", i))
	}
	w.say(ada, "incidents")
	reply := w.next(ada)
	if n := len(incidentNumbers.FindAllString(reply.JSON(), -1)); n != 10 {
		t.Errorf("%d incidents listed, want 10", n)
	}
	mustContain(t, "list", reply.JSON(), "and 3 more")
	if len(reply.JSON()) > 25_000 {
		t.Errorf("list message is %d bytes", len(reply.JSON()))
	}
}

func TestNoOpenIncidents(t *testing.T) {
	w := newWorld(t, nil)
	replies := w.signIn(ada, "david.miller", "incidents") // an agent who never called in an incident himself
	mustContain(t, "empty list", replies[1].Text(), "no open incidents", "create")
}

func TestIncidentDetails(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "Incident inc0010001")
	reply := w.next(ada)
	js := reply.JSON()
	mustContain(t, "detail", js, "INC0010001", "Laptop does not connect", "In Progress", "3 - Moderate", "Network",
		"Beth Anglin", "Ada Lovelace", "It is LT-0042.", "Could you tell me your laptop", "Open in ServiceNow",
		`"action":"comment"`, `"action":"resolve"`, `"number":"INC0010001"`, "Action.ShowCard")
	// Latest comment first.
	if strings.Index(js, "It is LT-0042.") > strings.Index(js, "Could you tell me") {
		t.Error("comments not newest first")
	}
	mustContain(t, "fallback", cardOf(t, reply)["fallbackText"].(string), "Beth Anglin")

	w.say(ada, "incident INC0010005")
	mustNotContain(t, "resolved incident", w.next(ada).JSON(), `"action":"resolve"`)

	w.say(ada, "incident INC9999999")
	mustContain(t, "unknown number", w.next(ada).Text(), "no incident INC9999999")
	// Bob may not see Ada's incident: ServiceNow filters it, and he is told it is not there.
	w.say(bob, "incident INC0010001")
	mustContain(t, "someone else's incident", w.next(bob).Text(), "no incident INC0010001")

	calls := len(w.sn.Requests("/api/now/table/"))
	w.say(ada, "incident 42")
	mustContain(t, "bad number", w.next(ada).Text(), "not an incident number")
	w.say(ada, "incident")
	mustContain(t, "missing number", w.next(ada).Text(), "Which incident")
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Error("an invalid number reached ServiceNow")
	}
}

func TestCreateKeepsTheTextExactlyAsTyped(t *testing.T) {
	w := signedIn(t, nil)
	text := "Printer «3rd floor» says \"PC LOAD LETTER\" ^NQactive=false\nand beeps 🙂"
	w.say(ada, "create "+text)
	reply := w.next(ada)
	m := regexp.MustCompile(`Created (INC\d+)`).FindStringSubmatch(reply.JSON())
	if m == nil {
		t.Fatalf("no number in %s", reply.JSON())
	}
	inc, ok := w.sn.Incident(m[1])
	if !ok || inc.ShortDescription != text || inc.Caller != w.sn.User("ada.lovelace").SysID {
		t.Fatalf("created %+v", inc)
	}
	// The second create reuses the looked-up caller: one call, not two.
	before := len(w.sn.Requests("/api/now/table/sys_user"))
	w.say(ada, "create Second one")
	mustContain(t, "second create", w.next(ada).JSON(), "Created INC")
	if n := len(w.sn.Requests("/api/now/table/sys_user")); n != before {
		t.Errorf("the caller was looked up again (%d lookups)", n-before)
	}
}

func TestCreateFormCard(t *testing.T) {
	w := signedIn(t, nil)
	w.say(ada, "create")
	form := w.next(ada).JSON()
	mustContain(t, "form", form, "Input.Text", "short_description", "Input.ChoiceSet", "urgency", `"action":"create"`)

	w.submit(ada, map[string]any{"action": "create", "short_description": "Monitor flickers", "description": "Line one\nLine two", "urgency": "1"})
	m := regexp.MustCompile(`Created (INC\d+)`).FindStringSubmatch(w.next(ada).JSON())
	if m == nil {
		t.Fatal("form submit created nothing")
	}
	inc, _ := w.sn.Incident(m[1])
	if inc.ShortDescription != "Monitor flickers" || inc.Description != "Line one\nLine two" || inc.Urgency != 1 {
		t.Fatalf("created %+v", inc)
	}
	w.submit(ada, map[string]any{"action": "create", "short_description": "  "})
	mustContain(t, "empty form", w.next(ada).JSON(), "Input.Text")
}

func TestCommentAndResolveByTextAndByCard(t *testing.T) {
	w := signedIn(t, nil)
	comment := "Thanks — it works «again»\nsecond line with ^OR and ="
	w.say(ada, "comment INC0010001 "+comment)
	mustContain(t, "comment reply", w.next(ada).Text(), "Added your comment to INC0010001")
	inc, _ := w.sn.Incident("INC0010001")
	if last := inc.Comments[len(inc.Comments)-1]; last.Text != comment || last.By != w.sn.User("ada.lovelace").SysID {
		t.Fatalf("comment stored as %+v", last)
	}
	lookups := w.sn.Requests("/api/now/table/incident")
	if q := lookups[len(lookups)-2].Query.Get("sysparm_query"); q != "number=INC0010001" {
		t.Errorf("lookup query %q", q)
	}

	w.submit(ada, map[string]any{"action": "comment", "number": "INC0010002", "comment": "From the card"})
	mustContain(t, "card comment", w.next(ada).Text(), "INC0010002")
	inc, _ = w.sn.Incident("INC0010002")
	if inc.Comments[len(inc.Comments)-1].Text != "From the card" {
		t.Fatal("card comment not stored")
	}

	w.say(ada, "resolve INC0010002 Replaced the drum")
	mustContain(t, "resolve reply", w.next(ada).Text(), "Resolved INC0010002")
	inc, _ = w.sn.Incident("INC0010002")
	if inc.State != 6 || inc.CloseCode != "Solution provided" || inc.CloseNotes != "Replaced the drum" {
		t.Fatalf("resolved as %+v", inc)
	}
	w.say(ada, "resolve INC0010002 again")
	mustContain(t, "resolving twice", w.next(ada).Text(), "already resolved")

	w.submit(ada, map[string]any{"action": "resolve", "number": "INC0010003", "notes": "Vendor fixed it"})
	mustContain(t, "card resolve", w.next(ada).Text(), "Resolved INC0010003")

	w.say(ada, "comment INC0010001")
	mustContain(t, "comment without text", w.next(ada).Text(), "What should the comment say")
	w.say(ada, "resolve INC0010001")
	mustContain(t, "resolve without notes", w.next(ada).Text(), "How was it resolved")
}

func TestInjectionCannotWidenAQuery(t *testing.T) {
	w := signedIn(t, nil)
	calls := len(w.sn.Requests("/api/now/table/"))
	for _, attempt := range []string{
		"incident INC0010001^NQactive=false",
		"incident INC0010001^ORnumberISNOTEMPTY",
		"comment INC0010001^ORcaller_id!=x hi",
		"resolve javascript:gs.getUserID() done",
	} {
		w.say(bob, attempt)
		if got := w.next(bob).Text(); !strings.Contains(got, "not an incident number") && !strings.Contains(got, "not a record number") {
			t.Errorf("%s: %q", attempt, got)
		}
	}
	if n := len(w.sn.Requests("/api/now/table/")); n != calls {
		t.Fatalf("injection attempts reached ServiceNow (%d calls)", n-calls)
	}
	// Bob's own list holds only Bob's incidents.
	w.say(bob, "incidents")
	js := w.next(bob).JSON()
	mustNotContain(t, "Bob's list", js, "INC0010001", "INC0010011")
	mustContain(t, "Bob's list", js, "INC0010007")
}

func TestForbiddenActionExplainsAndOffersAnotherAccount(t *testing.T) {
	w := signedIn(t, nil)
	w.say(bob, "resolve INC0010007 fixed it myself")
	reply := w.next(bob)
	if signInURL(reply) == "" {
		t.Fatalf("no sign-in card on 403: %s", reply.JSON())
	}
	mustContain(t, "403 reply", reply.JSON(), "refused this action", "ACL Exception Update Failed", "another account", "administrator")
	// Bob is still signed in: reading works.
	w.say(bob, "incident INC0010007")
	mustContain(t, "read after 403", w.next(bob).JSON(), "Email bounces")
}

func TestDataPolicyRefusalNamesTheResolveCodeSetting(t *testing.T) {
	w := signedIn(t, func(c *Conversation) { c.ResolveCode = "Solved (Permanently)" })
	w.say(ada, "resolve INC0010001 done")
	reply := w.next(ada)
	if signInURL(reply) != "" {
		t.Fatal("a data policy refusal asked to sign in")
	}
	mustContain(t, "reply", reply.JSON(), "refused the change", "Data Policy Exception", "SERVICENOW_RESOLVE_CODE")
}

func TestCardSubmitForDetails(t *testing.T) {
	w := signedIn(t, nil)
	w.submit(ada, map[string]any{"action": "incident", "number": "INC0010003"})
	mustContain(t, "details from the list", w.next(ada).JSON(), "VPN disconnects")
	w.submit(ada, map[string]any{"action": "dance"})
	mustContain(t, "unknown button", w.next(ada).Text(), "did not understand")
}
